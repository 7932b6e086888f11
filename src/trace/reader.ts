/**
 * Reads an NDJSON trace (see ./events.ts): parses each line, validates the header, every event
 * and the end line, and verifies the end line's sha256 against the bytes before it. Problems come
 * back as a `TraceError` value with the 1-based line number, never as a bare exception from
 * JSON.parse. Also writes trace text (`formatTrace`), so that every producer hashes the same way.
 *
 * It must not read clocks or random sources, and it must not trust a file: a trace may come from
 * a user's disk. It does not check protocol semantics (that is check/'s job), only the format.
 */
import { createHash } from 'node:crypto';
import { TestbedError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { traceFormat, traceFormatVersion } from './events.js';
import type { TraceEnd, TraceEvent, TraceEventKind, TraceHeader } from './events.js';

/** A parsed, validated trace. */
export interface Trace {
  readonly header: TraceHeader;
  readonly events: readonly TraceEvent[];
  readonly end: TraceEnd;
}

export type TraceErrorCode =
  | 'trace.empty'
  | 'json.invalid'
  | 'header.invalid'
  | 'event.invalid'
  | 'event.order'
  | 'end.missing'
  | 'end.invalid'
  | 'end.sha256'
  | 'trailing.data';

/** A trace file that is not a valid fedsim trace; `line` is 1-based. */
export class TraceError extends TestbedError {
  override name = 'TraceError';
  constructor(
    readonly code: TraceErrorCode,
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'unknown' | 'string?' | 'unknown?';

/** Required fields per event kind, beyond the base fields. Kept beside events.ts by hand: a new kind needs a row. */
const fieldsByKind: Readonly<Record<TraceEventKind, Readonly<Record<string, FieldType>>>> = {
  'node.start': { incarnation: 'integer' },
  'node.crash': { incarnation: 'integer' },
  'node.stop': { incarnation: 'integer' },
  listen: { endpoint: 'string' },
  unlisten: { endpoint: 'string' },
  'conn.connect': { conn: 'string', target: 'string' },
  'conn.accept': { conn: 'string', peer: 'string', peerConn: 'string' },
  'conn.open': { conn: 'string', peer: 'string', peerConn: 'string' },
  'conn.refuse': { conn: 'string', target: 'string', reason: 'string' },
  'conn.close': { conn: 'string', reason: 'string' },
  'conn.drain': { conn: 'string' },
  'tls.start': { conn: 'string', role: 'string' },
  'tls.done': { conn: 'string', ok: 'boolean', reason: 'string?' },
  send: { msg: 'integer', transport: 'string', conn: 'string?', to: 'string', payload: 'object' },
  receive: {
    msg: 'integer',
    transport: 'string',
    conn: 'string?',
    from: 'string',
    sentLamport: 'integer',
    payload: 'object',
  },
  drop: { msg: 'integer', to: 'string', reason: 'string' },
  duplicate: { msg: 'integer', to: 'string' },
  'dns.query': { query: 'string', name: 'string', type: 'string' },
  'dns.answer': { query: 'string', name: 'string', type: 'string', status: 'string', records: 'array' },
  timer: { name: 'string' },
  state: { machine: 'string', value: 'string' },
  command: { command: 'unknown' },
  deliver: { user: 'string', from: 'string', body: 'string', id: 'string?', detail: 'unknown?' },
  reject: { code: 'string', reason: 'string', detail: 'unknown?' },
  note: { what: 'string', detail: 'unknown?' },
  fault: { fault: 'string', phase: 'string', span: 'string?', detail: 'object' },
  check: { requirement: 'string', verdict: 'string', message: 'string' },
};

const baseFields: Readonly<Record<string, FieldType>> = {
  seq: 'integer',
  atMs: 'integer',
  node: 'string',
  lamport: 'integer',
  kind: 'string',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The name of the first field of `record` that does not have its type, or undefined. */
function badField(record: Record<string, unknown>, fields: Readonly<Record<string, FieldType>>): string | undefined {
  for (const [name, type] of Object.entries(fields)) {
    const value = record[name];
    const fits =
      type === 'string'
        ? typeof value === 'string'
        : type === 'number'
          ? typeof value === 'number' && Number.isFinite(value)
          : type === 'integer'
            ? Number.isSafeInteger(value)
            : type === 'boolean'
              ? typeof value === 'boolean'
              : type === 'object'
                ? isRecord(value)
                : type === 'array'
                  ? Array.isArray(value)
                  : type === 'string?'
                    ? value === undefined || typeof value === 'string'
                    : type === 'unknown'
                      ? name in record
                      : true;
    if (!fits) return `${name} (${type.replace('?', '')})`;
  }
  return undefined;
}

function validateHeader(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the header is not an object';
  if (value['format'] !== traceFormat) return `format must be "${traceFormat}"`;
  if (value['version'] !== traceFormatVersion) return `version must be ${traceFormatVersion}`;
  if (typeof value['scenario'] !== 'string') return 'scenario must be a string';
  if (!Number.isSafeInteger(value['seed'])) return 'seed must be an integer';
  const protocols = value['protocols'];
  if (!Array.isArray(protocols) || !protocols.every((p) => typeof p === 'string'))
    return 'protocols must be a list of strings';
  const plugins = value['plugins'];
  if (plugins !== undefined && (!isRecord(plugins) || !Object.values(plugins).every((p) => typeof p === 'string')))
    return 'plugins must map protocol names to module names';
  const nodes = value['nodes'];
  if (!Array.isArray(nodes)) return 'nodes must be a list';
  const seen = new Set<string>();
  for (const [index, node] of nodes.entries()) {
    if (!isRecord(node)) return `nodes[${index}] is not an object`;
    const bad = badField(node, { id: 'string', host: 'string', protocol: 'string' });
    if (bad !== undefined) return `nodes[${index}].${bad} is missing or of the wrong type`;
    const id = node['id'] as string;
    if (id === 'sim') return 'no node may be called "sim" (reserved for world events)';
    if (seen.has(id)) return `node "${id}" appears twice`;
    seen.add(id);
  }
  return undefined;
}

const verdicts = new Set(['ok', 'violation']);
const phases = new Set(['begin', 'end', 'instant']);
const transports = new Set(['stream', 'datagram']);

function validateEvent(value: unknown, nodeIds: ReadonlySet<string>): string | undefined {
  if (!isRecord(value)) return 'the event is not an object';
  const badBase = badField(value, baseFields);
  if (badBase !== undefined) return `${badBase} is missing or of the wrong type`;
  const kind = value['kind'] as string;
  if (!Object.hasOwn(fieldsByKind, kind)) return `unknown kind "${kind}"`;
  const fields = fieldsByKind[kind as TraceEventKind];
  const bad = badField(value, fields);
  if (bad !== undefined) return `${kind}: ${bad} is missing or of the wrong type`;
  const node = value['node'] as string;
  if (node !== 'sim' && !nodeIds.has(node)) return `node "${node}" is not in the header`;
  if ((value['atMs'] as number) < 0 || (value['lamport'] as number) < 0) return 'atMs and lamport must be >= 0';
  if ('transport' in fields && !transports.has(value['transport'] as string)) return `${kind}: bad transport`;
  if (kind === 'check' && !verdicts.has(value['verdict'] as string)) return 'check: verdict must be ok or violation';
  if (kind === 'fault' && !phases.has(value['phase'] as string)) return 'fault: phase must be begin, end or instant';
  if ('payload' in fields) {
    const payload = value['payload'] as Record<string, unknown>;
    const badPayload = badField(payload, { size: 'integer', base64: 'string' });
    if (badPayload !== undefined) return `${kind}: payload.${badPayload} is missing or of the wrong type`;
  }
  return undefined;
}

function validateEnd(value: Record<string, unknown>): string | undefined {
  const bad = badField(value, { events: 'integer', atMs: 'integer', sha256: 'string' });
  if (bad !== undefined) return `end line: ${bad} is missing or of the wrong type`;
  if (!/^[0-9a-f]{64}$/.test(value['sha256'] as string)) return 'end line: sha256 must be 64 lowercase hex digits';
  return undefined;
}

/** sha256 (hex) of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Parses and validates trace text. Verifies the sha256 of the end line over every byte before it.
 * @example
 * const result = readTrace(readFileSync('run.trace.ndjson', 'utf8'));
 * if (!result.ok) console.error(result.error.message); // "line 7: send: msg (integer) is missing ..."
 */
export function readTrace(text: string): Result<Trace, TraceError> {
  const fail = (code: TraceErrorCode, line: number, message: string) =>
    ({ ok: false, error: new TraceError(code, line, message) }) as const;
  if (text.length === 0) return fail('trace.empty', 1, 'the trace is empty');
  let header: TraceHeader | undefined;
  let nodeIds = new Set<string>();
  const events: TraceEvent[] = [];
  let lineNumber = 0;
  let start = 0;
  let previousAtMs = 0;
  while (start < text.length) {
    lineNumber += 1;
    const newline = text.indexOf('\n', start);
    const stop = newline === -1 ? text.length : newline;
    const line = text.slice(start, stop);
    const lineStart = start;
    start = stop + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      return fail('json.invalid', lineNumber, `not JSON: ${(error as Error).message}`);
    }
    if (header === undefined) {
      const problem = validateHeader(value);
      if (problem !== undefined) return fail('header.invalid', lineNumber, problem);
      header = value as TraceHeader;
      nodeIds = new Set(header.nodes.map((node) => node.id));
      continue;
    }
    if (isRecord(value) && value['end'] === true) {
      const problem = validateEnd(value);
      if (problem !== undefined) return fail('end.invalid', lineNumber, problem);
      const end = value as unknown as TraceEnd;
      if (end.events !== events.length)
        return fail('end.invalid', lineNumber, `end line says ${end.events} events, the trace has ${events.length}`);
      const last = events.at(-1);
      if (last !== undefined && end.atMs < last.atMs)
        return fail('end.invalid', lineNumber, `end atMs ${end.atMs} is before the last event (${last.atMs})`);
      const actual = sha256Hex(text.slice(0, lineStart));
      if (actual !== end.sha256)
        return fail('end.sha256', lineNumber, `sha256 mismatch: end line says ${end.sha256}, content is ${actual}`);
      if (start < text.length) return fail('trailing.data', lineNumber + 1, 'data after the end line');
      return { ok: true, value: { header, events, end } };
    }
    const problem = validateEvent(value, nodeIds);
    if (problem !== undefined) return fail('event.invalid', lineNumber, problem);
    const event = value as TraceEvent;
    if (event.seq !== events.length + 1)
      return fail('event.order', lineNumber, `seq ${event.seq} where ${events.length + 1} was expected`);
    if (event.atMs < previousAtMs)
      return fail('event.order', lineNumber, `atMs ${event.atMs} goes back in time (previous ${previousAtMs})`);
    previousAtMs = event.atMs;
    events.push(event);
  }
  return fail(header === undefined ? 'trace.empty' : 'end.missing', lineNumber, 'the trace has no end line');
}

/** Like `readTrace`, but throws the TraceError: for callers (CLI, tests) that stop at the first problem anyway. */
export function parseTrace(text: string): Trace {
  const result = readTrace(text);
  if (!result.ok) throw result.error;
  return result.value;
}

/**
 * Writes a trace as NDJSON text with its end line, exactly as readTrace verifies it:
 * header and events one per line, each line ending in `\n`, then the end line (also `\n`-terminated).
 * @defaultValue endAtMs is the last event's atMs (0 for an empty trace).
 */
export function formatTrace(header: TraceHeader, events: readonly TraceEvent[], endAtMs?: number): string {
  const lines = [JSON.stringify(header)];
  for (const event of events) lines.push(JSON.stringify(event));
  const body = lines.join('\n') + '\n';
  const end: TraceEnd = {
    end: true,
    events: events.length,
    atMs: endAtMs ?? events.at(-1)?.atMs ?? 0,
    sha256: sha256Hex(body),
  };
  return body + JSON.stringify(end) + '\n';
}
