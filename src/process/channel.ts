/**
 * A synchronous line exchange with one child process. The simulator is synchronous, so the host
 * thread talks to the child over two named pipes (FIFOs) with blocking reads and writes of its own:
 * one step costs the child's work and two pipe hops, nothing more. The child's stdin and stdout are
 * the far ends of those FIFOs; its stderr is an ordinary pipe.
 *
 * A watchdog worker thread (worker.mjs) spawns the child (so that it sees the child's exit and
 * stderr), and enforces the wall-clock budget of a step: the host arms it with a budget before a
 * step and disarms it after, through a shared buffer, and the worker polls it. On a blown budget it
 * kills the child, so the host's blocked read ends (end of file) and finds the
 * timeout flag set. When the child exits, the host's read ends the same way and the worker hands
 * over the exit status and the last of stderr.
 *
 * Two settings tune the exchange, and change nothing of what is read (docs/simulator.md, "How the
 * host and the children meet", has the measurements): `placement` (placement.ts) 'one', the
 * default, pins the host thread to one CPU from its first channel to the close of its last, and
 * each child to the same CPU; 'host' pins each child to the CPU the host thread is on at the spawn
 * and leaves the thread free; 'any' pins nothing (the watchdog pins the child, with `taskset`;
 * without `taskset` or /proc nothing is pinned); `spinPolls` makes up to that many non-blocking
 * reads before the blocking one, while the child runs on another CPU than the host (`poll`). A
 * step is a wakeup of the child by the host and one of the host by the child: on one CPU a plain
 * switch, across two an inter-processor interrupt, dear in a virtual machine, which a polling
 * host avoids for the second wakeup.
 *
 * Must not: block without a budget, or leave a child running once the node is stopped or the host
 * process exits.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Worker } from 'node:worker_threads';
import {
  cpuOf,
  defaultPlacement,
  holdCpu,
  pinnedCpu,
  pinThread,
  releaseCpu,
  statFields,
  threadCpu,
  type Placement,
} from './placement.js';

export { defaultPlacement, threadCpu, type Placement } from './placement.js';

/** Why no line came. */
export type Gone =
  | { readonly kind: 'exited'; readonly why: string; readonly stderr: string; readonly partial: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'too-long'; readonly start: string };

export interface ChannelOptions {
  readonly command: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** The longest line the child may write. @defaultValue 8 MiB */
  readonly lineBytesMax?: number;
  /**
   * Where the child runs: 'one', with the host thread pinned to one CPU while it has channels, on
   * that CPU; 'host', pinned to the host thread's CPU at the spawn; 'any', wherever the OS puts
   * it. @defaultValue `FEDSIM_PROCESS_CPU` when set to one of the three, else 'one' where
   * `taskset` and /proc exist, else 'any'
   */
  readonly placement?: Placement;
  /**
   * Non-blocking reads of the child's stdout before a blocking one, while the child runs on another
   * CPU than the host (`poll`); 0 for none. @defaultValue `FEDSIM_PROCESS_SPIN`, else 0
   */
  readonly spinPolls?: number;
}

/** The polls a channel makes when its options name none: `FEDSIM_PROCESS_SPIN`, else 0. */
export function defaultSpinPolls(): number {
  const polls = Number(process.env['FEDSIM_PROCESS_SPIN'] ?? 0);
  return Number.isInteger(polls) && polls > 0 ? Math.min(polls, 1000) : 0;
}

/** How many waits go by between two looks at where the child runs (`poll`). */
const waitsPerLook = 64;

/**
 * The shared control words (worker.mjs reads the same layout): the step generation, whether a step
 * is running, its budget in ms, the child's pid, the timeout flag, the exit flag, and the length of
 * the exit report that follows the words, the handshake (1: the worker opened the child's ends, 2:
 * the host opened its own) and the host's read descriptor.
 */
export const control = {
  generation: 0,
  armed: 1,
  budgetMs: 2,
  pid: 3,
  timedOut: 4,
  exited: 5,
  reportLength: 6,
  ready: 7,
  hostFd: 8,
  words: 10,
} as const;
/** How long the host waits for the watchdog to open the child's ends. */
const handshakeMs = 10_000;
const reportBytesMax = 16 * 1024;
/** The unit of /proc's CPU times (USER_HZ, 100 on every Linux build in use). */
const clockTicksPerSecond = 100;

const live = new Set<ProcessChannel>();
let exitHookInstalled = false;

/** Kills every child still running when the host process exits (a run that threw, a test that stopped early). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const channel of live) channel.close();
  });
}

export class ProcessChannel {
  private readonly worker: Worker;
  private readonly words: Int32Array;
  private readonly report: Uint8Array;
  /** The host's ends: it writes the child's stdin and reads its stdout. */
  private toChild = -1;
  private fromChild = -1;
  private readonly chunk = Buffer.allocUnsafe(64 * 1024);
  private readonly decoder = new StringDecoder('utf8');
  private readonly lineBytesMax: number;
  /** Complete lines read but not yet taken, and the partial line after them. */
  private lines: string[] = [];
  private taken = 0;
  private pending = '';
  private ended = false;
  private closed = false;
  /** `spinPolls`, and a non-blocking descriptor of the child's stdout for them. */
  private readonly spinPolls: number;
  private fromChildPoll = -1;
  /** Waits left before the next look at where the child runs, and what the last look found. */
  private waitsToLook = 0;
  private childElsewhere = false;
  /** Whether this channel holds the host thread's pin (placement 'one'), to release at the close. */
  private readonly holdsCpu: boolean;
  /** Whether the child is to be pinned to the thread's CPU at its first step (it did not inherit the pin). */
  private pinChild: boolean;

  constructor(options: ChannelOptions) {
    this.lineBytesMax = options.lineBytesMax ?? 8 * 1024 * 1024;
    this.spinPolls = options.spinPolls ?? defaultSpinPolls();
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-process-'));
    const stdinPath = join(dir, 'stdin');
    const stdoutPath = join(dir, 'stdout');
    execFileSync('mkfifo', ['-m', '600', stdinPath, stdoutPath]);
    const placement = options.placement ?? defaultPlacement();
    // 'one': the thread is pinned at the first step of any of its channels (`arm`), so that the
    // children of a world start (tens of ms of CPU each) side by side on every CPU; a child is
    // pinned at its own first step. A thread or process inherits the CPUs of the thread that starts
    // it: a watchdog started by a thread pinned already, and its child, are pinned from the start.
    this.holdsCpu = placement === 'one';
    if (this.holdsCpu) holdCpu();
    this.pinChild = this.holdsCpu && pinnedCpu() === undefined;
    const shared = new SharedArrayBuffer(control.words * 4 + reportBytesMax);
    this.words = new Int32Array(shared, 0, control.words);
    this.report = new Uint8Array(shared, control.words * 4);
    this.worker = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: {
        command: [...options.command],
        cwd: options.cwd,
        env: options.env ?? {},
        dir,
        stdinPath,
        stdoutPath,
        shared,
        cpu: placement === 'host' ? threadCpu() : undefined,
      },
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    // A watchdog that failed shows as a child that does not answer; the error itself must not
    // take the host down.
    this.worker.on('error', () => undefined);
    // The handshake (worker.mjs says why): the worker opens both FIFOs read-write, then the host its
    // own ends, then the worker the child's ends; it removes the folder.
    if (Atomics.wait(this.words, control.ready, 0, handshakeMs) === 'timed-out') {
      rmSync(dir, { recursive: true, force: true });
      if (this.holdsCpu) releaseCpu();
      throw new Error(`the process watchdog did not start within ${handshakeMs}ms`);
    }
    this.toChild = openSync(stdinPath, constants.O_WRONLY);
    this.fromChild = openSync(stdoutPath, constants.O_RDONLY);
    if (this.spinPolls > 0) this.fromChildPoll = openSync(stdoutPath, constants.O_RDONLY | constants.O_NONBLOCK);
    Atomics.store(this.words, control.hostFd, this.fromChild);
    Atomics.store(this.words, control.ready, 2);
    Atomics.notify(this.words, control.ready);
    installExitHook();
    live.add(this);
  }

  /**
   * CPU seconds (user + system) the child has used so far, from /proc (benchmarks use it); 0 when
   * it cannot be read (not Linux, the child gone).
   */
  childCpuSeconds(): number {
    const pid = Atomics.load(this.words, control.pid);
    if (pid <= 0) return 0;
    const fields = statFields(`/proc/${pid}/stat`);
    // utime is the 14th field, stime the 15th.
    return fields === undefined ? 0 : (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  }

  /** Starts a step's wall-clock budget: the child is killed if the step is not over within it. */
  arm(budgetMs: number): void {
    if (this.pinChild) {
      this.pinChild = false;
      const cpu = pinThread();
      if (cpu !== undefined) this.worker.postMessage({ pin: cpu });
    }
    Atomics.store(this.words, control.budgetMs, budgetMs);
    Atomics.add(this.words, control.generation, 1);
    Atomics.store(this.words, control.armed, 1);
  }

  /** Ends the step's budget. */
  disarm(): void {
    Atomics.store(this.words, control.armed, 0);
  }

  /** Writes one line to the child's stdin; false when the child is gone (its exit is read next). */
  write(line: string): boolean {
    if (this.ended) return false;
    const text = `${line}\n`;
    try {
      // One write of the text (the pipe is blocking: it takes all of it); should it take less, the
      // rest goes from the bytes.
      const size = Buffer.byteLength(text, 'utf8');
      let written = writeSync(this.toChild, text);
      if (written >= size) return true;
      const bytes = Buffer.from(text, 'utf8');
      while (written < bytes.length) written += writeSync(this.toChild, bytes, written);
    } catch {
      // EPIPE: nobody reads the child's stdin any more.
      return false;
    }
    return true;
  }

  /** The child's next line, waiting for it within the armed budget; or why there is none. */
  readLine(): string | Gone {
    for (;;) {
      if (this.taken < this.lines.length) {
        const line = this.lines[this.taken++] as string;
        if (this.taken === this.lines.length) {
          this.lines = [];
          this.taken = 0;
        }
        return line;
      }
      if (this.ended) return this.gone();
      let count = this.spinPolls > 0 ? this.poll() : -1;
      if (count < 0) {
        try {
          count = readSync(this.fromChild, this.chunk, 0, this.chunk.length, null);
        } catch {
          count = 0;
        }
      }
      if (Atomics.load(this.words, control.timedOut) === 1) {
        this.ended = true;
        return { kind: 'timeout' };
      }
      if (count === 0) {
        this.ended = true;
        this.pending += this.decoder.end();
        continue;
      }
      this.take(this.decoder.write(this.chunk.subarray(0, count)));
      if (this.pending.length > this.lineBytesMax) {
        this.ended = true;
        return { kind: 'too-long', start: this.pending.slice(0, 2000) };
      }
    }
  }

  /**
   * Up to `spinPolls` non-blocking reads of the child's stdout, while the child was last seen on
   * another CPU than the host (looked up every `waitsPerLook` waits): a host blocked in its read
   * lets its CPU halt, and the child's answer then has to wake it with an interrupt from the other
   * CPU; a host that polls finds the answer at once. With the child on the host's own CPU, polling
   * would only keep the child from running. What was read (0: end of file), or -1 if nothing came.
   */
  private poll(): number {
    if (--this.waitsToLook <= 0) {
      this.waitsToLook = waitsPerLook;
      const pid = Atomics.load(this.words, control.pid);
      const child = pid > 0 ? cpuOf(`/proc/${pid}/stat`) : undefined;
      const host = threadCpu();
      this.childElsewhere = child !== undefined && host !== undefined && child !== host;
    }
    if (!this.childElsewhere) return -1;
    // Each empty poll throws (EAGAIN): no stack trace to build for it.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let poll = 0; poll < this.spinPolls; poll++) {
        try {
          return readSync(this.fromChildPoll, this.chunk, 0, this.chunk.length, null);
        } catch {
          if (Atomics.load(this.words, control.timedOut) === 1) return -1;
        }
      }
      return -1;
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }

  /** Splits what was read into lines (empty lines skipped, a CR before the LF dropped). */
  private take(text: string): void {
    let from = 0;
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', from)) {
      let line = from === 0 && this.pending !== '' ? this.pending + text.slice(0, at) : text.slice(from, at);
      if (from === 0) this.pending = '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.trim() !== '') this.lines.push(line);
      from = at + 1;
    }
    this.pending = from === 0 ? this.pending + text : text.slice(from);
  }

  /** After the end of the child's stdout: its exit status and stderr, from the worker. */
  private gone(): Gone {
    if (Atomics.load(this.words, control.timedOut) === 1) return { kind: 'timeout' };
    // The exit comes a moment after the end of file; a child that closed its stdout and lives on
    // is reported as such.
    Atomics.wait(this.words, control.exited, 0, 2_000);
    const partial = this.pending;
    this.pending = '';
    if (Atomics.load(this.words, control.exited) === 0)
      return { kind: 'exited', why: 'closed its stdout', stderr: '', partial };
    const length = Atomics.load(this.words, control.reportLength);
    // TextDecoder refuses views of shared memory: copy the report out first.
    const report = JSON.parse(Buffer.from(this.report.slice(0, length)).toString('utf8')) as {
      why: string;
      stderr: string;
    };
    return { kind: 'exited', why: report.why, stderr: report.stderr, partial };
  }

  /**
   * Ends the conversation: closes the child's stdin (a child that reads on sees the end of it and
   * exits), then kills what is left of it after `graceMs` (at once with 0). Safe to call twice.
   */
  close(graceMs = 0): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    if (this.holdsCpu) releaseCpu();
    for (const fd of [this.toChild, this.fromChild, this.fromChildPoll]) {
      if (fd < 0) continue;
      try {
        closeSync(fd);
      } catch {
        // Already closed.
      }
    }
    this.toChild = -1;
    this.fromChild = -1;
    this.fromChildPoll = -1;
    if (graceMs > 0) {
      this.worker.postMessage({ stop: graceMs });
      return;
    }
    const pid = Atomics.load(this.words, control.pid);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    void this.worker.terminate();
  }
}
