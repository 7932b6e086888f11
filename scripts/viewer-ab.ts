/**
 * The viewer's whole 100,000-event load, two builds alternating in one headless Chromium: this
 * tree's and another's (a checkout of the commit to compare, e.g.
 * `git archive main | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/`). Each page load
 * reports the wall time to the first frame (the test hook's `loadedMs`), its steps, and the CPU
 * time of each renderer thread from /proc (utime + stime over the load): the page's main thread,
 * the loader worker and all of them. The order of the two builds alternates every round. Linux
 * only (/proc). Wall clock is allowed here (not simulated code).
 *
 * Usage: npx tsx scripts/viewer-ab.ts <other tree> [loads per build, 5] [trace file]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from '../src/bench/viewer.js';
import { serveViewer } from '../src/view/server.js';
import { syntheticTraceText } from '../src/trace/synthetic.js';

const [other, loadsArgument, traceArgument] = process.argv.slice(2);
if (other === undefined) {
  process.stderr.write('usage: viewer-ab.ts <other tree> [loads] [trace file]\n');
  process.exit(2);
}
const loads = Number(loadsArgument ?? 5);
const directory = mkdtempSync(join(tmpdir(), 'fedsim-viewer-ab-'));
const tracePath = traceArgument ?? join(directory, 'synthetic-100k.trace.ndjson');
if (traceArgument === undefined) writeFileSync(tracePath, syntheticTraceText({ seed: 1, events: 100_000, nodes: 12 }));

type Serve = typeof serveViewer;
const otherServer = (await import(join(resolve(other), 'src/view/server.ts'))) as { serveViewer: Serve };
const servers = { other: await otherServer.serveViewer({ tracePath }), this: await serveViewer({ tracePath }) };
const browser = await launchChromium();

/** CPU ms of every thread of Chromium's renderer processes, by `pid/tid`. */
function rendererThreads(): Map<string, { main: boolean; worker: boolean; ms: number }> {
  const threads = new Map<string, { main: boolean; worker: boolean; ms: number }>();
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!command.includes('chromium') || !command.includes('--type=renderer')) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ms = (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
        threads.set(`${pid}/${tid}`, { main: pid === tid, worker: /Worker/.test(name), ms });
      }
    } catch {
      // A process or thread that ended meanwhile.
    }
  }
  return threads;
}

interface Load {
  wall: number;
  main: number;
  worker: number;
  all: number;
  steps: Record<string, number>;
}
const results: Record<'other' | 'this', Load[]> = { other: [], this: [] };
const loadAverages: number[] = [];
try {
  for (let round = 0; round < loads; round++) {
    for (const which of round % 2 === 0 ? (['other', 'this'] as const) : (['this', 'other'] as const)) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto('about:blank');
      const before = rendererThreads();
      await page.goto(servers[which].url);
      await page.waitForFunction(() => window.__fedsimViewer?.ready === true, undefined, { timeout: 120_000 });
      const after = rendererThreads();
      const hook = await page.evaluate(() => ({
        wall: window.__fedsimViewer?.loadedMs ?? Number.NaN,
        steps: window.__fedsimViewer?.loadSteps ?? {},
      }));
      const load: Load = { wall: hook.wall, main: 0, worker: 0, all: 0, steps: hook.steps };
      for (const [key, thread] of after) {
        const ms = thread.ms - (before.get(key)?.ms ?? 0);
        load.all += ms;
        if (thread.main) load.main += ms;
        else if (thread.worker) load.worker += ms;
      }
      results[which].push(load);
      loadAverages.push(loadavg()[0] ?? 0);
      await page.close();
    }
  }
} finally {
  await browser.close();
  await servers.other.close();
  await servers.this.close();
  rmSync(directory, { recursive: true, force: true });
}

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
for (const which of ['other', 'this'] as const) {
  const runs = results[which];
  const list = (pick: (load: Load) => number): string => runs.map((load) => pick(load).toFixed(0)).join(' ');
  process.stdout.write(
    `${which}: whole load ${median(runs.map((load) => load.wall)).toFixed(0)} ms (${list((load) => load.wall)}); ` +
      `CPU ms: worker ${median(runs.map((load) => load.worker))} (${list((load) => load.worker)}), ` +
      `main thread ${median(runs.map((load) => load.main))} (${list((load) => load.main)}), ` +
      `renderer ${median(runs.map((load) => load.all))}\n`,
  );
  const steps = Object.keys(runs[0]?.steps ?? {});
  process.stdout.write(
    `  steps: ${steps.map((step) => `${step} ${median(runs.map((load) => load.steps[step] ?? Number.NaN)).toFixed(0)}`).join(', ')}\n`,
  );
}
process.stdout.write(
  `load average ${Math.min(...loadAverages).toFixed(1)} to ${Math.max(...loadAverages).toFixed(1)} on 2 cores\n`,
);
