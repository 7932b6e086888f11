/**
 * Echo wire format: UTF-8 lines, `ECHO <body>\n` and `REPLY <body>\n`. Pure; decoders return a
 * Result and never throw on peer input.
 */
import { WireError } from '../../core/errors.js';
import { concatBytes, noBytes, utf8Bytes } from '../../core/bytes.js';
import { err, ok, type Result } from '../../core/result.js';

export type EchoFrame = { readonly verb: 'ECHO' | 'REPLY'; readonly body: string };

/** A line longer than this is a peer error, so a peer cannot make a node buffer without bound. */
export const lineBytesMax = 4096;

const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(frame: EchoFrame): Uint8Array {
  return utf8Bytes(`${frame.verb} ${frame.body}\n`);
}

export function decodeLine(line: Uint8Array): Result<EchoFrame, WireError> {
  let text: string;
  try {
    text = decoder.decode(line);
  } catch {
    return err(new WireError('utf8.invalid', 'line is not valid UTF-8'));
  }
  const match = /^(ECHO|REPLY) (.*)$/.exec(text);
  if (!match)
    return err(new WireError('line.unknown', `not an ECHO or REPLY line: ${JSON.stringify(text.slice(0, 40))}`));
  return ok({ verb: match[1] as EchoFrame['verb'], body: match[2] ?? '' });
}

/** Splits a byte stream into lines; keeps the unfinished tail for the next chunk. */
export class LineBuffer {
  private pending: Uint8Array = noBytes;

  /**
   * Appends `chunk` and returns the complete lines, or an error if a line grows past `lineBytesMax`.
   * The lines are views of `chunk` (or of a joined copy when a tail was pending), read at once.
   */
  push(chunk: Uint8Array): Result<Uint8Array[], WireError> {
    const joined = this.pending.length === 0 ? chunk : concatBytes(this.pending, chunk);
    const lines: Uint8Array[] = [];
    let start = 0;
    let end = joined.indexOf(0x0a);
    while (end >= 0) {
      lines.push(joined.subarray(start, end));
      start = end + 1;
      end = joined.indexOf(0x0a, start);
    }
    // The tail is copied, so that a kept tail never holds a caller's buffer alive or sees it change.
    this.pending = start === joined.length ? noBytes : joined.slice(start);
    if (this.pending.length > lineBytesMax)
      return err(new WireError('line.too-long', `line over ${lineBytesMax} bytes`));
    return ok(lines);
  }
}

export function describe(bytes: Uint8Array): unknown {
  const text = new TextDecoder().decode(bytes);
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}
