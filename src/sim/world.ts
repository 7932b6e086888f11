/**
 * The simulated world: named hosts running protocol nodes under the simulator's virtual time and
 * the run's seed. It is the sim host of the sans-IO contract, and the one object scenarios, the
 * fuzzer, the conformance peer and the bench drive.
 *
 * This module keeps the node runtimes: it boots each incarnation with its `NodeHost` (clock,
 * random stream, durable store, `emit`, the flow-control reading `bufferedBytes`), crashes and
 * restarts nodes, runs all node code under a guard, and routes each output to the part that carries it out:
 *
 * | output | goes to |
 * |---|---|
 * | `listen`, `unlisten`, `connect`, `write`, `close`, `tls.start`, `datagram.send` | connections.ts |
 * | `dns.query` | dns.ts |
 * | `deliver`, `reject`, `note` | the trace (`recordOutput`, trace/record-output.ts); deliveries also to `deliveries` |
 *
 * Scenario steps and fuzzer commands call the methods below at the current instant: `command` and
 * `crash` / `restart` act here; `partition`, `heal`, `clog`, `unclog` on links.ts; `skew`,
 * `corruptNext`, `disarm`, `dnsFail`, `dnsRestore`, `tlsFail`, `tlsRestore` on faults.ts. The transport model is in
 * docs/simulator.md.
 *
 * Must not: let a node see anything but `NodeInput` values, or draw randomness from anything but
 * the labelled streams (`link:a>b`, `fault:corrupt:a>b`, `node:<id>`).
 */
import { assert } from '../core/assert.js';
import { ProcessNodeError } from '../core/errors.js';
import { IdSequence, type ConnId, type NodeId } from '../core/ids.js';
import { streamFor } from '../core/prng.js';
import type { Ms } from '../core/time.js';
import { compiledEngine, type Engine } from '../engine/engine.js';
import type { DnsRecord, HostClock, NodeHost, NodeInput, NodeOutput } from '../protocols/protocol.js';
import { MemoryStore } from '../protocols/protocol.js';
import { isReport, recordOutput } from '../trace/record-output.js';
import type { TraceRecorder } from '../trace/recorder.js';
import { Connections } from './connections.js';
import {
  defaultNetwork,
  noConns,
  SimContext,
  type NetworkModel,
  type NodeEvent,
  type NodeRuntime,
  type NodeSpec,
  type PrefetchingNode,
} from './context.js';
import { Dns } from './dns.js';
import { Faults, type ByteFault, type DnsFailMode } from './faults.js';
import { Links } from './links.js';
import { rank, type Scheduled, type Simulator } from './simulator.js';

export { defaultNetwork, type NetworkModel, type NodeSpec } from './context.js';

export interface Delivery {
  readonly atMs: Ms;
  readonly node: NodeId;
  readonly user: string;
  readonly from: string;
  readonly body: string;
  readonly id?: string;
}

/** The world's parts a node's host calls (private to World, so handed over as functions). */
interface HostParts {
  readonly world: World;
  readonly output: (runtime: NodeRuntime, output: NodeOutput) => void;
  readonly guard: (runtime: NodeRuntime, fn: () => void) => void;
  readonly bufferedBytes: (runtime: NodeRuntime, conn: ConnId) => number;
}

/**
 * The `NodeHost` one incarnation of a node gets, and its timer clock. Methods on a shared
 * prototype rather than closures made per node (a federation has a million hosts). Everything it
 * does is dropped once the incarnation is over (crashed, or a newer one booted); its timers are
 * simulator events that do nothing then.
 */
class SimNodeHost implements NodeHost, HostClock {
  readonly id: NodeId;
  readonly hostName: string;
  readonly engine: Engine;
  readonly random: NodeHost['random'];
  readonly store: NodeHost['store'];
  readonly writeHighWaterBytes: number;

  constructor(
    private readonly parts: HostParts,
    private readonly runtime: NodeRuntime,
    private readonly incarnation: number,
  ) {
    this.id = runtime.spec.id;
    this.hostName = runtime.hostName;
    this.engine = parts.world.engine;
    this.random = runtime.random;
    this.store = runtime.store;
    this.writeHighWaterBytes = parts.world.network.writeHighWaterBytes;
  }

  /** xstate's clock for this incarnation: the host itself. */
  get clock(): HostClock {
    return this;
  }

  private current(): boolean {
    return this.runtime.alive && this.runtime.incarnation === this.incarnation;
  }

  now(): Ms {
    return this.parts.world.sim.nowMs + this.runtime.skewMs;
  }

  emit(output: NodeOutput): void {
    if (this.current()) this.parts.output(this.runtime, output);
  }

  bufferedBytes(conn: ConnId): number {
    return this.current() ? this.parts.bufferedBytes(this.runtime, conn) : 0;
  }

  stateChanged(machine: string, value: string): void {
    if (!this.current()) return;
    const { trace, sim } = this.parts.world;
    if (trace.wants('state')) trace.record(sim.nowMs, this.id, { kind: 'state', machine, value });
    else trace.skip(this.id);
  }

  /** Timers are simulator events, dead once the incarnation is over. */
  setTimeout(fn: () => void, timeoutMs: number): unknown {
    const { world, guard } = this.parts;
    const { runtime, incarnation } = this;
    const tag: NodeEvent = { runtime, incarnation, payload: fn };
    return world.sim.after(
      Math.max(0, Math.round(timeoutMs)),
      rank.timer,
      () => {
        if (!runtime.alive || runtime.incarnation !== incarnation) return;
        // xstate does not say which delayed event a timer carries; its delay is what the trace can tell.
        const trace = world.trace;
        if (trace.wants('timer')) {
          trace.record(world.sim.nowMs, runtime.spec.id, { kind: 'timer', name: `after ${Math.round(timeoutMs)}ms` });
        } else trace.skip(runtime.spec.id);
        guard(runtime, fn);
      },
      tag,
    );
  }

  clearTimeout(handle: unknown): void {
    this.parts.world.sim.cancel(handle as ReturnType<Simulator['at']>);
  }
}

/**
 * Whether worlds with external node processes look ahead (`World.scanAhead`). On by default; off
 * runs every step as one exchange after another (tests compare the two, the bench measures both).
 */
export const processLookahead = { enabled: true };

export class World {
  readonly deliveries: Delivery[] = [];
  private readonly runtimes = new Map<NodeId, NodeRuntime>();
  private readonly ctx: SimContext;
  private readonly links: Links;
  private readonly faults: Faults;
  private readonly dns: Dns;
  private readonly connections: Connections;

  constructor(
    readonly sim: Simulator,
    readonly seed: number,
    readonly trace: TraceRecorder,
    network: Partial<NetworkModel> = {},
    /** The statechart engine every node's actors run on (handed to each through its host). */
    readonly engine: Engine = compiledEngine,
  ) {
    const model = { ...defaultNetwork, ...network };
    assert(model.delayMsMin <= model.delayMsMax, 'delayMsMin must not exceed delayMsMax');
    this.ctx = new SimContext(sim, seed, trace, model, (runtime, incarnation, input) =>
      this.input(runtime, incarnation, input),
    );
    this.links = new Links(this.ctx);
    this.faults = new Faults(this.ctx, this.links);
    this.dns = new Dns(this.ctx, this.faults);
    this.connections = new Connections(this.ctx, this.links, this.dns, this.faults);
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
      conns: noConns,
      inboundIds: new IdSequence('in'),
      listening: new Set(),
    };
    this.runtimes.set(spec.id, runtime);
    const hosts = this.ctx.hosts;
    // A host's first node makes its list at its exact size (a list grown from empty by a push has
    // room for 17: a big federation has a host per node).
    const onHost = hosts.get(hostName);
    if (onHost) {
      onHost.push(runtime);
      // Nodes on one host reach each other at once (local sockets): no lookahead window is safe.
      this.sharedHost = true;
      this.sim.setLookahead(undefined);
    } else hosts.set(hostName, [runtime]);
    const published = spec.protocol.dnsRecords?.({ id: spec.id, hostName, config: spec.config, seed: this.seed }) ?? [];
    for (const record of published) this.addDnsRecord(record);
  }

  addDnsRecord(record: DnsRecord): void {
    this.dns.add(record);
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

  /**
   * Stops every live node without recording anything (the run is over): each is told to finish
   * (external node processes get a `stop` input), then stopped. Call it once the run's last event is done; the world is not used afterwards.
   */
  shutdown(): void {
    for (const runtime of this.runtimes.values()) {
      if (!runtime.alive) continue;
      const node = runtime.node;
      // A node that throws while finishing or stopping at the end of a run has nothing left to spoil.
      try {
        node?.finish?.();
      } catch {
        // As above.
      }
      try {
        node?.stop();
      } catch {
        // As above.
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // User actions and faults (scenario steps and fuzzer commands call these at the current instant).

  /**
   * Gives `node` a user command. `scheduled`: the tag `commandEvent` made for the step that calls
   * this, whose input object it hands over (so that the lookahead may give it ahead).
   */
  command(node: NodeId, command: unknown, scheduled?: unknown): void {
    const runtime = this.runtime(node);
    this.ctx.record(runtime.spec.id, { kind: 'command', command });
    if (!runtime.alive) {
      this.ctx.record(runtime.spec.id, { kind: 'reject', code: 'node.down', reason: `${node} is crashed` });
      return;
    }
    const input = (scheduled as NodeEvent | undefined)?.payload as NodeInput | undefined;
    this.input(runtime, runtime.incarnation, input ?? { kind: 'command', command });
  }

  /**
   * The lookahead's tag for a scheduled user command to `node` (the event's `sim.at` takes it, and
   * the event passes it to `command`): a command hands an input to that node only.
   */
  commandEvent(node: NodeId, command: unknown): unknown {
    const input: NodeInput = { kind: 'command', command };
    const tag: NodeEvent = { runtime: this.runtime(node), payload: input };
    return tag;
  }

  /** Cuts the link between the hosts of `a` and `b` (only a -> b when `oneWay`). */
  partition(a: string, b: string, oneWay = false): void {
    this.links.partition(this.hostNameOf(a), this.hostNameOf(b), oneWay);
  }

  heal(a: string, b: string): void {
    this.links.heal(this.hostNameOf(a), this.hostNameOf(b));
    this.connections.releaseHeld();
  }

  clog(a: string, b: string): void {
    this.links.clog(this.hostNameOf(a), this.hostNameOf(b));
  }

  unclog(a: string, b: string): void {
    this.links.unclog(this.hostNameOf(a), this.hostNameOf(b));
    this.connections.releaseHeld();
  }

  /** Crashes a node: volatile state lost, durable store kept, peers reset after `resetTimeoutMs`. */
  crash(node: NodeId): void {
    const runtime = this.runtime(node);
    if (!runtime.alive) return;
    this.ctx.beginSpan(`crash:${node}`, 'crash', { node });
    this.ctx.record(node, { kind: 'node.crash', incarnation: runtime.incarnation });
    runtime.alive = false;
    runtime.node?.stop();
    runtime.node = undefined;
    runtime.listening.clear();
    this.connections.crashed(runtime);
  }

  /**
   * Stops a node gracefully, as an operator would: it is told to finish first (an external process
   * gets the `stop` input, may still write its durable store, and exits; a built-in node's
   * `finish`), then its connections are closed (FIN after what was written, as the kernel does
   * when a process exits: peers see them close at once, not after the reset timeout) and its
   * listeners go. Durable store kept; `restart` boots it again. Unlike `crash`, not a fault.
   */
  stop(node: NodeId): void {
    const runtime = this.runtime(node);
    if (!runtime.alive) return;
    const stopping = runtime.node;
    if (stopping?.finish) this.guard(runtime, () => stopping.finish?.());
    // A node that threw while finishing was crashed by the guard.
    if (!runtime.alive) return;
    this.ctx.record(node, { kind: 'node.stop', incarnation: runtime.incarnation });
    for (const conn of [...runtime.conns.keys()]) this.connections.close(runtime, conn);
    runtime.alive = false;
    runtime.node?.stop();
    runtime.node = undefined;
    runtime.listening.clear();
  }

  restart(node: NodeId): void {
    const runtime = this.runtime(node);
    if (runtime.alive) return;
    this.ctx.endSpan(`crash:${node}`, 'crash', { node });
    this.boot(runtime);
  }

  /** Sets a node's clock offset: its `now()` reads virtual time plus `skewMs`. */
  skew(node: NodeId, skewMs: Ms): void {
    this.faults.skew(this.runtime(node), skewMs);
  }

  /** Flips one byte of (or truncates) the next segment or datagram from `a` to `b`. */
  corruptNext(a: string, b: string, mode: ByteFault = 'corrupt'): void {
    this.faults.corruptNext(this.hostNameOf(a), this.hostNameOf(b), mode);
  }

  /** Drops a corruption or truncation armed from `a` to `b` that has not acted yet (nothing if none). */
  disarm(a: string, b: string): void {
    this.faults.disarm(this.hostNameOf(a), this.hostNameOf(b));
  }

  /** DNS answers for `name` fail (`servfail`, `nxdomain`) or never come (`timeout`) until restored. */
  dnsFail(name: string, mode: DnsFailMode = 'servfail'): void {
    this.faults.dnsFail(name, mode);
  }

  dnsRestore(name: string): void {
    this.faults.dnsRestore(name);
  }

  /** TLS handshakes between `a` and `b` (nodes or hosts, either way round) fail with `reason` until restored. */
  tlsFail(a: string, b: string, reason = 'handshake-failure'): void {
    this.faults.tlsFail(this.hostNameOf(a), this.hostNameOf(b), reason);
  }

  tlsRestore(a: string, b: string): void {
    this.faults.tlsRestore(this.hostNameOf(a), this.hostNameOf(b));
  }

  // ---------------------------------------------------------------------------------------------
  // Node lifecycle and the NodeHost each incarnation gets.

  private boot(runtime: NodeRuntime): void {
    runtime.incarnation += 1;
    runtime.alive = true;
    const incarnation = runtime.incarnation;
    this.hostParts ??= {
      world: this,
      output: (each, output) => this.output(each, output),
      guard: (each, fn) => this.guard(each, fn),
      bufferedBytes: (each, conn) => this.connections.bufferedBytes(each, conn),
    };
    const host = new SimNodeHost(this.hostParts, runtime, incarnation);
    this.ctx.record(runtime.spec.id, { kind: 'node.start', incarnation });
    this.guard(runtime, () => {
      runtime.node = runtime.spec.protocol.createNode(host, runtime.spec.config);
      if (!this.lookingAhead && typeof (runtime.node as Partial<PrefetchingNode>).prefetch === 'function') {
        this.lookAhead();
      }
      runtime.node.start();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Lookahead: external node processes compute in parallel (docs/simulator.md, "Lookahead").

  private lookingAhead = false;
  private sharedHost = false;
  /**
   * The scan each node was last seen in (`scanAhead`): a node is seen in this scan when its mark is
   * `scans`. Marks rather than a set emptied per scan, which would allocate a table each time.
   */
  private readonly scanned = new Map<NodeRuntime, number>();
  private scans = 0;

  /**
   * Installs the lookahead on the simulator once a node that can prefetch boots, with a window of
   * L = the least time anything one node does takes to reach another: the least latency of any
   * link (local sockets excluded: no two nodes share a host), and the reset timeout (a crash resets
   * its peers that much later). Nothing with L = 0, nor with nodes sharing a host.
   */
  private lookAhead(): void {
    this.lookingAhead = true;
    const network = this.ctx.network;
    let windowMs = Math.min(network.delayMsMin, network.resetTimeoutMs);
    for (const link of network.links) windowMs = Math.min(windowMs, link.delayMsMin);
    if (!processLookahead.enabled || this.sharedHost || !(windowMs > 0)) return;
    this.sim.setLookahead({ windowMs, scan: (current, ahead) => this.scanAhead(current, ahead) });
  }

  /**
   * Before the tagged event `current` runs at time t: every node whose first event in `ahead`
   * (the events after it before t + L, in run order) comes before any event that is not a
   * `NodeEvent`, and can prefetch, is given that event's input now. Exact because (docs/simulator.md):
   * - a `NodeEvent` changes nothing at its instant but its own node, that node's connection ends
   *   and the trace; whatever else a node does (a write, a FIN, a connect, a crash's resets) reaches
   *   another node no sooner than L later, so after every event in the window;
   * - the scan stops at the first event of any other kind (a scenario step, a fault, a DNS answer,
   *   a connection opening, a reset), which could change anything;
   * - only a node's first event is given: nothing of its own comes before it to change or cancel it;
   * - its time and the node's skew cannot change before it (a skew is a scenario step).
   * A TLS handshake lets one node's step hand its peer an input at once: once one began, no scan.
   */
  private scanAhead(current: Scheduled, ahead: readonly Scheduled[]): void {
    if (this.connections.tlsUsed || ahead.length === 0) return;
    const seen = this.scanned;
    const scan = ++this.scans;
    seen.set((current.tag as NodeEvent).runtime, scan);
    for (const entry of ahead) {
      const tag = entry.tag as NodeEvent | undefined;
      if (tag === undefined) return;
      const runtime = tag.runtime;
      if (seen.get(runtime) === scan) continue;
      seen.set(runtime, scan);
      const node = runtime.node as Partial<PrefetchingNode> | undefined;
      if (tag.payload === undefined || node?.prefetch === undefined || !runtime.alive) continue;
      if (tag.incarnation !== undefined && runtime.incarnation !== tag.incarnation) continue;
      if (tag.after !== undefined && seen.get(tag.after) === scan) continue;
      if (tag.deliverable !== undefined && !tag.deliverable()) continue;
      node.prefetch(tag.payload, entry.atMs + runtime.skewMs);
    }
  }

  /** What every node's `SimNodeHost` reaches the world through (made once per world). */
  private hostParts: HostParts | undefined;

  /**
   * Runs node code. A node that throws has a bug (peer input must never make it throw): the
   * exception is recorded as a violation and the node is crashed, so the run goes on and the
   * checkers and fuzzer see it.
   */
  private guard(runtime: NodeRuntime, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      // An external node process that broke its protocol stops the run: it is no bug of the node's.
      if (error instanceof ProcessNodeError) throw error;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.ctx.record(runtime.spec.id, {
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

  /** Routes one output of a live incarnation to the part that carries it out (see the table above). */
  private output(runtime: NodeRuntime, output: NodeOutput): void {
    if (isReport(output)) {
      if (output.kind === 'deliver') {
        // Built field by field: a conditional spread into the literal costs a second object.
        const delivery: { -readonly [K in keyof Delivery]: Delivery[K] } = {
          atMs: this.sim.nowMs,
          node: runtime.spec.id,
          user: output.user,
          from: output.from,
          body: output.body,
        };
        if (output.id !== undefined) delivery.id = output.id;
        this.deliveries.push(delivery);
      }
      return recordOutput(this.trace, this.sim.nowMs, runtime.spec.id, output);
    }
    const connections = this.connections;
    switch (output.kind) {
      case 'listen':
        return connections.listen(runtime, output.endpoint);
      case 'unlisten':
        return connections.unlisten(runtime, output.endpoint);
      case 'connect':
        return connections.connect(runtime, output.conn, output.target);
      case 'write':
        return connections.write(runtime, output.conn, output.bytes, output.decoded);
      case 'close':
        return connections.close(runtime, output.conn);
      case 'tls.start':
        return connections.startTls(runtime, output.conn, output.role);
      case 'datagram.send':
        return connections.sendDatagram(runtime, output.port, output.target, output.bytes, output.decoded);
      case 'dns.query':
        return this.dns.query(runtime, output.query, output.name, output.type);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers.

  /** The network model (read by each node's host). */
  get network(): NetworkModel {
    return this.ctx.network;
  }

  private runtime(node: NodeId): NodeRuntime {
    const runtime = this.runtimes.get(node);
    assert(runtime !== undefined, `unknown node ${node}`);
    return runtime;
  }

  /** A node id or a host name, as the scenario names either. */
  private hostNameOf(name: string): string {
    const hostName = this.runtimes.get(name)?.hostName ?? (this.ctx.hosts.has(name) ? name : undefined);
    assert(hostName !== undefined, `unknown node or host ${name}`);
    return hostName;
  }
}
