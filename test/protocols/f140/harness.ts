/**
 * F140 node tests' helpers: configs with challenge pairs, raw HTTP requests served to one node, and
 * the test pump as a `Wire` whose hosts can be taken offline, crashed and restarted.
 */
import type { NodeOutput, ProtocolNode } from '../../../src/protocols/protocol.js';
import type { ManualHost } from '../../support/manual-host.js';
import { Pump } from '../../support/pump.js';
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

export interface Logged {
  readonly atMs: number;
  readonly host: string;
  readonly output: NodeOutput;
}

/** The test pump (test/support/pump.ts) for F140: hosts go offline, crash and restart; 10 ms steps. */
export class Wire extends Pump<F140Config> {
  constructor() {
    super(f140, { config: (raw) => raw as F140Config, stepMs: 10 });
  }

  add(hostName: string, config: F140Config, up = true): void {
    this.addNode(hostName, config).up = up;
    if (up) this.boot(hostName);
  }

  /** Starts (or restarts) a node: a fresh host and node over the same durable store. */
  start(hostName: string): void {
    this.boot(hostName);
  }

  send(hostName: string, command: unknown): void {
    this.command(hostName, command);
  }

  pump(): void {
    this.run();
  }

  get log(): Logged[] {
    return this.seen.map(({ node, atMs, output }) => ({ atMs, host: node, output }));
  }

  delivered(user?: string): { user: string; from: string; body: string; id?: string; detail?: unknown }[] {
    return this.of('deliver').filter((d) => user === undefined || d.user === user);
  }

  outputs<K extends NodeOutput['kind']>(kind: K, hostName?: string): Extract<NodeOutput, { kind: K }>[] {
    return this.of(kind, hostName);
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
