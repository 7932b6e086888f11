/**
 * Differential runs of one machine on two engines: xstate's interpreter (the reference) and the
 * compiled engine (src/engine/compiled-machine.ts). Each engine gets its own fake clock and its
 * own copy of the input; both are driven by the same steps, and what each can be seen doing is
 * logged in order: emitted events (with the snapshot a listener reads then), clock calls (`set`
 * with its delay, `clear` with the index of the `set` it cancels), snapshot notifications,
 * completion, errors, and after every step the snapshot's value, status and context. The two logs
 * must be equal, entry by entry.
 *
 * Also here: harvesting what real actors received while the bundled scenarios ran (through the
 * actor tap of an engine, src/engine/engine.ts), so that replays and property runs start from real inputs
 * and real events.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createActor, type AnyStateMachine } from 'xstate';
import { withTap, xstateEngine, type ActorRecording } from '../../src/engine/engine.js';
import { createCompiledActor } from '../../src/engine/compiled-machine.js';
import type { HostClock } from '../../src/protocols/protocol.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import { scenarioFilesIn } from './scenarios.js';

/** What a recorded actor was driven by: an event sent to it, or its k-th `setTimeout` call (0-based) firing. */
export type RecordedStep = ActorRecording['steps'][number];

/**
 * A step of a differential run: a recorded kind, or what nodes also do but a recording does not
 * show apart: stop the actor, or (from inside the listener of the next emitted event, while the
 * actor is still processing) send it an event or stop it. Steps armed before an event is emitted
 * all run in that one listener call, in order (a send then a stop: the stop must drop the send).
 */
export type Step =
  | RecordedStep
  | { readonly kind: 'stop' }
  | { readonly kind: 'send-from-listener'; readonly event: { type: string } }
  | { readonly kind: 'stop-from-listener' };

/** One thing an engine was seen doing. */
export type Entry =
  /** An emitted event, with the snapshot a listener reads then (value, status, context). */
  | readonly ['emit', unknown, unknown, unknown, unknown]
  | readonly ['set', number]
  | readonly ['clear', number]
  | readonly ['next', unknown, string]
  | readonly ['complete']
  | readonly ['error', string]
  | readonly ['threw', string];

/** What one step (or the start, or the final stop) led to. */
export interface Observation {
  /** `start`, the step's index, or `stop`. */
  readonly at: number | 'start' | 'stop';
  /** For a `fire` step: whether the timer was live and its callback ran. */
  readonly fired?: boolean;
  readonly entries: readonly Entry[];
  readonly snapshot: { readonly value: unknown; readonly status: unknown; readonly context: unknown };
}

/** The surface both engines share (xstate's `Actor` and the compiled engine's `CompiledActor`). */
interface EngineActor {
  start(): unknown;
  send(event: { type: string }): void;
  stop(): unknown;
  getSnapshot(): { value?: unknown; status?: unknown; context?: unknown };
  on(type: string, handler: (event: { type: string }) => void): { unsubscribe(): void };
  subscribe(observer: {
    next?: (snapshot: { value?: unknown; status?: unknown }) => void;
    error?: (error: unknown) => void;
    complete?: () => void;
  }): { unsubscribe(): void };
}

export type EngineName = 'xstate' | 'compiled';

function createEngineActor(
  engine: EngineName,
  machine: AnyStateMachine,
  clock: HostClock,
  input: unknown,
): EngineActor {
  const options = input === undefined ? { clock } : { clock, input };
  if (engine === 'compiled') return createCompiledActor(machine, options) as unknown as EngineActor;
  // xstate types `createActor`'s options by the machine's input; recorded inputs are `unknown`.
  return createActor(machine, options as Parameters<typeof createActor<AnyStateMachine>>[1]) as unknown as EngineActor;
}

/**
 * A copy of `value` that later mutation of the original cannot reach: plain objects, arrays, Maps,
 * Sets, typed arrays and Dates are copied; other objects are copied with their prototype (the
 * protocols' classes keep plain fields, no `#private` slots). Functions are shared: a closure
 * cannot be copied, and the ones machines receive (a clock read, an address lookup) only read.
 */
export function cloneDeep<T>(value: T, seen = new Map<object, unknown>()): T {
  if (typeof value !== 'object' || value === null) return value;
  const known = seen.get(value);
  if (known !== undefined) return known as T;
  let copy: unknown;
  if (Buffer.isBuffer(value)) {
    copy = Buffer.from(value);
  } else if (ArrayBuffer.isView(value)) {
    copy = value instanceof DataView ? new DataView(value.buffer.slice(0)) : (value as unknown as Uint8Array).slice();
  } else if (value instanceof ArrayBuffer) {
    copy = value.slice(0);
  } else if (value instanceof Date) {
    copy = new Date(value.getTime());
  } else if (
    value instanceof RegExp ||
    value instanceof Promise ||
    value instanceof WeakMap ||
    value instanceof WeakSet
  ) {
    copy = value;
  } else if (value instanceof Map) {
    const map = new Map<unknown, unknown>();
    seen.set(value, map);
    for (const [key, entry] of value) map.set(cloneDeep(key, seen), cloneDeep(entry, seen));
    return map as T;
  } else if (value instanceof Set) {
    const set = new Set<unknown>();
    seen.set(value, set);
    for (const entry of value) set.add(cloneDeep(entry, seen));
    return set as T;
  } else if (Array.isArray(value)) {
    const array: unknown[] = [];
    seen.set(value, array);
    for (const entry of value) array.push(cloneDeep(entry, seen));
    return array as T;
  } else {
    const object = Object.create(Object.getPrototypeOf(value) as object | null) as Record<PropertyKey, unknown>;
    seen.set(value, object);
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor === undefined) continue;
      if ('value' in descriptor) descriptor.value = cloneDeep(descriptor.value, seen);
      Object.defineProperty(object, key, descriptor);
    }
    return object as T;
  }
  seen.set(value, copy);
  return copy as T;
}

/** A clock that only records: timers fire when a step says so. */
class FakeClock implements HostClock {
  private readonly timers: { fn: () => void; cleared: boolean; fired: boolean; handle: object }[] = [];
  private readonly indexOf = new Map<unknown, number>();

  constructor(private readonly log: (entry: Entry) => void) {}

  setTimeout(fn: () => void, timeoutMs: number): unknown {
    const handle = { timer: this.timers.length };
    this.indexOf.set(handle, this.timers.length);
    this.timers.push({ fn, cleared: false, fired: false, handle });
    this.log(['set', timeoutMs]);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    const index = this.indexOf.get(handle) ?? -1;
    const timer = this.timers[index];
    if (timer) timer.cleared = true;
    this.log(['clear', index]);
  }

  /** Runs the k-th timer's callback if it is live; says whether it ran. */
  fire(k: number): boolean {
    const timer = this.timers[k];
    if (!timer || timer.cleared || timer.fired) return false;
    timer.fired = true;
    timer.fn();
    return true;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs `machine` on one engine: start, each step, then stop. The input is copied first, so that
 * two runs from the same recorded input cannot see each other's effects.
 */
export function observe(
  engine: EngineName,
  machine: AnyStateMachine,
  input: unknown,
  steps: readonly Step[],
  atStart: readonly Step[] = [],
): Observation[] {
  let entries: Entry[] = [];
  const log = (entry: Entry) => entries.push(entry);
  const clock = new FakeClock(log);
  const actor = createEngineActor(engine, machine, clock, cloneDeep(input));
  // Armed by `*-from-listener` steps: run, in order, inside the listener of the next emitted event.
  let armed: (() => void)[] = [];
  actor.on('*', (event) => {
    const now = actor.getSnapshot();
    log(['emit', cloneDeep(event), cloneDeep(now.value), now.status, cloneDeep(now.context)]);
    const run = armed;
    armed = [];
    for (const action of run) {
      try {
        action();
      } catch (error) {
        log(['threw', messageOf(error)]);
      }
    }
  });
  actor.subscribe({
    next: (snapshot) => log(['next', cloneDeep(snapshot.value), String(snapshot.status)]),
    error: (error) => log(['error', messageOf(error)]),
    complete: () => log(['complete']),
  });
  const observations: Observation[] = [];
  const settle = (at: Observation['at'], fired?: boolean) => {
    const snapshot = actor.getSnapshot();
    observations.push({
      at,
      ...(fired === undefined ? {} : { fired }),
      entries,
      snapshot: {
        value: cloneDeep(snapshot.value),
        status: snapshot.status,
        context: cloneDeep(snapshot.context),
      },
    });
    entries = [];
  };
  const attempt = (action: () => void) => {
    try {
      action();
    } catch (error) {
      log(['threw', messageOf(error)]);
    }
  };
  // `*-from-listener` steps armed before start run in the listener of an event emitted by `start`
  // itself (entry actions), while the actor's first update is still going.
  for (const step of atStart) {
    if (step.kind === 'send-from-listener') armed.push(() => actor.send(step.event));
    if (step.kind === 'stop-from-listener') armed.push(() => actor.stop());
  }
  attempt(() => actor.start());
  settle('start');
  steps.forEach((step, index) => {
    switch (step.kind) {
      case 'send':
        attempt(() => actor.send(step.event));
        return settle(index);
      case 'fire': {
        let fired = false;
        attempt(() => {
          fired = clock.fire(step.timer);
        });
        return settle(index, fired);
      }
      case 'stop':
        attempt(() => actor.stop());
        return settle(index);
      case 'send-from-listener':
        armed.push(() => actor.send(step.event));
        return settle(index);
      case 'stop-from-listener':
        armed.push(() => actor.stop());
        return settle(index);
    }
  });
  attempt(() => actor.stop());
  settle('stop');
  return observations;
}

/** A step as a person reads it in a failure message. */
export function describeStep(step: Step | undefined): string {
  if (step === undefined) return '(none)';
  if (step.kind === 'fire') return `fire timer ${step.timer}`;
  if (step.kind === 'stop') return 'stop';
  if (step.kind === 'stop-from-listener') return 'stop from the listener of the next emitted event';
  const text = JSON.stringify(step.event, (_key, value: unknown) =>
    value instanceof Uint8Array ? `<${value.length} bytes>` : value instanceof Map ? Object.fromEntries(value) : value,
  );
  const shown = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return step.kind === 'send' ? `send ${shown}` : `send ${shown} from the listener of the next emitted event`;
}

/**
 * Expects two observation logs equal, observation by observation; the first difference fails with
 * the machine, the step index and the step in the message.
 */
export function expectSameObservations(
  label: string,
  steps: readonly Step[],
  reference: readonly Observation[],
  candidate: readonly Observation[],
): void {
  const count = Math.max(reference.length, candidate.length);
  for (let i = 0; i < count; i++) {
    const at = reference[i]?.at ?? candidate[i]?.at;
    const where = typeof at === 'number' ? `step ${at} (${describeStep(steps[at])})` : `${String(at)}`;
    expect(candidate[i], `${label}: compiled and xstate differ at ${where}`).toEqual(reference[i]);
  }
}

export interface RunBothOptions {
  /** The machine the compiled side runs (a deliberately wrong variant, for canaries); defaults to `machine`. */
  readonly compiledMachine?: AnyStateMachine;
  /** Names the run in failure messages; defaults to the machine id. */
  readonly label?: string;
  /** `*-from-listener` steps armed before `start`, for the listener of an event `start` emits. */
  readonly atStart?: readonly Step[];
}

/**
 * Runs `fn` without xstate's development-build warning for an event sent to a stopped actor
 * (random steps often send after the end; both engines drop the event, only xstate says so).
 */
function quietly<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('was sent to stopped actor')) return;
    warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

/** Runs `steps` on both engines and expects the same observations. Returns xstate's log. */
export function runBoth(
  machine: AnyStateMachine,
  input: unknown,
  steps: readonly Step[],
  options: RunBothOptions = {},
): Observation[] {
  const reference = quietly(() => observe('xstate', machine, input, steps, options.atStart));
  const candidate = observe('compiled', options.compiledMachine ?? machine, input, steps, options.atStart);
  expectSameObservations(options.label ?? machine.id, steps, reference, candidate);
  return reference;
}

/** One actor's run in a scenario, copied so that the rest of the run could not change it. */
export interface Harvested {
  readonly scenario: string;
  readonly name: string;
  readonly machine: AnyStateMachine;
  readonly input: unknown;
  readonly steps: readonly RecordedStep[];
}

/** Every bundled scenario file, as `scenarios/<protocol>/<file>.yaml`, by protocol then file. */
export function bundledScenarios(root = 'scenarios'): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .flatMap((protocol) => scenarioFilesIn(join(root, protocol)).map((file) => join(root, protocol, file)));
}

export interface Harvest {
  /** Every actor the runs started, by machine id, in scenario then start order. */
  readonly byMachine: Map<string, Harvested[]>;
  /** Each scenario's verdict on the harvesting run (a failing run may have been cut short). */
  readonly verdicts: Map<string, 'pass' | 'fail'>;
}

/**
 * Runs each scenario file on xstate's interpreter with an actor tap, and returns every actor the
 * runs started.
 */
export function harvest(files: readonly string[]): Harvest {
  const byMachine = new Map<string, Harvested[]>();
  const verdicts = new Map<string, 'pass' | 'fail'>();
  for (const file of files) {
    const started: { recording: ActorRecording; input: unknown }[] = [];
    // The input is copied when the actor starts: a node may change what it shares later (f140's outbox).
    const engine = withTap(xstateEngine, (recording) => started.push({ recording, input: cloneDeep(recording.input) }));
    verdicts.set(file, runScenario(loadScenario(file), { recorder: { keepLines: false }, engine }).verdict);
    for (const { recording, input } of started) {
      const id = recording.machine.id;
      const list = byMachine.get(id) ?? [];
      list.push({
        scenario: file,
        name: recording.name,
        machine: recording.machine,
        input,
        steps: cloneDeep(recording.steps),
      });
      byMachine.set(id, list);
    }
  }
  return { byMachine, verdicts };
}
