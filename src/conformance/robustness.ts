/**
 * Robustness cases, modelled on the limits sections of Autobahn|Testsuite (9.x "limits", 12/13 load):
 * what a server must do when a peer misbehaves on purpose, and that a well-behaved peer is served
 * meanwhile. The same cases run against every protocol through a small adapter (how to make a valid
 * exchange, a partial frame, an oversized length, a login: robustness-adapters.ts), and against the
 * built-in servers (`fedsim serve` in a child process) or any `--target`.
 *
 * Against a built-in server the case also reads the served process's RSS and open descriptors from
 * /proc before, at the peak during, and after the attack, and requires them to come back: RSS within
 * `rssSlackBytes` of before, descriptors to their count before, within `recoverMs`.
 *
 * Allowed here (on the lint exemption list with socket-peer.ts): node:net, Date.now and setTimeout,
 * for wall-clock timeouts. Loopback only: a case connects to the host and port it is given and
 * nowhere else. Must not: leave a socket or timer behind a case, or run without a bound (every count
 * and wait is bounded by the options).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countVerdicts } from './run.js';
import { CaseVerdict, type CaseResult, type ExchangeEntry, type SuiteReport } from './types.js';

/** One raw connection to the target, with bounded waits. */
export class RawConn {
  private chunks: Buffer[] = [];
  private size = 0;
  private waiters: (() => void)[] = [];
  isClosed = false;
  readonly opened: Promise<boolean>;

  constructor(
    readonly socket: Socket,
    /** Keep at most this many received bytes (older ones are dropped): a flood must not fill the tester. */
    private readonly keepBytes = 1024 * 1024,
  ) {
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.size += chunk.length;
      while (this.size > this.keepBytes && this.chunks.length > 1) this.size -= this.chunks.shift()?.length ?? 0;
      this.wake();
    });
    socket.on('close', () => {
      this.isClosed = true;
      this.wake();
    });
    this.opened = new Promise((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('close', () => resolve(false));
    });
  }

  static open(host: string, port: number, keepBytes?: number): RawConn {
    return new RawConn(connect(port, host), keepBytes);
  }

  write(bytes: Uint8Array | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  received(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  /** Forgets what was received so far (the next `until` sees only what comes after). */
  clear(): void {
    this.chunks = [];
    this.size = 0;
  }

  /** Waits until `done(received)` holds; false when the connection closed first or `ms` passed. */
  async until(done: (bytes: Uint8Array) => boolean, ms: number): Promise<boolean> {
    return this.wait(() => done(this.received()) || this.isClosed, ms).then(() => done(this.received()));
  }

  /** Waits until the server closes the connection; the time it took, or undefined after `ms`. */
  async closedWithin(ms: number): Promise<number | undefined> {
    const started = Date.now();
    await this.wait(() => this.isClosed, ms);
    return this.isClosed ? Date.now() - started : undefined;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wait(condition: () => boolean, ms: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        resolve();
      }, ms);
      this.waiters.push(waiter);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export type LoginAnswer = 'accepted' | 'refused' | 'throttled' | 'closed' | 'timeout';

/** How one protocol is spoken for the robustness cases (robustness-adapters.ts). */
export interface RobustnessAdapter {
  readonly protocol: string;
  readonly title: string;
  /** The service port of the suite's fixture (what `--target` names). */
  readonly port: number;
  /** A valid exchange on a fresh connection: true when the server answered as it should. */
  exchange(conn: RawConn, ms: number): Promise<boolean>;
  /** The start of a valid frame, cut short. */
  readonly partial: Uint8Array;
  /** A frame header declaring a length over the protocol's limit (the server must close at once). */
  readonly oversized: Uint8Array;
  /** A partial frame about `bytes` long (for the flood of partial frames); the default repeats `partial`. */
  bigPartial?(bytes: number): Uint8Array;
  /**
   * Requests the server answers, sent again and again by a peer that never reads. `setup` runs
   * first on the connection (a login) and resolves false if it could not.
   */
  readonly chatty: { setup?(conn: RawConn, ms: number): Promise<boolean>; readonly request: Uint8Array };
  /** Logging in, where the protocol authenticates a password. */
  readonly login?: {
    readonly right: string;
    /** Attempts the protocol allows on one connection (SOLEC: 1); more are made on a fresh one. */
    readonly attemptsPerConnection?: number;
    /**
     * One attempt on `conn` (opening the stream first if `fresh`): what the server said (`throttled`:
     * refused without a check, where the protocol says so), or closed/timeout.
     */
    attempt(conn: RawConn, password: string, fresh: boolean, ms: number): Promise<LoginAnswer>;
  };
}

export interface RobustnessOptions {
  readonly host: string;
  readonly port: number;
  /** The served process, when the testbed runs it: its RSS and descriptors are read from /proc. */
  readonly pid?: number;
  /** How long the server has to close a stalled, idle or slow connection. @defaultValue 35000 */
  readonly closeMs?: number;
  /** How long a well-behaved exchange may take. @defaultValue 5000 */
  readonly answerMs?: number;
  /** Connections in the flood. @defaultValue 200 */
  readonly floodCount?: number;
  /** Bytes of the partial frame each flood connection holds. @defaultValue 64 KiB */
  readonly floodBytes?: number;
  /** Connections in the half-open flood (each a partial frame and a FIN); 0 leaves the case out. @defaultValue 100 */
  readonly halfOpenCount?: number;
  /** Wrong passwords tried in the brute force (at most; it also stops after `bruteForceMs`). @defaultValue 30 */
  readonly guesses?: number;
  /** How long the brute force may go on. @defaultValue 60000 */
  readonly bruteForceMs?: number;
  /** How long the right password may take to get in after the brute force (a throttle's longest block). @defaultValue 35000 */
  readonly loginWaitMs?: number;
  /** Bytes a never-reading peer pushes at most. @defaultValue 32 MiB */
  readonly neverReadBytes?: number;
  /** How long RSS and descriptors have to come back after an attack. @defaultValue 10000 */
  readonly recoverMs?: number;
  /** RSS after an attack may exceed RSS before by this much. @defaultValue 100 MB */
  readonly rssSlackBytes?: number;
  /** Run only the cases whose id ends with one of these. */
  readonly only?: readonly string[];
  readonly onResult?: (result: CaseResult) => void;
}

interface Sample {
  readonly rssBytes: number;
  readonly fds: number;
}

/** The served process's resident set and open descriptors, from /proc (Linux); undefined when unreadable. */
export function sampleProcess(pid: number): Sample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return { rssBytes: Number(rss ?? 0) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

const mb = (bytes: number): string => `${(bytes / 1_000_000).toFixed(0)} MB`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Context {
  readonly adapter: RobustnessAdapter;
  readonly options: Required<Omit<RobustnessOptions, 'pid' | 'only' | 'onResult'>> & { pid?: number };
  readonly log: ExchangeEntry[];
  readonly startedMs: number;
  /** Every connection a case opened, destroyed when it ends. */
  readonly conns: RawConn[];
  note(text: string): void;
  open(keepBytes?: number): RawConn;
  /** A well-behaved peer: a valid exchange on a fresh connection; fails the case if not answered. */
  served(what: string): Promise<void>;
}

interface RobustnessCase {
  readonly id: string;
  readonly title: string;
  /** What the server must do, in a sentence (the report quotes it). */
  readonly must: string;
  readonly level: 'MUST' | 'SHOULD';
  /** Runs the attack; returns a note for the report, or throws a CaseVerdict. */
  run(ctx: Context): Promise<string | undefined>;
}

function failed(message: string, expected: string, actual: string): never {
  throw new CaseVerdict('FAILED', message, expected, actual);
}

const cases: RobustnessCase[] = [
  {
    id: 'oversized-length',
    title: 'A frame declaring a length over the limit is refused and the connection closed',
    must: 'close the connection within closeMs without waiting for the declared bytes; serve others meanwhile',
    level: 'MUST',
    async run(ctx) {
      const conn = ctx.open();
      conn.write(ctx.adapter.oversized);
      ctx.note(`sent a frame declaring an oversized length (${ctx.adapter.oversized.length} bytes)`);
      await ctx.served('during the oversized frame');
      const took = await conn.closedWithin(ctx.options.closeMs);
      if (took === undefined) failed('the connection stayed open', `closed within ${ctx.options.closeMs} ms`, 'open');
      return `closed after ${took} ms`;
    },
  },
  {
    id: 'stalled-partial-frame',
    title: 'A frame cut short and never finished is given up',
    must: 'close the connection within closeMs (a read or partial-frame timeout); serve others meanwhile',
    level: 'MUST',
    async run(ctx) {
      const conn = ctx.open();
      conn.write(ctx.adapter.partial);
      ctx.note(`sent ${ctx.adapter.partial.length} bytes of a frame, then nothing`);
      await ctx.served('while the partial frame stalls');
      const took = await conn.closedWithin(ctx.options.closeMs);
      if (took === undefined)
        failed('the stalled connection stayed open', `closed within ${ctx.options.closeMs} ms`, 'open');
      return `closed after ${took} ms`;
    },
  },
  {
    id: 'half-open-peer',
    title: 'A peer that closes its sending side and then never reads nor closes is released',
    must: 'close its side within closeMs, so that its descriptor is freed; serve others meanwhile',
    level: 'MUST',
    async run(ctx) {
      const conn = ctx.open();
      conn.write(ctx.adapter.partial);
      conn.socket.end();
      ctx.note('sent a partial frame and a FIN, then nothing more');
      await ctx.served('while the half-open peer waits');
      const took = await conn.closedWithin(ctx.options.closeMs);
      if (took === undefined)
        failed('the server kept the half-open connection', `its FIN within ${ctx.options.closeMs} ms`, 'none');
      return `released after ${took} ms`;
    },
  },
  {
    id: 'never-reads',
    title: 'A peer that sends requests and never reads the answers',
    must: 'either disconnect it or stop reading from it (back-pressure): its unread output must not grow without bound; serve others meanwhile',
    level: 'MUST',
    async run(ctx) {
      const conn = ctx.open(0);
      if (ctx.adapter.chatty.setup && !(await ctx.adapter.chatty.setup(conn, ctx.options.answerMs)))
        failed('the setup exchange of the never-reading peer was not answered', 'an answer', 'none');
      conn.socket.pause();
      const request = ctx.adapter.chatty.request;
      let sent = 0;
      const deadline = Date.now() + ctx.options.closeMs;
      // Push while the server reads; a server that stops reading fills our own buffer (back-pressure).
      while (!conn.isClosed && sent < ctx.options.neverReadBytes && Date.now() < deadline) {
        if (conn.socket.writableLength > 4 * 1024 * 1024) {
          await sleep(50);
          if (conn.socket.writableLength > 4 * 1024 * 1024 && (await backPressured(conn))) break;
          continue;
        }
        const batch = Buffer.concat(
          Array.from({ length: Math.max(1, Math.floor(65_536 / request.length)) }, () => request),
        );
        conn.write(batch);
        sent += batch.length;
        await sleep(5);
      }
      ctx.note(`pushed ${mb(sent)} of requests without reading`);
      await ctx.served('while the peer does not read');
      if (conn.isClosed) return `disconnected after ${mb(sent)} of requests`;
      if (conn.socket.writableLength > 0) return `the server stopped reading (back-pressure) after ${mb(sent)}`;
      // It read everything we could push in the time allowed and answered it: its unread output is
      // bounded by its own cap (a server past it cuts the peer off), so that is a pass too.
      if (sent >= ctx.options.neverReadBytes || Date.now() >= deadline)
        return `the server answered ${mb(sent)} of requests into a peer that does not read, without failing`;
      failed('the never-reading peer was neither cut off nor held back', 'a close or back-pressure', 'neither');
    },
  },
  {
    id: 'slowloris',
    title: 'A peer that drips a frame one byte at a time, never finishing it',
    must: 'close the connection within closeMs although bytes keep arriving (a partial-frame timeout, not only an idle one); serve others meanwhile',
    level: 'MUST',
    async run(ctx) {
      const conn = ctx.open();
      const frame = ctx.adapter.bigPartial?.(4096) ?? ctx.adapter.partial;
      const started = Date.now();
      let at = 0;
      let servedOnce = false;
      while (!conn.isClosed && Date.now() - started < ctx.options.closeMs) {
        conn.write(frame.subarray(at % frame.length, (at % frame.length) + 1));
        at += 1;
        if (!servedOnce) {
          servedOnce = true;
          await ctx.served('while the slow peer drips');
        }
        await sleep(200);
      }
      ctx.note(`dripped ${at} bytes, one every 200 ms`);
      if (!conn.isClosed && (await conn.closedWithin(500)) === undefined)
        failed(
          'the dripping connection stayed open',
          `closed within ${ctx.options.closeMs} ms`,
          `open after ${at} bytes`,
        );
      return `closed after ${Date.now() - started} ms and ${at} bytes`;
    },
  },
  {
    id: 'connection-flood',
    title: 'Many connections each holding a partial frame',
    must: 'stay up and serve a well-behaved peer during the flood (refusing or closing flood connections as it likes), and free them all after',
    level: 'MUST',
    async run(ctx) {
      const frame = ctx.adapter.bigPartial?.(ctx.options.floodBytes) ?? ctx.adapter.partial;
      const flood: RawConn[] = [];
      for (let i = 0; i < ctx.options.floodCount; i += 1) {
        const conn = ctx.open(0);
        conn.write(frame);
        flood.push(conn);
        if (i % 50 === 49) await sleep(10);
      }
      const opened = (await Promise.all(flood.map((conn) => conn.opened))).filter(Boolean).length;
      ctx.note(`opened ${opened} of ${ctx.options.floodCount} connections, each with ${frame.length} bytes of a frame`);
      await sleep(200);
      await ctx.served('during the flood');
      const closedByServer = flood.filter((conn) => conn.isClosed).length;
      for (const conn of flood) conn.destroy();
      return `${closedByServer} flood connections closed or refused by the server`;
    },
  },
];

/** This process's soft limit on open descriptors (Linux /proc), or undefined when unreadable. */
function openFilesLimit(): number | undefined {
  try {
    const line = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line?.[1] === undefined ? undefined : line[1] === 'unlimited' ? Infinity : Number(line[1]);
  } catch {
    return undefined;
  }
}

const halfOpenFlood: RobustnessCase = {
  id: 'half-open-flood',
  title: 'Many peers that each send a partial frame and a FIN, then neither read nor close',
  must: 'release every one within closeMs (its descriptor freed), and serve a well-behaved peer meanwhile, even when the flood outnumbers its descriptor limit',
  level: 'MUST',
  async run(ctx) {
    // The tester needs a descriptor per connection too: stay under our own limit, and say so.
    const limit = openFilesLimit() ?? Infinity;
    const count = Math.max(1, Math.min(ctx.options.halfOpenCount, limit - 200));
    const flood: RawConn[] = [];
    for (let i = 0; i < count; i += 1) {
      const conn = ctx.open(0);
      conn.write(ctx.adapter.partial);
      conn.socket.end();
      flood.push(conn);
      if (i % 50 === 49) await sleep(10);
    }
    const opened = (await Promise.all(flood.map((conn) => conn.opened))).filter(Boolean).length;
    ctx.note(
      `${opened} of ${count} half-open connections opened${count < ctx.options.halfOpenCount ? ` (capped from ${ctx.options.halfOpenCount} by this process's descriptor limit ${limit})` : ''}`,
    );
    await ctx.served('during the half-open flood');
    const took = await waitFor(() => flood.every((conn) => conn.isClosed), ctx.options.closeMs);
    const open = flood.filter((conn) => !conn.isClosed).length;
    if (took === undefined)
      failed(
        'the server kept half-open connections',
        `all ${count} released within ${ctx.options.closeMs} ms`,
        `${open} still open`,
      );
    await ctx.served('after the half-open flood');
    return `all ${count} released within ${took} ms`;
  },
};

const bruteForce: RobustnessCase = {
  id: 'auth-brute-force',
  title: 'Wrong passwords tried again and again',
  must: 'throttle: close a connection after a few failures, refuse or slow down an address that keeps failing, so that the guesses cannot be tried quickly; the right password from a well-behaved peer on a fresh connection gets in within loginWaitMs after the attack',
  level: 'SHOULD',
  async run(ctx) {
    const login = ctx.adapter.login;
    if (!login) throw new CaseVerdict('UNIMPLEMENTED', 'the protocol authenticates no password here');
    const perConnection = login.attemptsPerConnection ?? Number.POSITIVE_INFINITY;
    let conn = ctx.open();
    let onConn = 0;
    let closes = 0;
    const answers = { refused: 0, throttled: 0, lost: 0 };
    const times: number[] = [];
    const started = Date.now();
    let tried = 0;
    for (; tried < ctx.options.guesses && Date.now() - started < ctx.options.bruteForceMs; tried += 1) {
      if (onConn >= perConnection || conn.isClosed) {
        // A protocol with one attempt per connection closes right after its answer.
        if (!conn.isClosed && onConn > 0) await conn.closedWithin(100);
        if (conn.isClosed) closes += 1;
        conn.destroy();
        conn = ctx.open();
        onConn = 0;
      }
      const at = Date.now();
      const answer = await login.attempt(conn, `wrong-${tried}`, onConn === 0, ctx.options.answerMs);
      times.push(Date.now() - at);
      onConn += 1;
      if (answer === 'accepted') failed('a wrong password was accepted', 'refused', 'accepted');
      if (answer === 'refused' || answer === 'throttled') answers[answer] += 1;
      else answers.lost += 1;
      if (answer === 'closed' || answer === 'timeout') onConn = perConnection;
      // Forget what the server sent: a tester that keeps a flood's answers would fill itself.
      conn.clear();
    }
    const tookMs = Date.now() - started;
    const first = Math.max(1, Math.min(...times.slice(0, 3)));
    const slowest = Math.max(...times);
    const perSecond = (tried / Math.max(1, tookMs)) * 1000;
    ctx.note(
      `${tried} wrong passwords in ${tookMs} ms (${perSecond.toFixed(0)}/s): ${answers.refused} refused, ${answers.throttled} refused unchecked (throttled), ${answers.lost} closed or unanswered; ${closes} connections closed by the server; answers ${first}..${slowest} ms`,
    );
    conn.destroy();
    // A well-behaved peer that knows the password: a fresh connection, again after each refusal, within loginWaitMs.
    const waitStarted = Date.now();
    let right: LoginAnswer = 'timeout';
    let rightTries = 0;
    while (Date.now() - waitStarted < ctx.options.loginWaitMs) {
      const good = ctx.open();
      right = await login.attempt(good, login.right, true, ctx.options.answerMs);
      rightTries += 1;
      good.destroy();
      if (right === 'accepted') break;
      await sleep(250);
    }
    const waited = Date.now() - waitStarted;
    if (right !== 'accepted')
      failed(
        `the right password was not accepted within ${ctx.options.loginWaitMs} ms after the attack`,
        'accepted',
        right,
      );
    const throttled = closes > 0 || answers.throttled > 0 || slowest >= 4 * first + 50;
    if (!throttled)
      failed(
        'no throttling',
        'closes after a few failures, refusals unchecked, or slower answers',
        `every answer within ${slowest} ms, no close, nothing refused unchecked`,
      );
    return `${tried} guesses in ${tookMs} ms: ${answers.refused} refused, ${answers.throttled} refused unchecked as throttled, ${closes} closes; the right password then got in after ${waited} ms (${rightTries} tries)`;
  },
};

/** True when the server has stopped reading: our queue does not drain in a second. */
async function backPressured(conn: RawConn): Promise<boolean> {
  const before = conn.socket.writableLength;
  await sleep(1_000);
  return conn.socket.writableLength >= before;
}

async function waitFor(condition: () => boolean, ms: number): Promise<number | undefined> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) return undefined;
    await sleep(20);
  }
  return Date.now() - started;
}

/** The robustness cases for one adapter (the brute force only where the protocol authenticates). */
export function robustnessCases(adapter: RobustnessAdapter): readonly RobustnessCase[] {
  return adapter.login ? [...cases, halfOpenFlood, bruteForce] : [...cases, halfOpenFlood];
}

/** Runs every robustness case against one server; never throws. */
export async function runRobustness(adapter: RobustnessAdapter, given: RobustnessOptions): Promise<SuiteReport> {
  const options = {
    host: given.host,
    port: given.port,
    closeMs: given.closeMs ?? 35_000,
    answerMs: given.answerMs ?? 5_000,
    floodCount: given.floodCount ?? 200,
    floodBytes: given.floodBytes ?? 64 * 1024,
    halfOpenCount: given.halfOpenCount ?? 100,
    guesses: given.guesses ?? 30,
    bruteForceMs: given.bruteForceMs ?? 60_000,
    loginWaitMs: given.loginWaitMs ?? 35_000,
    neverReadBytes: given.neverReadBytes ?? 32 * 1024 * 1024,
    recoverMs: given.recoverMs ?? 10_000,
    rssSlackBytes: given.rssSlackBytes ?? 100_000_000,
    ...(given.pid === undefined ? {} : { pid: given.pid }),
  };
  const results: CaseResult[] = [];
  for (const testCase of robustnessCases(adapter)) {
    if (given.only && !given.only.some((suffix) => testCase.id.endsWith(suffix))) continue;
    if (testCase.id === 'half-open-flood' && options.halfOpenCount === 0) continue;
    const result = await runOne(adapter, options, testCase);
    given.onResult?.(result);
    results.push(result);
  }
  return {
    protocol: adapter.protocol,
    title: `${adapter.title} robustness`,
    target: `tcp://${given.host}:${given.port}`,
    results,
    counts: countVerdicts(results),
    coverage: {},
  };
}

async function runOne(
  adapter: RobustnessAdapter,
  options: Context['options'],
  testCase: RobustnessCase,
): Promise<CaseResult> {
  const log: ExchangeEntry[] = [];
  const startedMs = Date.now();
  const conns: RawConn[] = [];
  const ctx: Context = {
    adapter,
    options,
    log,
    startedMs,
    conns,
    note: (text) => log.push({ atMs: Date.now() - startedMs, conn: 'peer', direction: 'event', text }),
    open: (keepBytes) => {
      const conn = RawConn.open(options.host, options.port, keepBytes);
      conns.push(conn);
      return conn;
    },
    served: async (what) => {
      const conn = RawConn.open(options.host, options.port);
      conns.push(conn);
      const started = Date.now();
      const ok = (await conn.opened) && (await adapter.exchange(conn, options.answerMs));
      conn.destroy();
      if (!ok) failed(`a well-behaved peer was not served ${what}`, `an answer within ${options.answerMs} ms`, 'none');
      log.push({
        atMs: Date.now() - startedMs,
        conn: 'good',
        direction: 'event',
        text: `served ${what} in ${Date.now() - started} ms`,
      });
    },
  };
  const before = options.pid === undefined ? undefined : sampleProcess(options.pid);
  let peak = before;
  const sampler =
    options.pid === undefined
      ? undefined
      : setInterval(() => {
          const now = sampleProcess(options.pid ?? 0);
          if (now && peak) peak = { rssBytes: Math.max(peak.rssBytes, now.rssBytes), fds: Math.max(peak.fds, now.fds) };
        }, 100);
  let verdict: CaseResult['verdict'] = 'OK';
  let message = testCase.must;
  let expected: string | undefined;
  let actual: string | undefined;
  try {
    const note = await testCase.run(ctx);
    if (note) message = `${note} (${testCase.must})`;
  } catch (error) {
    if (error instanceof CaseVerdict) {
      verdict = error.verdict;
      message = error.message;
      expected = error.expected;
      actual = error.actual;
    } else {
      verdict = 'FAILED';
      message = `the case stopped: ${error instanceof Error ? error.message : String(error)}`;
    }
  } finally {
    for (const conn of conns) conn.destroy();
    if (sampler) clearInterval(sampler);
  }
  if (before && options.pid !== undefined) {
    // After the attack: descriptors back to their count before, RSS within the slack, within recoverMs.
    let after = sampleProcess(options.pid);
    const recovered = (s: Sample | undefined): boolean =>
      s !== undefined && s.fds <= before.fds && s.rssBytes <= before.rssBytes + options.rssSlackBytes;
    const took = await waitFor(() => recovered((after = sampleProcess(options.pid ?? 0))), options.recoverMs);
    const figures = `RSS ${mb(before.rssBytes)} -> ${mb(peak?.rssBytes ?? 0)} peak -> ${mb(after?.rssBytes ?? 0)}; descriptors ${before.fds} -> ${peak?.fds ?? 0} -> ${after?.fds ?? 0}`;
    log.push({ atMs: Date.now() - startedMs, conn: 'target', direction: 'event', text: figures });
    message = `${message}; ${figures}${took === undefined ? '' : ` (back after ${took} ms)`}`;
    if (verdict === 'OK' && took === undefined) {
      verdict = 'FAILED';
      expected = `descriptors back to ${before.fds} and RSS within ${mb(options.rssSlackBytes)} of ${mb(before.rssBytes)} within ${options.recoverMs} ms`;
      actual = figures;
      message = `the server did not recover after the attack: ${figures}`;
    }
  }
  if (verdict === 'FAILED' && testCase.level === 'SHOULD') verdict = 'NON-STRICT';
  return {
    id: `${adapter.protocol}/robustness/${testCase.id}`,
    title: testCase.title,
    section: 'robustness',
    quote: testCase.must,
    requirements: [],
    level: testCase.level,
    verdict,
    message,
    ...(expected === undefined ? {} : { expected }),
    ...(actual === undefined ? {} : { actual }),
    durationMs: Date.now() - startedMs,
    exchange: log,
  };
}

/** A built-in server run by `fedsim serve` in a child process, for the robustness cases and the soak. */
export interface ServedProcess {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** bin/fedsim.mjs, found upwards from this module (it runs from src/ through tsx or from the build under dist/). */
function fedsimBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up += 1) {
    const candidate = join(dir, 'bin', 'fedsim.mjs');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('bin/fedsim.mjs not found above the conformance module');
}

/** A free loopback port (bound, read and released; the served process binds it next). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/**
 * Starts `fedsim serve <protocol>` with the suite's main fixture and the given host limits, on free
 * loopback ports; resolves once it listens. `extraConfig` is merged into the node config.
 */
export async function serveBuiltin(
  protocol: string,
  node: {
    readonly id: string;
    readonly config: unknown;
    readonly ports: readonly number[];
    readonly servicePort: number;
  },
  limits: Record<string, number> = {},
  startMs = 60_000,
  /** Run the served process under `ulimit -n` this many descriptors (as the issue's attack did). */
  openFilesMax?: number,
): Promise<ServedProcess> {
  const dir = mkdtempSync(join(tmpdir(), `fedsim-robust-${protocol}-`));
  const ports: Record<string, number> = {};
  for (const port of node.ports) ports[String(port)] = await freePort();
  const file = join(dir, 'serve.json');
  writeFileSync(
    file,
    JSON.stringify({ id: node.id, config: node.config, ports, socketDir: join(dir, 'sockets'), seed: 1, limits }),
  );
  const bin = fedsimBin();
  const args = [bin, 'serve', protocol, '--config', file];
  const child =
    openFilesMax === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', `ulimit -n ${Math.floor(openFilesMax)} && exec "$0" "$@"`, process.execPath, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve ${protocol} did not listen within ${startMs} ms: ${output}`)),
      startMs,
    );
    const read = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('press Ctrl-C')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve ${protocol} exited with ${code}: ${output}`));
    });
  });
  // Keep draining its output (a full pipe would stall it); nothing of it is kept.
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  child.stdout?.resume();
  child.stderr?.resume();
  child.removeAllListeners('exit');
  return {
    pid: child.pid ?? 0,
    port: ports[String(node.servicePort)] ?? 0,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
