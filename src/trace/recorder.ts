/**
 * Records a run's trace: numbers events, keeps each node's Lamport clock, serialises NDJSON lines
 * and hashes them (sha256, deterministic) for the end line. Knows nothing of the network; the
 * World calls `record`. Observers (checkers) see every event as it is recorded.
 *
 * Must not: read a clock, or write anything that varies between two runs of the same scenario
 * and seed (no wall time, no xstate session ids, no object identity).
 */
import { createHash, type Hash } from 'node:crypto';
import { assert } from '../core/assert.js';
import {
  traceFormat,
  traceFormatVersion,
  type Payload,
  type TraceEnd,
  type TraceEvent,
  type TraceEventBody,
  type TraceHeader,
} from './events.js';

export type TraceObserver = (event: TraceEvent) => void;

export interface RecorderOptions {
  /** Keep the serialised lines in memory (to write a file). @defaultValue true */
  readonly keepLines?: boolean;
  /** Keep the event objects in memory (for checkers and tests that read them back). @defaultValue true */
  readonly keepEvents?: boolean;
  /**
   * Hash the lines for the end line's sha256. With hashing off, and no lines or events kept,
   * only the kinds observers ask for are built; with no observer either, recording is off and
   * events are only counted (bench runs). @defaultValue true
   */
  readonly hash?: boolean;
  /** Called with every serialised line, the end line included, as it is made (a file written as it goes). */
  readonly sink?: (line: string) => void;
  /**
   * With lines, events and hash all kept and no sink: serialise the events and hash them only when
   * the lines, the text or the end line's sha256 are first asked for, from the kept events (the same
   * bytes: an event is not changed once recorded). A fuzz run reads its events and, unless it
   * fails, never its text. @defaultValue false
   */
  readonly deferLines?: boolean;
}

/**
 * Serialised text is hashed in chunks of about this many characters: one `Hash.update` per
 * chunk instead of two per event. The digest of the concatenation is the same.
 */
const hashChunkChars = 64 * 1024;

/** Encodes bytes for a trace payload: base64 for replay, decoded for people. */
export function payloadOf(bytes: Uint8Array, decoded: unknown): Payload {
  const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return decoded === undefined ? { size: bytes.length, base64 } : { size: bytes.length, base64, decoded };
}

export class TraceRecorder {
  private readonly kept: string[] = [];
  readonly events: TraceEvent[] = [];
  /** Made when the first chunk is hashed: a deferred run whose text is never read makes none. */
  private hash: Hash | undefined;
  private readonly lamports = new Map<string, number>();
  private readonly observers: { readonly observer: TraceObserver; readonly kinds?: ReadonlySet<string> }[] = [];
  /** Every event's body is read: lines, events or hash kept, or an observer of every kind. */
  private everyKind: boolean;
  /** The kinds that observers of some kinds only read (when not `everyKind`). */
  private readonly observedKinds = new Set<string>();
  private seq = 0;
  private ended: TraceEnd | undefined;
  private readonly keepLines: boolean;
  private readonly keepEvents: boolean;
  private readonly hashing: boolean;
  private readonly sink: ((line: string) => void) | undefined;
  /** Lines not yet hashed, each followed by its newline. */
  private pending = '';
  /** Events recorded but not yet serialised (see `deferLines`). */
  private deferred: boolean;
  private endAtMs = 0;

  constructor(
    readonly header: TraceHeader,
    options: RecorderOptions = {},
  ) {
    this.keepLines = options.keepLines ?? true;
    this.keepEvents = options.keepEvents ?? true;
    this.hashing = options.hash ?? true;
    this.sink = options.sink;
    this.deferred =
      (options.deferLines ?? false) && this.keepLines && this.keepEvents && this.hashing && this.sink === undefined;
    this.everyKind = this.hashing || this.keepLines || this.keepEvents || this.sink !== undefined;
    // A deferred trace writes its header line with its events, when they are first read.
    if (!this.deferred) this.writeHeader();
  }

  private writeHeader(): void {
    this.write(JSON.stringify({ ...this.header, format: traceFormat, version: traceFormatVersion }));
  }

  /** The serialised lines so far (after `end`, the end line included). */
  get lines(): string[] {
    this.serialise();
    return this.kept;
  }

  get count(): number {
    return this.seq;
  }

  /**
   * Whether anything reads the body of an event of this kind (lines, events, hash, or an observer
   * of that kind). When false, callers may skip building the body and call `skip()` instead of
   * `record()`: the count, and every node's Lamport clock, come out the same.
   */
  wants(kind: TraceEvent['kind']): boolean {
    return this.everyKind || this.observedKinds.has(kind);
  }

  /**
   * Counts an event at `node` without building or keeping it (see `wants`). For a `receive`,
   * `sentLamport` is the sender's clock at the send. The node's Lamport clock still ticks, so
   * every event built (for an observer added at any time) carries the clock a full recording would.
   */
  skip(node: string, sentLamport?: number): void {
    assert(this.ended === undefined, 'trace event recorded after the end line');
    this.seq += 1;
    if (node !== 'sim') this.tick(node, sentLamport);
  }

  /**
   * Calls `observer` with every event recorded from now on, or with those of the given kinds only
   * (events of other kinds may then be counted without a body: see `wants`).
   */
  observe(observer: TraceObserver, kinds?: readonly TraceEvent['kind'][]): void {
    if (kinds === undefined) {
      this.observers.push({ observer });
      this.everyKind = true;
      return;
    }
    this.observers.push({ observer, kinds: new Set(kinds) });
    for (const kind of kinds) this.observedKinds.add(kind);
  }

  /** The node's Lamport clock now. */
  lamportOf(node: string): number {
    return this.lamports.get(node) ?? 0;
  }

  /**
   * Records one event at `node` (or `sim`). The node's Lamport clock ticks; for a `receive` it
   * first jumps past the sender's clock at send time. Returns the event, or undefined when nothing
   * reads events of its kind (it is then only counted: see `wants`).
   */
  record(atMs: number, node: string, body: TraceEventBody): TraceEvent | undefined {
    if (!this.wants(body.kind)) {
      this.skip(node, body.kind === 'receive' ? body.sentLamport : undefined);
      return undefined;
    }
    assert(this.ended === undefined, 'trace event recorded after the end line');
    const lamport = node === 'sim' ? 0 : this.tick(node, body.kind === 'receive' ? body.sentLamport : undefined);
    this.seq += 1;
    const event = { seq: this.seq, atMs, node, lamport, ...body } as TraceEvent;
    if ((this.hashing || this.keepLines || this.sink) && !this.deferred) this.write(JSON.stringify(event));
    if (this.keepEvents) this.events.push(event);
    for (const { observer, kinds } of this.observers) if (kinds === undefined || kinds.has(body.kind)) observer(event);
    return event;
  }

  /** Ticks `node`'s Lamport clock, first past the sender's for a receive; returns the new value. */
  private tick(node: string, sentLamport: number | undefined): number {
    const prior = this.lamports.get(node) ?? 0;
    const lamport = (sentLamport === undefined ? prior : Math.max(prior, sentLamport)) + 1;
    this.lamports.set(node, lamport);
    return lamport;
  }

  /** Closes the trace with the end line; returns the whole file text. */
  end(atMs: number): TraceEnd {
    if (this.ended) return this.ended;
    this.endAtMs = atMs;
    if (this.deferred) {
      // The digest is made when it is read (or the text asked for), from the kept events.
      const lines = () => this.lines;
      this.ended = {
        end: true,
        events: this.seq,
        atMs,
        get sha256(): string {
          const all = lines();
          return (JSON.parse(all[all.length - 1]!) as TraceEnd).sha256;
        },
      };
      return this.ended;
    }
    this.ended = this.endLine();
    return this.ended;
  }

  /** Hashes what is left, writes the end line, and returns its fields. */
  private endLine(): TraceEnd {
    this.flushHash();
    const digest = this.hashing ? (this.hash ?? createHash('sha256')).digest('hex') : '';
    const ended: TraceEnd = { end: true, events: this.seq, atMs: this.endAtMs, sha256: digest };
    const line = JSON.stringify(ended);
    if (this.keepLines) this.kept.push(line);
    this.sink?.(line);
    return ended;
  }

  /** Serialises and hashes the events deferred so far (and the end line, if the trace has ended). */
  private serialise(): void {
    if (!this.deferred) return;
    this.deferred = false;
    this.writeHeader();
    for (const event of this.events) this.write(JSON.stringify(event));
    if (this.ended) this.endLine();
  }

  /** The NDJSON text (after `end`, including the end line). */
  text(): string {
    return this.lines.join('\n') + '\n';
  }

  private write(line: string): void {
    if (this.hashing) {
      this.pending += line + '\n';
      if (this.pending.length >= hashChunkChars) this.flushHash();
    }
    if (this.keepLines) this.kept.push(line);
    this.sink?.(line);
  }

  private flushHash(): void {
    if (this.pending.length === 0) return;
    (this.hash ??= createHash('sha256')).update(this.pending);
    this.pending = '';
  }
}
