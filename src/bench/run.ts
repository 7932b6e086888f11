/**
 * `npm run bench`: fedsim's simulator measured beside a bare heap event loop in the same process,
 * so that figures compare as ratios on a noisy machine. Each figure is the median of several
 * repetitions. Results go to reports/bench/ as JSON and a Markdown table.
 *
 * Wall clock is allowed here (benchmarks only); nothing here runs inside a simulation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { echo } from '../protocols/echo/index.js';
import { World } from '../sim/network.js';
import { rank, Simulator } from '../sim/simulator.js';
import { TraceRecorder } from '../trace/recorder.js';
import { benchViewer, chromiumAvailable } from './viewer.js';

export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Against the bare event loop's events per second, where comparable. */
  readonly ratioToBare?: number;
  readonly note: string;
}

const repetitions = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function timed(fn: () => number): { perSecond: number; count: number } {
  const started = performance.now();
  const count = fn();
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: count / seconds, count };
}

/**
 * The baseline: the smallest heap event loop that does the same job as the simulator's core
 * (closures ordered by time then sequence number), with each event scheduling the next.
 */
export function bareEventLoop(events: number): number {
  interface Entry {
    t: number;
    seq: number;
    fn: () => void;
  }
  const heap: Entry[] = [];
  let seq = 0;
  let now = 0;
  let ran = 0;
  const before = (a: Entry, b: Entry) => a.t < b.t || (a.t === b.t && a.seq < b.seq);
  const push = (t: number, fn: () => void) => {
    const entry = { t, seq: seq++, fn };
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry;
      if (!before(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  };
  const pop = (): Entry | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    while (true) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const c = r < heap.length && before(heap[r] as Entry, heap[l] as Entry) ? r : l;
      if (!before(heap[c] as Entry, last)) break;
      heap[i] = heap[c] as Entry;
      i = c;
    }
    heap[i] = last;
    return top;
  };
  const tick = (k: number) => () => {
    ran += 1;
    if (ran + 1000 <= events) push(now + 1 + ((k * 7) % 13), tick(k + 1));
  };
  for (let k = 0; k < 1000; k++) push(k % 17, tick(k));
  while (true) {
    const entry = pop();
    if (!entry) break;
    now = entry.t;
    entry.fn();
  }
  return ran;
}

/** The simulator's own queue and loop, with the same workload as the bare loop. */
export function simulatorLoop(events: number): number {
  const sim = new Simulator();
  let ran = 0;
  const tick = (k: number) => () => {
    ran += 1;
    if (ran + 1000 <= events) sim.after(1 + ((k * 7) % 13), rank.timer, tick(k + 1));
  };
  for (let k = 0; k < 1000; k++) sim.at(k % 17, rank.timer, tick(k));
  sim.runUntilQuiet({ timeMsMax: Number.MAX_SAFE_INTEGER, eventsMax: events * 2 });
  return ran;
}

/**
 * A whole echo federation: `clients` nodes each send `messages` bodies to one server over stream
 * connections, through the simulated network, with xstate machines on both sides. Returns the
 * trace events (sends, receives, state changes, deliveries...) and the messages delivered.
 */
export function echoFederation(
  clients: number,
  messages: number,
  recording: boolean,
): { events: number; delivered: number } {
  const sim = new Simulator();
  const nodes = [{ id: 'server.test', host: 'server.test', protocol: 'echo' }];
  for (let c = 0; c < clients; c++) nodes.push({ id: `c${c}.test`, host: `c${c}.test`, protocol: 'echo' });
  const trace = new TraceRecorder(
    { format: 'fedsim-trace', version: 1, scenario: 'bench/echo', seed: 1, protocols: ['echo'], nodes },
    { keepLines: recording, keepEvents: recording },
  );
  const world = new World(sim, 1, trace, { delayMsMin: 1, delayMsMax: 10 });
  const config = { port: 7, idleMs: 60_000, retryMs: 100, attemptsMax: 3 };
  for (const node of nodes) world.addNode({ id: node.id, protocol: echo, config });
  world.startAll();
  for (let m = 0; m < messages; m++) {
    sim.at(m * 5, rank.step, () => {
      for (let c = 0; c < clients; c++) world.command(`c${c}.test`, { type: 'send', to: 'server.test', body: `m${m}` });
    });
  }
  sim.runUntilQuiet({ timeMsMax: 10_000_000, eventsMax: 100_000_000 });
  return { events: trace.count, delivered: world.deliveries.length };
}

export interface BenchOptions {
  readonly scale: number;
  readonly outDir: string;
  readonly log?: (line: string) => void;
}

export async function runBench(options: BenchOptions): Promise<BenchFigure[]> {
  const log = options.log ?? console.log;
  const loopEvents = 1_000_000 * options.scale;
  const clients = 50;
  const messages = 40 * options.scale;

  // Warm up the JIT on every path before measuring.
  bareEventLoop(100_000);
  simulatorLoop(100_000);
  echoFederation(5, 5, true);

  const bare: number[] = [];
  const simLoop: number[] = [];
  const fedEvents: number[] = [];
  const fedMessages: number[] = [];
  const fedEventsOff: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    bare.push(timed(() => bareEventLoop(loopEvents)).perSecond);
    simLoop.push(timed(() => simulatorLoop(loopEvents)).perSecond);
    let delivered = 0;
    const on = timed(() => {
      const result = echoFederation(clients, messages, true);
      delivered = result.delivered;
      return result.events;
    });
    fedEvents.push(on.perSecond);
    fedMessages.push((delivered / on.count) * on.perSecond);
    fedEventsOff.push(timed(() => echoFederation(clients, messages, false).events).perSecond);
  }
  const bareMedian = median(bare);
  const figures: BenchFigure[] = [
    {
      name: 'bare heap event loop',
      value: bareMedian,
      unit: 'events/s',
      ratioToBare: 1,
      note: `${loopEvents} closure events`,
    },
    {
      name: 'simulator event loop',
      value: median(simLoop),
      unit: 'events/s',
      ratioToBare: median(simLoop) / bareMedian,
      note: "same workload on fedsim's EventQueue + Simulator",
    },
    {
      name: 'echo federation, trace recorded',
      value: median(fedEvents),
      unit: 'events/s',
      ratioToBare: median(fedEvents) / bareMedian,
      note: `${clients} clients x ${messages} messages over streams, xstate on both sides`,
    },
    {
      name: 'echo federation, trace off',
      value: median(fedEventsOff),
      unit: 'events/s',
      ratioToBare: median(fedEventsOff) / bareMedian,
      note: 'same run without keeping trace lines or events',
    },
    {
      name: 'echo federation, messages delivered',
      value: median(fedMessages),
      unit: 'messages/s',
      ratioToBare: median(fedMessages) / bareMedian,
      note: 'end-to-end echo round trips (ECHO delivered + REPLY delivered) per wall second',
    },
  ];

  if (chromiumAvailable()) {
    const viewer = await benchViewer();
    figures.push(
      {
        name: 'viewer first render',
        value: viewer.firstRenderMs,
        unit: 'ms',
        note: `${viewer.events} events, 12 lanes, headless Chromium`,
      },
      {
        name: 'viewer pan frame',
        value: viewer.panFrameMs,
        unit: 'ms',
        note: 'mean frame while panning the 100,000-event trace',
      },
      {
        name: 'viewer fitted frame',
        value: viewer.overviewFrameMs,
        unit: 'ms',
        note: 'one frame with the whole trace on screen',
      },
    );
  } else {
    log('viewer: skipped (no /usr/bin/chromium; apt-get install chromium)');
  }

  const rows = figures.map(
    (f) =>
      `| ${f.name} | ${f.unit === 'ms' ? f.value.toFixed(1) : Math.round(f.value).toLocaleString('en-US')} ${f.unit} | ${f.ratioToBare === undefined ? '' : f.ratioToBare.toFixed(3)} | ${f.note} |`,
  );
  const table = [
    '| measurement | median of ' + repetitions + ' | ratio to bare loop | note |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
  log(table);
  mkdirSync(options.outDir, { recursive: true });
  const payload = { node: process.version, repetitions, figures };
  writeFileSync(join(options.outDir, 'simulator.json'), JSON.stringify(payload, null, 2) + '\n');
  writeFileSync(
    join(options.outDir, 'simulator.md'),
    `# Simulator benchmark\n\nNode ${process.version}, median of ${repetitions} runs.\n\n${table}\n`,
  );
  log(`figures written to ${join(options.outDir, 'simulator.json')} and simulator.md`);
  return figures;
}
