// Goal: the F140 node the simulator runs also works on real sockets: bound by RealHost to a loopback
// port, it answers a plain HTTP client's GET and POST calls (mixed-case command and argument names),
// refuses malformed bodies and bad requests with the statuses of spec.md §2.3, pushes a friend's
// message to another RealHost node, and runs as `fedsim serve f140` in a child process.
// Method: RealHost on 127.0.0.1 with `portMap: { 8140: 0 }`; node's http.request (one connection per
// call, `agent: false`) or a raw node:net socket for what http.request will not send. Every wait
// has its own timeout and awaits an event, never a sleep; every host, socket and child is closed in
// afterEach / finally.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { f140 } from '../../../src/protocols/f140/index.js';
import { encodeBasicMessage, encodeForm } from '../../../src/protocols/f140/wire.js';
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import { RealHost } from '../../../src/real/host.js';
import { root } from '../../support/fedsim.js';
import { within } from '../../support/within.js';
import { nodeConfig, pairFor } from './harness.js';

const alice = 'alice@a.test';
const bob = 'bob@b.test';
/** Per socket operation: generous for a slow CI machine, short enough to fail fast on a hang. */
const operationMs = 5_000;
const formType = 'application/x-www-form-urlencoded';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One HTTP call on its own connection; rejects after `operationMs` instead of hanging. */
function call(
  port: number,
  method: string,
  path: string,
  options: { body?: string; contentType?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          ...(options.body === undefined ? {} : { 'Content-Length': Buffer.byteLength(options.body) }),
          ...(options.contentType === undefined ? {} : { 'Content-Type': options.contentType }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(operationMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${operationMs} ms`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Writes raw bytes on a fresh connection and reads until the server closes it. */
function rawCall(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => socket.destroy(new Error(`raw call: no close in ${operationMs} ms`)), operationMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(bytes, 'latin1'));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

function msgForm(fields: { challenge?: string; id?: string; text?: string; names?: 'lower' | 'mixed' } = {}): string {
  const mixed = fields.names === 'mixed';
  return encodeForm([
    [mixed ? 'COMMAND' : 'command', mixed ? 'Msg' : 'MSG'],
    [mixed ? 'From_User' : 'from_user', alice],
    [mixed ? 'CHALLENGE' : 'challenge', fields.challenge ?? pairFor(alice, bob).challenge],
    [mixed ? 'to_USER' : 'to_user', bob],
    ...(fields.id === undefined ? [] : [[mixed ? 'Msg_Id' : 'msg_id', fields.id] as const]),
    [mixed ? 'Message' : 'message', encodeBasicMessage(fields.text ?? 'hello')],
  ]);
}

describe('f140: real sockets (RealHost on loopback)', () => {
  let host: RealHost | undefined;
  let port = 0;
  let outputs: NodeOutput[] = [];

  beforeEach(async () => {
    outputs = [];
    host = new RealHost({
      trace: 'memory',
      id: 'b.test',
      protocol: f140,
      config: nodeConfig({ [bob]: { friends: [{ user: alice, host: 'a.test' }] } }, { announce: false }),
      portMap: { 8140: 0 },
      seed: 1,
      onOutput: (output) => outputs.push(output),
    });
    const listening = await host.start();
    port = listening[0]?.port ?? 0;
    expect(port).toBeGreaterThan(0);
  });

  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  const delivered = () => outputs.filter((o) => o.kind === 'deliver').map((o) => `${o.from}>${o.user}:${o.body}`);

  it('answers a GET PING with mixed-case command and argument names with 200 response=<agreed> (F140 §2.1)', async () => {
    const query = encodeForm([
      ['Command', 'Ping'],
      ['FROM_USER', alice],
      ['Challenge', pairFor(alice, bob).challenge],
      ['To_User', bob],
    ]);
    const answer = await call(port, 'GET', `/apps/F140/F140Service.html?${query}`);
    expect(answer).toEqual({ status: 200, body: encodeForm([['response', pairFor(alice, bob).response]]) });
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'note', what: 'f140.ping.accepted' }));
  });

  it('delivers a POST MSG with mixed-case names once, and answers a repeated msg_id without delivering again', async () => {
    const form = msgForm({ id: 'real#1', text: 'over a real socket', names: 'mixed' });
    const first = await call(port, 'POST', '/f140', { body: form, contentType: formType });
    const again = await call(port, 'POST', '/f140', { body: form, contentType: 'Application/X-WWW-Form-URLEncoded' });
    const expected = { status: 200, body: encodeForm([['response', pairFor(alice, bob).response]]) };
    expect([first, again]).toEqual([expected, expected]);
    expect(delivered()).toEqual([`${alice}>${bob}:over a real socket`]);
  });

  it.each([
    ['a wrong challenge', 403, 'refused', 'POST', msgForm({ challenge: 'guess' }), formType],
    ['a bad percent escape', 400, 'bad-request', 'POST', 'command=PI%ZZ', formType],
    ['a JSON body', 415, 'bad-request', 'POST', '{"command":"PING"}', 'application/json'],
    ['no command', 400, 'missing-argument', 'POST', 'from_user=x', formType],
    ['an unknown command', 400, 'unknown-command', 'POST', 'Command=Fetch', formType],
    ['a name given twice in two cases', 400, 'bad-request', 'POST', 'command=PING&COMMAND=MSG', formType],
    [
      'a message that is not XML',
      415,
      'unsupported-message',
      'POST',
      msgForm().replace(/message=.*$/, 'message=hi'),
      formType,
    ],
    ['141 characters', 422, 'too-long', 'POST', msgForm({ text: 'x'.repeat(141) }), formType],
    ['a DELETE', 405, 'method-not-allowed', 'DELETE', undefined, undefined],
  ] as const)(
    'answers %s with HTTP %i and error=%s (spec.md §2.3), delivering nothing',
    async (_what, status, error, method, body, contentType) => {
      const answer = await call(port, method, '/f140', {
        ...(body === undefined ? {} : { body }),
        ...(contentType === undefined ? {} : { contentType }),
      });
      expect(answer.status).toBe(status);
      expect(answer.body).toMatch(new RegExp(`^error=${error}&reason=`));
      expect(answer.body).not.toMatch(/response=/);
      expect(delivered()).toEqual([]);
    },
  );

  it('refuses what http.request will not send: no Host (400), chunked (501), HTTP/2.0 (505), then closes', async () => {
    const ping = encodeForm([['command', 'PING']]);
    const noHost = await rawCall(port, `GET /f140?${ping} HTTP/1.1\r\n\r\n`);
    const chunked = await rawCall(
      port,
      'POST /f140 HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    const version = await rawCall(port, `GET /f140?${ping} HTTP/2.0\r\nHost: b\r\n\r\n`);
    expect([noHost, chunked, version].map(statusOf)).toEqual([400, 501, 505]);
    expect(noHost).toMatch(/\r\n\r\nerror=bad-request&reason=/);
  });

  it('answers two pipelined requests in order on one connection, closing after the Connection: close one', async () => {
    const query = encodeForm([
      ['command', 'PING'],
      ['from_user', alice],
      ['challenge', pairFor(alice, bob).challenge],
      ['to_user', bob],
    ]);
    const response = await rawCall(
      port,
      `GET /f140?${query} HTTP/1.1\r\nHost: b\r\n\r\nGET /f140?${query}x HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n`,
    );
    expect(response.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 403']);
  });
});

describe('f140: real sockets (two RealHost nodes)', () => {
  it("pushes alice's message to bob's node over loopback: PING preflight, then MSG", async () => {
    let resolveDelivery: (output: NodeOutput) => void = () => undefined;
    const delivery = new Promise<NodeOutput>((resolve) => (resolveDelivery = resolve));
    const bobHost = new RealHost({
      trace: 'memory',
      id: 'b.test',
      protocol: f140,
      config: nodeConfig({ [bob]: { friends: [{ user: alice, host: 'a.test' }] } }, { announce: false }),
      portMap: { 8140: 0 },
      seed: 2,
      onOutput: (output) => {
        if (output.kind === 'deliver') resolveDelivery(output);
      },
    });
    let aliceHost: RealHost | undefined;
    try {
      const [bobListening] = await bobHost.start();
      aliceHost = new RealHost({
        trace: 'memory',
        id: 'a.test',
        protocol: f140,
        config: nodeConfig({ [alice]: { friends: [{ user: bob, host: 'b.test' }] } }, { announce: false }),
        portMap: { 8140: 0 },
        peers: { 'b.test:8140': bobListening?.address ?? '' },
        seed: 3,
      });
      await aliceHost.start();
      aliceHost.command({ type: 'send', from: alice, to: bob, text: 'across real sockets' });
      expect(await within(operationMs, 'a delivery to bob', delivery)).toMatchObject({
        kind: 'deliver',
        user: bob,
        from: alice,
        body: 'across real sockets',
        id: 'a.test#1',
      });
    } finally {
      await aliceHost?.close();
      await bobHost.close();
    }
  });
});

describe('f140: fedsim serve f140 (child process)', () => {
  it('prints its port, answers a PING, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'f140-serve-'));
    const file = join(dir, 'b.yaml');
    const config = nodeConfig({ [bob]: { friends: [{ user: alice, host: 'a.test' }] } }, { announce: false });
    writeFileSync(file, JSON.stringify({ id: 'b.test', config, ports: { 8140: 0 }, seed: 1 }));
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [join(root, 'bin', 'fedsim.mjs'), 'serve', 'f140', '--config', file], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const started = child;
      let stdout = '';
      let stderr = '';
      started.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const port = await new Promise<number>((resolve, reject) => {
        // The CLI may build the sources on first start, so this wait is longer than one socket operation.
        const timer = setTimeout(() => reject(new Error(`no port in 30 s; stderr: ${stderr}`)), 30_000);
        started.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
        started.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`fedsim serve exited with ${code}; stderr: ${stderr}`));
        });
      });
      const query = encodeForm([
        ['COMMAND', 'ping'],
        ['from_user', alice],
        ['Challenge', pairFor(alice, bob).challenge],
        ['to_user', bob],
      ]);
      expect(await call(port, 'GET', `/?${query}`)).toEqual({
        status: 200,
        body: encodeForm([['response', pairFor(alice, bob).response]]),
      });
      const exited = new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no exit ${operationMs} ms after SIGTERM`)), operationMs);
        started.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
      started.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
