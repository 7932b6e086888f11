/**
 * The SOLEC client role: one user of one server. It logs in (one `solec.client` machine per login,
 * which reconnects on its own), sends the user's Messages and takes the ones its server pushes.
 *
 * Like the server role, it only wires: bytes to frames (FrameReader), frames to machine events. It
 * does no I/O and draws randomness only through its NodeHost, and peer input never throws.
 */
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import type { ClientConfig, SolecCommand } from './config.js';
import { FrameReader, invalid } from './frame-reader.js';
import { clientConnId, clientMachine, type ClientEvent } from './machines/client.js';
import { draftMessage } from './draft.js';
import { decodePayload, type Payload } from './wire.js';

/** Turns one decoded payload on a connection to a client into a client machine event. */
function clientEvent(payload: Payload): ClientEvent {
  switch (payload.type) {
    case 'success':
      return { type: 'wire.success' };
    case 'error':
      return { type: 'wire.error', code: payload.code };
    case 'message':
      return { type: 'wire.message', payload };
    default:
      return { type: 'wire.unexpected', payload };
  }
}

/** A SOLEC client: one user of one server. */
export class SolecClientNode implements ProtocolNode {
  private readonly address: string;
  private actor: MachineActor<typeof clientMachine> | undefined;
  private conn: string | undefined;
  /** The reader of the current connection attempt. */
  private reader: FrameReader | undefined;
  private readonly connIds = new IdSequence('c2s');
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: ClientConfig,
  ) {
    this.address = `${config.username}@${config.server}`;
  }

  start(): void {
    if (this.config.loginAtStart) this.login();
  }

  stop(): void {
    this.stopped = true;
    this.reader?.close();
    this.actor?.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'command':
        return this.command(input.command as SolecCommand);
      case 'conn.opened':
        return this.toClient(input.conn, { type: 'conn.opened' }, true);
      case 'conn.failed':
        return this.toClient(input.conn, { type: 'conn.failed', reason: input.reason });
      case 'conn.closed':
        return this.toClient(input.conn, { type: 'conn.closed' });
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'conn.accepted':
        // A client listens nowhere; an accepted connection is the host's mistake, refused politely.
        this.host.emit({ kind: 'close', conn: input.conn });
        return;
      case 'datagram':
      case 'dns.answer':
        return;
    }
  }

  view(): unknown {
    return {
      role: 'client',
      address: this.address,
      conn: this.currentConn(),
      state: this.isActive() ? this.actor?.getSnapshot().value : 'loggedOut',
    };
  }

  private isActive(): boolean {
    return this.actor !== undefined && this.actor.getSnapshot().status === 'active';
  }

  private command(command: SolecCommand): void {
    switch (command.type) {
      case 'login':
        if (this.isActive()) {
          this.host.emit({
            kind: 'reject',
            code: 'solec.already-logged-in',
            reason: `${this.address} is already connected`,
          });
          return;
        }
        return this.login();
      case 'logout':
        this.actor?.send({ type: 'user.logout' });
        return;
      case 'send': {
        if (!this.isActive()) {
          this.host.emit({
            kind: 'reject',
            code: 'solec.not-logged-in',
            reason: `${this.address} is not logged in`,
            detail: { to: command.to },
          });
          return;
        }
        const fields = { from: this.address, to: command.to, body: command.body };
        const payload = draftMessage(this.host, fields, this.config.payloadBytesMax);
        if (payload) this.actor?.send({ type: 'user.send', payload });
        return;
      }
      case 'submit':
        this.host.emit({ kind: 'reject', code: 'solec.command-role', reason: 'a client does not take submit' });
        return;
    }
  }

  private login(): void {
    this.actor?.stop();
    this.reader?.close();
    this.reader = undefined;
    const conn = this.connIds.next();
    this.conn = conn;
    const actor = startActor(clientMachine, this.host, {
      name: `solec.client ${this.address}`,
      input: {
        conn,
        host: this.config.host ?? this.config.server,
        port: this.config.port,
        username: this.config.username,
        password: this.config.password,
        address: this.address,
        versionMajor: this.config.versionMajor,
        versionMinor: this.config.versionMinor,
        authTimeoutMs: this.config.authTimeoutMs,
        responseTimeoutMs: this.config.responseTimeoutMs,
        retryMs: this.config.retryMs,
        attemptsMax: this.config.attemptsMax,
      },
    });
    this.actor = actor;
    // A connection the client closes itself is read no further.
    actor.on('output', (event) => {
      if (event.output.kind === 'close' && event.output.conn === this.reader?.conn) this.reader.close();
    });
  }

  /** The connection of the current attempt (a reconnect opens `<conn>#<n>`); late events of others are dropped. */
  private currentConn(): string | undefined {
    return this.actor ? clientConnId(this.actor.getSnapshot().context) : this.conn;
  }

  private toClient(conn: string, event: ClientEvent, fresh = false): void {
    if (conn !== this.currentConn() || !this.isActive()) return;
    if (fresh) {
      this.reader?.close();
      this.reader = new FrameReader(conn, this.host.clock, this.config.payloadBytesMax, this.config.frameTimeoutMs);
    }
    if (event.type === 'conn.closed') this.reader?.close();
    this.actor?.send(event);
  }

  private data(conn: string, bytes: Uint8Array): void {
    const reader = this.reader;
    if (conn !== this.currentConn() || !this.isActive() || reader?.conn !== conn) return;
    const frames = reader.push(bytes);
    if (!frames.ok) return this.actor?.send(invalid(frames.error));
    for (const frame of frames.value) {
      // Frames after the one that made the client close this connection are not read.
      if (!this.isActive() || reader.isClosed) return;
      const payload = decodePayload(frame, 'server');
      this.actor?.send(payload.ok ? clientEvent(payload.value) : invalid(payload.error));
    }
    if (!this.isActive() || this.reader !== reader) return;
    const refused = reader.settle('server', (error) => {
      if (this.isActive() && this.reader === reader) this.actor?.send(invalid(error));
    });
    if (refused) this.actor?.send(invalid(refused));
  }
}
