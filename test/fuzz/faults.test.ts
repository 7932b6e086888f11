// Goal: promises under faults are derived from the fault spans and the protocol's own backoff, and
// owe what the spec says survives a fault: an FMTP message sent during a partition (the relay
// retries), not one whose sender's server crashed (no durable outbox); a SOLEC message not to a
// recipient whose client had a fault (a push has no answer). And the run keeps them: the plans pass.
// Method: faultSpans/retryDeadlineMs on hand-made steps; plans built by hand over drawn topologies,
// their expectations read from the scenario and the scenario run.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultSpans, healedAfter, retryDeadlineMs } from '../../src/fuzz/faults.js';
import { Plan } from '../../src/fuzz/plan.js';
import type { FuzzProfile, FuzzUser, Topology } from '../../src/fuzz/profile.js';
import { judgePlan } from '../../src/fuzz/run-one.js';
import { fmtpProfile } from '../../src/protocols/fmtp/fuzz.js';
import { solecProfile } from '../../src/protocols/solec/fuzz.js';
import type { ScenarioFile } from '../../src/scenario/schema.js';

function promised(source: ScenarioFile): string[] {
  return (source.expect ?? []).flatMap((e) => ('delivered' in e ? e.delivered.bodies : []));
}

function twoDomains(profile: FuzzProfile) {
  for (const topology of fc.sample(profile.topology, { seed: 7, numRuns: 80 })) {
    const [a, b] = topology.users;
    const other = topology.users.find(
      (user) => user.node !== a?.node && user.address.split('@')[1] !== a?.address.split('@')[1],
    );
    if (a !== undefined && b !== undefined && other !== undefined) return { topology, a, b: other };
  }
  throw new Error('no topology with two domains');
}

describe('fuzz: promises under faults', () => {
  it('spans pair each fault with its end, and the retry deadline follows the backoff', () => {
    const spans = faultSpans([
      { atMs: 100, do: 'partition', between: ['x', 'y'] },
      { atMs: 200, do: 'crash', node: 'x' },
      { atMs: 900, do: 'heal', between: ['y', 'x'] },
      { atMs: 1_000, do: 'restart', node: 'x' },
    ]);
    expect(spans.map((s) => [s.kind, s.beginMs, s.endMs])).toEqual([
      ['partition', 100, 900],
      ['crash', 200, 1_000],
    ]);
    expect(healedAfter(spans, 150)).toBe(1_000);
    expect(healedAfter(spans, 1_500)).toBe(1_500);
    // Sent at 0, healed at 10 s: the delay in force is at most 10 s + the first (1 s), capped at 30 s.
    expect(retryDeadlineMs(0, 10_000, 1_000, 30_000)).toBe(21_000);
    expect(retryDeadlineMs(0, 100_000, 1_000, 30_000)).toBe(130_000);
  });

  it('fmtp: a message sent during a partition is owed after the heal; one whose sender crashed is not', () => {
    const { topology, a, b } = twoDomains(fmtpProfile);
    const plan = new Plan(fmtpProfile, topology);
    plan.nowMs = 500;
    plan.add({ atMs: 500, do: 'partition', between: [a.node, b.node] }, 'begin');
    plan.partitioned.set(plan.pairKey(a.node, b.node), [a.node, b.node]);
    plan.send(a, b); // m1: during the partition
    plan.nowMs = 4_000;
    plan.send(b, a); // m2: from the other side, its server crashes next
    plan.crashed.add(b.node);
    plan.add({ atMs: 4_000, do: 'crash', node: b.node }, 'begin');
    plan.nowMs = 8_000;
    const { source, report } = judgePlan(plan, 3, 'fmtp-under-faults');
    const owed = promised(source);
    expect(owed).toContain('m1');
    expect(owed).not.toContain('m2');
    expect(report.results.filter((r) => !r.ok)).toEqual([]);
  });

  it('solec: nothing is owed to a recipient whose client had a fault, and the rest arrives', () => {
    let found: { topology: Topology; users: FuzzUser[] } | undefined;
    for (const topology of fc.sample(solecProfile.topology, { seed: 11, numRuns: 80 })) {
      if (topology.users.length >= 3) found = { topology, users: [...topology.users] };
      if (found) break;
    }
    const { topology, users } = found!;
    const [a, b, c] = users as [FuzzUser, FuzzUser, FuzzUser];
    const plan = new Plan(solecProfile, topology);
    const server = topology.hosts.find((host) => !users.some((user) => user.node === host))!;
    plan.add({ atMs: 500, do: 'clog', between: [a.node, server] }, 'begin');
    plan.clogged.set(plan.pairKey(a.node, server), [a.node, server]);
    plan.send(a, b); // m1: the sender's link is clogged; it is sent once unclogged
    plan.send(b, a); // m2: to the clogged client, whose pushes may be lost
    plan.send(c, b); // m3: no fault on its way
    plan.nowMs = 3_000;
    const { source, report } = judgePlan(plan, 5, 'solec-under-faults');
    const owed = promised(source);
    expect(owed).toEqual(expect.arrayContaining(['m1', 'm3']));
    expect(owed).not.toContain('m2');
    expect(report.results.filter((r) => !r.ok)).toEqual([]);
  });
});
