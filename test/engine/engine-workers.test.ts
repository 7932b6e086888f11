// Goal: a fuzz campaign across worker threads runs on the engine it was given: the campaign hands
// the engine to each worker with its seeds, and the worker runs them on it (a thread shares no
// module state with the campaign, so nothing but the task can carry the choice).
// Method: node:worker_threads replaced by a fake whose Worker records its task and reports done at
// once; then the real worker module runs in this thread on a recorded task, with xstate's
// `createActor` wrapped in a counting spy (the compiled engine never calls it).
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { runCampaign } from '../../src/fuzz/campaign.js';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import type { WorkerMessage, WorkerTask } from '../../src/fuzz/worker.js';

const threads = vi.hoisted(() => ({
  tasks: [] as unknown[],
  workerData: undefined as unknown,
  posted: [] as unknown[],
}));

vi.mock('node:worker_threads', async () => {
  const { EventEmitter: Emitter } = await import('node:events');
  class Worker extends Emitter {
    constructor(_entry: URL, options: { workerData: unknown }) {
      super();
      threads.tasks.push(options.workerData);
      queueMicrotask(() => {
        this.emit('message', { kind: 'done' });
        this.emit('exit', 0);
      });
    }
    terminate(): Promise<number> {
      return Promise.resolve(0);
    }
  }
  return {
    Worker,
    get workerData() {
      return threads.workerData;
    },
    parentPort: { postMessage: (message: unknown) => threads.posted.push(message) },
  };
});

vi.mock('xstate', async (importOriginal) => {
  const actual = await importOriginal<typeof import('xstate')>();
  return { ...actual, createActor: vi.fn(actual.createActor) };
});

const created = vi.mocked(createActor);

beforeEach(() => {
  threads.tasks.length = 0;
  threads.posted.length = 0;
  created.mockClear();
  vi.resetModules();
});

async function runWorker(task: WorkerTask): Promise<WorkerMessage[]> {
  threads.workerData = task;
  await import('../../src/fuzz/worker.js');
  return threads.posted as WorkerMessage[];
}

describe('engine choice: fuzz worker threads', () => {
  it.each(['xstate', 'compiled'] as const)(
    'a campaign on %s hands it to its workers, which run on it',
    async (engine) => {
      const profile = fuzzProfileNamed('solec')!;
      await runCampaign(profile, { seeds: [1, 2], workers: 2, run: { engine } });
      const tasks = threads.tasks as WorkerTask[];
      expect(tasks.map((task) => task.options.engine)).toEqual([engine, engine]);
      const posted = await runWorker(tasks[0]!);
      expect(posted.at(-1)).toEqual({ kind: 'done' });
      expect(posted.filter((message) => message.kind === 'result')).toHaveLength(tasks[0]!.seeds.length);
      if (engine === 'xstate') expect(created).toHaveBeenCalled();
      else expect(created).not.toHaveBeenCalled();
    },
  );
});
