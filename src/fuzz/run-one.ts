/**
 * One fuzz run: fast-check draws a topology, a command sequence and the simulator's seed from one
 * fast-check seed; the plan becomes a scenario source, which is parsed and run exactly as a
 * scenario file would be (so a counterexample replays by construction). A plan with a corruption
 * that acted may run twice: its expectations depend on when the damage happened (`judgePlan`).
 * A failing run is shrunk by fast-check; the last failing scenario it tried is the shrunk
 * counterexample.
 *
 * Must not: read a clock or a random source. The same seed gives the same verdict and trace.
 */
import fc from 'fast-check';
import { compiledEngine, engineOf, type Engine, type EngineKind } from '../engine/engine.js';
import { parseScenarioSource, plannedScenario, type Scenario } from '../scenario/load.js';
import { evaluateLiveness, runScenario, safetyHoldsOver, type RunReport } from '../scenario/run.js';
import type { Expectation, ScenarioFile } from '../scenario/schema.js';
import type { TraceEvent } from '../trace/events.js';
import { orderPatterns, type OrderItem } from '../scenario/order.js';
import type { ProcessSpec } from '../process/schema.js';
import { canaryProtocol, type CanaryKind } from './canary.js';
import { runCoverage, withMachineDefinitions, type RunCoverage } from './coverage.js';
import {
  campaignCommandOptions,
  commandOptionsKey,
  generatorsRan,
  planCommands,
  type CommandOptions,
} from './commands/index.js';
import { damageInstants, droppedAfterDamage, Plan, refusedCommands } from './plan.js';
import type { FuzzProfile, Topology } from './profile.js';
import type { PlanCommand } from './commands/command.js';

export interface FuzzRunOptions extends CommandOptions {
  /** Run a deliberately broken variant of the protocol (src/fuzz/canary.ts). */
  readonly canary?: CanaryKind;
  /** The statechart engine the runs use (named, as the options cross to worker threads). @defaultValue 'compiled' */
  readonly engine?: EngineKind;
  /**
   * Run every node of the campaign's protocol as this external process (docs/process-nodes.md).
   * It is written into each generated scenario, so a counterexample replays with `fedsim run`.
   */
  readonly nodeProcess?: ProcessSpec;
}

/** `source` with every node of `protocol` run as the external process `spec` (nothing if none). */
export function withProcessNodes(source: ScenarioFile, protocol: string, spec: ProcessSpec | undefined): ScenarioFile {
  if (spec === undefined) return source;
  const nodes = Object.fromEntries(
    Object.entries(source.nodes).map(([id, node]) => [
      id,
      (node.protocol ?? source.protocol) === protocol ? { ...node, process: spec } : node,
    ]),
  );
  return { ...source, nodes };
}

export interface FuzzFailure {
  readonly seed: number;
  /** fast-check's path to the shrunk counterexample (replay with `{ seed, path }`). */
  readonly path: string;
  readonly shrinks: number;
  /** The shrunk counterexample as a scenario source (the shape of a scenario file). */
  readonly source: ScenarioFile;
  /** The expectations it breaks, as `name: message`. */
  readonly failures: readonly string[];
  readonly trace: string;
}

export interface FuzzRunResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: FuzzFailure;
  /** What the run (before any shrinking) reached of the statecharts (src/fuzz/coverage.ts). */
  readonly coverage?: RunCoverage;
}

/** The scenario's name, and the file stem under reports/counterexamples/ (a variant's: `<protocol>-<variant>-<seed>`). */
export function counterexampleStem(protocol: string, seed: number, canary?: CanaryKind, variant?: string): string {
  const named = variant === undefined ? protocol : `${protocol}-${variant}`;
  return canary === undefined ? `${named}-${seed}` : `${named}-canary-${canary}-${seed}`;
}

/** Parses a scenario source as a file would be, with the canary's nodes swapped in if asked. */
export function scenarioOf(source: ScenarioFile, file: string, canary?: CanaryKind): Scenario {
  const scenario = parseScenarioSource(source, file);
  return withCanary(scenario, canary);
}

export function withCanary(scenario: Scenario, canary: CanaryKind | undefined): Scenario {
  if (canary === undefined) return scenario;
  return {
    ...scenario,
    nodes: scenario.nodes.map((node) => ({ ...node, protocol: canaryProtocol(node.protocol, canary) })),
  };
}

function failuresOf(report: RunReport): string[] {
  return report.results.filter((result) => !result.ok).map((result) => `${result.expectation}: ${result.message}`);
}

/**
 * Runs a closed plan as a scenario whose expectations know when its corruptions acted, and which
 * sends the sender's node refused at once (`refusedCommands`: never accepted). The steps never
 * depend on either, so a first run (as if none acted) shows them; when they change
 * the expectations, the scenario that has them is run again, and that run is the verdict.
 * Expectations only observe, and every corruption is disarmed before the closing messages, so the
 * second run sees the same instants (checked: a difference is a fedsim bug).
 */
export function judgePlan(
  plan: Plan,
  simSeed: number,
  stem: string,
  canary?: CanaryKind,
  engine: Engine = compiledEngine,
  nodeProcess?: ProcessSpec,
): { source: ScenarioFile; report: RunReport } {
  const start = firstJudgement(plan, simSeed, stem, canary, engine, nodeProcess);
  const { first, firstReport, source } = start;
  return checkedVerdict(start, source === first ? { source: first, report: firstReport } : secondRun(start, source));
}

/**
 * The verdict's run, its source checked in full when it failed: a plan's source is valid by
 * construction, so runs skip the loader's checks (`plannedScenario`), but a failure's source
 * becomes a counterexample file (a ScenarioError here is a fedsim bug). A first run that fails
 * only because a corruption acted is no verdict, and is not checked.
 */
function checkedVerdict(
  start: FirstJudgement,
  judged: { source: ScenarioFile; report: RunReport },
): { source: ScenarioFile; report: RunReport } {
  if (judged.report.verdict === 'fail') parseScenarioSource(judged.source, start.file);
  return judged;
}

/** judgePlan's first run, and the scenario whose run is the verdict (`first` itself when no second run is needed). */
interface FirstJudgement {
  readonly first: ScenarioFile;
  readonly firstReport: RunReport;
  readonly damageMs: readonly number[];
  readonly source: ScenarioFile;
  readonly file: string;
  readonly canary: CanaryKind | undefined;
  readonly run: (source: ScenarioFile) => RunReport;
}

function firstJudgement(
  plan: Plan,
  simSeed: number,
  stem: string,
  canary: CanaryKind | undefined,
  engine: Engine,
  nodeProcess: ProcessSpec | undefined,
): FirstJudgement {
  const name = `fuzz/${stem}`;
  const file = `reports/counterexamples/${stem}.yaml`;
  const run = (source: ScenarioFile) => {
    // The run's text is made only if asked for (a failure's counterexample): most runs pass.
    // A plan's source is valid by construction: runs skip the loader's checks (`checkedVerdict`).
    return runScenario(withCanary(plannedScenario(source, file), canary), {
      engine,
      recorder: { deferLines: true },
    });
  };
  const scenario = (damage: readonly number[], refused?: Parameters<Plan['scenario']>[3]) =>
    withProcessNodes(plan.scenario(simSeed, name, damage, refused), plan.profile.protocol, nodeProcess);
  const first = scenario([]);
  const firstReport = run(first);
  const damageMs = damageInstants(firstReport.trace.events);
  const refused = refusedCommands(firstReport.trace.events);
  for (const key of droppedAfterDamage(firstReport.trace.events, plan.profile.delivery.refusalCodes ?? []))
    refused.add(key);
  for (const key of plan.profile.delivery.strandedByDamage?.(firstReport.trace.events) ?? []) refused.add(key);
  const done = { first, firstReport, damageMs, file, canary, run };
  // Nothing acted and nothing was refused: the scenario is the first one (most runs).
  if (damageMs.length === 0 && refused.size === 0) return { ...done, source: first };
  const source = scenario(damageMs, refused);
  if (sameJson(source, first)) return { ...done, source: first };
  return { ...done, source };
}

/**
 * Whether two scenario sources (or the same parts of two) have the same JSON text, told member by member: the two scenarios
 * of a plan share most members (its nodes, steps and network are the same objects; they differ in
 * their expectations and limits), and the same object has the same text. The members are compared
 * in order, those JSON leaves out (undefined) skipped, so this is `JSON.stringify(a) ===
 * JSON.stringify(b)` without writing what is shared (two 2 KB texts per case with a damage or a
 * refusal).
 */
function sameJson(a: object, b: object): boolean {
  const written = (file: object) =>
    Object.entries(file).filter(
      ([, value]) => value !== undefined && typeof value !== 'function' && typeof value !== 'symbol',
    );
  const left = written(a);
  const right = written(b);
  if (left.length !== right.length) return false;
  return left.every(([key, value], index) => {
    const [otherKey, other] = right[index] as [string, unknown];
    return key === otherKey && (value === other || JSON.stringify(value) === JSON.stringify(other));
  });
}

/** Runs the verdict's scenario (judgePlan's second run), checking that the corruptions acted at the same instants. */
function secondRun(start: FirstJudgement, source: ScenarioFile): { source: ScenarioFile; report: RunReport } {
  const { run, damageMs } = start;
  const report = run(source);
  const again = damageInstants(report.trace.events);
  if (JSON.stringify(again) !== JSON.stringify(damageMs)) {
    throw new Error(`a plan's corruptions acted at [${damageMs.join(', ')}] ms, then at [${again.join(', ')}] ms`);
  }
  return { source, report };
}

/**
 * Whether judgePlan's second run (of `source`) passes, told from its first run without running it,
 * when that can be told exactly; false when it cannot (the second run is then made).
 *
 * Why it is exact. The two scenarios differ only in their deadlines (`delivered` expectations) and
 * in the time limit (`Plan.scenario` makes them so; checked here). A deadline's check runs last
 * at its instant (`rank.check`), runs no node code and changes nothing the world reads: it records
 * a `check` event at `sim` (no Lamport clock ticks) and a result, and its queue entry's sequence
 * number orders it only among checks. So, up to the second's time limit, the second run's node
 * and world events are the first's, in the same order at the same instants, as long as the first
 * run got there (its own limit is not earlier, or it ended quiet before it: then nothing was left
 * to happen in either), and the second run ends there, or earlier once quiet but for its checks. Its safety checks then
 * see those events, besides its deadlines' `check` events (which only `nodeNeverThrows` reads, and
 * it reads a thrown node's only) and the trace's numbering (which no check's verdict reads):
 * `safetyHoldsOver` feeds them so. Each deadline is met when the deliveries up to its instant meet
 * it, and it is reached: not beyond the time limit, and the event limit is not hit with the second
 * run's checks counted. An `eventually` or `sequence` deadline (a refusal owed, say) reads the
 * trace's events up to its instant: in the second run, the first run's (its own `check` events at
 * `sim` left out) with the second's own `check` events among them. When each of its patterns
 * names an event kind other than `check` and does not name `seq` (the only field the two runs
 * number differently), those `check` events match none of them, and it is met exactly when the
 * first run's events up to its instant meet it; otherwise the second run is made.
 */
function secondPasses(start: FirstJudgement, source: ScenarioFile): boolean {
  const { first, firstReport } = start;
  const deadline = (expectation: Expectation) => 'byMs' in expectation;
  // Everything but the deadlines and the time limit: nodes, steps, network, seed, the event limit, safety.
  const rest = (file: ScenarioFile) => {
    const { expect = [], limits, ...others } = file;
    return {
      others,
      limits: JSON.stringify([limits.eventsMax, expect.filter((expectation) => !deadline(expectation))]),
    };
  };
  const [restOfSource, restOfFirst] = [rest(source), rest(first)];
  if (restOfSource.limits !== restOfFirst.limits || !sameJson(restOfSource.others, restOfFirst.others)) return false;
  const untilMs = source.limits.timeMsMax;
  const { outcome } = firstReport;
  // A later limit is told only when the first run ended quiet before its own: nothing was left to
  // happen, so the second run has only its deadline checks left after that instant.
  if (untilMs > first.limits.timeMsMax && outcome.reason !== 'quiet') return false;
  const deadlines = (source.expect ?? []).filter(deadline);
  if (outcome.reason === 'eventsMax' || outcome.events + deadlines.length >= source.limits.eventsMax) return false;
  const deliveries = firstReport.world.deliveries;
  const events = firstReport.trace.events;
  const met = deadlines.every(
    (expectation) =>
      'byMs' in expectation &&
      expectation.byMs <= untilMs &&
      ('delivered' in expectation || readsNodeEventsOnly(expectation)) &&
      evaluateLiveness(
        expectation,
        'delivered' in expectation
          ? []
          : events.filter(
              (event) => event.atMs <= expectation.byMs && !(event.kind === 'check' && event.node === 'sim'),
            ),
        deliveries.filter((delivery) => delivery.atMs <= expectation.byMs),
      ) === undefined,
  );
  if (!met) return false;
  // Every event of the first run is within the second's limit, and its safety checks (the
  // second's: `rest` is the same) held over them: they hold without its own `check` events too.
  const last = events[events.length - 1];
  if (firstReport.safetyHeld && (last === undefined || last.atMs <= untilMs)) return true;
  const scenario = withCanary(plannedScenario(source, start.file), start.canary);
  return safetyHoldsOver(scenario, events, untilMs) === true;
}

/**
 * Whether an `eventually` or `sequence` expectation's patterns each name an event kind other than
 * `check`, and none names `seq`: what it reads is then the same in judgePlan's two runs (`secondPasses`).
 */
function readsNodeEventsOnly(expectation: Expectation): boolean {
  const patterns =
    'eventually' in expectation
      ? [expectation.eventually]
      : 'sequence' in expectation
        ? orderPatterns(expectation.sequence as OrderItem[])
        : undefined;
  return (
    patterns !== undefined &&
    patterns.every((pattern) => {
      const kind = pattern['kind'];
      return typeof kind === 'string' && kind !== 'check' && !('seq' in pattern);
    })
  );
}

/**
 * A fuzz case's verdict as judgePlan's, its events for coverage, and (unless it passed without its
 * second run, `secondPasses`) judgePlan's source and report.
 */
export function judgeCase(
  plan: Plan,
  simSeed: number,
  stem: string,
  canary: CanaryKind | undefined,
  engine: Engine,
  nodeProcess: ProcessSpec | undefined,
): { readonly events: readonly TraceEvent[]; readonly judged?: { source: ScenarioFile; report: RunReport } } {
  const start = firstJudgement(plan, simSeed, stem, canary, engine, nodeProcess);
  const { first, firstReport, source } = start;
  if (source === first)
    return { events: firstReport.trace.events, judged: checkedVerdict(start, { source, report: firstReport }) };
  // An external node is another program: its second run is made, as it may do anything.
  if (nodeProcess === undefined && secondPasses(start, source)) return { events: firstReport.trace.events };
  const judged = checkedVerdict(start, secondRun(start, source));
  return { events: judged.report.trace.events, judged };
}

type CaseArbitraries = readonly [fc.Arbitrary<number>, fc.Arbitrary<Topology>, fc.Arbitrary<Iterable<PlanCommand>>];

/** Per profile, its cases' arbitraries by their command options (`commandOptionsKey`); a few at most. */
const arbitrariesOf = new WeakMap<FuzzProfile, Map<string, CaseArbitraries>>();
const arbitrariesPerProfileMax = 32;

/**
 * The arbitraries of one fuzz case: the simulator's seed, the topology and the commands. Built
 * once per profile and command options, not per case (they were 1 to 2% of a case): an arbitrary
 * draws from the random source it is handed, and what fast-check's command sequence keeps between
 * checks (the replay path of its shrinking) starts again with each draw
 * (test/fuzz/run-one.test.ts runs a shrinking case between others and compares them with fresh ones).
 */
function caseArbitraries(profile: FuzzProfile, options: CommandOptions = {}): CaseArbitraries {
  const commandOptions = { ...options, ...campaignCommandOptions(profile) };
  const key = commandOptionsKey(commandOptions);
  let known = arbitrariesOf.get(profile);
  if (known === undefined) arbitrariesOf.set(profile, (known = new Map()));
  let arbitraries = known.get(key);
  if (arbitraries === undefined) {
    arbitraries = [fc.integer({ min: 0, max: 2 ** 31 - 1 }), profile.topology, planCommands(commandOptions)];
    if (known.size >= arbitrariesPerProfileMax) known.clear();
    known.set(key, arbitraries);
  }
  return arbitraries;
}

/** The plan that drawn `commands` build on `topology` (each command applied to it in turn). */
export function planOf(profile: FuzzProfile, topology: Topology, commands: Iterable<PlanCommand>): Plan {
  const plan = new Plan(profile, topology);
  fc.modelRun(() => ({ model: plan, real: plan }), commands);
  return plan;
}

/**
 * The case a campaign's run for `seed` draws (as drawn, never shrunk), handed to `use` with its
 * simulator seed; what `use` returns. For tools and tests that read a campaign's cases one by one.
 */
export function drawnCase<T>(profile: FuzzProfile, seed: number, use: (plan: Plan, simSeed: number) => T): T {
  let result: { readonly value: T } | undefined;
  const details = fc.check(
    fc.property(...caseArbitraries(profile), (simSeed, topology, commands) => {
      result = { value: use(planOf(profile, topology, commands), simSeed) };
      return true;
    }),
    { seed, numRuns: 1, endOnFailure: true },
  );
  if (details.failed) throw details.errorInstance;
  if (result === undefined) throw new Error(`no case drawn for seed ${seed}`);
  return result.value;
}

export function fuzzProperty(
  profile: FuzzProfile,
  seed: number,
  options: FuzzRunOptions,
  onFail: (f: Omit<FuzzFailure, 'seed' | 'path' | 'shrinks'>) => void,
  onCoverage?: (coverage: RunCoverage) => void,
) {
  const stem = counterexampleStem(profile.protocol, seed, options.canary, profile.variant);
  const engine = engineOf(options.engine ?? 'compiled');
  let covered = onCoverage === undefined;
  return fc.property(...caseArbitraries(profile, options), (simSeed, topology, commands) => {
    const plan = planOf(profile, topology, commands);
    let judged: ReturnType<typeof judgeCase>['judged'];
    if (covered) judged = judgeCase(plan, simSeed, stem, options.canary, engine, options.nodeProcess).judged;
    else {
      // The run as drawn (not the shrinking that may follow) is what the campaign covered.
      covered = true;
      const { value, machines } = withMachineDefinitions(engine, (tapped) =>
        judgeCase(plan, simSeed, stem, options.canary, tapped, options.nodeProcess),
      );
      judged = value.judged;
      const generators = generatorsRan(commands);
      onCoverage?.({ ...runCoverage(value.events, machines, profile.sometimes ?? []), generators });
    }
    if (judged === undefined || judged.report.verdict === 'pass') return true;
    const { source, report } = judged;
    onFail({ source, failures: failuresOf(report), trace: report.trace.text() });
    return false;
  });
}

/** Runs the campaign's run for `seed`: one fast-check run, shrunk if it fails. */
export function runOne(profile: FuzzProfile, seed: number, options: FuzzRunOptions = {}): FuzzRunResult {
  let last: Omit<FuzzFailure, 'seed' | 'path' | 'shrinks'> | undefined;
  let coverage: RunCoverage | undefined;
  const details = fc.check(
    fuzzProperty(
      profile,
      seed,
      options,
      (failure) => {
        last = failure;
      },
      (reached) => {
        coverage = reached;
      },
    ),
    { seed, numRuns: 1 },
  );
  const covered = coverage === undefined ? {} : { coverage };
  if (!details.failed) return { seed, ok: true, ...covered };
  if (last === undefined) {
    // The property threw before a scenario ran: a bug in fedsim, reported with fast-check's error.
    throw new Error(`fuzz run ${seed} failed outside a scenario: ${String(details.errorInstance)}`);
  }
  return {
    seed,
    ok: false,
    failure: { ...last, seed, path: details.counterexamplePath ?? '', shrinks: details.numShrinks },
    ...covered,
  };
}
