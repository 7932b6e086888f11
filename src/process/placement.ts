/**
 * Where the simulating thread and its external node processes run (docs/simulator.md, "How the
 * host and the children meet"). A step is two wakeups, the child's by the host and the host's by
 * the child; between two CPUs each is an inter-processor interrupt, dear in a virtual machine whose
 * idle CPUs halt at once, and on one CPU a plain switch. So by default ('one') the thread that runs
 * the simulation is pinned to one CPU while it has a process node, and every child to the same CPU:
 * the first step of the thread's channels pins it (not their opening, so that the children of a
 * world start side by side on every CPU), the last one to close restores the CPUs it had. Only
 * that thread is pinned (`taskset -p` of its own thread id), not the process: V8's compiler and
 * garbage collector threads, and the channels' watchdogs, keep every CPU.
 *
 * Which CPU (`chooseCpu`): one the thread may run on now (an inherited `taskset` or cgroup mask is
 * respected), the one held by the fewest other live fedsim threads (claims in a folder of the
 * temporary directory, one empty file per pinned thread), and among those the CPU the thread is on
 * now. So two fedsim processes, or two fuzz workers (threads of one process), take two CPUs of a
 * machine that has them rather than both the one they happened to start on.
 *
 * The module's state is the calling thread's: a worker thread loads a module of its own, so each
 * thread counts and pins itself.
 *
 * Must not: pin without restoring, or fail a run: where `taskset` or /proc is missing, or a pin
 * fails, nothing is pinned (the children too run where the OS puts them, as with 'any').
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * 'one': the simulating thread and its children pinned to one CPU while it has a process node;
 * 'host': each child pinned to the CPU the thread is on at its spawn, the thread left free; 'any':
 * nothing pinned.
 */
export type Placement = 'one' | 'host' | 'any';

const placements: readonly string[] = ['one', 'host', 'any'];

/** Whether a program of that name is on PATH. */
function onPath(program: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, program)));
}

/** The placement a channel gets when its options name none: `FEDSIM_PROCESS_CPU`, else 'one' where it can work, else 'any'. */
export function defaultPlacement(): Placement {
  const named = process.env['FEDSIM_PROCESS_CPU'];
  if (named !== undefined && placements.includes(named)) return named as Placement;
  return existsSync('/proc/thread-self/status') && onPath('taskset') ? 'one' : 'any';
}

/** The fields of a /proc stat file from the 3rd (state) on, or undefined where it cannot be read. */
export function statFields(path: string): string[] | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    // The command name (the 2nd field, in parentheses) may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The CPU field (the 39th) of a /proc stat file, or undefined. */
export function cpuOf(path: string): number | undefined {
  const cpu = Number(statFields(path)?.[36]);
  return Number.isInteger(cpu) && cpu >= 0 ? cpu : undefined;
}

/**
 * The CPU the calling thread last ran on (field 39 of /proc/thread-self/stat), or undefined where
 * that cannot be read (not Linux, no /proc).
 */
export function threadCpu(): number | undefined {
  return cpuOf('/proc/thread-self/stat');
}

/** The CPUs of a list such as "0-3,6" (the form of Cpus_allowed_list and of `taskset -c`). */
export function cpuList(list: string): number[] {
  return list.split(',').flatMap((range) => {
    const [from, to] = range.split('-').map(Number) as [number, number | undefined];
    if (!Number.isInteger(from) || (to !== undefined && !Number.isInteger(to))) return [];
    return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
  });
}

/** The Cpus_allowed_list of a /proc status file, or undefined. */
export function allowedCpus(statusPath: string): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(statusPath, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The calling thread's id (for the main thread, the process id), from /proc/thread-self: "<pid>/task/<tid>". */
function threadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** The folder of claims: an empty file `<cpu>-<pid>-<tid>` for each thread pinned by fedsim. */
function claimsDir(): string {
  return join(tmpdir(), `fedsim-cpus-${process.getuid?.() ?? 'user'}`);
}

/** How many live fedsim threads hold each CPU; the claims of threads gone are removed. */
function claimsByCpu(): Map<number, number> {
  const counts = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync(claimsDir());
  } catch {
    return counts;
  }
  for (const name of names) {
    const [cpu, pid, tid] = name.split('-').map(Number) as [number, number, number];
    if (existsSync(`/proc/${pid}/task/${tid}`)) counts.set(cpu, (counts.get(cpu) ?? 0) + 1);
    else rmSync(join(claimsDir(), name), { force: true });
  }
  return counts;
}

/**
 * The CPU to pin a thread to: of the CPUs it may run on, the least held by other fedsim threads,
 * and among those the one it is on now, else the lowest.
 */
export function chooseCpu(
  allowed: readonly number[],
  current: number | undefined,
  held: ReadonlyMap<number, number>,
): number {
  let best: number | undefined;
  for (const cpu of allowed) {
    const count = held.get(cpu) ?? 0;
    const bestCount = best === undefined ? Infinity : (held.get(best) ?? 0);
    if (count < bestCount || (count === bestCount && cpu === current)) best = cpu;
  }
  if (best === undefined) throw new Error('no CPU to choose from');
  return best;
}

/** Channels of the calling thread with placement 'one' (holders of its pin). */
let holders = 0;
/** The calling thread's pin, once taken: its id, its CPU, the CPUs it had before and its claim; or why there is none. */
let pin: { tid: number; cpu: number; previous: string; claim: string | undefined } | 'failed' | undefined;

/** One more holder of the calling thread's pin: nothing is pinned yet (`pinThread` does it). */
export function holdCpu(): void {
  holders += 1;
}

/** The CPU the calling thread is pinned to, or undefined. */
export function pinnedCpu(): number | undefined {
  return pin === undefined || pin === 'failed' ? undefined : pin.cpu;
}

/**
 * Pins the calling thread to one CPU, if it has holders and is not pinned yet (once a hold: a pin
 * that failed is not tried again until the thread has no holders); the CPU, or undefined where
 * nothing could be pinned.
 */
export function pinThread(): number | undefined {
  if (pin !== undefined || holders === 0) return pinnedCpu();
  pin = 'failed';
  const tid = threadId();
  const previous = allowedCpus('/proc/thread-self/status');
  if (tid === undefined || previous === undefined) return undefined;
  const allowed = cpuList(previous);
  if (allowed.length === 0) return undefined;
  const cpu = chooseCpu(allowed, threadCpu(), claimsByCpu());
  // The claim before the pin, so that a thread choosing at the same time sees it.
  let claim: string | undefined = join(claimsDir(), `${cpu}-${process.pid}-${tid}`);
  try {
    mkdirSync(claimsDir(), { recursive: true, mode: 0o700 });
    writeFileSync(claim, '');
  } catch {
    // A read-only temporary folder: only the choice of others is the worse for it.
    claim = undefined;
  }
  try {
    execFileSync('taskset', ['-p', '-c', String(cpu), String(tid)], { stdio: 'ignore' });
  } catch {
    // No taskset, or a CPU this thread may not have after all: run unpinned.
    if (claim !== undefined) rmSync(claim, { force: true });
    return undefined;
  }
  pin = { tid, cpu, previous, claim };
  installExitHook();
  return cpu;
}

/** One holder fewer; after the last one the thread gets back the CPUs it had before its pin. */
export function releaseCpu(): void {
  if (holders === 0 || --holders > 0) return;
  const was = pin;
  pin = undefined;
  if (was === undefined || was === 'failed') return;
  try {
    execFileSync('taskset', ['-p', '-c', was.previous, String(was.tid)], { stdio: 'ignore' });
  } catch {
    // taskset gone from PATH since the pin: the thread stays where it is.
  }
  if (was.claim !== undefined) rmSync(was.claim, { force: true });
}

let exitHookInstalled = false;

/** Removes the claim of a thread pinned still when its process exits (a run that threw). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    if (pin !== undefined && pin !== 'failed' && pin.claim !== undefined) rmSync(pin.claim, { force: true });
  });
}
