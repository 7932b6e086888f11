// Goal: F140 groups in the default campaign (spec.md §1): a group send is one command that queues a
// message for each member, each owed as a send to that member, and delivered to no one else and in
// each member's queue order (§5). The flaw campaigns (variants) draw their topologies as before.
// Method: sample the default and variant topologies (fixed seeds) and count groups; run a plan with
// a group send and read its expectations and trace; feed hand-made events to `f140.authentic` and
// `f140.inOrder` (a member, a friend outside the group, deliveries out of order).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GroupSendCommand } from '../../src/fuzz/commands/group-send.js';
import { campaignCommandOptions, generatorsRan, planCommands } from '../../src/fuzz/commands/index.js';
import { Plan } from '../../src/fuzz/plan.js';
import type { Topology } from '../../src/fuzz/profile.js';
import { judgePlan } from '../../src/fuzz/run-one.js';
import { invariantNamed } from '../../src/check/registry.js';
import { f140Profile } from '../../src/protocols/f140/fuzz.js';
import type { TraceEvent } from '../../src/trace/events.js';

interface UserConfig {
  readonly name: string;
  readonly friends: readonly { readonly user: string }[];
  readonly groups?: Readonly<Record<string, readonly string[]>>;
}
const usersOf = (topology: Topology): UserConfig[] =>
  Object.values(topology.nodes).flatMap((node) => (node.config as { users: UserConfig[] }).users);
const hasGroups = (topology: Topology) => usersOf(topology).some((user) => user.groups !== undefined);

describe('fuzz: F140 groups in the default campaign', () => {
  const sample = fc.sample(f140Profile.topology, { seed: 7, numRuns: 200 });

  it('gives every user with a friend a group of friends in about half the topologies, some groups leaving friends out', () => {
    const grouped = sample.filter(hasGroups);
    expect(grouped.length).toBeGreaterThan(70);
    expect(grouped.length).toBeLessThan(130);
    let partial = 0;
    for (const topology of grouped) {
      for (const user of usersOf(topology)) {
        if (user.friends.length === 0) continue;
        const members = user.groups?.['g1'] ?? [];
        expect(members.length).toBeGreaterThan(0);
        const friends = user.friends.map((friend) => friend.user);
        for (const member of members) expect(friends).toContain(member);
        if (members.length < friends.length) partial += 1;
      }
    }
    expect(partial).toBeGreaterThan(20);
  });

  it('keeps the flaw campaigns on topologies without groups, drawing no group sends nor restart windows', () => {
    const seed = f140Profile.variants?.['seed'];
    expect(seed).toBeDefined();
    expect(fc.sample(seed!.topology, { seed: 7, numRuns: 100 }).some(hasGroups)).toBe(false);
    expect(campaignCommandOptions(seed!)).toEqual({});
    expect(campaignCommandOptions(f140Profile)).toEqual({
      restartWindows: true,
      groupSends: true,
      dnsFaults: false,
      lostMessages: false,
    });
  });

  it('draws group sends in the default campaign', () => {
    const drawn = new Set<string>();
    for (let seed = 1; seed <= 40; seed += 1) {
      fc.assert(
        fc.property(f140Profile.topology, planCommands(campaignCommandOptions(f140Profile)), (topology, commands) => {
          const plan = new Plan(f140Profile, topology);
          fc.modelRun(() => ({ model: plan, real: plan }), commands);
          for (const name of generatorsRan(commands)) drawn.add(name);
        }),
        { seed, numRuns: 1 },
      );
    }
    expect(drawn).toContain('groupSend');
    expect(drawn).toContain('restartWindow');
  });

  it('owes a group send to each member once, delivers it to them with the group, and to no other friend', () => {
    const topology = sample.find((candidate) =>
      usersOf(candidate).some(
        (user) =>
          user.groups !== undefined &&
          (user.groups['g1']?.length ?? 0) >= 1 &&
          user.friends.length > (user.groups['g1']?.length ?? 0),
      ),
    );
    expect(topology).toBeDefined();
    const sender = usersOf(topology!).find(
      (user) => user.groups !== undefined && user.friends.length > (user.groups['g1']?.length ?? 0),
    )!;
    const from = topology!.users.find((user) => user.address === sender.name)!;
    const members = sender.groups?.['g1'] ?? [];
    const plan = new Plan(f140Profile, topology!);
    plan.nowMs += 500;
    new GroupSendCommand(topology!.users.indexOf(from), 0).run(plan);
    expect(plan.steps.filter((step) => step.do === 'command')).toHaveLength(1);
    expect(plan.sends.map((send) => send.to.address)).toEqual(members);
    const { source, report } = judgePlan(plan, 3, 'group');
    expect(report.verdict).toBe('pass');
    for (const member of members) {
      expect(source.expect).toContainEqual(
        expect.objectContaining({ delivered: { to: member, bodies: ['m1'], exactly: false } }),
      );
    }
    const delivered = report.trace.events.flatMap((event) =>
      event.kind === 'deliver' && event.body === 'm1' ? [event] : [],
    );
    expect(delivered.map((event) => event.user).sort()).toEqual([...members].sort());
    for (const event of delivered) expect(event.detail).toEqual({ group: 'g1' });
  });
});

const base = { atMs: 0, lamport: 0 };
const deliver = (seq: number, user: string, body: string, id?: string): TraceEvent => ({
  ...base,
  seq,
  node: user.split('@')[1] ?? '',
  kind: 'deliver',
  user,
  from: 'alice@a.test',
  body,
  ...(id === undefined ? {} : { id }),
});
const context = {
  nodes: [
    {
      id: 'a.test',
      host: 'a.test',
      protocol: 'f140',
      config: {
        users: [
          {
            name: 'alice@a.test',
            friends: [{ user: 'bob@b.test' }, { user: 'carol@c.test' }],
            groups: { close: ['bob@b.test'] },
          },
        ],
      },
    },
  ],
};

describe('check: F140 group sends and queue order', () => {
  it('f140.authentic: a broadcast is sent to the members of the group, not to another friend', () => {
    const invariant = invariantNamed('f140.authentic')!(context);
    const command: TraceEvent = {
      ...base,
      seq: 1,
      node: 'a.test',
      kind: 'command',
      command: { type: 'broadcast', from: 'alice@a.test', group: 'close', text: 'hi' },
    };
    expect(invariant.observe(command)).toBeUndefined();
    expect(invariant.observe(deliver(2, 'bob@b.test', 'hi'))).toBeUndefined();
    expect(invariant.observe(deliver(3, 'carol@c.test', 'hi'))).toMatch(/no user sent/);
    const unknown: TraceEvent = {
      ...command,
      seq: 4,
      command: { ...(command.command as object), group: 'none', text: 'yo' },
    };
    expect(invariant.observe(unknown)).toBeUndefined();
    expect(invariant.observe(deliver(5, 'bob@b.test', 'yo'))).toMatch(/no user sent/);
  });

  it("f140.inOrder: one node's messages reach a user in the order it queued them", () => {
    const invariant = invariantNamed('f140.inOrder')!(context);
    expect(invariant.observe(deliver(1, 'bob@b.test', 'm1', 'a.test#2'))).toBeUndefined();
    expect(invariant.observe(deliver(2, 'bob@b.test', 'm2', 'a.test#5'))).toBeUndefined();
    // Another user, another node's numbering: each on its own.
    expect(invariant.observe(deliver(3, 'carol@c.test', 'm3', 'a.test#3'))).toBeUndefined();
    expect(invariant.observe(deliver(4, 'bob@b.test', 'm4', 'c.test#1'))).toBeUndefined();
    expect(invariant.observe(deliver(5, 'bob@b.test', 'm5', 'a.test#4'))).toMatch(/received a\.test#4 after a\.test#5/);
    // A repeat of the last id is a duplicate, not a reordering (noDuplicateDelivery reports it).
    expect(invariant.observe(deliver(6, 'carol@c.test', 'm3', 'a.test#3'))).toBeUndefined();
    expect(invariant.observe(deliver(7, 'carol@c.test', 'm6', 'a.test#1'))).toMatch(/after a\.test#3/);
  });
});
