/**
 * The Bester client role (spec.md §3): one user's connection to its server, run by one
 * `bester.client` machine. User commands become messages (`send`, `dummy`, `close`) or, for tests of
 * bad input, raw bytes; the server's frames are decoded here and handed to the machine as typed events.
 *
 * It must never throw on peer input: a bad frame from the server ends in a `reject` and a close; a
 * command after the connection has closed gets a `reject`.
 */
import { utf8Bytes } from '../../core/bytes.js';
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import type { BesterCommand, ClientConfig } from './config.js';
import { clientMachine, type ClientEvent } from './machines/client.js';
import { refuseCommand } from './outputs.js';
import { describe, FrameDecoder, lengthPrefixBytes, parseJson, parseServerToClient } from './wire.js';

/** The bytes of a `raw` command: `body` framed with its true length, or `hex` unframed. */
function rawBytes(command: { readonly body?: string; readonly hex?: string }): Uint8Array {
  if (command.body !== undefined) {
    const body = utf8Bytes(command.body);
    const frame = new Uint8Array(lengthPrefixBytes + body.length);
    new DataView(frame.buffer).setInt32(0, body.length, true);
    frame.set(body, lengthPrefixBytes);
    return frame;
  }
  const hex = command.hex ?? '';
  const bytes = new Uint8Array(hex.length >> 1);
  for (let at = 0; at < bytes.length; at++) bytes[at] = parseInt(hex.slice(at * 2, at * 2 + 2), 16);
  return bytes;
}

/** What the trace shows for a `raw` command: the frame's JSON (or its text if not JSON), or the hex and how it reads. */
function rawDecoded(command: { readonly body?: string; readonly hex?: string }, bytes: Uint8Array): unknown {
  if (command.body === undefined) return { rawHex: command.hex, reads: describe(bytes) };
  const json = parseJson(bytes.subarray(lengthPrefixBytes));
  return json.ok ? json.value : { rawFrame: command.body };
}

export class BesterClientNode implements ProtocolNode {
  private actor: MachineActor<typeof clientMachine> | undefined;
  private conn = '';
  private decoder = new FrameDecoder();
  private readonly connIds = new IdSequence('out:c');
  private readonly messageIds: IdSequence;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: ClientConfig,
  ) {
    this.messageIds = new IdSequence(config.username);
  }

  start(): void {
    this.stopped = false;
    this.conn = this.connIds.next();
    this.decoder = new FrameDecoder();
    this.actor = startActor(clientMachine, this.host, {
      name: 'bester.client',
      input: {
        conn: this.conn,
        server: this.config.server,
        username: this.config.username,
        password: this.config.password,
      },
    });
  }

  stop(): void {
    this.stopped = true;
    this.actor?.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'conn.opened':
        return this.send(input.conn, { type: 'conn.opened' });
      case 'conn.failed':
        return this.send(input.conn, { type: 'conn.failed', reason: input.reason });
      case 'conn.closed':
        return this.send(input.conn, { type: 'conn.closed' });
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'command':
        return this.command(input.command as BesterCommand);
      default:
        return;
    }
  }

  view(): unknown {
    return { role: 'client', username: this.config.username, state: this.actor?.getSnapshot().value ?? null };
  }

  private send(conn: string, event: ClientEvent): void {
    if (conn !== this.conn || this.actor?.getSnapshot().status !== 'active') return;
    this.actor.send(event);
  }

  private command(command: BesterCommand): void {
    if (command.type === 'handler.down' || command.type === 'handler.up' || command.type === 'ask') {
      return refuseCommand(this.host, 'client', command);
    }
    if (this.actor?.getSnapshot().status !== 'active') {
      this.host.emit({
        kind: 'reject',
        code: 'bester.not-connected',
        reason: `${this.config.username} has no open connection to its server`,
        detail: { command },
      });
      return;
    }
    if (command.type === 'close') return void this.actor.send({ type: 'user.close' });
    if (command.type === 'raw') {
      const bytes = rawBytes(command);
      return void this.actor.send({ type: 'user.raw', bytes, decoded: rawDecoded(command, bytes) });
    }
    const id = command.id ?? this.messageIds.next();
    const payload =
      command.type === 'dummy'
        ? { type: 'dummy', id, data: null }
        : { type: command.messageType, id, data: command.data };
    this.actor.send({ type: 'user.send', payload });
  }

  private data(conn: string, bytes: Uint8Array): void {
    if (conn !== this.conn) return;
    const bodies = this.decoder.push(bytes);
    if (!bodies.ok) return this.send(conn, { type: 'wire.malformed', code: bodies.error.code });
    for (const body of bodies.value) {
      const json = parseJson(body);
      if (!json.ok) return this.send(conn, { type: 'wire.malformed', code: json.error.code });
      const message = parseServerToClient(json.value);
      if (!message.ok) return this.send(conn, { type: 'wire.malformed', code: message.error.code });
      const value = message.value;
      this.send(
        conn,
        value.kind === 'statusReport'
          ? { type: 'wire.status', status: value.status, id: value.id }
          : value.kind === 'receivedMessage'
            ? { type: 'wire.received', messageType: value.type, data: value.data }
            : { type: 'wire.dummy', id: value.id },
      );
    }
  }
}
