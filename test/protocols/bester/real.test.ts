// Goal: the Bester nodes the simulator runs also serve real sockets, unchanged: a server on TCP
// dispatches a typed message to a handler process listening on a real UNIX domain socket, the
// handler's sendClients reaches a second client as a receivedMessage and the sender hears `good`
// (spec.md §3, §4); bad frames (malformed JSON, negative length, missing fields) close only their
// own connection, silently, as the original does (§2, §3); a handler that is down gives `bad`
// within the handler timeout (§4); and `fedsim serve bester` does the same as two child processes.
// Method: the test plays the clients with raw node:net sockets and the node's own wire.ts
// (4-byte little-endian length + JSON). Server and handler run in separate RealHosts that share a
// temporary socketDir, so the handler's `{ path }` is a real socket file the server connects to.
// Every wait is on an event (a frame, a close, a printed line) with an explicit timeout, never a
// sleep; sockets, hosts, children and the temporary directory are released in afterEach/finally.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bester, configSchema } from '../../../src/protocols/bester/index.js';
import {
  authMessage,
  clientMessage,
  encodeFrame,
  FrameDecoder,
  parseJson,
  parseServerToClient,
  type Payload,
} from '../../../src/protocols/bester/wire.js';
import { RealHost, type RealHostOptions } from '../../../src/real/host.js';
import { root } from '../../support/fedsim.js';
import { within } from '../../support/within.js';

/** Per operation: generous for loopback on a loaded machine; a hang fails fast instead of waiting. */
const stepMs = 5_000;
/** Each child process may build the CLI (bin/build.mjs) and loads it before it listens. */
const childStartMs = 30_000;
/** The server's handler timeout (the spec.md §4 default); a refused handler must answer well within it. */
const handlerTimeoutMs = 5_000;
/** The handler timeout of the slow-handler test, short to keep the file fast. */
const slowTimeoutMs = 500;
/** Relative socket paths; RealHost puts them under the test's socketDir. */
const handlerPath = 'handlers/afrikaans.sock';
const downPath = 'handlers/down.sock';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh temporary directory for one test's UNIX sockets, removed afterwards. */
function socketDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bester-real-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A raw Bester client over one TCP socket: writes bytes, reads the server's frames as JSON. */
class RawClient {
  private readonly decoder = new FrameDecoder();
  private readonly frames: unknown[] = [];
  private waiter: (() => void) | undefined;
  private problem: Error | undefined;
  private closedFlag = false;
  /** The server ended the connection cleanly (FIN), as opposed to a reset. */
  ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const bodies = this.decoder.push(new Uint8Array(chunk));
      if (!bodies.ok) this.problem = new Error(`the server wrote a bad frame: ${bodies.error.code}`);
      else {
        for (const body of bodies.value) {
          const json = parseJson(body);
          if (json.ok) this.frames.push(json.value);
          else this.problem = new Error(`the server wrote a frame that is not JSON: ${json.error.code}`);
        }
      }
      this.waiter?.();
    });
    socket.on('end', () => (this.ended = true));
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
    const client = new RawClient(socket);
    cleanups.push(() => client.destroy());
    await within(
      stepMs,
      `connect to 127.0.0.1:${port}`,
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
    );
    return client;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(value: unknown): void {
    this.write(encodeFrame(value));
  }

  /** The next frame from the server; fails if the connection closes first or nothing comes in time. */
  async next(what: string, timeoutMs = stepMs): Promise<unknown> {
    await within(
      timeoutMs,
      what,
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (this.problem) reject(this.problem);
          else if (this.frames.length > 0) resolve();
          else if (this.closedFlag) reject(new Error(`connection closed while waiting for ${what}`));
          else this.waiter = check;
        };
        check();
      }),
    );
    this.waiter = undefined;
    return this.frames.shift();
  }

  /** Waits until the server closes the connection; returns the frames it wrote and had not been read. */
  async serverCloses(what: string): Promise<unknown[]> {
    await within(stepMs, `the server closes the connection after ${what}`, this.closed);
    if (this.problem) throw this.problem;
    return this.frames.splice(0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function status(value: 'good' | 'bad', id: string): unknown {
  return { header: { status: value, messageType: 'statusReport' }, payload: { id } };
}

/** Opens a connection and authenticates as `username` (spec.md §3: the answer is auth_special/good). */
async function login(port: number, username: string): Promise<RawClient> {
  const client = await RawClient.open(port);
  client.send(authMessage(username, 'secret'));
  const reply = await client.next(`auth_special for ${username}`);
  expect(reply).toEqual(status('good', 'auth_special'));
  expect(parseServerToClient(reply)).toEqual({
    ok: true,
    value: { kind: 'statusReport', status: 'good', id: 'auth_special' },
  });
  return client;
}

/** A frame with a true length around `text`, which need not be JSON. */
function frameOf(text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setInt32(0, body.length, true);
  frame.set(body, 4);
  return frame;
}

function typed(type: string, id: string, data: unknown): unknown {
  const payload: Payload = { type, id, data };
  return clientMessage(payload);
}

type HostExtra = Partial<Omit<RealHostOptions, 'id' | 'protocol' | 'config'>>;

async function startHost(id: string, config: Record<string, unknown>, extra: HostExtra): Promise<RealHost> {
  const host = new RealHost({
    trace: 'memory',
    id,
    hostName: 'b.test',
    protocol: bester,
    config: configSchema.parse(config),
    seed: 1,
    ...extra,
  });
  cleanups.push(() => host.close());
  await within(stepMs, `RealHost.start ${id}`, host.start());
  return host;
}

/** The handler of type `afrikaans`: sends `data` to the client named in `data.to` (blog Part 1). */
async function startHandler(socketDir: string, extra: Record<string, unknown> = {}): Promise<RealHost> {
  const handler = await startHost(
    'handler-afrikaans',
    { role: 'handler', path: handlerPath, rule: { command: 'sendClients', usernamesField: 'to' }, ...extra },
    { socketDir },
  );
  expect(handler.listening.map((listening) => listening.address)).toEqual([join(socketDir, handlerPath)]);
  return handler;
}

/** The server: `afrikaans` goes to the handler's path, `down` to a path nobody listens on. */
async function startServer(socketDir: string, timeoutMs = handlerTimeoutMs): Promise<{ host: RealHost; port: number }> {
  const host = await startHost(
    'b.test',
    {
      role: 'server',
      handlers: { afrikaans: { path: handlerPath }, down: { path: downPath } },
      handlerTimeoutMs: timeoutMs,
    },
    { socketDir, portMap: { 2223: 0 } },
  );
  const port = host.listening.find((listening) => listening.port !== undefined)?.port;
  if (port === undefined) throw new Error('the server listens on no TCP port');
  return { host, port };
}

/** Node code that threw on peer input shows as a `check` event in the real host's trace. */
function violations(host: RealHost): unknown[] {
  return host.trace.events.filter((event) => event.kind === 'check');
}

/** Alice sends a typed message for bob; bob gets it as a receivedMessage, alice gets `good`. */
async function exchange(alice: RawClient, bob: RawClient, id: string, text: string): Promise<void> {
  const data = { to: 'bob', text };
  alice.send(typed('afrikaans', id, data));
  expect(await bob.next(`bob receives ${id}`)).toEqual({
    header: { messageType: 'receivedMessage' },
    payload: { data, type: 'afrikaans' },
  });
  expect(await alice.next(`alice's status report for ${id}`)).toEqual(status('good', id));
}

describe('bester: real sockets (server on TCP, handler on a UNIX domain socket)', () => {
  it('dispatches a typed message to the handler process and delivers its sendClients (spec.md §3, §4)', async () => {
    const socketDir = socketDirectory();
    const handler = await startHandler(socketDir);
    const { host: server, port } = await startServer(socketDir);
    const alice = await login(port, 'alice');
    const bob = await login(port, 'bob');
    await exchange(alice, bob, 'm1', 'hallo wêreld');
    // A second message opens a second handler connection (one per message, §4).
    await exchange(alice, bob, 'm2', 'nog een');
    // The dummy type is answered by the server itself.
    alice.send(typed('dummy', 'd1', null));
    expect(await alice.next('the dummy reply')).toEqual({
      header: { status: '0' },
      payload: { data: null, type: 'dummy', id: 'd1' },
    });
    expect(handler.view()).toMatchObject({ role: 'handler', listening: true, served: 2 });
    expect(server.view()).toMatchObject({
      clients: [
        { conn: expect.any(String), username: 'alice' },
        { conn: expect.any(String), username: 'bob' },
      ],
      dispatches: [],
    });
    expect([...violations(server), ...violations(handler)]).toEqual([]);
  });

  const bad: readonly {
    readonly name: string;
    /** Authenticate first, so the bad frame is a later message. */
    readonly afterLogin: boolean;
    readonly bytes: Uint8Array;
  }[] = [
    { name: 'malformed JSON', afterLogin: false, bytes: frameOf('{"header": {"scope": "client"') },
    { name: 'malformed JSON after login', afterLogin: true, bytes: frameOf('{nope}') },
    { name: 'negative length', afterLogin: false, bytes: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d) },
    { name: 'negative length after login', afterLogin: true, bytes: Uint8Array.of(0x00, 0x00, 0x00, 0x80) },
    {
      name: 'missing authentication',
      afterLogin: false,
      bytes: encodeFrame({ header: { scope: 'client' }, payload: { type: 'dummy', id: 'a', data: null } }),
    },
    {
      name: 'missing header',
      afterLogin: false,
      bytes: encodeFrame({ payload: { type: 'dummy', id: 'a', data: null } }),
    },
    {
      name: 'missing payload id after login',
      afterLogin: true,
      bytes: encodeFrame({ header: {}, payload: { type: 'afrikaans', data: { to: 'bob' } } }),
    },
    {
      name: 'missing header after login',
      afterLogin: true,
      bytes: encodeFrame({ payload: { type: 'afrikaans', id: 'x', data: { to: 'bob' } } }),
    },
  ];

  for (const { name, afterLogin, bytes } of bad) {
    it(`closes the connection silently on ${name} and keeps serving (spec.md §2, §3)`, async () => {
      const socketDir = socketDirectory();
      const handler = await startHandler(socketDir);
      const { host: server, port } = await startServer(socketDir);
      const victim = afterLogin ? await login(port, 'mallory') : await RawClient.open(port);
      victim.write(bytes);
      // No error frame, and a clean close (FIN), not a reset.
      expect(await victim.serverCloses(name)).toEqual([]);
      expect(victim.ended).toBe(true);
      const alice = await login(port, 'alice');
      const bob = await login(port, 'bob');
      await exchange(alice, bob, 'after', 'still here');
      expect(handler.view()).toMatchObject({ served: 1 });
      expect([...violations(server), ...violations(handler)]).toEqual([]);
    });
  }

  it('survives every bad frame on one server in a row, then still dispatches', async () => {
    const socketDir = socketDirectory();
    const handler = await startHandler(socketDir);
    const { host: server, port } = await startServer(socketDir);
    const alice = await login(port, 'alice');
    const bob = await login(port, 'bob');
    for (const { name, afterLogin, bytes } of bad) {
      const victim = afterLogin ? await login(port, 'mallory') : await RawClient.open(port);
      victim.write(bytes);
      expect(await victim.serverCloses(name), name).toEqual([]);
    }
    // The connections that were open all along are untouched.
    await exchange(alice, bob, 'm1', 'ons is nog hier');
    expect(server.view()).toMatchObject({ clients: [{ username: 'alice' }, { username: 'bob' }] });
    expect([...violations(server), ...violations(handler)]).toEqual([]);
  });

  it('answers `bad` within the handler timeout when no handler listens on the path (spec.md §4)', async () => {
    const socketDir = socketDirectory();
    const { host: server, port } = await startServer(socketDir);
    const alice = await login(port, 'alice');
    alice.send(typed('down', 'm1', { to: 'alice' }));
    expect(await alice.next('the bad status report', handlerTimeoutMs)).toEqual(status('bad', 'm1'));
    // The connection stays usable after a failed dispatch.
    alice.send(typed('dummy', 'd1', null));
    expect(await alice.next('the dummy reply')).toMatchObject({ payload: { id: 'd1' } });
    expect(server.trace.events.some((event) => event.kind === 'conn.refuse')).toBe(true);
    expect(violations(server)).toEqual([]);
  });

  it('answers `bad` while the handler is down, `good` once it is up (down: true, handler.up/down, stopped; spec.md §4, §8)', async () => {
    const socketDir = socketDirectory();
    const { host: server, port } = await startServer(socketDir);
    const alice = await login(port, 'alice');
    const handler = await startHost(
      'handler-afrikaans',
      { role: 'handler', path: handlerPath, rule: { command: 'sendClients', usernamesField: 'to' }, down: true },
      { socketDir },
    );
    expect(handler.listening).toEqual([]);
    const data = { to: 'alice', text: 'aan myself' };
    alice.send(typed('afrikaans', 'm1', data));
    expect(await alice.next('bad while the handler is down', handlerTimeoutMs)).toEqual(status('bad', 'm1'));

    handler.command({ type: 'handler.up' });
    expect((await within(stepMs, 'handler.up binds', handler.listened())).map((l) => l.address)).toEqual([
      join(socketDir, handlerPath),
    ]);
    alice.send(typed('afrikaans', 'm2', data));
    expect(await alice.next('alice receives her own message')).toEqual({
      header: { messageType: 'receivedMessage' },
      payload: { data, type: 'afrikaans' },
    });
    expect(await alice.next('good while the handler is up')).toEqual(status('good', 'm2'));

    handler.command({ type: 'handler.down' });
    expect(handler.listening).toEqual([]);
    alice.send(typed('afrikaans', 'm3', data));
    expect(await alice.next('bad after handler.down', handlerTimeoutMs)).toEqual(status('bad', 'm3'));

    handler.command({ type: 'handler.up' });
    await within(stepMs, 'handler.up binds again', handler.listened());
    alice.send(typed('afrikaans', 'm4', data));
    expect(await alice.next('alice receives m4')).toMatchObject({ payload: { type: 'afrikaans' } });
    expect(await alice.next('good after handler.up')).toEqual(status('good', 'm4'));

    // The handler process goes away altogether.
    await handler.close();
    alice.send(typed('afrikaans', 'm5', data));
    expect(await alice.next('bad after the handler stopped', handlerTimeoutMs)).toEqual(status('bad', 'm5'));
    expect(server.trace.events.filter((event) => event.kind === 'conn.refuse')).toHaveLength(3);
    expect(handler.view()).toMatchObject({ served: 2 });
  });

  it('answers `bad` when the handler accepts but is slower than the handler timeout (spec.md §4)', async () => {
    const socketDir = socketDirectory();
    await startHandler(socketDir, { delayMs: 10 * slowTimeoutMs });
    const { port } = await startServer(socketDir, slowTimeoutMs);
    const alice = await login(port, 'alice');
    const sentMs = Date.now();
    alice.send(typed('afrikaans', 'm1', { to: 'alice' }));
    expect(await alice.next('bad after the handler timeout')).toEqual(status('bad', 'm1'));
    // The wall-clock timer decided it: not before the timeout (timers never fire early by more than a tick).
    expect(Date.now() - sentMs).toBeGreaterThanOrEqual(slowTimeoutMs - 20);
  });
});

describe('bester: fedsim serve (two child processes)', () => {
  /** Spawns `fedsim serve bester --config <file>` and resolves with the address it prints matching `pattern`. */
  async function serve(configFile: string, pattern: RegExp): Promise<{ child: ChildProcess; address: string }> {
    const child = spawn(
      process.execPath,
      [join(root, 'bin', 'fedsim.mjs'), 'serve', 'bester', '--config', configFile],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let output = '';
    const address = await within(
      childStartMs,
      `fedsim serve prints ${pattern}`,
      new Promise<string>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const match = pattern.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
        child.once('exit', (code) => reject(new Error(`fedsim serve exited (${code}) before listening:\n${output}`)));
      }),
    );
    return { child, address };
  }

  function exitOf(child: ChildProcess): Promise<number | null> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  it('runs the handler and the server as processes that meet on a socket file, and stop on SIGTERM', async () => {
    const dir = socketDirectory();
    const socketDir = join(dir, 'sockets');
    mkdirSync(socketDir);
    const handlerFile = join(dir, 'handler.yaml');
    const serverFile = join(dir, 'server.yaml');
    writeFileSync(
      handlerFile,
      [
        'id: handler-afrikaans',
        'host: b.test',
        `config: { role: handler, path: ${handlerPath}, rule: { command: sendClients, usernamesField: to } }`,
        `socketDir: ${JSON.stringify(socketDir)}`,
        'seed: 1',
        '',
      ].join('\n'),
    );
    writeFileSync(
      serverFile,
      [
        'id: b.test',
        `config: { role: server, handlers: { afrikaans: { path: ${handlerPath} } }, handlerTimeoutMs: ${stepMs} }`,
        'ports: { 2223: 0 }',
        `socketDir: ${JSON.stringify(socketDir)}`,
        'seed: 1',
        '',
      ].join('\n'),
    );
    // Both start at once (the server connects to its handler per message, not at start).
    const [handler, server] = await Promise.all([
      serve(handlerFile, /listening on (\/\S+)/),
      serve(serverFile, /listening on 127\.0\.0\.1:(\d+)/),
    ]);
    expect(handler.address).toBe(join(socketDir, handlerPath));
    const port = Number(server.address);
    const alice = await login(port, 'alice');
    const bob = await login(port, 'bob');
    await exchange(alice, bob, 'm1', 'oor regte sokke');

    const serverExit = exitOf(server.child);
    const handlerExit = exitOf(handler.child);
    server.child.kill('SIGTERM');
    handler.child.kill('SIGTERM');
    expect(await within(stepMs, 'the server exits on SIGTERM', serverExit)).toBe(0);
    expect(await within(stepMs, 'the handler exits on SIGTERM', handlerExit)).toBe(0);
    await within(stepMs, "alice's connection closes when the server stops", alice.closed);
    await within(stepMs, "bob's connection closes when the server stops", bob.closed);
  }, 40_000);
});
