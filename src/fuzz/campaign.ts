/**
 * A fuzz campaign: the runs of one shard, inline or across worker threads, reported one by one
 * to the caller (the CLI draws progress from them and decides when the time budget is spent).
 * Workers start from worker-entry.mjs, which runs the compiled worker beside it (the fedsim
 * command's build, bin/build.mjs) or, from the sources, registers tsx in the thread.
 *
 * Must not: read a clock. Wall time belongs to the CLI; `shouldStop` is how it stops a campaign.
 */
import { Worker } from 'node:worker_threads';
import { loadedPluginModules } from '../protocols/registry.js';
import type { FuzzProfile } from './profile.js';
import { runOne, type FuzzRunOptions, type FuzzRunResult } from './run-one.js';
import { splitSeeds } from './seeds.js';
import { steerWeights } from './steer.js';
import type { WorkerMessage, WorkerTask } from './worker.js';

export interface CampaignOptions {
  readonly seeds: readonly number[];
  readonly workers: number;
  readonly run: FuzzRunOptions;
  /** Asked after each run; true ends the campaign early (runs in flight are abandoned). */
  readonly shouldStop?: () => boolean;
  readonly onResult?: (result: FuzzRunResult) => void;
  /**
   * Coverage steering (src/fuzz/steer.ts): the seeds of the whole campaign's pilot (`pilotSeeds`),
   * run first, unsteered (those of another shard too, reported by that shard only); the rest of
   * `seeds` then draw their commands with the weights the pilot's coverage gives.
   */
  readonly steer?: { readonly pilot: readonly number[] };
}

export interface CampaignResult {
  readonly results: readonly FuzzRunResult[];
  /** Internal errors (fedsim bugs), by seed. */
  readonly errors: readonly { readonly seed: number; readonly message: string }[];
  readonly stopped: boolean;
}

function runInline(profile: FuzzProfile, options: CampaignOptions): CampaignResult {
  const results: FuzzRunResult[] = [];
  const errors: { seed: number; message: string }[] = [];
  for (const seed of options.seeds) {
    if (options.shouldStop?.()) return { results, errors, stopped: true };
    try {
      const result = runOne(profile, seed, options.run);
      results.push(result);
      options.onResult?.(result);
    } catch (error) {
      errors.push({ seed, message: String(error) });
    }
  }
  return { results, errors, stopped: false };
}

function runWorkers(profile: FuzzProfile, options: CampaignOptions): Promise<CampaignResult> {
  const results: FuzzRunResult[] = [];
  const errors: { seed: number; message: string }[] = [];
  const parts = splitSeeds(options.seeds, options.workers);
  let stopped = false;
  const workers = parts.map((seeds) => {
    const task: WorkerTask = {
      protocol: profile.protocol,
      ...(profile.variant === undefined ? {} : { variant: profile.variant }),
      plugins: loadedPluginModules(),
      seeds,
      options: options.run,
    };
    return new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: task });
  });
  const stopAll = () => {
    stopped = true;
    for (const worker of workers) void worker.terminate();
  };
  return new Promise((resolve, reject) => {
    let running = workers.length;
    const finished = () => {
      running -= 1;
      if (running === 0) resolve({ results, errors, stopped });
    };
    for (const worker of workers) {
      let done = false;
      worker.on('message', (message: WorkerMessage) => {
        if (message.kind === 'result') {
          results.push(message.result);
          options.onResult?.(message.result);
        } else if (message.kind === 'error') {
          errors.push({ seed: message.seed, message: message.message });
        } else {
          done = true;
        }
        if (!stopped && options.shouldStop?.()) stopAll();
      });
      worker.on('error', (error) => {
        stopAll();
        reject(error);
      });
      worker.on('exit', () => {
        if (!done && !stopped) errors.push({ seed: -1, message: 'a worker exited before its last run' });
        finished();
      });
    }
  });
}

async function runSeeds(profile: FuzzProfile, options: CampaignOptions): Promise<CampaignResult> {
  if (options.seeds.length === 0) return { results: [], errors: [], stopped: false };
  return options.workers <= 1 ? runInline(profile, options) : await runWorkers(profile, options);
}

/** Runs a campaign's seeds; results arrive in completion order, and are sorted by seed at the end. */
export async function runCampaign(profile: FuzzProfile, options: CampaignOptions): Promise<CampaignResult> {
  const outcome = options.steer === undefined ? await runSeeds(profile, options) : await runSteered(profile, options);
  return { ...outcome, results: [...outcome.results].sort((a, b) => a.seed - b.seed) };
}

/** The pilot, then the shard's other seeds with the weights it gives (`CampaignOptions.steer`). */
async function runSteered(profile: FuzzProfile, options: CampaignOptions): Promise<CampaignResult> {
  const pilot = [...(options.steer?.pilot ?? [])].sort((a, b) => a - b);
  const own = new Set(options.seeds);
  const first = await runSeeds(profile, {
    ...options,
    seeds: pilot,
    onResult: (result) => {
      if (own.has(result.seed)) options.onResult?.(result);
    },
  });
  const mine = <T extends { readonly seed: number }>(list: readonly T[]) => list.filter((item) => own.has(item.seed));
  if (first.stopped) return { results: mine(first.results), errors: mine(first.errors), stopped: true };
  const coverage = [...first.results]
    .sort((a, b) => a.seed - b.seed)
    .flatMap((result) => (result.coverage === undefined ? [] : [result.coverage]));
  const inPilot = new Set(pilot);
  const rest = await runSeeds(profile, {
    ...options,
    seeds: options.seeds.filter((seed) => !inPilot.has(seed)),
    run: { ...options.run, weights: steerWeights(coverage) },
  });
  return {
    results: [...mine(first.results), ...rest.results],
    errors: [...mine(first.errors), ...rest.errors],
    stopped: rest.stopped,
  };
}
