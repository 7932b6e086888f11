// Goal: the CI reports say what a campaign found: JUnit XML with one failing test case per
// failure signature (escaped so CI parsers read it), GitHub annotations that carry the replay
// command on the counterexample file, and JSON with the summaries and groups; an unknown
// reporter is a usage error (exit 2, one line).
// Method: pure reports from a hand-built summary; the real command for --reporter on stdout.
import { describe, expect, it } from 'vitest';
import type { CounterexampleRecord } from '../../src/fuzz/groups.js';
import { githubReport, jsonReport, junitReport, parseReporters, type JsonReport } from '../../src/fuzz/reporters.js';
import type { ProtocolSummary } from '../../src/fuzz/summary.js';
import { fedsim } from '../support/fedsim.js';

function record(seed: number, steps: number, failure: string, shape: string): CounterexampleRecord {
  const file = `reports/counterexamples/f140-canary-drop-${seed}.yaml`;
  return { seed, file, replay: `fedsim fuzz f140 --canary drop --replay ${file}`, steps, failures: [failure], shape };
}

const failing: ProtocolSummary = {
  protocol: 'f140',
  canary: 'drop',
  baseSeed: 1,
  shard: '0/1',
  workers: 1,
  runs: 10,
  seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  failures: 3,
  errors: 0,
  wallMs: 1500,
  runsPerSecond: 6.7,
  counterexamples: [
    record(2, 3, 'by 3100ms u1@n1.test received ["m1"]: missing ["m1"]; got <none> & more', '2 nodes: command send'),
    record(5, 1, 'by 3100ms u1@n2.test received ["m1"]: missing ["m1"]; got <none> & more', '2 nodes: command send'),
    record(9, 4, 'noDuplicateDelivery: m1, twice', '2 nodes: corrupt, command send'),
  ],
};
const passing: ProtocolSummary = { ...failing, protocol: 'fmtp', canary: undefined, failures: 0, counterexamples: [] };

describe('fuzz: CI reporters', () => {
  it('parses repeated and comma-separated reporters, and names an unknown one', () => {
    expect(parseReporters(['junit,github', 'json', 'junit'])).toEqual({ kinds: ['junit', 'github', 'json'] });
    expect(parseReporters(['junit,xml'])).toEqual({ unknown: 'xml' });
  });

  it('writes JUnit XML: a suite per protocol, a failing test case per signature, escaped', () => {
    const xml = junitReport([failing, passing]);
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="fedsim fuzz" tests="4" failures="2" errors="0">/,
    );
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    expect(xml.match(/<failure /g)).toHaveLength(2);
    expect(xml).toContain('name="7 of 10 runs passed"');
    expect(xml).toContain('name="10 of 10 runs passed"');
    // The smallest counterexample of the 2-run group is seed 5 (1 step), and its replay is there.
    expect(xml).toContain(
      'message="2 runs; replay: fedsim fuzz f140 --canary drop --replay reports/counterexamples/f140-canary-drop-5.yaml"',
    );
    expect(xml).toContain('got &lt;none&gt; &amp; more');
    expect(xml).toContain('[&quot;m1&quot;]');
    // Nothing unescaped in text or attributes: every & starts an entity.
    expect(xml.match(/&(?!(amp|lt|gt|quot|apos);)/g)).toBeNull();
  });

  it('writes GitHub annotations on the counterexample file, with the replay command, escaped', () => {
    const lines = githubReport([failing, passing]).trimEnd().split('\n');
    const errors = lines.filter((line) => line.startsWith('::error '));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(
      /^::error file=reports\/counterexamples\/f140-canary-drop-5\.yaml,title=fedsim fuzz f140 \(canary drop\)%3A by #ms u#@n#\.test received \[…\] \(2 runs\)::/,
    );
    expect(errors[0]).toContain(
      '%0Areplay: fedsim fuzz f140 --canary drop --replay reports/counterexamples/f140-canary-drop-5.yaml',
    );
    // A message is one line: its newlines are escaped.
    for (const line of lines) expect(line).not.toMatch(/[\r]/);
    expect(lines.filter((line) => line.startsWith('::notice '))).toHaveLength(2);
  });

  it('writes JSON with the summaries and the groups', () => {
    const report = JSON.parse(jsonReport([failing, passing])) as JsonReport;
    expect(report.format).toBe('fedsim-fuzz-report');
    expect(report.ok).toBe(false);
    expect(report.summaries.map((s) => s.protocol)).toEqual(['f140', 'fmtp']);
    expect(report.groups.map((g) => [g.count, g.seeds, g.smallest.seed])).toEqual([
      [2, [2, 5], 5],
      [1, [9], 9],
    ]);
    expect((JSON.parse(jsonReport([passing])) as JsonReport).ok).toBe(true);
  });

  it('refuses an unknown reporter with one line and exit 2', () => {
    const run = fedsim('fuzz', 'f140', '--reporter', 'junit,xml');
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toBe('fedsim: --reporter must be one of text, junit, github, json (got `xml`)\n');
  });

  it('refuses two reports on standard output', () => {
    const run = fedsim('fuzz', 'f140', '--reporter', 'junit', '--reporter', 'json');
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^fedsim: --reporter: more than one report needs --reporter-out <dir>/);
  });
});
