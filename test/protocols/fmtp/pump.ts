/**
 * A tiny message pump between ManualHosts, for multi-node FMTP unit tests until the simulator
 * runs them: connect -> accepted / opened (or failed), write -> data on the peer, close -> closed,
 * dns.query -> an answer from a fixed zone. No latency: inputs are handled in FIFO order, and
 * time moves only when the test calls `advanceMs`. Not a simulator: it only routes values.
 */
import type { NodeInput, NodeOutput, ProtocolNode } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';
import { fmtp, fmtpConfig } from '../../../src/protocols/fmtp/index.js';
import type { FmtpConfig } from '../../../src/protocols/fmtp/config.js';
import { describe as describeBytes } from '../../../src/protocols/fmtp/wire.js';

interface Member {
  readonly host: ManualHost;
  readonly node: ProtocolNode;
  readonly config: FmtpConfig;
}

/** Inputs handled in one `run`, so a livelock in a test fails instead of hanging. */
const stepsMax = 100_000;

export class Pump {
  readonly members = new Map<string, Member>();
  /** `TYPE name` -> records. */
  readonly zone = new Map<string, string[]>();
  /** Hosts whose listeners cannot be reached (their own outbound connections still work). */
  readonly unreachable = new Set<string>();
  /** `node TYPE`: the next frame of that type the node writes is lost on the way (then the entry goes). */
  readonly lose = new Set<string>();
  /** Every output, in order, as `node kind ...` lines. */
  readonly log: string[] = [];
  readonly outputs: { node: string; output: NodeOutput }[] = [];
  private readonly queue: [string, NodeInput][] = [];
  private readonly listeners = new Map<string, string>();
  /** `node conn` -> `node conn` of the other end. */
  private readonly links = new Map<string, string>();
  private inbound = 0;

  constructor(readonly seed = 1) {}

  add(id: string, config: Parameters<typeof fmtpConfig>[0] = {}): Member {
    const full = fmtpConfig(config);
    const host = new ManualHost(id, id, undefined, this.seed);
    const node = fmtp.createNode(host, full);
    const member = { host, node, config: full };
    this.members.set(id, member);
    for (const record of fmtp.dnsRecords?.({ id, hostName: id, config: full, seed: this.seed }) ?? []) {
      this.record(record.type, record.name, record.value);
    }
    return member;
  }

  record(type: string, name: string, value: string): void {
    const key = `${type} ${name}`;
    this.zone.set(key, [...(this.zone.get(key) ?? []), value]);
  }

  start(): void {
    for (const [id, member] of this.members) {
      member.node.start();
      this.collect(id);
    }
    this.run();
  }

  command(id: string, command: unknown): void {
    this.queue.push([id, { kind: 'command', command }]);
    this.run();
  }

  advanceMs(ms: number): void {
    for (const [id, member] of this.members) {
      member.host.advanceMs(ms);
      this.collect(id);
    }
    this.run();
  }

  /** Outputs of one kind, optionally of one node. */
  of<K extends NodeOutput['kind']>(kind: K, node?: string): Extract<NodeOutput, { kind: K }>[] {
    return this.outputs
      .filter((o) => o.output.kind === kind && (node === undefined || o.node === node))
      .map((o) => o.output as Extract<NodeOutput, { kind: K }>);
  }

  notes(what: string, node?: string): unknown[] {
    return this.of('note', node)
      .filter((note) => note.what === what)
      .map((note) => note.detail);
  }

  run(): void {
    let steps = 0;
    while (this.queue.length > 0) {
      if (++steps > stepsMax) throw new Error('pump: too many steps (a livelock?)');
      const [id, input] = this.queue.shift() as [string, NodeInput];
      const member = this.members.get(id);
      if (!member) continue;
      member.node.handle(input);
      this.collect(id);
    }
  }

  private collect(id: string): void {
    const member = this.members.get(id);
    if (!member) return;
    for (const output of member.host.take()) {
      this.outputs.push({ node: id, output });
      this.route(id, output);
    }
  }

  private route(id: string, output: NodeOutput): void {
    switch (output.kind) {
      case 'listen':
        if ('host' in output.endpoint) this.listeners.set(`${output.endpoint.host}:${output.endpoint.port}`, id);
        return;
      case 'connect': {
        const target = 'host' in output.target ? `${output.target.host}:${output.target.port}` : output.target.path;
        this.log.push(`${id} connect ${target}`);
        const server = this.listeners.get(target);
        const host = 'host' in output.target ? output.target.host : '';
        if (!server || this.unreachable.has(host)) {
          this.log.push(`${id} connect.failed ${target}`);
          this.queue.push([id, { kind: 'conn.failed', conn: output.conn, reason: server ? 'timeout' : 'refused' }]);
          return;
        }
        this.inbound += 1;
        const inConn = `in:${this.inbound}`;
        this.links.set(`${id} ${output.conn}`, `${server} ${inConn}`);
        this.links.set(`${server} ${inConn}`, `${id} ${output.conn}`);
        this.queue.push([server, { kind: 'conn.accepted', conn: inConn, local: output.target, remote: id }]);
        this.queue.push([id, { kind: 'conn.opened', conn: output.conn }]);
        return;
      }
      case 'write': {
        const peer = this.links.get(`${id} ${output.conn}`);
        const frame = describeBytes(output.bytes) as { type?: string };
        if (!peer) return;
        const [peerId, peerConn] = peer.split(' ') as [string, string];
        if (this.lose.delete(`${id} ${frame.type ?? 'bytes'}`)) {
          this.log.push(`${id} -> ${peerId} ${frame.type ?? 'bytes'} (lost)`);
          return;
        }
        this.log.push(`${id} -> ${peerId} ${frame.type ?? 'bytes'}`);
        this.queue.push([peerId, { kind: 'conn.data', conn: peerConn, bytes: output.bytes }]);
        return;
      }
      case 'close': {
        const peer = this.links.get(`${id} ${output.conn}`);
        if (!peer) return;
        const [peerId, peerConn] = peer.split(' ') as [string, string];
        this.links.delete(`${id} ${output.conn}`);
        this.links.delete(peer);
        this.log.push(`${id} close -> ${peerId}`);
        this.queue.push([peerId, { kind: 'conn.closed', conn: peerConn, reason: 'closed' }]);
        return;
      }
      case 'dns.query': {
        const records = this.zone.get(`${output.type} ${output.name}`) ?? [];
        this.log.push(`${id} dns ${output.type} ${output.name}`);
        this.queue.push([
          id,
          {
            kind: 'dns.answer',
            query: output.query,
            name: output.name,
            type: output.type,
            status: records.length > 0 ? 'ok' : 'nxdomain',
            records,
          },
        ]);
        return;
      }
      case 'deliver':
        this.log.push(`${id} deliver ${output.user} from ${output.from}: ${output.body}`);
        return;
      case 'reject':
        this.log.push(`${id} reject ${output.code}`);
        return;
      case 'note':
        this.log.push(`${id} note ${output.what}`);
        return;
      default:
        return;
    }
  }
}
