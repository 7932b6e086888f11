/**
 * The Ambrosia client node: an XMPP client (RFC 6120 c2s) that logs in with SASL (SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN), binds a
 * resource, sends chat messages on command and delivers the messages it receives to its user.
 * Uses STARTTLS when the gateway offers it (RFC 6120 §5; config `tls`). Follows `<see-other-host/>` to the host it names (RFC 6120 §4.9.3.19). Enables XEP-0198 stream
 * management when the gateway offers it; a stream that breaks (closed, damaged, or silent past
 * `ackTimeoutMs`) is reconnected with backoff and the session resumed, so what the gateway had
 * not handled is sent again (spec.md §6).
 *
 * Must not: crash on server input (bad XML ends that stream, which is then reconnected), or retry
 * a refused login (that is the user's decision, made by a new `login` command).
 */
import { srvTargets } from './dialback.js';
import { isScramMechanism, nonceOf } from './scram.js';
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import { ports, type ClientCommand, type ClientConfig } from './config.js';
import { clientConn, clientMachine } from './machines/client.js';
import {
  child,
  el,
  localName,
  ns,
  stanzaNames,
  textOf,
  validJid,
  XmlStreamParser,
  type StreamEvent,
  type XmlElement,
} from './wire.js';

/** Parses `host`, `host:port` or `[v6]:port` as `<see-other-host/>` carries it (RFC 6120 errata 3651). */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!match) return undefined;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

/** The id of the client's one SRV query. */
const clientSrvQuery = 'client:srv';

export class ClientNode implements ProtocolNode {
  private actor: MachineActor<typeof clientMachine> | undefined;
  private parser = new XmlStreamParser();
  private readonly sessions = new IdSequence('c2s');
  private readonly messageIds = new IdSequence('m');
  private received = 0;
  private stopped = false;
  /** Waiting for the `_xmpp-client._tcp` SRV answer (no gateway configured). */
  private resolving = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: ClientConfig,
  ) {}

  start(): void {
    if (this.config.autoLogin) this.login();
  }

  stop(): void {
    this.stopped = true;
    this.actor?.stop();
  }

  view(): unknown {
    const snapshot = this.actor?.getSnapshot();
    return {
      jid: this.config.jid,
      state: snapshot?.value ?? 'idle',
      boundJid: snapshot?.context.boundJid ?? '',
      received: this.received,
    };
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'command':
        return this.command(input.command as ClientCommand);
      case 'conn.opened':
        if (this.isCurrent(input.conn)) {
          this.parser = new XmlStreamParser();
          this.actor?.send({ type: 'conn.opened' });
        }
        return;
      case 'conn.failed':
        if (this.isCurrent(input.conn)) this.actor?.send({ type: 'conn.failed' });
        return;
      case 'conn.closed':
        if (this.isCurrent(input.conn)) this.actor?.send({ type: 'conn.closed' });
        return;
      case 'conn.data':
        if (this.isCurrent(input.conn)) this.data(input.conn, input.bytes);
        return;
      case 'conn.tls':
        if (!this.isCurrent(input.conn)) return;
        // RFC 6120 §5.4.3.3: over TLS, a new stream.
        if (input.ok) this.parser.restart();
        this.actor?.send({
          type: 'tls.done',
          ok: input.ok,
          ...(input.reason === undefined ? {} : { reason: input.reason }),
        });
        return;
      case 'dns.answer':
        return this.srvAnswer(input);
      default:
        return;
    }
  }

  private isCurrent(conn: string): boolean {
    const actor = this.actor;
    return (
      actor !== undefined && actor.getSnapshot().status === 'active' && clientConn(actor.getSnapshot().context) === conn
    );
  }

  private login(): void {
    if (this.actor && this.actor.getSnapshot().status === 'active') return;
    if (this.config.gateway) return this.startLogin(this.config.gateway);
    if (this.resolving) return;
    // RFC 6120 §3.2.1: with no gateway configured, the domain's `_xmpp-client._tcp` SRV record first.
    this.resolving = true;
    this.host.emit({
      kind: 'dns.query',
      query: clientSrvQuery,
      name: `_xmpp-client._tcp.${this.domain()}`,
      type: 'SRV',
    });
  }

  private domain(): string {
    return this.config.jid.split('@')[1] ?? this.config.jid;
  }

  /**
   * The SRV answer: its first target in order (../dialback.ts `srvTargets`), else the domain itself on
   * 5222 (RFC 6120 §3.2.2). Ours: the client keeps that one target across reconnections (no next target).
   */
  private srvAnswer(answer: Extract<NodeInput, { kind: 'dns.answer' }>): void {
    if (!this.resolving || answer.query !== clientSrvQuery) return;
    this.resolving = false;
    const targets = answer.status === 'ok' ? srvTargets(answer.records) : [];
    if (targets === 'none') {
      this.host.emit({
        kind: 'reject',
        code: 'ambrosia.login.failed',
        reason: `${this.domain()} offers no XMPP client service (SRV target '.')`,
      });
      return;
    }
    this.startLogin(targets[0] ?? { host: this.domain(), port: ports.c2s });
  }

  private startLogin(target: { readonly host: string; readonly port: number }): void {
    this.actor = startActor(clientMachine, this.host, {
      name: 'ambrosia.client',
      input: {
        link: this.sessions.next(),
        jid: this.config.jid,
        password: this.config.password,
        resource: this.config.resource,
        host: target.host,
        port: target.port,
        redirectsMax: this.config.redirectsMax,
        ackTimeoutMs: this.config.ackTimeoutMs,
        responseTimeoutMs: this.config.responseTimeoutMs,
        retryMs: this.config.retryMs,
        retryMsMax: this.config.retryMsMax,
        tls: this.config.tls,
      },
    });
  }

  private command(command: ClientCommand): void {
    switch (command.type) {
      case 'login':
        return this.login();
      case 'logout': {
        const actor = this.actor;
        if (!actor || actor.getSnapshot().status !== 'active') return;
        const conn = clientConn(actor.getSnapshot().context);
        this.host.emit({
          kind: 'write',
          conn,
          bytes: new TextEncoder().encode('</stream:stream>'),
          decoded: '</stream:stream>',
        });
        this.host.emit({ kind: 'close', conn });
        actor.send({ type: 'user.logout' });
        return;
      }
      case 'send': {
        if (!this.actor || this.actor.getSnapshot().status !== 'active') {
          this.host.emit({
            kind: 'reject',
            code: 'ambrosia.client.offline',
            reason: 'send before login',
            detail: { to: command.to },
          });
          return;
        }
        const id = command.id ?? this.messageIds.next();
        const body = command.body.repeat(command.repeat ?? 1);
        const forged: Record<string, string> = command.from === undefined ? {} : { from: command.from };
        const stanza = el('message', { to: command.to, type: 'chat', id, ...forged }, [el('body', {}, [body])]);
        this.actor.send({ type: 'user.send', stanza });
        return;
      }
    }
  }

  private data(conn: string, bytes: Uint8Array): void {
    const actor = this.actor;
    if (!actor) return;
    const events = this.parser.push(bytes);
    if (!events.ok) {
      this.host.emit({
        kind: 'reject',
        code: `ambrosia.stream.${events.error.condition}`,
        reason: events.error.message,
      });
      // Our own parser gave up on the stream: it is broken, not refused; reconnect and resume.
      actor.send({ type: 'wire.broken', condition: events.error.condition });
      return;
    }
    for (const event of events.value) {
      // A redirect moves the client to a new connection mid-segment: the rest of the old stream
      // (its `</stream:stream>`) must not reach the new one (seed 21 of ambrosia/see-other-host).
      if (this.stopped || actor.getSnapshot().status !== 'active' || !this.isCurrent(conn)) return;
      this.event(actor, event);
    }
  }

  /** XEP-0198 elements: `<enabled/>`, `<resumed/>`, `<failed/>`, `<a/>`, `<r/>`. */
  private streamManagement(actor: MachineActor<typeof clientMachine>, element: XmlElement): void {
    const h = Number(element.attrs.h);
    const counter = Number.isSafeInteger(h) && h >= 0 && h < 0x1_0000_0000 ? h : undefined;
    switch (localName(element)) {
      case 'enabled':
        return actor.send({ type: 'sm.enabled', id: element.attrs.id ?? '', resume: element.attrs.resume === 'true' });
      case 'resumed':
        if (counter === undefined) return actor.send({ type: 'wire.broken', condition: 'bad-format' });
        return actor.send({ type: 'sm.resumed', h: counter });
      case 'failed':
        return actor.send({ type: 'sm.failed' });
      case 'a':
        if (counter === undefined) return actor.send({ type: 'wire.broken', condition: 'bad-format' });
        return actor.send({ type: 'sm.ack', h: counter });
      case 'r':
        return actor.send({ type: 'sm.request' });
      default:
        return;
    }
  }

  private event(actor: MachineActor<typeof clientMachine>, event: StreamEvent): void {
    if (event.type === 'open') return;
    if (event.type === 'close') return actor.send({ type: 'conn.closed' });
    const element = event.element;
    const name = localName(element);
    if (name === 'features') {
      const mechanisms = child(element, 'mechanisms');
      const offered = new Set(
        (mechanisms?.children ?? []).flatMap((m) => (typeof m === 'string' ? [] : [textOf(m).trim()])),
      );
      // The first of the configured mechanisms the gateway offers (RFC 6120 §6.3.3: the client's choice).
      const mechanism = mechanisms ? this.config.mechanisms.find((m) => offered.has(m)) : undefined;
      const nonce = isScramMechanism(mechanism) ? nonceOf([this.host.random.uint32(), this.host.random.uint32()]) : '';
      const sm = child(element, 'sm');
      const starttls = child(element, 'starttls');
      return actor.send({
        type: 'wire.features',
        mechanism,
        nonce,
        hasBind: child(element, 'bind') !== undefined,
        hasSm: sm !== undefined && sm.ns === ns.sm,
        starttls: starttls?.ns !== ns.tls ? 'none' : child(starttls, 'required') ? 'required' : 'optional',
      });
    }
    if (element.ns === ns.tls && name === 'proceed') return actor.send({ type: 'tls.proceed' });
    if (element.ns === ns.tls && name === 'failure') return actor.send({ type: 'tls.failure' });
    if (element.ns === ns.sm) return this.streamManagement(actor, element);
    // XEP-0198: every stanza received counts in `h`, whatever becomes of it below.
    if (stanzaNames.has(element.name)) actor.send({ type: 'sm.stanza' });
    if (name === 'success' && element.ns === ns.sasl) {
      // RFC 6120 §6.4.6: after <success/> both sides restart the stream.
      this.parser.restart();
      return actor.send({ type: 'sasl.success', data: textOf(element) });
    }
    if (name === 'challenge' && element.ns === ns.sasl)
      return actor.send({ type: 'sasl.challenge', data: textOf(element) });
    if (name === 'failure' && element.ns === ns.sasl) return actor.send({ type: 'sasl.failure' });
    if (name === 'error' && element.ns === ns.stream) {
      const condition = element.children.find((c) => typeof c !== 'string' && c.ns === ns.streams);
      if (condition && typeof condition !== 'string' && localName(condition) === 'see-other-host') {
        const target = parseHostPort(textOf(condition), ports.c2s);
        if (target) return actor.send({ type: 'wire.redirect', host: target.host, port: target.port });
      }
      return actor.send({
        type: 'wire.streamError',
        condition: condition && typeof condition !== 'string' ? localName(condition) : 'undefined-condition',
      });
    }
    // The machine takes a bind result only while it is binding (machines/client.ts).
    if (element.name === 'iq' && element.attrs.type === 'result') {
      return actor.send({ type: 'bind.result', jid: textOf(child(child(element, 'bind') ?? el('bind'), 'jid')) });
    }
    if (element.name === 'message') {
      const body = child(element, 'body');
      if (!body || element.attrs.type === 'error') {
        if (element.attrs.type === 'error') {
          this.host.emit({
            kind: 'reject',
            code: 'ambrosia.message.bounced',
            reason: `message ${element.attrs.id ?? ''} bounced`,
            detail: element.attrs,
          });
        }
        return;
      }
      // The gateway stamps `from` with the sender's full JID (RFC 6120 §8.1.2.1); a message whose
      // `from` is not a valid full user JID (spec.md §6, ours) did not come from a user as
      // stamped, so it is refused, never delivered under a name no user has.
      const from = validJid(element.attrs.from);
      if (!from || from.local === '' || from.resource === '') {
        this.host.emit({
          kind: 'reject',
          code: 'ambrosia.message.bad-from',
          reason: `message ${element.attrs.id ?? ''} has from ${JSON.stringify(element.attrs.from ?? '')}, not a full user JID`,
          detail: element.attrs,
        });
        return;
      }
      this.received += 1;
      this.host.emit({
        kind: 'deliver',
        user: this.config.jid,
        from: element.attrs.from ?? '',
        body: textOf(body),
        ...(element.attrs.id === undefined ? {} : { id: element.attrs.id }),
      });
    }
  }
}
