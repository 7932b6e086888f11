// Goal: the SOLEC server node the simulator runs also serves real TCP clients: a raw-byte client
// logs in and exchanges Messages over loopback, and malformed frames (oversize length, unknown
// type, wrong-direction payload, truncated frame, garbage) close only their own connection, never
// the server: after each, a fresh connection still logs in. `fedsim serve solec` does the same as
// a child process.
// Method: RealHost in-process on 127.0.0.1 with `portMap: { 7000: 0 }` (a free port), and the CLI
// spawned with a temporary config; every socket operation has its own timeout and awaits an
// event (data, close, a printed line), never a sleep; hosts, sockets and the child are closed in
// afterEach/finally.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealHost } from '../../../src/real/host.js';
import { solec } from '../../../src/protocols/solec/index.js';
import { decodePayload, encodeFrame, FrameDecoder, type Payload } from '../../../src/protocols/solec/wire.js';
import { root } from '../../support/fedsim.js';
import { within } from '../../support/within.js';

/** Generous for loopback on a loaded machine; an operation that takes longer is a failure, not a wait. */
const operationMs = 5_000;

function bytesOf(...payloads: Payload[]): Uint8Array {
  return Uint8Array.from(payloads.flatMap((payload) => [...encodeFrame(payload)]));
}

/** A raw SOLEC client over one socket: writes bytes, reads decoded payloads (as sent by a server). */
class RawClient {
  private readonly decoder = new FrameDecoder(0xffff);
  private readonly payloads: Payload[] = [];
  private waiter: (() => void) | undefined;
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const frames = this.decoder.push(new Uint8Array(chunk));
      if (!frames.ok) throw new Error(`server wrote a bad frame: ${frames.error.message}`);
      for (const frame of frames.value) {
        const payload = decodePayload(frame, 'server');
        if (!payload.ok) throw new Error(`server wrote a bad payload: ${payload.error.message}`);
        this.payloads.push(payload.value);
      }
      this.waiter?.();
    });
    socket.on('error', () => undefined); // A reset shows as the close that follows.
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    try {
      await within(
        operationMs,
        `connect to 127.0.0.1:${port}`,
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        }),
      );
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return new RawClient(socket);
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next payload from the server; fails if the connection closes first or nothing comes in time. */
  async next(what: string): Promise<Payload> {
    await within(
      operationMs,
      what,
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (this.payloads.length > 0) resolve();
          else if (this.closedFlag) reject(new Error(`connection closed while waiting for ${what}`));
          else this.waiter = check;
        };
        check();
      }),
    );
    this.waiter = undefined;
    const payload = this.payloads.shift();
    if (!payload) throw new Error(`no payload for ${what}`);
    return payload;
  }

  /** Waits until the server closes the connection; returns what it wrote before that. */
  async serverCloses(what: string): Promise<Payload[]> {
    await within(operationMs, `the server closes the connection after ${what}`, this.closed);
    return this.payloads.splice(0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const handshake: Payload = { type: 'handshake', verMajor: 0, verMinor: 4, connType: 1 };

async function login(port: number, username: string, password: string): Promise<RawClient> {
  const client = await RawClient.open(port);
  client.write(bytesOf(handshake, { type: 'userAuth', username, password }));
  expect(await client.next(`Success for ${username}'s login`)).toEqual({ type: 'success' });
  return client;
}

const serverConfig = solec.configSchema.parse({ role: 'server', accounts: { bob: 'pb', carol: 'pc' } });

describe('solec: real sockets (RealHost on 127.0.0.1)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startServer(): Promise<{ host: RealHost; port: number }> {
    const host = new RealHost({
      trace: 'memory',
      id: 'b.test',
      protocol: solec,
      config: serverConfig,
      portMap: { 7000: 0 },
      seed: 1,
    });
    cleanups.push(() => host.close());
    const listening = await within(operationMs, 'RealHost.start', host.start());
    const port = listening[0]?.port;
    if (port === undefined) throw new Error('the server listens nowhere');
    return { host, port };
  }

  function track(client: RawClient): RawClient {
    cleanups.push(() => client.destroy());
    return client;
  }

  it('logs two clients in and exchanges a Message between them (SOLEC §4)', async () => {
    const { host, port } = await startServer();
    const bob = track(await login(port, 'bob', 'pb'));
    const carol = track(await login(port, 'carol', 'pc'));
    const message: Payload = {
      type: 'message',
      id: '00000000000000aa',
      from: 'bob@b.test',
      to: 'carol@b.test',
      timeMs: 1,
      body: 'over real TCP',
    };
    bob.write(bytesOf(message));
    expect(await bob.next('Success for the Message')).toEqual({ type: 'success' });
    expect(await carol.next('the pushed Message')).toEqual(message);
    // An unknown recipient gets Error 0x02 and the connection stays usable.
    bob.write(bytesOf({ ...message, id: '00000000000000ab', to: 'nobody@b.test' }));
    expect(await bob.next('Error for an unknown user')).toEqual({ type: 'error', code: 2 });
    expect(host.view()).toMatchObject({ role: 'server', online: ['bob', 'carol'] });
  });

  it('answers a bad password with Error 0x01 and closes (SOLEC §4)', async () => {
    const { port } = await startServer();
    const client = track(await RawClient.open(port));
    client.write(bytesOf(handshake, { type: 'userAuth', username: 'bob', password: 'guess' }));
    expect(await client.serverCloses('a bad password')).toEqual([{ type: 'error', code: 1 }]);
  });

  const malformed: readonly { readonly name: string; readonly bytes: Uint8Array; readonly endAfter?: boolean }[] = [
    // Announces 65535 bytes: refused from the header alone, nothing buffered.
    { name: 'oversize length', bytes: Uint8Array.of(0x03, 0xff, 0xff, 0x00) },
    { name: 'unknown type 0x42', bytes: Uint8Array.of(0x42, 0x00, 0x00) },
    { name: 'reserved type 0xFF', bytes: Uint8Array.of(0xff, 0x00, 0x00) },
    // Error (server only) from a client.
    { name: 'wrong-direction Error', bytes: bytesOf({ type: 'error', code: 1 }) },
    // ServerAuth on a user-to-server connection.
    {
      name: 'wrong-direction ServerAuth',
      bytes: bytesOf(handshake, { type: 'serverAuth', name: 'a.test' }),
    },
    { name: 'non-empty Success', bytes: Uint8Array.of(0x01, 0x00, 0x01, 0x00) },
    // Half a Handshake, then the client closes its side: the server must not wait for the rest.
    { name: 'truncated frame', bytes: encodeFrame(handshake).slice(0, 4), endAfter: true },
    { name: 'garbage', bytes: new TextEncoder().encode('GET / HTTP/1.1\r\nHost: b.test\r\n\r\n') },
  ];

  for (const { name, bytes, endAfter } of malformed) {
    it(`closes the connection on ${name} and keeps serving (SOLEC §2.3)`, async () => {
      const { port } = await startServer();
      const client = track(await RawClient.open(port));
      client.write(bytes);
      if (endAfter) client.socket.end();
      expect(await client.serverCloses(name)).toEqual([]);
      const fresh = track(await login(port, 'bob', 'pb'));
      fresh.socket.end();
      await fresh.serverCloses('the client closes');
    });
  }

  it('survives every malformed frame on one server in a row, then logs in', async () => {
    const { host, port } = await startServer();
    for (const { name, bytes, endAfter } of malformed) {
      const client = track(await RawClient.open(port));
      client.write(bytes);
      if (endAfter) client.socket.end();
      expect(await client.serverCloses(name), name).toEqual([]);
    }
    track(await login(port, 'carol', 'pc'));
    expect(host.trace.events.filter((event) => event.kind === 'check')).toEqual([]);
  });
});

describe('solec: fedsim serve (child process)', () => {
  it('serves on the port it prints, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'solec-serve-'));
    const configFile = join(dir, 'serve.yaml');
    writeFileSync(
      configFile,
      ['id: b.test', 'config: { role: server, accounts: { bob: pb } }', 'ports: { 7000: 0 }', 'seed: 1', ''].join('\n'),
    );
    let child: ChildProcess | undefined;
    let client: RawClient | undefined;
    try {
      const spawned = spawn(
        process.execPath,
        [join(root, 'bin', 'fedsim.mjs'), 'serve', 'solec', '--config', configFile],
        {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child = spawned;
      const exited = new Promise<number | null>((resolve) => spawned.once('exit', (code) => resolve(code)));
      let output = '';
      const port = await within(
        // Starting the CLI in a child (a build first, when the sources changed) takes seconds on a slow machine.
        20_000,
        'fedsim serve prints its port',
        new Promise<number>((resolve, reject) => {
          spawned.stdout?.on('data', (chunk: Buffer) => {
            output += chunk.toString('utf8');
            const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
            if (match?.[1]) resolve(Number(match[1]));
          });
          spawned.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
          spawned.once('exit', (code) =>
            reject(new Error(`fedsim serve exited (${code}) before listening:\n${output}`)),
          );
        }),
      );
      client = await login(port, 'bob', 'pb');
      client.write(
        bytesOf({
          type: 'message',
          id: '0000000000000001',
          from: 'bob@b.test',
          to: 'bob@b.test',
          timeMs: 1,
          body: 'hi',
        }),
      );
      expect(await client.next('Success for the Message')).toEqual({ type: 'success' });
      expect(await client.next('the Message pushed back')).toMatchObject({ type: 'message', body: 'hi' });
      spawned.kill('SIGTERM');
      expect(await within(operationMs, 'fedsim serve exits on SIGTERM', exited)).toBe(0);
      await within(operationMs, 'the connection closes when the server stops', client.closed);
    } finally {
      client?.destroy();
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
