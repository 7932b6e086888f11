// Goal: `ackRace` (src/fuzz/commands/ack-race.ts) puts an ack and a lost stanza in the order an
// off-by-one ack count breaks (XEP-0198 §4/§5): the recipient's ack of the first message reaches its
// gateway while the second is unacked and cut short on the last hop. Its plan has that shape, heals
// the faults on the messages' way first, and on the unchanged code the second message comes back
// after the resumption; only Ambrosia's default campaign draws it.
// Method: the command run on plans over a drawn one-gateway Ambrosia topology, its steps read; the
// plan judged as the campaign judges it, and its trace read.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckRaceCommand } from '../../src/fuzz/commands/ack-race.js';
import { campaignCommandOptions, planCommands } from '../../src/fuzz/commands/index.js';
import { Plan } from '../../src/fuzz/plan.js';
import type { Topology } from '../../src/fuzz/profile.js';
import { judgePlan } from '../../src/fuzz/run-one.js';
import { ambrosiaProfile } from '../../src/protocols/ambrosia/fuzz.js';
import { besterProfile } from '../../src/protocols/bester/fuzz.js';
import { f140Profile } from '../../src/protocols/f140/fuzz.js';
import { fmtpProfile } from '../../src/protocols/fmtp/fuzz.js';
import { solecProfile } from '../../src/protocols/solec/fuzz.js';

/** A one-gateway topology (gw.test) with two users and no failing logins. */
function oneGateway(): Topology {
  const found = fc
    .sample(ambrosiaProfile.topology, { seed: 5, numRuns: 200 })
    .find((t) => t.nodes['gw.test'] !== undefined && t.users.length === 2 && t.nodes['slow.a.test'] === undefined);
  if (found === undefined) throw new Error('no such topology drawn');
  return found;
}

describe('fuzz: ackRace', () => {
  it('is drawn only by the Ambrosia default campaign', () => {
    const drawn = (options: Parameters<typeof planCommands>[0]) =>
      fc.sample(planCommands(options), { seed: 11, numRuns: 200 }).flatMap((c) => [...c].map(String));
    expect(drawn({}).some((c) => c.startsWith('ackRace'))).toBe(false);
    expect(drawn({ ackRaces: true }).filter((c) => c.startsWith('ackRace')).length).toBeGreaterThan(20);
    expect(campaignCommandOptions(ambrosiaProfile).ackRaces).toBe(true);
    for (const variant of Object.values(ambrosiaProfile.variants ?? {}))
      expect(campaignCommandOptions(variant).ackRaces).toBeUndefined();
    for (const profile of [fmtpProfile, f140Profile, solecProfile, besterProfile])
      expect(campaignCommandOptions(profile).ackRaces).toBeUndefined();
  });

  it("holds the recipient's acks for part of the ack timeout and cuts the second message short on its last hop", () => {
    const topology = oneGateway();
    const plan = new Plan(ambrosiaProfile, topology);
    new AckRaceCommand(0, 1, 50, 40).run(plan);
    const [from, to] = topology.users;
    const startMs = ambrosiaProfile.startMs;
    expect(plan.steps.map((s) => ({ ...s }))).toEqual([
      { atMs: startMs, do: 'partition', between: [to?.node, 'gw.test'], oneWay: true },
      { atMs: startMs, do: 'truncate', between: ['gw.test', to?.node], contains: "id='m2'", keepBytes: 40 },
      expect.objectContaining({ atMs: startMs, do: 'command', node: from?.node }),
      expect.objectContaining({ atMs: startMs, do: 'command', node: from?.node }),
      // Half the gateway's 1,000 ms ack timeout, then the settle time before the last send.
      { atMs: startMs + 500, do: 'heal', between: [to?.node, 'gw.test'] },
      expect.objectContaining({ atMs: startMs + 500 + ambrosiaProfile.delivery.settleMs, do: 'command' }),
    ]);
    expect(plan.sends.map((s) => s.body)).toEqual(['m1', 'm2', 'm3']);
  });

  it('heals the faults on the messages’ way first and starts once they settled', () => {
    const topology = oneGateway();
    const [, to] = topology.users;
    const plan = new Plan(ambrosiaProfile, topology);
    plan.partitioned.set(plan.pairKey('gw.test', to!.node), ['gw.test', to!.node]);
    plan.add({ atMs: 500, do: 'partition', between: ['gw.test', to!.node] }, 'begin');
    plan.nowMs = 2_000;
    new AckRaceCommand(0, 1, 50, 40).run(plan);
    expect(plan.partitioned.size).toBe(0);
    expect(plan.steps[1]).toEqual({ atMs: 2_000, do: 'heal', between: ['gw.test', to!.node] });
    const race = plan.steps.find((s) => s.do === 'truncate');
    expect(race?.atMs).toBeGreaterThanOrEqual(2_000 + ambrosiaProfile.delivery.settleMs);
  });

  it('ends, on the unchanged code, with the second message resent after the resumption and every owed one delivered', () => {
    const plan = new Plan(ambrosiaProfile, oneGateway());
    new AckRaceCommand(0, 1, 50, 40).run(plan);
    const { report } = judgePlan(plan, 7, 'ack-race');
    expect(report.verdict).toBe('pass');
    const events = report.trace.events;
    const cut = events.findIndex((e) => e.kind === 'fault' && e.fault === 'truncate' && e.phase === 'end');
    expect(cut).toBeGreaterThan(0);
    const resumed = events.findIndex((e, i) => i > cut && e.kind === 'note' && e.what === 'ambrosia.sm.resumed');
    expect(resumed).toBeGreaterThan(cut);
    const m2 = events.findIndex((e) => e.kind === 'deliver' && e.body === 'm2');
    expect(m2).toBeGreaterThan(resumed);
    expect(events.some((e) => e.kind === 'deliver' && e.body === 'm3')).toBe(true);
  });
});
