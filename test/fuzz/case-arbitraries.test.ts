/**
 * A campaign's cases draw from arbitraries built once per profile and command options
 * (run-one.ts `caseArbitraries`), not once per case. fast-check's command sequence keeps its
 * shrinking's replay path between checks: a case must draw and shrink the same whether it runs
 * first in a process (fresh arbitraries) or after others, shrinking ones included.
 */
import { describe, expect, it } from 'vitest';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { runOne, type FuzzRunResult } from '../../src/fuzz/run-one.js';

/** What a run gave, without its coverage's object identities. */
function outcome(result: FuzzRunResult) {
  const { failure } = result;
  return {
    ok: result.ok,
    coverage: JSON.stringify(result.coverage),
    failure:
      failure === undefined
        ? undefined
        : {
            path: failure.path,
            shrinks: failure.shrinks,
            source: JSON.stringify(failure.source),
            failures: failure.failures,
          },
  };
}

describe('fuzz: arbitraries kept across cases', () => {
  it('gives shrinking cases and the cases around them as when each runs first', () => {
    const profile = fuzzProfileNamed('f140');
    if (profile === undefined) throw new Error('no profile f140');
    const run = (seed: number) => outcome(runOne(profile, seed, { canary: 'duplicate' }));
    const seeds = [1, 2, 3, 4];
    // This file's module instance starts with no arbitraries, so the first run of a seed here
    // shrinks on arbitraries that only the runs before it in this list used.
    const first = new Map(seeds.map((seed) => [seed, run(seed)]));
    expect([...first.values()].some((result) => (result.failure?.shrinks ?? 0) > 0)).toBe(true);
    expect([...first.values()].some((result) => result.ok)).toBe(true);
    // Again, in another order: each after other shrinking runs than the first time.
    for (const seed of [3, 1, 4, 2]) expect(run(seed), `seed ${seed}`).toEqual(first.get(seed));
  });
});
