/**
 * Each protocol's end-to-end workload (`protocolThroughput`, the bench's "end to end" rows) in a
 * child process running the compiled build (bin/build.mjs: no tsx keepNames wrappers), measured in
 * CPU time, and optionally profiled.
 *
 *   npx tsx scripts/end-to-end-profile.ts [protocols…] [--messages N] [--runs K] [--root DIR]
 *                                         [--against DIR] [--profile DIR] [--top N]
 *
 * - Prints, per protocol, the messages delivered per CPU second of the run (setup taken out, as
 *   the bench does), best and median of K runs after a warm-up, and per wall second.
 * - `--root DIR` runs another checkout's sources (its own bin/build.mjs and src/).
 * - `--against DIR` is an A/B: that checkout's build (A) and this one's (B) in one process, each
 *   protocol run by A then B in every round, and per round B's CPU time over A's. On a machine
 *   shared with other work this is the comparison that holds (the two builds see the same
 *   minutes). The other checkout needs this one's src/bench/protocols.ts (the CPU-time field).
 * - `--profile DIR` runs the child under `node --cpu-prof`, writes the .cpuprofile files to DIR,
 *   and prints the self time of the samples inside `runScenario` per function and per file
 *   (GC, and the program and idle ticks, apart).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const at = args.indexOf(name);
  return (at >= 0 ? args[at + 1] : undefined) ?? fallback;
};
const valued = new Set(['--messages', '--runs', '--root', '--against', '--profile', '--top']);
const protocols = args.filter((arg, i) => !arg.startsWith('--') && !valued.has(args[i - 1] ?? ''));
const chosen = protocols.length > 0 ? protocols : ['fmtp', 'f140', 'solec', 'bester', 'ambrosia'];
const messages = Number(flag('--messages', '2000'));
const runs = Number(flag('--runs', '3'));
const root = resolve(flag('--root', '.'));
const profileDir = args.includes('--profile') ? resolve(flag('--profile', 'reports/profile')) : undefined;
const top = Number(flag('--top', '25'));

/** The builds to run: this checkout's (or `--root`'s), and with `--against DIR` that checkout's too. */
async function buildOf(dir: string): Promise<string> {
  const { ensureBuilt } = (await import(pathToFileURL(join(dir, 'bin', 'build.mjs')).href)) as {
    ensureBuilt: (options: { srcDir: string; distDir: string }) => Promise<string>;
  };
  return ensureBuilt({ srcDir: join(dir, 'src'), distDir: join(dir, 'dist') });
}
const against = args.includes('--against') ? resolve(flag('--against', '.')) : undefined;
const roots = against === undefined ? [root] : [against, root];
const builds = await Promise.all(roots.map(buildOf));

interface Measured {
  readonly protocol: string;
  readonly build: number;
  readonly delivered: number;
  readonly cpu: number[];
  readonly wall: number[];
  readonly simulatorEventsPerMessage: number;
}

/**
 * The child: per protocol, a warm-up run of each build, then `runs` rounds in which each build
 * runs once, in turn, in reverse order every other round (two builds are two module trees in one
 * process, each with its own JIT state): both see the same minutes of a shared machine.
 */
const driver = `
const builds = [];
for (const url of ${JSON.stringify(builds.map((dir) => pathToFileURL(join(dir, 'bench', 'protocols.js')).href))})
  builds.push((await import(url)).protocolThroughput);
const out = [];
for (const protocol of ${JSON.stringify(chosen)}) {
  const results = builds.map((_, build) => ({ protocol, build, delivered: 0, cpu: [], wall: [], simulatorEventsPerMessage: 0 }));
  for (const run of builds) run(protocol, ${messages});
  for (let r = 0; r < ${runs}; r++) {
    // Odd rounds run the builds in reverse: the one run second also collects the first one's garbage.
    const order = builds.map((_, build) => build);
    if (r % 2 === 1) order.reverse();
    order.forEach((build) => {
      const last = builds[build](protocol, ${messages});
      const each = results[build];
      each.cpu.push(last.runCpuSeconds);
      each.wall.push(last.runSeconds);
      each.delivered = last.delivered;
      each.simulatorEventsPerMessage = last.simulatorEvents / Math.max(last.delivered, 1);
    });
  }
  out.push(...results);
}
process.stdout.write(JSON.stringify(out));
`;

if (profileDir !== undefined) {
  rmSync(profileDir, { recursive: true, force: true });
  mkdirSync(profileDir, { recursive: true });
}
const child = spawnSync(
  process.execPath,
  [
    ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
    '--input-type=module',
    '-e',
    driver,
  ],
  { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 },
);
if (child.status !== 0) {
  process.stderr.write(child.stderr);
  process.exit(1);
}
const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
const medianOf = (values: number[]): number => sorted(values)[Math.floor(values.length / 2)] ?? 0;
console.log(
  `${roots.map((dir, i) => `${String.fromCharCode(65 + i)}: ${dir} (build ${builds[i]?.split('/').pop()})`).join('; ')}; ${messages} messages, ${runs} rounds; load ${loadText()}`,
);
const measured = JSON.parse(child.stdout) as Measured[];
for (const each of measured) {
  const bestCpu = sorted(each.cpu)[0] ?? 1;
  const label = roots.length > 1 ? ` ${String.fromCharCode(65 + each.build)}` : '';
  console.log(
    `${each.protocol.padEnd(9)}${label} ${String(each.delivered).padStart(6)} delivered; per CPU s best ${Math.round(each.delivered / bestCpu)}, median ${Math.round(each.delivered / medianOf(each.cpu))}; per wall s median ${Math.round(each.delivered / medianOf(each.wall))}; ${each.simulatorEventsPerMessage.toFixed(1)} simulator events per message; CPU s ${each.cpu.map((s) => s.toFixed(3)).join(' ')}`,
  );
}
if (roots.length > 1) {
  for (const protocol of chosen) {
    const [a, b] = [0, 1].map((build) => measured.find((m) => m.protocol === protocol && m.build === build));
    if (a === undefined || b === undefined) continue;
    // Per round, B's CPU time over A's (the two ran back to back): the median of those ratios.
    const ratios = a.cpu.map((cpuA, i) => (b.cpu[i] ?? 0) / cpuA);
    console.log(
      `${protocol.padEnd(9)} B/A CPU per round ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ${medianOf(ratios).toFixed(3)}; best ${((sorted(b.cpu)[0] ?? 0) / (sorted(a.cpu)[0] ?? 1)).toFixed(3)}`,
    );
  }
}
if (profileDir !== undefined) {
  for (const file of readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile')))
    summarise(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile);
}

function loadText(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time per function and per file, of the samples under `runScenario`; GC apart. */
function summarise(profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const inside = new Map<number, boolean>();
  const isInside = (id: number): boolean => {
    const known = inside.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const result = node?.callFrame.functionName === 'runScenario' || (up !== undefined && isInside(up));
    inside.set(id, result);
    return result;
  };
  const perFunction = new Map<string, number>();
  const perFile = new Map<string, number>();
  let total = 0;
  let gc = 0;
  let all = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    all += delta;
    const frame = byId.get(id)?.callFrame;
    if (frame?.functionName === '(garbage collector)') {
      gc += delta;
      return;
    }
    if (!isInside(id) || frame === undefined) return;
    total += delta;
    const file = frame.url.replace(/^.*\/dist\/[0-9a-f]{16}\//, '').replace(/^.*node_modules\//, 'node_modules/');
    const name = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    perFunction.set(name, (perFunction.get(name) ?? 0) + delta);
    perFile.set(file || '(native)', (perFile.get(file || '(native)') ?? 0) + delta);
  });
  const share = (us: number): string => `${((100 * us) / Math.max(total, 1)).toFixed(1).padStart(5)}%`;
  console.log(
    `\nprofile: ${(all / 1e6).toFixed(2)} s sampled, ${(total / 1e6).toFixed(2)} s under runScenario, GC ${((100 * gc) / Math.max(all, 1)).toFixed(1)}% of all`,
  );
  console.log('self time per function (share of runScenario):');
  for (const [name, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${share(us)}  ${name}`);
  console.log('self time per file:');
  for (const [name, us] of [...perFile].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${share(us)}  ${name}`);
}
