/**
 * A synchronous line exchange with one child process. The simulator is synchronous, so the host
 * thread cannot wait for a pipe with callbacks: a worker thread (worker.mjs) owns the child and its
 * pipes, and the host thread posts a line and blocks in `Atomics.wait` on a shared buffer, with a
 * wall-clock budget, until the worker hands back the child's lines up to the next one that needs the
 * host (`end`, `store.get`, `store.keys`, or a line that is not JSON).
 *
 * Must not: block without a timeout, or leave a child running once the node is stopped or the host
 * process exits.
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** What one exchange gives back. */
export type Reply =
  | { readonly kind: 'lines'; readonly lines: readonly string[] }
  | { readonly kind: 'exited'; readonly why: string; readonly lines: readonly string[]; readonly stderr: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'too-long'; readonly start: string };

export interface ChannelOptions {
  readonly command: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Room for one reply (the lines of a step up to `end`). @defaultValue 8 MiB */
  readonly replyBytesMax?: number;
}

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
  private readonly header: Int32Array;
  private readonly body: Uint8Array;
  private closed = false;
  /** Something to wait on for a millisecond while the child's stdin pipe is full. */
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));

  constructor(options: ChannelOptions) {
    const shared = new SharedArrayBuffer(32 + (options.replyBytesMax ?? 8 * 1024 * 1024));
    this.header = new Int32Array(shared, 0, 8);
    this.body = new Uint8Array(shared, 32);
    // No reply is awaited yet (worker.mjs describes the header).
    Atomics.store(this.header, 0, 1);
    this.worker = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: { command: [...options.command], cwd: options.cwd, env: options.env ?? {}, shared },
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    installExitHook();
    live.add(this);
  }

  /** Sends one line and waits (at most `timeoutMs` of wall time) for the child's answer. */
  exchange(line: string, timeoutMs: number): Reply {
    Atomics.store(this.header, 0, 0);
    if (!this.send(`${line}\n`, timeoutMs)) return { kind: 'timeout' };
    const waited = Atomics.wait(this.header, 0, 0, timeoutMs);
    if (waited === 'timed-out' && Atomics.load(this.header, 0) === 0) return { kind: 'timeout' };
    const length = Atomics.load(this.header, 1);
    const status = Atomics.load(this.header, 2);
    // TextDecoder refuses views of shared memory: copy the reply out first.
    const text = Buffer.from(this.body.slice(0, length)).toString('utf8');
    if (status === 2) return { kind: 'too-long', start: text };
    if (status === 1) {
      const exited = JSON.parse(text) as { why: string; lines: string[]; stderr: string };
      return { kind: 'exited', ...exited };
    }
    return { kind: 'lines', lines: text.split('\n') };
  }

  /**
   * Writes to the child's stdin directly once the worker has published its descriptor (the pipe is
   * non-blocking: while it is full, this waits 1 ms at a time, at most `timeoutMs` in all); before
   * that, or on a broken pipe, the worker is told. False when the child read nothing for `timeoutMs`.
   */
  private send(text: string, timeoutMs: number): boolean {
    const fd = Atomics.load(this.header, 4);
    if (fd <= 0) {
      this.worker.postMessage(text.slice(0, -1));
      return true;
    }
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    let waitedMs = 0;
    while (written < bytes.length) {
      try {
        written += writeSync(fd, bytes, written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
          // The child is gone: the worker reports how (its exit comes with what it wrote).
          this.worker.postMessage(null);
          return true;
        }
        if (waitedMs++ >= timeoutMs) return false;
        Atomics.wait(this.pause, 0, 0, 1);
      }
    }
    return true;
  }

  /** Kills the child (SIGKILL) and ends the worker. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    const pid = Atomics.load(this.header, 3);
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
