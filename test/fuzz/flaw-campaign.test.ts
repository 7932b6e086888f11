// Goal: a fuzz campaign on a protocol's faithful profile finds the seed flaw by itself, and the same
// campaign on the fixed profile does not (issue 25). Ambrosia: with the rogue service of the fuzz
// profile's attacker role, `ambrosia:seed` breaks `ambrosia.registration-owned` at the seed the
// findings report records, and `ambrosia:assigned` holds on the same seeds.
// Method: the variants' runs from seed 1 in order, as `fedsim fuzz ambrosia:<variant> --seed 1` would;
// seeds are printed on failure.
import { describe, expect, it } from 'vitest';
import { fuzzProfileName } from '../../src/fuzz/profile.js';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { runOne } from '../../src/fuzz/run-one.js';
import { flaws } from '../../src/scenario/findings.js';

describe('fuzz: the faithful profile\u2019s campaign finds the flaw, the fixed one does not', () => {
  it('ambrosia:seed breaks ambrosia.registration-owned first at the findings report\u2019s fuzz seed; ambrosia:assigned holds there', () => {
    const recorded = flaws.find((flaw) => flaw.id === 'ambrosia-domain-hijack')?.fuzz?.seed;
    expect(recorded).toBeDefined();
    const faithful = fuzzProfileNamed('ambrosia:seed');
    const fixed = fuzzProfileNamed('ambrosia:assigned');
    expect(faithful && fuzzProfileName(faithful)).toBe('ambrosia:seed');
    expect(fuzzProfileNamed('ambrosia:nope')).toBeUndefined();
    let found: number | undefined;
    for (let seed = 1; seed <= (recorded ?? 0) && found === undefined; seed += 1) {
      const result = runOne(faithful!, seed);
      if (!result.ok) {
        expect(result.failure?.failures.join('\n'), `seed ${seed}`).toMatch(/ambrosia\.registration-owned/);
        found = seed;
      }
    }
    expect(found).toBe(recorded);
    for (let seed = 1; seed <= (recorded ?? 0); seed += 1) {
      const result = runOne(fixed!, seed);
      expect(result.ok, `ambrosia:assigned seed ${seed}: ${result.failure?.failures.join('; ')}`).toBe(true);
    }
  }, 120_000);
});
