/**
 * The seed's proxy loop (spec.md §11): `fmtp.proxy-bounded` is broken by the faithful `seed`
 * profile's run and holds on the fixed one, on the bundled flaw scenarios.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/scenario/load.js';
import { runScenario } from '../../../src/scenario/run.js';

function withInvariant(file: string) {
  const text = readFileSync(file, 'utf8').replace(/^expect:$/m, 'expect:\n  - always: fmtp.proxy-bounded');
  return runScenario(parseScenario(text, file));
}

describe('fmtp proxy loop', () => {
  it('the seed profile loops and breaks fmtp.proxy-bounded', () => {
    const report = withInvariant('scenarios/fmtp/flaw-proxy-loop-seed.yaml');
    const broken = report.results.filter((result) => !result.ok);
    expect(broken.map((result) => result.expectation)).toEqual(['always fmtp.proxy-bounded']);
    expect(broken[0]?.message).toMatch(/LOOKING for x@nowhere\.test 129 times/);
  });

  it('the fixed profile stops at HOPS 0 and keeps fmtp.proxy-bounded', () => {
    const report = withInvariant('scenarios/fmtp/flaw-proxy-loop-fixed.yaml');
    expect(report.results.filter((result) => !result.ok)).toEqual([]);
    expect(report.verdict).toBe('pass');
  });
});
