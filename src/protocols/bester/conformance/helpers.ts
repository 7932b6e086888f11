/**
 * Wire helpers of the Bester conformance cases: frames built and read with Bester's own wire.ts, and
 * the waits the cases share (log in, expect a status report, expect nothing, play a handler, ask the
 * informer). Each fails the case with what it expected and what came.
 *
 * Must not: read a clock (waits go through the Peer).
 */
import {
  FrameDecoder,
  authMessage,
  clientMessage,
  encodeFrame,
  lengthPrefixBytes,
  parseJson,
  parseServerToClient,
  statusReport,
  type ServerToClient,
} from '../wire.js';
import { openLocal, type LocalAccess } from '../../../conformance/local-peer.js';
import type { Conn, Listener, Peer, Reader } from '../../../conformance/peer.js';
import { fail, unimplemented } from '../../../conformance/types.js';
import { suiteInfo } from './fixture.js';

/** Reads one frame and parses its JSON, with wire.ts's own decoders (length limits included). */
export const readFrame: Reader<unknown> = (bytes) => {
  const bodies = new FrameDecoder().push(bytes);
  if (!bodies.ok) return { kind: 'error', message: `${bodies.error.code}: ${bodies.error.message}` };
  const body = bodies.value[0];
  if (body === undefined) return { kind: 'more' };
  const json = parseJson(body);
  if (!json.ok) return { kind: 'error', message: `${json.error.code}: ${json.error.message}` };
  return { kind: 'value', value: json.value, used: lengthPrefixBytes + body.length };
};

/** Reads one frame the server sends a client: a status report, a received message or a dummy reply. */
const readServerMessage: Reader<ServerToClient> = (bytes, closed) => {
  const frame = readFrame(bytes, closed);
  if (frame.kind !== 'value') return frame;
  const message = parseServerToClient(frame.value);
  if (!message.ok) return { kind: 'error', message: `${message.error.code}: ${show(frame.value)}` };
  return { kind: 'value', value: message.value, used: frame.used };
};

/** JSON with sorted keys, so that two values compare by content. */
export function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export const same = (a: unknown, b: unknown) => show(a) === show(b);

export function message(type: string, id: string, data: unknown): Uint8Array {
  return encodeFrame(clientMessage({ type, id, data }));
}

export async function connect(peer: Peer): Promise<Conn> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', 'a TCP connection', 'refused or timed out');
  return conn;
}

/** Waits for the next frame to a client and fails the case unless `check` accepts it. */
export async function expectMessage(
  conn: Conn,
  timeoutMs: number,
  expected: string,
  check: (message: ServerToClient) => boolean,
  what: string,
): Promise<ServerToClient> {
  const got = await conn.expect(readServerMessage, { timeoutMs });
  if (!got.ok) fail(what, expected, `${got.reason}: ${got.message}`);
  if (!check(got.value)) fail(what, expected, show(got.value));
  return got.value;
}

const isStatus = (status: 'good' | 'bad', id: string) => (m: ServerToClient) =>
  m.kind === 'statusReport' && m.status === status && m.id === id;

export const isReceived = (type: string, data: unknown) => (m: ServerToClient) =>
  m.kind === 'receivedMessage' && m.type === type && same(m.data, data);

export async function expectStatus(
  peer: Peer,
  conn: Conn,
  status: 'good' | 'bad',
  id: string,
  what: string,
  waitMs = 0,
) {
  await expectMessage(conn, peer.answerMs + waitMs, show(statusReport(status, id)), isStatus(status, id), what);
}

/** Logs in as a client (spec.md §3) and waits for the auth_special status report. */
export async function login(peer: Peer, username: string): Promise<Conn> {
  const conn = await connect(peer);
  await conn.send(encodeFrame(authMessage(username, `pw-${username}`)));
  await expectStatus(peer, conn, 'good', 'auth_special', `${username} could not log in`);
  return conn;
}

/** Fails the case if a frame arrives within `ms`. */
export async function expectNothing(conn: Conn, ms: number, what: string): Promise<void> {
  const got = await conn.expect(readFrame, { timeoutMs: ms });
  if (got.ok) fail(what, `nothing within ${ms} ms`, show(got.value));
}

/** Fails the case unless the target closes the connection without sending a frame (spec.md §2, §3). */
export async function expectSilentClose(conn: Conn, timeoutMs: number, what: string): Promise<void> {
  const got = await conn.expect(readFrame, { timeoutMs });
  if (got.ok) fail(what, 'the connection closed without a frame', show(got.value));
  if (got.reason !== 'closed') fail(what, 'the connection closed without a frame', `${got.reason}: ${got.message}`);
}

/** Runs `body` with the target host's local sockets, or ends the case UNIMPLEMENTED without them. */
export async function withLocal<T>(peer: Peer, body: (local: LocalAccess) => Promise<T>): Promise<T> {
  // openLocal reads the suite's target and built-in node, not its cases (which import this module).
  const local = openLocal(peer, { ...suiteInfo, cases: [] });
  if (!local) unimplemented('needs the target host’s local sockets (handlers, informer): sim or RealHost only');
  try {
    return await body(local);
  } finally {
    await local.close();
  }
}

/** Waits for the target to connect to a handler and read what it sends: only `payload.data` (spec.md §4). */
export async function acceptHandler(
  peer: Peer,
  listener: Listener,
  name: string,
): Promise<{ conn: Conn; data: unknown }> {
  const conn = await listener.accept({ timeoutMs: peer.answerMs });
  if (!conn) fail(`the target did not connect to handler ${name}`, `a connection to ${listener.address}`, 'none');
  const got = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
  if (!got.ok) fail(`handler ${name} got no frame`, 'one frame holding payload.data', `${got.reason}: ${got.message}`);
  return { conn, data: got.value };
}

/** Plays a handler for one message: checks the data it gets, answers `reply`, and expects the server to close. */
export async function serveHandler(
  peer: Peer,
  listener: Listener,
  name: string,
  data: unknown,
  reply: unknown,
): Promise<void> {
  const handler = await acceptHandler(peer, listener, name);
  if (!same(handler.data, data)) fail(`handler ${name} got something else`, show(data), show(handler.data));
  await handler.conn.send(encodeFrame(reply));
  if (!(await handler.conn.expectClosed({ timeoutMs: peer.answerMs })))
    fail(`the server kept handler ${name}’s connection open`, 'it closes after one reply', 'still open');
}

/** Asks the informer one request and returns its reply (spec.md §6). */
export async function ask(peer: Peer, informer: Conn, type: string, data?: unknown): Promise<unknown> {
  await informer.send(encodeFrame({ command: data === undefined ? { type } : { type, data } }));
  const got = await informer.expect(readFrame, { timeoutMs: peer.answerMs });
  if (!got.ok) fail(`the informer did not answer ${type}`, 'a reply {status, data}', `${got.reason}: ${got.message}`);
  return got.value;
}

export async function expectReply(peer: Peer, informer: Conn, type: string, data: unknown, expected: unknown) {
  const reply = await ask(peer, informer, type, data);
  if (!same(reply, expected)) fail(`the informer’s ${type} ${show(data) ?? ''} is wrong`, show(expected), show(reply));
}
