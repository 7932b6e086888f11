// Goal: Ambrosia's default campaign aims its `<bind/>` edit at the slow user's link only (nothing
// is owed to or from that user), restarts that client so that it logs in afresh, and waits for the
// login; without a slow user nothing is armed; the flaw campaigns keep the old fields and no aim.
// It also aims a service's stream-header namespace at that service's link, restarting it, and an
// s2s `<stream:features/>` at a pair of gateways that have not talked yet, with a stanza between
// them: each reaches the rare transitions it is for (service-session `opening>closed`,
// service-link `opening>backingOff`, s2s `features>failed`) and the run passes.
// Method: CorruptFieldCommand runs on plans over drawn topologies and their steps are read (that the
// bind edit reaches `client restarting>failed` is scripts/coverage-table.ts's to show); the other
// two plans are run (judgePlan) and their coverage read (runCoverage).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptFieldCommand } from '../../src/fuzz/commands/corrupt-field.js';
import { Plan } from '../../src/fuzz/plan.js';
import type { Topology } from '../../src/fuzz/profile.js';
import { compiledEngine } from '../../src/engine/engine.js';
import { runCoverage, withMachineDefinitions } from '../../src/fuzz/coverage.js';
import { judgePlan } from '../../src/fuzz/run-one.js';
import { ambrosiaProfile } from '../../src/protocols/ambrosia/fuzz.js';

function topologyWith(ok: (topology: Topology) => boolean): Topology {
  const found = fc.sample(ambrosiaProfile.topology, { seed: 3, numRuns: 400 }).find(ok);
  if (found === undefined) throw new Error('no such topology drawn');
  return found;
}
const hasSlow = (topology: Topology) => topology.users.some((user) => user.address.startsWith('slow@'));

describe('fuzz: an aimed wire-field edit', () => {
  const bind = (ambrosiaProfile.wireFields ?? []).indexOf('bind');

  it("arms Ambrosia's bind edit on the slow user's link, restarts its client and waits", () => {
    expect(bind).toBeGreaterThanOrEqual(0);
    const topology = topologyWith(hasSlow);
    const slow = topology.users.find((user) => user.address.startsWith('slow@'));
    const gateway = (topology.nodes[slow?.node ?? '']?.config as { gateway: { host: string } }).gateway.host;
    const plan = new Plan(ambrosiaProfile, topology);
    plan.send(topology.users[0]!, topology.users[1]!);
    const beforeMs = plan.nowMs;
    // The drawn link (7) and edit (inc) are not used: the aim names both.
    new CorruptFieldCommand(7, bind, 'inc').run(plan);
    expect(plan.steps.slice(-3)).toEqual([
      { atMs: beforeMs, do: 'corrupt', between: [gateway, slow?.node], field: 'bind', op: 'dec' },
      { atMs: beforeMs, do: 'crash', node: slow?.node },
      { atMs: beforeMs + 1, do: 'restart', node: slow?.node },
    ]);
    expect(plan.nowMs).toBe(beforeMs + 1 + 30_000);
  });

  it('arms nothing without a slow user, and leaves the other fields and the flaw campaigns as they were', () => {
    const plan = new Plan(
      ambrosiaProfile,
      topologyWith((topology) => !hasSlow(topology)),
    );
    plan.send(plan.topology.users[0]!, plan.topology.users[1]!);
    const steps = plan.steps.length;
    new CorruptFieldCommand(0, bind, 'dec').run(plan);
    expect(plan.steps.length).toBe(steps);
    new CorruptFieldCommand(0, 0, 'inc').run(plan);
    expect(plan.steps.at(-1)).toMatchObject({ do: 'corrupt', field: 'seq', op: 'inc' });
    for (const variant of Object.values(ambrosiaProfile.variants ?? {})) {
      expect(variant.wireFields).toEqual(['seq', 'id', 'from']);
      expect(variant.fieldAims).toBeUndefined();
    }
  });
});

describe('fuzz: the aimed Ambrosia stream damages', () => {
  const field = (name: string) => (ambrosiaProfile.wireFields ?? []).indexOf(name);
  const config = (topology: Topology, node: string) => topology.nodes[node]?.config as Record<string, unknown>;
  const role = (topology: Topology, name: string) =>
    Object.keys(topology.nodes).filter((node) => config(topology, node)['role'] === name);
  /** The plan's run: its verdict's failures and the transitions it reached. */
  function run(plan: Plan, seed: number): { failures: string[]; changes: readonly string[] } {
    const { value, machines } = withMachineDefinitions(compiledEngine, (tapped) =>
      judgePlan(plan, seed, 'aimed-ambrosia', undefined, tapped),
    );
    return {
      failures: value.report.results.filter((result) => !result.ok).map((result) => result.message),
      changes: runCoverage(value.report.trace.events, machines, []).changes,
    };
  }

  it("arms the namespace edit on the first service's link, restarts that service, and the gateway ends its opening stream", () => {
    const topology = topologyWith((t) => role(t, 'gateway').length === 1 && role(t, 'service').length > 0);
    const service = role(topology, 'service')[0]!;
    const plan = new Plan(ambrosiaProfile, topology);
    plan.send(topology.users[0]!, topology.users[1]!);
    plan.nowMs += 3_000;
    const beforeMs = plan.nowMs;
    new CorruptFieldCommand(7, field('xmlns'), 'zero').run(plan);
    expect(plan.steps.slice(-3)).toEqual([
      {
        atMs: beforeMs,
        do: 'corrupt',
        between: [service, 'gw.test'],
        find: "'urn:fedsim:ambrosia:service:0'",
        replace: "'urn:fedsim:ambrosia:service:0-damaged'",
      },
      { atMs: beforeMs, do: 'crash', node: service },
      { atMs: beforeMs + 1, do: 'restart', node: service },
    ]);
    expect(plan.nowMs).toBe(beforeMs + 1 + 2_000);
    plan.send(topology.users[1]!, topology.users[0]!);
    const { failures, changes } = run(plan, 5);
    expect(failures).toEqual([]);
    expect(changes).toContain('ambrosia.service-session opening>closed');
    expect(changes).toContain('ambrosia.service-link opening>backingOff');
  });

  it('arms the features edit between two gateways that have not talked, sends across, and the stream fails in features', () => {
    const topology = topologyWith(
      (t) => role(t, 'gateway').length >= 2 && !t.users.some((u) => u.address.startsWith('slow@')),
    );
    const [gwA, gwB] = ['gw-a.test', 'gw-b.test'];
    const plan = new Plan(ambrosiaProfile, topology);
    const beforeMs = plan.nowMs;
    new CorruptFieldCommand(0, field('features'), 'inc').run(plan);
    const a = topology.users.find((user) => user.address.endsWith('@a.test'))!;
    const b = topology.users.find((user) => user.address.endsWith('@b.test'))!;
    expect(plan.steps.slice(0, 1)).toEqual([
      {
        atMs: beforeMs,
        do: 'corrupt',
        between: [gwB, gwA],
        find: '<stream:features>',
        replace: "<stream:features xmlns:stream='urn:fedsim:damaged'>",
      },
    ]);
    expect(plan.sends.map((send) => [send.from, send.to])).toEqual([[a, b]]);
    expect(plan.nowMs).toBe(beforeMs + 4_000);
    plan.send(b, a);
    const { failures, changes } = run(plan, 5);
    expect(failures).toEqual([]);
    expect(changes).toContain('ambrosia.s2s features>failed');
  });

  it('arms the features edit nowhere once every pair of gateways talked', () => {
    const topology = topologyWith((t) => role(t, 'gateway').length === 2);
    const plan = new Plan(ambrosiaProfile, topology);
    const a = topology.users.find((user) => user.address.endsWith('@a.test'))!;
    const b = topology.users.find((user) => user.address.endsWith('@b.test'))!;
    plan.send(b, a);
    const steps = plan.steps.length;
    new CorruptFieldCommand(0, field('features'), 'inc').run(plan);
    expect(plan.steps.length).toBe(steps);
  });
});
