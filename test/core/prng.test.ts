// Goal: random streams depend only on (seed, label): same pair, same draws; another label or seed,
// other draws; ranges are respected.
// Method: draw sequences and compare; a property over ranges.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prng, streamFor } from '../../src/core/prng.js';
import { parseDurationMs } from '../../src/core/time.js';

const draw = (p: Prng, n = 20) => Array.from({ length: n }, () => p.uint32());

describe('core: prng streams', () => {
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
