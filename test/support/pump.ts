/**
 * The message pump for multi-node unit tests: ManualHosts of any protocol wired together. It routes
 * listen / connect -> accepted + opened (or failed), write -> data on the peer, close -> closed,
 * dns.query -> an answer from a fixed zone; TCP listeners by host and port, local sockets by host
 * name and path. No latency: time moves only when the test calls `advanceMs`, on every host at once.
 * Faults are the test's: unreachable hosts, the loss of a node's next frame of a type, a connection
 * cut (now or at its next write), a crash and restart over the same store.
 *
 * Not the simulator (src/sim): it only routes values, so a test sees every output in order.
 */
import {
  MemoryStore,
  type Endpoint,
  type NodeInput,
  type NodeOutput,
  type Protocol,
  type ProtocolNode,
} from '../../src/protocols/protocol.js';
import { ManualHost } from './manual-host.js';

export interface PumpOptions<C> {
  /** Builds a node's config from what the test passes to `add` (the protocol's schema, usually). */
  readonly config: (raw: unknown) => C;
  /** Turns a test's command into the node's (a schema parse), or passes it as given. */
  readonly command?: (raw: unknown) => unknown;
  /** Names what a write carries, for `lines` and `lose` (default `bytes`). */
  readonly describe?: (bytes: Uint8Array) => string;
  /** Inputs wait in one FIFO queue (true) or are handled the moment they are routed (false). */
  readonly queued?: boolean;
  /** Clock step of `advanceMs` while timers are pending (stretches with none are skipped). */
  readonly stepMs?: number;
  /** Work in one `run` before it counts as a livelock and fails the test. */
  readonly stepsMax?: number;
  /** The default seed of every host. */
  readonly seed?: number;
}

export interface Member<C> {
  host: ManualHost;
  node: ProtocolNode;
  readonly hostName: string;
  readonly config: C;
  readonly store: MemoryStore;
  readonly seed: number;
  up: boolean;
}

/** One output as it happened: which node, when, what. */
export interface Seen {
  readonly node: string;
  readonly atMs: number;
  readonly output: NodeOutput;
}

interface End {
  readonly node: string;
  readonly conn: string;
}

export class Pump<C> {
  readonly members = new Map<string, Member<C>>();
  /** `TYPE name` -> records. */
  readonly zone = new Map<string, string[]>();
  /** Hosts whose listeners cannot be reached (their own outbound connections still work). */
  readonly unreachable = new Set<string>();
  /** `node TYPE`: the next frame of that type the node writes is lost on the way (then the entry goes). */
  readonly lose = new Set<string>();
  /** `node|conn`: the connection is reset at its next write instead of carrying it. */
  readonly cutOnWrite = new Set<string>();
  /** Every output, in order. */
  readonly seen: Seen[] = [];
  /** Every output that says something, in order, as `node kind ...` lines. */
  readonly lines: string[] = [];
  /** Every write, carried or not. */
  readonly writes: { from: string; conn: string; bytes: Uint8Array }[] = [];
  nowMs = 0;
  private readonly queue: [string, NodeInput][] = [];
  /** `tcp:host:port` or `unix:host:path` -> node. */
  private readonly listeners = new Map<string, string>();
  /** `node|conn` -> the other end. */
  private readonly peers = new Map<string, End>();
  private inbound = 0;

  constructor(
    readonly protocol: Protocol<C>,
    readonly options: PumpOptions<C>,
  ) {}

  /** Adds a node, up but not started: `startAll` starts every node, `boot` one. */
  addNode(id: string, raw: unknown, place: { hostName?: string; seed?: number } = {}): Member<C> {
    const hostName = place.hostName ?? id;
    const seed = place.seed ?? this.options.seed ?? 1;
    const store = new MemoryStore();
    const config = this.options.config(raw);
    const host = this.hostFor(id, hostName, store, seed);
    const member: Member<C> = {
      host,
      node: this.protocol.createNode(host, config),
      hostName,
      config,
      store,
      seed,
      up: true,
    };
    this.members.set(id, member);
    return member;
  }

  /** Starts every node added so far, then carries what they do. */
  startAll(): void {
    for (const member of this.members.values()) member.node.start();
    this.run();
  }

  /** Starts (or restarts) one node: a fresh host and node over the same durable store. */
  boot(id: string): Member<C> {
    const member = this.member(id);
    member.host = this.hostFor(id, member.hostName, member.store, member.seed);
    member.node = this.protocol.createNode(member.host, member.config);
    member.up = true;
    member.node.start();
    this.run();
    return member;
  }

  /** Crash: volatile state gone, connections reset at the other end, the store kept. */
  crash(id: string): void {
    const member = this.member(id);
    member.node.stop();
    member.up = false;
    for (const [key, other] of [...this.peers]) {
      if (!this.peers.has(key)) continue;
      const [node = '', conn = ''] = key.split('|');
      if (node !== id && other.node !== id) continue;
      this.unlink({ node, conn }, other);
      this.deliver(node === id ? other.node : node, {
        kind: 'conn.closed',
        conn: node === id ? other.conn : conn,
        reason: 'reset',
      });
    }
    this.run();
  }

  member(id: string): Member<C> {
    const member = this.members.get(id);
    if (!member) throw new Error(`pump: no node ${id}`);
    return member;
  }

  record(type: string, name: string, value: string): void {
    const key = `${type} ${name}`;
    this.zone.set(key, [...(this.zone.get(key) ?? []), value]);
  }

  command(id: string, command: unknown): void {
    this.deliver(id, { kind: 'command', command: this.options.command ? this.options.command(command) : command });
    this.run();
  }

  /** Moves every host's clock forward in steps, carrying outputs after each step. */
  advanceMs(ms: number, stepMs = this.options.stepMs ?? Infinity): void {
    const untilMs = this.nowMs + ms;
    while (this.nowMs < untilMs) {
      const up = [...this.members.values()].filter((member) => member.up);
      const idle = up.every((member) => member.host.pendingTimers() === 0);
      this.nowMs = idle ? untilMs : Math.min(this.nowMs + stepMs, untilMs);
      for (const member of up) member.host.advanceMs(this.nowMs - member.host.nowMs);
      this.run();
    }
  }

  /** Outputs of one kind, optionally of one node, in order. */
  of<K extends NodeOutput['kind']>(kind: K, node?: string): Extract<NodeOutput, { kind: K }>[] {
    return this.seen
      .filter((s) => s.output.kind === kind && (node === undefined || s.node === node))
      .map((s) => s.output as Extract<NodeOutput, { kind: K }>);
  }

  /** The other end of `node`'s connection `conn`. */
  peerOf(node: string, conn: string): End | undefined {
    return this.peers.get(`${node}|${conn}`);
  }

  /** Every open connection end, in the order they were opened. */
  ends(): (End & { peer: End })[] {
    return [...this.peers].map(([key, peer]) => {
      const [node = '', conn = ''] = key.split('|');
      return { node, conn, peer };
    });
  }

  /** Resets a connection at both ends, as a crash of the link would. */
  cut(node: string, conn: string): void {
    const peer = this.peers.get(`${node}|${conn}`);
    this.unlink({ node, conn }, peer);
    this.deliver(node, { kind: 'conn.closed', conn, reason: 'reset' });
    if (peer) this.deliver(peer.node, { kind: 'conn.closed', conn: peer.conn, reason: 'reset' });
  }

  /** Carries outputs and inputs until every node is quiet. */
  run(): void {
    const stepsMax = this.options.stepsMax ?? 10_000;
    for (let step = 0; step < stepsMax; step++) {
      const next = this.queue.shift();
      if (next) {
        this.handle(next[0], next[1]);
        this.collect(next[0]);
      } else if (![...this.members.keys()].map((id) => this.collect(id)).some(Boolean)) {
        return;
      }
    }
    throw new Error('pump: the nodes did not settle (a livelock?)');
  }

  private hostFor(id: string, hostName: string, store: MemoryStore, seed: number): ManualHost {
    const host = new ManualHost(id, hostName, store, seed);
    host.nowMs = this.nowMs;
    return host;
  }

  private handle(id: string, input: NodeInput): void {
    const member = this.members.get(id);
    if (member?.up) member.node.handle(input);
  }

  private deliver(id: string, input: NodeInput): void {
    if (this.options.queued) this.queue.push([id, input]);
    else this.handle(id, input);
  }

  /** Routes what node `id` did; true if it did anything. */
  private collect(id: string): boolean {
    const member = this.members.get(id);
    if (!member?.up) return false;
    const outputs = member.host.take();
    for (const output of outputs) {
      this.seen.push({ node: id, atMs: this.nowMs, output });
      this.route(id, output);
    }
    return outputs.length > 0;
  }

  private key(id: string, endpoint: Endpoint): string {
    return 'path' in endpoint
      ? `unix:${this.member(id).hostName}:${endpoint.path}`
      : `tcp:${endpoint.host}:${endpoint.port}`;
  }

  private unlink(end: End, peer: End | undefined): void {
    this.peers.delete(`${end.node}|${end.conn}`);
    if (peer) this.peers.delete(`${peer.node}|${peer.conn}`);
  }

  private route(id: string, output: NodeOutput): void {
    switch (output.kind) {
      case 'listen':
        this.listeners.set(this.key(id, output.endpoint), id);
        return;
      case 'unlisten':
        this.listeners.delete(this.key(id, output.endpoint));
        return;
      case 'connect':
        return this.connect(id, output);
      case 'write':
        return this.write(id, output);
      case 'close': {
        const peer = this.peers.get(`${id}|${output.conn}`);
        this.unlink({ node: id, conn: output.conn }, peer);
        if (!peer) return;
        this.lines.push(`${id} close -> ${peer.node}`);
        this.deliver(peer.node, { kind: 'conn.closed', conn: peer.conn, reason: 'closed' });
        return;
      }
      case 'dns.query': {
        const records = this.zone.get(`${output.type} ${output.name}`) ?? [];
        this.lines.push(`${id} dns ${output.type} ${output.name}`);
        const status = records.length > 0 ? 'ok' : 'nxdomain';
        this.deliver(id, {
          kind: 'dns.answer',
          query: output.query,
          name: output.name,
          type: output.type,
          status,
          records,
        });
        return;
      }
      case 'deliver':
        this.lines.push(`${id} deliver ${output.user} from ${output.from}: ${output.body}`);
        return;
      case 'reject':
        this.lines.push(`${id} reject ${output.code}`);
        return;
      case 'note':
        this.lines.push(`${id} note ${output.what}`);
        return;
      default:
        return;
    }
  }

  private connect(id: string, output: Extract<NodeOutput, { kind: 'connect' }>): void {
    const target = 'host' in output.target ? `${output.target.host}:${output.target.port}` : output.target.path;
    this.lines.push(`${id} connect ${target}`);
    const server = this.listeners.get(this.key(id, output.target));
    const reachable = !('host' in output.target && this.unreachable.has(output.target.host));
    if (server === undefined || !this.member(server).up || !reachable) {
      this.lines.push(`${id} connect.failed ${target}`);
      this.deliver(id, {
        kind: 'conn.failed',
        conn: output.conn,
        reason: server !== undefined && !reachable ? 'timeout' : 'refused',
      });
      return;
    }
    const accepted = `in:${++this.inbound}`;
    this.peers.set(`${id}|${output.conn}`, { node: server, conn: accepted });
    this.peers.set(`${server}|${accepted}`, { node: id, conn: output.conn });
    const remote = this.member(id).hostName;
    this.deliver(server, { kind: 'conn.accepted', conn: accepted, local: output.target, remote });
    this.deliver(id, { kind: 'conn.opened', conn: output.conn });
  }

  private write(id: string, output: Extract<NodeOutput, { kind: 'write' }>): void {
    this.writes.push({ from: id, conn: output.conn, bytes: output.bytes });
    const peer = this.peers.get(`${id}|${output.conn}`);
    if (!peer) return;
    if (this.cutOnWrite.delete(`${id}|${output.conn}`)) {
      this.cut(id, output.conn);
      return;
    }
    const type = this.options.describe?.(output.bytes) ?? 'bytes';
    if (this.lose.delete(`${id} ${type}`)) {
      this.lines.push(`${id} -> ${peer.node} ${type} (lost)`);
      return;
    }
    this.lines.push(`${id} -> ${peer.node} ${type}`);
    this.deliver(peer.node, { kind: 'conn.data', conn: peer.conn, bytes: output.bytes });
  }
}
