/**
 * The real host: binds the same sans-IO protocol nodes the simulator runs to node:net sockets
 * (TCP and UNIX domain), node:dgram datagrams, wall-clock timers and a static DNS zone. If a node
 * works in the simulator but needs changes to run here, the node contract is wrong, not the node.
 *
 * Allowed here (and only here and in the CLI): Date, setTimeout, crypto randomness. Everything
 * the node does is also recorded as a trace (times in milliseconds since the host started), so a
 * real session can be opened in the viewer like a simulated one.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { randomInt } from 'node:crypto';
import { IdSequence, type ConnId } from '../core/ids.js';
import { Prng } from '../core/prng.js';
import {
  MemoryStore,
  type DnsRecord,
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
  readonly store?: DurableStore;
  /** Seed of the node's random stream. @defaultValue a random one */
  readonly seed?: number;
  /** Called for every node output after the host carried it out (deliveries, rejects, notes...). */
  readonly onOutput?: (output: NodeOutput) => void;
  readonly log?: (line: string) => void;
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
  private readonly sockets = new Map<ConnId, Socket>();
  private readonly udp = new Map<number, UdpSocket>();
  private readonly inbound = new IdSequence('in');
  private readonly node: ProtocolNode;
  private readonly pending: Promise<void>[] = [];
  private closed = false;

  constructor(private readonly options: RealHostOptions) {
    const hostName = options.hostName ?? options.id;
    this.trace = new TraceRecorder({
      format: 'fedsim-trace',
      version: 1,
      scenario: `serve/${options.protocol.name}/${options.id}`,
      seed: options.seed ?? 0,
      protocols: [options.protocol.name],
      nodes: [{ id: options.id, host: hostName, protocol: options.protocol.name }],
    });
    const host: NodeHost = {
      id: options.id,
      hostName,
      now: () => Date.now(),
      clock: {
        setTimeout: (fn, timeoutMs) => setTimeout(() => this.guard(fn), timeoutMs),
        clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      },
      random: new Prng(options.seed ?? randomInt(0, 2 ** 47), `node:${options.id}`),
      store: options.store ?? new MemoryStore(),
      emit: (output) => this.output(output),
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
    this.node.stop();
    for (const socket of this.sockets.values()) socket.destroy();
    for (const udp of this.udp.values()) udp.close();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.closed = false;
    this.trace.end(this.elapsedMs());
    this.closed = true;
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

  /** Node code that throws on peer input is a bug; the real host logs it and keeps serving. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
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
        this.record({
          kind: 'send',
          msg: this.trace.count + 1,
          transport: 'stream',
          conn: output.conn,
          to: output.conn,
          payload: payloadOf(output.bytes, output.decoded ?? this.options.protocol.describe?.(output.bytes)),
        });
        const socket = this.sockets.get(output.conn);
        if (socket && !socket.destroyed) socket.write(output.bytes);
        break;
      }
      case 'close': {
        this.record({ kind: 'conn.close', conn: output.conn, reason: 'closed' });
        const socket = this.sockets.get(output.conn);
        this.sockets.delete(output.conn);
        socket?.end();
        break;
      }
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
      if ('path' in endpoint) {
        const path = this.socketPath(endpoint.path);
        mkdirSync(dirname(path), { recursive: true });
        rmSync(path, { force: true });
        server.listen(path, () => {
          this.listening.push({ endpoint, address: path });
          this.record({ kind: 'listen', endpoint: `unix:${path}` });
          resolve();
        });
        return;
      }
      const port = this.options.portMap?.[endpoint.port] ?? endpoint.port;
      server.listen(port, this.options.bindAddress ?? '127.0.0.1', () => {
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

  private accept(socket: Socket, endpoint: Endpoint): void {
    const conn = this.inbound.next();
    this.sockets.set(conn, socket);
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
    this.sockets.set(conn, socket);
    let opened = false;
    socket.once('connect', () => {
      opened = true;
      this.record({ kind: 'conn.open', conn, peer: 'remote', peerConn: '?' });
      this.input({ kind: 'conn.opened', conn });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (opened) return;
      this.sockets.delete(conn);
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

  private wire(conn: ConnId, socket: Socket, isOpen: () => boolean = () => true): void {
    socket.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice();
      this.record({
        kind: 'receive',
        msg: 0,
        transport: 'stream',
        conn,
        from: conn,
        sentLamport: 0,
        payload: payloadOf(bytes, this.options.protocol.describe?.(bytes)),
      });
      this.input({ kind: 'conn.data', conn, bytes });
    });
    socket.on('error', () => undefined); // The close event that follows tells the node.
    socket.on('close', (hadError: boolean) => {
      if (!isOpen() || !this.sockets.has(conn)) return;
      this.sockets.delete(conn);
      const reason = hadError ? 'reset' : 'closed';
      this.record({ kind: 'conn.close', conn, reason });
      this.input({ kind: 'conn.closed', conn, reason });
    });
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

  private answerDns(query: string, rawName: string, type: 'A' | 'MX' | 'TXT'): void {
    const name = rawName.toLowerCase();
    this.record({ kind: 'dns.query', query, name, type });
    const zone = (this.options.dns ?? []).map((r) => ({ ...r, name: r.name.toLowerCase() }));
    const named = zone.filter((record) => record.name === name);
    const records = named.filter((record) => record.type === type).map((record) => record.value);
    const status = named.length === 0 ? 'nxdomain' : 'ok';
    // Answered on a later turn of the event loop, as a resolver would.
    setImmediate(() => {
      this.record({ kind: 'dns.answer', query, name, type, status, records });
      this.input({ kind: 'dns.answer', query, name, type, status, records });
    });
  }
}

function listenerKey(endpoint: Endpoint): string {
  return 'path' in endpoint ? `unix:${endpoint.path}` : `port:${endpoint.port}`;
}
