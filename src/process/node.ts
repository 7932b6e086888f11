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

/** Whether `value` is a plain object with exactly the keys `required` and some of `optional`. */
function hasKeys(
  value: Record<string, unknown>,
  required: readonly string[],
  optional: readonly string[] = [],
): boolean {
  let count = 0;
  for (const key in value) {
    if (!required.includes(key) && !optional.includes(key)) return false;
    count += 1;
  }
  return required.every((key) => key in value) && count >= required.length;
}

const isString = (value: unknown): value is string => typeof value === 'string';

/** `{host, port}` (a port from 0 to 65535) or `{path}` (not empty), nothing more. */
function isEndpoint(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const endpoint = value as Record<string, unknown>;
  if ('path' in endpoint) return hasKeys(endpoint, ['path']) && isString(endpoint['path']) && endpoint['path'] !== '';
  const port = endpoint['port'];
  return (
    hasKeys(endpoint, ['host', 'port']) &&
    isString(endpoint['host']) &&
    typeof port === 'number' &&
    Number.isInteger(port) &&
    port >= 0 &&
    port <= 65_535
  );
}

/**
 * The most frequent output lines, checked by hand (a few times faster than the zod schema); any
 * line this does not accept goes to the schema, which accepts or words the problem. Accepts only
 * what the schema accepts.
 */
export function quickOutput(value: unknown): ProcessOutput | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const line = value as Record<string, unknown>;
  switch (line['kind']) {
    case 'write':
      return hasKeys(line, ['kind', 'conn', 'bytes'], ['decoded']) &&
        isString(line['conn']) &&
        line['conn'] !== '' &&
        isString(line['bytes'])
        ? (line as ProcessOutput)
        : undefined;
    case 'close':
      return hasKeys(line, ['kind', 'conn']) && isString(line['conn']) && line['conn'] !== ''
        ? (line as ProcessOutput)
        : undefined;
    case 'timer.set':
      return hasKeys(line, ['kind', 'id', 'delayMs']) &&
        isString(line['id']) &&
        line['id'] !== '' &&
        typeof line['delayMs'] === 'number' &&
        Number.isFinite(line['delayMs']) &&
        line['delayMs'] >= 0
        ? (line as ProcessOutput)
        : undefined;
    case 'timer.cancel':
      return hasKeys(line, ['kind', 'id']) && isString(line['id']) ? (line as ProcessOutput) : undefined;
    case 'state':
      return hasKeys(line, ['kind', 'machine', 'value']) && isString(line['machine']) && isString(line['value'])
        ? (line as ProcessOutput)
        : undefined;
    case 'note':
      return hasKeys(line, ['kind', 'what'], ['detail']) && isString(line['what'])
        ? (line as ProcessOutput)
        : undefined;
    case 'store.put':
      return hasKeys(line, ['kind', 'key', 'value']) && isString(line['key']) ? (line as ProcessOutput) : undefined;
    case 'store.get':
    case 'store.delete':
      return hasKeys(line, ['kind', 'key']) && isString(line['key']) ? (line as ProcessOutput) : undefined;
    case 'store.keys':
      return hasKeys(line, ['kind', 'prefix']) && isString(line['prefix']) ? (line as ProcessOutput) : undefined;
    case 'deliver':
      return hasKeys(line, ['kind', 'user', 'from', 'body'], ['id', 'detail']) &&
        isString(line['user']) &&
        isString(line['from']) &&
        isString(line['body']) &&
        (!('id' in line) || isString(line['id']))
        ? (line as ProcessOutput)
        : undefined;
    case 'reject':
      return hasKeys(line, ['kind', 'code', 'reason'], ['detail']) && isString(line['code']) && isString(line['reason'])
        ? (line as ProcessOutput)
        : undefined;
    case 'connect':
      return hasKeys(line, ['kind', 'conn', 'target']) &&
        isString(line['conn']) &&
        line['conn'] !== '' &&
        isEndpoint(line['target'])
        ? (line as ProcessOutput)
        : undefined;
    default:
      return undefined;
  }
}

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

/** The process-protocol line for a node input (without `now`). */
export function inputLine(input: NodeInput): Record<string, unknown> {
  switch (input.kind) {
    case 'conn.data':
      return { kind: input.kind, conn: input.conn, bytes: base64(input.bytes) };
    case 'datagram':
      return { kind: input.kind, source: input.source, port: input.port, bytes: base64(input.bytes) };
    default:
      // A copy: the caller adds `now`.
      return { ...input };
  }
}

export class ProcessNode implements ProtocolNode {
  private readonly channel: ProcessChannel;
  private readonly timers = new Map<string, unknown>();
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
  /** Each armed timer's function, to the timer's id (a timer event's tag names the function), and back. */
  private readonly timerIds = new Map<unknown, string>();
  private readonly timerFires = new Map<string, () => void>();

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
    this.step({
      kind: 'start',
      node: this.host.id,
      host: this.host.hostName,
      seed: this.host.random.uint32(),
      incarnation: this.incarnation,
      now: this.host.now(),
      config: this.config,
    });
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
    let line: Record<string, unknown>;
    const timerId = this.timerIds.get(payload);
    if (timerId !== undefined) line = { kind: 'timer', id: timerId, now: nowMs };
    else if (typeof payload === 'object' && payload !== null) {
      line = inputLine(payload as NodeInput);
      line['now'] = nowMs;
    } else return;
    const given = JSON.stringify(line);
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
    const line = inputLine(input);
    line['now'] = this.host.now();
    this.step(line);
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
    this.step({ kind: 'stop', now: this.host.now() });
    if (this.stopped) return;
    this.stopped = true;
    for (const handle of this.timers.values()) this.host.clock.clearTimeout(handle);
    this.timers.clear();
    this.channel.close(stopGraceMs);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ahead = undefined;
    for (const handle of this.timers.values()) this.host.clock.clearTimeout(handle);
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

  /** Runs one step: the input line, then the child's lines up to `end`. */
  private step(input: Record<string, unknown>): void {
    if (this.stopped) return;
    this.steps += 1;
    const given = JSON.stringify(input);
    // The first step also waits for the process to start.
    const budgetMs = this.timeoutMs + (input['kind'] === 'start' ? spawnAllowanceMs : 0);
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

  /** `parsed` checked against the process protocol's output schema; a breach stops the run. */
  private checked(parsed: unknown, given: string, line: string): ProcessOutput {
    const checked = outputSchema.safeParse(parsed);
    if (checked.success) return checked.data;
    const issue = checked.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return this.fail(`wrote a line outside the process protocol (${where}${issue?.message ?? 'invalid'})`, given, line);
  }

  /** Parses one line of the child and carries it out. */
  private apply(line: string, given: string): ProcessOutput {
    if (line === endLine) return endOutput;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return this.fail('wrote a line that is not JSON', given, line);
    }
    // The common lines pass a quick check; zod decides the rest, and words the problem.
    const output = quickOutput(parsed) ?? this.checked(parsed, given, line);
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
        const old = this.timers.get(output.id);
        if (old !== undefined) host.clock.clearTimeout(old);
        const id = output.id;
        const fire = (): void => {
          this.timers.delete(id);
          this.timerIds.delete(fire);
          this.timerFires.delete(id);
          if (this.ahead !== undefined) return this.takeAhead(fire);
          this.step({ kind: 'timer', id, now: this.host.now() });
        };
        this.timerIds.delete(this.timerFires.get(id));
        this.timerIds.set(fire, id);
        this.timerFires.set(id, fire);
        this.timers.set(id, host.clock.setTimeout(fire, output.delayMs));
        break;
      }
      case 'timer.cancel': {
        const handle = this.timers.get(output.id);
        if (handle !== undefined) host.clock.clearTimeout(handle);
        this.timers.delete(output.id);
        this.timerIds.delete(this.timerFires.get(output.id));
        this.timerFires.delete(output.id);
        break;
      }
      case 'write':
        host.emit({
          kind: 'write',
          conn: output.conn,
          bytes: fromBase64(output.bytes),
          ...(output.decoded === undefined ? {} : { decoded: output.decoded }),
        });
        break;
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
