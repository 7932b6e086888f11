// Goal: random streams depend only on (seed, label): same pair, same draws; another label or seed,
// other draws; ranges are respected; the generator draws exactly what seedrandom's Alea draws for
// the same seed string (every recorded trace depends on it).
// Method: draw sequences and compare; a property over ranges; Alea against seedrandom's.
import fc from 'fast-check';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { Prng, streamFor } from '../../src/core/prng.js';
import { parseDurationMs } from '../../src/core/time.js';

const draw = (p: Prng, n = 20) => Array.from({ length: n }, () => p.uint32());

describe('core: prng streams', () => {
  it("draws exactly seedrandom's Alea numbers for the same seed string", () => {
    const labels = ['', 'x', 'link:a.test>b.test', 'node:é✓𝄞', 'solec-key:s1.test', 'a'.repeat(300)];
    for (const seed of [0, 1, 2, 42, 123_456_789, -5, 2 ** 40]) {
      for (const label of labels) {
        const reference = seedrandom.alea(`${seed}/${label}`);
        const ours = new Prng(seed, label);
        const expected = Array.from({ length: 2_000 }, () => reference());
        const got = Array.from({ length: 2_000 }, () => ours.float());
        expect(got, `seed ${seed}, label ${JSON.stringify(label)}`).toEqual(expected);
      }
    }
  });

  it('gives the same draws for the same seed and label, in any process order', () => {
    const a = streamFor(42, 'link:a.test>b.test');
    streamFor(42, 'node:other').uint32(); // Another stream drawing in between changes nothing.
    expect(draw(a)).toEqual(draw(streamFor(42, 'link:a.test>b.test')));
  });

  it('gives different draws for another label or another seed', () => {
    const base = draw(streamFor(42, 'node:a'));
    expect(draw(streamFor(42, 'node:b'))).not.toEqual(base);
    expect(draw(streamFor(43, 'node:a'))).not.toEqual(base);
    expect(draw(streamFor(42, 'node:a').fork('x'))).not.toEqual(base);
  });

  it('keeps int() within [min, max] and reaches both ends (property, 200 runs)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 5 }),
        (seed, min, span) => {
          const p = new Prng(seed, 'range');
          const values = Array.from({ length: 200 }, () => p.int(min, min + span));
          expect(Math.min(...values)).toBe(min);
          expect(Math.max(...values)).toBe(min + span);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('parses durations with units and refuses anything else', () => {
    expect(parseDurationMs('60s')).toBe(60_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1.5m')).toBe(90_000);
    expect(parseDurationMs('42')).toBe(42);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(parseDurationMs('-5s')).toBeUndefined();
  });
});
