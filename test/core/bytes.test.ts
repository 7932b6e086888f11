// Goal: `concatBytes` joins parts back to back into a new array that shares no memory with them
// (callers keep a joined buffer while the parts are reused), including a single or empty part.
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/core/bytes.js';

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
