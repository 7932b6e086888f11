// Goal: the F140 node's HTTP codec works on raw socket bytes with a real HTTP client, so the real host
// (src/real, someone else's) can bind the same node to node:net and curl can talk to it.
// Method: a minimal test-only adapter binds one node's connections to a node:net server on a loopback
// port (wall clock, real timers); Node's own http client sends GET and POST calls, mixed case, and a
// malformed body, and the test checks status codes and result forms.
import { request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f140 } from '../../../src/protocols/f140/index.js';
import { encodeBasicMessage, encodeForm } from '../../../src/protocols/f140/wire.js';
import { Prng } from '../../../src/core/prng.js';
import { MemoryStore, type NodeHost, type ProtocolNode } from '../../../src/protocols/protocol.js';
import { nodeConfig, pairFor } from './harness.js';

const alice = 'alice@a.test';
const bob = 'bob@b.test';

let server: Server;
let port = 0;
let node: ProtocolNode;
const delivered: string[] = [];
const sockets = new Map<string, Socket>();

beforeAll(async () => {
  const host: NodeHost = {
    id: 'b.test',
    hostName: '127.0.0.1',
    now: () => Date.now(),
    clock: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    random: new Prng(1, 'node:b.test'),
    store: new MemoryStore(),
    stateChanged: () => undefined,
    emit: (output) => {
      if (output.kind === 'write') sockets.get(output.conn)?.write(output.bytes);
      if (output.kind === 'close') sockets.get(output.conn)?.end();
      if (output.kind === 'deliver') delivered.push(`${output.from}>${output.user}:${output.body}`);
    },
  };
  node = f140.createNode(
    host,
    nodeConfig({ [bob]: { friends: [{ user: alice, host: 'a.test' }] } }, { announce: false }),
  );
  let next = 0;
  server = createServer((socket) => {
    const conn = `in:${++next}`;
    sockets.set(conn, socket);
    node.handle({ kind: 'conn.accepted', conn, local: { host: '127.0.0.1', port }, remote: '127.0.0.1' });
    socket.on('data', (data) => node.handle({ kind: 'conn.data', conn, bytes: new Uint8Array(data) }));
    socket.on('close', () => {
      sockets.delete(conn);
      node.handle({ kind: 'conn.closed', conn, reason: 'closed' });
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  node.start();
});

afterAll(async () => {
  node.stop();
  for (const socket of sockets.values()) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function call(
  method: string,
  path: string,
  body?: string,
  contentType?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          ...(body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }),
          ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('f140: loopback (node:net + node:http client)', () => {
  it('answers a mixed-case GET PING with the agreed response', async () => {
    const query = encodeForm([
      ['Command', 'Ping'],
      ['FROM_USER', alice],
      ['Challenge', pairFor(alice, bob).challenge],
      ['To_User', bob],
    ]);
    const answer = await call('GET', `/apps/F140/F140Service.html?${query}`);
    expect(answer).toEqual({ status: 200, body: encodeForm([['response', pairFor(alice, bob).response]]) });
  });

  it('delivers a POST MSG and refuses a wrong challenge with 403', async () => {
    const fields = (challenge: string) =>
      encodeForm([
        ['command', 'MSG'],
        ['from_user', alice],
        ['challenge', challenge],
        ['to_user', bob],
        ['msg_id', 'loop#1'],
        ['message', encodeBasicMessage('over a real socket')],
      ]);
    const form = 'application/x-www-form-urlencoded';
    expect((await call('POST', '/f140', fields(pairFor(alice, bob).challenge), form)).status).toBe(200);
    const refused = await call('POST', '/f140', fields('wrong'), form);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/^error=refused&/);
    expect(delivered).toEqual([`${alice}>${bob}:over a real socket`]);
  });

  it('answers malformed bodies and methods with 400, 415 and 405', async () => {
    expect((await call('POST', '/f140', 'command=PI%ZZ', 'application/x-www-form-urlencoded')).status).toBe(400);
    expect((await call('POST', '/f140', '{"command":"PING"}', 'application/json')).status).toBe(415);
    expect((await call('DELETE', '/f140')).status).toBe(405);
  });
});
