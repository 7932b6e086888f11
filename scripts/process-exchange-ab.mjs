// The exchange with an external node process (src/process/channel.ts) under each of its settings,
// A/B: every run is a fresh process, and the settings take turns within each round (the order
// reversed every other round), so that all of them see the same minutes of a machine whose
// scheduling changes by the minute. Two workloads:
// - echo: 10,000 exchanges of a 200-byte line with a child that echoes it (the channel's floor);
// - bench: the bench's F140 rows (src/bench/process-nodes.ts), the JavaScript node, steady part;
// and three conditions: unpinned; the whole tree pinned to CPU 0 (`taskset -c 0`); a second core
// kept busy (a spinning process, ended after). Prints each run, then per condition the median and
// range of each figure, and the median of the per-round ratios to the first setting.
//
// Usage: node scripts/process-exchange-ab.mjs [rounds] [workloads] [conditions] [settings...]
//   workloads: echo,bench (default both); conditions: unpinned,pinned,busy (default all three)
//   a setting is name:VAR=value,VAR=value (environment of that run), default:
//   any:FEDSIM_PROCESS_CPU=any one:FEDSIM_PROCESS_CPU=one host:FEDSIM_PROCESS_CPU=host spin:FEDSIM_PROCESS_SPIN=5
//   (every run starts from FEDSIM_PROCESS_CPU=any and FEDSIM_PROCESS_SPIN=0, whatever the defaults)
// Runs the compiled build of this checkout (FEDSIM_DIST=<build directory> for another). Wall clock is fine
// here: nothing here runs inside a simulation.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(new URL('..', import.meta.url).pathname);
const { ensureBuilt } = await import(pathToFileURL(join(root, 'bin', 'build.mjs')).href);
const dist = process.env['FEDSIM_DIST'] ?? (await ensureBuilt());
const rounds = Number(process.argv[2] ?? 4);
const workloads = (process.argv[3] ?? 'echo,bench').split(',');
const conditions = (process.argv[4] ?? 'unpinned,pinned,busy').split(',');
const settings = (
  process.argv.length > 5
    ? process.argv.slice(5)
    : [
        'any:FEDSIM_PROCESS_CPU=any',
        'one:FEDSIM_PROCESS_CPU=one',
        'host:FEDSIM_PROCESS_CPU=host',
        'spin:FEDSIM_PROCESS_SPIN=5',
      ]
).map((spec) => {
  const [name, vars = ''] = spec.split(':');
  const env = { ...process.env, FEDSIM_PROCESS_CPU: 'any', FEDSIM_PROCESS_SPIN: '0' };
  for (const pair of vars.split(',').filter(Boolean)) {
    const [key, value] = pair.split('=');
    env[key] = value;
  }
  return { name, env };
});
const hasTaskset = spawnSync('taskset', ['-p', String(process.pid)]).status === 0;

const scratch = join(tmpdir(), `fedsim-exchange-ab-${process.pid}`);
execFileSync('mkdir', ['-p', scratch]);
const echoChild = join(scratch, 'echo-child.mjs');
writeFileSync(
  echoChild,
  `import { readSync, writeSync } from 'node:fs';
const chunk = Buffer.alloc(65536);
let buffered = '';
for (;;) {
  const nl = buffered.indexOf('\\n');
  if (nl < 0) {
    const count = readSync(0, chunk, 0, chunk.length, null);
    if (count === 0) break;
    buffered += chunk.toString('utf8', 0, count);
    continue;
  }
  writeSync(1, buffered.slice(0, nl + 1));
  buffered = buffered.slice(nl + 1);
}
`,
);
// One run of a workload: prints one JSON line of figures.
const runner = join(scratch, 'run.mjs');
writeFileSync(
  runner,
  `const [dist, workload, echoChild] = process.argv.slice(2);
if (workload === 'echo') {
  const { ProcessChannel } = await import(dist + '/process/channel.js');
  const channel = new ProcessChannel({ command: [process.execPath, echoChild] });
  const line = JSON.stringify({ kind: 'conn.data', conn: 'c1', bytes: 'x'.repeat(200) });
  const exchange = () => { channel.write(line); if (typeof channel.readLine() !== 'string') throw new Error('the child is gone'); };
  for (let i = 0; i < 500; i++) exchange();
  const exchanges = 10000;
  const cpu = process.cpuUsage(); const child = channel.childCpuSeconds(); const start = performance.now();
  for (let i = 0; i < exchanges; i++) exchange();
  const seconds = (performance.now() - start) / 1000; const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ perSecond: Math.round(exchanges / seconds), hostMicros: (used.user + used.system) / exchanges, childMicros: ((channel.childCpuSeconds() - child) * 1e6) / exchanges }));
  channel.close();
} else {
  const { processNodeSteps } = await import(dist + '/bench/process-nodes.js');
  processNodeSteps('javascript', 30);
  const r = processNodeSteps('javascript', 1000);
  console.log(JSON.stringify({ perSecond: Math.round(r.steadySteps / r.steadySeconds), hostMicros: (r.steadyHostCpuSeconds * 1e6) / r.steadySteps, childMicros: (r.steadyChildCpuSeconds * 1e6) / r.steadySteps }));
}
process.exit(0);
`,
);

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const figures = ['perSecond', 'hostMicros', 'childMicros'];

for (const condition of conditions) {
  if (condition === 'pinned' && !hasTaskset) {
    console.log(`== ${condition}: skipped (no taskset)`);
    continue;
  }
  const busy = condition === 'busy' ? spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }) : undefined;
  for (const workload of workloads) {
    console.log(`== ${workload}, ${condition}, load ${loadavg()[0].toFixed(1)}, build ${dist}`);
    const results = new Map(settings.map((setting) => [setting.name, []]));
    const loads = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? settings : [...settings].reverse();
      for (const setting of order) {
        const command = [process.execPath, runner, dist, workload, echoChild];
        const [program, ...args] = condition === 'pinned' ? ['taskset', '-c', '0', ...command] : command;
        const run = spawnSync(program, args, { cwd: root, env: setting.env, encoding: 'utf8' });
        const line = run.stdout.trim().split('\n').at(-1) ?? '';
        if (run.status !== 0 || !line.startsWith('{')) {
          console.log(`${round} ${setting.name} failed: ${run.stderr.slice(-500)}`);
          continue;
        }
        const result = JSON.parse(line);
        results.get(setting.name).push({ round, ...result });
        loads.push(loadavg()[0]);
        const shown = figures.map((figure) => `${figure} ${result[figure].toFixed(figure === 'perSecond' ? 0 : 1)}`);
        console.log(`${round} ${setting.name}: ${shown.join(', ')} (load ${loadavg()[0].toFixed(1)})`);
      }
    }
    const first = results.get(settings[0].name);
    console.log(
      `-- ${workload}, ${condition}: median [min..max] of ${rounds} rounds, load ${median(loads).toFixed(1)} (median)`,
    );
    for (const [name, runs] of results) {
      if (runs.length === 0) continue;
      const parts = figures.map((figure) => {
        const values = runs.map((run) => run[figure]);
        const digits = figure === 'perSecond' ? 0 : 1;
        return `${figure} ${median(values).toFixed(digits)} [${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)}]`;
      });
      const ratios = runs
        .map((run) => run.perSecond / (first.find((base) => base.round === run.round)?.perSecond ?? Number.NaN))
        .filter((ratio) => Number.isFinite(ratio));
      console.log(`   ${name}: ${parts.join(', ')}; perSecond / ${settings[0].name}: ${median(ratios).toFixed(2)}`);
    }
  }
  busy?.kill();
}
execFileSync('rm', ['-rf', scratch]);
