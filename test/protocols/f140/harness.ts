/**
 * A hand-driven wire for F140 node tests: several ManualHost nodes whose connect / write / close
 * outputs are carried to each other at once, with hosts that can be taken offline, crashed and
 * restarted over the same durable store. Not the simulator (src/sim is someone else's): no latency,
 * no loss inside a connection, time moves in fixed steps across all hosts.
 */
import { MemoryStore, type NodeOutput, type ProtocolNode } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';
import { f140, type F140Config } from '../../../src/protocols/f140/index.js';

export interface Friend {
  readonly user: string;
  readonly host: string;
}

/** The challenge pair for calls from `a` to `b`; both sides derive it the same way. */
export function pairFor(a: string, b: string): { challenge: string; response: string } {
  return { challenge: `c:${a}>${b}`, response: `r:${a}>${b}` };
}

/** A config for one node; `users` maps each local user to its friends and groups. */
export function nodeConfig(
  users: Record<string, { friends: Friend[]; groups?: Record<string, string[]> }>,
  extra: Record<string, unknown> = {},
): F140Config {
  return f140.configSchema.parse({
    users: Object.entries(users).map(([name, spec]) => ({
      name,
      friends: spec.friends.map((friend) => ({
        user: friend.user,
        host: friend.host,
        outbound: pairFor(name, friend.user),
        inbound: pairFor(friend.user, name),
      })),
      groups: spec.groups ?? {},
    })),
    ...extra,
  });
}

interface Member {
  host: ManualHost;
  node: ProtocolNode;
  readonly store: MemoryStore;
  readonly config: F140Config;
  up: boolean;
}

interface Link {
  readonly client: { host: string; conn: string };
  readonly server: { host: string; conn: string };
}

export interface Logged {
  readonly atMs: number;
  readonly host: string;
  readonly output: NodeOutput;
}

export class Wire {
  readonly members = new Map<string, Member>();
  readonly log: Logged[] = [];
  private readonly links: Link[] = [];
  private inbound = 0;
  nowMs = 0;

  add(hostName: string, config: F140Config, up = true): void {
    const store = new MemoryStore();
    const host = new ManualHost(hostName, hostName, store);
    const member: Member = { host, node: f140.createNode(host, config), store, config, up: false };
    this.members.set(hostName, member);
    if (up) this.start(hostName);
  }

  /** Starts (or restarts) a node: a fresh host and node over the same durable store. */
  start(hostName: string): void {
    const member = this.member(hostName);
    member.host = new ManualHost(hostName, hostName, member.store);
    member.host.nowMs = this.nowMs;
    member.node = f140.createNode(member.host, member.config);
    member.up = true;
    member.node.start();
    this.pump();
  }

  /** Crash: volatile state gone, connections reset, the store kept. */
  crash(hostName: string): void {
    const member = this.member(hostName);
    member.node.stop();
    member.up = false;
    for (const link of [...this.links]) {
      if (link.client.host !== hostName && link.server.host !== hostName) continue;
      this.unlink(link);
      const other = link.client.host === hostName ? link.server : link.client;
      this.input(other.host, { kind: 'conn.closed', conn: other.conn, reason: 'reset' });
    }
    this.pump();
  }

  send(hostName: string, command: unknown): void {
    this.input(hostName, { kind: 'command', command });
    this.pump();
  }

  /** Moves every host's clock forward in `stepMs` steps, carrying outputs between steps. */
  advanceMs(ms: number, stepMs = 10): void {
    const untilMs = this.nowMs + ms;
    while (this.nowMs < untilMs) {
      const step = Math.min(stepMs, untilMs - this.nowMs);
      this.nowMs += step;
      for (const member of this.members.values()) if (member.up) member.host.advanceMs(this.nowMs - member.host.nowMs);
      this.pump();
    }
  }

  delivered(user?: string): { user: string; from: string; body: string; id?: string; detail?: unknown }[] {
    return this.outputs('deliver').filter((d) => user === undefined || d.user === user);
  }

  outputs<K extends NodeOutput['kind']>(kind: K, hostName?: string): Extract<NodeOutput, { kind: K }>[] {
    return this.log
      .filter((entry) => hostName === undefined || entry.host === hostName)
      .map((entry) => entry.output)
      .filter((o): o is Extract<NodeOutput, { kind: K }> => o.kind === kind);
  }

  member(hostName: string): Member {
    const member = this.members.get(hostName);
    if (!member) throw new Error(`no host ${hostName}`);
    return member;
  }

  private input(hostName: string, input: Parameters<ProtocolNode['handle']>[0]): void {
    const member = this.members.get(hostName);
    if (member?.up) member.node.handle(input);
  }

  private unlink(link: Link): void {
    this.links.splice(this.links.indexOf(link), 1);
  }

  /** Carries outputs between hosts until none is left. */
  pump(): void {
    for (let round = 0; round < 10_000; round++) {
      let moved = false;
      for (const [hostName, member] of this.members) {
        if (!member.up) continue;
        for (const output of member.host.take()) {
          moved = true;
          this.log.push({ atMs: this.nowMs, host: hostName, output });
          this.carry(hostName, output);
        }
      }
      if (!moved) return;
    }
    throw new Error('pump did not settle');
  }

  private carry(hostName: string, output: NodeOutput): void {
    switch (output.kind) {
      case 'connect': {
        const target = 'host' in output.target ? this.members.get(output.target.host) : undefined;
        if (!target?.up || !('host' in output.target)) {
          this.input(hostName, { kind: 'conn.failed', conn: output.conn, reason: 'refused' });
          return;
        }
        this.inbound += 1;
        const link: Link = {
          client: { host: hostName, conn: output.conn },
          server: { host: output.target.host, conn: `in:${this.inbound}` },
        };
        this.links.push(link);
        this.input(link.server.host, {
          kind: 'conn.accepted',
          conn: link.server.conn,
          local: output.target,
          remote: hostName,
        });
        this.input(hostName, { kind: 'conn.opened', conn: output.conn });
        return;
      }
      case 'write': {
        const peer = this.peerOf(hostName, output.conn);
        if (peer) this.input(peer.host, { kind: 'conn.data', conn: peer.conn, bytes: output.bytes });
        return;
      }
      case 'close': {
        const link = this.linkOf(hostName, output.conn);
        if (!link) return;
        this.unlink(link);
        const peer = link.client.host === hostName && link.client.conn === output.conn ? link.server : link.client;
        this.input(peer.host, { kind: 'conn.closed', conn: peer.conn, reason: 'closed' });
        return;
      }
      default:
        return;
    }
  }

  private linkOf(hostName: string, conn: string): Link | undefined {
    return this.links.find(
      (link) =>
        (link.client.host === hostName && link.client.conn === conn) ||
        (link.server.host === hostName && link.server.conn === conn),
    );
  }

  private peerOf(hostName: string, conn: string): { host: string; conn: string } | undefined {
    const link = this.linkOf(hostName, conn);
    if (!link) return undefined;
    return link.client.host === hostName && link.client.conn === conn ? link.server : link.client;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

/** Serves raw request bytes to one node on a fresh accepted connection; returns what it wrote and did. */
export function serveRaw(
  host: ManualHost,
  node: ProtocolNode,
  request: string | Uint8Array,
  conn = 'in:1',
): { written: string; outputs: NodeOutput[] } {
  host.take();
  node.handle({ kind: 'conn.accepted', conn, local: { host: host.hostName, port: 8140 }, remote: 'peer.test' });
  node.handle({ kind: 'conn.data', conn, bytes: typeof request === 'string' ? bytes(request) : request });
  const outputs = host.take();
  const written = outputs
    .filter((o): o is Extract<NodeOutput, { kind: 'write' }> => o.kind === 'write')
    .map((o) => text(o.bytes))
    .join('');
  return { written, outputs };
}

/** A POST with a form body (header names as given, so tests can vary their case). */
export function post(form: string, headers: string[] = ['Content-Type: application/x-www-form-urlencoded']): string {
  return [
    'POST /f140 HTTP/1.1',
    'Host: b.test',
    ...headers,
    `Content-Length: ${encoder.encode(form).length}`,
    '',
    form,
  ].join('\r\n');
}

export function get(query: string): string {
  return `GET /apps/F140/F140Service.html?${query} HTTP/1.1\r\nHost: b.test\r\n\r\n`;
}

/** Status code and body of the first response in `written`. */
export function parseResponse(written: string): { status: number; body: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(written)?.[1] ?? 0);
  const body = written.slice(written.indexOf('\r\n\r\n') + 4);
  return { status, body };
}
