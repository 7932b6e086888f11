/**
 * Peak memory per node, measured in a child process (`node --expose-gc`) so that the bench's own
 * heap does not count: `nodes` F140 nodes (one user each, friends with the next node's user, so
 * every node runs a peer machine), started and run until quiet with announce off, then the heap
 * after a full GC. The child prints one JSON line.
 *
 * Wall clock is not read here; run.ts times the child.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { f140, type F140Config } from '../protocols/f140/index.js';
import { World } from '../sim/world.js';
import { Simulator } from '../sim/simulator.js';
import { TraceRecorder } from '../trace/recorder.js';

export interface MemoryFigure {
  readonly nodes: number;
  readonly heapBytes: number;
  readonly rssBytes: number;
  readonly baselineHeapBytes: number;
  readonly baselineRssBytes: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Runs in the child. */
export function measureNodes(count: number): MemoryFigure {
  gc();
  const baseline = process.memoryUsage();
  const sim = new Simulator();
  const trace = new TraceRecorder(
    { format: 'fedsim-trace', version: 1, scenario: 'bench/memory', seed: 1, protocols: ['f140'], nodes: [] },
    { keepLines: false, keepEvents: false, hash: false },
  );
  const world = new World(sim, 1, trace);
  const name = (i: number) => `n${i}.test`;
  for (let i = 0; i < count; i++) {
    const next = name((i + 1) % count);
    const config: F140Config = f140.configSchema.parse({
      announce: false,
      users: [
        {
          name: `u@${name(i)}`,
          friends: [
            {
              user: `u@${next}`,
              host: next,
              outbound: { challenge: 'c', response: 'r' },
              inbound: { challenge: 'c', response: 'r' },
            },
          ],
        },
      ],
    });
    world.addNode({ id: name(i), protocol: f140, config });
  }
  world.startAll();
  sim.runUntilQuiet({ timeMsMax: 60_000, eventsMax: 100 * count + 1_000 });
  gc();
  const after = process.memoryUsage();
  // Keep the world reachable until after the measurement.
  if (world.nodeIds().length !== count) throw new Error('nodes missing');
  return {
    nodes: count,
    heapBytes: after.heapUsed,
    rssBytes: after.rss,
    baselineHeapBytes: baseline.heapUsed,
    baselineRssBytes: baseline.rss,
  };
}

/** Runs `measureNodes(count)` in a fresh `node --expose-gc` and returns its figure. */
export function memoryInChild(count: number): MemoryFigure {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(
    process.execPath,
    // From the sources this module is TypeScript and needs tsx; from the command's build it is not.
    [
      '--expose-gc',
      '--max-old-space-size=4096',
      ...(self.endsWith('.ts') ? ['--import', 'tsx'] : []),
      self,
      String(count),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as MemoryFigure;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(measureNodes(Number(process.argv[2] ?? 100_000))));
}
