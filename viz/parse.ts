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

export function parseTraceText(text: string): ParsedTrace {
  const warnings: string[] = [];
  let header: TraceHeader | undefined;
  let end: TraceEnd | undefined;
  const events: TraceEvent[] = [];
  let hashedLength = text.length;
  let start = 0;
  let lineNumber = 0;
  while (start < text.length) {
    lineNumber += 1;
    const newline = text.indexOf('\n', start);
    const stop = newline === -1 ? text.length : newline;
    const lineStart = start;
    start = stop + 1;
    if (stop === lineStart) continue;
    let value: unknown;
    try {
      value = JSON.parse(text.slice(lineStart, stop));
    } catch (error) {
      throw new TraceParseError(lineNumber, `not JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null) throw new TraceParseError(lineNumber, 'not a JSON object');
    const record = value as Record<string, unknown>;
    if (header === undefined) {
      if (record['format'] !== 'fedsim-trace' || !Array.isArray(record['nodes']))
        throw new TraceParseError(lineNumber, 'not a fedsim trace header (format "fedsim-trace" with nodes)');
      header = value as TraceHeader;
      continue;
    }
    if (record['end'] === true) {
      end = value as TraceEnd;
      hashedLength = lineStart;
      break;
    }
    if (typeof record['seq'] !== 'number' || typeof record['kind'] !== 'string' || typeof record['node'] !== 'string')
      throw new TraceParseError(lineNumber, 'an event needs seq, node and kind');
    if (record['seq'] !== events.length + 1 && warnings.length < 5)
      warnings.push(`line ${lineNumber}: seq ${String(record['seq'])} where ${events.length + 1} was expected`);
    events.push(value as TraceEvent);
  }
  if (header === undefined) throw new TraceParseError(1, 'the trace is empty');
  if (end === undefined) warnings.push('the trace has no end line (cut short?)');
  else if (end.events !== events.length) warnings.push(`end line says ${end.events} events, found ${events.length}`);
  return { header, events, end, hashedLength, warnings };
}

/** True when the end line's sha256 matches; undefined when it cannot be checked (no end line, no WebCrypto). */
export async function verifySha256(text: string, trace: ParsedTrace): Promise<boolean | undefined> {
  if (trace.end === undefined || globalThis.crypto?.subtle === undefined) return undefined;
  const bytes = new TextEncoder().encode(text.slice(0, trace.hashedLength));
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return hex === trace.end.sha256;
}
