// Goal: every requirement id of a protocol with a suite is covered by at least one case, and no case
// names an id its protocol does not declare (a typo would count as coverage otherwise).
// Method: compare each suite's cases with the protocol's requirements.ts.
import { describe, expect, it } from 'vitest';
import { coverageOf, loadSuites } from '../../src/conformance/index.js';

const suites = await loadSuites();

describe.each(Object.entries(suites))('conformance: %s: coverage', (_name, suite) => {
  it('covers every requirement id with at least one case', () => {
    const uncovered = Object.entries(coverageOf(suite))
      .filter(([, cases]) => cases.length === 0)
      .map(([id]) => id);
    expect(uncovered).toEqual([]);
  });

  it('names only declared requirement ids, and each case id once', () => {
    const declared = new Set(suite.requirements.map((r) => r.id));
    const unknown = suite.cases.flatMap((c) =>
      c.requirements.filter((id) => !declared.has(id)).map((id) => `${c.id}: ${id}`),
    );
    expect(unknown).toEqual([]);
    const ids = suite.cases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('quotes a rule and a section in every case (h2spec)', () => {
    for (const c of suite.cases) {
      expect(c.quote.length, c.id).toBeGreaterThan(10);
      expect(c.section, c.id).toMatch(/^\d/);
    }
  });
});
