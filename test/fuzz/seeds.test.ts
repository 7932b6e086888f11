// Goal: shards of a campaign are disjoint and together take exactly the campaign's seeds, and
// workers split a shard without losing or repeating a seed.
// Method: fast-check over campaign sizes, bases, shard counts and worker counts (fixed numRuns;
// fast-check prints the seed and path of a failure).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseShard, shardSeeds, splitSeeds } from '../../src/fuzz/seeds.js';

describe('fuzz: seeds', () => {
  it('shards are disjoint and cover the campaign; workers split a shard exactly', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10_000 }),
        fc.nat({ max: 300 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 8 }),
        (base, runs, count, workers) => {
          const all = shardSeeds(base, runs);
          expect(all).toEqual(Array.from({ length: runs }, (_, i) => base + i));
          const shards = Array.from({ length: count }, (_, index) => shardSeeds(base, runs, { index, count }));
          const union = shards.flat().sort((a, b) => a - b);
          expect(union).toEqual(all);
          for (const shard of shards) {
            expect(
              splitSeeds(shard, workers)
                .flat()
                .sort((a, b) => a - b),
            ).toEqual(shard);
          }
        },
      ),
      { numRuns: 200, seed: 42 },
    );
  });

  it('parses i/n and refuses the rest', () => {
    expect(parseShard('1/3')).toEqual({ index: 1, count: 3 });
    expect(parseShard('3/3')).toBeUndefined();
    expect(parseShard('0/0')).toBeUndefined();
    expect(parseShard('a/2')).toBeUndefined();
  });
});
