// Goal: a SOLEC server follows both connection initialisations of the seed (Client-Server with
// UserAuth, Server-Server with ServerAuth), answers with the seed's Error codes, closes on a
// ver_major mismatch, holds a Message for a user whose login is still running, never crashes on
// malformed frames, and shows the ServerAuth flaw under 'seed' and its fix under 'signed'.
// Method: one server node on a ManualHost; the test plays clients and servers by feeding
// conn.accepted / conn.data inputs and decoding what the node writes back.
import { describe, expect, it } from 'vitest';
import { ManualHost } from '../../support/manual-host.js';
import { solec } from '../../../src/protocols/solec/index.js';
import { challengeText, serverKeys, signChallenge } from '../../../src/protocols/solec/keys.js';
import type { Payload } from '../../../src/protocols/solec/wire.js';
import { config, frames, kinds, written, writtenTypes } from './helpers.js';

const seed = 11;

function server(extra: Record<string, unknown> = {}) {
  const host = new ManualHost('b.test', 'b.test', undefined, seed);
  const node = solec.createNode(
    host,
    config({ role: 'server', accounts: { bob: 'pb', dave: 'pd' }, knownServers: [{ name: 'a.test' }], ...extra }),
  );
  node.start();
  host.take();
  const open = (conn: string, remote = 'peer.test') =>
    node.handle({ kind: 'conn.accepted', conn, local: { host: 'b.test', port: 7000 }, remote });
  const send = (conn: string, ...payloads: Payload[]) =>
    node.handle({ kind: 'conn.data', conn, bytes: frames(...payloads) });
  return { host, node, open, send };
}

const hello = (connType: 1 | 2, verMajor = 0): Payload => ({ type: 'handshake', verMajor, verMinor: 4, connType });
const message = (from: string, to: string, body: string, id = 'm1'): Payload => ({
  type: 'message',
  id,
  from,
  to,
  timeMs: 0,
  body,
});

describe('solec: server node: client-server initialisation (ManualHost, seed §2.5)', () => {
  it('shuts a peer address out after authFailuresPerAddressFree failed UserAuths, refusing even the right password unchecked until the block passes (issue 22)', () => {
    const { host, open, send } = server({ authFailuresPerAddressFree: 2, authBlockMs: 1_000, authBlockMsMax: 4_000 });
    const login = (conn: string, remote: string, password: string) => {
      open(conn, remote);
      send(conn, hello(1), { type: 'userAuth', username: 'bob', password });
      return host.take();
    };
    for (let i = 1; i <= 3; i += 1)
      expect(written(login(`in:${i}`, `10.0.0.1:${i}`, 'wrong'), `in:${i}`, 'server')).toEqual([
        { type: 'error', code: 1 },
      ]);
    // The third failure shut 10.0.0.1 out for 1 s: the right password is refused without a check.
    const blocked = login('in:4', '10.0.0.1:4', 'pb');
    expect(written(blocked, 'in:4', 'server')).toEqual([{ type: 'error', code: 1 }]);
    expect(blocked).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'solec.auth-throttled' }));
    // Another address is served.
    expect(writtenTypes(login('in:5', '10.0.0.2:1', 'pb'), 'in:5', 'server')).toEqual(['success']);
    host.advanceMs(1_000);
    expect(writtenTypes(login('in:6', '10.0.0.1:6', 'pb'), 'in:6', 'server')).toEqual(['success']);
    // A fourth failure doubles the block to 2 s.
    login('in:7', '10.0.0.1:7', 'wrong');
    host.advanceMs(1_999);
    expect(written(login('in:8', '10.0.0.1:8', 'pb'), 'in:8', 'server')).toEqual([{ type: 'error', code: 1 }]);
    host.advanceMs(1);
    expect(writtenTypes(login('in:9', '10.0.0.1:9', 'pb'), 'in:9', 'server')).toEqual(['success']);
  });

  it('logs a user in: Handshake then UserAuth answered by Success', () => {
    const { host, open, send } = server();
    open('in:1');
    send('in:1', hello(1), { type: 'userAuth', username: 'bob', password: 'pb' });
    const outputs = host.take();
    expect(writtenTypes(outputs, 'in:1', 'server')).toEqual(['success']);
    expect(kinds(outputs)).not.toContain('close');
    expect(host.stateOf('solec.session in:1')).toBe('userEstablished');
  });

  it('answers a bad password with Error 0x01 and closes (one attempt per connection, ours)', () => {
    const { host, open, send } = server();
    open('in:1');
    send('in:1', hello(1), { type: 'userAuth', username: 'bob', password: 'wrong' });
    const outputs = host.take();
    expect(written(outputs, 'in:1', 'server')).toEqual([{ type: 'error', code: 1 }]);
    expect(outputs).toContainEqual({ kind: 'close', conn: 'in:1' });
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'solec.client-auth-failed' }));
  });

  it('closes the connection without an answer on a ver_major mismatch (ver_major 1 vs 0)', () => {
    const { host, open, send } = server();
    open('in:1');
    send('in:1', hello(1, 1), { type: 'userAuth', username: 'bob', password: 'pb' });
    const outputs = host.take();
    expect(writtenTypes(outputs, 'in:1', 'server')).toEqual([]);
    expect(outputs).toContainEqual({ kind: 'close', conn: 'in:1' });
    expect(host.stateOf('solec.session in:1')).toBe('closed');
  });

  it('accepts a different ver_minor (ours: minor versions are backward compatible)', () => {
    const { host, open, send } = server();
    open('in:1');
    send(
      'in:1',
      { type: 'handshake', verMajor: 0, verMinor: 9, connType: 1 },
      { type: 'userAuth', username: 'bob', password: 'pb' },
    );
    expect(writtenTypes(host.take(), 'in:1', 'server')).toEqual(['success']);
  });

  it('closes a connection whose initialisation does not finish within authTimeoutMs (10 s)', () => {
    const { host, open, send } = server();
    open('in:1');
    send('in:1', hello(1));
    host.advanceMs(9_999);
    expect(kinds(host.take())).toEqual([]);
    host.advanceMs(1);
    expect(host.take()).toContainEqual({ kind: 'close', conn: 'in:1' });
  });
});

describe('solec: server node: messages between users of one server (ManualHost)', () => {
  it('pushes a Message to a logged-in user and answers the sender Success', () => {
    const { host, open, send } = server();
    open('in:1');
    send('in:1', hello(1), { type: 'userAuth', username: 'bob', password: 'pb' });
    open('in:2');
    send('in:2', hello(1), { type: 'userAuth', username: 'dave', password: 'pd' });
    host.take();
    send('in:2', message('dave@b.test', 'bob@b.test', 'hi bob'));
    const outputs = host.take();
    expect(writtenTypes(outputs, 'in:2', 'server')).toEqual(['success']);
    expect(written(outputs, 'in:1', 'server')).toEqual([message('dave@b.test', 'bob@b.test', 'hi bob')]);
  });

  it('answers Error 0x02 for an unknown user, and Error 0x01 for a forged sender (ours)', () => {
    const { host, open, send } = server();
    open('in:1');
    send('in:1', hello(1), { type: 'userAuth', username: 'dave', password: 'pd' });
    host.take();
    send('in:1', message('dave@b.test', 'nobody@b.test', 'x', 'm1'));
    send('in:1', message('bob@b.test', 'dave@b.test', 'x', 'm2'));
    expect(written(host.take(), 'in:1', 'server')).toEqual([
      { type: 'error', code: 2 },
      { type: 'error', code: 1 },
    ]);
  });

  it('holds a Message that arrives while the recipient is mid-login, then delivers it after Success (seed §2.5)', () => {
    const { host, open, send } = server();
    open('in:1');
    send('in:1', hello(1), { type: 'userAuth', username: 'dave', password: 'pd' });
    // Bob's client has sent its Handshake: the initialisation sequence has begun.
    open('in:2');
    send('in:2', hello(1));
    host.take();
    send('in:1', message('dave@b.test', 'bob@b.test', 'during your login'));
    const during = host.take();
    expect(writtenTypes(during, 'in:1', 'server')).toEqual(['success']);
    expect(writtenTypes(during, 'in:2', 'server')).toEqual([]);
    send('in:2', { type: 'userAuth', username: 'bob', password: 'pb' });
    expect(written(host.take(), 'in:2', 'server')).toEqual([
      { type: 'success' },
      message('dave@b.test', 'bob@b.test', 'during your login'),
    ]);
  });
});

describe('solec: server node: server-server initialisation and the ServerAuth flaw (ManualHost)', () => {
  it('answers ServerAuth from a name not in the known public keys list with Error 0x03 and closes', () => {
    const { host, open, send } = server();
    open('in:1', 'c.test');
    send('in:1', hello(2), { type: 'serverAuth', name: 'c.test' });
    const outputs = host.take();
    expect(written(outputs, 'in:1', 'server')).toEqual([{ type: 'error', code: 3 }]);
    expect(outputs).toContainEqual({ kind: 'close', conn: 'in:1' });
  });

  it('seed profile: accepts any peer that names a known server, and delivers what it forges', () => {
    const { host, open, send } = server();
    open('in:1');
    send('in:1', hello(1), { type: 'userAuth', username: 'bob', password: 'pb' });
    host.take();
    // The peer is evil.test, which is not a.test; it only says it is.
    open('in:2', 'evil.test');
    send('in:2', hello(2), { type: 'serverAuth', name: 'a.test' }, message('alice@a.test', 'bob@b.test', 'forged'));
    const outputs = host.take();
    expect(writtenTypes(outputs, 'in:2', 'server')).toEqual(['success', 'success']);
    expect(written(outputs, 'in:1', 'server')).toEqual([message('alice@a.test', 'bob@b.test', 'forged')]);
    // The trace shows the mismatch: authenticated as a.test, connected from evil.test.
    expect(outputs).toContainEqual({
      kind: 'note',
      what: 'solec.authenticated',
      detail: { conn: 'in:2', remote: 'evil.test', peer: { kind: 'server', name: 'a.test' }, profile: 'seed' },
    });
  });

  it("signed profile: refuses a peer that names a.test but cannot sign with a.test's key", () => {
    const { host, open, send } = server({ profile: 'signed' });
    open('in:1', 'evil.test');
    send('in:1', hello(2), { type: 'serverAuth', name: 'a.test' });
    const [challenge] = written(host.take(), 'in:1', 'server');
    expect(challenge?.type).toBe('challenge');
    const nonce = challenge?.type === 'challenge' ? challenge.nonce : new Uint8Array(0);
    const evilKey = serverKeys(seed, 'evil.test').secretKey;
    send(
      'in:1',
      { type: 'proof', signature: signChallenge(evilKey, challengeText(nonce, 'a.test', 'b.test')) },
      message('alice@a.test', 'bob@b.test', 'forged'),
    );
    const outputs = host.take();
    expect(written(outputs, 'in:1', 'server')).toEqual([{ type: 'error', code: 3 }]);
    expect(outputs).toContainEqual({ kind: 'close', conn: 'in:1' });
    expect(outputs.filter((o) => o.kind === 'note' && o.what === 'solec.stored')).toEqual([]);
  });

  it("signed profile: accepts a.test's own signature over the nonce, and not a replayed one for another verifier", () => {
    const { host, open, send } = server({ profile: 'signed' });
    const key = serverKeys(seed, 'a.test').secretKey;
    open('in:1', 'a.test');
    send('in:1', hello(2), { type: 'serverAuth', name: 'a.test' });
    const [challenge] = written(host.take(), 'in:1', 'server');
    const nonce = challenge?.type === 'challenge' ? challenge.nonce : new Uint8Array(0);
    expect(nonce.length).toBe(32);
    send(
      'in:1',
      { type: 'proof', signature: signChallenge(key, challengeText(nonce, 'a.test', 'b.test')) },
      message('alice@a.test', 'bob@b.test', 'real'),
    );
    const outputs = host.take();
    expect(writtenTypes(outputs, 'in:1', 'server')).toEqual(['success', 'success']);
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'note', what: 'solec.stored' }));
    open('in:2', 'a.test');
    send('in:2', hello(2), { type: 'serverAuth', name: 'a.test' });
    const [second] = written(host.take(), 'in:2', 'server');
    const nonce2 = second?.type === 'challenge' ? second.nonce : new Uint8Array(0);
    send('in:2', { type: 'proof', signature: signChallenge(key, challengeText(nonce2, 'a.test', 'c.test')) });
    expect(written(host.take(), 'in:2', 'server')).toEqual([{ type: 'error', code: 3 }]);
  });

  it("refuses a Message from an authenticated server for another server's users with Error 0x03 (ours)", () => {
    const { host, open, send } = server();
    open('in:1', 'a.test');
    send('in:1', hello(2), { type: 'serverAuth', name: 'a.test' }, message('zed@c.test', 'bob@b.test', 'x'));
    expect(written(host.take(), 'in:1', 'server')).toEqual([{ type: 'success' }, { type: 'error', code: 3 }]);
  });
});

describe('solec: server node: frames it cannot trust (ManualHost, spec.md §2.3, ours)', () => {
  it('closes a connection whose frame stays unfinished for frameTimeoutMs (frame.stalled), and serves on', () => {
    const { host, node, open, send } = server();
    open('in:1');
    send('in:1', hello(1), { type: 'userAuth', username: 'bob', password: 'pb' });
    host.take();
    const half = frames(message('bob@b.test', 'dave@b.test', 'half')).subarray(0, 20);
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: half });
    host.advanceMs(499);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'frame.stalled' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 'in:1' });
    expect(host.stateOf('solec.session in:1')).toBe('closed');
    expect(host.pendingTimers()).toBe(0);
    open('in:2');
    send('in:2', hello(1), { type: 'userAuth', username: 'dave', password: 'pd' });
    expect(writtenTypes(host.take(), 'in:2', 'server')).toEqual(['success']);
  });

  it('takes a frame that arrives in pieces, each within frameTimeoutMs of the last (frameTimeoutMs 300)', () => {
    const { host, node, open } = server({ frameTimeoutMs: 300 });
    open('in:1');
    const bytes = frames(hello(1), { type: 'userAuth', username: 'bob', password: 'pb' });
    for (let at = 0; at < bytes.length; at += 4) {
      node.handle({ kind: 'conn.data', conn: 'in:1', bytes: bytes.subarray(at, at + 4) });
      host.advanceMs(299);
    }
    expect(writtenTypes(host.take(), 'in:1', 'server')).toEqual(['success']);
    expect(host.stateOf('solec.session in:1')).toBe('userEstablished');
  });

  it('refuses from the header alone a Handshake announcing more than its 3 bytes, without waiting', () => {
    const { host, node, open } = server();
    open('in:1');
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: Uint8Array.of(0x03, 0x00, 0x09, 0x00) });
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'payload.trailing' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 'in:1' });
  });

  it('reads the whole frames before a condemned header, in order', () => {
    const { host, node, open } = server();
    open('in:1');
    const login = frames(hello(1), { type: 'userAuth', username: 'bob', password: 'pb' });
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: Uint8Array.of(...login, 0x42, 0x00, 0x08) });
    const outputs = host.take();
    expect(writtenTypes(outputs, 'in:1', 'server')).toEqual(['success']);
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'type.unknown' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 'in:1' });
  });
});

describe('solec: server node: malformed input never takes it down (ManualHost)', () => {
  const cases: [string, Uint8Array, string][] = [
    ['an oversize frame header', Uint8Array.of(0x05, 0xff, 0xff), 'frame.oversize'],
    ['an unknown payload type', Uint8Array.of(0x42, 0x00, 0x00), 'type.unknown'],
    ['a reserved payload type', Uint8Array.of(0x00, 0x00, 0x00), 'type.reserved'],
    ['a server-only Error from a client', Uint8Array.of(0x02, 0x00, 0x01, 0x01), 'direction.wrong'],
    ['a Message before the Handshake', frames(message('x@b.test', 'bob@b.test', 'x')), 'solec.unexpected'],
    ['a truncated UserAuth', Uint8Array.of(0x04, 0x00, 0x02, 0x00, 0x05), 'payload.truncated'],
  ];
  for (const [what, bytes, code] of cases) {
    it(`rejects ${what} with ${code}, closes that connection, and keeps serving others`, () => {
      const { host, node, open, send } = server();
      open('in:1');
      expect(() => node.handle({ kind: 'conn.data', conn: 'in:1', bytes })).not.toThrow();
      const outputs = host.take();
      expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code }));
      expect(outputs).toContainEqual({ kind: 'close', conn: 'in:1' });
      open('in:2');
      send('in:2', hello(1), { type: 'userAuth', username: 'bob', password: 'pb' });
      expect(writtenTypes(host.take(), 'in:2', 'server')).toEqual(['success']);
    });
  }
});
