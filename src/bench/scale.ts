/**
 * The one-hour federation at scale (issue 26): a SOLEC federation of `nodes` nodes (half servers,
 * half clients) where the clients send one message per node in all, or an F140 federation of
 * `nodes` nodes in pairs of friends where each node sends one, spread over one virtual hour,
 * recording off (federation.ts). Each size runs in a child process of its own (`node --expose-gc`, a heap limit
 * sized for it), so that one size's garbage and the bench's own heap count for nothing in
 * another's figures, and the child runs the compiled JavaScript when the caller does.
 *
 * The child reports wall and CPU seconds of the build (nodes declared, keys derived, nodes
 * started) and of the run, the events, the peak RSS (`maxRSS`), the peak heap (sampled every
 * `sampleEvents` simulator events, and after the build) and the heap after a full GC at the end.
 *
 * Wall clock is read here only to time the phases (bench/ may read it); the simulation itself
 * runs in virtual time.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { buildF140Federation, buildSolecFederation } from './federation.js';
import type { ScaleProtocol } from './scale-protocols.js';

/** The protocols the one-hour federation runs on. */
export { scaleProtocols, type ScaleProtocol } from './scale-protocols.js';

/** One virtual hour, the span the messages are spread over. */
export const hourMs = 3_600_000;

/** Simulator events between two heap samples. */
const sampleEvents = 50_000;

export interface ScaleFigure {
  readonly protocol: ScaleProtocol;
  readonly nodes: number;
  readonly messages: number;
  readonly delivered: number;
  /** Trace events (counted, not kept). */
  readonly events: number;
  readonly simEvents: number;
  readonly buildSeconds: number;
  readonly runSeconds: number;
  /** CPU seconds (user and system) of build and run together. */
  readonly cpuSeconds: number;
  readonly peakHeapBytes: number;
  readonly peakRssBytes: number;
  /** Heap after the run and a full GC, the world still reachable. */
  readonly heapAfterBytes: number;
  /** Heap and RSS of the child before anything was built (modules loaded). */
  readonly baselineHeapBytes: number;
  readonly baselineRssBytes: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Runs in the child (or in-process, for tests): builds and runs one federation, sampling memory. */
/** What a long run reports now and then (`--progress`): how far it is, and its memory. */
export interface ScaleProgress {
  readonly buildSeconds: number;
  readonly runSeconds: number;
  readonly cpuSeconds: number;
  readonly virtualMs: number;
  readonly simEvents: number;
  readonly delivered: number;
  readonly heapBytes: number;
  readonly rssBytes: number;
}

export function measureFederation(
  nodes: number,
  protocol: ScaleProtocol = 'solec',
  /** Called after a heap sample at most every `progressSeconds` of wall time. */
  progress?: (sample: ScaleProgress) => void,
  progressSeconds = 30,
): ScaleFigure {
  gc();
  const baseline = process.memoryUsage();
  const cpuBefore = process.cpuUsage();
  const built = performance.now();
  const build = protocol === 'f140' ? buildF140Federation : buildSolecFederation;
  const { world, sim, trace } = build({
    nodes,
    messages: nodes,
    spanMs: hourMs,
    recorder: { keepLines: false, keepEvents: false, hash: false },
  });
  const buildSeconds = (performance.now() - built) / 1000;
  let peakHeap = process.memoryUsage().heapUsed;
  const started = performance.now();
  let reported = started;
  const limits = { timeMsMax: 1_000 + hourMs + 600_000, eventsMax: 1_000_000_000 };
  // Run in slices to sample the heap between them; slicing changes nothing the run does.
  while (true) {
    const outcome = sim.runUntilQuiet({ ...limits, eventsMax: Math.min(limits.eventsMax, sim.events + sampleEvents) });
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    if (progress && performance.now() - reported >= progressSeconds * 1000) {
      reported = performance.now();
      const cpu = process.cpuUsage(cpuBefore);
      const memory = process.memoryUsage();
      progress({
        buildSeconds,
        runSeconds: (reported - started) / 1000,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        virtualMs: sim.nowMs,
        simEvents: sim.events,
        delivered: world.deliveries.length,
        heapBytes: memory.heapUsed,
        rssBytes: memory.rss,
      });
    }
    if (outcome.reason !== 'eventsMax' || sim.events >= limits.eventsMax) break;
  }
  const runSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  gc();
  const after = process.memoryUsage();
  return {
    protocol,
    nodes,
    messages: nodes,
    delivered: world.deliveries.length,
    events: trace.count,
    simEvents: sim.events,
    buildSeconds,
    runSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakHeapBytes: peakHeap,
    // maxRSS is in KiB.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapAfterBytes: after.heapUsed,
    baselineHeapBytes: baseline.heapUsed,
    baselineRssBytes: baseline.rss,
  };
}

/**
 * The heap limit a child of `nodes` nodes gets: at least 2 GiB, at most 10 GiB, and otherwise
 * about 40 KiB a node. A node keeps 7 to 13 KiB live (F140, SOLEC), but the heap between two full
 * collections peaks at one and a half to three times that; a limit at the live size makes V8
 * collect again and again and the run crawl. The cap leaves room under the goal's 12 GiB of RSS
 * for the young generation (three semi-spaces of 64 MiB), code and the process's own.
 */
export function heapLimitMiB(nodes: number): number {
  return Math.min(10_240, Math.max(2_048, Math.ceil((nodes * 40) / 1024)));
}

/** Runs `measureFederation(nodes, protocol)` in a fresh `node --expose-gc` and returns its figure. */
export function federationInChild(
  nodes: number,
  heapMiB = heapLimitMiB(nodes),
  protocol: ScaleProtocol = 'solec',
  /** Let the child print a progress line to this process's stderr every 30 s of wall time. */
  progress = false,
): ScaleFigure {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      `--max-old-space-size=${heapMiB}`,
      // A larger young generation: fewer short-lived objects promoted into the old one, which a
      // heap of millions of live objects pays to mark again at every major GC.
      '--max-semi-space-size=64',
      // From the sources this module is TypeScript and needs tsx; from the command's build it is not.
      ...(self.endsWith('.ts') ? ['--import', 'tsx'] : []),
      self,
      String(nodes),
      protocol,
      ...(progress ? ['progress'] : []),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', progress ? 'inherit' : 'pipe'] },
  );
  if (child.status !== 0)
    throw new Error(`federation child (${nodes} nodes) failed: ${child.stderr ?? ''}${child.signal ?? ''}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ScaleFigure;
}

/** A figure's memory above the child's baseline, per node, in bytes. */
export function perNodeBytes(figure: ScaleFigure): { peakHeap: number; peakRss: number; heapAfter: number } {
  return {
    peakHeap: (figure.peakHeapBytes - figure.baselineHeapBytes) / figure.nodes,
    peakRss: (figure.peakRssBytes - figure.baselineRssBytes) / figure.nodes,
    heapAfter: (figure.heapAfterBytes - figure.baselineHeapBytes) / figure.nodes,
  };
}

/** Rows of a Markdown table: one per figure, with its cost per node and that cost against the first (smallest) row of its protocol. */
export function scaleTable(figures: readonly ScaleFigure[]): string {
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  const rows = figures.map((figure) => {
    const perNode = perNodeBytes(figure);
    const first = figures.find((each) => each.protocol === figure.protocol);
    const secondsPerNode = (figure.buildSeconds + figure.runSeconds) / figure.nodes;
    const cpuPerNode = figure.cpuSeconds / figure.nodes;
    const growth =
      first === undefined
        ? ''
        : `${(cpuPerNode / (first.cpuSeconds / first.nodes)).toFixed(2)} / ${(perNode.peakRss / perNodeBytes(first).peakRss).toFixed(2)}`;
    return [
      figure.protocol === 'f140' ? 'F140' : 'SOLEC',
      figure.nodes.toLocaleString('en-US'),
      `${figure.delivered.toLocaleString('en-US')} of ${figure.messages.toLocaleString('en-US')}`,
      figure.events.toLocaleString('en-US'),
      figure.buildSeconds.toFixed(1),
      figure.runSeconds.toFixed(1),
      figure.cpuSeconds.toFixed(1),
      mib(figure.peakHeapBytes),
      mib(figure.peakRssBytes),
      (perNode.peakRss / 1024).toFixed(1),
      (secondsPerNode * 1e6).toFixed(0),
      growth,
    ];
  });
  const header = [
    'protocol',
    'nodes',
    'delivered',
    'trace events',
    'build s',
    'run s',
    'CPU s',
    'peak heap MiB',
    'peak RSS MiB',
    'RSS KiB/node',
    'wall µs/node',
    'CPU, RSS per node vs first',
  ];
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const protocol = process.argv[3] === 'f140' ? 'f140' : 'solec';
  const progress =
    process.argv[4] === 'progress'
      ? (sample: ScaleProgress) => console.error(`progress ${JSON.stringify(sample)}`)
      : undefined;
  console.log(JSON.stringify(measureFederation(Number(process.argv[2] ?? 1_000), protocol, progress)));
}
