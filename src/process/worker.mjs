// The watchdog of one external node process (channel.ts is its other half). Plain JavaScript, so it
// loads in a worker without TypeScript support. It opens the child's ends of the two FIFOs (after a
// handshake with the host, below), spawns the child with them as its stdin and stdout, then closes
// its copies, so that the child's exit is an end of file for the host and the host's close an end of
// file for the child; it keeps the last of the child's stderr, and:
// - polls the shared control words: a step that stays armed, in the same generation, for longer than
//   its budget gets the timeout flag and the child killed (and, should something else still
//   hold the child's stdout, a newline poked into it, so that the host's read returns);
// - pins the child to the CPU the host named (`cpu`; channel.ts says why), with `taskset`, after the
//   spawn, so that a missing program fails as it does unpinned, or when the host says (a `pin`
//   message, at the child's first step); without `taskset`, or should it fail, the child runs
//   unpinned;
// - when the child is gone, writes a report (why, stderr) into the shared buffer, sets the exit flag
//   and wakes the host, who waits for it after the end of file.
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ command: string[], cwd?: string, env?: Record<string, string>, dir: string, stdinPath: string, stdoutPath: string, shared: SharedArrayBuffer, cpu?: number }} */
const data = workerData;
// The layout of `control` in channel.ts.
const GENERATION = 0;
const ARMED = 1;
const BUDGET_MS = 2;
const PID = 3;
const TIMED_OUT = 4;
const EXITED = 5;
const REPORT_LENGTH = 6;
const READY = 7;
const HOST_FD = 8;
const WORDS = 10;
const words = new Int32Array(data.shared, 0, WORDS);
const report = new Uint8Array(data.shared, WORDS * 4);

// The handshake: an open of one end of a FIFO waits for the other end, but a read-write open never
// waits. So this thread opens both FIFOs read-write, the host opens its ends (which then need not
// wait), and this thread opens the child's ends properly (read-only stdin, write-only stdout, which
// need not wait either now) and drops the read-write ones: the child must not hold a writer of its
// own stdin, or it would never see it end.
const holdStdin = openSync(data.stdinPath, constants.O_RDWR);
const holdStdout = openSync(data.stdoutPath, constants.O_RDWR);
Atomics.store(words, READY, 1);
Atomics.notify(words, READY);
Atomics.wait(words, READY, 1, 10_000);
const childStdin = openSync(data.stdinPath, constants.O_RDONLY);
const childStdout = openSync(data.stdoutPath, constants.O_WRONLY);
closeSync(holdStdin);
closeSync(holdStdout);
// Open FIFOs work on without their names: nothing is left in the temporary folder.
rmSync(data.dir, { recursive: true, force: true });

let stderrTail = '';
let reported = false;

function closeChildEnds() {
  for (const fd of [childStdin, childStdout]) {
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
}

function gone(why) {
  if (reported) return;
  reported = true;
  let bytes = new TextEncoder().encode(JSON.stringify({ why, stderr: stderrTail }));
  if (bytes.length > report.length) bytes = new TextEncoder().encode(JSON.stringify({ why, stderr: '' }));
  report.set(bytes);
  Atomics.store(words, REPORT_LENGTH, bytes.length);
  Atomics.store(words, EXITED, 1);
  Atomics.notify(words, EXITED);
  clearTimeout(poll);
  parentPort?.close();
}

const [program, ...args] = data.command;
let child;
try {
  child = spawn(program, args, {
    cwd: data.cwd,
    env: { ...process.env, ...data.env },
    stdio: [childStdin, childStdout, 'pipe'],
    // Not detached: a child in a session of its own gets a scheduling group of its own
    // (autogroup), and then waits for the CPU behind every other group at each step, about three
    // times slower on a loaded machine. A timeout kills the child; should something it started
    // still hold its stdout, the host's read is woken by the newline poked in below.
  });
} catch (error) {
  closeChildEnds();
  gone(`could not start: ${error.message}`);
}
closeChildEnds();
if (child?.pid !== undefined) {
  Atomics.store(words, PID, child.pid);
  if (typeof data.cpu === 'number') {
    // Every thread the child has by now (-a); those it starts later inherit the pin.
    execFile('taskset', ['-a', '-p', '-c', String(data.cpu), String(child.pid)], () => undefined);
  }
}

function kill() {
  try {
    child?.kill('SIGKILL');
  } catch {
    // Already gone.
  }
}

child?.stderr?.setEncoding('utf8');
child?.stderr?.on('data', (chunk) => {
  stderrTail = (stderrTail + chunk).slice(-2000);
});
child?.on('error', (error) => {
  gone(`could not start: ${error.message}`);
});
child?.on('exit', (code, signal) => {
  const why = signal ? `exited on signal ${signal}` : `exited with code ${code}`;
  // Give stderr a moment to drain (a grandchild holding it must not hold the report back).
  if (!child.stderr || child.stderr.closed) return gone(why);
  child.stderr.on('close', () => gone(why));
  setTimeout(() => gone(why), 200);
});

// The budget: checked every tenth of it (5 to 100 ms apart).
let seenGeneration = -1;
let seenAt = 0;
let poll;
function check() {
  const generation = Atomics.load(words, GENERATION);
  const now = Date.now();
  if (Atomics.load(words, ARMED) !== 1 || generation !== seenGeneration) {
    seenGeneration = generation;
    seenAt = now;
  } else if (now - seenAt > Atomics.load(words, BUDGET_MS) && Atomics.load(words, TIMED_OUT) === 0) {
    Atomics.store(words, TIMED_OUT, 1);
    kill();
    try {
      const fd = openSync(`/proc/self/fd/${Atomics.load(words, HOST_FD)}`, constants.O_WRONLY | constants.O_NONBLOCK);
      writeSync(fd, '\n');
      closeSync(fd);
    } catch {
      // Not Linux, or the host has closed it: the kill ends the read.
    }
  }
  poll = setTimeout(check, Math.min(100, Math.max(5, Atomics.load(words, BUDGET_MS) / 10)));
}
if (!reported) check();

// A graceful stop: the host closed the child's stdin; kill what is left after the grace period.
parentPort?.on('message', (message) => {
  if (typeof message?.pin === 'number' && child?.pid !== undefined) {
    // Placement 'one', at the child's first step: to the host thread's CPU, every thread (-a).
    execFile('taskset', ['-a', '-p', '-c', String(message.pin), String(child.pid)], () => undefined);
  }
  if (typeof message?.stop === 'number') {
    clearTimeout(poll);
    setTimeout(kill, message.stop).unref();
  }
});
