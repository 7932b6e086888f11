// Goal: every mutant of the mutation suite still applies to the sources (its text is there exactly
// once, so no mutant silently stops testing anything), ids are unique, and the harness kills a
// mutant end to end: a scratch copy, the edit, a fuzz campaign over it that fails. The whole suite
// runs with `npm run mutants` (minutes); this is the small subset `npm test` runs.
// Method: mutantApplies over the repository; runMutant on one quickly caught mutant per family
// (an authenticity bug and a lost-data bug) with a small campaign.
import { describe, expect, it } from 'vitest';
import { mutantApplies, runMutant } from './harness.js';
import { mutants } from './mutants.js';

const root = process.cwd();

describe('mutation suite', () => {
  it('has at least 20 mutants over the five protocols, each applying exactly once', () => {
    expect(mutants.length).toBeGreaterThanOrEqual(20);
    expect(new Set(mutants.map((m) => m.id)).size).toBe(mutants.length);
    expect(new Set(mutants.map((m) => m.protocol)).size).toBe(5);
    const stale = mutants.filter((m) => !mutantApplies(root, m)).map((m) => `${m.id} (${m.file})`);
    expect(stale).toEqual([]);
  });

  it.each(['bester-deliver-from-self', 'bester-forward-request-data'])(
    'kills %s with a small campaign',
    (id) => {
      const mutant = mutants.find((m) => m.id === id)!;
      const result = runMutant(mutant, { root, runs: 30, seed: 1, workers: 1 });
      console.log(`${id}: ${result.status} in ${result.wallMs} ms: ${result.detail}`);
      expect(result.status).toBe('killed');
    },
    120_000,
  );
});
