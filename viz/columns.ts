/**
 * The loader's fast path: a trace read from its UTF-8 bytes straight into columns, and the model
 * built from those columns (`buildPackedModel`), as the worker posts it (`PackedModel`).
 *
 * `scanTrace` reads the bytes once. Each event line is checked as JSON by a byte scanner (the
 * grammar JSON.parse accepts), and only the fields the model reads are kept: times and msg ids as
 * numbers, strings (nodes, kinds, peers, labels...) as ids into one table of distinct strings,
 * interned from their bytes so that each distinct value is decoded once. No JSON.parse, regex or
 * TextDecoder runs per line; the few fault and check lines (the model reads their nested fields)
 * are parsed by JSON.parse when the model is built, and the events shown are parsed again on the
 * page from their bytes (`TraceEvents.lines`).
 *
 * Anything it does not recognise makes it give up (`undefined`), and the loader parses the trace
 * with parse.ts and builds the model with `buildModel` instead: the header or end line in another
 * shape, a line that is not a JSON object (parse.ts then gives its error naming the line), a field
 * of an unexpected type (a valid trace has none). So every trace gives the model `buildModel`
 * gives; test/viz/columns.test.ts checks it on every bundled trace, fuzz counterexamples and
 * garbled lines.
 */
import type { TraceEnd, TraceEvent, TraceHeader } from '../src/trace/events.js';
import {
  categories,
  categoryOf,
  dnsLaneId,
  kindColor,
  laneOfTarget,
  linkEndings,
  linkStyles,
  MsgTable,
  payloadLabel,
  protocolIndexes,
} from './model.js';
import type { FaultSpan, Lane, MessageKind, MessageName, MessageNames, PackedModel, StateChange } from './model.js';

/** Event kinds the model tells apart; code 0 is any other kind. */
const kindList = [
  '',
  'send',
  'receive',
  'drop',
  'duplicate',
  'conn.connect',
  'conn.accept',
  'conn.open',
  'conn.refuse',
  'conn.close',
  'conn.drain',
  'tls.start',
  'tls.done',
  'listen',
  'unlisten',
  'dns.query',
  'dns.answer',
  'state',
  'fault',
  'node.crash',
  'node.start',
  'check',
  'note',
  'timer',
] as const;
const SEND = 1;
const RECEIVE = 2;
const DROP = 3;
const DUPLICATE = 4;
const CONNECT = 5;
const ACCEPT = 6;
const REFUSE = 8;
const TLS_DONE = 12;
const DNS_QUERY = 15;
const DNS_ANSWER = 16;
const STATE = 17;
const FAULT = 18;
const NODE_START = 20;
const CHECK = 21;

/** Category index and detail flag of each kind code (tls.done and node.start: decided per event). */
const categoryOfCode = Uint8Array.from(kindList, (kind) =>
  categories.indexOf(categoryOf({ kind } as unknown as TraceEvent)),
);
const detailOfCode = Uint8Array.from(kindList, (kind) =>
  ['state', 'dns.query', 'dns.answer', 'conn.connect', 'conn.accept', 'conn.open', 'conn.close']
    .concat(['conn.drain', 'tls.start', 'listen', 'unlisten', 'note', 'timer'])
    .includes(kind)
    ? 1
    : 0,
);

/** The top-level fields the model reads (their slot in the scanner's field arrays), by name. */
const fieldNames = [
  'seq',
  'atMs',
  'node',
  'kind',
  'msg',
  'to',
  'payload',
  'peer',
  'peerConn',
  'conn',
  'target',
  'reason',
  'query',
  'name',
  'type',
  'status',
  'records',
  'machine',
  'value',
  'ok',
  'incarnation',
  'end',
] as const;
/** Field names by length: their bytes and slots. */
const fieldsByLength: { bytes: Uint8Array; slot: number }[][] = [];
for (const [slot, name] of fieldNames.entries())
  (fieldsByLength[name.length] ??= []).push({ bytes: Uint8Array.from(name, (char) => char.charCodeAt(0)), slot });

/** The slot of the field named by `bytes[start..end)`, or -1. */
function fieldSlot(bytes: Uint8Array, start: number, end: number): number {
  const candidates = fieldsByLength[end - start];
  if (candidates === undefined) return -1;
  for (const candidate of candidates) {
    const name = candidate.bytes;
    let same = true;
    for (let i = 0; i < name.length; i++)
      if (bytes[start + i] !== name[i]) {
        same = false;
        break;
      }
    if (same) return candidate.slot;
  }
  return -1;
}

const F_SEQ = 0;
const F_AT = 1;
const F_NODE = 2;
const F_KIND = 3;
const F_MSG = 4;
const F_TO = 5;
const F_PAYLOAD = 6;
const F_PEER = 7;
const F_PEER_CONN = 8;
const F_CONN = 9;
const F_TARGET = 10;
const F_REASON = 11;
const F_QUERY = 12;
const F_NAME = 13;
const F_TYPE = 14;
const F_STATUS = 15;
const F_RECORDS = 16;
const F_MACHINE = 17;
const F_VALUE = 18;
const F_OK = 19;
const F_INCARNATION = 20;
const F_END = 21;

/** JSON value types as the scanner reports them. */
const T_NONE = 0;
const T_STRING = 1;
const T_NUMBER = 2;
const T_TRUE = 3;
const T_FALSE = 4;
const T_NULL = 5;
const T_OBJECT = 6;
const T_ARRAY = 7;

/** Thrown inside the scanner when the bytes are not what it knows; caught by `scanTrace`. */
class Unrecognised extends Error {}
const unrecognised = new Unrecognised('not recognised');

/**
 * Distinct strings, interned from UTF-8 bytes (an open-addressed hash table over the bytes) or
 * from JS strings; the same string has one id whichever way it came.
 */
class Strings {
  readonly values: string[] = [];
  private readonly byValue = new Map<string, number>();
  private table = new Int32Array(1024).fill(-1);
  private hashes = new Int32Array(1024);
  /** Where each id's bytes are in `bytes` (-1 when it was interned from a string). */
  private starts = new Int32Array(1024);
  private ends = new Int32Array(1024);
  private used = 0;
  private readonly decoder = new TextDecoder();

  constructor(private readonly bytes: Uint8Array) {}

  /** The id of the string whose UTF-8 bytes (without escapes) are `bytes[start..end)`. */
  ofBytes(start: number, end: number): number {
    const bytes = this.bytes;
    let hash = 0x811c9dc5 | 0;
    for (let at = start; at < end; at++) hash = Math.imul(hash ^ (bytes[at] as number), 0x01000193);
    const mask = this.table.length - 1;
    const length = end - start;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot] as number;
      if (entry < 0) return this.add(slot, hash, start, end);
      if (this.hashes[slot] !== hash) continue;
      const otherStart = this.starts[slot] as number;
      if ((this.ends[slot] as number) - otherStart !== length) continue;
      let same = true;
      for (let i = 0; i < length; i++)
        if (bytes[start + i] !== bytes[otherStart + i]) {
          same = false;
          break;
        }
      if (same) return entry;
    }
  }

  ofString(value: string): number {
    let id = this.byValue.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.byValue.set(value, id);
    }
    return id;
  }

  private add(slot: number, hash: number, start: number, end: number): number {
    const bytes = this.bytes;
    let ascii = true;
    for (let at = start; at < end; at++) if ((bytes[at] as number) >= 0x80) ascii = false;
    let value: string;
    if (ascii && end - start < 64) {
      value = '';
      for (let at = start; at < end; at++) value += String.fromCharCode(bytes[at] as number);
    } else value = this.decoder.decode(bytes.subarray(start, end));
    const id = this.ofString(value);
    this.table[slot] = id;
    this.hashes[slot] = hash;
    this.starts[slot] = start;
    this.ends[slot] = end;
    this.used += 1;
    if (this.used * 2 > this.table.length) this.grow();
    return id;
  }

  private grow(): void {
    const { table, hashes, starts, ends } = this;
    const size = table.length * 2;
    const mask = size - 1;
    this.table = new Int32Array(size).fill(-1);
    this.hashes = new Int32Array(size);
    this.starts = new Int32Array(size);
    this.ends = new Int32Array(size);
    for (let old = 0; old < table.length; old++) {
      const entry = table[old] as number;
      if (entry < 0) continue;
      let slot = (hashes[old] as number) & mask;
      while ((this.table[slot] as number) >= 0) slot = (slot + 1) & mask;
      this.table[slot] = entry;
      this.hashes[slot] = hashes[old] as number;
      this.starts[slot] = starts[old] as number;
      this.ends[slot] = ends[old] as number;
    }
  }
}

/** Growable columns, one class per element type (so that each push site sees one). */
class F64Column {
  length = 0;
  array: Float64Array;
  constructor(size: number) {
    this.array = new Float64Array(size);
  }

  push(value: number): void {
    if (this.length === this.array.length) {
      const bigger = new Float64Array(this.array.length * 2);
      bigger.set(this.array);
      this.array = bigger;
    }
    this.array[this.length++] = value;
  }

  done(): Float64Array {
    return this.array.subarray(0, this.length);
  }
}

class I32Column {
  length = 0;
  array: Int32Array;
  constructor(size: number) {
    this.array = new Int32Array(size);
  }

  push(value: number): void {
    if (this.length === this.array.length) {
      const bigger = new Int32Array(this.array.length * 2);
      bigger.set(this.array);
      this.array = bigger;
    }
    this.array[this.length++] = value;
  }

  done(): Int32Array {
    return this.array.subarray(0, this.length);
  }
}

class U8Column {
  length = 0;
  array: Uint8Array;
  constructor(size: number) {
    this.array = new Uint8Array(size);
  }

  push(value: number): void {
    if (this.length === this.array.length) {
      const bigger = new Uint8Array(this.array.length * 2);
      bigger.set(this.array);
      this.array = bigger;
    }
    this.array[this.length++] = value;
  }

  done(): Uint8Array {
    return this.array.subarray(0, this.length);
  }
}
const f64 = (size: number): F64Column => new F64Column(size);
const i32 = (size: number): I32Column => new I32Column(size);
const u8 = (size: number): U8Column => new U8Column(size);

/** A trace as columns: one entry per event, strings as ids into `strings`. */
export interface ColumnTrace {
  readonly header: TraceHeader;
  readonly end: TraceEnd | undefined;
  /** Bytes before the end line: those whose sha256 the end line states. */
  readonly hashedLength: number;
  readonly warnings: readonly string[];
  readonly bytes: Uint8Array;
  readonly strings: readonly string[];
  readonly count: number;
  /** Where each event's line starts and ends in `bytes`. */
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  /** Kind code (`kindList`), category index, detail flag, time, node (string id), msg (NaN when none). */
  readonly kind: Uint8Array;
  readonly category: Uint8Array;
  readonly detail: Uint8Array;
  readonly atMs: Float64Array;
  readonly node: Int32Array;
  readonly msg: Float64Array;
  /**
   * Up to three string ids per kind (-1 when the field is absent): send: to, label; drop: to,
   * reason; duplicate: to; conn.connect: conn; conn.accept: peer, peerConn; conn.refuse: target,
   * reason; dns.query: query, type, name; dns.answer: query, label; state: machine, value.
   */
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly c: Int32Array;
}

const decoder = new TextDecoder();

/**
 * Reads a whole trace from its bytes, or returns undefined when some line is not in a shape it
 * knows (the caller then uses parse.ts, which gives the same model or the same error).
 */
export function scanTrace(bytes: Uint8Array): ColumnTrace | undefined {
  const scanner = new TraceScanner(bytes);
  scanner.feed(bytes.length);
  return scanner.finish();
}

/**
 * `scanTrace` as the bytes arrive: `bytes` is the whole trace's buffer, filled from the start;
 * `feed(filled)` scans the complete lines of the first `filled` bytes. Once it has given up, it
 * does nothing more, and `finish` says undefined.
 */
export class TraceScanner {
  private scanner: Scanner | undefined;

  constructor(private readonly bytes: Uint8Array) {
    this.scanner = new Scanner(bytes);
  }

  feed(filled: number): void {
    if (this.scanner === undefined) return;
    const limit = filled >= this.bytes.length ? this.bytes.length : this.bytes.lastIndexOf(10, filled - 1) + 1;
    this.guard(() => this.scanner?.feed(limit));
  }

  finish(): ColumnTrace | undefined {
    if (this.scanner !== undefined) this.guard(() => this.scanner?.feed(this.bytes.length));
    return this.guard(() => this.scanner?.finish());
  }

  private guard<T>(run: () => T): T | undefined {
    try {
      return run();
    } catch (error) {
      if (!(error instanceof Unrecognised || error instanceof RangeError)) throw error;
      this.scanner = undefined;
      return undefined;
    }
  }
}

class Scanner {
  private at = 0;
  private readonly strings: Strings;
  /** Per field slot of the current line: value type, start and end (strings: inside the quotes), escaped. */
  private readonly type = new Uint8Array(fieldNames.length);
  private readonly start = new Int32Array(fieldNames.length);
  private readonly end = new Int32Array(fieldNames.length);
  private readonly escaped = new Uint8Array(fieldNames.length);
  /** String id -> kind code + 1 (0: another kind). */
  private kindOf = new Int32Array(64);
  /** The send's payload: its label's string id, or -1. */
  private payloadLabel = -1;
  /** Where the payload's decoded object has its label fields (`labelKeys`): string ranges. */
  private readonly found = new Int32Array(4);
  private readonly foundEnd = new Int32Array(4);
  private readonly foundEscaped = new Uint8Array(4);

  constructor(private readonly bytes: Uint8Array) {
    this.strings = new Strings(bytes);
    const guess = Math.max(16, Math.ceil(bytes.length / 160));
    this.starts = f64(guess);
    this.ends = f64(guess);
    this.kinds = u8(guess);
    this.categories = u8(guess);
    this.details = u8(guess);
    this.times = f64(guess);
    this.nodes = i32(guess);
    this.msgs = f64(guess);
    this.as = i32(guess);
    this.bs = i32(guess);
    this.cs = i32(guess);
    for (const [code, kind] of kindList.entries())
      if (code > 0) this.mark(this.kindOf, this.strings.ofString(kind), code);
  }

  private mark(table: Int32Array, id: number, value: number): void {
    if (id >= table.length) {
      const bigger = new Int32Array(Math.max(table.length * 2, id + 1));
      bigger.set(table);
      this.kindOf = bigger;
      table = bigger;
    }
    table[id] = value + 1;
  }

  private lookup(table: Int32Array, id: number): number {
    return id < table.length ? (table[id] as number) - 1 : -1;
  }

  private readonly starts: F64Column;
  private readonly ends: F64Column;
  private readonly kinds: U8Column;
  private readonly categories: U8Column;
  private readonly details: U8Column;
  private readonly times: F64Column;
  private readonly nodes: I32Column;
  private readonly msgs: F64Column;
  private readonly as: I32Column;
  private readonly bs: I32Column;
  private readonly cs: I32Column;
  private readonly warnings: string[] = [];
  private header: TraceHeader | undefined;
  private endLine: TraceEnd | undefined;
  private hashedLength = -1;
  private lineNumber = 0;
  private lineStart = 0;

  /**
   * Scans the lines before `limit` (just after a newline, or the end of the bytes when they are
   * all there).
   */
  feed(limit: number): void {
    const { bytes, warnings } = this;
    const starts = this.starts;
    const ends = this.ends;
    const kind = this.kinds;
    const category = this.categories;
    const detail = this.details;
    const atMs = this.times;
    const node = this.nodes;
    const msg = this.msgs;
    const a = this.as;
    const b = this.bs;
    const c = this.cs;
    let lineStart = this.lineStart;
    while (lineStart < limit && this.endLine === undefined) {
      this.lineNumber += 1;
      const lineNumber = this.lineNumber;
      const start = lineStart;
      if (bytes[start] === 10) {
        lineStart += 1;
        continue;
      }
      if (this.header === undefined) {
        let headerEnd = bytes.indexOf(10, start);
        if (headerEnd < 0 || headerEnd > limit) headerEnd = limit;
        this.header = parseHeader(bytes, start, headerEnd);
        lineStart = headerEnd + 1;
        continue;
      }
      // The line ends where its object does: a newline (or the end of the bytes) must follow.
      if (bytes[start] !== 123) throw unrecognised;
      this.line(start, limit);
      const lineEnd = this.at;
      if (lineEnd < limit && bytes[lineEnd] !== 10) throw unrecognised;
      lineStart = lineEnd + 1;
      if (this.type[F_END] === T_TRUE) {
        this.endLine = JSON.parse(decoder.decode(bytes.subarray(start, lineEnd))) as TraceEnd;
        this.hashedLength = start;
        break;
      }
      const eventType = this.type;
      if (eventType[F_SEQ] !== T_NUMBER || eventType[F_KIND] !== T_STRING || eventType[F_NODE] !== T_STRING)
        throw unrecognised;
      const index = kind.length;
      const seq = this.number(F_SEQ);
      if (seq !== index + 1 && warnings.length < 5)
        warnings.push(`line ${lineNumber}: seq ${seq} where ${index + 1} was expected`);
      const code = Math.max(0, this.lookup(this.kindOf, this.string(F_KIND)));
      starts.push(start);
      ends.push(lineEnd);
      kind.push(code);
      category.push(categoryOfCode[code] as number);
      let isDetail = detailOfCode[code] as number;
      if (code === TLS_DONE) {
        const ok = eventType[F_OK];
        if (ok !== T_NONE && ok !== T_TRUE && ok !== T_FALSE) throw unrecognised;
        isDetail = ok === T_TRUE ? 1 : 0;
      } else if (code === NODE_START) {
        const incarnation = eventType[F_INCARNATION];
        if (incarnation !== T_NONE && incarnation !== T_NUMBER) throw unrecognised;
        isDetail = incarnation === T_NUMBER && this.number(F_INCARNATION) <= 1 ? 1 : 0;
      }
      detail.push(isDetail);
      if (eventType[F_AT] !== T_NUMBER) throw unrecognised;
      atMs.push(this.number(F_AT));
      node.push(this.string(F_NODE));
      let first = -1;
      let second = -1;
      let third = -1;
      let id = Number.NaN;
      switch (code) {
        case SEND:
          id = this.requiredNumber(F_MSG);
          first = this.optionalString(F_TO);
          // The payload's label, read now that the line is known to be a send (the scan above
          // checked it; receives carry payloads too, and their labels are not needed).
          if (eventType[F_PAYLOAD] !== T_OBJECT) throw unrecognised;
          this.at = this.start[F_PAYLOAD] as number;
          this.payload(this.end[F_PAYLOAD] as number);
          second = this.payloadLabel;
          break;
        case RECEIVE:
        case DUPLICATE:
          id = this.requiredNumber(F_MSG);
          first = this.optionalString(F_TO);
          break;
        case DROP:
          id = this.requiredNumber(F_MSG);
          first = this.optionalString(F_TO);
          second = this.optionalString(F_REASON);
          break;
        case CONNECT:
          first = this.optionalString(F_CONN);
          break;
        case ACCEPT:
          first = this.optionalString(F_PEER);
          second = this.optionalString(F_PEER_CONN);
          break;
        case REFUSE:
          if (eventType[F_TARGET] !== T_STRING) throw unrecognised;
          first = this.string(F_TARGET);
          second = this.optionalString(F_REASON);
          break;
        case DNS_QUERY:
          first = this.optionalString(F_QUERY);
          second = this.optionalString(F_TYPE);
          third = this.optionalString(F_NAME);
          break;
        case DNS_ANSWER:
          first = this.optionalString(F_QUERY);
          second = this.answerLabel();
          break;
        case STATE:
          first = this.optionalString(F_MACHINE);
          second = this.optionalString(F_VALUE);
          break;
        default:
          break;
      }
      msg.push(id);
      a.push(first);
      b.push(second);
      c.push(third);
    }
    this.lineStart = lineStart;
  }

  /** The trace, once every byte was fed. */
  finish(): ColumnTrace {
    const { header, endLine: end, warnings, bytes } = this;
    const count = this.kinds.length;
    if (header === undefined) throw unrecognised;
    if (end === undefined) warnings.push('the trace has no end line (cut short?)');
    else if (end.events !== count) warnings.push(`end line says ${end.events} events, found ${count}`);
    return {
      header,
      end,
      hashedLength: this.hashedLength < 0 ? bytes.length : this.hashedLength,
      warnings,
      bytes,
      strings: this.strings.values,
      count,
      starts: this.starts.done(),
      ends: this.ends.done(),
      kind: this.kinds.done(),
      category: this.categories.done(),
      detail: this.details.done(),
      atMs: this.times.done(),
      node: this.nodes.done(),
      msg: this.msgs.done(),
      a: this.as.done(),
      b: this.bs.done(),
      c: this.cs.done(),
    };
  }

  /** The field's number (its type checked by the caller). */
  private number(slot: number): number {
    const { bytes } = this;
    const start = this.start[slot] as number;
    const end = this.end[slot] as number;
    let value = 0;
    if (end - start < 16) {
      for (let at = start; at < end; at++) {
        const digit = (bytes[at] as number) - 48;
        if (digit < 0 || digit > 9) return Number(decoder.decode(bytes.subarray(start, end)));
        value = value * 10 + digit;
      }
      return value;
    }
    return Number(decoder.decode(bytes.subarray(start, end)));
  }

  private requiredNumber(slot: number): number {
    if (this.type[slot] !== T_NUMBER) throw unrecognised;
    return this.number(slot);
  }

  /** The field's string id (its type checked by the caller). */
  private string(slot: number): number {
    const start = this.start[slot] as number;
    const end = this.end[slot] as number;
    if (this.escaped[slot] === 1)
      return this.strings.ofString(JSON.parse(decoder.decode(this.bytes.subarray(start - 1, end + 1))) as string);
    return this.strings.ofBytes(start, end);
  }

  /** A string field's id, -1 when absent; anything else is not recognised. */
  private optionalString(slot: number): number {
    const type = this.type[slot];
    if (type === T_NONE) return -1;
    if (type !== T_STRING) throw unrecognised;
    return this.string(slot);
  }

  /** A DNS answer's link label: its records joined when ok, else its status. */
  private answerLabel(): number {
    if (this.type[F_STATUS] !== T_STRING) throw unrecognised;
    const status = this.strings.values[this.string(F_STATUS)] as string;
    if (status !== 'ok') return this.strings.ofString(status);
    if (this.type[F_RECORDS] !== T_ARRAY) throw unrecognised;
    const records = JSON.parse(
      decoder.decode(this.bytes.subarray(this.start[F_RECORDS], this.end[F_RECORDS])),
    ) as unknown[];
    if (!records.every((record) => typeof record === 'string')) throw unrecognised;
    return this.strings.ofString(records.join(', ') || 'ok');
  }

  /** Scans one line (the object at `start`, within `end`) into the field slots; `at` is left after it. */
  private line(start: number, end: number): void {
    this.type.fill(T_NONE);
    this.payloadLabel = -1;
    this.at = start;
    this.object(end, true);
  }

  private space(end: number): void {
    const { bytes } = this;
    if ((bytes[this.at] as number) > 32) return;
    while (this.at < end) {
      const byte = bytes[this.at];
      if (byte === 32 || byte === 9 || byte === 13) this.at += 1;
      else break;
    }
  }

  /** An object at `at`; at the top level, its fields are recorded in the slots. */
  private object(end: number, top: boolean): void {
    const { bytes } = this;
    this.at += 1; // {
    this.space(end);
    if (bytes[this.at] === 125) {
      this.at += 1;
      return;
    }
    for (;;) {
      if (bytes[this.at] !== 34) throw unrecognised;
      const keyStart = this.at + 1;
      const escapedKey = this.stringAt(end);
      const keyEnd = this.at - 1;
      this.space(end);
      if (bytes[this.at] !== 58) throw unrecognised;
      this.at += 1;
      this.space(end);
      if (top) {
        // An escaped key might spell a field's name: left to JSON.parse.
        if (escapedKey) throw unrecognised;
        const slot = fieldSlot(bytes, keyStart, keyEnd);
        this.value(end, slot);
      } else this.value(end, -1);
      this.space(end);
      const next = bytes[this.at];
      this.at += 1;
      if (next === 125) return;
      if (next !== 44) throw unrecognised;
      this.space(end);
    }
  }

  /** A value at `at`, recorded in field `slot` when it is one (-1: skipped, but checked). */
  private value(end: number, slot: number): void {
    const { bytes } = this;
    const first = bytes[this.at] as number;
    const start = this.at;
    let type: number;
    let escaped = false;
    if (first === 34) {
      escaped = this.stringAt(end);
      type = T_STRING;
    } else if (first === 123) {
      this.object(end, false);
      type = T_OBJECT;
    } else if (first === 91) {
      this.array(end);
      type = T_ARRAY;
    } else if (first === 116) {
      this.literal(end, 'true');
      type = T_TRUE;
    } else if (first === 102) {
      this.literal(end, 'false');
      type = T_FALSE;
    } else if (first === 110) {
      this.literal(end, 'null');
      type = T_NULL;
    } else {
      this.numberAt(end);
      type = T_NUMBER;
    }
    if (slot < 0) return;
    this.type[slot] = type;
    if (type === T_STRING) {
      this.start[slot] = start + 1;
      this.end[slot] = this.at - 1;
      this.escaped[slot] = escaped ? 1 : 0;
    } else {
      this.start[slot] = start;
      this.end[slot] = this.at;
    }
  }

  private array(end: number): void {
    const { bytes } = this;
    this.at += 1; // [
    this.space(end);
    if (bytes[this.at] === 93) {
      this.at += 1;
      return;
    }
    for (;;) {
      if (this.at >= end) throw unrecognised;
      this.value(end, -1);
      this.space(end);
      const next = bytes[this.at];
      this.at += 1;
      if (next === 93) return;
      if (next !== 44) throw unrecognised;
      this.space(end);
    }
  }

  private literal(end: number, word: string): void {
    if (this.at + word.length > end) throw unrecognised;
    for (let i = 0; i < word.length; i++) if (this.bytes[this.at + i] !== word.charCodeAt(i)) throw unrecognised;
    this.at += word.length;
  }

  /** A string from its opening quote at `at`; leaves `at` after the closing quote. True when it has escapes. */
  private stringAt(end: number): boolean {
    const { bytes } = this;
    let at = this.at + 1;
    let escaped = false;
    for (;;) {
      if (at >= end) throw unrecognised;
      const byte = bytes[at] as number;
      if (byte === 34) break;
      if (byte < 32) throw unrecognised;
      if (byte === 92) {
        escaped = true;
        const next = bytes[at + 1];
        if (next === 117) {
          for (let i = 2; i < 6; i++) {
            const hex = bytes[at + i] as number;
            if (!((hex >= 48 && hex <= 57) || (hex >= 65 && hex <= 70) || (hex >= 97 && hex <= 102)))
              throw unrecognised;
          }
          at += 6;
          continue;
        }
        if (
          next !== 34 &&
          next !== 92 &&
          next !== 47 &&
          next !== 98 &&
          next !== 102 &&
          next !== 110 &&
          next !== 114 &&
          next !== 116
        )
          throw unrecognised;
        at += 2;
        continue;
      }
      at += 1;
    }
    this.at = at + 1;
    return escaped;
  }

  /** A number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  private numberAt(end: number): void {
    const { bytes } = this;
    let at = this.at;
    if (bytes[at] === 45) at += 1;
    if (bytes[at] === 48) at += 1;
    else at = digits(bytes, at, end);
    if (bytes[at] === 46) at = digits(bytes, at + 1, end);
    if (bytes[at] === 101 || bytes[at] === 69) {
      at += 1;
      if (bytes[at] === 43 || bytes[at] === 45) at += 1;
      at = digits(bytes, at, end);
    }
    this.at = at;
  }

  /**
   * A send's payload object: checked as any object, and its label (`payloadLabel` of its decoded
   * value and size) found on the way: the decoded object's type, verb, kind or command string,
   * else its decoded string's, else `size B`.
   */
  private payload(end: number): void {
    const { bytes } = this;
    this.at += 1; // {
    this.space(end);
    let sizeStart = -1;
    let sizeEnd = -1;
    let sizeType: number = T_NONE;
    let decodedType: number = T_NONE;
    let decodedStart = -1;
    let decodedEnd = -1;
    let decodedEscaped = false;
    /** Best of type (0), verb (1), kind (2), command (3): rank and string range. */
    let rank = 4;
    let labelStart = -1;
    let labelEnd = -1;
    let labelEscaped = false;
    if (bytes[this.at] === 125) this.at += 1;
    else
      for (;;) {
        if (bytes[this.at] !== 34) throw unrecognised;
        const keyStart = this.at + 1;
        const keyEscaped = this.stringAt(end);
        if (keyEscaped) throw unrecognised;
        const key = payloadKey(bytes, keyStart, this.at - 1);
        this.space(end);
        if (bytes[this.at] !== 58) throw unrecognised;
        this.at += 1;
        this.space(end);
        const valueStart = this.at;
        if (key === K_DECODED && bytes[this.at] === 123) {
          // The decoded object: its label fields, the last of each name counting (as in JSON.parse).
          decodedType = T_OBJECT;
          rank = 4;
          const { found, foundEnd, foundEscaped } = this;
          found.fill(-1);
          this.at += 1;
          this.space(end);
          if (bytes[this.at] === 125) this.at += 1;
          else
            for (;;) {
              if (bytes[this.at] !== 34) throw unrecognised;
              const innerKeyStart = this.at + 1;
              const innerEscaped = this.stringAt(end);
              if (innerEscaped) throw unrecognised;
              const which = labelKey(bytes, innerKeyStart, this.at - 1);
              this.space(end);
              if (bytes[this.at] !== 58) throw unrecognised;
              this.at += 1;
              this.space(end);
              const innerStart = this.at;
              const isString = bytes[this.at] === 34;
              const escaped = isString ? this.stringAt(end) : (this.value(end, -1), false);
              if (which >= 0) {
                found[which] = isString ? innerStart + 1 : -1;
                foundEnd[which] = this.at - 1;
                foundEscaped[which] = escaped ? 1 : 0;
              }
              this.space(end);
              const next = bytes[this.at];
              this.at += 1;
              if (next === 125) break;
              if (next !== 44) throw unrecognised;
              this.space(end);
            }
          for (let which = 0; which < 4; which++)
            if ((found[which] as number) >= 0) {
              rank = which;
              labelStart = found[which] as number;
              labelEnd = foundEnd[which] as number;
              labelEscaped = foundEscaped[which] === 1;
              break;
            }
        } else {
          const before = this.at;
          const isString = bytes[before] === 34;
          const escaped = isString ? this.stringAt(end) : (this.value(end, -1), false);
          if (key === K_SIZE) {
            const byte = bytes[before] as number;
            sizeType = isString ? T_STRING : byte === 123 || byte === 91 ? T_OBJECT : byte >= 97 ? T_NULL : T_NUMBER;
            sizeStart = valueStart;
            sizeEnd = this.at;
          } else if (key === K_DECODED) {
            decodedType = isString ? T_STRING : T_OBJECT;
            decodedStart = valueStart + 1;
            decodedEnd = this.at - 1;
            decodedEscaped = escaped;
            if (!isString) {
              // null, a number, an array...: payloadLabel falls to the size unless it is a string.
              decodedType = T_NULL;
            }
            rank = 4;
          }
        }
        this.space(end);
        const next = bytes[this.at];
        this.at += 1;
        if (next === 125) break;
        if (next !== 44) throw unrecognised;
        this.space(end);
      }
    this.type[F_PAYLOAD] = T_OBJECT;
    const strings = this.strings;
    if (decodedType === T_OBJECT && rank < 4) {
      this.payloadLabel = labelEscaped
        ? strings.ofString(JSON.parse(decoder.decode(bytes.subarray(labelStart - 1, labelEnd + 1))) as string)
        : strings.ofBytes(labelStart, labelEnd);
    } else if (decodedType === T_STRING) {
      const text = decodedEscaped
        ? (JSON.parse(decoder.decode(bytes.subarray(decodedStart - 1, decodedEnd + 1))) as string)
        : decoder.decode(bytes.subarray(decodedStart, decodedEnd));
      this.payloadLabel = strings.ofString(payloadLabel(text, 0));
    } else {
      if (sizeType === T_STRING || sizeType === T_OBJECT) throw unrecognised;
      // `${size} B` as payloadLabel writes it: a number as JavaScript prints it, a literal as written.
      const text = sizeType === T_NONE ? 'undefined' : latin1(bytes, sizeStart, sizeEnd);
      const size = sizeType === T_NUMBER ? String(Number(text)) : text;
      this.payloadLabel = strings.ofString(`${size} B`);
    }
  }
}

/** Past one or more digits from `at`. */
function digits(bytes: Uint8Array, at: number, end: number): number {
  const from = at;
  while (at < end && (bytes[at] as number) >= 48 && (bytes[at] as number) <= 57) at += 1;
  if (at === from) throw unrecognised;
  return at;
}

const K_SIZE = 0;
const K_DECODED = 1;
const codes = (word: string): Uint8Array => Uint8Array.from(word, (char) => char.charCodeAt(0));
const payloadKeys = [codes('size'), codes('decoded')];
/** payloadLabel's fields, in its order of preference. */
const labelKeys = [codes('type'), codes('verb'), codes('kind'), codes('command')];

/** Which of `words` the bytes `[start, end)` spell, or -1. */
function whichWord(words: readonly Uint8Array[], bytes: Uint8Array, start: number, end: number): number {
  for (let which = 0; which < words.length; which++) {
    const word = words[which] as Uint8Array;
    if (word.length !== end - start) continue;
    let same = true;
    for (let i = 0; i < word.length; i++)
      if (bytes[start + i] !== word[i]) {
        same = false;
        break;
      }
    if (same) return which;
  }
  return -1;
}
const payloadKey = (bytes: Uint8Array, start: number, end: number): number => whichWord(payloadKeys, bytes, start, end);
const labelKey = (bytes: Uint8Array, start: number, end: number): number => whichWord(labelKeys, bytes, start, end);

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let value = '';
  for (let at = start; at < end; at++) value += String.fromCharCode(bytes[at] as number);
  return value;
}

/** The header line, as parse.ts reads it; anything else is not recognised (parse.ts gives the error). */
function parseHeader(bytes: Uint8Array, start: number, end: number): TraceHeader {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes.subarray(start, end)));
  } catch {
    throw unrecognised;
  }
  if (typeof value !== 'object' || value === null) throw unrecognised;
  const record = value as Record<string, unknown>;
  if (record['format'] !== 'fedsim-trace' || !Array.isArray(record['nodes'])) throw unrecognised;
  return value as TraceHeader;
}

/** A growable list of links, as columns. */
class LinkColumns {
  readonly from: I32Column;
  readonly to: I32Column;
  readonly fromLane: I32Column;
  readonly toLane: I32Column;
  readonly style: U8Column;
  readonly ending: U8Column;
  readonly duplicate: U8Column;
  readonly msg: F64Column;
  /** Into the builder's keys, colours and labels. */
  readonly key: I32Column;
  readonly color: I32Column;
  readonly label: I32Column;

  constructor(size: number) {
    this.from = i32(size);
    this.to = i32(size);
    this.fromLane = i32(size);
    this.toLane = i32(size);
    this.style = u8(size);
    this.ending = u8(size);
    this.duplicate = u8(size);
    this.msg = f64(size);
    this.key = i32(size);
    this.color = i32(size);
    this.label = i32(size);
  }

  push(
    style: number,
    from: number,
    to: number,
    fromLane: number,
    toLane: number,
    ending: number,
    label: number,
    color: number,
    key: number,
    msg: number,
    duplicate: boolean,
  ): void {
    this.from.push(from);
    this.to.push(to);
    this.fromLane.push(fromLane);
    this.toLane.push(toLane);
    this.style.push(style);
    this.ending.push(ending);
    this.duplicate.push(duplicate ? 1 : 0);
    this.msg.push(msg);
    this.key.push(key);
    this.color.push(color);
    this.label.push(label);
  }
}

/** Distinct strings by first appearance (keys, colours, labels). */
class Table {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  of(value: string): number {
    let id = this.index.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.index.set(value, id);
    }
    return id;
  }
}

const STYLE_MESSAGE = linkStyles.indexOf('message');
const STYLE_CONNECT = linkStyles.indexOf('connect');
const STYLE_REFUSE = linkStyles.indexOf('refuse');
const STYLE_QUERY = linkStyles.indexOf('dns.query');
const STYLE_ANSWER = linkStyles.indexOf('dns.answer');
const END_ARROW = linkEndings.indexOf('arrow');
const END_CROSS = linkEndings.indexOf('cross');
const END_OPEN = linkEndings.indexOf('open');

/**
 * The model of a scanned trace, as the worker posts it: what `packModel(buildModel(...))` gives
 * for the same trace (the same links in the same order, the same kinds, keys, colours and labels),
 * built from the columns without an object per event or per link.
 */
export function buildPackedModel(
  trace: ColumnTrace,
  names: MessageNames = new Map(),
): { packed: PackedModel; transfer: ArrayBuffer[] } {
  const { header, strings, count, bytes, starts, ends, kind: kindOf, node, msg, a, b, c } = trace;
  const lanes: Lane[] = header.nodes.map((one) => ({ id: one.id, protocol: one.protocol, pseudo: false }));
  const laneById = new Map<string, number>(lanes.map((lane, index) => [lane.id, index]));
  const laneByHost = new Map<string, number>();
  header.nodes.forEach((one, index) => {
    laneByHost.set(one.host, index);
    laneByHost.set(one.id, index);
  });
  const usesDns = kindOf.includes(DNS_QUERY);
  const dnsLane = usesDns ? lanes.length : -1;
  if (usesDns) lanes.push({ id: dnsLaneId, protocol: 'dns', pseudo: true });
  const protocolIndex = protocolIndexes(header);

  /** Per string id: its lane as a node (`sim` -1), as a lane id, as a connect target (-2: not yet known). */
  const nodeLane = new Int32Array(strings.length).fill(-2);
  const idLane = new Int32Array(strings.length).fill(-2);
  const targetLane = new Int32Array(strings.length).fill(-2);
  const laneOfId = (id: number): number => {
    if (id < 0) return -1;
    let lane = idLane[id] as number;
    if (lane === -2) idLane[id] = lane = laneById.get(strings[id] as string) ?? -1;
    return lane;
  };
  const text = (id: number): string | undefined => (id < 0 ? undefined : strings[id]);

  const laneOf = new Int32Array(count);
  const kindKey = new Int32Array(count).fill(-1); // into `keys` (builder's order until packed)
  const keys = new Table();
  const colors = new Table();
  const labels = new Table();
  const links = new LinkColumns(count + 16);
  const faults: FaultSpan[] = [];
  const states: StateChange[][] = lanes.map(() => []);
  const kinds: MessageKind[] = [];
  /** Per key id: its kind (-1 for `unknown/?` and the link styles' keys), its colour and label ids. */
  const kindOfKey: number[] = [];
  const kindsPerProtocol = new Map<string, number>();
  /** Per lane + 1, label -> key id. */
  const kindByLabel = new Array<Map<string, number>>(lanes.length + 1);
  for (let lane = 0; lane <= lanes.length; lane++) kindByLabel[lane] = new Map();
  const violations: number[] = [];
  const sends = new MsgTable(count); // msg -> event index of its (last) send
  const sendOrder: number[] = [];
  const ended = new MsgTable(count);
  const duplicated = new MsgTable(count);
  const connects = new PairMap(strings);
  const dnsQueries = new PairMap(strings);
  // The names by msg id in a dense array when they are a Map (a lookup per send).
  const nameOf = names instanceof Map ? denseNames(names as ReadonlyMap<number, MessageName>, count) : undefined;
  const openFaults = new Map<string, number>();
  const grey = colors.of('#888888');
  const connectKey = keys.of('connect');
  const refuseKey = keys.of('refuse');
  const dnsKey = keys.of('dns');
  kindOfKey.push(-1, -1, -1);
  const connectColor = colors.of('#8a8a8a');
  const refuseColor = colors.of('#d62728');
  const dnsColor = colors.of('#7f7f7f');
  const connectLabel = labels.of('connect');
  const kindLabel: number[] = [];
  const kindColorId: number[] = [];

  const kindFor = (lane: number, label: string): number => {
    const byLabel = kindByLabel[lane + 1] as Map<string, number>;
    let key = byLabel.get(label);
    if (key === undefined) {
      const protocol = header.nodes[lane]?.protocol ?? 'unknown';
      const keyText = `${protocol}/${label}`;
      key = keys.of(keyText);
      if (!((kindOfKey[key] ?? -1) >= 0)) {
        // A new kind (two lanes of one protocol share it).
        const index = kindsPerProtocol.get(protocol) ?? 0;
        kindsPerProtocol.set(protocol, index + 1);
        const color = kindColor(protocolIndex.get(protocol) ?? 0, index);
        kindOfKey[key] = kinds.length;
        kinds.push({ key: keyText, protocol, label, color, count: 0 });
        kindLabel[key] = labels.of(label);
        kindColorId[key] = colors.of(color);
      }
      byLabel.set(label, key);
    }
    return key;
  };
  const parseLine = (index: number): TraceEvent =>
    JSON.parse(decoder.decode(bytes.subarray(starts[index], ends[index]))) as TraceEvent;
  const lanesOfDetail = (detail: Readonly<Record<string, unknown>>): number[] => {
    const found: number[] = [];
    for (const value of Object.values(detail)) {
      const candidates = Array.isArray(value) ? value : [value];
      for (const candidate of candidates) {
        if (typeof candidate !== 'string') continue;
        const lane = laneById.get(candidate) ?? laneOfTarget(candidate, laneByHost);
        if (lane >= 0 && !found.includes(lane)) found.push(lane);
      }
    }
    return found;
  };

  for (let index = 0; index < count; index++) {
    const nodeId = node[index] as number;
    let lane = nodeLane[nodeId] as number;
    if (lane === -2) {
      const name = strings[nodeId] as string;
      nodeLane[nodeId] = lane = name === 'sim' ? -1 : (laneById.get(name) ?? -1);
    }
    laneOf[index] = lane;
    switch (kindOf[index]) {
      case SEND: {
        const id = msg[index] as number;
        sends.set(id, index);
        sendOrder.push(index);
        const label =
          (nameOf !== undefined && id >= 0 && id < nameOf.dense.length && Number.isInteger(id)
            ? nameOf.names[nameOf.dense[id] as number]
            : names.get(id)?.name) ?? (strings[b[index] as number] as string);
        const key = kindFor(lane, label);
        (kinds[kindOfKey[key] as number] as MessageKind).count += 1;
        kindKey[index] = key;
        break;
      }
      case RECEIVE:
      case DROP:
      case DUPLICATE: {
        const id = msg[index] as number;
        const sendIndex = sends.get(id);
        const key = sendIndex < 0 ? keys.of('unknown/?') : (kindKey[sendIndex] as number);
        kindKey[index] = key;
        const code = kindOf[index];
        if (code === DUPLICATE) {
          duplicated.set(id, 1);
          break;
        }
        const fromLane = sendIndex < 0 ? -1 : (laneOf[sendIndex] as number);
        const toLane = code === RECEIVE ? lane : laneOfId(a[index] as number);
        if (fromLane < 0 || toLane < 0) break;
        const duplicate = code === RECEIVE && (ended.get(id) === 1 || duplicated.get(id) === 1);
        if (code === RECEIVE && duplicated.get(id) === 1) duplicated.set(id, 0);
        ended.set(id, 1);
        // A msg never sent has the key `unknown/?`, a kind only if some send has it too.
        const isKind = sendIndex >= 0;
        const hasKind = (kindOfKey[key] ?? -1) >= 0;
        const base = isKind ? (kinds[kindOfKey[key] as number] as MessageKind).label : `#${id}`;
        const label =
          code === DROP
            ? labels.of(`${base} ✕ ${text(b[index] as number)}`)
            : duplicate
              ? labels.of(`${base} (dup)`)
              : isKind
                ? (kindLabel[key] as number)
                : labels.of(base);
        const color = hasKind ? (kindColorId[key] as number) : grey;
        links.push(
          STYLE_MESSAGE,
          sendIndex,
          index,
          fromLane,
          toLane,
          code === DROP ? END_CROSS : END_ARROW,
          label,
          color,
          key,
          id,
          duplicate,
        );
        break;
      }
      case CONNECT:
        connects.set(nodeId, a[index] as number, index);
        break;
      case ACCEPT: {
        const connectIndex = connects.get(a[index] as number, b[index] as number);
        if (connectIndex === undefined) break;
        links.push(
          STYLE_CONNECT,
          connectIndex,
          index,
          laneOf[connectIndex] as number,
          lane,
          END_ARROW,
          connectLabel,
          connectColor,
          connectKey,
          0,
          false,
        );
        break;
      }
      case REFUSE: {
        const target = a[index] as number;
        let toLane = targetLane[target] as number;
        if (toLane === -2) targetLane[target] = toLane = laneOfTarget(strings[target] as string, laneByHost);
        if (toLane < 0 || toLane === lane) break;
        const label = labels.of(`connect ${strings[target]}: ${text(b[index] as number)}`);
        links.push(STYLE_REFUSE, index, index, lane, toLane, END_CROSS, label, refuseColor, refuseKey, 0, false);
        break;
      }
      case DNS_QUERY:
        dnsQueries.set(nodeId, a[index] as number, index);
        if (dnsLane >= 0 && lane >= 0) {
          const label = labels.of(`${text(b[index] as number)} ${text(c[index] as number)}?`);
          links.push(STYLE_QUERY, index, index, lane, dnsLane, END_ARROW, label, dnsColor, dnsKey, 0, false);
        }
        break;
      case DNS_ANSWER: {
        const queryIndex = dnsQueries.get(nodeId, a[index] as number) ?? index;
        if (dnsLane >= 0 && lane >= 0) {
          const label = labels.of(strings[b[index] as number] as string);
          links.push(STYLE_ANSWER, queryIndex, index, dnsLane, lane, END_ARROW, label, dnsColor, dnsKey, 0, false);
        }
        break;
      }
      case STATE:
        if (lane >= 0)
          states[lane]?.push({
            index,
            machine: text(a[index] as number) as string,
            value: text(b[index] as number) as string,
          });
        break;
      case FAULT: {
        const event = parseLine(index) as TraceEvent & { kind: 'fault' };
        const involved = lanesOfDetail(event.detail);
        const label = `${event.fault}${involved.length > 0 ? ` ${involved.map((l) => lanes[l]?.id).join(' | ')}` : ''}`;
        if (event.phase === 'begin') {
          if (event.span !== undefined) openFaults.set(event.span, faults.length);
          faults.push({ fault: event.fault, from: index, to: -1, lanes: involved, label });
        } else if (event.phase === 'end') {
          const open = event.span === undefined ? undefined : openFaults.get(event.span);
          if (open !== undefined) {
            faults[open] = { ...(faults[open] as FaultSpan), to: index };
            openFaults.delete(event.span as string);
          }
        } else {
          faults.push({ fault: event.fault, from: index, to: index, lanes: involved, label });
        }
        break;
      }
      case CHECK:
        if ((parseLine(index) as TraceEvent & { kind: 'check' }).verdict === 'violation') violations.push(index);
        break;
      default:
        break;
    }
  }
  for (const sendIndex of sendOrder) {
    const id = msg[sendIndex] as number;
    if (sends.get(id) !== sendIndex || ended.get(id) === 1) continue;
    const toLane = laneOfId(a[sendIndex] as number);
    if (toLane < 0) continue;
    const key = kindKey[sendIndex] as number;
    const kind = kinds[kindOfKey[key] as number] as MessageKind;
    const label = labels.of(`${kind.label} (in flight)`);
    links.push(
      STYLE_MESSAGE,
      sendIndex,
      sendIndex,
      laneOf[sendIndex] as number,
      toLane,
      END_OPEN,
      label,
      kindColorId[key] as number,
      key,
      id,
      false,
    );
  }

  // Links in order of (from, to, push order): two stable counting sorts, by `to` then by `from`.
  const total = links.from.length;
  const byTo = countingOrder(links.to.array, total, count, undefined);
  const order = countingOrder(links.from.array, total, count, byTo);
  const takeI32 = (column: I32Column): Int32Array => {
    const values = column.array;
    const made = new Int32Array(total);
    for (let at = 0; at < total; at++) made[at] = values[order[at] as number] as number;
    return made;
  };
  const takeU8 = (column: U8Column): Uint8Array => {
    const values = column.array;
    const made = new Uint8Array(total);
    for (let at = 0; at < total; at++) made[at] = values[order[at] as number] as number;
    return made;
  };
  const takeF64 = (column: F64Column): Float64Array => {
    const values = column.array;
    const made = new Float64Array(total);
    for (let at = 0; at < total; at++) made[at] = values[order[at] as number] as number;
    return made;
  };
  const from = takeI32(links.from);
  const to = takeI32(links.to);
  const style = takeU8(links.style);
  const linkKey = takeI32(links.key);
  const linkColor = takeI32(links.color);
  const linkLabel = takeI32(links.label);

  // Keys, colours and labels numbered as packModel numbers them: keys by first use over the
  // events then the links, colours and labels over the links.
  const keyIds = new Int32Array(keys.values.length).fill(-1);
  const packedKeys: string[] = [];
  const renumber = (ids: Int32Array, table: Int32Array, out: string[], values: readonly string[]): void => {
    for (let at = 0; at < ids.length; at++) {
      const id = ids[at] as number;
      if (id < 0) continue;
      let packed = table[id] as number;
      if (packed < 0) {
        table[id] = packed = out.length;
        out.push(values[id] as string);
      }
      ids[at] = packed;
    }
  };
  renumber(kindKey, keyIds, packedKeys, keys.values);
  renumber(linkKey, keyIds, packedKeys, keys.values);
  const packedColors: string[] = [];
  renumber(linkColor, new Int32Array(colors.values.length).fill(-1), packedColors, colors.values);
  const packedLabels: string[] = [];
  renumber(linkLabel, new Int32Array(labels.values.length).fill(-1), packedLabels, labels.values);

  const linkAt = new Int32Array(count).fill(-1);
  for (let link = 0; link < total; link++) {
    const message = style[link] === STYLE_MESSAGE;
    for (let end = 0; end < 2; end++) {
      const at = (end === 0 ? from[link] : to[link]) as number;
      const current = linkAt[at] as number;
      if (current < 0 || (message && style[current] !== STYLE_MESSAGE)) linkAt[at] = link;
    }
  }

  const link = {
    from,
    to,
    fromLane: takeI32(links.fromLane),
    toLane: takeI32(links.toLane),
    style,
    ending: takeU8(links.ending),
    duplicate: takeU8(links.duplicate),
    msg: takeF64(links.msg),
    key: linkKey,
    color: linkColor,
    label: linkLabel,
  };
  const packed: PackedModel = {
    header,
    lanes,
    faults,
    states,
    kinds,
    violations,
    laneOf,
    linkAt,
    atMs: trace.atMs,
    category: trace.category,
    detail: trace.detail,
    kindKey,
    keys: packedKeys,
    colors: packedColors,
    labels: packedLabels,
    link,
  };
  const transfer = [laneOf, linkAt, trace.atMs, trace.category, trace.detail, kindKey, ...Object.values(link)].map(
    (array) => array.buffer as ArrayBuffer,
  );
  return { packed, transfer: [...new Set(transfer)] };
}

/**
 * The order of `count` items sorted by `values` (integers in [0, range)), stable; `within` is the
 * order to keep among equal values (the identity when undefined).
 */
function countingOrder(values: Int32Array, count: number, range: number, within: Int32Array | undefined): Int32Array {
  const counts = new Int32Array(range + 1);
  for (let at = 0; at < count; at++) {
    const slot = (values[at] as number) + 1;
    counts[slot] = (counts[slot] as number) + 1;
  }
  for (let value = 0; value < range; value++)
    counts[value + 1] = (counts[value + 1] as number) + (counts[value] as number);
  const order = new Int32Array(count);
  for (let at = 0; at < count; at++) {
    const item = within === undefined ? at : (within[at] as number);
    const value = values[item] as number;
    const slot = counts[value] as number;
    order[slot] = item;
    counts[value] = slot + 1;
  }
  return order;
}

/**
 * A map keyed by two strings (ids into `strings`, -1 for undefined) as buildModel keys it,
 * `${first} ${second}`: by number when neither has a space (two such pairs make the same key
 * exactly when both strings are the same), else by that text (which then has two spaces or more,
 * so the two kinds of key never meet).
 */
class PairMap {
  private readonly byNumber = new Map<number, number>();
  private readonly byText = new Map<string, number>();
  /** Per string id: 1 when it has a space, 2 when not, 0 unknown. */
  private readonly spaced: Uint8Array;
  /** The id standing for undefined: the string "undefined"'s, as the template writes it. */
  private readonly undefinedId: number;
  private readonly size: number;

  constructor(private readonly strings: readonly string[]) {
    this.spaced = new Uint8Array(strings.length + 1);
    const found = strings.indexOf('undefined');
    this.undefinedId = found >= 0 ? found : strings.length;
    this.size = strings.length + 1;
  }

  set(first: number, second: number, value: number): void {
    const key = this.key(first, second);
    if (typeof key === 'number') this.byNumber.set(key, value);
    else this.byText.set(key, value);
  }

  get(first: number, second: number): number | undefined {
    const key = this.key(first, second);
    return typeof key === 'number' ? this.byNumber.get(key) : this.byText.get(key);
  }

  private key(first: number, second: number): number | string {
    const one = first < 0 ? this.undefinedId : first;
    const two = second < 0 ? this.undefinedId : second;
    if (this.hasSpace(one) || this.hasSpace(two)) return `${this.strings[one]} ${this.strings[two]}`;
    return one * this.size + two;
  }

  private hasSpace(id: number): boolean {
    let known = this.spaced[id] as number;
    if (known === 0) this.spaced[id] = known = (this.strings[id] ?? 'undefined').includes(' ') ? 1 : 2;
    return known === 1;
  }
}

/** Names by msg id for ids up to a few times the events (others: not in `dense`, looked up in the Map). */
function denseNames(
  names: ReadonlyMap<number, MessageName>,
  events: number,
): { dense: Int32Array; names: (string | undefined)[] } {
  const dense = new Int32Array(4 * events + 16).fill(-1);
  const list: (string | undefined)[] = [];
  for (const [msg, name] of names)
    if (msg >= 0 && msg < dense.length && Number.isInteger(msg)) {
      dense[msg] = list.length;
      list.push(name.name);
    }
  // dense[msg] = -1 reads list[-1], undefined: no name.
  return { dense, names: list };
}
