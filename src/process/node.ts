/**
 * A node that runs as an external process: a `ProtocolNode` that turns each `NodeInput` into one
 * line of the process protocol (schema.ts), and the child's lines back into `NodeOutput`s, timers,
 * state reports and durable-store calls on its `NodeHost`. `processProtocol` wraps a protocol so
 * that its nodes are such processes while its schemas, DNS records and describe hooks stay.
 *
 * Each incarnation is one child: `stop()` (a crash) kills it, and a restart spawns a new one, which
 * finds its durable store where the last left it, since the store belongs to the host.
 *
 * Must not: let a broken child hang the run or pass as a node bug: every protocol breach throws a
 * `ProcessNodeError` naming the node, the input and the offending line.
 */
import { Buffer } from 'node:buffer';
import { resolve } from 'node:path';
import { ProcessNodeError } from '../core/errors.js';
import {
  dnsRecordTypes,
  FrozenJson,
  type NodeHost,
  type NodeInput,
  type NodeOutput,
  type Protocol,
  type ProtocolNode,
} from '../protocols/protocol.js';
import { ProcessChannel } from './channel.js';
import {
  defaultStepTimeoutMs,
  outputSchema,
  stopGraceMs,
  spawnAllowanceMs,
  type ProcessOutput,
  type ProcessSpec,
} from './schema.js';

/** What counts of a child's lines in its `stop` step. */
const finishOutputs: ReadonlySet<string> = new Set(['end', 'store.put', 'store.delete', 'store.get', 'store.keys']);

const endLine = '{"kind":"end"}';
const endOutput: ProcessOutput = { kind: 'end' };

const isString = (value: unknown): value is string => typeof value === 'string';
/** Not an array, not null: what a JSON object parses to. */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** A connection id: a string, not empty. */
const isConn = (value: unknown): boolean => typeof value === 'string' && value !== '';
const isPort = (value: unknown): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65_535;
const recordTypes: readonly unknown[] = dnsRecordTypes;

/** How many keys `value` has (a `JSON.parse` result: its own, each once). */
function keyCount(value: Record<string, unknown>): number {
  let count = 0;
  for (const _ in value) count += 1;
  return count;
}

/** 1 when `line` has the optional field `key` (any JSON value), else 0: what it adds to the key count. */
const optional = (line: Record<string, unknown>, key: string): number => (key in line ? 1 : 0);

/** `{host, port}` (a port from 0 to 65535), nothing more. */
const isAddress = (value: unknown): boolean =>
  isObject(value) && keyCount(value) === 2 && isString(value['host']) && isPort(value['port']);

/** An address (`isAddress`) or `{path}` (not empty), nothing more. */
const isEndpoint = (value: unknown): boolean =>
  isAddress(value) || (isObject(value) && keyCount(value) === 1 && isString(value['path']) && value['path'] !== '');

/**
 * `value` (a `JSON.parse` result) when it is a line of the process protocol's output schema, else
 * undefined: the schema (schema.ts) checked by hand, a few times faster than zod, and exactly as
 * strict (test/process/quick-check.test.ts: both give the same verdict on every line). Each kind's
 * fields are checked by their values, and the key count rules out any other key: a missing field
 * reads as undefined, which fails its check, and JSON has no undefined values.
 */
export function quickOutput(value: unknown): ProcessOutput | undefined {
  if (!isObject(value)) return undefined;
  const line = value;
  const keys = keyCount(line);
  let valid: boolean;
  switch (line['kind']) {
    case 'write':
      valid = keys === 3 + optional(line, 'decoded') && isConn(line['conn']) && isString(line['bytes']);
      break;
    case 'close':
    case 'conn.buffered':
      valid = keys === 2 && isConn(line['conn']);
      break;
    case 'timer.set': {
      const delayMs = line['delayMs'];
      valid =
        keys === 3 &&
        isString(line['id']) &&
        line['id'] !== '' &&
        typeof delayMs === 'number' &&
        Number.isFinite(delayMs) &&
        delayMs >= 0;
      break;
    }
    case 'timer.cancel':
      valid = keys === 2 && isString(line['id']);
      break;
    case 'state':
      valid = keys === 3 && isString(line['machine']) && isString(line['value']);
      break;
    case 'note':
      valid = keys === 2 + optional(line, 'detail') && isString(line['what']);
      break;
    case 'store.put':
      valid = keys === 3 && isString(line['key']) && 'value' in line;
      break;
    case 'store.get':
    case 'store.delete':
      valid = keys === 2 && isString(line['key']);
      break;
    case 'store.keys':
      valid = keys === 2 && isString(line['prefix']);
      break;
    case 'deliver':
      valid =
        keys === 4 + optional(line, 'id') + optional(line, 'detail') &&
        isString(line['user']) &&
        isString(line['from']) &&
        isString(line['body']) &&
        (!('id' in line) || isString(line['id']));
      break;
    case 'reject':
      valid = keys === 3 + optional(line, 'detail') && isString(line['code']) && isString(line['reason']);
      break;
    case 'connect':
      valid = keys === 3 && isConn(line['conn']) && isEndpoint(line['target']);
      break;
    case 'listen':
    case 'unlisten':
      valid = keys === 2 && isEndpoint(line['endpoint']);
      break;
    case 'tls.start':
      valid = keys === 3 && isConn(line['conn']) && (line['role'] === 'server' || line['role'] === 'client');
      break;
    case 'datagram.send':
      valid =
        keys === 4 + optional(line, 'decoded') &&
        Number.isSafeInteger(line['port']) &&
        isAddress(line['target']) &&
        isString(line['bytes']);
      break;
    case 'dns.query':
      valid = keys === 4 && isString(line['query']) && isString(line['name']) && recordTypes.includes(line['type']);
      break;
    case 'end':
      valid = keys === 1;
      break;
    default:
      return undefined;
  }
  return valid ? (line as ProcessOutput) : undefined;
}

/**
 * What the child's output `line` says, or why it is no line of the process protocol (the words of
 * the error). `check` is the hand check (`quickOutput`); what it does not accept goes to the zod
 * schema, which accepts or words the problem. The tests pass a check that accepts nothing, to
 * compare the two paths.
 */
export function outputOf(
  line: string,
  check: (value: unknown) => ProcessOutput | undefined = quickOutput,
): ProcessOutput | string {
  if (line === endLine) return endOutput;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return 'wrote a line that is not JSON';
  }
  const output = check(parsed);
  if (output !== undefined) return output;
  const checked = outputSchema.safeParse(parsed);
  if (checked.success) return checked.data;
  const issue = checked.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `wrote a line outside the process protocol (${where}${issue?.message ?? 'invalid'})`;
}

/** `T` with its fields writable, for building an output field by field. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** How long a line is quoted in an error message. */
const quoteMax = 300;

function quote(line: string): string {
  return line.length > quoteMax ? `${line.slice(0, quoteMax)}…` : line;
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
/** The bytes of base64 `text` in an array of their own (decoded straight into it, not copied from a pooled buffer). */
function fromBase64(text: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.byteLength(text, 'base64'));
  const written = Buffer.from(bytes.buffer).write(text, 'base64');
  return written === bytes.length ? bytes : bytes.subarray(0, written);
}

/**
 * A value the child wrote in a `store.put` line: fresh from `JSON.parse`, referenced by nothing
 * else, so the store keeps it as it is instead of copying it (it copies on each read).
 */
class ParsedJson extends FrozenJson {
  constructor(private readonly value: unknown) {
    super();
  }
  toJSON(): unknown {
    return this.value;
  }
}

/** `text` as a JSON string literal. */
const quoted = (text: string): string => JSON.stringify(text);

/**
 * The process-protocol line of a node input at `now` (bytes in base64): the text
 * `JSON.stringify({ ...input, now })` writes, fields in the order the world builds them. The
 * frequent kinds are put together by hand, which builds no object and walks none; the rest go
 * through `JSON.stringify`. test/process/input-line.test.ts holds each to that.
 */
export function inputText(input: NodeInput, now: number): string {
  // What JSON writes for a number (virtual time is always finite).
  const at = Number.isFinite(now) ? `${now}` : 'null';
  switch (input.kind) {
    case 'conn.data':
      return `{"kind":"conn.data","conn":${quoted(input.conn)},"bytes":"${base64(input.bytes)}","now":${at}}`;
    case 'conn.opened':
      return `{"kind":"conn.opened","conn":${quoted(input.conn)},"now":${at}}`;
    case 'conn.closed':
      return `{"kind":"conn.closed","conn":${quoted(input.conn)},"reason":${quoted(input.reason)},"now":${at}}`;
    case 'conn.accepted':
      return `{"kind":"conn.accepted","conn":${quoted(input.conn)},"local":${JSON.stringify(input.local)},"remote":${quoted(input.remote)},"now":${at}}`;
    case 'command': {
      // A command JSON cannot write (undefined, a function) is a field JSON leaves out: the general path.
      const command = JSON.stringify(input.command) as string | undefined;
      if (command !== undefined) return `{"kind":"command","command":${command},"now":${at}}`;
      break;
    }
    case 'datagram':
      return JSON.stringify({
        kind: input.kind,
        source: input.source,
        port: input.port,
        bytes: base64(input.bytes),
        now,
      });
  }
  return JSON.stringify({ ...input, now });
}

/** The process-protocol line of a timer of the node's that fired at `now`. */
export function timerText(id: string, now: number): string {
  return `{"kind":"timer","id":${quoted(id)},"now":${Number.isFinite(now) ? `${now}` : 'null'}}`;
}

/** What a timer of the child's runs when it fires, named by the timer's id (`prefetch` reads it). */
type TimerFire = (() => void) & { timerId?: string };

/** A timer the child armed: its simulator event's handle, and the function the event runs. */
interface ArmedTimer {
  readonly handle: unknown;
  readonly fire: TimerFire;
}

export class ProcessNode implements ProtocolNode {
  private readonly channel: ProcessChannel;
  /** The child's armed timers, by id. */
  private readonly timers = new Map<string, ArmedTimer>();
  private readonly states = new Map<string, string>();
  private readonly timeoutMs: number;
  private stopped = false;
  /** In the `stop` step: the child may save durable state; everything else it says is dropped. */
  private finishing = false;
  /** An unfinished step given ahead of its turn is being read out after the run: its lines change nothing. */
  private discarding = false;
  private steps = 0;
  /** Of `steps`, those given ahead of their turn (the bench reports the share). */
  private stepsAhead = 0;
  /**
   * An input written to the child ahead of its turn (`prefetch`): what the world will hand over at
   * its turn (the same object), the line written, its virtual time and its budget.
   */
  private ahead: { payload: unknown; given: string; nowMs: number; budgetMs: number } | undefined;

  constructor(
    private readonly host: NodeHost,
    private readonly config: unknown,
    private readonly spec: ProcessSpec,
    /** The folder `spec.cwd` is relative to. */
    baseDir: string,
    private readonly incarnation: number,
  ) {
    this.timeoutMs = spec.stepTimeoutMs ?? defaultStepTimeoutMs;
    this.channel = new ProcessChannel({
      command: spec.command,
      cwd: resolve(baseDir, spec.cwd ?? '.'),
      ...(spec.env ? { env: spec.env } : {}),
    });
  }

  start(): void {
    const line = JSON.stringify({
      kind: 'start',
      node: this.host.id,
      host: this.host.hostName,
      seed: this.host.random.uint32(),
      incarnation: this.incarnation,
      now: this.host.now(),
      config: this.config,
    });
    // The first step also waits for the process to start.
    this.step(line, this.timeoutMs + spawnAllowanceMs);
  }

  /**
   * The lookahead (src/sim/world.ts `scanAhead`) gives this node the input of its next event ahead
   * of its turn: it is written to the child at once, so that the child computes it while the host
   * runs the events before it, and its answer is read at its turn (`handle`, or the timer), when
   * its outputs take effect in the serial order. Only one at a time; `payload` is the event's
   * `NodeInput`, or one of this node's timer functions; anything else is left to its turn.
   */
  prefetch(payload: unknown, nowMs: number): void {
    if (this.stopped || this.ahead !== undefined) return;
    let given: string;
    // A timer event's tag names the function it runs, which names its timer.
    const timerId = typeof payload === 'function' ? (payload as TimerFire).timerId : undefined;
    if (timerId !== undefined && this.timers.get(timerId)?.fire === payload) given = timerText(timerId, nowMs);
    else if (typeof payload === 'object' && payload !== null) given = inputText(payload as NodeInput, nowMs);
    else return;
    const budgetMs = this.timeoutMs;
    this.channel.arm(budgetMs);
    // A child that is gone shows at the input's turn, when its answer is read.
    this.channel.write(given);
    this.ahead = { payload, given, nowMs, budgetMs };
  }

  /** The turn of the input given ahead: its answer is read and carried out now. */
  private takeAhead(payload: unknown): void {
    const ahead = this.ahead as NonNullable<ProcessNode['ahead']>;
    this.ahead = undefined;
    if (ahead.payload !== payload || ahead.nowMs !== this.host.now()) {
      // The lookahead broke its own rule: no trace after this could be trusted.
      this.fail('was given an input ahead of its turn that another overtook (a fedsim bug)', ahead.given);
    }
    this.steps += 1;
    this.stepsAhead += 1;
    this.receive(ahead.given, ahead.budgetMs);
  }

  handle(input: NodeInput): void {
    if (this.ahead !== undefined) return this.takeAhead(input);
    this.step(inputText(input, this.host.now()), this.timeoutMs);
  }

  /** A graceful stop: a `stop` step (only its durable-store lines count), then the child's stdin closes. */
  finish(): void {
    if (this.stopped) return;
    this.finishing = true;
    const ahead = this.ahead;
    if (ahead !== undefined) {
      // The run stopped before an input given ahead had its turn (the lookahead keeps within the
      // run's limits, so only a run stopped by another node's failure): the child's answer is read
      // and dropped, so that the stop step reads its own.
      this.ahead = undefined;
      this.discarding = true;
      this.receive(ahead.given, ahead.budgetMs);
      this.discarding = false;
    }
    this.step(JSON.stringify({ kind: 'stop', now: this.host.now() }), this.timeoutMs);
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers.values()) this.host.clock.clearTimeout(timer.handle);
    this.timers.clear();
    this.channel.close(stopGraceMs);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ahead = undefined;
    for (const timer of this.timers.values()) this.host.clock.clearTimeout(timer.handle);
    this.timers.clear();
    this.channel.close();
  }

  view(): unknown {
    return { process: this.spec.command, steps: this.steps, states: Object.fromEntries(this.states) };
  }

  /** CPU seconds the child has used so far (Linux; 0 elsewhere): the bench reports it. */
  childCpuSeconds(): number {
    return this.channel.childCpuSeconds();
  }

  /** How many steps this incarnation has run (the bench counts them). */
  get stepCount(): number {
    return this.steps;
  }

  /** How many of them were given ahead of their turn (the lookahead's share). */
  get stepAheadCount(): number {
    return this.stepsAhead;
  }

  private fail(what: string, given: string, line?: string): never {
    this.stop();
    const offending = line === undefined ? '' : `; offending line: ${quote(line)}`;
    throw new ProcessNodeError(
      this.host.id,
      `node ${this.host.id}: external process ${JSON.stringify(this.spec.command.join(' '))} ${what}; given: ${quote(given)}${offending}`,
    );
  }

  /** Runs one step: the input line `given`, then the child's lines up to `end`, within `budgetMs`. */
  private step(given: string, budgetMs: number): void {
    if (this.stopped) return;
    this.steps += 1;
    this.channel.arm(budgetMs);
    this.channel.write(given);
    this.receive(given, budgetMs);
  }

  /** Reads the child's lines for the step given as `given`, up to `end`, and carries them out. */
  private receive(given: string, budgetMs: number): void {
    const channel = this.channel;
    let last: string | undefined;
    for (;;) {
      const line = channel.readLine();
      if (typeof line !== 'string') {
        channel.disarm();
        switch (line.kind) {
          case 'timeout':
            return this.fail(`gave no end-of-step within ${budgetMs}ms (process.stepTimeoutMs)`, given);
          case 'too-long':
            return this.fail('wrote a line longer than the process protocol allows', given, line.start);
          case 'exited': {
            if (line.partial.trim() !== '') this.apply(line.partial, given);
            const stderr =
              line.stderr.trim() === '' ? '' : `; its stderr ends: ${quote(line.stderr.trim().slice(-quoteMax))}`;
            return this.fail(`${line.why} before its end-of-step${stderr}`, given, line.partial || last);
          }
        }
      }
      last = line;
      const output = this.apply(line, given);
      if (output.kind === 'end') {
        channel.disarm();
        return;
      }
      if (output.kind === 'store.get') {
        const value = this.host.store.get(output.key);
        channel.write(
          JSON.stringify(
            value === undefined
              ? { kind: 'store.value', key: output.key, found: false }
              : { kind: 'store.value', key: output.key, found: true, value },
          ),
        );
      } else if (output.kind === 'store.keys') {
        channel.write(
          JSON.stringify({ kind: 'store.keys', prefix: output.prefix, keys: this.host.store.keys(output.prefix) }),
        );
      } else if (output.kind === 'conn.buffered') {
        channel.write(
          JSON.stringify({
            kind: 'conn.buffered',
            conn: output.conn,
            bytes: this.host.bufferedBytes(output.conn),
            highWaterBytes: this.host.writeHighWaterBytes,
          }),
        );
      }
    }
  }

  /** Parses one line of the child and carries it out. */
  private apply(line: string, given: string): ProcessOutput {
    const output = outputOf(line);
    if (typeof output === 'string') return this.fail(output, given, line);
    const host = this.host;
    if (this.discarding) return output;
    if (this.finishing && !finishOutputs.has(output.kind)) return output;
    switch (output.kind) {
      case 'end':
      case 'store.get':
      case 'store.keys':
      case 'conn.buffered':
        break;
      case 'store.put':
        host.store.put(output.key, new ParsedJson(output.value));
        break;
      case 'store.delete':
        host.store.delete(output.key);
        break;
      case 'state':
        this.states.set(output.machine, output.value);
        host.stateChanged(output.machine, output.value);
        break;
      case 'timer.set': {
        const id = output.id;
        const old = this.timers.get(id);
        if (old !== undefined) host.clock.clearTimeout(old.handle);
        const fire: TimerFire = (): void => {
          this.timers.delete(id);
          if (this.ahead !== undefined) return this.takeAhead(fire);
          this.step(timerText(id, this.host.now()), this.timeoutMs);
        };
        fire.timerId = id;
        this.timers.set(id, { handle: host.clock.setTimeout(fire, output.delayMs), fire });
        break;
      }
      case 'timer.cancel': {
        const timer = this.timers.get(output.id);
        if (timer === undefined) break;
        host.clock.clearTimeout(timer.handle);
        this.timers.delete(output.id);
        break;
      }
      case 'write': {
        // Built field by field: a conditional spread into the literal costs a second object.
        const write: Writable<Extract<NodeOutput, { kind: 'write' }>> = {
          kind: 'write',
          conn: output.conn,
          bytes: fromBase64(output.bytes),
        };
        if (output.decoded !== undefined) write.decoded = output.decoded;
        host.emit(write);
        break;
      }
      case 'datagram.send':
        host.emit({
          kind: 'datagram.send',
          port: output.port,
          target: output.target,
          bytes: fromBase64(output.bytes),
          ...(output.decoded === undefined ? {} : { decoded: output.decoded }),
        });
        break;
      default:
        // The remaining kinds are NodeOutputs as they are (zod strips nothing: the objects are strict).
        host.emit(output as NodeOutput);
    }
    return output;
  }
}

/** Incarnations so far, per node: keyed by its durable store, which lives as long as the node's runtime. */
const incarnations = new WeakMap<object, number>();

export interface ProcessProtocolOptions {
  /** The folder `spec.cwd` is relative to (the scenario file's folder). @defaultValue process.cwd() */
  readonly baseDir?: string;
}

/**
 * `base` with its nodes run as the external process `spec`: schemas, DNS records and describe
 * hooks are `base`'s, so scenarios, checkers and the viewer see the same protocol.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- wraps a protocol of any config and command types
export function processProtocol<P extends Protocol<any, any>>(
  base: P,
  spec: ProcessSpec,
  options: ProcessProtocolOptions = {},
): P {
  return {
    ...base,
    createNode: (host: NodeHost, config: unknown) => {
      const incarnation = (incarnations.get(host.store) ?? 0) + 1;
      incarnations.set(host.store, incarnation);
      return new ProcessNode(host, config, spec, options.baseDir ?? process.cwd(), incarnation);
    },
  };
}
