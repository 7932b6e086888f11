// Goal: Bester runs in the real simulator as the scenarios and the issue say: (a) every file in
// scenarios/bester passes; (b) with the fixed profile, under random topologies, handler chains and
// faults that heal (partition/heal, clog/unclog, crash/restart), no message ever reaches a client
// its handler chain does not name (nor more often than named), every message sent after the faults
// have healed reaches exactly the clients its chain names, and the servers survive any frame a
// rogue peer writes (fuzzed bytes and fuzzed JSON) without throwing.
// Method: (a) loadScenario + runScenario per file. (b) fast-check draws the sim seed, the topology
// (1-3 servers, handlers A/B/C per server with sendClients / sendHandler / sendServers rules, two
// clients per server), a fault plan that ends by `healByMs`, rogue connections with fuzzed frames,
// and two waves of messages: during the faults (safety only) and after them (exact delivery). The
// model follows the chain's commands only; it is not a second server. After the heal every client
// is crashed and restarted, because Bester clients do not reconnect (spec.md §10).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { bester, configSchema } from '../../../src/protocols/bester/index.js';
import { hopsMax } from '../../../src/protocols/bester/server.js';
import { requirements } from '../../../src/protocols/bester/requirements.js';
import { encodeFrame } from '../../../src/protocols/bester/wire.js';
import type { NodeHost, NodeInput, Protocol, ProtocolNode } from '../../../src/protocols/protocol.js';
import { loadScenario } from '../../../src/scenario/load.js';
import { runScenario } from '../../../src/scenario/run.js';
import { World } from '../../../src/sim/world.js';
import { rank, Simulator } from '../../../src/sim/simulator.js';
import { TraceRecorder } from '../../../src/trace/recorder.js';

const scenarioDir = 'scenarios/bester';
const scenarioFiles = readdirSync(scenarioDir)
  .filter((file) => file.endsWith('.yaml'))
  .sort();

describe('bester: scenarios (simulator)', () => {
  it("has the issue's scenarios", () => {
    expect(scenarioFiles.length).toBeGreaterThanOrEqual(12);
  });

  it('lists in requirements.ts exactly the scenarios whose `covers` name each requirement', () => {
    const fromFiles = new Map<string, string[]>();
    for (const file of scenarioFiles) {
      const scenario = loadScenario(join(scenarioDir, file));
      expect(scenario.source.covers ?? [], file).not.toEqual([]);
      for (const id of scenario.source.covers ?? [])
        fromFiles.set(id, [...(fromFiles.get(id) ?? []), scenario.source.name]);
    }
    const known = new Set(requirements.map((requirement) => requirement.id));
    expect([...fromFiles.keys()].filter((id) => !known.has(id))).toEqual([]);
    for (const requirement of requirements) {
      expect([...(requirement.scenarios ?? [])].sort(), requirement.id).toEqual(
        (fromFiles.get(requirement.id) ?? []).sort(),
      );
    }
  });

  it.each(scenarioFiles)('%s passes', (file) => {
    const report = runScenario(loadScenario(join(scenarioDir, file)));
    const failed = report.results.filter((result) => !result.ok);
    expect(failed).toEqual([]);
    expect(report.verdict).toBe('pass');
  });
});

// ---- A rogue peer: connects to a server and writes whatever the test gives it.

interface RogueCommand {
  readonly target: { readonly host: string; readonly port: number };
  readonly bytes: readonly Uint8Array[];
}

class RogueNode implements ProtocolNode {
  private next = 1;
  private readonly pending = new Map<string, readonly Uint8Array[]>();

  constructor(private readonly host: NodeHost) {}

  start(): void {}
  stop(): void {}

  handle(input: NodeInput): void {
    if (input.kind === 'command') {
      const command = input.command as RogueCommand;
      const conn = `r:${this.next++}`;
      this.pending.set(conn, command.bytes);
      this.host.emit({ kind: 'connect', conn, target: command.target });
    } else if (input.kind === 'conn.opened') {
      for (const bytes of this.pending.get(input.conn) ?? []) {
        this.host.emit({ kind: 'write', conn: input.conn, bytes });
      }
      this.pending.delete(input.conn);
    }
  }

  view(): unknown {
    return { pending: this.pending.size };
  }
}

const rogue: Protocol<Record<string, never>, RogueCommand> = {
  name: 'rogue',
  configSchema: z.strictObject({}).default({}),
  commandSchema: z.custom<RogueCommand>(),
  createNode: (host) => new RogueNode(host),
};

// ---- The plan fast-check draws.

const types = ['A', 'B', 'C'] as const;
type Rule =
  | { command: 'sendClients'; usernames: string[] }
  | { command: 'sendHandler'; handler: string }
  | { command: 'sendServers'; servers: string[] };
type Fault =
  | { kind: 'partition' | 'clog'; between: [string, string]; fromMs: number; toMs: number }
  | { kind: 'crash'; node: string; fromMs: number; toMs: number };
interface Message {
  from: string;
  type: string;
  atMs: number;
}
interface Plan {
  serverCount: number;
  rules: Rule[][]; // [server][type]
  faults: Fault[];
  rogues: { server: number; atMs: number; bytes: Uint8Array[] }[];
  during: Message[];
  after: Message[];
}

/** Every fault begins and ends before this; the second wave of messages comes after it. */
const healByMs = 6_000;
/** Clients are restarted here (they do not reconnect by themselves). */
const clientsRestartMs = healByMs + 100;
/** Sends of the second wave: after the restarted clients have authenticated. */
const afterWaveMs = clientsRestartMs + 1_000;
/** Long enough for a three-server chain at 30 ms a hop, far under handlerTimeoutMs. */
const settleMs = 4_000;

const user = (server: number, index: number) => `u${server}x${index}`;
const clientIds = (serverCount: number) =>
  Array.from({ length: serverCount }, (_, s) => [user(s, 0), user(s, 1)]).flat();

/** JSON that is often nearly a Bester message (client, server scope or informer shaped). */
const messageish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      header: fc.oneof(
        fc.constant({}),
        fc.jsonValue({ maxDepth: 2 }),
        fc.record({
          scope: fc.constantFrom('client', 'server', 'x'),
          authentication: fc.record({ username: fc.constantFrom('rogue', ' ', ''), password: fc.string() }),
        }),
      ),
      payload: fc.record(
        {
          type: fc.oneof(fc.constantFrom('A', 'B', 'C', 'dummy', 'builtin', 'zz'), fc.jsonValue({ maxDepth: 1 })),
          id: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })),
          data: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ command: { type: 'close' } })),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  ),
);

const authFrame = encodeFrame({
  header: { scope: 'client', authentication: { username: 'rogue', password: 'pw' } },
  payload: { type: 'dummy', id: 'auth', data: null },
});

/** Bytes for one rogue write: raw bytes, a framed fuzzed JSON value, or a frame with a lying length. */
const rogueChunk = fc.oneof(
  fc.uint8Array({ maxLength: 48 }),
  messageish.map((value) => encodeFrame(value)),
  fc.tuple(fc.integer({ min: -5, max: 2_000_000 }), fc.uint8Array({ maxLength: 16 })).map(([length, body]) => {
    const bytes = new Uint8Array(4 + body.length);
    new DataView(bytes.buffer).setInt32(0, length, true);
    bytes.set(body, 4);
    return bytes;
  }),
);

function planArbitrary(): fc.Arbitrary<Plan> {
  return fc.constantFrom(1, 2, 2, 3, 3).chain((serverCount) => {
    const usernames = [...clientIds(serverCount), 'ghost'];
    const servers = Array.from({ length: serverCount }, (_, s) => `s${s}.test`);
    const hosts = [...servers, ...clientIds(serverCount).map((id) => `${id}.test`)];
    const crashable = [
      ...servers.map((_, s) => `s${s}`),
      ...servers.flatMap((_, s) => types.map((t) => `s${s}-${t}`)),
      ...clientIds(serverCount),
    ];
    const rule = (server: number): fc.Arbitrary<Rule> =>
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.record({ command: fc.constant('sendClients' as const), usernames: fc.subarray(usernames) }),
        },
        {
          weight: 1,
          arbitrary: fc.record({ command: fc.constant('sendHandler' as const), handler: fc.constantFrom(...types) }),
        },
        {
          weight: 2,
          // Only to later servers, so that forwarding cannot loop between servers.
          arbitrary: fc.record({
            command: fc.constant('sendServers' as const),
            servers: fc.subarray(servers.filter((_, s) => s > server).map((host) => `${host}:2223`)),
          }),
        },
      );
    const window = fc
      .tuple(fc.integer({ min: 0, max: healByMs - 1 }), fc.integer({ min: 1, max: healByMs }))
      .map(([a, b]) => (a < b ? [a, b] : [b - 1, a]) as [number, number]);
    const pairOfHosts = fc
      .tuple(fc.constantFrom(...hosts), fc.constantFrom(...hosts))
      .filter(([a, b]) => a !== b) as fc.Arbitrary<[string, string]>;
    const fault: fc.Arbitrary<Fault> = fc.oneof(
      fc
        .tuple(fc.constantFrom('partition' as const, 'clog' as const), pairOfHosts, window)
        .map(([kind, between, [fromMs, toMs]]) => ({ kind, between, fromMs, toMs })),
      fc
        .tuple(fc.constantFrom(...crashable), window)
        .map(([node, [fromMs, toMs]]) => ({ kind: 'crash' as const, node, fromMs, toMs })),
    );
    const message = (fromMs: number, toMs: number) =>
      fc.record({
        from: fc.constantFrom(...clientIds(serverCount)),
        type: fc.constantFrom(...types),
        atMs: fc.integer({ min: fromMs, max: toMs }),
      });
    return fc.record({
      serverCount: fc.constant(serverCount),
      rules: fc.tuple(...servers.map((_, s) => fc.tuple(...types.map(() => rule(s))))),
      faults: fc.array(fault, { maxLength: 4 }),
      rogues: fc.array(
        fc.record({
          server: fc.integer({ min: 0, max: serverCount - 1 }),
          atMs: fc.integer({ min: 0, max: afterWaveMs }),
          bytes: fc
            .tuple(fc.boolean(), fc.array(rogueChunk, { minLength: 1, maxLength: 4 }))
            .map(([authFirst, chunks]) => (authFirst ? [authFrame, ...chunks] : chunks)),
        }),
        { maxLength: 3 },
      ),
      during: fc.array(message(200, healByMs), { maxLength: 3 }),
      after: fc.array(message(afterWaveMs, afterWaveMs + 200), { minLength: 1, maxLength: 3 }),
    });
  });
}

/** Who should receive a message: follows the chain's commands only (not a second server). */
function expected(plan: Plan, server: number, type: string, hop: number, into: Map<string, number>): void {
  const rule = plan.rules[server]?.[types.indexOf(type as (typeof types)[number])];
  if (!rule) return;
  if (rule.command === 'sendClients') {
    for (const name of new Set(rule.usernames)) {
      if (name.startsWith(`u${server}x`)) into.set(name, (into.get(name) ?? 0) + 1);
    }
  } else if (rule.command === 'sendHandler') {
    if (hop < hopsMax) expected(plan, server, rule.handler, hop + 1, into);
  } else {
    for (const target of rule.servers) expected(plan, Number(target.slice(1, target.indexOf('.'))), type, 1, into);
  }
}

function buildWorld(seed: number, plan: Plan) {
  const sim = new Simulator();
  const nodes: { id: string; host: string; protocol: Protocol<unknown, unknown>; config: unknown }[] = [];
  const add = (id: string, host: string, config: unknown) =>
    nodes.push({ id, host, protocol: bester as Protocol<unknown, unknown>, config: configSchema.parse(config) });
  const handlers = Object.fromEntries(types.map((t) => [t, { path: `/${t}.sock` }]));
  for (let s = 0; s < plan.serverCount; s++) {
    add(`s${s}`, `s${s}.test`, { role: 'server', handlers, handlerTimeoutMs: 1_000 });
    types.forEach((t, i) =>
      add(`s${s}-${t}`, `s${s}.test`, { role: 'handler', path: `/${t}.sock`, rule: plan.rules[s]?.[i] }),
    );
  }
  for (let s = 0; s < plan.serverCount; s++) {
    for (const i of [0, 1]) {
      const id = user(s, i);
      add(id, `${id}.test`, {
        role: 'client',
        server: { host: `s${s}.test`, port: 2223 },
        username: id,
        password: 'pw',
      });
    }
  }
  nodes.push({ id: 'rogue', host: 'rogue.test', protocol: rogue as Protocol<unknown, unknown>, config: {} });
  const trace = new TraceRecorder({
    format: 'fedsim-trace',
    version: 1,
    scenario: 'bester/property',
    seed,
    protocols: ['bester', 'rogue'],
    nodes: nodes.map(({ id, host, protocol }) => ({ id, host, protocol: protocol.name })),
  });
  const world = new World(sim, seed, trace, { delayMsMin: 1, delayMsMax: 30, resetTimeoutMs: 2_000 });
  for (const node of nodes) world.addNode(node);
  return { sim, world, trace };
}

function run(seed: number, plan: Plan) {
  const { sim, world, trace } = buildWorld(seed, plan);
  const at = (atMs: number, action: () => void) => sim.at(atMs, rank.step, action);
  for (const fault of plan.faults) {
    if (fault.kind === 'crash') {
      at(fault.fromMs, () => world.crash(fault.node));
      at(fault.toMs, () => world.restart(fault.node));
    } else if (fault.kind === 'partition') {
      at(fault.fromMs, () => world.partition(...fault.between));
      at(fault.toMs, () => world.heal(...fault.between));
    } else {
      at(fault.fromMs, () => world.clog(...fault.between));
      at(fault.toMs, () => world.unclog(...fault.between));
    }
  }
  const clients = clientIds(plan.serverCount);
  at(clientsRestartMs, () => {
    for (const id of clients) {
      world.crash(id);
      world.restart(id);
    }
  });
  for (const r of plan.rogues) {
    at(r.atMs, () => world.command('rogue', { target: { host: `s${r.server}.test`, port: 2223 }, bytes: r.bytes }));
  }
  const waves = [...plan.during, ...plan.after];
  waves.forEach((message, index) => {
    at(message.atMs, () =>
      world.command(message.from, { type: 'send', messageType: message.type, id: `m${index}`, data: `wave:${index}` }),
    );
  });
  world.startAll();
  sim.runUntilMs(afterWaveMs + 200 + settleMs, { timeMsMax: afterWaveMs + 200 + settleMs, eventsMax: 500_000 });

  // The servers (and every node) survived: no node threw.
  expect(trace.events.filter((event) => event.kind === 'check')).toEqual([]);
  for (const [index, message] of waves.entries()) {
    const want = new Map<string, number>();
    expected(plan, Number(message.from.slice(1, message.from.indexOf('x'))), message.type, 1, want);
    const got = new Map<string, number>();
    for (const delivery of world.deliveries) {
      if (delivery.body === `wave:${index}`) got.set(delivery.user, (got.get(delivery.user) ?? 0) + 1);
    }
    const label = `m${index} ${message.type} from ${message.from} at ${message.atMs}ms`;
    if (index < plan.during.length) {
      // During faults: never to anyone unnamed, never more often than named (it may be lost).
      for (const [name, count] of got) expect(count, `${label}: ${name}`).toBeLessThanOrEqual(want.get(name) ?? 0);
    } else {
      // After the heal: exactly the clients the chain names, as often as it names them.
      expect(Object.fromEntries([...got].sort()), label).toEqual(Object.fromEntries([...want].sort()));
      const reports = trace.events.filter(
        (event) =>
          event.kind === 'note' &&
          event.node === message.from &&
          event.what === 'bester.status' &&
          (event.detail as { id?: string }).id === `m${index}`,
      );
      expect(reports.length, `${label}: one status report`).toBe(1);
    }
  }
}

describe('bester: delivery in the simulator (fixed profile)', () => {
  it('every message reaches only the clients its handler chain names, and exactly them once faults heal; servers survive rogue frames (property, 3 servers max, 40 runs)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), planArbitrary(), (seed, plan) => run(seed, plan)),
      { numRuns: 40 },
    );
  });
});
