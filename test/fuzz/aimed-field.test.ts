// Goal: Ambrosia's default campaign aims its `<bind/>` edit at the slow user's link only (nothing
// is owed to or from that user), restarts that client so that it logs in afresh, and waits for the
// login; without a slow user nothing is armed; the flaw campaigns keep the old fields and no aim.
// Method: CorruptFieldCommand runs on plans over drawn topologies and their steps are read (that the
// edit reaches `client restarting>failed` is scripts/coverage-table.ts's to show).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptFieldCommand } from '../../src/fuzz/commands/corrupt-field.js';
import { Plan } from '../../src/fuzz/plan.js';
import type { Topology } from '../../src/fuzz/profile.js';
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
