// Goal: the SOLEC client and the server's relay link follow their halves of the two connection
// initialisations, hold what arrives or is asked for during a multi-round operation, and report
// refusals (Error 0x01, Error 0x03, a closed connection) as `reject` outputs.
// Method: one client node, or one server node relaying, on a ManualHost; the test plays the
// server at the other end by feeding conn.* inputs and decoding what the node writes.
import { describe, expect, it } from 'vitest';
import { ManualHost } from '../../support/manual-host.js';
import { solec } from '../../../src/protocols/solec/index.js';
import { challengeText, serverKeys, verifyChallenge } from '../../../src/protocols/solec/keys.js';
import type { Payload } from '../../../src/protocols/solec/wire.js';
import { config, frames, written, writtenTypes } from './helpers.js';

function client(extra: Record<string, unknown> = {}) {
  const host = new ManualHost('alice', 'alice', undefined, 3);
  const node = solec.createNode(
    host,
    config({ role: 'client', server: 'a.test', username: 'alice', password: 'pa', ...extra }),
  );
  node.start();
  const reply = (...payloads: Payload[]) =>
    node.handle({ kind: 'conn.data', conn: 'c2s:1', bytes: frames(...payloads) });
  return { host, node, reply };
}

const push = (body: string, id = 'p1'): Payload => ({
  type: 'message',
  id,
  from: 'bob@b.test',
  to: 'alice@a.test',
  timeMs: 5,
  body,
});

describe('solec: client node (ManualHost, seed §2.5 Client-Server)', () => {
  it('connects, sends Handshake and UserAuth, and is established on Success', () => {
    const { host, node, reply } = client();
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'c2s:1', target: { host: 'a.test', port: 7000 } }]);
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    expect(written(host.take(), 'c2s:1', 'client')).toEqual([
      { type: 'handshake', verMajor: 0, verMinor: 4, connType: 1 },
      { type: 'userAuth', username: 'alice', password: 'pa' },
    ]);
    reply({ type: 'success' });
    expect(host.stateOf('solec.client alice@a.test')).toBe('established.ready');
  });

  it('reports Error 0x01 as solec.client-auth-failed and closes', () => {
    const { host, node, reply } = client({ password: 'bad' });
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    host.take();
    reply({ type: 'error', code: 1 });
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'solec.client-auth-failed' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 'c2s:1' });
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'x' } });
    expect(host.take()).toEqual([expect.objectContaining({ kind: 'reject', code: 'solec.not-logged-in' })]);
  });

  it("reports a close during initialisation (the server's answer to a ver_major mismatch) as solec.login-failed", () => {
    const { host, node } = client({ versionMajor: 9 });
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    expect(written(host.take(), 'c2s:1', 'client')[0]).toMatchObject({ type: 'handshake', verMajor: 9 });
    node.handle({ kind: 'conn.closed', conn: 'c2s:1', reason: 'closed' });
    expect(host.take()).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'solec.login-failed' }));
    expect(host.stateOf('solec.client alice@a.test')).toBe('failed');
  });

  it('queues sends made before login, sends them one at a time, each after the previous answer', () => {
    const { host, node, reply } = client();
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'one' } });
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'two' } });
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    host.take();
    reply({ type: 'success' });
    expect(written(host.take(), 'c2s:1', 'client').map((p) => (p.type === 'message' ? p.body : p.type))).toEqual([
      'one',
    ]);
    reply({ type: 'success' });
    expect(written(host.take(), 'c2s:1', 'client').map((p) => (p.type === 'message' ? p.body : p.type))).toEqual([
      'two',
    ]);
    reply({ type: 'error', code: 2 });
    expect(host.take()).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'solec.not-delivered' }));
  });

  it('holds a Message pushed while it waits for the answer to its own, then delivers it (seed §2.5)', () => {
    const { host, node, reply } = client();
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    reply({ type: 'success' });
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'mine' } });
    host.take();
    reply(push('crossing'));
    expect(host.outputsOf('deliver')).toEqual([]);
    reply({ type: 'success' });
    expect(host.outputsOf('deliver')).toEqual([
      { kind: 'deliver', user: 'alice@a.test', from: 'bob@b.test', body: 'crossing', id: 'p1' },
    ]);
    reply(push('later', 'p2'));
    expect(host.outputsOf('deliver').map((d) => d.body)).toEqual(['crossing', 'later']);
  });

  it('reconnects after losing an established connection and resends the unanswered Message with its id (spec §4.1)', () => {
    const { host, node, reply } = client({ retryMs: 200 });
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    reply({ type: 'success' });
    host.take();
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'lost' } });
    const [sent] = written(host.take(), 'c2s:1', 'client');
    expect(sent).toMatchObject({ type: 'message', body: 'lost' });
    node.handle({ kind: 'conn.closed', conn: 'c2s:1', reason: 'closed' });
    expect(host.outputsOf('reject')).toEqual([]);
    expect(host.outputsOf('note').map((note) => note.what)).toEqual(['solec.reconnecting']);
    host.take();
    host.advanceMs(199);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'c2s:1#2', target: { host: 'a.test', port: 7000 } }]);
    // Late bytes of the old connection are not read.
    node.handle({ kind: 'conn.data', conn: 'c2s:1', bytes: frames({ type: 'success' }) });
    node.handle({ kind: 'conn.opened', conn: 'c2s:1#2' });
    expect(written(host.take(), 'c2s:1#2', 'client').map((p) => p.type)).toEqual(['handshake', 'userAuth']);
    node.handle({ kind: 'conn.data', conn: 'c2s:1#2', bytes: frames({ type: 'success' }) });
    expect(written(host.take(), 'c2s:1#2', 'client')).toEqual([sent]);
    node.handle({ kind: 'conn.data', conn: 'c2s:1#2', bytes: frames({ type: 'success' }) });
    expect(host.outputsOf('note').map((note) => note.what)).toEqual(['solec.sent']);
  });

  it('gives up after attemptsMax lost connections in a row and reports the unsent Message', () => {
    const { host, node, reply } = client({ retryMs: 100, attemptsMax: 2 });
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    reply({ type: 'success' });
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'doomed' } });
    node.handle({ kind: 'conn.closed', conn: 'c2s:1', reason: 'closed' });
    host.advanceMs(100);
    node.handle({ kind: 'conn.failed', conn: 'c2s:1#2', reason: 'refused' });
    host.advanceMs(1_000);
    expect(host.outputsOf('reject')).toEqual([expect.objectContaining({ code: 'solec.unsent' })]);
    expect(host.stateOf('solec.client alice@a.test')).toBe('closed');
  });

  it('does not reconnect after a logout or a refused first login', () => {
    const first = client();
    first.node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    first.reply({ type: 'success' });
    first.node.handle({ kind: 'command', command: { type: 'logout' } });
    first.host.advanceMs(60_000);
    expect(first.host.outputsOf('connect')).toHaveLength(1);
    const refused = client();
    refused.node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    refused.reply({ type: 'error', code: 1 });
    refused.host.advanceMs(60_000);
    expect(refused.host.outputsOf('connect')).toHaveLength(1);
  });

  it('writes time 0 for a clock that reads before the epoch, which the server accepts (spec §2.2)', () => {
    const { host, node, reply } = client();
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    reply({ type: 'success' });
    host.take();
    host.nowMs = -4_500;
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'early' } });
    // `written` decodes as the server does: before the fix this was `message.time-range`.
    const [message] = written(host.take(), 'c2s:1', 'client');
    expect(message).toMatchObject({ type: 'message', timeMs: 0, body: 'early' });
  });

  it('closes a frame left unfinished for frameTimeoutMs, reconnects and resends the unanswered Message (spec §2.3, §4.1)', () => {
    const { host, node, reply } = client({ retryMs: 200 });
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    reply({ type: 'success' });
    host.take();
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'waiting' } });
    const [sent] = written(host.take(), 'c2s:1', 'client');
    // Half of a pushed Message, and the rest never comes.
    node.handle({ kind: 'conn.data', conn: 'c2s:1', bytes: frames(push('cut')).subarray(0, 12) });
    host.advanceMs(499);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'frame.stalled' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 'c2s:1' });
    expect(host.outputsOf('reject').map((r) => r.code)).not.toContain('solec.unsent');
    host.advanceMs(200);
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'c2s:1#2', target: { host: 'a.test', port: 7000 } }]);
    node.handle({ kind: 'conn.opened', conn: 'c2s:1#2' });
    host.take();
    node.handle({ kind: 'conn.data', conn: 'c2s:1#2', bytes: frames({ type: 'success' }) });
    expect(written(host.take(), 'c2s:1#2', 'client')).toEqual([sent]);
  });

  it('refuses at once a Success whose header announces a payload (payload.not-empty), and reconnects', () => {
    const { host, node, reply } = client({ retryMs: 200 });
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    reply({ type: 'success' });
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'answered' } });
    host.take();
    // The Success of the fuzzer's seeds 1110, 1130, 1155 and 1192: its length byte flipped to 0xd7.
    node.handle({ kind: 'conn.data', conn: 'c2s:1', bytes: Uint8Array.of(0x01, 0x00, 0xd7) });
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'payload.not-empty' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 'c2s:1' });
    expect(host.stateOf('solec.client alice@a.test')).toBe('backingOff');
    expect(host.pendingTimers()).toBe(1);
  });

  it('closes on a payload a server may not send a client mid-session (UserAuth bytes)', () => {
    const { host, node } = client();
    node.handle({ kind: 'conn.opened', conn: 'c2s:1' });
    host.take();
    node.handle({
      kind: 'conn.data',
      conn: 'c2s:1',
      bytes: frames({ type: 'userAuth', username: 'x', password: 'y' }),
    });
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'direction.wrong' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 'c2s:1' });
  });
});

function relayingServer(profile: 'seed' | 'signed') {
  const host = new ManualHost('a.test', 'a.test', undefined, 5);
  const node = solec.createNode(
    host,
    config({
      role: 'server',
      profile,
      accounts: { alice: 'pa' },
      knownServers: [{ name: 'b.test', port: 7001 }],
      retryMs: 500,
      attemptsMax: 2,
    }),
  );
  node.start();
  host.take();
  const submit = (body: string) =>
    node.handle({ kind: 'command', command: { type: 'submit', from: 'alice@a.test', to: 'bob@b.test', body } });
  const reply = (conn: string, ...payloads: Payload[]) =>
    node.handle({ kind: 'conn.data', conn, bytes: frames(...payloads) });
  return { host, node, submit, reply };
}

const bodies = (payloads: Payload[]) => payloads.map((p) => (p.type === 'message' ? p.body : p.type));

describe('solec: server node: relay link to another server (ManualHost, seed §2.5 Server-Server)', () => {
  it('opens a link, holds messages during ServerAuth, then sends them one at a time', () => {
    const { host, node, submit, reply } = relayingServer('seed');
    submit('one');
    expect(host.take()).toEqual([{ kind: 'connect', conn: 's2s:1#1', target: { host: 'b.test', port: 7001 } }]);
    node.handle({ kind: 'conn.opened', conn: 's2s:1#1' });
    submit('two');
    expect(written(host.take(), 's2s:1#1', 'server')).toEqual([
      { type: 'handshake', verMajor: 0, verMinor: 4, connType: 2 },
      { type: 'serverAuth', name: 'a.test' },
    ]);
    reply('s2s:1#1', { type: 'success' });
    expect(bodies(written(host.take(), 's2s:1#1', 'server'))).toEqual(['one']);
    reply('s2s:1#1', { type: 'success' });
    expect(bodies(written(host.take(), 's2s:1#1', 'server'))).toEqual(['two']);
  });

  it('on Error 0x03 rejects everything queued as solec.server-auth-failed and never sends it', () => {
    const { host, node, submit, reply } = relayingServer('seed');
    submit('one');
    node.handle({ kind: 'conn.opened', conn: 's2s:1#1' });
    host.take();
    reply('s2s:1#1', { type: 'error', code: 3 });
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'solec.server-auth-failed' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 's2s:1#1' });
    expect(writtenTypes(outputs, 's2s:1#1', 'server')).toEqual([]);
    host.advanceMs(60_000);
    expect(host.outputsOf('connect')).toEqual([]);
  });

  it("signed profile: answers the Challenge with a Proof that verifies under a.test's published key", () => {
    const { host, node, submit, reply } = relayingServer('signed');
    submit('one');
    node.handle({ kind: 'conn.opened', conn: 's2s:1#1' });
    host.take();
    const nonce = Uint8Array.from({ length: 32 }, (_, i) => i);
    reply('s2s:1#1', { type: 'challenge', nonce });
    const [proof] = written(host.take(), 's2s:1#1', 'server');
    expect(proof?.type).toBe('proof');
    const signature = proof?.type === 'proof' ? proof.signature : new Uint8Array(0);
    const { publicKey } = serverKeys(5, 'a.test');
    expect(verifyChallenge(publicKey, challengeText(nonce, 'a.test', 'b.test'), signature)).toBe(true);
    expect(verifyChallenge(publicKey, challengeText(nonce, 'a.test', 'c.test'), signature)).toBe(false);
  });

  it('resends the message in flight on a new connection after a reset, with backoff (retryMs 500)', () => {
    const { host, node, submit, reply } = relayingServer('seed');
    submit('one');
    node.handle({ kind: 'conn.opened', conn: 's2s:1#1' });
    reply('s2s:1#1', { type: 'success' });
    host.take();
    node.handle({ kind: 'conn.closed', conn: 's2s:1#1', reason: 'reset' });
    host.advanceMs(499);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    expect(host.take()).toEqual([{ kind: 'connect', conn: 's2s:1#2', target: { host: 'b.test', port: 7001 } }]);
    node.handle({ kind: 'conn.opened', conn: 's2s:1#2' });
    reply('s2s:1#2', { type: 'success' });
    expect(bodies(written(host.take(), 's2s:1#2', 'server'))).toEqual(['handshake', 'serverAuth', 'one']);
  });

  it('closes a link whose frame stays unfinished for frameTimeoutMs and resends on a new connection', () => {
    const { host, node, submit, reply } = relayingServer('seed');
    submit('one');
    node.handle({ kind: 'conn.opened', conn: 's2s:1#1' });
    reply('s2s:1#1', { type: 'success' });
    expect(bodies(written(host.take(), 's2s:1#1', 'server'))).toEqual(['handshake', 'serverAuth', 'one']);
    // The first byte of the answer, and nothing more.
    node.handle({ kind: 'conn.data', conn: 's2s:1#1', bytes: Uint8Array.of(0x01) });
    host.advanceMs(500);
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'frame.stalled' }));
    expect(outputs).toContainEqual({ kind: 'close', conn: 's2s:1#1' });
    host.advanceMs(500);
    expect(host.take()).toContainEqual(expect.objectContaining({ kind: 'connect', conn: 's2s:1#2' }));
    node.handle({ kind: 'conn.opened', conn: 's2s:1#2' });
    reply('s2s:1#2', { type: 'success' });
    expect(bodies(written(host.take(), 's2s:1#2', 'server'))).toEqual(['handshake', 'serverAuth', 'one']);
  });

  it('gives up after attemptsMax (2) refused connects and rejects the queue as solec.unreachable', () => {
    const { host, node, submit } = relayingServer('seed');
    submit('one');
    node.handle({ kind: 'conn.failed', conn: 's2s:1#1', reason: 'refused' });
    host.advanceMs(500);
    node.handle({ kind: 'conn.failed', conn: 's2s:1#2', reason: 'refused' });
    expect(host.take()).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'solec.unreachable' }));
  });

  it('answers a local submit to an unknown server with a reject (Error 0x02, ours: relays only to known servers)', () => {
    const { host, node } = relayingServer('seed');
    node.handle({
      kind: 'command',
      command: { type: 'submit', from: 'alice@a.test', to: 'x@nowhere.test', body: 'x' },
    });
    expect(host.take()).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'solec.not-routed' }));
  });
});
