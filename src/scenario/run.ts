/**
 * Runs a loaded scenario: builds the World, schedules the steps at their virtual times, checks
 * safety expectations at every trace event and liveness expectations at their deadlines, and
 * returns a verdict with the trace. Deterministic: the same scenario and seed give the same
 * report and a byte-identical trace.
 */
import { assert, unreachable } from '../core/assert.js';
import { ProcessNodeError } from '../core/errors.js';
import type { Ms } from '../core/time.js';
import { compiledEngine, type Engine } from '../engine/engine.js';
import { describePattern, eventMatches } from '../check/match.js';
import { nodeNeverThrows, type Invariant } from '../check/invariants.js';
import { invariantNamed } from '../check/registry.js';
import { moduleLocationOf } from '../protocols/registry.js';
import type { InvariantContext } from '../check/context.js';
import type { AimedFault } from '../sim/aimed-fault.js';
import { World, type Delivery, type NetworkModel } from '../sim/world.js';
import { rank, Simulator, type RunOutcome } from '../sim/simulator.js';
import type { TraceEvent } from '../trace/events.js';
import { TraceRecorder, type RecorderOptions } from '../trace/recorder.js';
import type { Scenario } from './load.js';
import { checkOrder, orderPatterns, type OrderItem } from './order.js';
import type { Expectation, Step } from './schema.js';

export interface ExpectationResult {
  readonly expectation: string;
  readonly ok: boolean;
  /** Why it failed, or a short confirmation. */
  readonly message: string;
  readonly atMs: Ms;
}

export interface RunReport {
  readonly name: string;
  readonly file: string;
  readonly seed: number;
  readonly verdict: 'pass' | 'fail';
  readonly outcome: RunOutcome;
  readonly results: readonly ExpectationResult[];
  readonly world: World;
  readonly trace: TraceRecorder;
  /**
   * Whether every safety check held and none but `nodeNeverThrows` reads `check` events: the same
   * checks then hold over this run's events with its own `check` events at `sim` left out, as
   * `safetyHoldsOver` feeds them (they saw those events and more, and `nodeNeverThrows` flagged none).
   */
  readonly safetyHeld: boolean;
}

export interface RunOptions {
  /** Overrides the scenario's seed (fuzzing and `fedsim run --seed`). */
  readonly seed?: number;
  readonly recorder?: RecorderOptions;
  /** The statechart engine the nodes run on. @defaultValue compiledEngine */
  readonly engine?: Engine;
}

/** A run stopped by an external node process that broke the process protocol; `trace` holds the events up to it. */
export class RunAborted extends Error {
  override name = 'RunAborted';
  constructor(
    readonly failure: ProcessNodeError,
    readonly trace: TraceRecorder,
  ) {
    super(failure.message);
  }
}

export function describeExpectation(expectation: Expectation): string {
  if ('always' in expectation) return `always ${expectation.always}`;
  if ('never' in expectation) {
    if (expectation.name !== undefined) return expectation.name;
    const window =
      expectation.fromMs === undefined && expectation.untilMs === undefined
        ? ''
        : ` from ${expectation.fromMs ?? 0}ms${expectation.untilMs === undefined ? '' : ` until ${expectation.untilMs}ms`}`;
    return `never ${describePattern(expectation.never)}${window}`;
  }
  if ('delivered' in expectation) {
    const { to, node } = expectation.delivered;
    const who = [to, node === undefined ? undefined : `at ${node}`].filter((part) => part !== undefined).join(' ');
    return `by ${expectation.byMs}ms ${who} received ${JSON.stringify(expectation.delivered.bodies)}`;
  }
  if ('eventually' in expectation)
    return expectation.name ?? `by ${expectation.byMs}ms ${describePattern(expectation.eventually)}`;
  if ('sequence' in expectation)
    return (
      expectation.name ??
      `by ${expectation.byMs}ms a sequence of ${orderPatterns(expectation.sequence as OrderItem[]).length} events`
    );
  return unreachable(expectation);
}

/** A corrupt or truncate step's fault: aimed when the step says where, else seeded. */
function aimOf(step: Extract<Step, { do: 'corrupt' | 'truncate' }>): 'corrupt' | 'truncate' | AimedFault {
  const { atMs: _atMs, do: mode, between: _between, ...aim } = step;
  return Object.keys(aim).length === 0 ? mode : { mode, ...aim };
}

function applyStep(world: World, step: Step, tag?: unknown): void {
  switch (step.do) {
    case 'command':
      return world.command(step.node, step.command, tag);
    case 'partition':
      return world.partition(step.between[0], step.between[1], step.oneWay ?? false);
    case 'heal':
      return world.heal(step.between[0], step.between[1]);
    case 'clog':
      return world.clog(step.between[0], step.between[1]);
    case 'unclog':
      return world.unclog(step.between[0], step.between[1]);
    case 'crash':
      return world.crash(step.node);
    case 'restart':
      return world.restart(step.node);
    case 'stop':
      return world.stop(step.node);
    case 'skew':
      return world.skew(step.node, step.skewMs);
    case 'corrupt':
    case 'truncate':
      return world.corruptNext(step.between[0], step.between[1], aimOf(step));
    case 'disarm':
      return world.disarm(step.between[0], step.between[1]);
    case 'dnsFail':
      return world.dnsFail(step.name, step.mode ?? 'servfail');
    case 'dnsRestore':
      return world.dnsRestore(step.name);
    case 'tlsFail':
      return world.tlsFail(step.between[0], step.between[1], step.reason);
    case 'tlsRestore':
      return world.tlsRestore(step.between[0], step.between[1]);
    default:
      return unreachable(step);
  }
}

/** Evaluates a liveness expectation over the events up to now; undefined when it is met. */
export function evaluateLiveness(
  expectation: Expectation,
  events: readonly TraceEvent[],
  deliveries: readonly Delivery[],
): string | undefined {
  if ('delivered' in expectation) {
    const { to, node, bodies, exactly } = expectation.delivered;
    const got = deliveries
      .filter((d) => (to === undefined || d.user === to) && (node === undefined || d.node === node))
      .map((d) => d.body);
    if (exactly ?? true) {
      return JSON.stringify(got) === JSON.stringify(bodies)
        ? undefined
        : `expected ${JSON.stringify(bodies)}, got ${JSON.stringify(got)}`;
    }
    const remaining = [...got];
    const missing = bodies.filter((body) => {
      const at = remaining.indexOf(body);
      if (at < 0) return true;
      remaining.splice(at, 1);
      return false;
    });
    return missing.length === 0 ? undefined : `missing ${JSON.stringify(missing)}; got ${JSON.stringify(got)}`;
  }
  if ('eventually' in expectation) {
    return events.some((event) => eventMatches(event, expectation.eventually))
      ? undefined
      : `no event matched ${describePattern(expectation.eventually)}`;
  }
  if ('sequence' in expectation) return checkOrder(expectation.sequence as OrderItem[], events);
  return undefined;
}

/** One safety check of a run: an `always` invariant or a `never` pattern, and whether it failed. */
interface SafetyEntry {
  readonly name: string;
  readonly invariant: Invariant;
  failed: boolean;
}

/** What the checks of a run share: its clock, its trace and the results so far. */
interface RunChecks {
  readonly sim: Simulator;
  readonly trace: TraceRecorder;
  readonly results: ExpectationResult[];
}

/** Records a failed expectation as a result and as a `check` violation in the trace. */
function failCheck(checks: RunChecks, expectation: string, message: string): void {
  checks.results.push({ expectation, ok: false, message, atMs: checks.sim.nowMs });
  checks.trace.record(checks.sim.nowMs, 'sim', {
    kind: 'check',
    requirement: expectation,
    verdict: 'violation',
    message,
  });
}

/** The invariant a `never` expectation stands for: no matching event (checks aside) in its window. */
function neverInvariant(expectation: Extract<Expectation, { never: unknown }>): Invariant {
  const pattern = expectation.never;
  const name = describeExpectation(expectation);
  const fromMs = expectation.fromMs ?? 0;
  const untilMs = expectation.untilMs ?? Infinity;
  return {
    name,
    // The schema makes `kind` a string; one that names no event kind matches nothing anyway.
    kinds: [pattern['kind'] as TraceEvent['kind']],
    observe: (event) =>
      event.kind !== 'check' && event.atMs >= fromMs && event.atMs <= untilMs && eventMatches(event, pattern)
        ? `event #${event.seq} at ${event.node}`
        : undefined,
  };
}

/** The run's safety checks: its `always` and `never` expectations, and nodeNeverThrows unless asked already. */
function safetyChecks(scenario: Scenario): SafetyEntry[] {
  const safety: SafetyEntry[] = [];
  const explicit = new Set<string>();
  const context: InvariantContext = {
    nodes: scenario.nodes.map((node) => ({
      id: node.id,
      host: node.host,
      protocol: node.protocol.name,
      config: node.config,
    })),
  };
  for (const expectation of scenario.expect) {
    if ('always' in expectation) {
      explicit.add(expectation.always);
      const factory = invariantNamed(expectation.always);
      assert(factory !== undefined, `the schema admits known invariants only (${expectation.always})`);
      safety.push({ name: describeExpectation(expectation), invariant: factory(context), failed: false });
    } else if ('never' in expectation) {
      safety.push({ name: describeExpectation(expectation), invariant: neverInvariant(expectation), failed: false });
    }
  }
  if (!explicit.has('nodeNeverThrows'))
    safety.push({ name: 'always nodeNeverThrows', invariant: nodeNeverThrows(), failed: false });
  return safety;
}

/**
 * Whether the scenario's safety checks would hold in a run whose events, up to and including
 * `untilMs`, are `events` (in order; the runner's own `check` events at `sim`, a deadline's or a
 * failed check's, left out), the run ending there: each check fed those events as a run feeds
 * them, then its end-of-run check. Undefined when that cannot be told from the events alone: a
 * check other than `nodeNeverThrows` reads `check` events (it would also see the run's own).
 */
export function safetyHoldsOver(scenario: Scenario, events: readonly TraceEvent[], untilMs: Ms): boolean | undefined {
  const safety = safetyChecks(scenario);
  if (readsOwnChecks(safety)) return undefined;
  for (const event of events) {
    if (event.atMs > untilMs) break;
    if (event.kind === 'check' && event.node === 'sim') continue;
    for (const { invariant } of safety) {
      if (invariant.kinds !== undefined && !invariant.kinds.includes(event.kind)) continue;
      if (invariant.observe(event) !== undefined) return false;
    }
  }
  return safety.every((entry) => entry.invariant.finish?.() === undefined);
}

/** Whether a check other than `nodeNeverThrows` reads `check` events (and so would see a run's own). */
function readsOwnChecks(safety: readonly SafetyEntry[]): boolean {
  return safety.some(
    (entry) => (entry.invariant.kinds?.includes('check') ?? true) && entry.name !== 'always nodeNeverThrows',
  );
}

/** Safety is checked at every event: one observer for all checks, of the kinds they read (every kind if one does not say). */
function watchSafety(checks: RunChecks, safety: readonly SafetyEntry[]): void {
  const kinds = safety.every((entry) => entry.invariant.kinds !== undefined)
    ? [...new Set(safety.flatMap((entry) => entry.invariant.kinds ?? []))]
    : undefined;
  // Per kind, the checks that read it, in the order of `safety` (worked out at its first event).
  const byKind = new Map<string, readonly SafetyEntry[]>();
  checks.trace.observe((event) => {
    let entries = byKind.get(event.kind);
    if (entries === undefined) {
      entries = safety.filter((entry) => entry.invariant.kinds?.includes(event.kind) ?? true);
      byKind.set(event.kind, entries);
    }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as SafetyEntry;
      if (entry.failed) continue;
      const violation = entry.invariant.observe(event);
      if (violation !== undefined) {
        entry.failed = true;
        failCheck(checks, entry.name, violation);
      }
    }
  }, kinds);
}

/** Liveness is checked at each deadline, after everything else at that instant; returns those not yet checked. */
function scheduleLiveness(checks: RunChecks, scenario: Scenario, world: World): Set<Expectation> {
  const { sim, trace, results } = checks;
  const unchecked = new Set<Expectation>();
  for (const expectation of scenario.expect) {
    if (!('byMs' in expectation)) continue;
    unchecked.add(expectation);
    sim.at(expectation.byMs, rank.check, () => {
      unchecked.delete(expectation);
      const name = describeExpectation(expectation);
      const missing = evaluateLiveness(expectation, trace.events, world.deliveries);
      if (missing === undefined) {
        results.push({ expectation: name, ok: true, message: 'met', atMs: sim.nowMs });
        trace.record(sim.nowMs, 'sim', { kind: 'check', requirement: name, verdict: 'ok', message: 'met' });
      } else {
        failCheck(checks, name, missing);
      }
    });
  }
  return unchecked;
}

/** After the run: end-of-run invariants, the checks that held, deadlines never reached, a hit limit. */
function closeChecks(
  checks: RunChecks,
  safety: readonly SafetyEntry[],
  unchecked: ReadonlySet<Expectation>,
  outcome: RunOutcome,
): void {
  for (const entry of safety) {
    if (entry.failed || entry.invariant.finish === undefined) continue;
    const violation = entry.invariant.finish();
    if (violation === undefined) continue;
    entry.failed = true;
    failCheck(checks, entry.name, violation);
  }
  for (const entry of safety) {
    if (!entry.failed)
      checks.results.push({ expectation: entry.name, ok: true, message: 'held', atMs: checks.sim.nowMs });
  }
  for (const expectation of unchecked) {
    failCheck(
      checks,
      describeExpectation(expectation),
      `never checked: the run stopped at ${outcome.atMs}ms (${outcome.reason})`,
    );
  }
  if (outcome.reason === 'eventsMax') {
    failCheck(
      checks,
      'limits.eventsMax',
      `stopped after ${outcome.events} events at ${outcome.atMs}ms (a livelock, or raise the limit)`,
    );
  }
}

/** The trace recorder of a run: its header names the scenario, seed, protocols and nodes. */
function recorderFor(scenario: Scenario, seed: number, options: RunOptions): TraceRecorder {
  const protocolNames = [...new Set(scenario.nodes.map((node) => node.protocol.name))];
  // Where each plugin protocol's module is, so that `fedsim view` can name its messages without
  // being given the plugin again (built-in protocols are not listed: their traces are unchanged).
  const plugins = Object.fromEntries(
    protocolNames.flatMap((name) => {
      const where = moduleLocationOf(name);
      return where === undefined ? [] : [[name, where]];
    }),
  );
  return new TraceRecorder(
    {
      format: 'fedsim-trace',
      version: 1,
      scenario: scenario.source.name,
      seed,
      protocols: protocolNames,
      nodes: scenario.nodes.map((node) => ({ id: node.id, host: node.host, protocol: node.protocol.name })),
      ...(Object.keys(plugins).length === 0 ? {} : { plugins }),
    },
    options.recorder,
  );
}

/**
 * Starts the world and runs it until quiet. An external node that broke the process protocol stops
 * the run there: the trace so far ends with the violation, and `RunAborted` carries it.
 */
function runWorld(
  world: World,
  sim: Simulator,
  trace: TraceRecorder,
  limits: Scenario['source']['limits'],
): RunOutcome {
  let outcome: RunOutcome;
  try {
    world.startAll();
    outcome = sim.runUntilQuiet(limits);
  } catch (error) {
    if (!(error instanceof ProcessNodeError)) throw error;
    trace.record(sim.nowMs, error.node, {
      kind: 'check',
      requirement: 'process-protocol',
      verdict: 'violation',
      message: error.message,
    });
    trace.end(sim.nowMs);
    world.shutdown();
    throw new RunAborted(error, trace);
  }
  world.shutdown();
  return outcome;
}

export function runScenario(scenario: Scenario, options: RunOptions = {}): RunReport {
  const source = scenario.source;
  const seed = options.seed ?? source.seed;
  const trace = recorderFor(scenario, seed, options);
  const sim = new Simulator();
  const network: Partial<NetworkModel> = { ...source.network };
  const world = new World(sim, seed, trace, network, options.engine ?? compiledEngine);
  for (const record of source.dns ?? []) world.addDnsRecord(record);
  for (const node of scenario.nodes)
    world.addNode({ id: node.id, host: node.host, protocol: node.protocol, config: node.config });

  const checks: RunChecks = { sim, trace, results: [] };
  const safety = safetyChecks(scenario);
  watchSafety(checks, safety);
  const unchecked = scheduleLiveness(checks, scenario, world);

  for (const step of scenario.steps) {
    // A user command is tagged for the world's lookahead (src/sim/world.ts): it concerns one node.
    const tag = step.do === 'command' ? world.commandEvent(step.node, step.command) : undefined;
    sim.at(step.atMs, rank.step, () => applyStep(world, step, tag), tag);
  }
  const outcome = runWorld(world, sim, trace, source.limits);
  closeChecks(checks, safety, unchecked, outcome);
  trace.end(sim.nowMs);
  const results = checks.results;
  const verdict = results.every((result) => result.ok) ? 'pass' : 'fail';
  const safetyHeld = safety.every((entry) => !entry.failed) && !readsOwnChecks(safety);
  return { name: source.name, file: scenario.file, seed, verdict, outcome, results, world, trace, safetyHeld };
}
