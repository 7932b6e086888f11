// Goal: a node still crashed when a plan ends is restarted at the heal over its durable store, and
// is then held to the closing promises like any other node: the closing messages from its users
// and to them are promised (before, `plan.crashed` was never cleared, so what its users sent at
// the close counted as sent by a node that was down, and was never promised).
// Method: one hand-made FMTP plan (d1 crashes at 100 ms and is never restarted by a command):
// its closing expectations and its run; then, for every protocol, a drawn topology whose crashable
// node hosts a user, crashed before that user and a peer talk both ways: the closing messages of
// both are promised and delivered.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CrashCommand } from '../../src/fuzz/commands/crash.js';
import { Plan } from '../../src/fuzz/plan.js';
import type { FuzzProfile, FuzzUser, Topology } from '../../src/fuzz/profile.js';
import { fuzzProfiles } from '../../src/fuzz/profiles/index.js';
import { fmtpProfile } from '../../src/protocols/fmtp/fuzz.js';
import { judgePlan } from '../../src/fuzz/run-one.js';
import type { ScenarioFile } from '../../src/scenario/schema.js';

const topology: Topology = {
  nodes: {
    'd1.test': { config: { users: [{ address: 'u1@d1.test' }] } },
    'd2.test': { config: { users: [{ address: 'u1@d2.test' }] } },
  },
  dns: [
    { name: 'd1.test', type: 'MX', value: '10 d1.test' },
    { name: 'd2.test', type: 'MX', value: '10 d2.test' },
  ],
  network: { delayMsMin: 1, delayMsMax: 1, connectTimeoutMs: 1_000, resetTimeoutMs: 3_000 },
  users: [
    { address: 'u1@d1.test', node: 'd1.test' },
    { address: 'u1@d2.test', node: 'd2.test' },
  ],
  hosts: ['d1.test', 'd2.test'],
  crashable: ['d1.test', 'd2.test'],
};

/** `bodies` promised, by recipient. */
function promised(source: ScenarioFile): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const expectation of source.expect ?? []) {
    if ('delivered' in expectation) out[expectation.delivered.to ?? ''] = [...expectation.delivered.bodies];
  }
  return out;
}

describe('fuzz: a node restarted at the heal is promised again', () => {
  it('promises the closing messages from and to a node crashed at the end (fmtp)', () => {
    const plan = new Plan(fmtpProfile, topology);
    const [d1user, d2user] = topology.users as [FuzzUser, FuzzUser];
    new CrashCommand(0).run(plan);
    plan.nowMs = 1_000;
    plan.send(d1user, d2user); // m1: d1 is down, nothing is taken
    plan.send(d2user, d1user); // m2: sent to a node that is down, within the fault
    const { source, report } = judgePlan(plan, 0, 'fmtp-restarted');
    expect(plan.crashed.size).toBe(0);
    const steps = (source.steps ?? []).map((step) =>
      step.do === 'command' ? `${step.atMs} ${JSON.stringify(step.command)}` : `${step.atMs} ${step.do}`,
    );
    expect(steps).toEqual([
      '100 crash',
      '1000 {"type":"send","from":"u1@d1.test","to":"u1@d2.test","body":"m1"}',
      '1000 {"type":"send","from":"u1@d2.test","to":"u1@d1.test","body":"m2"}',
      '1001 restart',
      // Without hid.test a crash needs no noticing (a relay retries on a stale connection): the
      // closing messages wait the settle time after the restart only (FMTP's crashNoticedMs is set for
      // hid.test topologies alone).
      '7001 {"type":"send","from":"u1@d1.test","to":"u1@d2.test","body":"m3"}',
      '7001 {"type":"send","from":"u1@d2.test","to":"u1@d1.test","body":"m4"}',
    ]);
    // m3 comes from the restarted node: before, it was never promised. m2 went to a node that was
    // down, from one that stayed up: its relay retries until d1 is back (spec.md §8.1).
    expect(promised(source)).toEqual({ 'u1@d1.test': ['m2', 'm4'], 'u1@d2.test': ['m3'] });
    expect(report.results.filter((result) => !result.ok)).toEqual([]);
    expect(report.verdict).toBe('pass');
  });

  /** A drawn topology with a crashable node that hosts a user, and a peer that user may send to. */
  function crashCase(profile: FuzzProfile): { topology: Topology; crashed: FuzzUser; peer: FuzzUser } {
    for (const drawn of fc.sample(profile.topology, { seed: 42, numRuns: 50 })) {
      for (const crashed of drawn.users) {
        if (!drawn.crashable.includes(crashed.node)) continue;
        const peer = drawn.users.find(
          (user) =>
            user.node !== crashed.node &&
            profile.promises(drawn, crashed, user) &&
            profile.promises(drawn, user, crashed),
        );
        if (peer !== undefined) return { topology: drawn, crashed, peer };
      }
    }
    throw new Error(`no topology of ${profile.protocol} has a crashable user with a peer`);
  }

  it.each([...fuzzProfiles.keys()])('%s: a user whose node restarts at the heal sends and receives again', (name) => {
    const profile = fuzzProfiles.get(name)!;
    const { topology: drawn, crashed, peer } = crashCase(profile);
    const plan = new Plan(profile, drawn);
    plan.nowMs += 500;
    plan.send(crashed, peer);
    plan.send(peer, crashed);
    plan.nowMs += 2_000;
    new CrashCommand(drawn.crashable.indexOf(crashed.node)).run(plan);
    plan.nowMs += 1_000;
    const { source, report } = judgePlan(plan, 7, `${name}-restarted`);
    const closing = plan.sends.slice(-2);
    expect(closing.map((send) => [send.from.address, send.to.address, send.accepted])).toEqual([
      [crashed.address, peer.address, true],
      [peer.address, crashed.address, true],
    ]);
    const bodies = Object.values(promised(source)).flat();
    for (const send of closing)
      expect(bodies).toContain(profile.deliveredBody?.(send.to, send.body, send.from) ?? send.body);
    expect(report.results.filter((result) => !result.ok)).toEqual([]);
  });
});
