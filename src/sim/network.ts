/**
 * The simulated world: named hosts running protocol nodes, a DNS zone, links with latency and
 * jitter, stream connections, datagrams, local sockets, and faults, all under the simulator's
 * virtual time and the run's seed. It is the sim host of the sans-IO contract: it builds
 * `NodeInput` values for nodes and carries out their `NodeOutput` values, and it records every
 * step in the trace.
 *
 * Transport model (documented in docs/simulator.md):
 * - Stream connections are ordered and reliable: a segment never overtakes an earlier one on the
 *   same connection and direction. A partition holds segments (TCP retransmits); if the partition
 *   outlasts `resetTimeoutMs`, the connection is reset at both ends. A clog holds segments until
 *   unclogged, with no reset (a slow link, not a broken one).
 * - A connect across a partition or clog fails with `timeout` after `connectTimeoutMs`; to a host
 *   whose node is down or not listening, it is `refused` after one round trip.
 * - Datagrams may be lost (`lossRatio`), duplicated (`duplicateRatio`) and reordered (each copy
 *   draws its own latency). A partition drops them; a clog holds them.
 * - Local sockets (`{ path }` endpoints) connect nodes on the same host, with no latency and no
 *   network faults.
 * - A crashed node's peers see their connections reset `resetTimeoutMs` later; whatever reaches
 *   the crashed node is dropped. A restart builds a new node over the same durable store.
 *
 * Must not: let a node see anything but `NodeInput` values, or draw randomness from anything but
 * the labelled streams below (`link:a>b`, `fault:corrupt:a>b`, `node:<id>`).
 */
import { assert } from '../core/assert.js';
import { IdSequence, type ConnId, type NodeId } from '../core/ids.js';
import { limits } from '../core/limits.js';
import { Prng, streamFor } from '../core/prng.js';
import type { Ms } from '../core/time.js';
import { compiledEngine, type Engine } from '../engine/engine.js';
import type {
  CloseReason,
  ConnectFailure,
  DnsRecord,
  DnsRecordType,
  Endpoint,
  HostClock,
  NodeHost,
  NodeInput,
  NodeOutput,
  Protocol,
  ProtocolNode,
} from '../protocols/protocol.js';
import { MemoryStore } from '../protocols/protocol.js';
import type { TraceEventBody } from '../trace/events.js';
import { payloadOf, type TraceRecorder } from '../trace/recorder.js';
import { rank, type Simulator } from './simulator.js';

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
  /** Per-link latency overrides (both directions). */
  readonly links: readonly {
    readonly between: readonly [string, string];
    readonly delayMsMin: Ms;
    readonly delayMsMax: Ms;
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

export interface Delivery {
  readonly atMs: Ms;
  readonly node: NodeId;
  readonly user: string;
  readonly from: string;
  readonly body: string;
  readonly id?: string;
}

type DnsFailMode = 'servfail' | 'nxdomain' | 'timeout';

interface Segment {
  readonly msg: number;
  readonly bytes: Uint8Array;
  readonly decoded: unknown;
  readonly sentLamport: number;
  /** A FIN: the sender closed its end; no bytes. */
  readonly fin: boolean;
}

interface ConnEnd {
  readonly runtime: NodeRuntime;
  readonly incarnation: number;
  readonly conn: ConnId;
  peer: ConnEnd | undefined;
  state: 'connecting' | 'open' | 'closed';
  /** Segments written before the connection opened. */
  readonly early: Segment[];
  /** Segments held by a partition or clog, in order. */
  readonly held: Segment[];
  /** Arrival time of the latest segment sent toward the peer (keeps the stream ordered). */
  lastArrivalMs: Ms;
  resetTimer: ReturnType<Simulator['at']> | undefined;
}

interface NodeRuntime {
  readonly spec: NodeSpec;
  readonly hostName: string;
  readonly store: MemoryStore;
  readonly random: Prng;
  incarnation: number;
  alive: boolean;
  node: ProtocolNode | undefined;
  skewMs: Ms;
  readonly conns: Map<ConnId, ConnEnd>;
  readonly inboundIds: IdSequence;
  readonly listening: Set<string>;
}

interface Link {
  readonly source: string;
  readonly target: string;
  readonly random: Prng;
  readonly delayMsMin: Ms;
  readonly delayMsMax: Ms;
  blocked: boolean;
  clogged: boolean;
  /** Datagrams held by a clog. */
  readonly heldDatagrams: (() => void)[];
  pendingCorruption: 'corrupt' | 'truncate' | undefined;
  readonly corruptRandom: Prng;
}

function endpointKey(endpoint: Endpoint): string {
  return 'path' in endpoint ? `unix:${endpoint.path}` : `tcp:${endpoint.port}`;
}

function endpointText(endpoint: Endpoint): string {
  return 'path' in endpoint ? `unix:${endpoint.path}` : `${endpoint.host}:${endpoint.port}`;
}

export class World {
  readonly deliveries: Delivery[] = [];
  private readonly runtimes = new Map<NodeId, NodeRuntime>();
  private readonly hosts = new Map<string, NodeRuntime[]>();
  /** Source host to target host to the link: two lookups, no key built per segment. */
  private readonly links = new Map<string, Map<string, Link>>();
  private readonly zone: DnsRecord[] = [];
  private readonly dnsFaults = new Map<string, DnsFailMode>();
  private readonly network: NetworkModel;
  private nextMsg = 1;
  private nextSpan = 1;
  private readonly openSpans = new Map<string, string>();
  /**
   * Connection ends with segments held by a partition or clog, in the order they began holding.
   * Kept apart from the nodes' connection tables because an end its node has closed can still
   * hold data and the FIN that must follow it.
   */
  private readonly holding = new Set<ConnEnd>();

  constructor(
    readonly sim: Simulator,
    readonly seed: number,
    readonly trace: TraceRecorder,
    network: Partial<NetworkModel> = {},
    /** The statechart engine every node's actors run on (handed to each through its host). */
    readonly engine: Engine = compiledEngine,
  ) {
    this.network = { ...defaultNetwork, ...network };
    assert(this.network.delayMsMin <= this.network.delayMsMax, 'delayMsMin must not exceed delayMsMax');
  }

  // ---------------------------------------------------------------------------------------------
  // Building the world.

  addNode(spec: NodeSpec): void {
    assert(!this.runtimes.has(spec.id), `node ${spec.id} declared twice`);
    assert(spec.id !== 'sim', '`sim` is reserved for events of the world itself');
    const hostName = spec.host ?? spec.id;
    const runtime: NodeRuntime = {
      spec,
      hostName,
      store: new MemoryStore(),
      random: streamFor(this.seed, `node:${spec.id}`),
      incarnation: 0,
      alive: false,
      node: undefined,
      skewMs: 0,
      conns: new Map(),
      inboundIds: new IdSequence('in'),
      listening: new Set(),
    };
    this.runtimes.set(spec.id, runtime);
    const onHost = this.hosts.get(hostName) ?? [];
    onHost.push(runtime);
    this.hosts.set(hostName, onHost);
    const published = spec.protocol.dnsRecords?.({ id: spec.id, hostName, config: spec.config, seed: this.seed }) ?? [];
    for (const record of published) this.addDnsRecord(record);
  }

  addDnsRecord(record: DnsRecord): void {
    this.zone.push({ name: record.name.toLowerCase(), type: record.type, value: record.value });
  }

  /** Starts every node at the current instant, in declaration order. */
  startAll(): void {
    for (const runtime of this.runtimes.values()) this.boot(runtime);
  }

  nodeIds(): NodeId[] {
    return [...this.runtimes.keys()];
  }

  hostOf(node: NodeId): string {
    return this.runtime(node).hostName;
  }

  isAlive(node: NodeId): boolean {
    return this.runtime(node).alive;
  }

  view(node: NodeId): unknown {
    return this.runtime(node).node?.view();
  }

  /** The durable store of a node (kept across crash and restart). */
  storeOf(node: NodeId): MemoryStore {
    return this.runtime(node).store;
  }

  // ---------------------------------------------------------------------------------------------
  // User actions and faults (scenario steps and fuzzer commands call these at the current instant).

  command(node: NodeId, command: unknown): void {
    const runtime = this.runtime(node);
    this.record(runtime.spec.id, { kind: 'command', command });
    if (!runtime.alive) {
      this.record(runtime.spec.id, { kind: 'reject', code: 'node.down', reason: `${node} is crashed` });
      return;
    }
    this.input(runtime, runtime.incarnation, { kind: 'command', command });
  }

  /** Cuts the link between the hosts of `a` and `b` (only a -> b when `oneWay`). */
  partition(a: string, b: string, oneWay = false): void {
    const [ha, hb] = [this.hostNameOf(a), this.hostNameOf(b)];
    this.link(ha, hb).blocked = true;
    if (!oneWay) this.link(hb, ha).blocked = true;
    this.beginSpan(`partition:${ha}>${hb}`, 'partition', { between: [ha, hb], oneWay });
  }

  heal(a: string, b: string): void {
    const [ha, hb] = [this.hostNameOf(a), this.hostNameOf(b)];
    this.link(ha, hb).blocked = false;
    this.link(hb, ha).blocked = false;
    this.endSpan(`partition:${ha}>${hb}`, 'partition', { between: [ha, hb] });
    this.endSpan(`partition:${hb}>${ha}`, 'partition', { between: [hb, ha] });
    this.releaseHeld();
  }

  clog(a: string, b: string): void {
    const [ha, hb] = [this.hostNameOf(a), this.hostNameOf(b)];
    this.link(ha, hb).clogged = true;
    this.link(hb, ha).clogged = true;
    this.beginSpan(`clog:${ha}>${hb}`, 'clog', { between: [ha, hb] });
  }

  unclog(a: string, b: string): void {
    const [ha, hb] = [this.hostNameOf(a), this.hostNameOf(b)];
    for (const link of [this.link(ha, hb), this.link(hb, ha)]) {
      link.clogged = false;
      for (const release of link.heldDatagrams.splice(0)) release();
    }
    this.endSpan(`clog:${ha}>${hb}`, 'clog', { between: [ha, hb] });
    this.endSpan(`clog:${hb}>${ha}`, 'clog', { between: [hb, ha] });
    this.releaseHeld();
  }

  /** Crashes a node: volatile state lost, durable store kept, peers reset after `resetTimeoutMs`. */
  crash(node: NodeId): void {
    const runtime = this.runtime(node);
    if (!runtime.alive) return;
    this.beginSpan(`crash:${node}`, 'crash', { node });
    this.record(node, { kind: 'node.crash', incarnation: runtime.incarnation });
    runtime.alive = false;
    runtime.node?.stop();
    runtime.node = undefined;
    runtime.listening.clear();
    const closing = [...this.holding].filter((end) => end.runtime === runtime && !runtime.conns.has(end.conn));
    for (const end of [...runtime.conns.values(), ...closing]) {
      end.state = 'closed';
      this.cancelResetTimer(end);
      this.dropHeld(end, 'crashed');
      const peer = end.peer;
      if (peer && peer.state !== 'closed') {
        this.sim.after(this.network.resetTimeoutMs, rank.network, () => {
          if (peer.state !== 'closed') this.resetEnd(peer);
        });
      }
    }
    runtime.conns.clear();
  }

  restart(node: NodeId): void {
    const runtime = this.runtime(node);
    if (runtime.alive) return;
    this.endSpan(`crash:${node}`, 'crash', { node });
    this.boot(runtime);
  }

  /** Sets a node's clock offset: its `now()` reads virtual time plus `skewMs`. */
  skew(node: NodeId, skewMs: Ms): void {
    this.runtime(node).skewMs = skewMs;
    this.record('sim', { kind: 'fault', fault: 'skew', phase: 'instant', detail: { node, skewMs } });
  }

  /** Flips one byte of the next segment or datagram from `a` to `b`. */
  corruptNext(a: string, b: string, mode: 'corrupt' | 'truncate' = 'corrupt'): void {
    const [ha, hb] = [this.hostNameOf(a), this.hostNameOf(b)];
    this.link(ha, hb).pendingCorruption = mode;
    this.record('sim', { kind: 'fault', fault: mode, phase: 'begin', detail: { between: [ha, hb] } });
  }

  /** Drops a corruption or truncation armed from `a` to `b` that has not acted yet (nothing if none). */
  disarm(a: string, b: string): void {
    const [ha, hb] = [this.hostNameOf(a), this.hostNameOf(b)];
    const link = this.links.get(ha)?.get(hb);
    const mode = link?.pendingCorruption;
    if (link === undefined || mode === undefined) return;
    link.pendingCorruption = undefined;
    this.record('sim', { kind: 'fault', fault: mode, phase: 'end', detail: { between: [ha, hb], disarmed: true } });
  }

  /** DNS answers for `name` fail (`servfail`, `nxdomain`) or never come (`timeout`) until restored. */
  dnsFail(name: string, mode: DnsFailMode = 'servfail'): void {
    this.dnsFaults.set(name.toLowerCase(), mode);
    this.beginSpan(`dns:${name.toLowerCase()}`, 'dns', { name: name.toLowerCase(), mode });
  }

  dnsRestore(name: string): void {
    this.dnsFaults.delete(name.toLowerCase());
    this.endSpan(`dns:${name.toLowerCase()}`, 'dns', { name: name.toLowerCase() });
  }

  // ---------------------------------------------------------------------------------------------
  // Node lifecycle and the NodeHost each incarnation gets.

  private boot(runtime: NodeRuntime): void {
    runtime.incarnation += 1;
    runtime.alive = true;
    const incarnation = runtime.incarnation;
    const clock: HostClock = {
      setTimeout: (fn, timeoutMs) =>
        this.sim.after(Math.max(0, Math.round(timeoutMs)), rank.timer, () => {
          if (!runtime.alive || runtime.incarnation !== incarnation) return;
          // xstate does not say which delayed event a timer carries; its delay is what the trace can tell.
          if (this.trace.wants('timer')) {
            this.record(runtime.spec.id, { kind: 'timer', name: `after ${Math.round(timeoutMs)}ms` });
          } else this.trace.skip(runtime.spec.id);
          this.guard(runtime, fn);
        }),
      clearTimeout: (handle) => this.sim.cancel(handle as ReturnType<Simulator['at']>),
    };
    const host: NodeHost = {
      id: runtime.spec.id,
      hostName: runtime.hostName,
      now: () => this.sim.nowMs + runtime.skewMs,
      clock,
      engine: this.engine,
      random: runtime.random,
      store: runtime.store,
      emit: (output) => {
        if (runtime.alive && runtime.incarnation === incarnation) this.output(runtime, output);
      },
      stateChanged: (machine, value) => {
        if (runtime.alive && runtime.incarnation === incarnation) {
          this.record(runtime.spec.id, { kind: 'state', machine, value });
        }
      },
    };
    this.record(runtime.spec.id, { kind: 'node.start', incarnation });
    this.guard(runtime, () => {
      runtime.node = runtime.spec.protocol.createNode(host, runtime.spec.config);
      runtime.node.start();
    });
  }

  /**
   * Runs node code. A node that throws has a bug (peer input must never make it throw): the
   * exception is recorded as a violation and the node is crashed, so the run goes on and the
   * checkers and fuzzer see it.
   */
  private guard(runtime: NodeRuntime, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.record(runtime.spec.id, {
        kind: 'check',
        requirement: 'node-never-throws',
        verdict: 'violation',
        message: `node threw ${message}`,
      });
      this.crash(runtime.spec.id);
    }
  }

  private input(runtime: NodeRuntime, incarnation: number, input: NodeInput): void {
    if (!runtime.alive || runtime.incarnation !== incarnation) return;
    const node = runtime.node;
    if (node) this.guard(runtime, () => node.handle(input));
  }

  private output(runtime: NodeRuntime, output: NodeOutput): void {
    const id = runtime.spec.id;
    switch (output.kind) {
      case 'listen':
        runtime.listening.add(endpointKey(output.endpoint));
        this.record(id, { kind: 'listen', endpoint: endpointText(output.endpoint) });
        return;
      case 'unlisten':
        runtime.listening.delete(endpointKey(output.endpoint));
        this.record(id, { kind: 'unlisten', endpoint: endpointText(output.endpoint) });
        return;
      case 'connect':
        return this.connect(runtime, output.conn, output.target);
      case 'write':
        return this.write(runtime, output.conn, output.bytes, output.decoded);
      case 'close':
        return this.close(runtime, output.conn);
      case 'datagram.send':
        return this.sendDatagram(runtime, output.port, output.target, output.bytes, output.decoded);
      case 'dns.query':
        return this.dnsQuery(runtime, output.query, output.name, output.type);
      case 'deliver': {
        const delivery: Delivery = {
          atMs: this.sim.nowMs,
          node: id,
          user: output.user,
          from: output.from,
          body: output.body,
          ...(output.id === undefined ? {} : { id: output.id }),
        };
        this.deliveries.push(delivery);
        this.record(id, {
          kind: 'deliver',
          user: output.user,
          from: output.from,
          body: output.body,
          ...(output.id === undefined ? {} : { id: output.id }),
          ...(output.detail === undefined ? {} : { detail: output.detail }),
        });
        return;
      }
      case 'reject':
        this.record(id, {
          kind: 'reject',
          code: output.code,
          reason: output.reason,
          ...(output.detail === undefined ? {} : { detail: output.detail }),
        });
        return;
      case 'note':
        this.record(id, {
          kind: 'note',
          what: output.what,
          ...(output.detail === undefined ? {} : { detail: output.detail }),
        });
        return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Stream connections.

  private connect(runtime: NodeRuntime, conn: ConnId, target: Endpoint): void {
    const id = runtime.spec.id;
    assert(!runtime.conns.has(conn), `${id} reused connection id ${conn}`);
    assert(runtime.conns.size < limits.connectionsPerNodeMax, `${id} holds too many connections`);
    const incarnation = runtime.incarnation;
    const end: ConnEnd = {
      runtime,
      incarnation,
      conn,
      peer: undefined,
      state: 'connecting',
      early: [],
      held: [],
      lastArrivalMs: 0,
      resetTimer: undefined,
    };
    runtime.conns.set(conn, end);
    this.record(id, { kind: 'conn.connect', conn, target: endpointText(target) });

    const fail = (reason: ConnectFailure, delayMs: Ms) => {
      this.sim.after(delayMs, rank.network, () => {
        if (end.state !== 'connecting') return;
        end.state = 'closed';
        runtime.conns.delete(conn);
        if (!runtime.alive || runtime.incarnation !== incarnation) return;
        this.record(id, { kind: 'conn.refuse', conn, target: endpointText(target), reason });
        for (const segment of end.early.splice(0)) this.drop(segment.msg, endpointText(target), reason);
        this.input(runtime, incarnation, { kind: 'conn.failed', conn, reason });
      });
    };

    const targetHost = 'path' in target ? runtime.hostName : this.resolveHost(target.host);
    if (targetHost === undefined) return fail('unresolved', 0);
    const local = targetHost === runtime.hostName;
    const forward = local ? undefined : this.link(runtime.hostName, targetHost);
    const backward = local ? undefined : this.link(targetHost, runtime.hostName);
    if (forward && backward && (forward.blocked || forward.clogged || backward.blocked || backward.clogged)) {
      return fail('timeout', this.network.connectTimeoutMs);
    }
    const key = endpointKey(target);
    const there = forward ? this.delayOf(forward) : 0;
    this.sim.after(there, rank.network, () => {
      // The caller crashed or gave up before its SYN arrived: nothing is left to accept (a real
      // stack would answer the SYN-ACK with a reset), so the listener never sees a half-open connection.
      if (end.state !== 'connecting') return;
      const listener = (this.hosts.get(targetHost) ?? []).find((r) => r.alive && r.listening.has(key));
      const back = backward ? this.delayOf(backward) : 0;
      if (!listener) return fail('refused', back);
      const accepted = listener.inboundIds.next();
      const peer: ConnEnd = {
        runtime: listener,
        incarnation: listener.incarnation,
        conn: accepted,
        peer: end,
        state: 'open',
        early: [],
        held: [],
        lastArrivalMs: 0,
        resetTimer: undefined,
      };
      listener.conns.set(accepted, peer);
      end.peer = peer;
      end.lastArrivalMs = this.sim.nowMs;
      // Data from the acceptor must not reach the opener before it learns the connection is open:
      // the open event is scheduled first, and the acceptor's segments arrive no earlier.
      peer.lastArrivalMs = this.sim.nowMs + back;
      this.sim.after(back, rank.network, () => {
        if (end.state !== 'connecting') return;
        if (!runtime.alive || runtime.incarnation !== incarnation) return;
        end.state = 'open';
        this.record(id, { kind: 'conn.open', conn, peer: listener.spec.id, peerConn: accepted });
        this.input(runtime, incarnation, { kind: 'conn.opened', conn });
        for (const segment of end.early.splice(0)) this.transmit(end, segment);
      });
      this.record(listener.spec.id, { kind: 'conn.accept', conn: accepted, peer: id, peerConn: conn });
      this.input(listener, listener.incarnation, {
        kind: 'conn.accepted',
        conn: accepted,
        local: target,
        remote: local ? 'local' : runtime.hostName,
      });
    });
  }

  private write(runtime: NodeRuntime, conn: ConnId, bytes: Uint8Array, decoded: unknown): void {
    assert(bytes.length <= limits.writeBytesMax, `${runtime.spec.id} wrote ${bytes.length} bytes at once`);
    const end = runtime.conns.get(conn);
    const to = end?.peer?.runtime.spec.id ?? '?';
    const msg = this.nextMsg++;
    // Payloads (base64, and the protocol's decoding) are built only when the trace reads them. The
    // decoding is worked out once, so that the send and its receive show the same thing.
    let described = decoded;
    if (this.trace.wants('send')) {
      described = decoded ?? runtime.spec.protocol.describe?.(bytes);
      this.record(runtime.spec.id, {
        kind: 'send',
        msg,
        transport: 'stream',
        conn,
        to,
        payload: payloadOf(bytes, described),
      });
    } else this.trace.skip(runtime.spec.id);
    const segment: Segment = {
      msg,
      bytes,
      decoded: described,
      sentLamport: this.trace.lamportOf(runtime.spec.id),
      fin: false,
    };
    if (!end || end.state === 'closed') return this.drop(msg, to, 'not-open');
    if (end.state === 'connecting') {
      end.early.push(segment);
      return;
    }
    this.transmit(end, segment);
  }

  private close(runtime: NodeRuntime, conn: ConnId): void {
    const end = runtime.conns.get(conn);
    if (!end || end.state === 'closed') return;
    const wasConnecting = end.state === 'connecting';
    end.state = 'closed';
    runtime.conns.delete(conn);
    this.record(runtime.spec.id, { kind: 'conn.close', conn, reason: 'closed' });
    if (wasConnecting) return;
    this.transmit(end, { msg: 0, bytes: new Uint8Array(0), decoded: undefined, sentLamport: 0, fin: true });
  }

  /** Sends a segment (or FIN) from `end` toward its peer, holding it if the link is cut or clogged. */
  private transmit(end: ConnEnd, segment: Segment): void {
    const peer = end.peer;
    assert(peer !== undefined, 'transmit on a connection without a peer');
    const link = this.linkBetween(end.runtime, peer.runtime);
    if (link && (link.blocked || link.clogged || end.held.length > 0)) {
      end.held.push(segment);
      this.holding.add(end);
      assert(end.held.length <= limits.heldSegmentsPerLinkMax, 'too many held segments on one connection');
      if (link.blocked && end.resetTimer === undefined) {
        end.resetTimer = this.sim.after(this.network.resetTimeoutMs, rank.network, () => {
          end.resetTimer = undefined;
          if (end.held.length > 0) this.resetConnection(end);
        });
      }
      return;
    }
    let bytes = segment.bytes;
    let corrupted = false;
    if (link?.pendingCorruption && !segment.fin && bytes.length > 0) {
      bytes = this.corrupt(link, bytes);
      corrupted = true;
    }
    const arrivalMs = Math.max(this.sim.nowMs + (link ? this.delayOf(link) : 0), end.lastArrivalMs);
    end.lastArrivalMs = arrivalMs;
    const from = end.runtime.spec.id;
    this.sim.at(arrivalMs, rank.network, () => {
      const target = peer.runtime;
      if (peer.state === 'closed' || !target.alive || target.incarnation !== peer.incarnation) {
        if (!segment.fin) this.drop(segment.msg, target.spec.id, target.alive ? 'reset' : 'crashed');
        return;
      }
      if (segment.fin) {
        peer.state = 'closed';
        target.conns.delete(peer.conn);
        this.cancelResetTimer(peer);
        this.record(target.spec.id, { kind: 'conn.close', conn: peer.conn, reason: 'closed' });
        this.input(target, peer.incarnation, { kind: 'conn.closed', conn: peer.conn, reason: 'closed' });
        return;
      }
      if (this.trace.wants('receive')) {
        this.record(target.spec.id, {
          kind: 'receive',
          msg: segment.msg,
          transport: 'stream',
          conn: peer.conn,
          from,
          sentLamport: segment.sentLamport,
          payload: payloadOf(bytes, corrupted ? target.spec.protocol.describe?.(bytes) : segment.decoded),
        });
      } else this.trace.skip(target.spec.id, segment.sentLamport);
      this.input(target, peer.incarnation, { kind: 'conn.data', conn: peer.conn, bytes });
    });
  }

  /** Sends what partitions and clogs held, in order, on every link that is passable again. */
  private releaseHeld(): void {
    for (const end of [...this.holding]) {
      if (!end.peer) continue;
      const link = this.linkBetween(end.runtime, end.peer.runtime);
      if (link && (link.blocked || link.clogged)) continue;
      this.cancelResetTimer(end);
      this.holding.delete(end);
      const held = end.held.splice(0);
      for (const segment of held) this.transmit(end, segment);
    }
  }

  /** A partition outlasted the reset timeout on `end`'s held data: both ends are reset. */
  private resetConnection(end: ConnEnd): void {
    this.dropHeld(end, 'reset');
    this.resetEnd(end);
    if (end.peer && end.peer.state !== 'closed') this.resetEnd(end.peer);
  }

  private dropHeld(end: ConnEnd, reason: string): void {
    this.holding.delete(end);
    for (const segment of end.held.splice(0)) this.drop(segment.msg, end.peer?.runtime.spec.id ?? '?', reason);
  }

  private resetEnd(end: ConnEnd): void {
    if (end.state === 'closed') return;
    end.state = 'closed';
    this.cancelResetTimer(end);
    const runtime = end.runtime;
    runtime.conns.delete(end.conn);
    this.dropHeld(end, 'reset');
    if (!runtime.alive || runtime.incarnation !== end.incarnation) return;
    const reason: CloseReason = 'reset';
    this.record(runtime.spec.id, { kind: 'conn.close', conn: end.conn, reason });
    this.input(runtime, end.incarnation, { kind: 'conn.closed', conn: end.conn, reason });
  }

  private cancelResetTimer(end: ConnEnd): void {
    if (end.resetTimer) {
      this.sim.cancel(end.resetTimer);
      end.resetTimer = undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Datagrams.

  private sendDatagram(
    runtime: NodeRuntime,
    port: number,
    target: { host: string; port: number },
    bytes: Uint8Array,
    decoded: unknown,
  ): void {
    const from = runtime.spec.id;
    const msg = this.nextMsg++;
    const targetHost = this.resolveHost(target.host);
    const receiver = targetHost === undefined ? undefined : this.listenerOn(targetHost, `tcp:${target.port}`);
    const to = receiver?.spec.id ?? `${target.host}:${target.port}`;
    if (this.trace.wants('send')) {
      this.record(from, {
        kind: 'send',
        msg,
        transport: 'datagram',
        to,
        payload: payloadOf(bytes, decoded ?? runtime.spec.protocol.describe?.(bytes)),
      });
    } else this.trace.skip(from);
    if (targetHost === undefined) return this.drop(msg, to, 'unresolved');
    const sentLamport = this.trace.lamportOf(from);
    const link = targetHost === runtime.hostName ? undefined : this.link(runtime.hostName, targetHost);
    if (link?.blocked) return this.drop(msg, to, 'partition');
    if (link && link.random.chance(this.network.lossRatio)) return this.drop(msg, to, 'loss');
    const copies = link && link.random.chance(this.network.duplicateRatio) ? 2 : 1;
    const source = { host: runtime.hostName, port };
    const launch = () => {
      for (let copy = 0; copy < copies; copy++) {
        let payload = bytes;
        let corrupted = false;
        if (link?.pendingCorruption && payload.length > 0) {
          payload = this.corrupt(link, payload);
          corrupted = true;
        }
        const delayMs = link ? this.delayOf(link) : 0;
        this.sim.after(delayMs, rank.network, () => {
          const listener = this.listenerOn(targetHost, `tcp:${target.port}`);
          if (!listener) return this.drop(msg, to, 'no-listener');
          if (copy > 0) this.record(listener.spec.id, { kind: 'duplicate', msg, to: listener.spec.id });
          if (this.trace.wants('receive')) {
            this.record(listener.spec.id, {
              kind: 'receive',
              msg,
              transport: 'datagram',
              from,
              sentLamport,
              payload: payloadOf(payload, corrupted ? listener.spec.protocol.describe?.(payload) : decoded),
            });
          } else this.trace.skip(listener.spec.id, sentLamport);
          this.input(listener, listener.incarnation, { kind: 'datagram', source, port: target.port, bytes: payload });
        });
      }
    };
    if (link?.clogged) {
      link.heldDatagrams.push(launch);
      return;
    }
    launch();
  }

  // ---------------------------------------------------------------------------------------------
  // DNS.

  private dnsQuery(runtime: NodeRuntime, query: string, rawName: string, type: DnsRecordType): void {
    const id = runtime.spec.id;
    const name = rawName.toLowerCase();
    const incarnation = runtime.incarnation;
    this.record(id, { kind: 'dns.query', query, name, type });
    const fault = this.dnsFaults.get(name);
    if (fault === 'timeout') return;
    this.sim.after(this.network.dnsDelayMs, rank.network, () => {
      if (!runtime.alive || runtime.incarnation !== incarnation) return;
      const named = this.zone.filter((record) => record.name === name);
      const records = named.filter((record) => record.type === type).map((record) => record.value);
      const status = fault ?? (named.length === 0 ? 'nxdomain' : 'ok');
      const answer = status === 'ok' ? records : [];
      this.record(id, { kind: 'dns.answer', query, name, type, status, records: answer });
      this.input(runtime, incarnation, { kind: 'dns.answer', query, name, type, status, records: answer });
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers.

  private runtime(node: NodeId): NodeRuntime {
    const runtime = this.runtimes.get(node);
    assert(runtime !== undefined, `unknown node ${node}`);
    return runtime;
  }

  /** A node id or a host name, as the scenario names either. */
  private hostNameOf(name: string): string {
    return (
      this.runtimes.get(name)?.hostName ?? (this.hosts.has(name) ? name : this.fail(`unknown node or host ${name}`))
    );
  }

  private fail(message: string): never {
    assert(false, message);
  }

  /** A host name or an A-record name to a host of the world; undefined when nothing answers to it. */
  private resolveHost(name: string): string | undefined {
    const lower = name.toLowerCase();
    if (this.hosts.has(lower)) return lower;
    if (this.hosts.has(name)) return name;
    const address = this.zone.find((record) => record.type === 'A' && record.name === lower)?.value;
    return address !== undefined && this.hosts.has(address) ? address : undefined;
  }

  private listenerOn(hostName: string, key: string): NodeRuntime | undefined {
    return (this.hosts.get(hostName) ?? []).find((runtime) => runtime.alive && runtime.listening.has(key));
  }

  private link(source: string, target: string): Link {
    let fromSource = this.links.get(source);
    if (!fromSource) {
      fromSource = new Map();
      this.links.set(source, fromSource);
    }
    let link = fromSource.get(target);
    if (!link) {
      const key = `${source}>${target}`;
      const override = this.network.links.find(
        (l) =>
          (l.between[0] === source && l.between[1] === target) || (l.between[0] === target && l.between[1] === source),
      );
      link = {
        source,
        target,
        random: streamFor(this.seed, `link:${key}`),
        delayMsMin: override?.delayMsMin ?? this.network.delayMsMin,
        delayMsMax: override?.delayMsMax ?? this.network.delayMsMax,
        blocked: false,
        clogged: false,
        heldDatagrams: [],
        pendingCorruption: undefined,
        corruptRandom: streamFor(this.seed, `fault:corrupt:${key}`),
      };
      fromSource.set(target, link);
    }
    return link;
  }

  private linkBetween(a: NodeRuntime, b: NodeRuntime): Link | undefined {
    return a.hostName === b.hostName ? undefined : this.link(a.hostName, b.hostName);
  }

  private delayOf(link: Link): Ms {
    return link.random.int(link.delayMsMin, link.delayMsMax);
  }

  private corrupt(link: Link, bytes: Uint8Array): Uint8Array {
    const mode = link.pendingCorruption;
    link.pendingCorruption = undefined;
    const detail = { between: [link.source, link.target] };
    if (mode === 'truncate') {
      this.record('sim', {
        kind: 'fault',
        fault: 'truncate',
        phase: 'end',
        detail: { ...detail, keptBytes: bytes.length >> 1 },
      });
      return bytes.slice(0, bytes.length >> 1);
    }
    const copy = bytes.slice();
    const at = link.corruptRandom.int(0, copy.length - 1);
    copy[at] = (copy[at] ?? 0) ^ link.corruptRandom.int(1, 255);
    this.record('sim', { kind: 'fault', fault: 'corrupt', phase: 'end', detail: { ...detail, offset: at } });
    return copy;
  }

  private drop(msg: number, to: string, reason: string): void {
    if (msg === 0) return;
    this.record('sim', { kind: 'drop', msg, to, reason });
  }

  private record(node: string, body: TraceEventBody): void {
    this.trace.record(this.sim.nowMs, node, body);
  }

  private beginSpan(key: string, fault: string, detail: Record<string, unknown>): void {
    if (this.openSpans.has(key)) return;
    const span = `${fault}-${this.nextSpan++}`;
    this.openSpans.set(key, span);
    this.record('sim', { kind: 'fault', fault, phase: 'begin', span, detail });
  }

  private endSpan(key: string, fault: string, detail: Record<string, unknown>): void {
    const span = this.openSpans.get(key);
    if (span === undefined) return;
    this.openSpans.delete(key);
    this.record('sim', { kind: 'fault', fault, phase: 'end', span, detail });
  }
}
