/**
 * What every part of the simulated world shares: the simulator, the run's seed and trace, the
 * network model, the table of hosts and the node runtimes on each, and the few trace helpers every
 * part writes with (message numbers, drops, fault spans). The parts are `World` (world.ts: node
 * runtimes, boot, crash and restart, guards), `Connections` (connections.ts), `Links` (links.ts),
 * `Dns` (dns.ts) and `Faults` (faults.ts); each gets this context and nothing global.
 *
 * Must not: hold behaviour of its own beyond bookkeeping; what a part decides stays in that part.
 */
import type { ConnId, IdSequence, NodeId } from '../core/ids.js';
import type { Prng } from '../core/prng.js';
import type { Ms } from '../core/time.js';
import type { Endpoint, MemoryStore, NodeInput, Protocol, ProtocolNode } from '../protocols/protocol.js';
import type { TraceEventBody } from '../trace/events.js';
import type { TraceRecorder } from '../trace/recorder.js';
import type { ConnEnd } from './connections.js';
import type { Simulator } from './simulator.js';

/** The network model of a run; every field has a default. */
export interface NetworkModel {
  /** One-way latency of a link, drawn uniformly per segment from [delayMsMin, delayMsMax]. */
  readonly delayMsMin: Ms;
  readonly delayMsMax: Ms;
  /** Probability that a datagram is lost. Streams never lose bytes. */
  readonly lossRatio: number;
  /** Probability that a datagram arrives twice. */
  readonly duplicateRatio: number;
  /** How long a connect waits across a partition before it fails with `timeout`. */
  readonly connectTimeoutMs: Ms;
  /** How long a connection survives a partition (with data held) or a crashed peer before it is reset. */
  readonly resetTimeoutMs: Ms;
  /** Latency of a DNS answer. */
  readonly dnsDelayMs: Ms;
  /**
   * Bandwidth of every link, in bytes per virtual ms (each direction its own); absent: unlimited,
   * so a write leaves at once and no connection ever buffers (flow control never acts).
   */
  readonly bytesPerMs?: number;
  /** The flow-control mark nodes read as `NodeHost.writeHighWaterBytes` (Node's default for a socket). */
  readonly writeHighWaterBytes: number;
  /** Per-link overrides (both directions): latency, and optionally bandwidth. */
  readonly links: readonly {
    readonly between: readonly [string, string];
    readonly delayMsMin: Ms;
    readonly delayMsMax: Ms;
    readonly bytesPerMs?: number;
  }[];
}

export const defaultNetwork: NetworkModel = {
  delayMsMin: 1,
  delayMsMax: 20,
  lossRatio: 0,
  duplicateRatio: 0,
  connectTimeoutMs: 3_000,
  resetTimeoutMs: 10_000,
  dnsDelayMs: 5,
  writeHighWaterBytes: 16 * 1024,
  links: [],
};

export interface NodeSpec {
  readonly id: NodeId;
  /** The host the node runs on; defaults to the node id. Several nodes may share a host. */
  readonly host?: string;
  // The world holds nodes of several protocols with different config types; each node's config
  // was validated by its own protocol's schema, so the pairing is sound.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  readonly protocol: Protocol<any, any>;
  readonly config: unknown;
}

/** One declared node: its spec, its durable parts, and the incarnation running now (if any). */
export interface NodeRuntime {
  readonly spec: NodeSpec;
  readonly hostName: string;
  readonly store: MemoryStore;
  readonly random: Prng;
  incarnation: number;
  alive: boolean;
  node: ProtocolNode | undefined;
  skewMs: Ms;
  /**
   * The node's open connection ends. Changed only through `addConn` and `removeConn`: a node with
   * none (most of a big federation, most of the time) shares one empty map instead of keeping its own.
   */
  conns: ReadonlyMap<ConnId, ConnEnd>;
  readonly inboundIds: IdSequence;
  readonly listening: Set<string>;
}

/**
 * The tag of an event that concerns one node only (what the world's lookahead reads: world.ts
 * `scanAhead`): a timer, a segment or FIN arriving, a connection opening or failing, a DNS answer,
 * a user command. The contract, which each place that tags an event keeps: when the event runs, it
 * hands an input to no node but `runtime`'s; it changes nothing that decides whether, what or when
 * another node's events already queued deliver; and whatever else it causes for another node is
 * scheduled at least the world's lookahead window later (a link's latency, a reset timeout).
 */
export interface NodeEvent {
  readonly runtime: NodeRuntime;
  /** The incarnation the event is for; undefined: whichever is up when it runs (a user command). */
  readonly incarnation?: number;
  /**
   * What the node's `prefetch` is given: the very `NodeInput` object the event hands to `handle`,
   * or the function a timer event calls; undefined: the event is not one to give ahead.
   */
  readonly payload?: unknown;
  /** Whether the event, run now, would hand `payload` over (a segment finds its connection still open). */
  readonly deliverable?: () => boolean;
  /**
   * Another node whose steps may still change whether the event hands `payload` over (a SYN's
   * caller, which may give up first): the event is given ahead only if that node has no event
   * before it in the window.
   */
  readonly after?: NodeRuntime;
}

/**
 * A node that can be given an input before its turn (an external process: process/node.ts). Its
 * `handle` (or the timer function) is then called with the same `payload` at the input's turn, and
 * only then does the node's answer take effect; until then it is given nothing else.
 */
export interface PrefetchingNode {
  prefetch(payload: unknown, nowMs: Ms): void;
}

/** The connections of every node that holds none (never changed: `addConn` replaces it first). */
export const noConns: ReadonlyMap<ConnId, ConnEnd> = new Map();

export function addConn(runtime: NodeRuntime, conn: ConnId, end: ConnEnd): void {
  if (runtime.conns === noConns) runtime.conns = new Map([[conn, end]]);
  else (runtime.conns as Map<ConnId, ConnEnd>).set(conn, end);
}

/** Removes `conn`; the last one gone, the node shares the empty map again (an emptied map keeps its table). */
export function removeConn(runtime: NodeRuntime, conn: ConnId): void {
  if (runtime.conns === noConns) return;
  const conns = runtime.conns as Map<ConnId, ConnEnd>;
  conns.delete(conn);
  if (conns.size === 0) runtime.conns = noConns;
}

export function clearConns(runtime: NodeRuntime): void {
  runtime.conns = noConns;
}

/** Hands `input` to the runtime's node if it is still the incarnation `incarnation` (world.ts). */
export type InputFn = (runtime: NodeRuntime, incarnation: number, input: NodeInput) => void;

/** The key a listener is found by: a local socket path, or a TCP port (any host name of the host). */
export function endpointKey(endpoint: Endpoint): string {
  return 'path' in endpoint ? `unix:${endpoint.path}` : `tcp:${endpoint.port}`;
}

export class SimContext {
  readonly network: NetworkModel;
  /** Host name to the runtimes on it, in declaration order. */
  readonly hosts = new Map<string, NodeRuntime[]>();
  private nextMsgId = 1;
  private nextSpan = 1;
  private readonly openSpans = new Map<string, string>();

  constructor(
    readonly sim: Simulator,
    readonly seed: number,
    readonly trace: TraceRecorder,
    network: NetworkModel,
    /** Gives a node an input (the world's guarded `input`). */
    readonly input: InputFn,
  ) {
    this.network = network;
  }

  /** A fresh message number for a `send` (its `receive` or `drop` names the same one). */
  nextMsg(): number {
    return this.nextMsgId++;
  }

  record(node: string, body: TraceEventBody): void {
    this.trace.record(this.sim.nowMs, node, body);
  }

  /** Records that message `msg` will never arrive (nothing for a FIN, message 0). */
  drop(msg: number, to: string, reason: string): void {
    if (msg === 0) return;
    this.record('sim', { kind: 'drop', msg, to, reason });
  }

  /** The live node on `hostName` listening on `key` (see `endpointKey`). */
  listenerOn(hostName: string, key: string): NodeRuntime | undefined {
    return (this.hosts.get(hostName) ?? []).find((runtime) => runtime.alive && runtime.listening.has(key));
  }

  /** Records the begin of a fault span under `key`, unless one is open already. */
  beginSpan(key: string, fault: string, detail: Record<string, unknown>): void {
    if (this.openSpans.has(key)) return;
    const span = `${fault}-${this.nextSpan++}`;
    this.openSpans.set(key, span);
    this.record('sim', { kind: 'fault', fault, phase: 'begin', span, detail });
  }

  /** Records the end of the fault span open under `key`, if any. */
  endSpan(key: string, fault: string, detail: Record<string, unknown>): void {
    const span = this.openSpans.get(key);
    if (span === undefined) return;
    this.openSpans.delete(key);
    this.record('sim', { kind: 'fault', fault, phase: 'end', span, detail });
  }
}
