// The worker thread that owns one external node process (channel.ts is its other half). Plain
// JavaScript, so it loads in a worker without TypeScript support. The host thread writes one input
// line straight to the child's stdin (whose descriptor this thread publishes; before that, or once
// the pipe is broken, it posts the line here instead) and blocks on the shared buffer. This thread
// gathers the child's stdout lines up to one the host must act on (`end`, `store.get`,
// `store.keys`, or a line that is not JSON), copies them into the shared buffer and wakes the host.
// If the child exits, the host is woken with what the child wrote and the last of its stderr.
import { spawn } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ command: string[], cwd?: string, env?: Record<string, string>, shared: SharedArrayBuffer }} */
const data = workerData;
const header = new Int32Array(data.shared, 0, 8);
const body = new Uint8Array(data.shared, 32);
const encoder = new TextEncoder();
// header[0]: 0 while the host waits, 1 once a reply is ready (or before the first exchange);
// [1]: reply length; [2]: 0 lines, 1 exited, 2 too long; [3]: the child's pid; [4]: its stdin's descriptor.
const [program, ...args] = data.command;
const child = spawn(program, args, {
  cwd: data.cwd,
  env: { ...process.env, ...data.env },
  stdio: ['pipe', 'pipe', 'pipe'],
});
if (child.pid !== undefined) Atomics.store(header, 3, child.pid);
// The host writes to the child's stdin itself, synchronously: one hop less per step.
const stdinFd = child.stdin?._handle?.fd;
if (typeof stdinFd === 'number' && stdinFd > 0) Atomics.store(header, 4, stdinFd);

let pending = ''; // a partial stdout line
/** @type {string[]} */
let lines = []; // complete lines not yet handed to the host
/** Whether the host waits for a reply. */
const waiting = () => Atomics.load(header, 0) === 0;
let exited = ''; // why the child is gone, once it is
let stderrTail = '';

function reply(status, text) {
  let bytes = encoder.encode(text);
  if (bytes.length > body.length) {
    status = 2;
    bytes = encoder.encode(text.slice(0, 2000));
  }
  body.set(bytes);
  Atomics.store(header, 1, bytes.length);
  Atomics.store(header, 2, status);
  Atomics.store(header, 0, 1);
  Atomics.notify(header, 0);
}

function blocking(line) {
  try {
    const kind = JSON.parse(line)?.kind;
    return kind === 'end' || kind === 'store.get' || kind === 'store.keys';
  } catch {
    return true;
  }
}

function pump() {
  if (!waiting()) return;
  const at = lines.findIndex(blocking);
  if (at >= 0) {
    const out = lines.slice(0, at + 1);
    lines = lines.slice(at + 1);
    reply(0, out.join('\n'));
  } else if (exited !== '') {
    const out = [...lines, ...(pending === '' ? [] : [pending])];
    lines = [];
    pending = '';
    reply(1, JSON.stringify({ why: exited, lines: out, stderr: stderrTail }));
  }
}

child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  const parts = (pending + chunk).split('\n');
  pending = parts.pop() ?? '';
  for (const part of parts) if (part.trim() !== '') lines.push(part.endsWith('\r') ? part.slice(0, -1) : part);
  pump();
});
child.stderr.setEncoding('utf8');
child.stderr.on('data', (chunk) => {
  stderrTail = (stderrTail + chunk).slice(-2000);
});
child.stdin.on('error', () => {
  // EPIPE: the child is gone; its exit says why.
});
child.on('error', (error) => {
  exited = `could not start: ${error.message}`;
  pump();
});
child.on('close', (code, signal) => {
  if (exited === '') exited = signal ? `exited on signal ${signal}` : `exited with code ${code}`;
  pump();
});

// A line the host could not write itself (no descriptor yet, or a broken pipe: then `null`).
parentPort?.on('message', (line) => {
  if (exited === '' && line !== null) child.stdin.write(`${line}\n`);
  pump();
});
