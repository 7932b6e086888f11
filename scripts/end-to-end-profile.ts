/**
 * Each protocol's end-to-end workload (`protocolThroughput`, the bench's "end to end" rows) in a
 * child process running the compiled build (bin/build.mjs: no tsx keepNames wrappers), measured in
 * CPU time, and optionally profiled.
 *
 *   npx tsx scripts/end-to-end-profile.ts [protocols…] [--messages N] [--runs K] [--root DIR]
 *                                         [--profile DIR] [--top N]
 *
 * - Prints, per protocol, the messages delivered per CPU second of the run (setup taken out, as
 *   the bench does), best and median of K runs after a warm-up, and per wall second.
 * - `--root DIR` runs another checkout's sources (its own bin/build.mjs and src/): an A/B of two
 *   builds is this script run on each, back to back. That checkout needs this one's
 *   src/bench/protocols.ts (the CPU-time field).
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
const valued = new Set(['--messages', '--runs', '--root', '--profile', '--top']);
const protocols = args.filter((arg, i) => !arg.startsWith('--') && !valued.has(args[i - 1] ?? ''));
const chosen = protocols.length > 0 ? protocols : ['fmtp', 'f140', 'solec', 'bester', 'ambrosia'];
const messages = Number(flag('--messages', '2000'));
const runs = Number(flag('--runs', '3'));
const root = resolve(flag('--root', '.'));
const profileDir = args.includes('--profile') ? resolve(flag('--profile', 'reports/profile')) : undefined;
const top = Number(flag('--top', '25'));

const { ensureBuilt } = (await import(pathToFileURL(join(root, 'bin', 'build.mjs')).href)) as {
  ensureBuilt: (options: { srcDir: string; distDir: string }) => Promise<string>;
};
const built = await ensureBuilt({ srcDir: join(root, 'src'), distDir: join(root, 'dist') });

interface Measured {
  readonly protocol: string;
  readonly delivered: number;
  readonly cpu: number[];
  readonly wall: number[];
  readonly simulatorEventsPerMessage: number;
}

/** The child: a warm-up, then `runs` measured runs of each protocol. */
const driver = `
const { protocolThroughput } = await import(${JSON.stringify(pathToFileURL(join(built, 'bench', 'protocols.js')).href)});
const out = [];
for (const protocol of ${JSON.stringify(chosen)}) {
  protocolThroughput(protocol, ${messages});
  const cpu = [], wall = [];
  let last;
  for (let r = 0; r < ${runs}; r++) {
    last = protocolThroughput(protocol, ${messages});
    cpu.push(last.runCpuSeconds);
    wall.push(last.runSeconds);
  }
  out.push({ protocol, delivered: last.delivered, cpu, wall, simulatorEventsPerMessage: last.simulatorEvents / Math.max(last.delivered, 1) });
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
console.log(`${root} (build ${built.split('/').pop()}), ${messages} messages, ${runs} runs; load ${loadText()}`);
for (const each of JSON.parse(child.stdout) as Measured[]) {
  const bestCpu = sorted(each.cpu)[0] ?? 1;
  console.log(
    `${each.protocol.padEnd(9)} ${String(each.delivered).padStart(6)} delivered; per CPU s best ${Math.round(each.delivered / bestCpu)}, median ${Math.round(each.delivered / medianOf(each.cpu))}; per wall s median ${Math.round(each.delivered / medianOf(each.wall))}; CPU s ${each.cpu.map((s) => s.toFixed(3)).join(' ')}; ${each.simulatorEventsPerMessage.toFixed(1)} simulator events per message`,
  );
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
