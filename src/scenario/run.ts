/**
 * Runs a loaded scenario: builds the World, schedules the steps at their virtual times, checks
 * safety expectations at every trace event and liveness expectations at their deadlines, and
 * returns a verdict with the trace. Deterministic: the same scenario and seed give the same
 * report and a byte-identical trace.
 */
import { assert, unreachable } from '../core/assert.js';
import { ProcessNodeError } from '../core/errors.js';
import type { Ms } from '../core/time.js';
import { describePattern, eventMatches } from '../check/match.js';
import { nodeNeverThrows, type Invariant } from '../check/invariants.js';
import { invariantNamed } from '../check/registry.js';
import type { InvariantContext } from '../check/context.js';
import { World, type NetworkModel } from '../sim/world.js';
import { rank, Simulator, type RunOutcome } from '../sim/simulator.js';
import type { TraceEvent } from '../trace/events.js';
import { TraceRecorder, type RecorderOptions } from '../trace/recorder.js';
import type { Scenario } from './load.js';
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
}

export interface RunOptions {
  /** Overrides the scenario's seed (fuzzing and `fedsim run --seed`). */
  readonly seed?: number;
  readonly recorder?: RecorderOptions;
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
  if ('never' in expectation) return expectation.name ?? `never ${describePattern(expectation.never)}`;
  if ('delivered' in expectation) {
    return `by ${expectation.byMs}ms ${expectation.delivered.to} received ${JSON.stringify(expectation.delivered.bodies)}`;
  }
  if ('eventually' in expectation)
    return expectation.name ?? `by ${expectation.byMs}ms ${describePattern(expectation.eventually)}`;
  if ('sequence' in expectation)
    return expectation.name ?? `by ${expectation.byMs}ms a sequence of ${expectation.sequence.length} events`;
  return unreachable(expectation);
}

function applyStep(world: World, step: Step): void {
  switch (step.do) {
    case 'command':
      return world.command(step.node, step.command);
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
    case 'skew':
      return world.skew(step.node, step.skewMs);
    case 'corrupt':
      return world.corruptNext(step.between[0], step.between[1], 'corrupt');
    case 'truncate':
      return world.corruptNext(step.between[0], step.between[1], 'truncate');
    case 'disarm':
      return world.disarm(step.between[0], step.between[1]);
    case 'dnsFail':
      return world.dnsFail(step.name, step.mode ?? 'servfail');
    case 'dnsRestore':
      return world.dnsRestore(step.name);
    default:
      return unreachable(step);
  }
}

/** Evaluates a liveness expectation over the events up to now. */
function evaluateLiveness(expectation: Expectation, events: readonly TraceEvent[], world: World): string | undefined {
  if ('delivered' in expectation) {
    const { to, bodies, exactly } = expectation.delivered;
    const got = world.deliveries.filter((d) => d.user === to).map((d) => d.body);
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
  if ('sequence' in expectation) {
    let next = 0;
    for (const event of events) {
      const pattern = expectation.sequence[next];
      if (pattern && eventMatches(event, pattern)) next += 1;
      if (next === expectation.sequence.length) return undefined;
    }
    const pattern = expectation.sequence[next];
    assert(pattern !== undefined, 'sequence index in range');
    return `matched ${next} of ${expectation.sequence.length} in order; step ${next + 1} never came: ${describePattern(pattern)}`;
  }
  return undefined;
}

export function runScenario(scenario: Scenario, options: RunOptions = {}): RunReport {
  const source = scenario.source;
  const seed = options.seed ?? source.seed;
  const protocolNames = [...new Set(scenario.nodes.map((node) => node.protocol.name))];
  const trace = new TraceRecorder(
    {
      format: 'fedsim-trace',
      version: 1,
      scenario: source.name,
      seed,
      protocols: protocolNames,
      nodes: scenario.nodes.map((node) => ({ id: node.id, host: node.host, protocol: node.protocol.name })),
    },
    options.recorder,
  );
  const sim = new Simulator();
  const network: Partial<NetworkModel> = { ...source.network };
  const world = new World(sim, seed, trace, network);
  for (const record of source.dns ?? []) world.addDnsRecord(record);
  for (const node of scenario.nodes)
    world.addNode({ id: node.id, host: node.host, protocol: node.protocol, config: node.config });

  const results: ExpectationResult[] = [];
  const fail = (expectation: string, message: string) => {
    results.push({ expectation, ok: false, message, atMs: sim.nowMs });
    trace.record(sim.nowMs, 'sim', { kind: 'check', requirement: expectation, verdict: 'violation', message });
  };

  // Safety: checked at every event. A node that throws always fails the run, asked or not.
  const safety: { name: string; invariant: Invariant; failed: boolean }[] = [];
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
      safety.push({
        name: describeExpectation(expectation),
        invariant: factory(context),
        failed: false,
      });
    } else if ('never' in expectation) {
      const pattern = expectation.never;
      const name = describeExpectation(expectation);
      safety.push({
        name,
        invariant: {
          name,
          // The schema makes `kind` a string; one that names no event kind matches nothing anyway.
          kinds: [pattern['kind'] as TraceEvent['kind']],
          observe: (event) =>
            event.kind !== 'check' && eventMatches(event, pattern) ? `event #${event.seq} at ${event.node}` : undefined,
        },
        failed: false,
      });
    }
  }
  if (!explicit.has('nodeNeverThrows'))
    safety.push({ name: 'always nodeNeverThrows', invariant: nodeNeverThrows(), failed: false });
  // One observer for them all, of the kinds they read (every kind if one does not say).
  const kinds = safety.every((entry) => entry.invariant.kinds !== undefined)
    ? [...new Set(safety.flatMap((entry) => entry.invariant.kinds ?? []))]
    : undefined;
  trace.observe((event) => {
    for (const entry of safety) {
      if (entry.failed) continue;
      const wanted = entry.invariant.kinds;
      if (wanted !== undefined && !wanted.includes(event.kind)) continue;
      const violation = entry.invariant.observe(event);
      if (violation !== undefined) {
        entry.failed = true;
        fail(entry.name, violation);
      }
    }
  }, kinds);

  // Liveness: checked at each deadline, after everything else at that instant.
  const unchecked = new Set<Expectation>();
  for (const expectation of scenario.expect) {
    if (!('byMs' in expectation)) continue;
    unchecked.add(expectation);
    sim.at(expectation.byMs, rank.check, () => {
      unchecked.delete(expectation);
      const name = describeExpectation(expectation);
      const missing = evaluateLiveness(expectation, trace.events, world);
      if (missing === undefined) {
        results.push({ expectation: name, ok: true, message: 'met', atMs: sim.nowMs });
        trace.record(sim.nowMs, 'sim', { kind: 'check', requirement: name, verdict: 'ok', message: 'met' });
      } else {
        fail(name, missing);
      }
    });
  }

  for (const step of scenario.steps) sim.at(step.atMs, rank.step, () => applyStep(world, step));
  let outcome: RunOutcome;
  try {
    world.startAll();
    outcome = sim.runUntilQuiet(source.limits);
  } catch (error) {
    if (!(error instanceof ProcessNodeError)) throw error;
    // An external node broke the process protocol: the run stops here, with the trace so far.
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
  for (const entry of safety) {
    if (!entry.failed) results.push({ expectation: entry.name, ok: true, message: 'held', atMs: sim.nowMs });
  }
  for (const expectation of unchecked) {
    fail(describeExpectation(expectation), `never checked: the run stopped at ${outcome.atMs}ms (${outcome.reason})`);
  }
  if (outcome.reason === 'eventsMax') {
    fail(
      'limits.eventsMax',
      `stopped after ${outcome.events} events at ${outcome.atMs}ms (a livelock, or raise the limit)`,
    );
  }
  trace.end(sim.nowMs);
  const verdict = results.every((result) => result.ok) ? 'pass' : 'fail';
  return { name: source.name, file: scenario.file, seed, verdict, outcome, results, world, trace };
}
