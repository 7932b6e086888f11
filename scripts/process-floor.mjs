// The floor of an external node's step rate on this machine, in rounds of fresh processes: the
// bench's JavaScript node (src/bench/process-nodes.ts, examples/f140-js) beside the same run with
// fedsim's own work taken out (src/bench/process-floor.ts; `npm run bench` has the one-at-a-time
// rows). The bench's run is recorded once (the lookahead off, so in its serial order), then each
// round runs every row in a fresh process, the order reversed every other round (this VM's speed
// changes by the minute):
//
// - `bench`: the bench's row itself (steady part, lookahead on, the default placement);
// - `floor`: the recorded lines replayed to fresh children of the example through the same channel,
//   one step after another, each answer read to its end-of-step and dropped: nothing simulated;
// - `floor-kN`: the same, N steps handed over before the first answer is read: the most a protocol
//   that hands the children several inputs at once could give;
// - `echo`: the same lines to children that answer each with end-of-step at once: the exchange alone.
//
// Prints every run, then per row the median and range of steps/s, the CPU per step of this
// process and of the children, and the median of the per-round ratios to `bench`.
//
// Usage: node scripts/process-floor.mjs [rounds] [messages] [rows]
//   rows: comma-separated, default bench,floor,floor-k2,floor-k8,echo
// Runs the compiled build of this repository (FEDSIM_DIST=<build directory> for another). Wall clock is fine
// here: nothing here runs inside a simulation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(new URL('..', import.meta.url).pathname);
const { ensureBuilt } = await import(pathToFileURL(join(root, 'bin', 'build.mjs')).href);
const dist = process.env['FEDSIM_DIST'] ?? (await ensureBuilt());
const load = (path) => import(pathToFileURL(join(dist, path)).href);

/** A row's figures from its steps, wall seconds and CPU seconds (this process's, the children's). */
const figuresOf = (steps, seconds, hostCpuSeconds, childCpuSeconds) => ({
  stepsPerSecond: steps / seconds,
  hostMicros: (hostCpuSeconds * 1e6) / steps,
  childMicros: (childCpuSeconds * 1e6) / steps,
});

/** One run of one row, in this process. */
async function runRow(row, messages, logFile) {
  const { processNodeSteps, externalNodes } = await load('bench/process-nodes.js');
  if (row === 'bench') {
    const run = processNodeSteps('javascript', messages);
    return figuresOf(run.steadySteps, run.steadySeconds, run.steadyHostCpuSeconds, run.steadyChildCpuSeconds);
  }
  const { echoCommand, replay } = await load('bench/process-floor.js');
  const recorded = JSON.parse(readFileSync(logFile, 'utf8'));
  const batch = row.startsWith('floor-k') ? Number(row.slice('floor-k'.length)) : 1;
  const floor = replay(recorded, row === 'echo' ? echoCommand : externalNodes.javascript.command, root, batch);
  return figuresOf(floor.steps, floor.seconds, floor.hostCpuSeconds, floor.childCpuSeconds);
}

async function record(messages, logFile) {
  const { processNodeSteps } = await load('bench/process-nodes.js');
  const { recording } = await load('bench/process-floor.js');
  const { processLookahead } = await load('sim/world.js');
  processLookahead.enabled = false;
  const recorded = recording(() => processNodeSteps('javascript', messages));
  writeFileSync(logFile, JSON.stringify(recorded));
  return recorded.steps.length;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

if (process.argv[2] === '--row') {
  const [, , , row, messages, logFile] = process.argv;
  console.log(JSON.stringify(await runRow(row, Number(messages), logFile)));
} else if (process.argv[2] === '--record') {
  console.log(await record(Number(process.argv[3]), process.argv[4]));
} else {
  const rounds = Number(process.argv[2] ?? 5);
  const messages = Number(process.argv[3] ?? 2000);
  const rows = (process.argv[4] ?? 'bench,floor,floor-k2,floor-k8,echo').split(',');
  const unknown = rows.filter((row) => !/^(bench|floor|floor-k[1-9][0-9]*|echo)$/.test(row));
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(messages) || messages < 1 || unknown.length > 0) {
    console.error(
      `usage: node scripts/process-floor.mjs [rounds] [messages] [bench,floor,floor-kN,echo]${unknown.length > 0 ? ` (unknown rows: ${unknown.join(', ')})` : ''}`,
    );
    process.exit(2);
  }
  const folder = mkdtempSync(join(tmpdir(), 'fedsim-floor-'));
  const logFile = join(folder, 'steps.json');
  const fresh = (args) => {
    const run = spawnSync(process.execPath, [new URL(import.meta.url).pathname, ...args], {
      cwd: root,
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`${args.join(' ')} failed: ${run.stderr}`);
    return run.stdout.trim().split('\n').pop();
  };
  try {
    console.log(`build ${dist}; recorded ${fresh(['--record', String(messages), logFile])} steps`);
    const results = new Map(rows.map((row) => [row, []]));
    for (let round = 0; round < rounds; round++) {
      for (const row of round % 2 === 0 ? rows : [...rows].reverse()) {
        const figures = JSON.parse(fresh(['--row', row, String(messages), logFile]));
        results.get(row).push(figures);
        console.log(
          `round ${round + 1} ${row}: ${figures.stepsPerSecond.toFixed(0)} steps/s, CPU per step ${figures.hostMicros.toFixed(1)} µs host, ${figures.childMicros.toFixed(1)} µs children (load ${loadavg()[0].toFixed(1)})`,
        );
      }
    }
    console.log('\n| row | steps/s, median (range) | host µs/step | children µs/step | ratio to bench |');
    console.log('|---|---|---:|---:|---:|');
    for (const [row, runs] of results) {
      const rates = runs.map((run) => run.stepsPerSecond);
      const ratio = results.has('bench')
        ? median(runs.map((run, round) => run.stepsPerSecond / results.get('bench')[round].stepsPerSecond)).toFixed(2)
        : '';
      console.log(
        `| ${row} | ${median(rates).toFixed(0)} (${Math.min(...rates).toFixed(0)} to ${Math.max(...rates).toFixed(0)}) | ${median(runs.map((run) => run.hostMicros)).toFixed(1)} | ${median(runs.map((run) => run.childMicros)).toFixed(1)} | ${ratio} |`,
      );
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
