// Goal: the compiled statechart engine (src/engine/compiled-machine.ts) behaves exactly like
// xstate's interpreter on fedsim's machines: the same emitted events in the same order (and the
// same snapshot read from a listener), the same clock calls (setTimeout delays, clearTimeout of
// the same timers) in the same order, the same snapshot notifications and completion, and the
// same snapshot value, status and context after every step; so every bundled scenario's trace is
// byte-identical under either engine. And the comparison can fail: a wrong machine on the
// compiled side is caught.
// Method (test/support/differential.ts does the running): (1) run every bundled scenario on
// xstate with the actor tap set, collecting each actor's machine, input and received steps
// (events sent, timers fired); every machine defined under src must be among them; (2) replay
// each recording (first 40 per machine) on both engines, each with its own fake clock and its own
// copy of the input, and compare the observation logs step by step; (3) fast-check, per machine,
// draws a harvested input and up to 40 steps: harvested events, `fire k` (k in 0..15), and now
// and then a send or stop from inside a listener (mid-processing) or a stop; fixed seed, 60 runs
// (fc.assert prints the seed, path and counterexample); the same, 300 runs, on a small machine
// that uses every feature the engine supports; (4) every bundled scenario, and one fuzz plan per
// protocol, run once per engine: same trace sha256, event count and verdict; (5) canaries:
// echo.link with a wrong output, a wrong delay, a wrong guard, a wrong assign and a dropped entry
// action on the compiled side, and solec.client with a dropped exit action, must each be
// reported as a difference, naming the machine, the step index and the step.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  and,
  assign,
  cancel,
  createMachine,
  emit,
  enqueueActions,
  log,
  not,
  or,
  raise,
  setup,
  type AnyStateMachine,
} from 'xstate';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuzzProfiles } from '../../src/fuzz/profiles/index.js';
import { planCommands } from '../../src/fuzz/commands/index.js';
import { Plan } from '../../src/fuzz/plan.js';
import { scenarioOf } from '../../src/fuzz/run-one.js';
import { output } from '../../src/engine/actor.js';
import { engineOf } from '../../src/engine/engine.js';
import { compileMachine, createCompiledActor, UnsupportedMachineError } from '../../src/engine/compiled-machine.js';
import { c2sMachine } from '../../src/protocols/ambrosia/machines/c2s.js';
import { channelMachine } from '../../src/protocols/ambrosia/machines/channel.js';
import { clientMachine as ambrosiaClientMachine } from '../../src/protocols/ambrosia/machines/client.js';
import { s2sMachine } from '../../src/protocols/ambrosia/machines/s2s.js';
import { serviceLinkMachine } from '../../src/protocols/ambrosia/machines/service-link.js';
import { serviceSessionMachine } from '../../src/protocols/ambrosia/machines/service-session.js';
import { clientMachine as besterClientMachine } from '../../src/protocols/bester/machines/client.js';
import { connectionMachine as besterConnectionMachine } from '../../src/protocols/bester/machines/connection.js';
import { dispatchMachine } from '../../src/protocols/bester/machines/dispatch.js';
import { handlerSessionMachine as besterSessionMachine } from '../../src/protocols/bester/machines/handler-session.js';
import { connId, linkMachine } from '../../src/protocols/echo/machine.js';
import { peerMachine } from '../../src/protocols/f140/machines/peer.js';
import { sessionMachine as f140SessionMachine } from '../../src/protocols/f140/machines/session.js';
import { connectionMachine as fmtpConnectionMachine } from '../../src/protocols/fmtp/machines/connection.js';
import { lookupMachine } from '../../src/protocols/fmtp/machines/lookup.js';
import { relayMachine as fmtpRelayMachine } from '../../src/protocols/fmtp/machines/relay.js';
import { clientMachine as solecClientMachine } from '../../src/protocols/solec/machines/client.js';
import { relayMachine as solecRelayMachine } from '../../src/protocols/solec/machines/relay.js';
import { sessionMachine as solecSessionMachine } from '../../src/protocols/solec/machines/session.js';
import { loadScenario, type Scenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import {
  bundledScenarios,
  cloneDeep,
  describeStep,
  harvest,
  observe,
  runBoth,
  type Harvest,
  type Harvested,
  type Step,
} from '../support/differential.js';

/** Every machine the protocols define (checked against the sources below, so none can be left out). */
const machines: readonly AnyStateMachine[] = [
  linkMachine,
  fmtpConnectionMachine,
  lookupMachine,
  fmtpRelayMachine,
  peerMachine,
  f140SessionMachine,
  solecClientMachine,
  solecRelayMachine,
  solecSessionMachine,
  besterConnectionMachine,
  dispatchMachine,
  besterSessionMachine,
  besterClientMachine,
  channelMachine,
  c2sMachine,
  s2sMachine,
  serviceSessionMachine,
  serviceLinkMachine,
  ambrosiaClientMachine,
];
const machineIds = machines.map((machine) => machine.id);

/** Recordings replayed per machine, at most (the first ones, in scenario then start order). */
const replaysPerMachine = 40;
/** fast-check's budget per machine. */
const propertyRuns = 60;
const propertySeed = 20_251_123;

const scenarioFiles = bundledScenarios();

let harvested: Harvest = { byMachine: new Map(), verdicts: new Map() };

beforeAll(() => {
  harvested = harvest(scenarioFiles);
});

/** The root `id:` of every `createMachine(` under src (one without an id shows as `(no id)`). */
function machineIdsInSources(dir = 'src'): string[] {
  const ids: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const call of text.matchAll(/\bcreateMachine\(\{\n/g)) {
      // The machine's own id is the first key at the config's indentation (two spaces).
      const config = text.slice(call.index, text.indexOf('\n});', call.index));
      ids.push(/\n {2}id: '([^']+)'/.exec(config)?.[1] ?? `(no id) ${entry.name}`);
    }
  }
  return ids.sort();
}

/** A key that tells two events apart by their content (bytes and Maps included). */
function eventKey(event: { type: string }): string {
  return JSON.stringify(event, (_key, value: unknown) =>
    value instanceof Uint8Array
      ? `bytes:${Buffer.from(value).toString('hex')}`
      : value instanceof Map
        ? { map: [...value.entries()] }
        : value,
  );
}

/** Every distinct event any recording of the machine received, in first-seen order. */
function eventPool(recordings: readonly Harvested[]): { type: string }[] {
  const pool = new Map<string, { type: string }>();
  for (const recording of recordings) {
    for (const step of recording.steps) {
      if (step.kind === 'send' && !pool.has(eventKey(step.event))) pool.set(eventKey(step.event), step.event);
    }
  }
  return [...pool.values()];
}

/** A property step as fast-check draws it (see the property below). */
type DrawnStep =
  | readonly ['send', number]
  | readonly ['fire', number]
  | readonly ['send-from-listener', number]
  | readonly ['stop-from-listener']
  | readonly ['stop'];

function recordingsOf(id: string): Harvested[] {
  return harvested.byMachine.get(id) ?? [];
}

describe('compiled machine engine: harvest', () => {
  it('lists every machine defined under src', () => {
    expect([...machineIds].sort()).toEqual(machineIdsInSources());
    expect(new Set(machineIds).size).toBe(machineIds.length);
  });

  it('records at least one actor of every machine from the bundled scenarios', () => {
    expect(scenarioFiles.length).toBeGreaterThan(50);
    // A failing run may have stopped early and left machines or steps out.
    expect([...harvested.verdicts].filter(([, verdict]) => verdict !== 'pass')).toEqual([]);
    const missing = machineIds.filter((id) => recordingsOf(id).length === 0);
    expect(missing, 'machines no bundled scenario started').toEqual([]);
    // And no actor of a machine missing from the list above.
    expect([...harvested.byMachine.keys()].filter((id) => !machineIds.includes(id))).toEqual([]);
  });
});

describe('compiled machine engine: replays of recorded actors', () => {
  it.each(machineIds)('%s: every recorded actor behaves the same on both engines', (id) => {
    const recordings = recordingsOf(id);
    expect(recordings.length).toBeGreaterThan(0);
    for (const recording of recordings.slice(0, replaysPerMachine)) {
      runBoth(recording.machine, recording.input, recording.steps, {
        label: `${id} (${recording.scenario}, actor ${recording.name})`,
      });
    }
  });
});

describe('compiled machine engine: random steps (property)', () => {
  it.each(machineIds)(`%s: random sequences of recorded events and timer fires (${propertyRuns} runs)`, (id) => {
    const recordings = recordingsOf(id);
    expect(recordings.length).toBeGreaterThan(0);
    const machine = recordings[0]!.machine;
    const pool = eventPool(recordings);
    const inputs = recordings.map((recording) => recording.input);
    expect(pool.length).toBeGreaterThan(0);
    // Steps are drawn as short tuples (events as indexes into the pool) so that a counterexample
    // prints short; the failure message from runBoth spells out the step itself. Now and then the
    // next emitted event's listener sends an event or stops the actor mid-processing, or the
    // actor is stopped, as nodes do.
    const event = fc.nat({ max: pool.length - 1 });
    const step = fc.oneof(
      { weight: 56, arbitrary: fc.tuple(fc.constant('send' as const), event) },
      { weight: 18, arbitrary: fc.tuple(fc.constant('fire' as const), fc.nat({ max: 15 })) },
      { weight: 4, arbitrary: fc.tuple(fc.constant('send-from-listener' as const), event) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('stop-from-listener' as const)) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('stop' as const)) },
    );
    const stepOf = (drawn: DrawnStep): Step => {
      switch (drawn[0]) {
        case 'send':
          return { kind: 'send', event: pool[drawn[1]]! };
        case 'fire':
          return { kind: 'fire', timer: drawn[1] };
        case 'send-from-listener':
          return { kind: 'send-from-listener', event: pool[drawn[1]]! };
        case 'stop-from-listener':
          return { kind: 'stop-from-listener' };
        case 'stop':
          return { kind: 'stop' };
      }
    };
    // Sometimes a listener of what `start` itself emits sends an event (or stops the actor)
    // while the first update is still going: the event must wait for it, as in xstate's mailbox.
    const atStart = fc.option(
      fc.oneof(
        fc.tuple(fc.constant('send-from-listener' as const), event),
        fc.tuple(fc.constant('stop-from-listener' as const)),
      ),
      { freq: 4 },
    );
    fc.assert(
      fc.property(
        fc.nat({ max: inputs.length - 1 }),
        fc.array(step, { maxLength: 40 }),
        atStart,
        (input, drawn, early) => {
          const steps = drawn.map(stepOf);
          runBoth(machine, inputs[input], steps, {
            label: `${id} (input of ${recordings[input]!.name})`,
            ...(early === null ? {} : { atStart: [stepOf(early)] }),
          });
        },
      ),
      { numRuns: propertyRuns, seed: propertySeed },
    );
  });
});

/**
 * Not a protocol machine: one that uses, in small, every feature the compiled engine supports and
 * fedsim's machines use only partly: parent and child timers live at once (named, numeric and
 * delayed-raise), exit actions at several depths including the root's (run when the root's final
 * state is reached), `always`, `reenter`, guards with params combined with `and`/`or`/`not`,
 * inline guards and actions, `raise`, `cancel`, `enqueueActions`, and a compound state's done
 * event (`onDone`).
 */
const featureMachine = setup({
  types: {
    context: {} as { readonly n: number; readonly trail: readonly string[] },
    input: {} as { readonly start: number },
    events: {} as { type: 'a' } | { type: 'b' } | { type: 'c' } | { type: 'd' } | { type: 'tick' },
  },
  guards: {
    even: ({ context }) => context.n % 2 === 0,
    above: ({ context }, params: { limit: number }) => context.n > params.limit,
  },
  actions: {
    bump: assign({ n: ({ context }) => context.n + 1 }),
    note: emit(({ context, event }, params: { tag: string }) => ({
      type: 'note',
      tag: params.tag,
      n: context.n,
      on: event.type,
    })),
    mark: assign({
      trail: ({ context, event }, params: { tag: string }) => [...context.trail, `${params.tag}/${event.type}`],
    }),
  },
  delays: { short: ({ context }) => 100 + context.n, long: 1_000 },
}).createMachine({
  id: 'differential.features',
  context: ({ input }) => ({ n: input.start, trail: [] }),
  initial: 'outer',
  entry: { type: 'note', params: { tag: 'root.entry' } },
  exit: { type: 'note', params: { tag: 'root.exit' } },
  states: {
    outer: {
      initial: 'idle',
      entry: { type: 'mark', params: { tag: 'outer.entry' } },
      exit: [
        { type: 'note', params: { tag: 'outer.exit' } },
        { type: 'mark', params: { tag: 'outer.exit' } },
      ],
      after: { long: { target: 'outer', reenter: true, actions: 'bump' } },
      onDone: { target: 'finished', actions: { type: 'note', params: { tag: 'outer.done' } } },
      on: {
        c: { actions: [raise({ type: 'b' }), { type: 'note', params: { tag: 'c' } }] },
        d: { target: 'finished' },
      },
      states: {
        idle: {
          entry: { type: 'note', params: { tag: 'idle.entry' } },
          exit: [{ type: 'mark', params: { tag: 'idle.exit' } }, 'bump'],
          after: { short: { target: 'busy' } },
          on: {
            a: [
              { guard: and(['even', not({ type: 'above', params: { limit: 6 } })]), target: 'busy', actions: 'bump' },
              {
                guard: or([{ type: 'above', params: { limit: 8 } }, ({ context }) => context.trail.length > 6]),
                target: 'done',
              },
              { actions: [{ type: 'mark', params: { tag: 'a' } }, ({ context }) => void context.n] },
            ],
            b: { target: 'idle', reenter: true, actions: { type: 'note', params: { tag: 'b' } } },
          },
        },
        busy: {
          entry: enqueueActions(({ context, enqueue }) => {
            enqueue('bump');
            if (context.n % 3 === 0) enqueue.emit({ type: 'three' });
            enqueue.raise({ type: 'tick' }, { delay: 50, id: 'tick' });
          }),
          exit: { type: 'note', params: { tag: 'busy.exit' } },
          always: { guard: { type: 'above', params: { limit: 11 } }, target: 'done' },
          after: { 200: { target: 'idle' } },
          on: {
            tick: { actions: ['bump', { type: 'mark', params: { tag: 'tick' } }] },
            a: { actions: cancel('tick') },
            b: { target: 'idle' },
          },
        },
        done: { type: 'final' },
      },
    },
    finished: { type: 'final', entry: { type: 'note', params: { tag: 'finished' } } },
  },
});

describe('compiled machine engine: a machine with every supported feature', () => {
  it('agrees with xstate on random steps (property, 300 runs)', () => {
    const pool = (['a', 'b', 'c', 'd', 'tick'] as const).map((type) => ({ type }));
    const step = fc.oneof(
      { weight: 10, arbitrary: fc.nat({ max: pool.length - 1 }).map((i): Step => ({ kind: 'send', event: pool[i]! })) },
      { weight: 6, arbitrary: fc.nat({ max: 15 }).map((timer): Step => ({ kind: 'fire', timer })) },
      {
        weight: 2,
        arbitrary: fc.nat({ max: pool.length - 1 }).map((i): Step => ({ kind: 'send-from-listener', event: pool[i]! })),
      },
      { weight: 1, arbitrary: fc.constant<Step>({ kind: 'stop-from-listener' }) },
      { weight: 1, arbitrary: fc.constant<Step>({ kind: 'stop' }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.array(step, { maxLength: 40 }), (start, steps) => {
        runBoth(featureMachine, { start }, steps);
      }),
      { numRuns: 300, seed: propertySeed },
    );
  });

  it('keeps a parent and a child timer live at once, and runs exit actions up to the root at the end', () => {
    const log = runBoth(featureMachine, { start: 0 }, [{ kind: 'send', event: { type: 'd' } }]);
    expect(log[0]?.entries.filter(([kind]) => kind === 'set')).toEqual([
      ['set', 1_000],
      ['set', 100],
    ]);
    const tags = log[1]?.entries.flatMap((entry) =>
      entry[0] === 'emit' ? [(entry[1] as { tag?: string }).tag ?? ''] : [],
    );
    expect(tags).toEqual(['outer.exit', 'finished', 'root.exit']);
  });
});

/** The trace's end line (event count and sha256) and verdict of a run on one engine. */
function traceOf(scenario: Scenario, engine: 'xstate' | 'compiled', keepLines = false) {
  const report = runScenario(scenario, { recorder: { keepLines }, engine: engineOf(engine) });
  const end = report.trace.end(report.outcome.atMs);
  return { events: end.events, sha256: end.sha256, verdict: report.verdict, lines: report.trace.lines };
}

/**
 * Expects the run's trace byte-identical on both engines (sha256 and event count). On a
 * difference, runs both again keeping the lines, and fails on the first line that differs.
 */
function expectSameTrace(scenario: Scenario, label: string) {
  const { lines: _xstateLines, ...reference } = traceOf(scenario, 'xstate');
  const { lines: _compiledLines, ...candidate } = traceOf(scenario, 'compiled');
  if (candidate.sha256 !== reference.sha256) {
    const expected = traceOf(scenario, 'xstate', true).lines;
    const actual = traceOf(scenario, 'compiled', true).lines;
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      expect(actual[i], `${label}: trace line ${i} differs (compiled, then xstate)`).toBe(expected[i]);
    }
  }
  expect(candidate, label).toEqual(reference);
  return reference;
}

describe('compiled machine engine: whole runs', () => {
  it.each(scenarioFiles)('%s: the same trace on both engines', (file) => {
    const reference = expectSameTrace(loadScenario(file), file);
    expect(reference.sha256).toMatch(/^[0-9a-f]{64}$/);
    // A bundled scenario passes (its own tests say so): two equally broken runs prove little.
    expect(reference.verdict).toBe('pass');
  });

  it.each([...fuzzProfiles.keys()])('%s: one fuzz plan gives the same trace on both engines', (protocol) => {
    const profile = fuzzProfiles.get(protocol)!;
    const [drawn] = fc.sample(fc.tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), profile.topology, planCommands()), {
      seed: propertySeed,
      numRuns: 1,
    });
    const [simSeed, topology, commands] = drawn!;
    const plan = new Plan(profile, topology);
    fc.modelRun(() => ({ model: plan, real: plan }), commands);
    const scenario = scenarioOf(plan.finish(simSeed, `fuzz/${protocol}-differential`), `${protocol}-differential.yaml`);
    const reference = expectSameTrace(scenario, `${protocol} fuzz plan (fast-check seed ${propertySeed})`);
    expect(reference.events).toBeGreaterThan(1);
  });
});

describe('compiled machine engine: the differential catches a wrong engine (canaries)', () => {
  const input = { conn: 'out:1', target: 'b.test', port: 7, idleMs: 5_000, retryMs: 500, attemptsMax: 3 };
  // Connect refused, back off (timer 0), connect again, open (idle timer 1), a send re-enters open
  // (timer 1 cleared, timer 2 set), idle (timer 2 fires): close, final.
  const send = (event: { type: string; [field: string]: unknown }): Step => ({ kind: 'send', event });
  const fire = (timer: number): Step => ({ kind: 'fire', timer });
  const steps: Step[] = [
    send({ type: 'user.send', body: 'hi' }),
    send({ type: 'conn.failed', reason: 'refused' }),
    fire(0),
    send({ type: 'conn.opened' }),
    send({ type: 'user.send', body: 'again' }),
    fire(1),
    fire(2),
  ];

  it('the unaltered machine agrees, and the steps exercise outputs, timers and states', () => {
    const log = runBoth(linkMachine, input, steps);
    const entries = log.flatMap((observation) => observation.entries);
    expect(entries.filter(([kind]) => kind === 'emit')).toHaveLength(5);
    expect(entries.filter(([kind]) => kind === 'set')).toEqual([
      ['set', 500],
      ['set', 5_000],
      ['set', 5_000],
    ]);
    expect(entries).toContainEqual(['clear', 1]);
    expect(log.map((observation) => observation.fired)).toEqual([
      undefined,
      undefined,
      undefined,
      true,
      undefined,
      undefined,
      false,
      true,
      undefined,
    ]);
    expect(log.at(-2)?.snapshot).toMatchObject({ value: 'closed', status: 'done' });
  });

  const wrong: [string, AnyStateMachine, RegExp][] = [
    [
      'a wrong emitted output (connect to the wrong port)',
      linkMachine.provide({
        actions: {
          connect: emit(({ context }) =>
            output({
              kind: 'connect',
              conn: connId(context),
              target: { host: context.target, port: context.port + 1 },
            }),
          ),
        },
      }),
      /echo\.link: compiled and xstate differ at start/,
    ],
    [
      'a wrong timer (backoff doubled once too often)',
      linkMachine.provide({ delays: { retryDelay: ({ context }) => context.retryMs * 2 ** context.attempt } }),
      /differ at step 1 \(send \{"type":"conn\.failed","reason":"refused"\}\)/,
    ],
    [
      'a wrong state (a guard that never lets a retry happen)',
      linkMachine.provide({ guards: { hasAttemptsLeft: () => false } }),
      /differ at step 1 \(send \{"type":"conn\.failed"/,
    ],
    [
      'a wrong context (an assign that forgets the body)',
      linkMachine.provide({ actions: { queueBody: assign({ queue: ({ context }) => context.queue }) } }),
      /differ at step 0 \(send \{"type":"user\.send","body":"hi"\}\)/,
    ],
    [
      'a dropped entry action (open no longer flushes)',
      withoutAction(linkMachine, ['open'], 'entry'),
      /differ at step 3 \(send \{"type":"conn\.opened"\}\)/,
    ],
  ];

  it.each(wrong)('reports %s, naming the machine, the step and its index', (_name, variant, message) => {
    expect(() => runBoth(linkMachine, input, steps, { compiledMachine: variant })).toThrow(message);
  });

  it('reports a dropped exit action (solec.client sending.exit) on a recorded or random run', () => {
    const variant = withoutAction(solecClientMachine, ['established', 'sending'], 'exit');
    expect(variant.id).toBe(solecClientMachine.id);
    const recordings = recordingsOf(solecClientMachine.id);
    // The recorded runs first; if none holds a message while sending, random ones from the same pool.
    const differs = (recording: { input: unknown; steps: readonly Step[] }) => {
      try {
        runBoth(solecClientMachine, recording.input, recording.steps, { compiledMachine: variant });
        return false;
      } catch {
        return true;
      }
    };
    if (recordings.some(differs)) return;
    const pool = eventPool(recordings);
    expect(pool.length).toBeGreaterThan(0);
    const found = fc.check(
      fc.property(
        fc.nat({ max: recordings.length - 1 }),
        fc.array(fc.nat({ max: pool.length - 1 }), { maxLength: 40 }),
        (input, events) =>
          !differs({
            input: recordings[input]!.input,
            steps: events.map((event) => ({ kind: 'send', event: pool[event]! })),
          }),
      ),
      { numRuns: 400, seed: propertySeed },
    );
    expect(found.failed, 'no run found where the dropped exit action shows').toBe(true);
  });

  it('observes on one engine only what that engine did (xstate against itself agrees)', () => {
    const once = observe('xstate', linkMachine, input, steps);
    expect(observe('xstate', linkMachine, input, steps)).toEqual(once);
    expect(describeStep(steps[2])).toBe('fire timer 0');
  });
});

/**
 * `machine` rebuilt with the `kind` actions of the state at `path` removed, keeping its id and
 * implementations: what an engine that skipped those actions would do.
 */
function withoutAction(machine: AnyStateMachine, path: readonly string[], kind: 'entry' | 'exit'): AnyStateMachine {
  const config = cloneDeep(machine.config) as { states?: Record<string, { states?: unknown; [key: string]: unknown }> };
  let node: { states?: unknown; [key: string]: unknown } = config;
  for (const name of path) {
    const child = (node.states as Record<string, { states?: unknown; [key: string]: unknown }> | undefined)?.[name];
    if (child === undefined) throw new Error(`${machine.id} has no state ${path.join('.')}`);
    node = child;
  }
  if (node[kind] === undefined) throw new Error(`${machine.id} ${path.join('.')} has no ${kind} action`);
  delete node[kind];
  // xstate's `createMachine(config, implementations)` is what `setup(...).createMachine` calls.
  return createMachine(config as Parameters<typeof createMachine>[0], machine.implementations as never);
}

describe('compiled machine engine: what it refuses, clearly', () => {
  const clock = { setTimeout: () => 0, clearTimeout: () => undefined };

  it('refuses parallel states and invoked actors when compiling, naming the machine and the state', () => {
    const parallel = createMachine({
      id: 'two-regions',
      type: 'parallel',
      states: { left: { initial: 'a', states: { a: {} } }, right: { initial: 'b', states: { b: {} } } },
    });
    expect(() => compileMachine(parallel)).toThrow(UnsupportedMachineError);
    expect(() => compileMachine(parallel)).toThrow(/machine two-regions: parallel state two-regions/);
    const invoking = createMachine({
      id: 'invoker',
      initial: 'a',
      states: { a: { invoke: { src: createMachine({ id: 'child' }) } } },
    });
    expect(() => createCompiledActor(invoking, { clock })).toThrow(/machine invoker: invoke in state invoker\.a/);
  });

  it('refuses an action it cannot run: at compile time when named, when enqueued otherwise', () => {
    const logging = setup({ actions: { say: log('hello') } }).createMachine({ id: 'logger', entry: 'say' });
    expect(() => compileMachine(logging)).toThrow(/machine logger: action 'say' \(xstate\.log\) is not supported/);
    const sending = setup({}).createMachine({
      id: 'sender',
      initial: 'a',
      states: {
        a: { on: { go: { actions: enqueueActions(({ enqueue }) => enqueue.sendTo('other', { type: 'x' })) } } },
      },
    });
    const actor = createCompiledActor(sending, { clock }).start();
    expect(() => actor.send({ type: 'go' })).toThrow(/machine sender: enqueue\.sendTo is not supported/);
    expect(actor.getSnapshot().status).toBe('error');
  });
});
