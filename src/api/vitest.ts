/**
 * `fedsim/vitest`: fedsim in a user's vitest suite.
 *
 * - `scenarioTest(file)` runs a scenario file (and the plugin modules it names) as one test.
 * - `fuzzTest(protocol, { runs, seed })` runs generated worlds (topology, workload, faults) for a
 *   protocol, a registered name or a plugin module, as one test: a fast-check property per run.
 * - `worldProperty(protocol)` gives that property, for `fc.assert` with options of your own.
 *
 * A failure names the seed and the command that replays it.
 */
import fc from 'fast-check';
import { it } from 'vitest';
import { fuzzProfileNamed } from '../fuzz/profiles/index.js';
import { fuzzProperty, runOne, type FuzzRunOptions } from '../fuzz/run-one.js';
import { loadPlugin, moduleOf, protocolNamed } from '../protocols/registry.js';
import { loadScenarioWithPlugins } from '../scenario/load.js';
import { runScenario } from '../scenario/run.js';

/** vitest's default of 5 s is too short for loading a TypeScript plugin and running a world on a busy machine. */
const timeoutMsDefault = 120_000;

export interface ScenarioTestOptions {
  /** Run with this seed instead of the scenario's own. */
  readonly seed?: number;
  /** vitest's timeout for the test (ms). */
  readonly timeoutMs?: number;
}

/** Runs `file` as a vitest test named after the scenario; it fails with every failed expectation. */
export function scenarioTest(file: string, options: ScenarioTestOptions = {}): void {
  it(
    `scenario ${file}`,
    async () => {
      const scenario = await loadScenarioWithPlugins(file);
      const report = runScenario(scenario, options.seed === undefined ? {} : { seed: options.seed });
      if (report.verdict === 'pass') return;
      const failures = report.results.filter((result) => !result.ok).map((r) => `  x ${r.expectation}: ${r.message}`);
      throw new Error(
        `${report.name} failed (seed ${report.seed}):\n${failures.join('\n')}\n` +
          `replay: npx fedsim run ${file} --seed ${report.seed}`,
      );
    },
    options.timeoutMs ?? timeoutMsDefault,
  );
}

async function profileFor(protocol: string) {
  const name = protocolNamed(protocol) === undefined ? (await loadPlugin(protocol)).protocol.name : protocol;
  const profile = fuzzProfileNamed(name);
  if (profile === undefined) throw new Error(`no protocol ${protocol}`);
  return profile;
}

function fuzzCommandFor(protocol: string): string {
  const module = moduleOf(protocol);
  return module === undefined ? `npx fedsim fuzz ${protocol}` : `npx fedsim fuzz ${module}`;
}

export interface FuzzTestOptions extends FuzzRunOptions {
  /** How many generated worlds (default 20). */
  readonly runs?: number;
  /** The seed of the first run; run i uses seed + i (default 1). */
  readonly seed?: number;
  readonly timeoutMs?: number;
}

/** One vitest test that runs `runs` generated worlds of `protocol` (a name or a plugin module). */
export function fuzzTest(protocol: string, options: FuzzTestOptions = {}): void {
  const runs = options.runs ?? 20;
  const first = options.seed ?? 1;
  it(
    `fuzz ${protocol}: ${runs} generated worlds from seed ${first}`,
    async () => {
      const profile = await profileFor(protocol);
      for (let seed = first; seed < first + runs; seed++) {
        const result = runOne(profile, seed, options);
        if (result.ok || result.failure === undefined) continue;
        throw new Error(
          `${profile.protocol}: generated world ${seed} failed:\n` +
            result.failure.failures.map((failure) => `  x ${failure}`).join('\n') +
            `\nreplay: ${fuzzCommandFor(profile.protocol)} --seed ${seed} --runs 1`,
        );
      }
    },
    options.timeoutMs ?? timeoutMsDefault,
  );
}

/**
 * The fast-check property "a generated world of `protocol` passes" (its invariants, its delivery
 * promise, no node throws): `fc.assert(await worldProperty('ping'), { seed, numRuns })`.
 */
export async function worldProperty(
  protocol: string,
  options: FuzzRunOptions = {},
): Promise<fc.IPropertyWithHooks<[number, unknown, unknown]>> {
  const profile = await profileFor(protocol);
  return fuzzProperty(profile, 0, options, () => undefined) as unknown as fc.IPropertyWithHooks<
    [number, unknown, unknown]
  >;
}
