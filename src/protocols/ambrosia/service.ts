/**
 * The Ambrosia IM service node (spec.md §5): connects to one or more gateways over the service
 * channel, authenticates mutually, registers its (domain, type) pairs, answers see-other-host
 * requests from its table, and processes each stanza it gets: it answers iq addressed to a domain
 * it serves (XEP-0199 ping; anything else `service-unavailable`) and routes everything else back
 * out through the gateway it came from (seed step 6).
 *
 * Must not: crash on gateway input (bad XML closes the link, which then reconnects with backoff),
 * or implement xmpp-im beyond that (out of scope in the seed).
 */
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import type { ServiceCommand, ServiceConfig } from './config.js';
import { channelMachine, ChunkWriter, StallWatch } from './machines/channel.js';
import { serviceLinkConn, serviceLinkMachine } from './machines/service-link.js';
import {
  bareStanza,
  child,
  el,
  localName,
  ns,
  parseJid,
  readChunk,
  stanzaErrorReply,
  stanzaNames,
  textOf,
  toBytes,
  writeElement,
  XmlStreamParser,
  type StreamEvent,
  type XmlElement,
} from './wire.js';

interface Link {
  readonly id: string;
  readonly actor: MachineActor<typeof serviceLinkMachine>;
  parser: XmlStreamParser;
  stall: StallWatch;
  channel?: MachineActor<typeof channelMachine>;
  /** Writes the channel's chunks under flow control (spec.md §4.4). */
  writer?: ChunkWriter;
}

/** Processed stanzas remembered for `view()`: the first ones; later ones are only counted (counts stay exact). */
const processedLogMax = 10_000;

export class ServiceNode implements ProtocolNode {
  private readonly links = new Map<string, Link>();
  private readonly linkIds = new IdSequence('gw');
  private readonly processed: { id: string; to: string; from: string; gateway: string }[] = [];
  private processedCount = 0;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: ServiceConfig,
  ) {}

  start(): void {
    for (const gateway of this.config.gateways) {
      const id = this.linkIds.next();
      const actor = startActor(serviceLinkMachine, this.host, {
        name: `ambrosia.service-link ${id}`,
        input: {
          link: id,
          name: this.config.name,
          host: gateway.host,
          port: gateway.port,
          secret: this.config.secret,
          registrations: this.config.registrations,
          retryMs: this.config.retryMs,
          retryMsMax: this.config.retryMsMax,
          nonce: this.nonce(),
        },
      });
      const link: Link = { id, actor, parser: new XmlStreamParser(), stall: this.stallWatch() };
      actor.on('link.ready', () => this.openChannel(link));
      actor.on('link.down', () => this.closeChannel(link));
      this.links.set(id, link);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const link of this.links.values()) {
      link.channel?.stop();
      link.actor.stop();
    }
  }

  view(): unknown {
    return {
      name: this.config.name,
      links: [...this.links.values()].map((l) => ({ id: l.id, state: l.actor.getSnapshot().value })),
      processedCount: this.processedCount,
      processed: this.processed,
    };
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'command':
        return this.command(input.command as ServiceCommand);
      case 'conn.opened': {
        const link = this.current(input.conn);
        if (!link) return;
        link.parser = new XmlStreamParser();
        link.stall = this.stallWatch();
        link.actor.send({ type: 'svc.nonce', nonce: this.nonce() });
        link.actor.send({ type: 'conn.opened' });
        return;
      }
      case 'conn.failed':
        this.current(input.conn)?.actor.send({ type: 'conn.failed' });
        return;
      case 'conn.closed': {
        const link = this.current(input.conn);
        if (!link) return;
        this.closeChannel(link);
        link.actor.send({ type: 'conn.closed' });
        return;
      }
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'conn.drain':
        this.current(input.conn)?.writer?.pump();
        return;
      default:
        return;
    }
  }

  private command(command: ServiceCommand): void {
    if (command.type === 'disconnect') {
      for (const link of this.links.values()) {
        this.closeChannel(link);
        link.actor.send({ type: 'svc.stop' });
      }
    }
  }

  private nonce(): string {
    return (
      this.host.random.uint32().toString(16).padStart(8, '0') + this.host.random.uint32().toString(16).padStart(8, '0')
    );
  }

  /** The link whose current attempt owns `conn` (a late event for an older attempt is ignored). */
  private current(conn: string): Link | undefined {
    const link = this.links.get(conn.split('#')[0] ?? '');
    if (!link) return undefined;
    return serviceLinkConn(link.actor.getSnapshot().context) === conn ? link : undefined;
  }

  private openChannel(link: Link): void {
    const conn = serviceLinkConn(link.actor.getSnapshot().context);
    const writer = new ChunkWriter(this.host, conn, this.config.chunkCharsMax);
    const channel = startActor(channelMachine, this.host, {
      name: `ambrosia.channel ${conn}`,
      input: {
        conn,
        chunkCharsMax: this.config.chunkCharsMax,
        ackTimeoutMs: this.config.ackTimeoutMs,
        retransmitsMax: this.config.retransmitsMax,
        writing: () => writer.writing,
      },
    });
    channel.on('channel.transmit', (e) => writer.stanza(e.seq, e.stanza));
    channel.on('channel.retransmit', (e) => writer.retransmit(e.stanzas));
    channel.on('channel.stanza', (e) => this.process(link, e.stanza));
    channel.on('channel.malformed', (e) => this.drop(link, e.reason));
    channel.on('channel.failed', (e) => this.drop(link, e.reason));
    link.channel = channel;
    link.writer = writer;
  }

  private closeChannel(link: Link): void {
    link.channel?.stop();
    link.channel = undefined;
    link.writer = undefined;
  }

  private drop(link: Link, reason: string): void {
    const conn = serviceLinkConn(link.actor.getSnapshot().context);
    this.host.emit({ kind: 'reject', code: 'ambrosia.service.link-dropped', reason, detail: { conn } });
    this.host.emit({ kind: 'close', conn });
    this.closeChannel(link);
    link.actor.send({ type: 'conn.closed' });
  }

  private data(conn: string, bytes: Uint8Array): void {
    const link = this.current(conn);
    if (!link) return;
    const events = link.parser.push(bytes);
    if (!events.ok) return this.drop(link, `${events.error.condition}: ${events.error.message}`);
    for (const event of events.value) {
      if (this.stopped || this.current(conn) !== link) return;
      this.event(link, event);
    }
    if (this.stopped || this.current(conn) !== link) return;
    const completed = events.value.some((e) => e.type === 'element');
    if (link.stall.stalled(completed, link.parser.pendingChars > 0, this.host.now())) {
      this.drop(link, 'an element from the gateway never completes (a damaged segment)');
    }
  }

  /** spec.md §4.8: half the ack timeout, far above a split write's gap, below the peer's first retransmission. */
  private stallWatch(): StallWatch {
    return new StallWatch(this.config.ackTimeoutMs / 2);
  }

  private event(link: Link, event: StreamEvent): void {
    if (event.type === 'close') return this.drop(link, 'the gateway closed the stream');
    if (event.type === 'open') {
      if (event.header.attrs.xmlns !== ns.service)
        return this.drop(link, 'the gateway does not speak the service profile');
      link.actor.send({ type: 'svc.header', streamId: event.header.attrs.id ?? '' });
      return;
    }
    const element = event.element;
    switch (localName(element)) {
      case 'features':
        return;
      case 'handshake':
        link.actor.send({ type: 'svc.handshake', proof: textOf(element) });
        return;
      case 'registered':
        this.host.emit({ kind: 'note', what: 'ambrosia.service.registered', detail: element.attrs });
        return;
      case 'register-error':
        this.host.emit({ kind: 'reject', code: 'ambrosia.register.refused', reason: writeElement(element) });
        return;
      case 'see-other-host-request': {
        const user = element.attrs.user ?? '';
        const target = this.config.seeOtherHost[user] ?? '';
        this.write(link, [
          el('see-other-host-response', { id: element.attrs.id ?? '', user }, target === '' ? [] : [target]),
        ]);
        return;
      }
      case 'chunk': {
        const chunk = readChunk(element);
        if (!chunk) return this.drop(link, 'a <chunk> needs seq, index and last');
        link.channel?.send({ type: 'wire.chunk', chunk });
        return;
      }
      case 'a': {
        const h = Number(element.attrs.h);
        if (!Number.isSafeInteger(h) || h < 0) return this.drop(link, '<a/> needs a counter h');
        link.channel?.send({ type: 'wire.ack', h });
        return;
      }
      case 'r':
        link.channel?.send({ type: 'wire.request' });
        return;
      case 'error':
        return this.drop(link, `stream error: ${writeElement(element)}`);
      default:
        return this.drop(link, `<${element.name}> is not part of the service profile`);
    }
  }

  private write(link: Link, elements: readonly XmlElement[]): void {
    const conn = serviceLinkConn(link.actor.getSnapshot().context);
    const text = elements.map(writeElement).join('');
    this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
  }

  /** Seed step 6: the IM service processes the stanza and routes it back out through the gateway. */
  private process(link: Link, stanza: XmlElement): void {
    if (!stanzaNames.has(stanza.name)) return;
    this.processedCount += 1;
    if (this.processed.length < processedLogMax) {
      this.processed.push({
        id: stanza.attrs.id ?? '',
        to: stanza.attrs.to ?? '',
        from: stanza.attrs.from ?? '',
        gateway: link.id,
      });
    }
    this.host.emit({
      kind: 'note',
      what: 'ambrosia.service.processed',
      detail: { service: this.config.name, id: stanza.attrs.id, to: stanza.attrs.to },
    });
    const to = parseJid(stanza.attrs.to);
    const type = stanza.attrs.type ?? '';
    const toServedDomain =
      to !== undefined && to.local === '' && this.config.registrations.some((r) => r.domain === to.domain);
    if (stanza.name === 'iq' && (type === 'get' || type === 'set') && (to === undefined || toServedDomain)) {
      const reply = child(stanza, 'ping')
        ? el('iq', {
            type: 'result',
            id: stanza.attrs.id ?? '',
            to: stanza.attrs.from ?? '',
            from: stanza.attrs.to ?? '',
          })
        : stanzaErrorReply(stanza, 'service-unavailable');
      link.channel?.send({ type: 'channel.send', stanza: reply });
      return;
    }
    link.channel?.send({ type: 'channel.send', stanza: bareStanza(stanza) });
  }
}
