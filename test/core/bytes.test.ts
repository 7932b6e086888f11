// Goal: `concatBytes` joins parts back to back into a new array that shares no memory with them
// (callers keep a joined buffer while the parts are reused), including a single or empty part;
// `utf8Bytes` gives TextEncoder's bytes for any text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, utf8Bytes } from '../../src/core/bytes.js';

describe('concatBytes', () => {
  it('joins parts in order, and nothing into an empty array', () => {
    const bytes = (...values: number[]) => Uint8Array.from(values);
    expect(concatBytes(bytes(1, 2), bytes(), bytes(3), bytes(4, 5))).toEqual(bytes(1, 2, 3, 4, 5));
    expect(concatBytes()).toEqual(bytes());
  });

  it('returns a copy even of a single part or a view into a larger buffer', () => {
    const backing = Uint8Array.from([9, 1, 2, 9]);
    const view = backing.subarray(1, 3);
    const joined = concatBytes(view);
    backing[1] = 7;
    expect(joined).toEqual(Uint8Array.from([1, 2]));
    expect(joined.buffer).not.toBe(backing.buffer);
  });
});

describe('utf8Bytes', () => {
  // It must give exactly TextEncoder's bytes (lone surrogates as U+FFFD included), and behave as a
  // plain Uint8Array: `slice` copies, and reading through `byteOffset` sees only its own bytes.
  const anyUtf16 = fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    maxLength: 60,
  });
  it('gives the bytes TextEncoder gives, for any UTF-16 text (lone surrogates too)', () => {
    fc.assert(
      fc.property(fc.oneof(anyUtf16, fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
        expect([...utf8Bytes(text)]).toEqual([...new TextEncoder().encode(text)]);
      }),
      { seed: 20261123, numRuns: 1000 },
    );
  });
  it('is a plain Uint8Array whose slice copies and whose view covers its own bytes only', () => {
    const a = utf8Bytes('first');
    const b = utf8Bytes('second');
    expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype);
    const copy = a.slice();
    copy[0] = 0;
    expect(new TextDecoder().decode(a)).toBe('first');
    expect(new TextDecoder().decode(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))).toBe('second');
  });
});
