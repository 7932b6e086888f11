// Goal: a refusal is owed like a delivery (`FuzzProfile.refusal`): FMTP's default campaign owes the
// sender a reject naming the recipient for each message it sent on a quiet network to the address
// d1.test has no account for (`recipient-unknown`) or to the user whose policy is REJECT
// (`policy-reject`), FMTP spec.md §8; nothing while faults are in force, and nothing in the flaw
// campaigns. A relay that retries a NOT-FOUND, or loses the reject, fails the run.
// Method: plans over drawn FMTP topologies, their scenarios' expectations read; one judged as the
// campaign judges it, on the unchanged code.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Plan } from '../../src/fuzz/plan.js';
import type { FuzzUser, Topology } from '../../src/fuzz/profile.js';
import { judgePlan } from '../../src/fuzz/run-one.js';
import { fmtpProfile } from '../../src/protocols/fmtp/fuzz.js';

function topologyWith(address: string): { topology: Topology; from: FuzzUser; to: FuzzUser } {
  for (const topology of fc.sample(fmtpProfile.topology, { seed: 4, numRuns: 300 })) {
    const to = topology.users.find((user) => user.address === address);
    const from = topology.users.find((user) => user.node !== 'd1.test' && !user.address.includes('hid.test'));
    if (to !== undefined && from !== undefined) return { topology, from, to };
  }
  throw new Error('no such topology drawn');
}

describe('fuzz: refusals owed (FMTP)', () => {
  it('owes a reject per message sent on a quiet network to nobody@d1.test, none under a fault', () => {
    const { topology, from, to } = topologyWith('nobody@d1.test');
    const plan = new Plan(fmtpProfile, topology);
    plan.send(from, to);
    plan.nowMs += 10;
    plan.send(from, to);
    plan.nowMs += 20_000;
    plan.add({ atMs: plan.nowMs, do: 'partition', between: [from.node, 'd1.test'] }, 'begin');
    plan.send(from, to);
    const told = (plan.scenario(1, 'x', []).expect ?? []).filter((e) => 'sequence' in e);
    const reject = {
      kind: 'reject',
      node: from.node,
      code: 'fmtp.message.recipient-unknown',
      detail: { to: to.address },
    };
    expect(told).toEqual([
      {
        byMs: fmtpProfile.startMs + 10 + fmtpProfile.delivery.withinMs,
        name: `${from.node} told fmtp.message.recipient-unknown for nobody@d1.test`,
        sequence: [reject, reject],
      },
    ]);
  });

  it('owes policy-reject for closed@d1.test, and the unchanged code gives it', () => {
    const { topology, from, to } = topologyWith('closed@d1.test');
    const plan = new Plan(fmtpProfile, topology);
    plan.send(from, to);
    const { source, report } = judgePlan(plan, 3, 'refusal');
    expect((source.expect ?? []).some((e) => 'sequence' in e && e.name?.includes('policy-reject') === true)).toBe(true);
    expect(report.verdict).toBe('pass');
  });

  it('owes none in the flaw campaigns', () => {
    expect(fmtpProfile.variants).toBeDefined();
    for (const variant of Object.values(fmtpProfile.variants ?? {})) expect(variant.refusal).toBeUndefined();
  });
});
