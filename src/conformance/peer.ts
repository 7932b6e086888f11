/**
 * The one API a conformance case is written against, and its simulator implementation.
 *
 * A `Peer` opens connections to the target (`connect`), listens where the target's fixture config says
 * the peer is (`listen`), sends bytes, and waits for what it expects with an explicit timeout
 * (`expect`, `expectClosed`). `SimPeer` runs the built-in node in a World next to a scripted peer node:
 * waiting runs the simulator until the condition holds or the virtual deadline passes, so it is
 * deterministic and instant. `SocketPeer` (socket-peer.ts) does the same on real sockets.
 *
 * Must not: read a clock or a random source (virtual time only here), or decide verdicts (cases do).
 */
import { z } from 'zod';
import { concatBytes } from '../core/bytes.js';
import type { Endpoint, NodeHost, NodeInput, Protocol, ProtocolNode } from '../protocols/protocol.js';
import { compiledEngine, type Engine } from '../engine/engine.js';
import { Simulator } from '../sim/simulator.js';
import { World } from '../sim/world.js';
import type { TraceEvent } from '../trace/events.js';
import { TraceRecorder } from '../trace/recorder.js';
import type { ExchangeEntry, Suite } from './types.js';

// ---------------------------------------------------------------------------------------------------
// The API.

/** What a reader makes of the unread bytes of a connection. */
export type ReadResult<T> =
  | { readonly kind: 'value'; readonly value: T; readonly used: number }
  | { readonly kind: 'more' }
  | { readonly kind: 'error'; readonly message: string };

/** Decodes one unit (a frame, an HTTP message) from the unread bytes; `closed` says no more will come. */
export type Reader<T> = (bytes: Uint8Array, closed: boolean) => ReadResult<T>;

export type Expectation<T> =
  | { readonly ok: true; readonly value: T; readonly atMs: number }
  | {
      readonly ok: false;
      readonly reason: 'timeout' | 'closed' | 'error';
      readonly message: string;
      /** Unread bytes when the wait ended. */
      readonly bytes: Uint8Array;
    };

export interface WaitOptions {
  /** How long to wait: virtual ms in the simulator, wall ms on sockets. Every wait has one. */
  readonly timeoutMs: number;
}

export interface Conn {
  readonly id: string;
  send(data: Uint8Array | string): Promise<void>;
  /** Waits until `reader` decodes a value from the unread bytes (which it then consumes). */
  expect<T>(reader: Reader<T>, options: WaitOptions): Promise<Expectation<T>>;
  /** Waits until the target closes the connection; true if it did in time. Unread bytes are dropped. */
  expectClosed(options: WaitOptions): Promise<boolean>;
  /** True once the target has closed (or reset) this connection. */
  readonly closed: boolean;
  close(): Promise<void>;
  /**
   * STARTTLS as the client (RFC 6120 §5): the connection is handed to a TLS handshake; true when it
   * succeeded in time, and every byte after it goes inside TLS. The peer checks no certificate.
   */
  startTls(options: WaitOptions): Promise<boolean>;
}

export interface Listener {
  /** The address to give the target (`peer.test:8140` in the sim, `127.0.0.1:40123` on sockets). */
  readonly address: string;
  /** Waits for the target to connect. */
  accept(options: WaitOptions): Promise<Conn | undefined>;
  close(): Promise<void>;
}

/** What a target's output looks like to a case (deliveries, rejections and notes of the node under test). */
export interface TargetOutput {
  readonly atMs: number;
  readonly kind: 'deliver' | 'reject' | 'note';
  /** deliver: the user; reject: the code; note: what. */
  readonly name: string;
  readonly body?: string;
  readonly from?: string;
}

/** Control of a target the testbed runs itself (sim, RealHost); absent for an external server. */
export interface TargetControl {
  command(command: unknown): void;
  outputs(): readonly TargetOutput[];
  /** Crashes the node and starts it again over the same durable store. */
  restart(): Promise<void>;
}

export interface Peer {
  readonly kind: 'sim' | 'socket';
  /** Opens a connection to the target's service; undefined if refused or timed out. */
  connect(options: WaitOptions): Promise<Conn | undefined>;
  /** Listens on `port` of the peer's host (the fixture config names it as a friend, a known server...). */
  listen(port: number): Promise<Listener>;
  /** Lets `ms` pass (the target's timers run meanwhile). */
  sleep(ms: number): Promise<void>;
  /** Waits until `condition()` holds; true if it did in time. */
  waitUntil(condition: () => boolean, options: WaitOptions): Promise<boolean>;
  /** Ms since the case began. */
  nowMs(): number;
  /** How long to wait for an answer that should come at once (a reply to a request). */
  readonly answerMs: number;
  readonly control: TargetControl | undefined;
  /** The exchange so far, for the report. */
  readonly log: readonly ExchangeEntry[];
  /** Records a line of the case's own in the exchange (what it is about to check). */
  note(text: string): void;
}

// ---------------------------------------------------------------------------------------------------
// Helpers shared by both implementations.

const utf8 = new TextEncoder();

export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? utf8.encode(data) : data;
}

/** A one-line description of bytes for the exchange log, from the protocol's own `describe`. */
export function describeBytes(protocol: Protocol<unknown, unknown>, bytes: Uint8Array): string {
  let decoded: unknown;
  try {
    decoded = protocol.describe?.(bytes);
  } catch {
    decoded = undefined;
  }
  const text = decoded === undefined ? hexPreview(bytes) : typeof decoded === 'string' ? decoded : stringify(decoded);
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return String(value);
  }
}

function hexPreview(bytes: Uint8Array): string {
  const shown = [...bytes.subarray(0, 64)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > 64 ? `${shown} … (${bytes.length} bytes)` : shown;
}

/** Reads through one unread buffer: the shared part of both Conn implementations. */
export class ReadBuffer {
  unread: Uint8Array = new Uint8Array(0);
  closed = false;
  /** STARTTLS: not asked, under way, up, or failed. */
  tls: 'none' | 'pending' | 'up' | 'failed' = 'none';
  push(bytes: Uint8Array): void {
    this.unread = concatBytes(this.unread, bytes);
  }
  /** Applies `reader`: a value (consumed), an error, or undefined when more bytes are needed. */
  take<T>(reader: Reader<T>): ReadResult<T> {
    const result = reader(this.unread, this.closed);
    if (result.kind === 'value') this.unread = this.unread.slice(result.used);
    return result;
  }
}

/** Turns a finished wait into an expectation. */
export function expectationOf<T>(buffer: ReadBuffer, result: ReadResult<T> | undefined, atMs: number): Expectation<T> {
  if (result?.kind === 'value') return { ok: true, value: result.value, atMs };
  if (result?.kind === 'error') return { ok: false, reason: 'error', message: result.message, bytes: buffer.unread };
  if (buffer.closed)
    return { ok: false, reason: 'closed', message: 'the target closed the connection', bytes: buffer.unread };
  return { ok: false, reason: 'timeout', message: 'nothing complete arrived in time', bytes: buffer.unread };
}

/** Adds an event line (connected, listening, closed...) to an exchange log. */
export function logEvent(log: ExchangeEntry[], atMs: number, conn: string, text: string): void {
  log.push({ atMs, conn, direction: 'event', text });
}

/**
 * A Conn over a ReadBuffer, with the Peer's waits and exchange log: shared by SimPeer, SocketPeer and
 * the local sockets (local-peer.ts). `write` hands the bytes (and their logged description) to the
 * transport; `end` closes it from the peer's side.
 */
export function bufferConn(
  peer: Peer,
  log: ExchangeEntry[],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- describes bytes only
  protocol: Protocol<any, any>,
  label: string,
  buffer: ReadBuffer,
  write: (bytes: Uint8Array, text: string) => void,
  end: () => void,
  tls: () => void,
): Conn {
  return {
    id: label,
    get closed() {
      return buffer.closed;
    },
    send: (data) => {
      const bytes = toBytes(data);
      const text = describeBytes(protocol, bytes);
      log.push({ atMs: peer.nowMs(), conn: label, direction: 'sent', text, size: bytes.length });
      write(bytes, text);
      return Promise.resolve();
    },
    expect: async <T>(reader: Reader<T>, options: WaitOptions) => {
      let result: ReadResult<T> | undefined;
      await peer.waitUntil(() => {
        result = buffer.take(reader);
        return result.kind !== 'more' || buffer.closed;
      }, options);
      if (result?.kind === 'more' && buffer.closed) result = buffer.take(reader);
      const expectation = expectationOf(buffer, result, peer.nowMs());
      log.push(receivedEntry(protocol, label, expectation, peer.nowMs()));
      return expectation;
    },
    expectClosed: async (options) => {
      const closed = await peer.waitUntil(() => buffer.closed, options);
      logEvent(log, peer.nowMs(), label, closed ? 'closed by the target' : 'still open');
      return closed;
    },
    close: () => {
      logEvent(log, peer.nowMs(), label, 'peer closes');
      end();
      return Promise.resolve();
    },
    startTls: async (options) => {
      logEvent(log, peer.nowMs(), label, 'peer starts TLS');
      buffer.tls = 'pending';
      tls();
      await peer.waitUntil(() => buffer.tls !== 'pending' || buffer.closed, options);
      const up = (buffer.tls as ReadBuffer['tls']) === 'up';
      logEvent(log, peer.nowMs(), label, up ? 'TLS is up' : `TLS failed (${buffer.tls})`);
      return up;
    },
  };
}

export function outputOf(event: TraceEvent): TargetOutput | undefined {
  switch (event.kind) {
    case 'deliver':
      return { atMs: event.atMs, kind: 'deliver', name: event.user, body: event.body, from: event.from };
    case 'reject':
      return { atMs: event.atMs, kind: 'reject', name: event.code };
    case 'note':
      return { atMs: event.atMs, kind: 'note', name: event.what };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// The simulator implementation.

/** Commands the scripted peer node takes from SimPeer (JSON, so the trace shows them). */
type PeerCommand =
  | { readonly op: 'connect'; readonly conn: string; readonly host: string; readonly port: number }
  | { readonly op: 'listen'; readonly port: number }
  | { readonly op: 'unlisten'; readonly port: number }
  /** Writes the bytes SimPeer handed over with `stage` (kept out of the command so the trace stays small). */
  | { readonly op: 'write'; readonly conn: string; readonly size: number; readonly decoded: string }
  | { readonly op: 'close'; readonly conn: string }
  | { readonly op: 'tls'; readonly conn: string };

/**
 * A scripted node's connections, shared by SimPeer's peer node and the local node of local-peer.ts: keeps
 * what arrives, per connection, and runs the commands of its subclass. `K` keys accepted connections by
 * their local endpoint (a port, a path).
 */
export abstract class BufferingNode<K, C> implements ProtocolNode {
  readonly buffers = new Map<string, ReadBuffer>();
  readonly opened = new Set<string>();
  readonly failed = new Set<string>();
  /** Accepted connections not yet handed to a listener, by local endpoint. */
  readonly accepted = new Map<K, string[]>();
  private staged: Uint8Array = new Uint8Array(0);

  constructor(protected readonly host: NodeHost) {}
  start(): void {}
  stop(): void {}
  view(): unknown {
    return { conns: [...this.buffers.keys()] };
  }

  stage(bytes: Uint8Array): void {
    this.staged = bytes;
  }

  /** The key an accepted connection is kept under. */
  protected abstract acceptKey(local: Endpoint): K;
  protected abstract command(command: C): void;

  handle(input: NodeInput): void {
    switch (input.kind) {
      case 'command':
        return this.command(input.command as C);
      case 'conn.opened':
        this.opened.add(input.conn);
        return;
      case 'conn.failed':
        this.failed.add(input.conn);
        return;
      case 'conn.accepted': {
        this.buffers.set(input.conn, new ReadBuffer());
        const key = this.acceptKey(input.local);
        this.accepted.set(key, [...(this.accepted.get(key) ?? []), input.conn]);
        return;
      }
      case 'conn.data':
        this.buffers.get(input.conn)?.push(input.bytes);
        return;
      case 'conn.closed': {
        const buffer = this.buffers.get(input.conn);
        if (buffer) buffer.closed = true;
        return;
      }
      case 'conn.tls': {
        const buffer = this.buffers.get(input.conn);
        if (buffer) buffer.tls = input.ok ? 'up' : 'failed';
        return;
      }
      default:
        return;
    }
  }

  /** Connects `conn` to `target`, with a buffer for what comes back. */
  protected connectTo(conn: string, target: Endpoint): void {
    this.buffers.set(conn, new ReadBuffer());
    this.host.emit({ kind: 'connect', conn, target });
  }

  /** Writes the bytes handed over with `stage`. */
  protected writeStaged(conn: string, decoded: string): void {
    this.host.emit({ kind: 'write', conn, bytes: this.staged, decoded });
    this.staged = new Uint8Array(0);
  }
}

/** The peer's node in the World: does what SimPeer commands and keeps what arrives, per connection. */
class ScriptedNode extends BufferingNode<number, PeerCommand> {
  protected acceptKey(local: Endpoint): number {
    return 'port' in local ? local.port : 0;
  }

  protected command(command: PeerCommand): void {
    switch (command.op) {
      case 'connect':
        this.connectTo(command.conn, { host: command.host, port: command.port });
        return;
      case 'listen':
      case 'unlisten':
        this.host.emit({ kind: command.op, endpoint: { host: this.host.hostName, port: command.port } });
        return;
      case 'write':
        this.writeStaged(command.conn, command.decoded);
        return;
      case 'close':
        this.host.emit({ kind: 'close', conn: command.conn });
        return;
      case 'tls':
        this.host.emit({ kind: 'tls.start', conn: command.conn, role: 'client' });
        return;
    }
  }
}

const scriptedProtocol: Protocol<unknown, unknown> = {
  name: 'conformance-peer',
  configSchema: z.unknown(),
  commandSchema: z.unknown(),
  createNode: (host) => new ScriptedNode(host),
};

/** Events a single wait may run: far above any case (a few hundred events), low enough to stop a livelock. */
const waitEventsMax = 200_000;

/**
 * A simulated target: the built-in node (or a fixture that wraps it) on `suite.target.id`, a scripted peer
 * node on `suite.peerHost`, one World with the suite's seed. One per case, so each case has its own trace.
 */
export class SimPeer implements Peer {
  readonly kind = 'sim';
  readonly sim = new Simulator();
  readonly trace: TraceRecorder;
  readonly world: World;
  readonly log: ExchangeEntry[] = [];
  readonly control: TargetControl;
  /** Virtual time: generous, since waiting costs nothing. */
  readonly answerMs = 2_000;
  private readonly startMs: number;
  private scripted: ScriptedNode | undefined;
  private nextConn = 1;
  private nextListener = 1;

  constructor(
    private readonly suite: Suite<Peer>,
    variant: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the node under test's protocol (maybe a broken fixture); its config is the suite's fixture
    private readonly protocol: Protocol<any, any> = suite.builtin,
    caseId = 'case',
    engine: Engine = compiledEngine,
  ) {
    const targetId = suite.target.id;
    const peerId = suite.peerHost;
    this.trace = new TraceRecorder({
      format: 'fedsim-trace',
      version: 1,
      scenario: `conformance/${suite.protocol}/${caseId}`,
      seed: suite.seed,
      protocols: [suite.protocol, scriptedProtocol.name],
      nodes: [
        { id: targetId, host: targetId, protocol: suite.protocol },
        { id: peerId, host: peerId, protocol: scriptedProtocol.name },
      ],
    });
    this.world = new World(this.sim, suite.seed, this.trace, { delayMsMin: 1, delayMsMax: 5 }, engine);
    const config = protocol.configSchema.parse(suite.fixtures[variant]) as unknown;
    this.world.addNode({ id: targetId, protocol, config });
    // The World keeps its nodes private; this protocol object hands the scripted node back as it is created.
    const scripted: Protocol<unknown, unknown> = {
      ...scriptedProtocol,
      createNode: (host) => (this.scripted = new ScriptedNode(host)),
    };
    this.world.addNode({ id: peerId, protocol: scripted, config: {} });
    for (const record of protocol.dnsRecords?.({ id: targetId, hostName: targetId, config, seed: suite.seed }) ?? [])
      this.world.addDnsRecord(record);
    this.world.startAll();
    this.startMs = this.sim.nowMs;
    const world = this.world;
    this.control = {
      command: (command) => world.command(targetId, command),
      outputs: () =>
        this.trace.events
          .filter((e) => e.node === targetId)
          .map(outputOf)
          .filter((o): o is TargetOutput => o !== undefined)
          .map((o) => ({ ...o, atMs: o.atMs - this.startMs })),
      restart: () => {
        world.crash(targetId);
        world.restart(targetId);
        return Promise.resolve();
      },
    };
  }

  private get node(): ScriptedNode {
    return this.scripted ?? this.fail();
  }

  private fail(): never {
    throw new Error('conformance: the scripted peer node is missing');
  }

  nowMs(): number {
    return this.sim.nowMs - this.startMs;
  }

  note(text: string): void {
    this.log.push({ atMs: this.nowMs(), conn: 'case', direction: 'event', text });
  }

  private command(command: PeerCommand): void {
    this.world.command(this.suite.peerHost, command);
  }

  waitUntil(condition: () => boolean, options: { timeoutMs: number }): Promise<boolean> {
    const limits = { timeMsMax: this.sim.nowMs + options.timeoutMs, eventsMax: this.sim.events + waitEventsMax };
    const outcome = this.sim.runUntil(condition, limits);
    // Nothing left to happen: the wait still lasts its whole timeout, as it would on a socket.
    if (outcome.reason === 'quiet') this.sim.runUntilMs(limits.timeMsMax, limits);
    return Promise.resolve(outcome.reason === 'condition');
  }

  sleep(ms: number): Promise<void> {
    this.sim.runUntilMs(this.sim.nowMs + ms, {
      timeMsMax: this.sim.nowMs + ms,
      eventsMax: this.sim.events + waitEventsMax,
    });
    return Promise.resolve();
  }

  async connect(options: { timeoutMs: number }): Promise<Conn | undefined> {
    const id = `c${this.nextConn++}`;
    const node = this.node;
    this.command({ op: 'connect', conn: id, host: this.suite.target.id, port: this.suite.target.port });
    const done = await this.waitUntil(() => node.opened.has(id) || node.failed.has(id), options);
    if (!done || node.failed.has(id)) {
      logEvent(this.log, this.nowMs(), id, 'connect failed');
      return undefined;
    }
    logEvent(this.log, this.nowMs(), id, 'connected');
    return this.conn(id, id);
  }

  listen(port: number): Promise<Listener> {
    const name = `l${this.nextListener++}`;
    const node = this.node;
    this.command({ op: 'listen', port });
    logEvent(this.log, this.nowMs(), name, `listening on ${this.suite.peerHost}:${port}`);
    let accepted = 0;
    const listener: Listener = {
      address: `${this.suite.peerHost}:${port}`,
      accept: async (options) => {
        const ready = await this.waitUntil(() => (node.accepted.get(port)?.length ?? 0) > 0, options);
        if (!ready) return undefined;
        const connId = node.accepted.get(port)?.shift() ?? this.fail();
        const label = `${name}/a${++accepted}`;
        logEvent(this.log, this.nowMs(), label, 'accepted a connection from the target');
        return this.conn(connId, label);
      },
      close: () => {
        this.command({ op: 'unlisten', port });
        return Promise.resolve();
      },
    };
    return Promise.resolve(listener);
  }

  private conn(connId: string, label: string): Conn {
    const node = this.node;
    const buffer = node.buffers.get(connId) ?? this.fail();
    return bufferConn(
      this,
      this.log,
      this.protocol,
      label,
      buffer,
      (bytes, text) => {
        node.stage(bytes);
        this.command({ op: 'write', conn: connId, size: bytes.length, decoded: text });
      },
      () => this.command({ op: 'close', conn: connId }),
      () => this.command({ op: 'tls', conn: connId }),
    );
  }

  /** Ends the trace and returns its NDJSON text. */
  finish(): string {
    this.trace.end(this.sim.nowMs);
    // External node processes exit with the case.
    this.world.shutdown();
    return this.trace.text();
  }
}

/** The exchange line for a finished expectation. */
export function receivedEntry<T>(
  protocol: Protocol<unknown, unknown>,
  label: string,
  expectation: Expectation<T>,
  atMs: number,
): ExchangeEntry {
  if (expectation.ok) {
    const value = expectation.value;
    const text =
      value instanceof Uint8Array
        ? describeBytes(protocol, value)
        : typeof value === 'string'
          ? value
          : stringify(value);
    return { atMs, conn: label, direction: 'received', text: text.length > 600 ? `${text.slice(0, 600)}…` : text };
  }
  const rest = expectation.bytes.length > 0 ? `; unread: ${describeBytes(protocol, expectation.bytes)}` : '';
  return { atMs, conn: label, direction: 'event', text: `${expectation.reason}: ${expectation.message}${rest}` };
}

/** The endpoint of a target in the simulator. */
export function simEndpoint(host: string, port: number): Endpoint {
  return { host, port };
}
