/**
 * Coverage-steered generation (`fedsim fuzz --steer`). A campaign's first runs, the pilot, are
 * drawn as without steering; from what they reached, each command generator (send, partition,
 * around, bounce, ...; src/fuzz/commands/index.ts) gets a weight, and every later run draws its
 * commands with those weights. A generator whose runs reached rare states and transitions (those
 * few pilot runs reached) is drawn more often, one whose runs reached only common ones less: the
 * frequency-based rare-path heuristic of FairFuzz, over statechart coverage and generators instead
 * of branches and bytes.
 *
 * Deterministic by construction: the weights are a pure function of the pilot's coverage in seed
 * order, and the pilot is the campaign's first `pilotRuns` seeds whoever runs them. A shard runs
 * the pilot seeds it does not own too (reporting only its own), so `--shard i/n` and `--workers N`
 * draw the same runs as one worker, and `fedsim fuzz merge` of the shards equals the unsharded
 * campaign. One round only, for that reason: a second round would need every shard to run the
 * whole first one.
 *
 * Must not: read a clock or a random source.
 */
import { defaultGeneratorWeights, generatorNames, type GeneratorName } from './commands/index.js';
import type { RunCoverage } from './coverage.js';

/** The pilot's size: the campaign's first runs, at most this many. */
export const pilotRunsDefault = 100;

/** How far steering moves a generator's weight from its unsteered one, up or down (a factor). */
const factorMax = 3;

/** Weights are integers (fast-check's `oneof`): the unsteered ones times this, then scaled. */
const scale = 10;

/** The seeds of a campaign's pilot: its first `pilotRuns` runs (run i is seed base + i). */
export function pilotSeeds(base: number, runs: number, pilotRuns: number = pilotRunsDefault): number[] {
  return Array.from({ length: Math.min(runs, pilotRuns) }, (_, i) => base + i);
}

/**
 * The generator weights for the runs after the pilot, from the pilot runs' coverage in seed order.
 * A run's novelty is the sum over the states and transitions it reached of 1 / (the number of
 * pilot runs that reached each); a generator's factor is the mean novelty of the runs that drew
 * it over the mean of all runs, kept within [1/3, 3]. A generator no pilot run drew keeps its
 * weight.
 */
export function steerWeights(pilot: readonly RunCoverage[]): Record<GeneratorName, number> {
  const items = (run: RunCoverage) => [...run.states.map((s) => `s ${s}`), ...run.changes.map((c) => `t ${c}`)];
  const reachedBy = new Map<string, number>();
  for (const run of pilot) for (const item of new Set(items(run))) reachedBy.set(item, (reachedBy.get(item) ?? 0) + 1);
  const novelty = pilot.map((run) =>
    [...new Set(items(run))].reduce((sum, item) => sum + 1 / (reachedBy.get(item) ?? 1), 0),
  );
  const mean = novelty.reduce((sum, n) => sum + n, 0) / Math.max(1, novelty.length);
  const weights = {} as Record<GeneratorName, number>;
  for (const name of generatorNames) {
    const drew = pilot.flatMap((run, i) => (run.generators?.includes(name) === true ? [novelty[i] ?? 0] : []));
    const own = drew.reduce((sum, n) => sum + n, 0) / Math.max(1, drew.length);
    const factor = drew.length === 0 || mean === 0 ? 1 : Math.min(factorMax, Math.max(1 / factorMax, own / mean));
    weights[name] = Math.max(1, Math.round(defaultGeneratorWeights[name] * scale * factor));
  }
  return weights;
}
