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
export class TraceStreamParser {
  header: TraceHeader | undefined;
  readonly events: TraceEvent[] = [];
  private end: TraceEnd | undefined;
  private readonly warnings: string[] = [];
  private readonly chunks: string[] = [];
  /** The incomplete last line of the chunks so far. */
  private rest = '';
  /** Characters of the chunks before `rest`. */
  private offset = 0;
  private lineNumber = 0;
  private hashedLength = -1;

  /** Parses every complete line of `chunk` (with what was left of the previous one). */
  push(chunk: string): void {
    this.chunks.push(chunk);
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
      this.line(text.slice(lineStart, lineEnd), this.offset + lineStart);
    }
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
