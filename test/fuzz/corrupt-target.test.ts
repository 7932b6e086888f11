// Goal: a fuzz corruption is armed on a link that carries traffic in the plan, so that it acts.
// Before, the command drew any two fault hosts, and about two thirds of the corruptions picked a
// link that never carries bytes (client to client, or servers no message crosses), then were
// disarmed at the heal having done nothing.
// Method: (1) every link a profile names for a pair of users carries bytes when that pair talks,
// in a real run; (2) the command draws among the links of the plan's sends so far (or, before
// the first, of any pair), by an index taken modulo their number; (3) a corruption armed before
// any send on a link no pair that talked uses gets a pair that uses it at the heal, and acts;
// (4) of the corruptions armed in drawn plans, nearly all act.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptCommand } from '../../src/fuzz/commands/corrupt.js';
import { planCommands } from '../../src/fuzz/commands/index.js';
import { damageInstants, Plan } from '../../src/fuzz/plan.js';
import type { FuzzUser, Topology } from '../../src/fuzz/profile.js';
import { fuzzProfiles } from '../../src/fuzz/profiles/index.js';
import { solecProfile } from '../../src/protocols/solec/fuzz.js';
import { judgePlan, scenarioOf } from '../../src/fuzz/run-one.js';
import { runScenario } from '../../src/scenario/run.js';

const solec: Topology = {
  nodes: {
    's1.test': { config: { role: 'server', accounts: { u1: 'pw-u1' }, knownServers: [{ name: 's2.test' }] } },
    'u1-s1.test': { config: { role: 'client', server: 's1.test', username: 'u1', password: 'pw-u1' } },
    's2.test': { config: { role: 'server', accounts: { u1: 'pw-u1' }, knownServers: [{ name: 's1.test' }] } },
    'u1-s2.test': { config: { role: 'client', server: 's2.test', username: 'u1', password: 'pw-u1' } },
  },
  dns: [],
  network: { delayMsMin: 1, delayMsMax: 1, connectTimeoutMs: 1_000, resetTimeoutMs: 3_000 },
  users: [
    { address: 'u1@s1.test', node: 'u1-s1.test' },
    { address: 'u1@s2.test', node: 'u1-s2.test' },
  ],
  hosts: ['s1.test', 's2.test', 'u1-s1.test', 'u1-s2.test'],
  crashable: ['u1-s1.test', 'u1-s2.test'],
};
const [a, b] = solec.users as [FuzzUser, FuzzUser];
const keys = (links: readonly (readonly [string, string])[]) => links.map(([from, to]) => `${from}>${to}`);

describe('fuzz: a corruption is drawn on a link that carries traffic', () => {
  it.each([...fuzzProfiles.keys()])('%s: every link a pair is said to use carries its bytes', (name) => {
    const profile = fuzzProfiles.get(name)!;
    for (const topology of fc.sample(profile.topology, { seed: 5, numRuns: 2 })) {
      const hostOf = (node: string) => topology.nodes[node]?.host ?? node;
      for (const from of topology.users) {
        for (const to of topology.users) {
          const plan = new Plan(profile, topology);
          plan.nowMs += 1_000;
          const sentMs = plan.nowMs;
          plan.send(from, to);
          const report = runScenario(scenarioOf(plan.finish(0, `${name}-links`), `${name}-links.yaml`));
          const carried = new Set(
            report.trace.events.flatMap((event) =>
              event.kind === 'send' && event.atMs >= sentMs ? [`${hostOf(event.node)}>${hostOf(event.to)}`] : [],
            ),
          );
          for (const [x, y] of profile.links(topology, from, to)) {
            expect(carried, `${from.address} -> ${to.address} on ${x}>${y}`).toContain(`${x}>${y}`);
          }
        }
      }
    }
  });

  it("draws among the links of the plan's sends, or of any pair before the first send", () => {
    const plan = new Plan(solecProfile, solec);
    // Before any send: every link some pair would use (no client-to-client link, which none does).
    expect(keys(plan.trafficLinks())).toEqual([
      'u1-s1.test>s1.test',
      's1.test>u1-s1.test',
      's1.test>s2.test',
      's2.test>s1.test',
      's2.test>u1-s2.test',
      'u1-s2.test>s2.test',
    ]);
    plan.send(b, b);
    expect(keys(plan.trafficLinks())).toEqual(['u1-s2.test>s2.test', 's2.test>u1-s2.test']);
    new CorruptCommand(3, true).run(plan);
    expect(plan.steps.at(-1)).toEqual({ atMs: 500, do: 'truncate', between: ['s2.test', 'u1-s2.test'] });
    expect(new CorruptCommand(0, false).check(new Plan(solecProfile, { ...solec, users: [] }))).toBe(false);
  });

  it('sends over a link armed before any send at the heal, so that it acts', () => {
    const plan = new Plan(solecProfile, solec);
    new CorruptCommand(2, false).run(plan); // s1 -> s2, before any message
    plan.nowMs = 1_000;
    plan.send(a, a); // uses u1-s1 <-> s1 only
    const { source, report } = judgePlan(plan, 0, 'solec-covered');
    const sends = (source.steps ?? []).flatMap((step) => {
      const command = step.do === 'command' ? (step.command as { type: string; body?: string }) : undefined;
      return command?.type === 'send' ? [`${step.atMs} ${command.body ?? ''}`] : [];
    });
    // m2 repeats m1 at the heal; m3 is u1@s1 -> u1@s2, whose relay crosses s1 -> s2; both talk at the close.
    expect(sends).toEqual(['1000 m1', '1001 m2', '1001 m3', '9001 m4', '9001 m5']);
    expect(damageInstants(report.trace.events)).toHaveLength(1);
    expect(report.results.filter((result) => !result.ok)).toEqual([]);
  });

  it.each(['solec', 'fmtp'])('%s: nearly every corruption armed in drawn plans acts', (name) => {
    const profile = fuzzProfiles.get(name)!;
    let armed = 0;
    let acted = 0;
    const samples = fc.sample(fc.tuple(profile.topology, planCommands({ commandsMax: 12 })), { seed: 9, numRuns: 120 });
    for (const [topology, commands] of samples) {
      const plan = new Plan(profile, topology);
      fc.modelRun(() => ({ model: plan, real: plan }), commands);
      // A corruption armed again on a link before the first acted replaces it: one per link.
      const links = new Set(
        plan.steps.flatMap((step) => (step.do === 'corrupt' || step.do === 'truncate' ? [step.between.join('>')] : [])),
      );
      if (links.size === 0) continue;
      armed += links.size;
      acted += Math.min(links.size, damageInstants(judgePlan(plan, 1, `${name}-acting`).report.trace.events).length);
    }
    console.log(`${name}: ${acted} of ${armed} armed corruptions acted`);
    expect(armed).toBeGreaterThanOrEqual(10);
    expect(acted / armed).toBeGreaterThanOrEqual(0.8);
  });
});
