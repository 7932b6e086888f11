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
import { fuzzProfileName, type FuzzProfile } from './profile.js';
import { runOne, type FuzzRunOptions, type FuzzRunResult } from './run-one.js';
import { splitSeeds } from './seeds.js';
import type { WorkerMessage, WorkerTask } from './worker.js';

export interface CampaignOptions {
  readonly seeds: readonly number[];
  readonly workers: number;
  readonly run: FuzzRunOptions;
  /** Asked after each run; true ends the campaign early (runs in flight are abandoned). */
  readonly shouldStop?: () => boolean;
  readonly onResult?: (result: FuzzRunResult) => void;
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
      protocol: fuzzProfileName(profile),
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

/** Runs a campaign's seeds; results arrive in completion order, and are sorted by seed at the end. */
export async function runCampaign(profile: FuzzProfile, options: CampaignOptions): Promise<CampaignResult> {
  const outcome = options.workers <= 1 ? runInline(profile, options) : await runWorkers(profile, options);
  return { ...outcome, results: [...outcome.results].sort((a, b) => a.seed - b.seed) };
}
