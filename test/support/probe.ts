/**
 * A probe protocol for simulator tests: a node that does exactly what a test command tells it
 * (listen, connect, write, close, start TLS, query DNS, send a datagram, read its clock or its buffered bytes, store a value) and
 * reports every input it gets, so that tests can watch the network and the faults precisely.
 */
import { z } from 'zod';
import type { NodeHost, NodeInput, Protocol, ProtocolNode } from '../../src/protocols/protocol.js';
import { Simulator } from '../../src/sim/simulator.js';
import { World, type NetworkModel } from '../../src/sim/world.js';
import { TraceRecorder, type RecorderOptions } from '../../src/trace/recorder.js';
import type { TraceEvent } from '../../src/trace/events.js';

export type ProbeCommand =
  | { op: 'listen'; port?: number; path?: string }
  | { op: 'connect'; conn: string; host?: string; port?: number; path?: string }
  /** `decoded: false` writes the bytes alone (the host then asks the protocol's `describe`). */
  | { op: 'write'; conn: string; text: string; decoded?: false }
  | { op: 'close'; conn: string }
  | { op: 'tls'; conn: string; role: 'server' | 'client' }
  | { op: 'dns'; query: string; name: string; type: 'A' | 'MX' | 'TXT' }
  | { op: 'datagram'; host: string; port: number; text: string }
  | { op: 'now' }
  | { op: 'buffered'; conn: string }
  | { op: 'remember'; value: string }
  | { op: 'store'; key: string; value: string }
  | { op: 'throw' };

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export class ProbeNode implements ProtocolNode {
  /** Volatile: lost on crash. */
  remembered: string[] = [];
  readonly inputs: NodeInput[] = [];

  constructor(private readonly host: NodeHost) {}

  start(): void {}
  stop(): void {}

  handle(input: NodeInput): void {
    this.inputs.push(input);
    switch (input.kind) {
      case 'command':
        return this.command(input.command as ProbeCommand);
      case 'conn.data':
        this.host.emit({ kind: 'deliver', user: `probe@${this.host.id}`, from: input.conn, body: text(input.bytes) });
        return;
      case 'datagram':
        this.host.emit({
          kind: 'deliver',
          user: `probe@${this.host.id}`,
          from: input.source.host,
          body: text(input.bytes),
        });
        return;
      default:
        this.host.emit({ kind: 'note', what: input.kind, detail: input });
    }
  }

  view(): unknown {
    return {
      remembered: this.remembered,
      stored: this.host.store.keys().map((key) => [key, this.host.store.get(key)]),
    };
  }

  private command(command: ProbeCommand): void {
    const host = this.host;
    switch (command.op) {
      case 'listen':
        host.emit({
          kind: 'listen',
          endpoint: command.path ? { path: command.path } : { host: host.hostName, port: command.port ?? 1 },
        });
        return;
      case 'connect':
        host.emit({
          kind: 'connect',
          conn: command.conn,
          target: command.path ? { path: command.path } : { host: command.host ?? '', port: command.port ?? 1 },
        });
        return;
      case 'write':
        host.emit({
          kind: 'write',
          conn: command.conn,
          bytes: new TextEncoder().encode(command.text),
          ...(command.decoded === false ? {} : { decoded: command.text }),
        });
        return;
      case 'close':
        host.emit({ kind: 'close', conn: command.conn });
        return;
      case 'tls':
        host.emit({ kind: 'tls.start', conn: command.conn, role: command.role });
        return;
      case 'dns':
        host.emit({ kind: 'dns.query', query: command.query, name: command.name, type: command.type });
        return;
      case 'datagram':
        host.emit({
          kind: 'datagram.send',
          port: 1,
          target: { host: command.host, port: command.port },
          bytes: new TextEncoder().encode(command.text),
        });
        return;
      case 'now':
        host.emit({ kind: 'note', what: 'now', detail: host.now() });
        return;
      case 'buffered':
        host.emit({ kind: 'note', what: 'buffered', detail: host.bufferedBytes(command.conn) });
        return;
      case 'remember':
        this.remembered.push(command.value);
        return;
      case 'store':
        host.store.put(command.key, command.value);
        return;
      case 'throw':
        throw new Error('probe told to throw');
    }
  }
}

export const probe: Protocol<Record<string, never>, ProbeCommand> = {
  name: 'probe',
  configSchema: z.strictObject({}).default({}),
  commandSchema: z.custom<ProbeCommand>(),
  createNode: (host) => new ProbeNode(host),
  describe: text,
};

/** A world of probe nodes, with helpers to act at a time and read the trace. */
export class ProbeWorld {
  readonly sim = new Simulator();
  readonly trace: TraceRecorder;
  readonly world: World;

  constructor(
    nodes: readonly (string | { id: string; host: string })[],
    seed = 1,
    network: Partial<NetworkModel> = {},
    recorder: RecorderOptions = {},
  ) {
    const specs = nodes.map((n) => (typeof n === 'string' ? { id: n, host: n } : n));
    this.trace = new TraceRecorder(
      {
        format: 'fedsim-trace',
        version: 1,
        scenario: 'test',
        seed,
        protocols: ['probe'],
        nodes: specs.map((s) => ({ ...s, protocol: 'probe' })),
      },
      recorder,
    );
    this.world = new World(this.sim, seed, this.trace, network);
    for (const spec of specs) this.world.addNode({ id: spec.id, host: spec.host, protocol: probe, config: {} });
    this.world.startAll();
  }

  /** Runs the command at `atMs` (after the world settles at that instant). */
  at(atMs: number, node: string, command: ProbeCommand): this {
    this.sim.at(atMs, 3, () => this.world.command(node, command));
    return this;
  }

  /** Runs a world action (a fault) at `atMs`. */
  do(atMs: number, action: (world: World) => void): this {
    this.sim.at(atMs, 2, () => action(this.world));
    return this;
  }

  run(timeMsMax = 100_000): this {
    this.sim.runUntilQuiet({ timeMsMax, eventsMax: 1_000_000 });
    return this;
  }

  events(kind?: TraceEvent['kind'], node?: string): TraceEvent[] {
    return this.trace.events.filter(
      (e) => (kind === undefined || e.kind === kind) && (node === undefined || e.node === node),
    );
  }

  bodies(node: string): string[] {
    return this.world.deliveries.filter((d) => d.node === node).map((d) => d.body);
  }
}
