/**
 * The echo node: a server that answers `ECHO x` with `REPLY x` on stream connections and on
 * datagrams, and a client that sends bodies to other echo nodes over one link per target.
 * Exists to prove the sans-IO contract end to end (tests use it); it is not one of the five
 * federated protocols. Peer input never throws: a bad line gets a `reject` and the connection closes.
 */
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import { linkMachine, type LinkEvent } from './machine.js';
import { decodeLine, encodeFrame, LineBuffer, type EchoFrame } from './wire.js';

export interface EchoConfig {
  readonly port: number;
  readonly idleMs: number;
  readonly retryMs: number;
  readonly attemptsMax: number;
}

export type EchoCommand =
  | { readonly type: 'send'; readonly to: string; readonly body: string }
  | { readonly type: 'datagram'; readonly to: string; readonly body: string };

interface Link {
  readonly target: string;
  readonly actor: MachineActor<typeof linkMachine>;
  readonly lines: LineBuffer;
}

export class EchoNode implements ProtocolNode {
  /** Outbound links by target host; each owns connection ids `<link>#<attempt>`. */
  private readonly links = new Map<string, Link>();
  private readonly linksById = new Map<string, Link>();
  /** Accepted connections and their line buffers. */
  private readonly inbound = new Map<string, LineBuffer>();
  private readonly linkIds = new IdSequence('out');
  private echoed = 0;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: EchoConfig,
  ) {}

  start(): void {
    this.host.emit({ kind: 'listen', endpoint: { host: this.host.hostName, port: this.config.port } });
  }

  stop(): void {
    this.stopped = true;
    for (const link of this.links.values()) link.actor.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'command':
        return this.command(input.command as EchoCommand);
      case 'conn.accepted':
        this.inbound.set(input.conn, new LineBuffer());
        return;
      case 'conn.opened':
        return this.toLink(input.conn, { type: 'conn.opened' });
      case 'conn.failed':
        return this.toLink(input.conn, { type: 'conn.failed', reason: input.reason });
      case 'conn.closed':
        if (this.inbound.delete(input.conn)) return;
        return this.toLink(input.conn, { type: 'conn.closed' });
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'datagram':
        return this.datagram(input.source, input.bytes);
      case 'dns.answer':
        return;
    }
  }

  view(): unknown {
    return {
      links: [...this.links.values()].map((link) => ({ target: link.target, state: link.actor.getSnapshot().value })),
      inbound: this.inbound.size,
      echoed: this.echoed,
    };
  }

  private command(command: EchoCommand): void {
    if (command.type === 'datagram') {
      const frame: EchoFrame = { verb: 'ECHO', body: command.body };
      this.host.emit({
        kind: 'datagram.send',
        port: this.config.port,
        target: { host: command.to, port: this.config.port },
        bytes: encodeFrame(frame),
        decoded: frame,
      });
      return;
    }
    this.linkTo(command.to).actor.send({ type: 'user.send', body: command.body });
  }

  private linkTo(target: string): Link {
    const existing = this.links.get(target);
    if (existing && existing.actor.getSnapshot().status === 'active') return existing;
    const id = this.linkIds.next();
    const actor = startActor(linkMachine, this.host, {
      name: `echo.link ${id}`,
      input: {
        conn: id,
        target,
        port: this.config.port,
        idleMs: this.config.idleMs,
        retryMs: this.config.retryMs,
        attemptsMax: this.config.attemptsMax,
      },
    });
    const link: Link = { target, actor, lines: new LineBuffer() };
    this.links.set(target, link);
    this.linksById.set(id, link);
    actor.subscribe({
      complete: () => {
        this.linksById.delete(id);
        if (this.links.get(target) === link) this.links.delete(target);
      },
    });
    return link;
  }

  private toLink(conn: string, event: LinkEvent): void {
    // Events for an earlier attempt of a link (a late failure) carry the old `#attempt` suffix.
    const link = this.linksById.get(conn.split('#')[0] ?? '');
    if (!link) return;
    const snapshot = link.actor.getSnapshot() as { context: { attempt: number } };
    if (conn !== `${conn.split('#')[0]}#${snapshot.context.attempt}`) return;
    link.actor.send(event);
  }

  private data(conn: string, bytes: Uint8Array): void {
    const inbound = this.inbound.get(conn);
    const link = inbound ? undefined : this.linksById.get(conn.split('#')[0] ?? '');
    const buffer = inbound ?? link?.lines;
    if (!buffer) return;
    const lines = buffer.push(bytes);
    if (!lines.ok) return this.refuse(conn, lines.error.code, lines.error.message);
    for (const line of lines.value) {
      const frame = decodeLine(line);
      if (!frame.ok) return this.refuse(conn, frame.error.code, frame.error.message);
      if (inbound && frame.value.verb === 'ECHO') {
        this.echo(conn, frame.value.body);
      } else if (link && frame.value.verb === 'REPLY') {
        this.host.emit({
          kind: 'deliver',
          user: `user@${this.host.hostName}`,
          from: link.target,
          body: frame.value.body,
        });
        link.actor.send({ type: 'wire.reply' });
      } else {
        return this.refuse(conn, 'verb.unexpected', `${frame.value.verb} is not expected on this connection`);
      }
    }
  }

  private echo(conn: string, body: string): void {
    this.echoed += 1;
    this.host.emit({ kind: 'deliver', user: `echo@${this.host.hostName}`, from: conn, body });
    const reply: EchoFrame = { verb: 'REPLY', body };
    this.host.emit({ kind: 'write', conn, bytes: encodeFrame(reply), decoded: reply });
  }

  private datagram(source: { host: string; port: number }, bytes: Uint8Array): void {
    const frame = decodeLine(bytes.at(-1) === 0x0a ? bytes.subarray(0, -1) : bytes);
    if (!frame.ok) {
      this.host.emit({ kind: 'reject', code: frame.error.code, reason: frame.error.message });
      return;
    }
    if (frame.value.verb === 'REPLY') {
      this.host.emit({
        kind: 'deliver',
        user: `user@${this.host.hostName}`,
        from: source.host,
        body: frame.value.body,
      });
      return;
    }
    this.echoed += 1;
    this.host.emit({ kind: 'deliver', user: `echo@${this.host.hostName}`, from: source.host, body: frame.value.body });
    const reply: EchoFrame = { verb: 'REPLY', body: frame.value.body };
    this.host.emit({
      kind: 'datagram.send',
      port: this.config.port,
      target: source,
      bytes: encodeFrame(reply),
      decoded: reply,
    });
  }

  private refuse(conn: string, code: string, reason: string): void {
    this.host.emit({ kind: 'reject', code, reason, detail: { conn } });
    this.host.emit({ kind: 'close', conn });
    this.inbound.delete(conn);
  }
}
