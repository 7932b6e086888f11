// Goal: an F140 node's HTTP service answers PING and MSG as spec.md §2 and §4 say: friends are
// accepted with their agreed response, everyone else is refused with 403 and nothing is delivered,
// bad requests get the HTTP status spec.md §2.3 names, and no byte sequence makes the node throw.
// Method: one node on a ManualHost; the test plays the HTTP client by feeding raw request bytes on
// accepted connections and reading the response bytes the node writes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f140 } from '../../../src/protocols/f140/index.js';
import { decodedRequest } from '../../../src/protocols/f140/server.js';
import { encodeBasicMessage, encodeForm } from '../../../src/protocols/f140/wire.js';
import { ManualHost } from '../../support/manual-host.js';
import { bytes, get, nodeConfig, pairFor, parseResponse, post, serveRaw } from './harness.js';

const alice = 'alice@a.test';
const bob = 'bob@b.test';
const carol = 'carol@c.test';

function bobNode(extra: Record<string, unknown> = {}) {
  const host = new ManualHost('b.test');
  const config = nodeConfig({ [bob]: { friends: [{ user: alice, host: 'a.test' }] } }, { announce: false, ...extra });
  const node = f140.createNode(host, config);
  node.start();
  return { host, node };
}

function msgForm(overrides: Record<string, string> = {}): string {
  return encodeForm(
    Object.entries({
      command: 'MSG',
      from_user: alice,
      challenge: pairFor(alice, bob).challenge,
      to_user: bob,
      msg_id: 'a.test#1',
      message: encodeBasicMessage('hello bob'),
      ...overrides,
    }),
  );
}

describe('f140: server (one node, ManualHost)', () => {
  it('listens on port 8140 by default (spec.md §2.1, ours)', () => {
    const host = new ManualHost('b.test');
    f140.createNode(host, f140.configSchema.parse({})).start();
    expect(host.take()).toEqual([{ kind: 'listen', endpoint: { host: 'b.test', port: 8140 } }]);
  });

  it('accepts a PING from a friend by GET with mixed-case command and argument names (F140 §2.1)', () => {
    const { host, node } = bobNode();
    const query = encodeForm([
      ['CoMMand', 'ping'],
      ['From_User', alice],
      ['CHALLENGE', pairFor(alice, bob).challenge],
      ['to_USER', bob],
    ]);
    const { written, outputs } = serveRaw(host, node, get(query));
    expect(parseResponse(written)).toEqual({
      status: 200,
      body: encodeForm([['response', pairFor(alice, bob).response]]),
    });
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'note', what: 'f140.ping.accepted' }));
  });

  it('delivers a MSG from a friend by POST once, and accepts a repeated msg_id without delivering it again', () => {
    const { host, node } = bobNode();
    const first = serveRaw(host, node, post(msgForm()), 'in:1');
    expect(parseResponse(first.written).status).toBe(200);
    expect(parseResponse(first.written).body).toBe(encodeForm([['response', pairFor(alice, bob).response]]));
    expect(first.outputs.filter((o) => o.kind === 'deliver')).toEqual([
      { kind: 'deliver', user: bob, from: alice, body: 'hello bob', id: 'a.test#1' },
    ]);
    const again = serveRaw(host, node, post(msgForm()), 'in:2');
    expect(parseResponse(again.written).status).toBe(200);
    expect(again.outputs.filter((o) => o.kind === 'deliver')).toEqual([]);
    expect(again.outputs).toContainEqual(expect.objectContaining({ kind: 'note', what: 'f140.msg.duplicate' }));
  });

  it('refuses a wrong challenge, an unknown to_user and a stranger alike with 403 and delivers nothing', () => {
    const { host, node } = bobNode();
    const cases: Record<string, string>[] = [
      { challenge: 'guess' },
      { to_user: 'nobody@b.test' },
      { from_user: carol, challenge: pairFor(carol, bob).challenge },
      // Alice's pair for calls the other way round is not the one for calls to bob.
      { challenge: pairFor(bob, alice).challenge },
    ];
    cases.forEach((overrides, i) => {
      const { written, outputs } = serveRaw(host, node, post(msgForm(overrides)), `in:${i + 1}`);
      const response = parseResponse(written);
      expect(response.status).toBe(403);
      expect(response.body).toMatch(/^error=refused&/);
      expect(response.body).not.toContain('response=');
      expect(outputs.some((o) => o.kind === 'deliver')).toBe(false);
      expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'f140.refused' }));
    });
  });

  it('enforces the 140-character rule in code points: 140 emoji pass, 141 get 422 (spec.md §3.4)', () => {
    const { host, node } = bobNode();
    const ok = serveRaw(
      host,
      node,
      post(msgForm({ message: encodeBasicMessage('😀'.repeat(140)), msg_id: 'x1' })),
      'in:1',
    );
    expect(parseResponse(ok.written).status).toBe(200);
    const long = serveRaw(
      host,
      node,
      post(msgForm({ message: encodeBasicMessage('a'.repeat(141)), msg_id: 'x2' })),
      'in:2',
    );
    expect(parseResponse(long.written)).toMatchObject({ status: 422 });
    expect(parseResponse(long.written).body).toMatch(/^error=too-long/);
    expect(long.outputs.some((o) => o.kind === 'deliver')).toBe(false);
  });

  it.each([
    ['unknown command', 400, 'unknown-command', post(msgForm({ command: 'FETCH' }))],
    ['missing command', 400, 'missing-argument', post(encodeForm([['from_user', alice]]))],
    [
      'MSG without message',
      400,
      'missing-argument',
      post(
        encodeForm([
          ['command', 'msg'],
          ['from_user', alice],
          ['challenge', 'x'],
          ['to_user', bob],
        ]),
      ),
    ],
    ['PUT', 405, 'method-not-allowed', 'PUT /f140 HTTP/1.1\r\nHost: b.test\r\nContent-Length: 0\r\n\r\n'],
    ['garbage request line', 400, 'bad-request', 'HELLO THERE\r\n\r\n'],
    ['HTTP/2.0', 505, 'bad-request', 'GET / HTTP/2.0\r\nHost: b\r\n\r\n'],
    ['HTTP/1.1 without Host', 400, 'bad-request', 'GET /?command=PING HTTP/1.1\r\n\r\n'],
    ['chunked body', 501, 'bad-request', 'POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['body over 16 KiB', 413, 'bad-request', 'POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 99999\r\n\r\n'],
    ['JSON body', 415, 'bad-request', post('{"command":"PING"}', ['Content-Type: application/json'])],
    ['bad percent escape', 400, 'bad-request', post('command=PI%ZZNG')],
    ['duplicate argument', 400, 'bad-request', post('command=PING&COMMAND=MSG')],
    ['malformed XML', 400, 'bad-message', post(msgForm({ message: '<msg kind="basic"><text>a<b</text></msg>' }))],
    [
      'unsupported kind',
      415,
      'unsupported-message',
      post(msgForm({ message: '<msg kind="rich"><text>a</text></msg>' })),
    ],
    ['plain-text message', 415, 'unsupported-message', post(msgForm({ message: 'hello' }))],
    [
      'bad reply_to',
      400,
      'bad-argument',
      post(
        encodeForm([
          ['command', 'PING'],
          ['from_user', alice],
          ['challenge', pairFor(alice, bob).challenge],
          ['to_user', bob],
          ['reply_to', 'nope'],
        ]),
      ),
    ],
  ])('answers a bad request (%s) with HTTP %i and error=%s, delivering nothing', (_name, status, code, request) => {
    const { host, node } = bobNode();
    const { written, outputs } = serveRaw(host, node, request);
    const response = parseResponse(written);
    expect(response.status).toBe(status);
    expect(response.body.startsWith(`error=${code}&reason=`)).toBe(true);
    expect(outputs.some((o) => o.kind === 'deliver')).toBe(false);
    if (status === 405) expect(written).toContain('Allow: GET, POST');
  });

  it('closes the connection after a request it cannot frame, and ignores bytes after that', () => {
    const { host, node } = bobNode();
    const { outputs } = serveRaw(host, node, 'NOT HTTP\r\n\r\n');
    expect(outputs.map((o) => o.kind)).toEqual(['reject', 'write', 'close']);
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: bytes(get('command=PING')) });
    expect(host.take()).toEqual([]);
  });

  it('answers two pipelined requests on one keep-alive connection in order, then closes on Connection: close', () => {
    const { host, node } = bobNode();
    const ping = encodeForm([
      ['command', 'PING'],
      ['from_user', alice],
      ['challenge', pairFor(alice, bob).challenge],
      ['to_user', bob],
    ]);
    const second = post(msgForm(), ['Content-Type: application/x-www-form-urlencoded', 'Connection: close']);
    const { written, outputs } = serveRaw(host, node, get(ping) + second);
    expect(written.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(outputs.map((o) => o.kind)).toEqual(['note', 'write', 'deliver', 'write', 'close']);
  });

  it('answers a good pipelined request before refusing the garbage that follows it in the same chunk', () => {
    const { host, node } = bobNode();
    const { written, outputs } = serveRaw(host, node, post(msgForm()) + 'GARBAGE\r\n\r\n');
    expect(written.match(/HTTP\/1\.1 (\d{3})/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 400']);
    expect(outputs.filter((o) => o.kind === 'deliver')).toHaveLength(1);
    expect(outputs.at(-1)).toEqual({ kind: 'close', conn: 'in:1' });
  });

  it('reads a request split into one-byte chunks exactly as if it came whole', () => {
    const { host, node } = bobNode();
    host.take();
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'b.test', port: 8140 }, remote: 'a.test' });
    for (const byte of bytes(post(msgForm())))
      node.handle({ kind: 'conn.data', conn: 'in:1', bytes: new Uint8Array([byte]) });
    expect(host.outputsOf('deliver')).toHaveLength(1);
    expect(host.outputsOf('write')).toHaveLength(1);
  });

  it('closes an idle inbound connection after idleMs (idleMs=5000, ours)', () => {
    const { host, node } = bobNode({ idleMs: 5_000 });
    host.take();
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'b.test', port: 8140 }, remote: 'a.test' });
    expect(host.stateOf('f140.session in:1')).toBe('open');
    host.advanceMs(4_999);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    expect(host.take()).toEqual([{ kind: 'close', conn: 'in:1' }]);
    expect(host.stateOf('f140.session in:1')).toBe('closed');
  });

  it('never throws and never delivers on arbitrary bytes, chunked arbitrarily (byte fuzz, 300 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.constantFrom(
              ...['GET / HTTP/1.1\r\n', 'Host: b\r\n', '\r\n', 'Content-Length: 5\r\n', 'command=MSG&'].map(bytes),
            ),
          ),
          { maxLength: 12 },
        ),
        (chunks) => {
          const { host, node } = bobNode();
          node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'b.test', port: 8140 }, remote: 'x' });
          for (const chunk of chunks) node.handle({ kind: 'conn.data', conn: 'in:1', bytes: chunk });
          expect(host.outputsOf('deliver')).toEqual([]);
          for (const write of host.outputsOf('write'))
            expect(new TextDecoder().decode(write.bytes)).toMatch(/^HTTP\/1\.1 \d{3} /);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('f140: server: the request as the trace shows it', () => {
  // `decodedRequest` builds `{ method, ...Object.fromEntries(args) }` member by member: the same
  // members in the same order, an argument named `method` or `__proto__` included (the spread makes
  // `__proto__` an own member and leaves the prototype alone), integer-like names first.
  it('is the spread of the arguments after the method (property, 300 runs)', () => {
    const name = fc.oneof(
      fc.constantFrom('method', '__proto__', 'command', '0', '10', '2', 'to_user', 'constructor'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST'),
        fc.array(fc.tuple(name, fc.string({ maxLength: 6 }))),
        (method, pairs) => {
          const args = new Map(pairs);
          const expected: Record<string, string> = { method, ...Object.fromEntries(args) };
          const decoded = decodedRequest(method, args);
          expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
          expect(Object.keys(decoded)).toEqual(Object.keys(expected));
          expect(JSON.stringify(decoded)).toBe(JSON.stringify(expected));
        },
      ),
      { numRuns: 300, seed: 20261123 },
    );
  });
});
