/**
 * One fuzz run: fast-check draws a topology, a command sequence and the simulator's seed from one
 * fast-check seed; the plan becomes a scenario source, which is parsed and run exactly as a
 * scenario file would be (so a counterexample replays by construction). A failing run is shrunk by
 * fast-check; the last failing scenario it tried is the shrunk counterexample.
 *
 * Must not: read a clock or a random source. The same seed gives the same verdict and trace.
 */
import fc from 'fast-check';
import { parseScenario, type Scenario } from '../scenario/load.js';
import { runScenario, type RunReport } from '../scenario/run.js';
import type { ScenarioFile } from '../scenario/schema.js';
import { canaryProtocol, type CanaryKind } from './canary.js';
import { planCommands, type CommandOptions } from './commands/index.js';
import { Plan } from './plan.js';
import type { FuzzProfile } from './profile.js';

export interface FuzzRunOptions extends CommandOptions {
  /** Run a deliberately broken variant of the protocol (src/fuzz/canary.ts). */
  readonly canary?: CanaryKind;
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
}

/** The scenario's name, and the file stem under reports/counterexamples/. */
export function counterexampleStem(protocol: string, seed: number, canary?: CanaryKind): string {
  return canary === undefined ? `${protocol}-${seed}` : `${protocol}-canary-${canary}-${seed}`;
}

/** Parses a scenario source as a file would be, with the canary's nodes swapped in if asked. */
export function scenarioOf(source: ScenarioFile, file: string, canary?: CanaryKind): Scenario {
  const scenario = parseScenario(JSON.stringify(source), file);
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

export function fuzzProperty(
  profile: FuzzProfile,
  seed: number,
  options: FuzzRunOptions,
  onFail: (f: Omit<FuzzFailure, 'seed' | 'path' | 'shrinks'>) => void,
) {
  const stem = counterexampleStem(profile.protocol, seed, options.canary);
  return fc.property(
    fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    profile.topology,
    planCommands(options),
    (simSeed, topology, commands) => {
      const plan = new Plan(profile, topology);
      fc.modelRun(() => ({ model: plan, real: plan }), commands);
      const source = plan.finish(simSeed, `fuzz/${stem}`);
      const report = runScenario(scenarioOf(source, `reports/counterexamples/${stem}.yaml`, options.canary));
      if (report.verdict === 'pass') return true;
      onFail({ source, failures: failuresOf(report), trace: report.trace.text() });
      return false;
    },
  );
}

/** Runs the campaign's run for `seed`: one fast-check run, shrunk if it fails. */
export function runOne(profile: FuzzProfile, seed: number, options: FuzzRunOptions = {}): FuzzRunResult {
  let last: Omit<FuzzFailure, 'seed' | 'path' | 'shrinks'> | undefined;
  const details = fc.check(
    fuzzProperty(profile, seed, options, (failure) => {
      last = failure;
    }),
    { seed, numRuns: 1 },
  );
  if (!details.failed) return { seed, ok: true };
  if (last === undefined) {
    // The property threw before a scenario ran: a bug in fedsim, reported with fast-check's error.
    throw new Error(`fuzz run ${seed} failed outside a scenario: ${String(details.errorInstance)}`);
  }
  return {
    seed,
    ok: false,
    failure: { ...last, seed, path: details.counterexamplePath ?? '', shrinks: details.numShrinks },
  };
}
