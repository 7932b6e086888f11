/**
 * `npm run bench`: fedsim's simulator measured beside a bare heap event loop in the same process,
 * so that figures compare as ratios on a noisy machine. Each figure is the median of several
 * repetitions. Results go to reports/bench/ as JSON and a Markdown table.
 *
 * Wall clock is allowed here (benchmarks only); nothing here runs inside a simulation.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  compiledEngine,
  createEngineActor,
  engineOf,
  xstateEngine,
  type Engine,
  type EngineKind,
} from '../engine/engine.js';
import { echo } from '../protocols/echo/index.js';
import { linkMachine } from '../protocols/echo/machine.js';
import { loadScenario, parseScenario, type Scenario } from '../scenario/load.js';
import { runScenario } from '../scenario/run.js';
import { solecFederation } from './federation.js';
import { campaignFuzzRate, fuzzCasesGoal, steadyFuzzRate } from './fuzz.js';
import { processLookahead } from '../sim/world.js';
import { externalNodes, processNodeSteps } from './process-nodes.js';
import { echoCommand, recording, replay, type Recording } from './process-floor.js';
import { protocolThroughput } from './protocols.js';
import { memoryInChild } from './memory.js';
import { federationInChild, heapLimitMiB, perNodeBytes, scaleProtocols, type ScaleProtocol } from './scale.js';
import { World } from '../sim/world.js';
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

/** Repetitions of the quick figures; the heavy ones (federations, memory) run `heavyRepetitions`. */
const repetitions = 5;
const heavyRepetitions = 3;

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
  engine: Engine = compiledEngine,
): { events: number; delivered: number } {
  // Recording off: nothing kept, nothing hashed, so the world skips building event bodies.
  const sim = new Simulator();
  const nodes = [{ id: 'server.test', host: 'server.test', protocol: 'echo' }];
  for (let c = 0; c < clients; c++) nodes.push({ id: `c${c}.test`, host: `c${c}.test`, protocol: 'echo' });
  const trace = new TraceRecorder(
    { format: 'fedsim-trace', version: 1, scenario: 'bench/echo', seed: 1, protocols: ['echo'], nodes },
    { keepLines: recording, keepEvents: recording, hash: recording },
  );
  const world = new World(sim, 1, trace, { delayMsMin: 1, delayMsMax: 10 }, engine);
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

/** The sections `--only` can pick. */
export const benchSections = ['viewer', 'fuzz', 'end-to-end', 'scale', 'process'] as const;
export type BenchSection = (typeof benchSections)[number];

export interface BenchOptions {
  readonly scale: number;
  readonly outDir: string;
  readonly log?: (line: string) => void;
  /** Skip the headless-Chromium viewer figure. */
  readonly skipViewer?: boolean;
  /**
   * Measure only these rows (`viewer`: the headless-Chromium viewer rows; `fuzz`: fuzz cases per
   * second per core; `end-to-end`: each protocol end to end with its ceiling, beside the loops
   * the ceilings are measured against). A partial run prints its table and writes nothing, so
   * reports/bench keeps the figures of the last whole run.
   */
  readonly only?: BenchSection;
  /** Page loads the viewer rows take the median of. @defaultValue 3 */
  readonly viewerLoads?: number;
  /**
   * Node counts of the one-hour federation rows (`scale` section), each run once in a child
   * process of its own. @defaultValue defaultFederationNodes
   */
  readonly federationNodes?: readonly number[];
  /** Protocols of the one-hour federation rows. @defaultValue scaleProtocols */
  readonly federationProtocols?: readonly ScaleProtocol[];
}

/** The one-hour federation's sizes in a default bench; a million (minutes, up to 12 GiB) is asked for by name. */
export const defaultFederationNodes: readonly number[] = [1_000, 10_000, 100_000];

/** A three-node echo scenario with a partition, a heal, a crash and a restart: the fuzz figure's case. */
const fuzzCase = `
name: bench/fuzz-3-nodes
protocol: echo
seed: 1
nodes:
  a.test: { config: { idleMs: 30000 } }
  b.test: { config: { idleMs: 30000 } }
  c.test: { config: { idleMs: 30000 } }
network: { delayMsMin: 1, delayMsMax: 40, resetTimeoutMs: 3000 }
steps:
  - { atMs: 0, do: command, node: a.test, command: { type: send, to: b.test, body: one } }
  - { atMs: 10, do: command, node: c.test, command: { type: send, to: a.test, body: two } }
  - { atMs: 50, do: partition, between: [a.test, b.test] }
  - { atMs: 60, do: command, node: a.test, command: { type: send, to: b.test, body: three } }
  - { atMs: 200, do: crash, node: c.test }
  - { atMs: 900, do: heal, between: [a.test, b.test] }
  - { atMs: 1000, do: restart, node: c.test }
  - { atMs: 1100, do: command, node: b.test, command: { type: send, to: c.test, body: four } }
expect:
  - always: noDuplicateDelivery
  - { byMs: 5000, delivered: { to: echo@b.test, bodies: [one], exactly: false } }
limits: { timeMsMax: 60000, eventsMax: 10000 }
`;

/**
 * One actor's sends: the echo link machine in `open`, where each `wire.reply` re-enters the
 * state (exit and entry actions, the idle timer cancelled and scheduled again, an
 * `enqueueActions` body run). Returns the sends made.
 */
export function actorSends(engine: EngineKind, sends: number): number {
  const timers = new Set<number>();
  let next = 0;
  const clock = {
    setTimeout: () => {
      timers.add(++next);
      return next;
    },
    clearTimeout: (handle: unknown) => void timers.delete(handle as number),
  };
  const input = { conn: 'c', target: 't', port: 7, idleMs: 1_000, retryMs: 10, attemptsMax: 3 };
  const actor = createEngineActor(engineOf(engine), linkMachine, { clock, input });
  actor.start();
  actor.send({ type: 'conn.opened' });
  for (let i = 0; i < sends; i++) actor.send({ type: 'wire.reply' });
  actor.stop();
  return sends;
}

/** The echo federation's trace events and deliveries per wall second. */
function echoRates(
  clients: number,
  messages: number,
  recording: boolean,
  engine: Engine,
): { events: number; messages: number } {
  let delivered = 0;
  const run = timed(() => {
    const result = echoFederation(clients, messages, recording, engine);
    delivered = result.delivered;
    return result.events;
  });
  return { events: run.perSecond, messages: (delivered / run.count) * run.perSecond };
}

/** Every scenario under `scenarios/<protocol>/`, loaded once. */
function scenariosOf(protocol: string): Scenario[] {
  const dir = join('scenarios', protocol);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => loadScenario(join(dir, file)));
}

interface Series {
  readonly name: string;
  readonly unit: string;
  readonly note: string;
  readonly values: number[];
  /** Compared with the bare loop's events per second (a rate); undefined for times and sizes. */
  readonly rate: boolean;
}

function format(value: number, unit: string): string {
  if (unit === 'ms' || unit === 's' || unit === 'load') return value.toFixed(1);
  if (unit === 'of the ceiling' || unit === 'of the floor') return value.toFixed(3);
  if (unit === 'MiB' || unit === 'KiB') return value.toFixed(2);
  return Math.round(value).toLocaleString('en-US');
}

/** The viewer rows: the 100,000-event synthetic trace in headless Chromium (viewer.ts). */
async function viewerFigures(loads: number, log: (line: string) => void): Promise<BenchFigure[]> {
  if (!chromiumAvailable()) {
    log('viewer: skipped (no /usr/bin/chromium; apt-get install chromium)');
    return [];
  }
  const viewer = await benchViewer(loads);
  const load = `load average ${viewer.loadAverage[0].toFixed(1)}–${viewer.loadAverage[1].toFixed(1)} on ${cpus().length} cores`;
  const p95 = (figure: { p95: number }): string => `p95 ${figure.p95.toFixed(1)} ms`;
  const steps = Object.entries(viewer.steps)
    .map(([step, at]) => `${step} ${at.toFixed(0)}`)
    .join(', ');
  log(`viewer: ${load}; load steps (ms from navigation start, medians): ${steps}`);
  return [
    {
      name: 'viewer whole trace loaded',
      value: viewer.loaded.median,
      unit: 'ms',
      note: `${viewer.events} events, 12 lanes, headless Chromium: fetched, parsed and modelled in the loader worker, laid out and drawn; median of ${loads} loads, slowest ${viewer.loaded.p95.toFixed(0)} ms; ${load} (goal < 1000 ms)`,
    },
    {
      name: 'viewer first screen',
      value: viewer.firstScreen.median,
      unit: 'ms',
      note: 'the same loads: the first frame drawn is the whole trace’s (no partial screen before it)',
    },
    {
      name: 'viewer pan frame',
      value: viewer.pan.median,
      unit: 'ms',
      note: `median frame while panning the 100,000-event trace, ${p95(viewer.pan)} (goal < 50 ms)`,
    },
    {
      name: 'viewer zoom frame',
      value: viewer.zoom.median,
      unit: 'ms',
      note: `median frame while zooming out to the whole trace and back, ${p95(viewer.zoom)} (goal < 50 ms)`,
    },
    {
      name: 'viewer fitted frame',
      value: viewer.fitted.median,
      unit: 'ms',
      note: `median frame with the whole trace on screen, drawn and rasterized (a fit drawn again reuses its kept layer of links), ${p95(viewer.fitted)} (goal < 50 ms)`,
    },
    {
      name: 'viewer first fitted frame',
      value: viewer.firstFit.median,
      unit: 'ms',
      note: `the first fit of each load, pressed once the page is idle (its links were rasterized in idle time ${viewer.fitReadyAfter.median.toFixed(0)} ms after the first screen, taking ${viewer.fitPrepare.median.toFixed(0)} ms in ${viewer.fitPrepareSlices.median.toFixed(0)} slices, the longest ${viewer.fitPrepareSlice.median.toFixed(0)} ms): slowest ${viewer.firstFit.p95.toFixed(1)} ms, main-thread CPU ${viewer.firstFitCpu.median.toFixed(1)} ms (goal < 50 ms)`,
    },
    {
      name: 'viewer fit from scratch',
      value: viewer.scratchFit.median,
      unit: 'ms',
      note: `a fit with no kept layer: every link rasterized in the frame, ${p95(viewer.scratchFit)}, main-thread CPU ${viewer.scratchFitCpu.median.toFixed(1)} ms (p95 ${viewer.scratchFitCpu.p95.toFixed(1)}) (goal < 50 ms)`,
    },
  ];
}

function figureTable(figures: readonly BenchFigure[]): string {
  const rows = figures.map(
    (f) =>
      `| ${f.name} | ${format(f.value, f.unit)} ${f.unit} | ${f.ratioToBare === undefined ? '' : f.ratioToBare.toFixed(4)} | ${f.note} |`,
  );
  return ['| measurement | median | ratio to bare loop | note |', '|---|---|---|---|', ...rows].join('\n');
}

interface BenchContext {
  readonly scale: number;
  readonly loopEvents: number;
  readonly clients: number;
  readonly messages: number;
  readonly federationMessages: number;
  readonly protocolMessages: number;
  readonly processNodeMessages: number;
  readonly endToEnd: readonly string[];
  readonly hourMessagesPerClientMinute: number;
  readonly fuzzCases: number;
  /** Fuzz rows: cases run before timing, cases timed, and the runs of the whole campaign. */
  readonly fuzzWarmUp: number;
  readonly fuzzMeasured: number;
  readonly fuzzCampaignRuns: number;
  readonly suites: ReadonlyMap<string, ReturnType<typeof scenariosOf>>;
  readonly poe: ReturnType<typeof loadScenario>;
  readonly fuzz: ReturnType<typeof parseScenario>;
  readonly series: Map<string, Series>;
  readonly add: (name: string, unit: string, note: string, value: number, rate?: boolean) => void;
  /** The simulator loop's median events/s, once the quick repetitions are done. */
  loopRate: number;
}

function seconds(fn: () => void): number {
  const started = performance.now();
  fn();
  return (performance.now() - started) / 1000;
}

function bare({ add, loopEvents }: BenchContext): void {
  add(
    'bare heap event loop',
    'events/s',
    `${loopEvents} closure events`,
    timed(() => bareEventLoop(loopEvents)).perSecond,
  );
}

/** Warm up the JIT on every path before measuring. */
function warmUp({ endToEnd, suites }: BenchContext): void {
  bareEventLoop(100_000);
  simulatorLoop(100_000);
  echoFederation(5, 5, true);
  solecFederation({ nodes: 40, messages: 400, spanMs: 2_000 });
  actorSends('xstate', 20_000);
  actorSends('compiled', 20_000);
  for (const protocol of endToEnd) protocolThroughput(protocol, 200);
  for (const kind of Object.keys(externalNodes)) processNodeSteps(kind, 50);
  echoFederation(5, 5, false, xstateEngine);
  for (const suite of suites.values()) for (const scenario of suite) runScenario(scenario);
}

/** The loops, actor sends and the echo federation. */
function quickFigures({ add, scale, loopEvents, clients, messages }: BenchContext): void {
  add(
    'simulator event loop',
    'events/s',
    "same workload on fedsim's EventQueue + Simulator",
    timed(() => simulatorLoop(loopEvents)).perSecond,
  );
  const sends = 50_000 * scale;
  add(
    'actor sends, xstate interpreter',
    'sends/s',
    `${sends} sends to one echo link actor (state re-entered, timer cancelled and set, enqueueActions)`,
    timed(() => actorSends('xstate', sends)).perSecond,
  );
  add(
    'actor sends, compiled engine',
    'sends/s',
    'the same sends, the same machine definition, on the compiled engine',
    timed(() => actorSends('compiled', sends)).perSecond,
  );
  const on = echoRates(clients, messages, true, compiledEngine);
  add(
    'echo federation, trace recorded',
    'events/s',
    `${clients} clients x ${messages} messages over streams`,
    on.events,
  );
  const off = echoRates(clients, messages, false, compiledEngine);
  add('echo federation, trace off', 'events/s', 'same run, recording off (events counted only)', off.events);
  add(
    'echo federation, messages delivered, trace off',
    'messages/s',
    'end-to-end deliveries per wall second, recording off',
    off.messages,
  );
  add(
    'echo federation, messages delivered, trace off, xstate interpreter',
    'messages/s',
    "the same run with every machine on xstate's interpreter",
    echoRates(clients, messages, false, xstateEngine).messages,
  );
  add(
    'echo federation, messages delivered',
    'messages/s',
    'end-to-end deliveries per wall second, trace recorded',
    on.messages,
  );
}

/** The bundled scenarios, Poe/Lenore and the fuzz cases. */
function scenarioFigures({ add, suites, poe, fuzz, fuzzCases }: BenchContext, r: number): void {
  for (const [name, suite] of suites) {
    let count = 0;
    const wall = seconds(() => {
      for (const scenario of suite)
        count += runScenario(scenario, { recorder: { keepLines: false } }).world.deliveries.length;
    });
    add(
      `${name} scenarios, messages delivered`,
      'messages/s',
      `all ${suite.length} bundled scenarios, checkers on, lines not kept; includes setup`,
      count / wall,
    );
  }

  let poeVirtualMs = 0;
  const poeWall = seconds(() => {
    for (let k = 0; k < 20; k++) poeVirtualMs += runScenario(poe).outcome.atMs;
  });
  add(
    'Poe/Lenore scenario, virtual time',
    'virtual s per wall s',
    'fmtp/poe-lenore with full recording, run 20 times',
    poeVirtualMs / 1000 / poeWall,
  );

  const echoCase = echoFuzzCases(fuzz, r * fuzzCases + 1, fuzzCases);
  add(
    'fuzz cases, 3 nodes with faults',
    'cases/s',
    `${fuzzCases} seeds of a 3-node echo case (partition, heal, crash, restart), checkers on; ${echoCase.passed} passed`,
    echoCase.perSecond,
  );
}

/** The 3-node echo case (`fuzzCase`) run for `count` seeds from `seed`: cases per second. */
function echoFuzzCases(
  fuzz: ReturnType<typeof parseScenario>,
  seed: number,
  count: number,
): { perSecond: number; passed: number } {
  let passed = 0;
  const wall = seconds(() => {
    for (let k = 0; k < count; k++)
      if (runScenario(fuzz, { seed: seed + k, recorder: { keepLines: false } }).verdict === 'pass') passed += 1;
  });
  return { perSecond: count / wall, passed };
}

/**
 * Fuzz cases per second per core for each protocol on its default profile (src/bench/fuzz.ts):
 * steady state in this process after a warm-up, and a whole `fedsim fuzz --workers 1` campaign
 * as a child process; the bare 3-node echo case and the load average of the same repetition beside.
 */
function fuzzFigures({ add, endToEnd, fuzz, fuzzWarmUp, fuzzMeasured, fuzzCampaignRuns }: BenchContext): void {
  const goal = `goal ${fuzzCasesGoal.toLocaleString('en-US')} cases/s per core`;
  for (const protocol of endToEnd) {
    const steady = steadyFuzzRate(protocol, fuzzWarmUp, fuzzMeasured);
    add(
      `fuzz ${protocol}, steady state`,
      'cases/s',
      `default profile, one core, in-process: ${fuzzWarmUp} cases of warm-up, then ${fuzzMeasured} timed (${steady.passed} passed); ${goal}`,
      steady.casesPerSecond,
    );
    const campaign = campaignFuzzRate(protocol, fuzzCampaignRuns);
    add(
      `fuzz ${protocol}, whole campaign`,
      'cases/s',
      `\`fedsim fuzz ${protocol} --runs ${fuzzCampaignRuns} --workers 1\` as a child process, spawn to exit (node start-up, build check, module loading included; exit ${campaign.status}); ${goal}`,
      campaign.casesPerSecond,
    );
  }
  const echoCase = echoFuzzCases(fuzz, 1, fuzzMeasured);
  add(
    'fuzz, 3-node echo case beside them',
    'cases/s',
    `the bench's 3-node echo case (partition, heal, crash, restart), ${fuzzMeasured} seeds, measured in the same repetition`,
    echoCase.perSecond,
  );
  add(
    'load average during the fuzz rows',
    'load',
    '1-minute load average at the end of the repetition',
    loadavg()[0] ?? 0,
    false,
  );
}

/** The SOLEC 1,000-node federation. */
function solecFigures({ add, federationMessages }: BenchContext, r: number): void {
  let result: ReturnType<typeof solecFederation> | undefined;
  const wall = seconds(() => {
    result = solecFederation({
      nodes: 1_000,
      messages: federationMessages,
      spanMs: 60_000,
      recorder: { keepLines: false, keepEvents: false, hash: false },
    });
  });
  const delivered = result?.delivered ?? 0;
  add(
    'SOLEC 1,000-node federation, messages delivered',
    'messages/s',
    `${delivered} of ${federationMessages} messages (1,000,000 at --scale 200), recording off; build and key derivation included`,
    delivered / wall,
  );
  add(
    'SOLEC 1,000-node federation, run phase',
    'messages/s',
    'the same, counting only the run (setup excluded)',
    delivered / (result?.runSeconds ?? wall),
  );
  if (r === 0) {
    // The same federation on xstate's interpreter, once: what the compiled engine gains here.
    const viaXstate = solecFederation({
      nodes: 1_000,
      messages: federationMessages,
      spanMs: 60_000,
      recorder: { keepLines: false, keepEvents: false, hash: false },
      engine: xstateEngine,
    });
    add(
      'SOLEC 1,000-node federation, run phase, xstate interpreter',
      'messages/s',
      "the same run with every machine on xstate's interpreter",
      viaXstate.delivered / viaXstate.runSeconds,
    );
  }
}

/**
 * Each protocol end to end, and its ceiling with free nodes. The xstate-interpreter rows are
 * measured in the first repetition only, and not at all when `withXstate` is false.
 */
function endToEndFigures(
  { add, endToEnd, protocolMessages, loopRate }: BenchContext,
  r: number,
  withXstate = true,
): void {
  for (const protocol of endToEnd) {
    const run = protocolThroughput(protocol, protocolMessages);
    add(
      `${protocol} end to end, messages delivered`,
      'messages/s',
      `its fuzz topology (${run.nodes} nodes), ${run.delivered} of ${run.sent} messages, one every 5 ms, no faults; nothing kept or hashed (the built-in throw check reads only check events, so no other event is built); setup measured apart and excluded`,
      run.delivered / run.runSeconds,
    );
    add(
      `${protocol} end to end, trace events`,
      'events/s',
      `the same run: ${(run.events / Math.max(run.delivered, 1)).toFixed(1)} trace events and ${(run.simulatorEvents / Math.max(run.delivered, 1)).toFixed(1)} simulator events per message`,
      run.events / run.runSeconds,
    );
    // What the simulator alone allows: each message needs this many network arrivals, timers and steps
    // (fewer would be a different trace), each at least the cost of a simulator loop event.
    const simulatorEventsPerMessage = run.simulatorEvents / Math.max(run.delivered, 1);
    add(
      `${protocol} end to end, ceiling with free nodes`,
      'messages/s',
      `the simulator loop's median events/s over the ${simulatorEventsPerMessage.toFixed(1)} simulator events a message needs: the rate if nodes, codecs, links and counting cost nothing`,
      loopRate / Math.max(simulatorEventsPerMessage, 1e-9),
    );
    add(
      `${protocol} end to end, share of its ceiling`,
      'of the ceiling',
      'messages delivered per second over the ceiling with free nodes above (goal: at least 0.10)',
      run.delivered / run.runSeconds / (loopRate / Math.max(simulatorEventsPerMessage, 1e-9)),
      false,
    );
    if (r === 0 && withXstate) {
      const viaXstate = protocolThroughput(protocol, protocolMessages, xstateEngine);
      add(
        `${protocol} end to end, messages delivered, xstate interpreter`,
        'messages/s',
        "the same run with every machine on xstate's interpreter",
        viaXstate.delivered / viaXstate.runSeconds,
      );
    }
  }
}

/**
 * F140 nodes as external processes (examples/), beside the built-in node on the same workload:
 * the whole run (the children's start included), the steady exchange after the last start, and
 * its CPU per step (this process's, and the children's from /proc). Then the floor of the same
 * run (process-floor.ts): the JavaScript node's run with the lookahead off is recorded and
 * replayed to fresh children with nothing simulated, and to children that only answer; the
 * JavaScript node's figure is also given as a share of that floor, from the same repetition.
 */
function processNodeFigures({ add, processNodeMessages }: BenchContext): void {
  // The JavaScript node once more with the world's lookahead off (each step one exchange after
  // another, src/sim/world.ts), beside the default: what giving inputs ahead gains.
  let javascriptRate = 0;
  let recorded: Recording | undefined;
  for (const [kind, lookahead] of [
    ...Object.keys(externalNodes).map((each) => [each, true] as const),
    ['javascript', false] as const,
  ]) {
    const was = processLookahead.enabled;
    processLookahead.enabled = lookahead;
    let run: ReturnType<typeof processNodeSteps> | undefined;
    try {
      if (kind === 'javascript' && !lookahead)
        recorded = recording(() => (run = processNodeSteps(kind, processNodeMessages)));
      else run = processNodeSteps(kind, processNodeMessages);
    } finally {
      processLookahead.enabled = was;
    }
    if (run === undefined) throw new Error(`no run of the ${kind} node`);
    const builtIn = kind === 'in-process';
    const who = builtIn ? 'built-in node in-process' : `external ${kind} node${lookahead ? '' : ', lookahead off'}`;
    const where = builtIn ? 'built in' : `a child process (examples/f140-${kind === 'javascript' ? 'js' : 'py'})`;
    if (kind === 'javascript' && lookahead) javascriptRate = run.steadySteps / run.steadySeconds;
    add(
      `f140 node steps, ${who}`,
      'steps/s',
      `${run.steps} node steps (inputs handled, timers fired) for ${run.delivered} messages on F140's fuzz topology, every node ${where}; the ${run.starts} process starts included`,
      run.steps / run.seconds,
    );
    add(
      `f140 node steps after start, ${who}`,
      'steps/s',
      `the same run from the last node's start on: ${run.steadySteps} steps, the step exchange alone${builtIn ? '' : `; ${run.stepsAhead} steps of the run given ahead of their turn`}${kind === 'javascript' && lookahead ? ' (goal: at least 10,000)' : ''}`,
      run.steadySteps / run.steadySeconds,
    );
    if (builtIn)
      add(
        `f140 node step CPU after start, ${who}`,
        'µs/step',
        'CPU time (user + system) of the same steps, in this process',
        (run.steadyHostCpuSeconds * 1e6) / Math.max(1, run.steadySteps),
        false,
      );
    else stepCpuFigure(add, who, run.steadyHostCpuSeconds, run.steadyChildCpuSeconds, run.steadySteps);
  }
  const javascript = externalNodes['javascript'];
  if (recorded === undefined || javascript === undefined) return;
  const floor = floorFigures(
    add,
    recorded,
    'floor: external javascript node, nothing simulated',
    javascript.command,
    "the lookahead-off run's lines replayed to fresh children of examples/f140-js through the same channel, one step after another, each answer read to its end and dropped: the child's work and the exchange, no simulation",
  );
  add(
    'f140 external javascript node, share of its floor',
    'of the floor',
    "the JavaScript node's steps/s after start (lookahead on) over the floor with nothing simulated, both from the same repetition: what fedsim's own work per step leaves of the rate the child and the exchange allow",
    javascriptRate / floor,
    false,
  );
  floorFigures(
    add,
    recorded,
    'floor: the exchange alone',
    echoCommand,
    'the same lines to children that answer each with end-of-step at once',
  );
}

/** The CPU row of a process run's steps: fedsim's and the children's CPU, per step, and their sum. */
function stepCpuFigure(
  add: BenchContext['add'],
  who: string,
  hostSeconds: number,
  childSeconds: number,
  steps: number,
): void {
  const micros = (seconds: number): number => (seconds * 1e6) / Math.max(1, steps);
  add(
    `f140 node step CPU after start, ${who}`,
    'µs/step',
    `CPU time (user + system) of the same steps: ${Math.round(micros(hostSeconds))} µs in fedsim, ${Math.round(micros(childSeconds))} µs in the children (/proc)`,
    micros(hostSeconds + childSeconds),
    false,
  );
}

/** `recorded` replayed to fresh children of `command` (process-floor.ts): its rows, and its steps/s. */
function floorFigures(
  add: BenchContext['add'],
  recorded: Recording,
  who: string,
  command: readonly string[],
  how: string,
): number {
  const floor = replay(recorded, command, process.cwd());
  const perSecond = floor.steps / floor.seconds;
  add(`f140 node steps after start, ${who}`, 'steps/s', `${how}; ${floor.steps} steps`, perSecond);
  stepCpuFigure(add, who, floor.hostCpuSeconds, floor.childCpuSeconds, floor.steps);
  return perSecond;
}

/** The one-hour federation. */
function hourFigures({ add, scale, hourMessagesPerClientMinute }: BenchContext, r: number): void {
  // The one-hour federation is the longest figure: once by default, every heavy repetition from --scale 2.
  if (r > 0 && scale < 2) return;
  let hour: ReturnType<typeof solecFederation> | undefined;
  const hourWall = seconds(() => {
    hour = solecFederation({
      nodes: 1_000,
      messages: 500 * 60 * hourMessagesPerClientMinute,
      spanMs: 3_600_000,
      recorder: { keepLines: false, keepEvents: false, hash: false },
    });
  });
  add(
    'one-hour 1,000-node SOLEC federation, wall time',
    's',
    `${hour?.delivered ?? 0} messages, one per client per minute, recording off (goal: under 60 s)`,
    hourWall,
    false,
  );
  add(
    'one-hour 1,000-node SOLEC federation, virtual time',
    'virtual s per wall s',
    'the same run',
    (hour?.virtualMs ?? 0) / 1000 / hourWall,
  );
}

/**
 * The one-hour federation, one message per node, at each size and on each protocol (scale.ts):
 * SOLEC (half servers, half clients) and F140 (nodes in pairs of friends). Wall time, CPU per node
 * and peak memory, so that the growth from the smallest size can be read. Once each: the largest
 * takes minutes.
 */
function scaleFigures(
  { add }: BenchContext,
  sizes: readonly number[],
  protocols: readonly ScaleProtocol[],
  log: (line: string) => void,
): void {
  for (const protocol of protocols) {
    const label = protocol === 'f140' ? 'F140' : 'SOLEC';
    let firstCpuPerNode: number | undefined;
    for (const nodes of sizes) {
      log(`one-hour ${label} federation, ${nodes} nodes (child process)`);
      const figure = federationInChild(nodes, heapLimitMiB(nodes), protocol);
      const size = `${nodes.toLocaleString('en-US')}-node`;
      const perNode = perNodeBytes(figure);
      const cpuPerNode = figure.cpuSeconds / figure.nodes;
      firstCpuPerNode ??= cpuPerNode;
      add(
        `one-hour ${size} ${label} federation, one message per node, wall time`,
        's',
        `${figure.delivered} of ${figure.messages} messages delivered, ${figure.events} trace events, recording off, in a child process; build ${figure.buildSeconds.toFixed(1)} s (nodes declared and started) and run ${figure.runSeconds.toFixed(1)} s, ${figure.cpuSeconds.toFixed(1)} CPU s (goal at 1,000,000 nodes: under 600 s)`,
        figure.buildSeconds + figure.runSeconds,
        false,
      );
      add(
        `one-hour ${size} ${label} federation, CPU per node`,
        'µs',
        `CPU time of build and run per node; ${(cpuPerNode / firstCpuPerNode).toFixed(2)} times the first size's (${sizes[0]?.toLocaleString('en-US')} nodes; goal: no more than linear growth)`,
        cpuPerNode * 1e6,
        false,
      );
      add(
        `one-hour ${size} ${label} federation, peak RSS`,
        'MiB',
        `peak heap ${(figure.peakHeapBytes / 2 ** 20).toFixed(0)} MiB, heap after the run and a full GC ${(figure.heapAfterBytes / 2 ** 20).toFixed(0)} MiB; per node above the child's start: ${(perNode.peakRss / 1024).toFixed(1)} KiB RSS, ${(perNode.heapAfter / 1024).toFixed(1)} KiB heap after the run (goal at 1,000,000 nodes: under 12 GiB)`,
        figure.peakRssBytes / 2 ** 20,
        false,
      );
    }
  }
}

function writeFigures(
  options: BenchOptions,
  figures: readonly BenchFigure[],
  scale: number,
  load: readonly [number, number],
): void {
  const log = options.log ?? console.log;
  const table = figureTable(figures);
  log(table);
  mkdirSync(options.outDir, { recursive: true });
  // The machine's load (1, 5 and 15 minutes) as the figures were written: wall-clock rates, the
  // process-node ones most (each step is two process switches), fall as it rises.
  const loadAverage = { start: load[0], end: load[1], atEnd: loadavg().map((each) => Number(each.toFixed(2))) };
  const payload = { node: process.version, scale, repetitions, heavyRepetitions, loadAverage, figures };
  writeFileSync(join(options.outDir, 'simulator.json'), JSON.stringify(payload, null, 2) + '\n');
  writeFileSync(
    join(options.outDir, 'simulator.md'),
    `# Simulator benchmark\n\nNode ${process.version}, --scale ${scale}; quick figures median of ${repetitions} runs, federations and memory median of ${heavyRepetitions}. Ratios are against the bare loop measured in the same run. 1-minute load average ${load[0].toFixed(1)} at the start, ${load[1].toFixed(1)} at the end; 1, 5 and 15 minutes at the end: ${loadAverage.atEnd.join(', ')} (${cpus().length} cores).\n\n${table}\n`,
  );
  log(`figures written to ${join(options.outDir, 'simulator.json')} and simulator.md`);
}

export async function runBench(options: BenchOptions): Promise<BenchFigure[]> {
  const log = options.log ?? console.log;
  if (options.only === 'viewer') {
    const figures = await viewerFigures(options.viewerLoads ?? 3, log);
    log(figureTable(figures));
    log('only the viewer rows were measured: nothing written (run the whole bench to update reports/bench)');
    return figures;
  }
  const scale = options.scale;
  const protocolNames = ['echo', 'fmtp', 'f140', 'solec', 'bester', 'ambrosia'];
  const suites = new Map(protocolNames.map((name) => [name, scenariosOf(name)]));
  const series = new Map<string, Series>();
  const add = (name: string, unit: string, note: string, value: number, rate = true): void => {
    const entry = series.get(name) ?? { name, unit, note, values: [], rate };
    entry.values.push(value);
    series.set(name, entry);
  };
  const context: BenchContext = {
    scale,
    loopEvents: 1_000_000 * scale,
    clients: 100,
    messages: 100 * scale,
    federationMessages: 5_000 * scale,
    protocolMessages: 2_000 * scale,
    processNodeMessages: 2_000 * scale,
    endToEnd: ['fmtp', 'f140', 'solec', 'bester', 'ambrosia'],
    hourMessagesPerClientMinute: 1,
    // 500 clients, one message each per minute of the hour: 30,000 messages.
    fuzzCases: 100 * scale,
    // The JIT settles over hundreds of cases (docs/performance.md, "Warm-up, not steady state").
    fuzzWarmUp: 300,
    fuzzMeasured: 50 * scale,
    fuzzCampaignRuns: 100 * scale,
    suites,
    poe: loadScenario(join('scenarios', 'fmtp', 'poe-lenore.yaml')),
    fuzz: parseScenario(fuzzCase, 'bench/fuzz-3-nodes.yaml'),
    series,
    add,
    loopRate: 0,
  };
  const federationNodes = options.federationNodes ?? defaultFederationNodes;
  if (options.only === 'scale') {
    scaleFigures(context, federationNodes, options.federationProtocols ?? scaleProtocols, log);
    const figures = medianFigures(series);
    log(figureTable(figures));
    log(
      `only the scale rows were measured (1-minute load average ${(loadavg()[0] ?? 0).toFixed(1)}): nothing written (run the whole bench to update reports/bench)`,
    );
    return figures;
  }
  if (options.only === 'fuzz') {
    for (let r = 0; r < heavyRepetitions; r++) {
      log(`fuzz repetition ${r + 1}/${heavyRepetitions}`);
      fuzzFigures(context);
    }
    const figures = medianFigures(series);
    log(figureTable(figures));
    log('only the fuzz rows were measured: nothing written (run the whole bench to update reports/bench)');
    return figures;
  }
  if (options.only === 'end-to-end') return endToEndOnly(context, log);
  if (options.only === 'process') {
    for (let r = 0; r < heavyRepetitions; r++) {
      log(`process-node repetition ${r + 1}/${heavyRepetitions}`);
      processNodeFigures(context);
    }
    const figures = medianFigures(series);
    log(figureTable(figures));
    log(
      `only the process-node rows were measured (1-minute load average ${(loadavg()[0] ?? 0).toFixed(1)}): nothing written (run the whole bench to update reports/bench)`,
    );
    return figures;
  }
  const loadAtStart = loadavg()[0] ?? 0;
  warmUp(context);

  for (let r = 0; r < repetitions; r++) {
    log(`repetition ${r + 1}/${repetitions}`);
    bare(context);
    quickFigures(context);
    scenarioFigures(context, r);
  }

  // The protocols' ceilings below divide it by each message's simulator events.
  context.loopRate = median(series.get('simulator event loop')?.values ?? []);
  for (let r = 0; r < heavyRepetitions; r++) {
    log(`heavy repetition ${r + 1}/${heavyRepetitions}`);
    bare(context);
    solecFigures(context, r);
    endToEndFigures(context, r);
    processNodeFigures(context);
    hourFigures(context, r);
    fuzzFigures(context);
  }

  // Memory varies little between runs and costs a child process of 100,000 nodes: measured once.
  const memory = memoryInChild(100_000);
  add(
    'memory per node at 100,000 nodes',
    'KiB',
    `F140 nodes with one friend each (a peer machine per node), started and quiet; heap after GC in a child process; ${((memory.heapBytes - memory.baselineHeapBytes) / 2 ** 30).toFixed(2)} GiB heap, ${(memory.rssBytes / 2 ** 30).toFixed(2)} GiB RSS in all`,
    (memory.heapBytes - memory.baselineHeapBytes) / memory.nodes / 1024,
    false,
  );

  scaleFigures(context, federationNodes, options.federationProtocols ?? scaleProtocols, log);

  const figures = medianFigures(series);
  if (!options.skipViewer) figures.push(...(await viewerFigures(options.viewerLoads ?? 3, log)));

  writeFigures(options, figures, scale, [loadAtStart, loadavg()[0] ?? 0]);
  return figures;
}

/**
 * `--only end-to-end`: the bare and simulator loops, then each protocol end to end, its ceiling and
 * its share of the ceiling, in each of the heavy repetitions (the ceiling of a repetition uses
 * that repetition's simulator loop), with the load average at the start and the end.
 */
function endToEndOnly(context: BenchContext, log: (line: string) => void): BenchFigure[] {
  const loadAtStart = loadavg()[0] ?? 0;
  bareEventLoop(100_000);
  simulatorLoop(100_000);
  for (const protocol of context.endToEnd) protocolThroughput(protocol, 200);
  for (let r = 0; r < heavyRepetitions; r++) {
    log(`end-to-end repetition ${r + 1}/${heavyRepetitions}`);
    bare(context);
    const loop = timed(() => simulatorLoop(context.loopEvents)).perSecond;
    context.add('simulator event loop', 'events/s', "same workload on fedsim's EventQueue + Simulator", loop);
    endToEndFigures({ ...context, loopRate: loop }, r, false);
  }
  const figures = medianFigures(context.series);
  log(figureTable(figures));
  log(
    `load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end (${cpus().length} cores)`,
  );
  log('only the end-to-end rows were measured: nothing written (run the whole bench to update reports/bench)');
  return figures;
}

/** Each series' median, rates also as a ratio to the bare loop's median (when it was measured). */
function medianFigures(series: ReadonlyMap<string, Series>): BenchFigure[] {
  const bareMedian = median(series.get('bare heap event loop')?.values ?? []);
  return [...series.values()].map((entry) => {
    const value = median(entry.values);
    const ratio = entry.rate && entry.unit !== 'virtual s per wall s' && bareMedian > 0;
    return {
      name: entry.name,
      value,
      unit: entry.unit,
      ...(ratio ? { ratioToBare: value / bareMedian } : {}),
      note: `${entry.note} (median of ${entry.values.length})`,
    };
  });
}
