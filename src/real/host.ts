/**
 * The real host: binds the same sans-IO protocol nodes the simulator runs to node:net sockets
 * (TCP and UNIX domain), node:dgram datagrams, wall-clock timers and a static DNS zone. If a node
 * works in the simulator but needs changes to run here, the node contract is wrong, not the node.
 *
 * Allowed here (and only here and in the CLI): Date, setTimeout, crypto randomness. When asked
 * (`trace`), everything the node does is also recorded as a trace (times in milliseconds since the
 * host started), so a real session can be opened in the viewer like a simulated one: kept in memory
 * (tests, conformance) or streamed to a file with bounded memory (`fedsim serve --trace`). Without
 * it nothing is kept: a served node's memory does not grow with its traffic.
 *
 * Must hold against any peer (src/real/limits.ts names each bound): a connection the node closed is
 * destroyed after a short linger; idle connections, stalled partial frames, unread output and
 * connection floods are cut off; a refused or cut-off connection reaches the node as a close. Past a
 * bound on unanswered input over all connections, the host stops reading from those adding to it,
 * and once connections that carried a lot have gone it asks for a full collection (./reclaim.ts).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { getDefaultHighWaterMark } from 'node:stream';
import { dirname } from 'node:path';
import { randomInt } from 'node:crypto';
import { connect as tlsConnect, createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { promises as systemDns } from 'node:dns';
import { ProcessNodeError } from '../core/errors.js';
import { IdSequence, type ConnId } from '../core/ids.js';
import { Prng } from '../core/prng.js';
import { compiledEngine, type Engine } from '../engine/engine.js';
import {
  MemoryStore,
  type DnsRecord,
  type DnsRecordType,
  type DnsStatus,
  type DurableStore,
  type Endpoint,
  type NodeHost,
  type NodeInput,
  type NodeOutput,
  type Protocol,
  type ProtocolNode,
} from '../protocols/protocol.js';
import type { TraceEventBody } from '../trace/events.js';
import { endpointText, recordOutput } from '../trace/record-output.js';
import { payloadOf, TraceRecorder } from '../trace/recorder.js';
import { realLimitDefaults, type RealLimits } from './limits.js';
import { fullCollection } from './reclaim.js';

/** Where a host's trace goes: nowhere (the default), kept in memory, or streamed to a file. */
export type RealTraceMode = 'none' | 'memory' | { readonly file: string };

/** A node's timer: the wall-clock timeout, then the deferred callback (see `setNodeTimer`). */
interface NodeTimer {
  cancelled: boolean;
  handle: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
}

/** What the host did to hold its limits, for logs and the robustness report. */
export interface RealHostStats {
  refused: number;
  idleClosed: number;
  partialFrameClosed: number;
  inputCapClosed: number;
  outputCapClosed: number;
  lingerDestroyed: number;
  /** Times reading from a connection was paused because all pending input was over `inputPendingReadMax`. */
  readPaused: number;
  /** Full collections asked for after dropped input (src/real/reclaim.ts). */
  collections: number;
}

/** The host's view of one connection, beside its socket. */
interface ConnState {
  /** The connection's socket: the TCP one, or the TLS socket over it after `tls.start`. */
  socket: Socket;
  /** The host name an outbound connection was made to (the TLS client's server name). */
  readonly target?: string;
  /** The peer address counted against `connectionsPerAddressMax` (accepted connections only). */
  readonly address?: string;
  readonly listener?: string;
  /** Input bytes since the node last acted on this connection's input. */
  pending: number;
  partialTimer?: ReturnType<typeof setTimeout>;
  /** Reading is paused (pending input of all connections over `inputPendingReadMax`). */
  paused?: boolean;
  /** A write returned false (its buffer reached the high-water mark): the socket's `'drain'` becomes `conn.drain`. */
  needDrain?: boolean;
}

export interface RealHostOptions {
  readonly id: string;
  /** The host name the node believes it runs on (its config names it). */
  readonly hostName?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a node of any protocol; its config was validated by that protocol's schema
  readonly protocol: Protocol<any, any>;
  readonly config: unknown;
  /** Address to bind listeners to. @defaultValue '127.0.0.1' */
  readonly bindAddress?: string;
  /** Real port for each port the node listens on (`0` picks a free one). Unmapped ports bind as they are. */
  readonly portMap?: Readonly<Record<number, number>>;
  /** Where names the node connects to really are: `b.test:8140` -> `127.0.0.1:9001`, or `b.test` -> `127.0.0.1`. */
  readonly peers?: Readonly<Record<string, string>>;
  /** Directory for the node's UNIX socket paths (a node's `/run/x.sock` becomes `<dir>/run/x.sock`). */
  readonly socketDir?: string;
  /** The DNS zone the node's queries are answered from (no real resolver is reachable from a test bed). */
  readonly dns?: readonly DnsRecord[];
  /**
   * Names the static zone does not hold are asked of the system's resolver (node:dns: `resolveSrv`,
   * `resolveMx`, `resolve4`, `resolveTxt`), as a served node on the Internet would. @defaultValue false
   */
  readonly systemDns?: boolean;
  readonly store?: DurableStore;
  /** The statechart engine the node's actors run on. @defaultValue compiledEngine */
  readonly engine?: Engine;
  /** Seed of the node's random stream. @defaultValue a random one */
  readonly seed?: number;
  /** Called for every node output after the host carried it out (deliveries, rejects, notes...). */
  readonly onOutput?: (output: NodeOutput) => void;
  readonly log?: (line: string) => void;
  /**
   * Called when an external node process broke the process protocol (it is stopped then): `serve`
   * exits with code 3. Without it, the failure is logged like a node that threw.
   */
  readonly onProcessFailure?: (error: ProcessNodeError) => void;
  /** Keep a trace: `memory`, or `{ file }` to stream it there. @defaultValue 'none' */
  readonly trace?: RealTraceMode;
  /** Overrides of the host's limits (src/real/limits.ts). */
  readonly limits?: Partial<RealLimits>;
  /**
   * TLS for `tls.start` (STARTTLS): the certificate and key (PEM) the node presents as a TLS
   * server; as a client it checks the peer's certificate against `ca` (PEM) only when `verifyPeer`.
   * Without `cert`, a server-side `tls.start` fails (`no-certificate`).
   */
  readonly tls?: {
    readonly cert?: string;
    readonly key?: string;
    readonly ca?: string;
    readonly verifyPeer?: boolean;
  };
}

export interface ListeningEndpoint {
  /** What the node asked for. */
  readonly endpoint: Endpoint;
  /** Where it really listens: `127.0.0.1:54321` or a socket path. */
  readonly address: string;
  readonly port?: number;
}

export class RealHost {
  readonly trace: TraceRecorder;
  readonly listening: ListeningEndpoint[] = [];
  private readonly startedMs = Date.now();
  private readonly servers: Server[] = [];
  /** The listener bound for each endpoint the node listens on, so that `unlisten` can close it. */
  private readonly listeners = new Map<string, Server>();
  private readonly sockets = new Map<ConnId, ConnState>();
  readonly limits: RealLimits;
  readonly stats: RealHostStats = {
    refused: 0,
    idleClosed: 0,
    partialFrameClosed: 0,
    inputCapClosed: 0,
    outputCapClosed: 0,
    lingerDestroyed: 0,
    readPaused: 0,
    collections: 0,
  };
  /** Open accepted connections per listener key and per peer address. */
  private readonly perListener = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();
  private pendingTotal = 0;
  /** Connections whose reading is paused, oldest pause first: resumed in this order. */
  private readonly pausedConns = new Set<ConnId>();
  /** Bytes carried by connections released since the last full collection, and the collection's timer. */
  private droppedBytes = 0;
  private collectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Outputs the node has emitted so far: a handle call that adds none did not act on its input. */
  private outputs = 0;
  private traceFd: number | undefined;
  private traceBuffer = '';
  private readonly udp = new Map<number, UdpSocket>();
  private readonly inbound = new IdSequence('in');
  private readonly node: ProtocolNode;
  private readonly pending: Promise<void>[] = [];
  private closed = false;
  private secureContext: SecureContext | undefined;

  constructor(private readonly options: RealHostOptions) {
    const hostName = options.hostName ?? options.id;
    this.limits = { ...realLimitDefaults, ...options.limits };
    const mode = options.trace ?? 'none';
    if (typeof mode === 'object') this.traceFd = openSync(mode.file, 'w');
    const recorderOptions =
      mode === 'memory'
        ? {}
        : mode === 'none'
          ? { keepLines: false, keepEvents: false, hash: false }
          : { keepLines: false, keepEvents: false, sink: (line: string) => this.traceLine(line) };
    this.trace = new TraceRecorder(
      {
        format: 'fedsim-trace',
        version: 1,
        scenario: `serve/${options.protocol.name}/${options.id}`,
        seed: options.seed ?? 0,
        protocols: [options.protocol.name],
        nodes: [{ id: options.id, host: hostName, protocol: options.protocol.name }],
      },
      recorderOptions,
    );
    const host: NodeHost = {
      id: options.id,
      hostName,
      now: () => Date.now(),
      clock: {
        setTimeout: (fn, timeoutMs) => this.setNodeTimer(fn, timeoutMs),
        clearTimeout: (handle) => this.clearNodeTimer(handle as NodeTimer),
      },
      engine: options.engine ?? compiledEngine,
      random: new Prng(options.seed ?? randomInt(0, 2 ** 47), `node:${options.id}`),
      store: options.store ?? new MemoryStore(),
      emit: (output) => {
        this.outputs += 1;
        this.output(output);
      },
      // Flow control is the socket's own: its unsent bytes, its mark, and its 'drain' (see `wire`).
      bufferedBytes: (conn) => this.sockets.get(conn)?.socket.writableLength ?? 0,
      writeHighWaterBytes: getDefaultHighWaterMark(false),
      stateChanged: (machine, value) => this.record({ kind: 'state', machine, value }),
    };
    this.node = options.protocol.createNode(host, options.config);
  }

  /** Starts the node and waits until every listener it asked for at start is bound. */
  async start(): Promise<ListeningEndpoint[]> {
    this.record({ kind: 'node.start', incarnation: 1 });
    this.guard(() => this.node.start());
    return this.listened();
  }

  /** Waits until every listener the node has asked for so far is bound (after start, a command may add one). */
  async listened(): Promise<ListeningEndpoint[]> {
    await Promise.all(this.pending);
    return this.listening;
  }

  /** Gives the node a user command, as a scenario step would. */
  command(command: unknown): void {
    this.record({ kind: 'command', command });
    this.input({ kind: 'command', command });
  }

  view(): unknown {
    return this.node.view();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A graceful stop first (an external process gets `stop` and may save its durable state).
    try {
      this.node.finish?.();
    } catch {
      // Stopping anyway.
    }
    this.node.stop();
    clearTimeout(this.collectTimer);
    for (const state of this.sockets.values()) {
      clearTimeout(state.partialTimer);
      state.socket.destroy();
    }
    for (const udp of this.udp.values()) udp.close();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.closed = false;
    this.trace.end(this.elapsedMs());
    this.closed = true;
    this.flushTrace();
    if (this.traceFd !== undefined) closeSync(this.traceFd);
    this.traceFd = undefined;
  }

  /** Open connections (accepted and outbound) the host holds now. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Streams trace lines to the file in chunks of about 64 KiB: memory stays bounded, writes stay few. */
  private traceLine(line: string): void {
    this.traceBuffer += line + '\n';
    if (this.traceBuffer.length >= 64 * 1024) this.flushTrace();
  }

  private flushTrace(): void {
    if (this.traceFd === undefined || this.traceBuffer.length === 0) return;
    writeSync(this.traceFd, this.traceBuffer);
    this.traceBuffer = '';
  }

  private elapsedMs(): number {
    return Date.now() - this.startedMs;
  }

  private record(body: TraceEventBody): void {
    // Sockets still report their closing after close(); the session's trace has ended by then.
    if (this.closed) return;
    this.trace.record(this.elapsedMs(), this.options.id, body);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /**
   * A node timer fires only after the input that was waiting at its deadline has been read: the
   * callback is deferred from the timers phase to the check phase (setImmediate), after the poll
   * phase, and dropped if the node cancels the timer meanwhile. Without this a timeout measured
   * the server's own queue, not the peer: a process starved of CPU (a burst of 1,000 accepts on a
   * loaded machine) reached an auth timer of a connection whose UserAuth had sat in the kernel's
   * buffer all along, and closed it (issue 22, the SOLEC soak's losses).
   */
  private setNodeTimer(fn: () => void, timeoutMs: number): NodeTimer {
    const timer: NodeTimer = { cancelled: false, handle: undefined };
    timer.handle = setTimeout(() => {
      timer.handle = setImmediate(() => {
        if (!timer.cancelled) this.guard(fn);
      });
    }, timeoutMs);
    return timer;
  }

  private clearNodeTimer(timer: NodeTimer | undefined): void {
    if (!timer) return;
    timer.cancelled = true;
    clearTimeout(timer.handle as ReturnType<typeof setTimeout>);
    clearImmediate(timer.handle as ReturnType<typeof setImmediate>);
  }

  /** Node code that throws on peer input is a bug; the real host logs it and keeps serving. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (error instanceof ProcessNodeError) {
        this.record({ kind: 'check', requirement: 'process-protocol', verdict: 'violation', message: error.message });
        if (this.options.onProcessFailure) return this.options.onProcessFailure(error);
      }
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.record({ kind: 'check', requirement: 'node-never-throws', verdict: 'violation', message });
      this.log(`node threw: ${message}`);
    }
  }

  private input(input: NodeInput): void {
    if (this.closed) return;
    this.guard(() => this.node.handle(input));
  }

  private output(output: NodeOutput): void {
    if (this.closed) return;
    switch (output.kind) {
      case 'listen':
        this.pending.push(this.listen(output.endpoint));
        break;
      case 'unlisten':
        this.unlisten(output.endpoint);
        break;
      case 'connect':
        this.connect(output.conn, output.target);
        break;
      case 'write': {
        if (this.trace.wants('send')) {
          this.record({
            kind: 'send',
            msg: this.trace.count + 1,
            transport: 'stream',
            conn: output.conn,
            to: output.conn,
            payload: payloadOf(output.bytes, output.decoded ?? this.options.protocol.describe?.(output.bytes)),
          });
        } else this.trace.skip(this.options.id);
        const state = this.sockets.get(output.conn);
        if (state && !state.socket.destroyed) {
          if (!state.socket.write(output.bytes)) state.needDrain = true;
          // A peer that stops reading: its unread output is capped, then it is cut off (the node sees a close).
          if (state.socket.writableLength > this.limits.outputPendingMax) {
            this.stats.outputCapClosed += 1;
            this.log(`${output.conn}: peer stopped reading (over outputPendingMax), closed`);
            state.socket.destroy();
          }
        }
        break;
      }
      case 'close': {
        this.record({ kind: 'conn.close', conn: output.conn, reason: 'closed' });
        const state = this.sockets.get(output.conn);
        if (state) this.release(output.conn, state);
        if (state && !state.socket.destroyed) this.linger(state.socket);
        break;
      }
      case 'tls.start':
        this.startTls(output.conn, output.role);
        break;
      case 'datagram.send':
        this.sendDatagram(output.port, output.target, output.bytes);
        break;
      case 'dns.query':
        this.answerDns(output.query, output.name, output.type);
        break;
      case 'deliver':
      case 'reject':
      case 'note':
        recordOutput(this.trace, this.elapsedMs(), this.options.id, output);
        if (output.kind === 'deliver') this.log(`deliver to ${output.user} from ${output.from}: ${output.body}`);
        if (output.kind === 'reject') this.log(`reject ${output.code}: ${output.reason}`);
        break;
    }
    this.options.onOutput?.(output);
  }

  private socketPath(path: string): string {
    return `${this.options.socketDir ?? '/tmp/fedsim-sockets'}/${path.replace(/^\/+/, '')}`;
  }

  private listen(endpoint: Endpoint): Promise<void> {
    const server = createServer((socket) => this.accept(socket, endpoint));
    this.servers.push(server);
    this.listeners.set(listenerKey(endpoint), server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        // After it is bound, a listener error (descriptors exhausted) is logged; the node keeps serving.
        server.on('error', (error: NodeJS.ErrnoException) => this.log(`listener: ${error.code ?? error.message}`));
      });
      if ('path' in endpoint) {
        const path = this.socketPath(endpoint.path);
        mkdirSync(dirname(path), { recursive: true });
        rmSync(path, { force: true });
        server.listen({ path, backlog: this.limits.listenBacklog }, () => {
          this.listening.push({ endpoint, address: path });
          this.record({ kind: 'listen', endpoint: `unix:${path}` });
          resolve();
        });
        return;
      }
      const port = this.options.portMap?.[endpoint.port] ?? endpoint.port;
      server.listen({ port, host: this.options.bindAddress ?? '127.0.0.1', backlog: this.limits.listenBacklog }, () => {
        const address = server.address();
        const bound = typeof address === 'object' && address ? address.port : port;
        this.listening.push({ endpoint, address: `${this.options.bindAddress ?? '127.0.0.1'}:${bound}`, port: bound });
        this.record({ kind: 'listen', endpoint: `${this.options.bindAddress ?? '127.0.0.1'}:${bound}` });
        this.bindDatagrams(endpoint.port, bound);
        resolve();
      });
    });
  }

  /** Stops accepting on `endpoint`; connections already accepted stay open, as in the simulator. */
  private unlisten(endpoint: Endpoint): void {
    const key = listenerKey(endpoint);
    const server = this.listeners.get(key);
    if (!server) return;
    this.listeners.delete(key);
    this.servers.splice(this.servers.indexOf(server), 1);
    server.close();
    const at = this.listening.findIndex((listening) => listenerKey(listening.endpoint) === key);
    const address = this.listening[at]?.address ?? key;
    if (at >= 0) this.listening.splice(at, 1);
    if (!('path' in endpoint)) {
      this.udp.get(endpoint.port)?.close();
      this.udp.delete(endpoint.port);
    }
    this.record({ kind: 'unlisten', endpoint: 'path' in endpoint ? `unix:${address}` : address });
  }

  /** The node closed `socket`: its side is ended, whatever the peer sends is dropped, and it is destroyed after the linger. */
  private linger(socket: Socket): void {
    socket.removeAllListeners('data');
    socket.on('data', () => undefined);
    socket.resume(); // Paused for back-pressure, it would not see the peer's close.
    socket.end();
    const timer = setTimeout(() => {
      if (socket.destroyed) return;
      this.stats.lingerDestroyed += 1;
      socket.destroy();
    }, this.limits.lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /** Forgets a connection: its counts against the caps, its pending input, its partial-frame clock. */
  private release(conn: ConnId, state: ConnState): void {
    if (!this.sockets.delete(conn)) return;
    clearTimeout(state.partialTimer);
    this.pendingTotal -= state.pending;
    // What it read (answered or not) and what it left unsent: garbage once it is gone.
    this.dropped(state.socket.bytesRead + state.socket.writableLength);
    state.pending = 0;
    this.pausedConns.delete(conn);
    if (state.listener !== undefined) decrement(this.perListener, state.listener);
    if (state.address !== undefined) decrement(this.perAddress, state.address);
    this.resumeReading();
  }

  private accept(socket: Socket, endpoint: Endpoint): void {
    const key = listenerKey(endpoint);
    const address = socket.remoteAddress ?? 'local';
    if (
      (this.perListener.get(key) ?? 0) >= this.limits.connectionsPerListenerMax ||
      (this.perAddress.get(address) ?? 0) >= this.limits.connectionsPerAddressMax
    ) {
      // Refused before the node hears of it: a flood costs a descriptor for an instant, nothing more.
      this.stats.refused += 1;
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.perListener.set(key, (this.perListener.get(key) ?? 0) + 1);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    const conn = this.inbound.next();
    this.sockets.set(conn, { socket, address, listener: key, pending: 0 });
    const remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'local';
    this.record({ kind: 'conn.accept', conn, peer: remote, peerConn: '?' });
    this.wire(conn, socket);
    this.input({ kind: 'conn.accepted', conn, local: endpoint, remote });
  }

  private connect(conn: ConnId, target: Endpoint): void {
    this.record({ kind: 'conn.connect', conn, target: endpointText(target) });
    let socket: Socket;
    if ('path' in target) {
      socket = netConnect(this.socketPath(target.path));
    } else {
      const mapped = this.options.peers?.[`${target.host}:${target.port}`] ?? this.options.peers?.[target.host];
      const [host, port] = mapped?.includes(':') ? mapped.split(':') : [mapped ?? target.host, String(target.port)];
      socket = netConnect(Number(port), host);
    }
    this.sockets.set(conn, { socket, pending: 0, target: 'path' in target ? 'localhost' : target.host });
    let opened = false;
    socket.once('connect', () => {
      opened = true;
      this.record({ kind: 'conn.open', conn, peer: 'remote', peerConn: '?' });
      this.input({ kind: 'conn.opened', conn });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (opened) return;
      const state = this.sockets.get(conn);
      if (state) this.release(conn, state);
      const reason =
        error.code === 'ECONNREFUSED' || error.code === 'ENOENT'
          ? 'refused'
          : error.code === 'ENOTFOUND'
            ? 'unresolved'
            : 'timeout';
      this.record({ kind: 'conn.refuse', conn, target: String(error.code), reason });
      this.input({ kind: 'conn.failed', conn, reason });
    });
    this.wire(conn, socket, () => opened);
  }

  /**
   * STARTTLS: the connection's TCP socket is handed to a TLS socket (server: the configured
   * certificate; client: the target's name for SNI), which takes its place for every later read and
   * write. The handshake's end reaches the node as `conn.tls`; a failure is followed by the close.
   */
  private startTls(conn: ConnId, role: 'server' | 'client'): void {
    this.record({ kind: 'tls.start', conn, role });
    const state = this.sockets.get(conn);
    if (!state || state.socket.destroyed) return;
    const raw = state.socket;
    const finish = (ok: boolean, reason?: string): void => {
      this.record({ kind: 'tls.done', conn, ok, ...(reason === undefined ? {} : { reason }) });
      this.input({ kind: 'conn.tls', conn, ok, ...(reason === undefined ? {} : { reason }) });
    };
    const tls = this.options.tls;
    if (role === 'server' && (tls?.cert === undefined || tls.key === undefined)) {
      finish(false, 'no-certificate');
      raw.destroy();
      return;
    }
    // The TCP socket's own listeners go: from here on the TLS socket reads, times out and closes.
    raw.removeAllListeners('data');
    raw.removeAllListeners('timeout');
    raw.removeAllListeners('close');
    raw.setTimeout(0);
    let secure: TLSSocket;
    if (role === 'server') {
      this.secureContext ??= createSecureContext({ cert: tls?.cert, key: tls?.key });
      secure = new TLSSocket(raw, { isServer: true, secureContext: this.secureContext });
    } else {
      secure = tlsConnect({
        socket: raw,
        ...(state.target === undefined || /^[\d.:]+$/.test(state.target) ? {} : { servername: state.target }),
        rejectUnauthorized: tls?.verifyPeer ?? false,
        ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
      });
    }
    state.socket = secure;
    let settled = false;
    secure.once(role === 'server' ? 'secure' : 'secureConnect', () => {
      if (settled) return;
      settled = true;
      finish(true);
    });
    secure.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      finish(false, error.code ?? error.message);
    });
    this.wire(conn, secure);
  }

  private wire(conn: ConnId, socket: Socket, isOpen: () => boolean = () => true): void {
    socket.setTimeout(this.limits.idleMs);
    socket.on('timeout', () => {
      this.stats.idleClosed += 1;
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      // Node gives each read its own buffer of exactly the bytes read, which nothing else writes
      // into: a view of it, not a copy (a copy per read was a third of a large-frame flood's
      // allocations, and a decoder holding the copies kept them interleaved with the freed reads).
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (this.trace.wants('receive')) {
        this.record({
          kind: 'receive',
          msg: 0,
          transport: 'stream',
          conn,
          from: conn,
          sentLamport: 0,
          payload: payloadOf(bytes, this.options.protocol.describe?.(bytes)),
        });
      } else this.trace.skip(this.options.id, 0);
      const before = this.outputs;
      this.input({ kind: 'conn.data', conn, bytes });
      this.progress(conn, bytes, this.outputs > before);
    });
    socket.on('drain', () => {
      const state = this.sockets.get(conn);
      if (!state || state.socket !== socket || !state.needDrain) return;
      state.needDrain = false;
      this.record({ kind: 'conn.drain', conn });
      this.input({ kind: 'conn.drain', conn });
    });
    socket.on('error', () => undefined); // The close event that follows tells the node.
    socket.on('close', (hadError: boolean) => {
      const state = this.sockets.get(conn);
      if (!isOpen() || !state || state.socket !== socket) {
        if (state?.socket === socket) this.release(conn, state);
        return;
      }
      this.release(conn, state);
      const reason = hadError ? 'reset' : 'closed';
      this.record({ kind: 'conn.close', conn, reason });
      this.input({ kind: 'conn.closed', conn, reason });
    });
  }

  /**
   * Accounts a connection's input after the node handled it: if the node acted, nothing is pending;
   * if not, the bytes are pending (a partial frame) under the per-connection and total caps and the
   * partial-frame clock.
   */
  private progress(conn: ConnId, bytes: Uint8Array, acted: boolean): void {
    const state = this.sockets.get(conn);
    if (!state || state.socket.destroyed) return;
    if (acted) {
      this.pendingTotal -= state.pending;
      state.pending = 0;
      clearTimeout(state.partialTimer);
      state.partialTimer = undefined;
      if (state.paused) this.unpause(conn, state);
      this.resumeReading();
      return;
    }
    if (state.pending === 0 && isWhitespace(bytes)) return;
    state.pending += bytes.length;
    this.pendingTotal += bytes.length;
    if (state.pending > this.limits.inputPendingMax) {
      this.stats.inputCapClosed += 1;
      this.log(`${conn}: ${state.pending} bytes of unfinished input (over inputPendingMax), closed`);
      state.socket.destroy();
      return;
    }
    state.partialTimer ??= setTimeout(() => {
      this.stats.partialFrameClosed += 1;
      state.socket.destroy();
    }, this.limits.partialFrameMs);
    while (this.pendingTotal > this.limits.inputPendingTotalMax) {
      let largest: ConnState | undefined;
      for (const other of this.sockets.values()) if (!largest || other.pending > largest.pending) largest = other;
      if (!largest || largest.pending === 0) break;
      this.stats.inputCapClosed += 1;
      this.pendingTotal -= largest.pending;
      this.dropped(largest.pending);
      largest.pending = 0;
      largest.socket.destroy();
    }
    if (this.pendingTotal > this.limits.inputPendingReadMax && !state.paused && !state.socket.destroyed) {
      // Back-pressure: the bytes wait in the kernel and the peer's sends stall, instead of every
      // connection of a flood of partial frames being read into memory and then shed. The
      // partial-frame clock keeps running, so a paused connection that never finishes is still closed.
      state.paused = true;
      state.socket.pause();
      this.pausedConns.add(conn);
      this.stats.readPaused += 1;
    }
  }

  /**
   * Counts the bytes a released connection read and left unsent; once `collectAfterBytes` of them
   * have gone, asks for one full collection `collectDelayMs` later (so at most one per that interval
   * during a flood, and one just after it): its socket reads and unsent output are garbage that V8
   * would otherwise keep while the server is quiet (a flood of partial frames, a peer that never
   * read its answers).
   */
  private dropped(bytes: number): void {
    this.droppedBytes += bytes;
    if (this.droppedBytes < collectAfterBytes || this.collectTimer !== undefined || this.closed) return;
    const gc = fullCollection();
    if (gc === undefined) return;
    this.collectTimer = setTimeout(() => {
      this.collectTimer = undefined;
      this.droppedBytes = 0;
      this.stats.collections += 1;
      // Twice: after one, V8 still held the emptied heap pages (70 MB of heap in all where 38 MB
      // remained after a second, scripts/flood-memory.ts).
      gc();
      gc();
    }, collectDelayMs);
    this.collectTimer.unref();
  }

  /** Resumes paused connections, oldest first, while the pending total leaves room for a socket read each. */
  private resumeReading(): void {
    let room = this.limits.inputPendingReadMax - this.pendingTotal;
    for (const conn of this.pausedConns) {
      if (room <= 0) break;
      const state = this.sockets.get(conn);
      if (state) this.unpause(conn, state);
      else this.pausedConns.delete(conn);
      room -= socketReadBytes;
    }
  }

  private unpause(conn: ConnId, state: ConnState): void {
    this.pausedConns.delete(conn);
    state.paused = false;
    if (!state.socket.destroyed) state.socket.resume();
  }

  private bindDatagrams(nodePort: number, realPort: number): void {
    const udp = createSocket('udp4');
    udp.on('error', () => undefined); // A port already taken for UDP just means no datagrams.
    udp.on('message', (message, rinfo) => {
      const bytes = new Uint8Array(message);
      this.input({ kind: 'datagram', source: { host: rinfo.address, port: rinfo.port }, port: nodePort, bytes });
    });
    udp.bind(realPort, this.options.bindAddress ?? '127.0.0.1');
    this.udp.set(nodePort, udp);
  }

  private sendDatagram(port: number, target: { host: string; port: number }, bytes: Uint8Array): void {
    const udp = this.udp.get(port) ?? [...this.udp.values()][0];
    const mapped = this.options.peers?.[`${target.host}:${target.port}`] ?? this.options.peers?.[target.host];
    const [host, realPort] = mapped?.includes(':') ? mapped.split(':') : [mapped ?? target.host, String(target.port)];
    udp?.send(bytes, Number(realPort), host);
  }

  private answerDns(query: string, rawName: string, type: DnsRecordType): void {
    const name = rawName.toLowerCase();
    this.record({ kind: 'dns.query', query, name, type });
    const zone = (this.options.dns ?? []).map((r) => ({ ...r, name: r.name.toLowerCase() }));
    const named = zone.filter((record) => record.name === name);
    const records = named.filter((record) => record.type === type).map((record) => record.value);
    const answer = (status: DnsStatus, records: string[]): void => {
      this.record({ kind: 'dns.answer', query, name, type, status, records });
      this.input({ kind: 'dns.answer', query, name, type, status, records });
    };
    if (named.length === 0 && this.options.systemDns) {
      systemLookup(name, type).then(
        (records) => answer('ok', records),
        (error: NodeJS.ErrnoException) =>
          error.code === 'ENODATA'
            ? answer('ok', [])
            : error.code === 'ENOTFOUND'
              ? answer('nxdomain', [])
              : answer('servfail', []),
      );
      return;
    }
    // Answered on a later turn of the event loop, as a resolver would.
    setImmediate(() => answer(named.length === 0 ? 'nxdomain' : 'ok', records));
  }
}

/** One query to the system resolver, its records written as the simulated DNS writes them. */
async function systemLookup(name: string, type: DnsRecordType): Promise<string[]> {
  switch (type) {
    case 'A':
      return systemDns.resolve4(name);
    case 'MX':
      return (await systemDns.resolveMx(name)).map((mx) => `${mx.priority} ${mx.exchange}`);
    case 'SRV':
      return (await systemDns.resolveSrv(name)).map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name || '.'}`);
    case 'TXT':
      return (await systemDns.resolveTxt(name)).map((chunks) => chunks.join(''));
  }
}

/** Bytes carried by released connections after which the host asks for a full collection (src/real/reclaim.ts). */
const collectAfterBytes = 8 * 1024 * 1024;
/** How long after that the collection runs: a flood still going on is collected once per this interval. */
const collectDelayMs = 1_000;

/** The most one socket read hands over (libuv's read size for streams). */
const socketReadBytes = 64 * 1024;

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 0) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}

/** Only ASCII whitespace (a keepalive): it starts no partial-frame clock. */
function isWhitespace(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
  return bytes.length > 0;
}

function listenerKey(endpoint: Endpoint): string {
  return 'path' in endpoint ? `unix:${endpoint.path}` : `port:${endpoint.port}`;
}
