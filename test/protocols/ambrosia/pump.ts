/**
 * A tiny in-test message pump between ManualHosts: enough network (listen, connect, write, close,
 * DNS) to run several Ambrosia nodes together in unit tests. Not the simulator: no latency, no
 * faults beyond `cut`, and all hosts' clocks move together. Connections are ordered and reliable.
 */
import type { NodeOutput, ProtocolNode } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';
import { ambrosia } from '../../../src/protocols/ambrosia/index.js';

interface Member {
  readonly host: ManualHost;
  readonly node: ProtocolNode;
  readonly listens: Set<number>;
  readonly log: NodeOutput[];
}

/** Pump rounds before a test counts as a livelock; a seven-step exchange takes under 50. */
const roundsMax = 10_000;

export class Pump {
  readonly members = new Map<string, Member>();
  /** `node|conn` -> the other end. */
  private readonly peers = new Map<string, { node: string; conn: string }>();
  private accepted = 0;
  /** Bytes written per connection end, so tests can inspect what crossed the wire. */
  readonly wire: { from: string; conn: string; text: string }[] = [];

  constructor(readonly dns: Record<string, { MX?: string[]; A?: string[] }> = {}) {}

  add(id: string, config: unknown, seed = 1): Member {
    const host = new ManualHost(id, id, undefined, seed);
    const node = ambrosia.createNode(host, ambrosia.configSchema.parse(config));
    const member: Member = { host, node, listens: new Set(), log: [] };
    this.members.set(id, member);
    node.start();
    return member;
  }

  get(id: string): Member {
    const member = this.members.get(id);
    if (!member) throw new Error(`no node ${id}`);
    return member;
  }

  command(id: string, command: unknown): void {
    this.get(id).node.handle({ kind: 'command', command: ambrosia.commandSchema.parse(command) });
    this.run();
  }

  /** Delivers outputs until every node is quiet. */
  run(): void {
    for (let round = 0; round < roundsMax; round++) {
      let busy = false;
      for (const [id, member] of this.members) {
        const outputs = member.host.take();
        if (outputs.length > 0) busy = true;
        for (const output of outputs) {
          member.log.push(output);
          this.apply(id, output);
        }
      }
      if (!busy) return;
    }
    throw new Error('pump did not settle');
  }

  advanceMs(ms: number, stepMs = 10): void {
    for (let done = 0; done < ms; done += stepMs) {
      for (const member of this.members.values()) member.host.advanceMs(Math.min(stepMs, ms - done));
      this.run();
    }
  }

  /** Resets a connection end and its peer, as a crash or partition would. */
  cut(id: string, conn: string): void {
    const peer = this.peers.get(`${id}|${conn}`);
    this.peers.delete(`${id}|${conn}`);
    this.get(id).node.handle({ kind: 'conn.closed', conn, reason: 'reset' });
    if (peer) {
      this.peers.delete(`${peer.node}|${peer.conn}`);
      this.get(peer.node).node.handle({ kind: 'conn.closed', conn: peer.conn, reason: 'reset' });
    }
    this.run();
  }

  /** Connections of `id` whose peer is `other`. */
  connsBetween(id: string, other: string): string[] {
    return [...this.peers]
      .filter(([key, peer]) => key.startsWith(`${id}|`) && peer.node === other)
      .map(([key]) => key.slice(id.length + 1));
  }

  delivered(id: string): { from: string; body: string; id?: string }[] {
    return this.get(id)
      .log.filter((o): o is Extract<NodeOutput, { kind: 'deliver' }> => o.kind === 'deliver')
      .map((o) => ({ from: o.from, body: o.body, ...(o.id === undefined ? {} : { id: o.id }) }));
  }

  outputs<K extends NodeOutput['kind']>(id: string, kind: K): Extract<NodeOutput, { kind: K }>[] {
    return this.get(id).log.filter((o): o is Extract<NodeOutput, { kind: K }> => o.kind === kind);
  }

  private apply(id: string, output: NodeOutput): void {
    const self = this.get(id);
    switch (output.kind) {
      case 'listen':
        if ('port' in output.endpoint) self.listens.add(output.endpoint.port);
        return;
      case 'connect': {
        const target = 'host' in output.target ? this.members.get(output.target.host) : undefined;
        const port = 'port' in output.target ? output.target.port : 0;
        if (!target || !target.listens.has(port)) {
          self.node.handle({ kind: 'conn.failed', conn: output.conn, reason: 'refused' });
          return;
        }
        const targetId = 'host' in output.target ? output.target.host : '';
        const inbound = `in:${++this.accepted}`;
        this.peers.set(`${id}|${output.conn}`, { node: targetId, conn: inbound });
        this.peers.set(`${targetId}|${inbound}`, { node: id, conn: output.conn });
        target.node.handle({ kind: 'conn.accepted', conn: inbound, local: { host: targetId, port }, remote: id });
        self.node.handle({ kind: 'conn.opened', conn: output.conn });
        return;
      }
      case 'write': {
        const peer = this.peers.get(`${id}|${output.conn}`);
        this.wire.push({ from: id, conn: output.conn, text: new TextDecoder().decode(output.bytes) });
        if (peer) this.get(peer.node).node.handle({ kind: 'conn.data', conn: peer.conn, bytes: output.bytes });
        return;
      }
      case 'close': {
        const peer = this.peers.get(`${id}|${output.conn}`);
        this.peers.delete(`${id}|${output.conn}`);
        if (peer) {
          this.peers.delete(`${peer.node}|${peer.conn}`);
          this.get(peer.node).node.handle({ kind: 'conn.closed', conn: peer.conn, reason: 'closed' });
        }
        return;
      }
      case 'dns.query': {
        const records =
          output.type === 'MX' ? this.dns[output.name]?.MX : output.type === 'A' ? this.dns[output.name]?.A : undefined;
        self.node.handle({
          kind: 'dns.answer',
          query: output.query,
          name: output.name,
          type: output.type,
          status: records && records.length > 0 ? 'ok' : 'nxdomain',
          records: records ?? [],
        });
        return;
      }
      default:
        return;
    }
  }
}
