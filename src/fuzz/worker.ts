/**
 * A fuzz worker thread: runs the seeds it is given, one at a time, and posts each verdict (with
 * the shrunk counterexample when a run fails) to the campaign. Started by campaign.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzProfileNamed } from './profiles/index.js';
import { loadPlugin } from '../protocols/registry.js';
import { runOne, type FuzzRunOptions, type FuzzRunResult } from './run-one.js';

export interface WorkerTask {
  readonly protocol: string;
  /** The protocol profile's variant of its fuzz profile (`--profile`), if any. */
  readonly variant?: string;
  /** Plugin modules (URLs) the campaign loaded: a worker thread loads them again before it starts. */
  readonly plugins: readonly string[];
  readonly seeds: readonly number[];
  /** The runs' options, the statechart engine among them. */
  readonly options: FuzzRunOptions;
}

export type WorkerMessage =
  | { readonly kind: 'result'; readonly result: FuzzRunResult }
  | { readonly kind: 'error'; readonly seed: number; readonly message: string }
  | { readonly kind: 'done' };

const task = workerData as WorkerTask;
const port = parentPort;
for (const module of task.plugins) await loadPlugin(module);
const profile = fuzzProfileNamed(task.protocol, task.variant);
if (port !== null && profile !== undefined) {
  for (const seed of task.seeds) {
    try {
      port.postMessage({ kind: 'result', result: runOne(profile, seed, task.options) } satisfies WorkerMessage);
    } catch (error) {
      port.postMessage({ kind: 'error', seed, message: String(error) } satisfies WorkerMessage);
    }
  }
  port.postMessage({ kind: 'done' } satisfies WorkerMessage);
}
