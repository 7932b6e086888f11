// Goal: the echo line buffer splits a byte stream into the same lines however the stream is cut
// into chunks, keeps an unfinished tail for the next chunk (and never a view of a caller's chunk),
// and refuses a line that grows past `lineBytesMax`.
// Method: fast-check streams of bytes with many newlines, cut at random points, against a split of
// the whole stream; fixed examples for the tail copy and the limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineBuffer, lineBytesMax } from '../../../src/protocols/echo/wire.js';

function linesOf(stream: Uint8Array): number[][] {
  const lines: number[][] = [];
  let line: number[] = [];
  for (const byte of stream) {
    if (byte === 0x0a) {
      lines.push(line);
      line = [];
    } else line.push(byte);
  }
  return lines;
}

describe('echo LineBuffer', () => {
  it('gives the same lines for any cut of the stream into chunks', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }).map((bytes) => bytes.map((b) => (b % 4 === 0 ? 0x0a : b))),
        fc.array(fc.nat(), { maxLength: 10 }),
        (stream, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const buffer = new LineBuffer();
          const got: number[][] = [];
          let from = 0;
          for (const to of [...points, stream.length]) {
            const result = buffer.push(stream.slice(from, to));
            expect(result.ok).toBe(true);
            if (result.ok) for (const line of result.value) got.push([...line]);
            from = to;
          }
          expect(got).toEqual(linesOf(stream));
        },
      ),
      { seed: 20261123, numRuns: 500 },
    );
  });

  it('keeps a copy of the unfinished tail, not a view of the chunk it came in', () => {
    const buffer = new LineBuffer();
    const chunk = new TextEncoder().encode('ECHO a\nECHO b');
    buffer.push(chunk);
    chunk.fill(0x21);
    const result = buffer.push(new TextEncoder().encode('c\n'));
    expect(result.ok && new TextDecoder().decode(result.value[0])).toBe('ECHO bc');
  });

  it('refuses a line longer than the limit', () => {
    const buffer = new LineBuffer();
    const result = buffer.push(new Uint8Array(lineBytesMax + 1).fill(0x41));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('line.too-long');
  });
});
