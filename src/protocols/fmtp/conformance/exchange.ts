/**
 * The FMTP conformance peer's moves, shared by every case: reading and writing blocks with FMTP's
 * own wire.ts, greeting the target and checking its WELCOME, numbering transactions, and serving
 * the owner, MX server and gateways the target dials while it looks objects up.
 */
import { helloText, sign, verifyByAny, welcomeText } from '../keys.js';
import { blockLinesMax, decodeFrame, encodeFrame, lineBytesMax, type Frame, type FrameOf } from '../wire.js';
import { concatBytes } from '../../../core/bytes.js';
import type { Conn, Listener, Peer, Reader } from '../../../conformance/peer.js';
import { fail, unimplemented } from '../../../conformance/types.js';
import { target, peerHost, peerSecret, targetKeys } from './fixture.js';

/** Bytes past which no block can be complete (every line at its limit). */
export const blockBytesMax = (lineBytesMax + 1) * (blockLinesMax + 1);

/** Reads one block (up to its empty line) and decodes it with wire.ts. */
export const readFrame: Reader<Frame> = (bytes) => {
  let end = -1;
  for (let i = 1; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i - 1] === 0x0a) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) return bytes.length > blockBytesMax ? { kind: 'error', message: 'no block end' } : { kind: 'more' };
  const decoded = decodeFrame(bytes.subarray(0, end));
  if (!decoded.ok) return { kind: 'error', message: `${decoded.error.code}: ${decoded.error.message}` };
  return { kind: 'value', value: decoded.value, used: end };
};

export function show(frame: Frame): string {
  return JSON.stringify(frame);
}

export function frames(...list: Frame[]): Uint8Array {
  return concatBytes(...list.map(encodeFrame));
}

/** Fixed nonces: the peer needs none fresh (the WELCOME it checks signs its own nonce). */
export function nonceOf(n: number): string {
  return n.toString(16).padStart(32, '0');
}

export function hello(from: string, secret: Uint8Array, n = 1, to = target): FrameOf<'HELLO'> {
  const nonce = nonceOf(n);
  return { type: 'HELLO', from, to, nonce, hash: sign(helloText(from, to, nonce), secret) };
}

/** Waits for the next frame and fails the case unless `check` accepts it. */
export async function expectFrame<T extends Frame['type']>(
  conn: Conn,
  timeoutMs: number,
  type: T,
  what: string,
  check: (frame: FrameOf<T>) => boolean = () => true,
  expected: string = type,
): Promise<FrameOf<T>> {
  const got = await conn.expect(readFrame, { timeoutMs });
  if (!got.ok) fail(what, expected, `${got.reason}: ${got.message}`);
  if (got.value.type !== type || !check(got.value as FrameOf<T>)) fail(what, expected, show(got.value));
  return got.value as FrameOf<T>;
}

/** Expects REFUSED with `code` and then the close, with nothing else. */
export async function expectRefused(conn: Conn, peer: Peer, code: string, what: string): Promise<void> {
  await expectFrame(conn, peer.answerMs, 'REFUSED', what, (f) => f.code === code, `REFUSED ${code}`);
  const after = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
  if (after.ok) fail(`${what}: a frame after REFUSED`, 'the close', show(after.value));
  if (after.reason !== 'closed') fail(`${what}: the connection stayed open`, 'the close', after.message);
}

export async function connect(peer: Peer): Promise<Conn> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', 'a TCP connection', 'refused or timed out');
  return conn;
}

/** Connects and greets the target as `from`; checks its WELCOME against the key at fmtpkey.b.test. */
export async function greet(peer: Peer, from = peerHost, secret = peerSecret, n = 1): Promise<Conn> {
  const conn = await connect(peer);
  const sent = hello(from, secret, n);
  await conn.send(encodeFrame(sent));
  const welcome = await expectFrame(conn, peer.answerMs, 'WELCOME', `the HELLO of ${from} was not welcomed`);
  checkWelcome(welcome, from, sent.nonce);
  return conn;
}

export function checkWelcome(welcome: FrameOf<'WELCOME'>, to: string, helloNonce: string): void {
  if (welcome.from !== target || welcome.to !== to)
    fail('the WELCOME is misaddressed', `FROM ${target} TO ${to}`, show(welcome));
  const text = welcomeText(welcome.from, welcome.to, welcome.nonce, helloNonce);
  if (!verifyByAny(text, welcome.hash, targetKeys()))
    fail('the WELCOME hash does not verify against fmtpkey.b.test', 'a valid Ed25519 hash', show(welcome));
}

/** Transaction ids count per case (per Peer), so that the same case twice sends the same bytes. */
export const transactions = new WeakMap<Peer, number>();
export function transaction(peer: Peer): string {
  const n = (transactions.get(peer) ?? 0) + 1;
  transactions.set(peer, n);
  return `${n}.${peerHost}`;
}

export function request(peer: Peer, object: string, hops?: number): FrameOf<'REQUEST'> {
  const txn = transaction(peer);
  return { type: 'REQUEST', from: peerHost, object, transaction: txn, ...(hops === undefined ? {} : { hops }) };
}

export function message(peer: Peer, from: string, to: string, body: string): FrameOf<'MESSAGE'> {
  return { type: 'MESSAGE', from, to, transaction: transaction(peer), body };
}

/** Sends a MESSAGE and returns the target's answer on the same transaction. */
export async function deliver(peer: Peer, conn: Conn, sent: FrameOf<'MESSAGE'>) {
  await conn.send(encodeFrame(sent));
  const got = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
  if (!got.ok) fail(`no answer to a MESSAGE to ${sent.to}`, 'ACCEPTED or REJECTED', got.message);
  const answer = got.value;
  if ((answer.type !== 'ACCEPTED' && answer.type !== 'REJECTED') || answer.transaction !== sent.transaction)
    fail('the answer to a MESSAGE is not ACCEPTED / REJECTED on its transaction', sent.transaction, show(answer));
  return answer;
}

/**
 * Plays a server the target dials: accepts, checks its HELLO (addressed to `domain`, signed with the
 * key at fmtpkey.b.test), answers WELCOME as `domain` and reads the first frame after it.
 */
export async function serve(
  peer: Peer,
  listener: Listener,
  domain: string,
  options: { timeoutMs?: number; secret?: Uint8Array } = {},
): Promise<{ conn: Conn; first: Frame }> {
  const timeoutMs = options.timeoutMs ?? peer.answerMs;
  const conn = await listener.accept({ timeoutMs });
  if (!conn) fail(`the target did not dial ${domain} at ${listener.address}`, `a connection to ${domain}`, 'none');
  const got = await expectFrame(conn, peer.answerMs, 'HELLO', 'no HELLO from the target');
  if (got.to !== domain || got.from !== target)
    fail('the HELLO is not addressed to the domain dialled', `FROM ${target} TO ${domain}`, show(got));
  if (!verifyByAny(helloText(got.from, got.to, got.nonce), got.hash, targetKeys()))
    fail('the HELLO hash does not verify against fmtpkey.b.test', 'a valid Ed25519 hash', show(got));
  const nonce = nonceOf(2);
  const secret = options.secret ?? peerSecret;
  await conn.send(
    encodeFrame({
      type: 'WELCOME',
      from: domain,
      to: got.from,
      nonce,
      hash: sign(welcomeText(domain, got.from, nonce, got.nonce), secret),
    }),
  );
  const first = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
  if (!first.ok) fail('nothing after our WELCOME', 'a REQUEST or MESSAGE', `${first.reason}: ${first.message}`);
  return { conn, first: first.value };
}

/** `serve`, expecting a REQUEST for `object`. */
export async function serveRequest(peer: Peer, listener: Listener, domain: string, object: string) {
  const { conn, first } = await serve(peer, listener, domain);
  if (first.type !== 'REQUEST' || first.object !== object)
    fail(`the target did not ask ${domain} for ${object}`, `REQUEST ${object}`, show(first));
  return { conn, request: first };
}

/** Accepts a connection the target makes and reads its HELLO, then closes it: a step that fails. */
export async function refuseDial(peer: Peer, listener: Listener, domain: string): Promise<void> {
  const conn = await listener.accept({ timeoutMs: peer.answerMs });
  if (!conn) fail(`the target did not dial ${domain} at ${listener.address}`, `a connection to ${domain}`, 'none');
  await expectFrame(conn, peer.answerMs, 'HELLO', `no HELLO to ${domain}`, (f) => f.to === domain);
  await conn.close();
}

export async function expectNoDial(listener: Listener, ms: number, what: string): Promise<void> {
  const conn = await listener.accept({ timeoutMs: ms });
  if (conn) fail(what, `no connection within ${ms} ms`, `a connection at ${listener.address}`);
}

export function control(peer: Peer) {
  return peer.control ?? unimplemented('needs the control channel of a target the testbed runs');
}

export function outputNames(peer: Peer): string {
  return (peer.control?.outputs() ?? []).map((o) => o.name).join(', ');
}

/** The OBJECT of lost@far.test, ONLINE, recommending a ROUTE to the peer's `port` over tcp. */
export function lostOnlineAt(port: number, txn: string): FrameOf<'OBJECT'> {
  return {
    type: 'OBJECT',
    object: 'lost@far.test',
    transaction: txn,
    properties: { address: 'lost@far.test', status: 'ONLINE', route: { host: peerHost, port, transport: 'tcp' } },
  };
}

export const isObjectFor = (object: string, txn: string) => (f: FrameOf<'OBJECT'>) =>
  f.object === object && f.transaction === txn;
