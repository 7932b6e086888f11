/**
 * Parses trace text in the browser: the header, one event per line, the end line. Errors carry
 * the 1-based line number. The sha256 of the end line is checked separately and asynchronously
 * (`verifySha256`), after the first render, so that a 100,000-event trace draws quickly.
 *
 * It mirrors src/trace/reader.ts, which the viewer may not import (viz/ imports only the trace
 * types and d3); it validates less (shape of the lines, order of seq), because the viewer should
 * show as much of a damaged trace as it can rather than refuse it.
 */
import type { TraceEnd, TraceEvent, TraceHeader } from '../src/trace/events.js';

export interface ParsedTrace {
  readonly header: TraceHeader;
  readonly events: readonly TraceEvent[];
  /** Undefined when the trace was cut short (still drawn, with a warning). */
  readonly end: TraceEnd | undefined;
  /** Characters before the end line: the text whose sha256 the end line states. */
  readonly hashedLength: number;
  readonly warnings: readonly string[];
}

export class TraceParseError extends Error {
  override name = 'TraceParseError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/**
 * Parses a trace as it arrives, chunk by chunk (`fetch`'s body stream), so that parsing overlaps
 * the transfer and the first screen can be drawn from the events parsed so far. `parseTraceText`
 * is the same on the whole text at once.
 */
/**
 * A send or receive line as `TraceStreamParser` reads it in `skeletons` mode: the fields of its
 * head, read without parsing the rest; the payload is parsed only when asked for (the model asks
 * only when no protocol name labels the message).
 */
class MessageSkeleton {
  constructor(
    readonly seq: number,
    readonly atMs: number,
    readonly node: string,
    readonly lamport: number,
    readonly kind: 'send' | 'receive',
    readonly msg: number,
    /** `to` of a send, `from` of a receive. */
    peer: string,
    private readonly source: string,
    /** The payload when its head was enough (size and a `type` first), else undefined: parsed on demand. */
    payload: unknown,
  ) {
    if (kind === 'send') this.to = peer;
    else this.from = peer;
    this.parsedPayload = payload;
  }

  readonly to: string = '';
  readonly from: string = '';
  private parsedPayload: unknown;

  get payload(): unknown {
    this.parsedPayload ??= (JSON.parse(this.source) as { payload: unknown }).payload;
    return this.parsedPayload;
  }
}

/**
 * The head of a send or receive line as `JSON.stringify` writes it (trace/reader.ts's
 * `formatTrace`): seq, atMs, node, lamport, kind, msg, transport, then `to` or `from`. Sticky (it
 * matches at `lastIndex` only); a line that does not start so is parsed in full.
 */
const messageHead =
  /\{"seq":(\d+),"atMs":(\d+(?:\.\d+)?),"node":"([^"\\\n]*)","lamport":(\d+),"kind":"(send|receive)","msg":(\d+),"transport":"[^"\\\n]*","(?:to|from)":"([^"\\\n]*)",/y;

/**
 * What follows a send's head when its decoded payload is an object whose first field is `type`:
 * the size and the type, all the model's label needs from it (`payloadLabel`).
 */
const payloadHead = /"payload":\{"size":(\d+),"base64":"[\w+/=]*","decoded":\{"type":"([^"\\\n]*)"/y;

export class TraceStreamParser {
  header: TraceHeader | undefined;
  readonly events: TraceEvent[] = [];
  /** Where each event's line starts and ends in the text pushed (characters), for `TraceEvents.lines`. */
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  private end: TraceEnd | undefined;
  private readonly warnings: string[] = [];
  private readonly chunks: string[] = [];
  /** The incomplete last line of the chunks so far. */
  private rest = '';
  /** Characters of the chunks before `rest`. */
  private offset = 0;
  private lineNumber = 0;
  private hashedLength = -1;

  /**
   * `skeletons`: send and receive lines in the usual form are read by their head only, into
   * objects that parse their payload on demand (for building the model off the page's thread,
   * where the events themselves are not kept). Their tail is not checked as JSON.
   */
  constructor(private readonly options: { readonly skeletons?: boolean } = {}) {}

  /** Characters pushed so far. */
  textLength = 0;

  /** Parses every complete line of `chunk` (with what was left of the previous one). */
  push(chunk: string): void {
    this.chunks.push(chunk);
    this.textLength += chunk.length;
    const text = this.rest + chunk;
    const last = text.lastIndexOf('\n');
    if (last === -1) {
      this.rest = text;
      return;
    }
    this.lines(text, last + 1);
    this.offset += last + 1;
    this.rest = text.slice(last + 1);
  }

  /** The whole text pushed so far (for the sha256 check). */
  text(): string {
    return this.chunks.join('');
  }

  finish(): ParsedTrace {
    if (this.rest !== '') {
      this.lines(this.rest, this.rest.length);
      this.offset += this.rest.length;
      this.rest = '';
    }
    const { header, end, events, warnings } = this;
    if (header === undefined) throw new TraceParseError(1, 'the trace is empty');
    if (end === undefined) warnings.push('the trace has no end line (cut short?)');
    else if (end.events !== events.length) warnings.push(`end line says ${end.events} events, found ${events.length}`);
    return {
      header,
      events,
      end,
      hashedLength: this.hashedLength < 0 ? this.offset : this.hashedLength,
      warnings,
    };
  }

  /** Parses the lines of `text` up to `stop` (a line end or the end of the text). */
  private lines(text: string, stop: number): void {
    let start = 0;
    while (start < stop && this.end === undefined) {
      this.lineNumber += 1;
      const newline = text.indexOf('\n', start);
      const lineEnd = newline === -1 || newline > stop ? stop : newline;
      const lineStart = start;
      start = lineEnd + 1;
      if (lineEnd === lineStart) continue;
      if (this.options.skeletons === true && this.header !== undefined && text.charCodeAt(lineEnd - 1) === 125) {
        messageHead.lastIndex = lineStart;
        const head = messageHead.exec(text);
        if (head !== null && messageHead.lastIndex <= lineEnd) {
          this.skeleton(head, text, lineStart, lineEnd);
          continue;
        }
      }
      this.line(text.slice(lineStart, lineEnd), this.offset + lineStart);
    }
  }

  private skeleton(head: RegExpExecArray, text: string, lineStart: number, lineEnd: number): void {
    const { events, warnings } = this;
    const seq = Number(head[1]);
    if (seq !== events.length + 1 && warnings.length < 5)
      warnings.push(`line ${this.lineNumber}: seq ${seq} where ${events.length + 1} was expected`);
    const line = text.slice(lineStart, lineEnd);
    let payload: unknown;
    if (head[5] === 'send') {
      payloadHead.lastIndex = messageHead.lastIndex;
      const found = payloadHead.exec(text);
      if (found !== null && payloadHead.lastIndex <= lineEnd)
        payload = { size: Number(found[1]), decoded: { type: found[2] as string } };
    }
    const event = new MessageSkeleton(
      seq,
      Number(head[2]),
      head[3] as string,
      Number(head[4]),
      head[5] === 'send' ? 'send' : 'receive', // The literals, not the match's copies: compared often.
      Number(head[6]),
      head[7] as string,
      line,
      payload,
    );
    events.push(event as unknown as TraceEvent);
    this.starts.push(this.offset + lineStart);
    this.ends.push(this.offset + lineEnd);
  }

  private line(line: string, at: number): void {
    const lineNumber = this.lineNumber;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new TraceParseError(lineNumber, `not JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null) throw new TraceParseError(lineNumber, 'not a JSON object');
    const record = value as Record<string, unknown>;
    if (this.header === undefined) {
      if (record['format'] !== 'fedsim-trace' || !Array.isArray(record['nodes']))
        throw new TraceParseError(lineNumber, 'not a fedsim trace header (format "fedsim-trace" with nodes)');
      this.header = value as TraceHeader;
      return;
    }
    if (record['end'] === true) {
      this.end = value as TraceEnd;
      this.hashedLength = at;
      return;
    }
    if (typeof record['seq'] !== 'number' || typeof record['kind'] !== 'string' || typeof record['node'] !== 'string')
      throw new TraceParseError(lineNumber, 'an event needs seq, node and kind');
    const { events, warnings } = this;
    if (record['seq'] !== events.length + 1 && warnings.length < 5)
      warnings.push(`line ${lineNumber}: seq ${String(record['seq'])} where ${events.length + 1} was expected`);
    events.push(value as TraceEvent);
    this.starts.push(at);
    this.ends.push(at + line.length);
  }
}

export function parseTraceText(text: string): ParsedTrace {
  const parser = new TraceStreamParser();
  parser.push(text);
  return parser.finish();
}

/** True when the end line's sha256 matches; undefined when it cannot be checked (no end line, no WebCrypto). */
export async function verifySha256(text: string, trace: ParsedTrace): Promise<boolean | undefined> {
  if (trace.end === undefined || globalThis.crypto?.subtle === undefined) return undefined;
  const bytes = new TextEncoder().encode(text.slice(0, trace.hashedLength));
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return hex === trace.end.sha256;
}
