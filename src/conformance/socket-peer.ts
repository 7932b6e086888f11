/**
 * The real-socket Peer: the same case code as in the simulator, against a server on a real socket
 * (node:net, wall-clock timeouts). Every wait has the case's explicit timeout, so a slow server gives a
 * FAILED (or NON-STRICT) verdict, never a hanging or flaky run. Also the RealHost target: the project's
 * own node bound to a free loopback port, with a control channel (commands, outputs, restart).
 *
 * Allowed here (this file is on the lint exemption list with src/real/): Date.now and setTimeout, for
 * the timeouts. Must not: judge anything (cases do), or leave a socket, server or timer behind `close()`.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { DurableStore, NodeOutput, Protocol } from '../protocols/protocol.js';
import { MemoryStore } from '../protocols/protocol.js';
import { compiledEngine, type Engine } from '../engine/engine.js';
import { RealHost } from '../real/host.js';
import { selfSignedTls, type TlsMaterial } from '../real/tls.js';
import {
  ReadBuffer,
  bufferConn,
  logEvent,
  type Conn,
  type Listener,
  type Peer,
  type TargetControl,
  type TargetOutput,
  type WaitOptions,
} from './peer.js';
import type { ExchangeEntry, Suite } from './types.js';

/** How often a wait re-checks a condition that no socket event signals (a target's outputs). */
const pollMs = 10;

export interface SocketPeerOptions {
  /** Where the target's service is; read at each connect (a RealHost target learns its port when it starts). */
  readonly target: { readonly host: string; readonly port: number };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- used only to describe bytes in the exchange
  readonly protocol: Protocol<any, any>;
  /** Real port to bind for a nominal listening port; 0 picks a free one. @defaultValue the nominal port */
  readonly listenPortFor?: (port: number) => number;
  /** Told where each listener really is (so a RealHost target can be pointed at it). */
  readonly onListen?: (port: number, address: string) => void;
  readonly control?: TargetControl;
  /** How long to wait for an answer that should come at once. @defaultValue 2000 */
  readonly answerMs?: number;
}

/**
 * A ReadBuffer fed by `socket`, which `sockets` holds until it closes; `onEvent` runs after each chunk and
 * the close (SocketPeer wakes its waits there). Shared with the local sockets of local-peer.ts.
 */
export function wireSocket(socket: Socket, sockets: Set<Socket>, onEvent: () => void = () => undefined): ReadBuffer {
  const buffer = new ReadBuffer();
  sockets.add(socket);
  socket.on('data', (chunk: Buffer) => {
    buffer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice());
    onEvent();
  });
  socket.on('error', () => undefined); // The close event that follows marks the buffer closed.
  socket.on('close', () => {
    buffer.closed = true;
    sockets.delete(socket);
    onEvent();
  });
  return buffer;
}

/** The state of a socket being connected: pending until it connects (open) or fails first (failed). */
export function dialState(socket: Socket, onEvent: () => void = () => undefined): () => 'pending' | 'open' | 'failed' {
  let state = 'pending' as 'pending' | 'open' | 'failed';
  socket.once('connect', () => {
    state = 'open';
    onEvent();
  });
  socket.once('error', () => {
    if (state === 'pending') state = 'failed';
    onEvent();
  });
  return () => state;
}

/** A Conn over a socket wired with `wireSocket`: writes while the socket lives, and ends it on close. */
export function socketConn(
  peer: Peer,
  log: ExchangeEntry[],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- describes bytes only
  protocol: Protocol<any, any>,
  label: string,
  raw: Socket,
  buffer: ReadBuffer,
): Conn {
  let socket = raw;
  return bufferConn(
    peer,
    log,
    protocol,
    label,
    buffer,
    (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    () => socket.end(),
    () => {
      // STARTTLS: a TLS client over the same TCP socket, which reads into the same buffer from here on.
      raw.removeAllListeners('data');
      raw.removeAllListeners('close');
      const secure = tlsConnect({ socket: raw, rejectUnauthorized: false });
      socket = secure;
      secure.once('secureConnect', () => {
        if (buffer.tls === 'pending') buffer.tls = 'up';
      });
      secure.on('error', () => {
        if (buffer.tls === 'pending') buffer.tls = 'failed';
      });
      secure.on('data', (chunk: Buffer) =>
        buffer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice()),
      );
      secure.on('close', () => {
        buffer.closed = true;
      });
    },
  );
}

export class SocketPeer implements Peer {
  readonly kind = 'socket';
  readonly log: ExchangeEntry[] = [];
  readonly control: TargetControl | undefined;
  private readonly startedMs = Date.now();
  private readonly sockets = new Set<Socket>();
  private readonly servers = new Set<Server>();
  private readonly waiters = new Set<() => void>();
  private nextConn = 1;
  private nextListener = 1;

  readonly answerMs: number;

  constructor(private readonly options: SocketPeerOptions) {
    this.control = options.control;
    this.answerMs = options.answerMs ?? 2_000;
  }

  nowMs(): number {
    return Date.now() - this.startedMs;
  }

  note(text: string): void {
    this.log.push({ atMs: this.nowMs(), conn: 'case', direction: 'event', text });
  }

  /** Wakes every wait so that it re-checks its condition (called on every socket event). */
  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  waitUntil(condition: () => boolean, options: WaitOptions): Promise<boolean> {
    return new Promise((resolve) => {
      if (condition()) return resolve(true);
      const finish = (value: boolean) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
        resolve(value);
      };
      const check = () => {
        if (condition()) finish(true);
      };
      const timer = setTimeout(() => finish(condition()), options.timeoutMs);
      const poll = setInterval(check, pollMs);
      this.waiters.add(check);
    });
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async connect(options: WaitOptions): Promise<Conn | undefined> {
    const id = `c${this.nextConn++}`;
    const { host, port } = this.options.target;
    const socket = netConnect(port, host);
    const buffer = this.wire(socket);
    const state = dialState(socket, () => this.wake());
    const done = await this.waitUntil(() => state() !== 'pending', options);
    if (!done || state() !== 'open') {
      socket.destroy();
      logEvent(this.log, this.nowMs(), id, 'connect failed');
      return undefined;
    }
    logEvent(this.log, this.nowMs(), id, `connected to ${host}:${port}`);
    return this.conn(id, socket, buffer);
  }

  listen(port: number): Promise<Listener> {
    const name = `l${this.nextListener++}`;
    const pending: { socket: Socket; buffer: ReadBuffer }[] = [];
    const server = createServer((socket) => {
      pending.push({ socket, buffer: this.wire(socket) });
      this.wake();
    });
    this.servers.add(server);
    const realPort = this.options.listenPortFor?.(port) ?? port;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(realPort, '127.0.0.1', () => {
        const bound = server.address();
        const address = `127.0.0.1:${typeof bound === 'object' && bound ? bound.port : realPort}`;
        this.options.onListen?.(port, address);
        logEvent(this.log, this.nowMs(), name, `listening on ${address}`);
        let accepted = 0;
        resolve({
          address,
          accept: async (options) => {
            const ready = await this.waitUntil(() => pending.length > 0, options);
            const next = ready ? pending.shift() : undefined;
            if (!next) return undefined;
            const label = `${name}/a${++accepted}`;
            logEvent(this.log, this.nowMs(), label, 'accepted a connection from the target');
            return this.conn(label, next.socket, next.buffer);
          },
          close: () => this.closeServer(server),
        });
      });
    });
  }

  private closeServer(server: Server): Promise<void> {
    this.servers.delete(server);
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private wire(socket: Socket): ReadBuffer {
    return wireSocket(socket, this.sockets, () => this.wake());
  }

  private conn(label: string, socket: Socket, buffer: ReadBuffer): Conn {
    return socketConn(this, this.log, this.options.protocol, label, socket, buffer);
  }

  /** Closes every socket and listener the peer opened. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([...this.servers].map((server) => this.closeServer(server)));
  }
}

let certificate: Promise<TlsMaterial> | undefined;

/**
 * The project's own node on real loopback sockets (RealHost), as a target: a free port for its service,
 * the fixture's peer host name mapped to wherever the SocketPeer listens, and a control channel.
 */
export class RealHostTarget {
  readonly peer: SocketPeer;
  private host: RealHost;
  private readonly outputs: TargetOutput[] = [];
  private readonly store: DurableStore = new MemoryStore();
  /** Mutable on purpose: RealHost reads it at each connect, and listeners are opened during the case. */
  private readonly peers: Record<string, string> = {};
  private readonly startedMs = Date.now();
  private readonly service = { host: '127.0.0.1', port: 0 };

  private constructor(
    private readonly suite: Suite<Peer>,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the node under test's protocol (maybe a broken fixture)
    private readonly protocol: Protocol<any, any>,
    private readonly config: unknown,
    answerMs: number | undefined,
    private readonly engine: Engine,
    private readonly tls: TlsMaterial,
  ) {
    this.host = this.createHost();
    this.peer = new SocketPeer({
      target: this.service,
      protocol,
      ...(answerMs === undefined ? {} : { answerMs }),
      listenPortFor: () => 0,
      onListen: (port, address) => {
        this.peers[`${suite.peerHost}:${port}`] = address;
      },
      control: {
        command: (command) => this.host.command(command),
        outputs: () => this.outputs,
        restart: () => this.restart(),
      },
    });
  }

  static async open(
    suite: Suite<Peer>,
    variant: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the constructor
    protocol: Protocol<any, any> = suite.builtin,
    answerMs?: number,
    engine: Engine = compiledEngine,
  ): Promise<RealHostTarget> {
    const config = protocol.configSchema.parse(suite.fixtures[variant]) as unknown;
    // A certificate for the node's STARTTLS, made once per process (the peer checks none).
    certificate ??= selfSignedTls([suite.target.id]);
    const target = new RealHostTarget(suite, protocol, config, answerMs, engine, await certificate);
    await target.start();
    return target;
  }

  private createHost(): RealHost {
    const id = this.suite.target.id;
    return new RealHost({
      trace: 'memory',
      id,
      protocol: this.protocol,
      config: this.config,
      portMap: { [this.suite.target.port]: this.service.port },
      peers: this.peers,
      store: this.store,
      engine: this.engine,
      seed: this.suite.seed,
      dns: this.protocol.dnsRecords?.({ id, hostName: id, config: this.config, seed: this.suite.seed }) ?? [],
      onOutput: (output) => this.record(output),
      tls: { cert: this.tls.cert, key: this.tls.key },
    });
  }

  private record(output: NodeOutput): void {
    const atMs = Date.now() - this.startedMs;
    if (output.kind === 'deliver')
      this.outputs.push({ atMs, kind: 'deliver', name: output.user, body: output.body, from: output.from });
    if (output.kind === 'reject') this.outputs.push({ atMs, kind: 'reject', name: output.code });
    if (output.kind === 'note') this.outputs.push({ atMs, kind: 'note', name: output.what });
  }

  private async start(): Promise<void> {
    const listening = await this.host.start();
    const service = listening.find((l) => 'port' in l.endpoint && l.endpoint.port === this.suite.target.port);
    // The peer connects to the service port, known only now; a restart binds the same one again.
    this.service.port = service?.port ?? 0;
  }

  private async restart(): Promise<void> {
    await this.host.close();
    this.host = this.createHost();
    await this.host.start();
  }

  /** The session's trace (NDJSON) of the last incarnation. */
  finish(): string {
    return this.host.trace.text();
  }

  async close(): Promise<void> {
    await this.peer.close();
    await this.host.close();
  }
}
