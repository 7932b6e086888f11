/**
 * A tiny in-test message pump between ManualHosts: just enough network for multi-node Bester unit
 * tests (TCP listeners by host and port, local sockets by host name and path, ordered delivery).
 * It is not the simulator (src/sim): no latency, loss or faults beyond "nobody listens there".
 */
import type { ProtocolNode, NodeOutput, Endpoint } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';
import { bester, configSchema } from '../../../src/protocols/bester/index.js';

interface Member {
  readonly host: ManualHost;
  readonly node: ProtocolNode;
}

export interface Seen {
  readonly node: string;
  readonly output: NodeOutput;
}

/** Work a pump does before it calls a run runaway (a livelock in the nodes under test). */
const stepsMax = 10_000;

export class Pump {
  readonly members = new Map<string, Member>();
  readonly seen: Seen[] = [];
  private readonly listeners = new Map<string, string>();
  private readonly peers = new Map<string, { node: string; conn: string }>();
  private nextIn = 1;

  add(id: string, hostName: string, config: unknown): ManualHost {
    const host = new ManualHost(id, hostName);
    const node = bester.createNode(host, configSchema.parse(config) as Parameters<typeof bester.createNode>[1]);
    this.members.set(id, { host, node });
    node.start();
    this.run();
    return host;
  }

  command(id: string, command: unknown): void {
    this.member(id).node.handle({ kind: 'command', command });
    this.run();
  }

  /** Moves every host's clock forward together, one millisecond at a time while timers are pending. */
  advanceMs(ms: number): void {
    for (let step = 0; step < ms; step++) {
      const hosts = [...this.members.values()].map((m) => m.host);
      if (hosts.every((host) => host.pendingTimers() === 0)) {
        for (const host of hosts) host.advanceMs(ms - step);
        break;
      }
      for (const host of hosts) host.advanceMs(1);
      this.run();
    }
    this.run();
  }

  /** Outputs of one kind the nodes produced, in order. */
  outputs<K extends NodeOutput['kind']>(kind: K, node?: string): Extract<NodeOutput, { kind: K }>[] {
    return this.seen
      .filter((s) => s.output.kind === kind && (node === undefined || s.node === node))
      .map((s) => s.output as Extract<NodeOutput, { kind: K }>);
  }

  /** Bodies delivered to `user`, in order. */
  delivered(user: string): string[] {
    return this.outputs('deliver')
      .filter((d) => d.user === user)
      .map((d) => d.body);
  }

  run(): void {
    for (let step = 0; step < stepsMax; step++) {
      let moved = false;
      for (const [id, { host }] of this.members) {
        for (const output of host.take()) {
          moved = true;
          this.seen.push({ node: id, output });
          this.route(id, output);
        }
      }
      if (!moved) return;
    }
    throw new Error('pump: runaway');
  }

  private member(id: string): Member {
    const member = this.members.get(id);
    if (!member) throw new Error(`pump: no node ${id}`);
    return member;
  }

  private key(id: string, endpoint: Endpoint): string {
    return 'path' in endpoint
      ? `unix:${this.member(id).host.hostName}:${endpoint.path}`
      : `tcp:${endpoint.host}:${endpoint.port}`;
  }

  private route(id: string, output: NodeOutput): void {
    switch (output.kind) {
      case 'listen':
        this.listeners.set(this.key(id, output.endpoint), id);
        return;
      case 'unlisten':
        this.listeners.delete(this.key(id, output.endpoint));
        return;
      case 'connect': {
        const target = this.listeners.get(this.key(id, output.target));
        if (target === undefined) {
          this.member(id).node.handle({ kind: 'conn.failed', conn: output.conn, reason: 'refused' });
          return;
        }
        const accepted = `in:${this.nextIn++}`;
        this.peers.set(`${id}|${output.conn}`, { node: target, conn: accepted });
        this.peers.set(`${target}|${accepted}`, { node: id, conn: output.conn });
        this.member(target).node.handle({
          kind: 'conn.accepted',
          conn: accepted,
          local: output.target,
          remote: this.member(id).host.hostName,
        });
        this.member(id).node.handle({ kind: 'conn.opened', conn: output.conn });
        return;
      }
      case 'write': {
        const peer = this.peers.get(`${id}|${output.conn}`);
        if (peer) this.member(peer.node).node.handle({ kind: 'conn.data', conn: peer.conn, bytes: output.bytes });
        return;
      }
      case 'close': {
        const peer = this.peers.get(`${id}|${output.conn}`);
        this.peers.delete(`${id}|${output.conn}`);
        if (!peer) return;
        this.peers.delete(`${peer.node}|${peer.conn}`);
        this.member(peer.node).node.handle({ kind: 'conn.closed', conn: peer.conn, reason: 'closed' });
        return;
      }
      default:
        return;
    }
  }
}
