/**
 * A seed sweep: every scenario of a run over a range of seeds, inline or across worker threads
 * (as a fuzz campaign runs, src/fuzz/campaign.ts), tallied per scenario. `fedsim run --seeds`
 * prints the tally; a scenario that states a guarantee passes on every seed.
 *
 * Must not: read a clock. The runs are deterministic; only their completion order varies with
 * the workers, and the tally is sorted by file and seed before anyone sees it.
 */
import { Worker } from 'node:worker_threads';
import { getMachineEngine, type MachineEngine } from '../engine/actor.js';
import { splitSeeds } from '../fuzz/seeds.js';
import type { Scenario } from './load.js';
import { runScenario } from './run.js';

/** Largest seed range one sweep may ask for: 1..100000 already means hours of runs. */
export const sweepSeedsMax = 100_000;

/** Parses `A..B` (inclusive) or a single seed `N`; undefined when malformed, empty or too long. */
export function parseSeedRange(text: string): number[] | undefined {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) return undefined;
  if (last - first + 1 > sweepSeedsMax) return undefined;
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** One run of a sweep: the scenario (by its index in the sweep's file list), the seed, the verdict. */
export interface SweepRun {
  readonly index: number;
  readonly seed: number;
  readonly verdict: 'pass' | 'fail';
  /** The first failed expectation and its message, when the run failed. */
  readonly failure?: string;
}

export interface SweepTally {
  readonly file: string;
  readonly name: string;
  readonly runs: number;
  readonly passed: number;
  /** The lowest failing seed and why, when any seed failed. */
  readonly firstFailure?: { readonly seed: number; readonly failure: string };
}

export interface SweepWorkerTask {
  readonly files: readonly string[];
  /** [index into files, seed] pairs this worker runs. */
  readonly runs: readonly (readonly [number, number])[];
  readonly engine: MachineEngine;
}

export type SweepWorkerMessage =
  | { readonly kind: 'run'; readonly run: SweepRun }
  | { readonly kind: 'error'; readonly index: number; readonly seed: number; readonly message: string }
  | { readonly kind: 'done' };

/** Runs one scenario on one seed, without keeping its trace beyond the verdict. */
export function sweepOne(scenario: Scenario, index: number, seed: number): SweepRun {
  const report = runScenario(scenario, { seed });
  const failed = report.results.find((result) => !result.ok);
  return {
    index,
    seed,
    verdict: report.verdict,
    ...(failed ? { failure: `${failed.expectation}: ${failed.message} (at ${failed.atMs}ms)` } : {}),
  };
}

export interface SweepOptions {
  readonly seeds: readonly number[];
  readonly workers: number;
  readonly onRun?: (run: SweepRun) => void;
}

export interface SweepResult {
  readonly tallies: readonly SweepTally[];
  /** Internal errors (fedsim bugs), by scenario and seed. */
  readonly errors: readonly { readonly file: string; readonly seed: number; readonly message: string }[];
}

function allRuns(count: number, seeds: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (let index = 0; index < count; index++) for (const seed of seeds) runs.push([index, seed]);
  return runs;
}

function runWorkers(
  scenarios: readonly Scenario[],
  options: SweepOptions,
  onRun: (run: SweepRun) => void,
  onError: (index: number, seed: number, message: string) => void,
): Promise<void> {
  const runs = allRuns(scenarios.length, options.seeds);
  // Deal the runs out in turn, so that each worker gets a share of every scenario.
  const parts = splitSeeds(
    runs.map((_, i) => i),
    options.workers,
  ).map((indices) => indices.map((i) => runs[i] as [number, number]));
  const files = scenarios.map((scenario) => scenario.file);
  return new Promise((resolve, reject) => {
    let running = parts.length;
    for (const part of parts) {
      const task: SweepWorkerTask = { files, runs: part, engine: getMachineEngine() };
      const worker = new Worker(new URL('./sweep-worker-entry.mjs', import.meta.url), { workerData: task });
      let done = false;
      worker.on('message', (message: SweepWorkerMessage) => {
        if (message.kind === 'run') onRun(message.run);
        else if (message.kind === 'error') onError(message.index, message.seed, message.message);
        else done = true;
      });
      worker.on('error', reject);
      worker.on('exit', () => {
        if (!done) onError(-1, -1, 'a worker exited before its last run');
        running -= 1;
        if (running === 0) resolve();
      });
    }
  });
}

/** Runs every scenario on every seed and tallies the verdicts per scenario, in the scenarios' order. */
export async function runSweep(scenarios: readonly Scenario[], options: SweepOptions): Promise<SweepResult> {
  const collected: SweepRun[] = [];
  const errors: { file: string; seed: number; message: string }[] = [];
  const onRun = (run: SweepRun) => {
    collected.push(run);
    options.onRun?.(run);
  };
  const onError = (index: number, seed: number, message: string) =>
    errors.push({ file: scenarios[index]?.file ?? '(worker)', seed, message });
  if (options.workers <= 1 || scenarios.length * options.seeds.length <= 1) {
    scenarios.forEach((scenario, index) => {
      for (const seed of options.seeds) {
        try {
          onRun(sweepOne(scenario, index, seed));
        } catch (error) {
          onError(index, seed, String(error));
        }
      }
    });
  } else {
    await runWorkers(scenarios, options, onRun, onError);
  }
  const tallies = scenarios.map((scenario, index): SweepTally => {
    const mine = collected.filter((run) => run.index === index).sort((a, b) => a.seed - b.seed);
    const firstFailed = mine.find((run) => run.verdict === 'fail');
    return {
      file: scenario.file,
      name: scenario.source.name,
      runs: mine.length,
      passed: mine.filter((run) => run.verdict === 'pass').length,
      ...(firstFailed ? { firstFailure: { seed: firstFailed.seed, failure: firstFailed.failure ?? 'failed' } } : {}),
    };
  });
  errors.sort((a, b) => a.file.localeCompare(b.file) || a.seed - b.seed);
  return { tallies, errors };
}
