// Goal: F140 keeps its promises on the real simulator, not only on the in-test Wire: every
// scenarios/f140 file passes, and under random friendship topologies, sends and faults that heal
// (partition, one-way partition, clog, crash/restart), every MSG accepted from a friend is delivered
// exactly once, none from a non-friend (one-sided friendship, or a stranger guessing challenges) ever
// is, and nothing queued durably is lost: each queued message ends delivered or explicitly refused.
// Method: (a) each scenario file goes through loadScenario/runScenario and must get verdict 'pass'.
// (b) fast-check draws the sim seed, the topology, the sends and the fault plan; the test builds a
// World directly (as test/support/probe.ts does), heals every fault at healByMs, runs until quiet,
// and judges the run from its trace (`f140.msg.queued` notes, `deliver` events, `f140.refused`
// rejects) and the nodes' durable stores. On failure fc.assert prints the seed and plan.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f140, type F140Config } from '../../../src/protocols/f140/index.js';
import { World } from '../../../src/sim/world.js';
import { rank, Simulator } from '../../../src/sim/simulator.js';
import { TraceRecorder } from '../../../src/trace/recorder.js';
import { expectScenarioPasses, scenarioFilesIn } from '../../support/scenarios.js';

const scenarioDir = 'scenarios/f140';

describe('f140: scenarios (simulator)', () => {
  const files = scenarioFilesIn(scenarioDir);

  it('finds the scenario files', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  for (const file of files) {
    it(`passes ${scenarioDir}/${file}`, () => {
      expectScenarioPasses(scenarioDir, file);
    });
  }
});

// ---- the property ----

/** Three friends' nodes and a stranger; the stranger lists everyone with guessed challenges. */
const hosts = ['a.test', 'b.test', 'c.test'] as const;
const stranger = 'e.test';
const userOf = (host: string) => `${host.slice(0, 1)}@${host}`;

type FaultKind = 'partition' | 'oneWay' | 'clog' | 'crash';

interface Fault {
  readonly kind: FaultKind;
  /** Index into hosts (crash) or into the three pairs of hosts (links). */
  readonly target: number;
  readonly atMs: number;
  /**
   * When set, the fault starts this long after the send at `index` (modulo the sends) instead of at
   * `atMs`, so that it often lands on an exchange in flight: a lost answer is what exercises the
   * duplicate filter, and uniformly placed faults almost never hit one.
   */
  readonly nearSend: { readonly index: number; readonly offsetMs: number } | null;
  readonly durationMs: number;
}

interface Send {
  /** 0-2: hosts; 3: the stranger. */
  readonly from: number;
  readonly to: number;
  readonly atMs: number;
}

interface Plan {
  /** lists[i][j]: host i lists host j's user as a friend (friendship holds when both list each other). */
  readonly lists: readonly (readonly boolean[])[];
  readonly sends: readonly Send[];
  readonly faults: readonly Fault[];
}

/** Every fault has ended (healed, unclogged, restarted) by then. */
const healByMs = 20_000;
/** Time after the heal for backoffs (8 s max here), request timeouts and resets (10 s) to play out. */
const settleMs = 60_000;
const timing = { retryMsBase: 500, retryMsMax: 8_000, queueExpiryMs: 10_000_000 };
const pairs = [
  [0, 1],
  [0, 2],
  [1, 2],
] as const;

function pairFor(source: string, target: string): { challenge: string; response: string } {
  return { challenge: `c:${source}>${target}`, response: `r:${source}>${target}` };
}

function configOf(host: number, plan: Plan): F140Config {
  const name = hosts[host] ?? '';
  const user = userOf(name);
  const friends = hosts
    .filter((_, j) => j !== host && plan.lists[host]?.[j] === true)
    .map((other) => ({
      user: userOf(other),
      host: other,
      outbound: pairFor(user, userOf(other)),
      inbound: pairFor(userOf(other), user),
    }));
  return f140.configSchema.parse({ users: [{ name: user, friends }], ...timing });
}

function strangerConfig(): F140Config {
  const user = userOf(stranger);
  const friends = hosts.map((other) => ({
    user: userOf(other),
    host: other,
    outbound: { challenge: 'guess', response: 'guess' },
    inbound: pairFor(userOf(other), user),
  }));
  return f140.configSchema.parse({ users: [{ name: user, friends }], ...timing });
}

const faultArb: fc.Arbitrary<Fault> = fc.record({
  kind: fc.constantFrom<FaultKind>('partition', 'oneWay', 'clog', 'crash'),
  target: fc.nat(2),
  atMs: fc.integer({ min: 0, max: healByMs - 1 }),
  nearSend: fc.option(fc.record({ index: fc.nat(15), offsetMs: fc.integer({ min: 0, max: 250 }) }), { freq: 4 }),
  durationMs: fc.integer({ min: 1, max: 15_000 }),
});

const planArb: fc.Arbitrary<Plan> = fc.record({
  // Mostly friends (4 in 5 listings), so that most runs carry friends' messages as well as refusals.
  lists: fc.array(
    fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)), { minLength: 3, maxLength: 3 }),
    {
      minLength: 3,
      maxLength: 3,
    },
  ),
  sends: fc.array(fc.record({ from: fc.nat(3), to: fc.nat(2), atMs: fc.integer({ min: 0, max: healByMs + 5_000 }) }), {
    minLength: 1,
    maxLength: 16,
  }),
  faults: fc.array(faultArb, { maxLength: 6 }),
});

interface Outcome {
  /** Message ids queued by a sender whose recipient friends it back. */
  readonly toFriends: string[];
  /** Message ids queued toward a recipient that does not friend the sender. */
  readonly toNonFriends: string[];
  readonly delivered: { id: string; from: string; user: string }[];
  readonly refused: string[];
  readonly queuedLeft: number;
  readonly threw: string[];
}

function runPlan(seed: number, plan: Plan): Outcome {
  const sim = new Simulator();
  const all = [...hosts, stranger];
  const trace = new TraceRecorder(
    {
      format: 'fedsim-trace',
      version: 1,
      scenario: 'f140/property',
      seed,
      protocols: ['f140'],
      nodes: all.map((id) => ({ id, host: id, protocol: 'f140' })),
    },
    { keepLines: false },
  );
  const world = new World(sim, seed, trace, { delayMsMin: 1, delayMsMax: 40 });
  hosts.forEach((id, i) => world.addNode({ id, protocol: f140, config: configOf(i, plan) }));
  world.addNode({ id: stranger, protocol: f140, config: strangerConfig() });

  for (const send of plan.sends) {
    const from = all[send.from] ?? stranger;
    const to = userOf(hosts[send.to] ?? 'a.test');
    if (userOf(from) === to) continue;
    sim.at(send.atMs, rank.step, () =>
      world.command(from, { type: 'send', from: userOf(from), to, text: `${userOf(from)}>${to}@${send.atMs}` }),
    );
  }
  for (const fault of plan.faults) {
    const anchor = fault.nearSend && plan.sends[fault.nearSend.index % plan.sends.length];
    const atMs = Math.min(healByMs - 1, anchor && fault.nearSend ? anchor.atMs + fault.nearSend.offsetMs : fault.atMs);
    const endMs = Math.min(healByMs, atMs + fault.durationMs);
    const [x, y] = pairs[fault.target] ?? pairs[0];
    const a = hosts[x];
    const b = hosts[y];
    if (fault.kind === 'crash') {
      const node = hosts[fault.target] ?? 'a.test';
      sim.at(atMs, rank.step, () => world.crash(node));
      sim.at(endMs, rank.step, () => world.restart(node));
    } else if (fault.kind === 'clog') {
      sim.at(atMs, rank.step, () => world.clog(a, b));
      sim.at(endMs, rank.step, () => world.unclog(a, b));
    } else {
      sim.at(atMs, rank.step, () => world.partition(a, b, fault.kind === 'oneWay'));
      sim.at(endMs, rank.step, () => world.heal(a, b));
    }
  }
  // Everything heals by healByMs, whatever overlapped.
  sim.at(healByMs, rank.step, () => {
    for (const [x, y] of pairs) {
      world.heal(hosts[x], hosts[y]);
      world.unclog(hosts[x], hosts[y]);
    }
    for (const id of hosts) world.restart(id);
  });
  world.startAll();
  const ran = sim.runUntilQuiet({ timeMsMax: healByMs + 5_000 + settleMs, eventsMax: 200_000 });
  expect(ran.reason).toBe('quiet');

  const friendsBack = (sender: string, recipient: string) => {
    const i = hosts.indexOf(recipient.split('@')[1] as (typeof hosts)[number]);
    const j = hosts.indexOf(sender.split('@')[1] as (typeof hosts)[number]);
    return i >= 0 && j >= 0 && plan.lists[i]?.[j] === true;
  };
  const outcome: Outcome = { toFriends: [], toNonFriends: [], delivered: [], refused: [], queuedLeft: 0, threw: [] };
  for (const event of trace.events) {
    if (event.kind === 'note' && event.what === 'f140.msg.queued') {
      const detail = event.detail as { id: string; from: string; to: string };
      (friendsBack(detail.from, detail.to) ? outcome.toFriends : outcome.toNonFriends).push(detail.id);
    } else if (event.kind === 'deliver') {
      outcome.delivered.push({ id: event.id ?? '?', from: event.from, user: event.user });
    } else if (event.kind === 'reject' && event.code === 'f140.refused' && event.node !== 'sim') {
      const id = (event.detail as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string') outcome.refused.push(id);
    } else if (event.kind === 'check' && event.requirement === 'node-never-throws') {
      outcome.threw.push(event.message ?? '');
    }
  }
  const queuedLeft = all.reduce((sum, id) => sum + world.storeOf(id).keys('f140/outbox/').length, 0);
  return { ...outcome, queuedLeft };
}

describe('f140: property (simulator)', () => {
  it('delivers every MSG accepted from a friend exactly once and none from non-friends, losing nothing queued, under faults that heal (3 nodes + stranger, 200 runs)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), planArb, (seed, plan) => {
        const outcome = runPlan(seed, plan);
        expect(outcome.threw).toEqual([]);
        const deliveredIds = outcome.delivered.map((d) => d.id);
        // Exactly once: each friend's message delivered once, and no delivery of anything else.
        expect([...deliveredIds].sort()).toEqual([...outcome.toFriends].sort());
        // Nothing from a non-friend, whether one-sided friendship or the stranger's guesses.
        expect(outcome.delivered.filter((d) => d.from === userOf(stranger))).toEqual([]);
        for (const id of outcome.toNonFriends) expect(deliveredIds).not.toContain(id);
        // Nothing lost: every non-friend's message was explicitly refused, and no queue holds anything.
        expect([...new Set(outcome.refused)].sort()).toEqual([...outcome.toNonFriends].sort());
        expect(outcome.queuedLeft).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
