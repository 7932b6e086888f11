/**
 * A sweep worker thread: loads the sweep's scenario files, runs the (scenario, seed) pairs it is
 * given one at a time, and posts each verdict to the sweep. Started by sweep.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setMachineEngine } from '../engine/actor.js';
import { loadScenario } from './load.js';
import { sweepOne, type SweepWorkerMessage, type SweepWorkerTask } from './sweep.js';

const task = workerData as SweepWorkerTask;
const port = parentPort;
setMachineEngine(task.engine);
if (port !== null) {
  // The parent loaded these files a moment ago; they load here again because a Scenario holds
  // protocol objects that cannot cross a thread.
  const scenarios = task.files.map((file) => loadScenario(file));
  for (const [index, seed] of task.runs) {
    const scenario = scenarios[index];
    try {
      if (scenario === undefined) throw new Error(`no scenario #${index}`);
      port.postMessage({ kind: 'run', run: sweepOne(scenario, index, seed) } satisfies SweepWorkerMessage);
    } catch (error) {
      port.postMessage({ kind: 'error', index, seed, message: String(error) } satisfies SweepWorkerMessage);
    }
  }
  port.postMessage({ kind: 'done' } satisfies SweepWorkerMessage);
}
