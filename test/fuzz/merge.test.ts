// Goal: a campaign run as 3 shard processes and merged with `fedsim fuzz merge` reports what the
// unsharded run of the same seeds reports: the same seeds, failures, counterexamples and groups;
// a shard given twice is refused.
// Method: real child processes of the CLI. Each runs in its own temporary working directory with
// `--out ce`, so counterexample paths and replay lines read the same in every run. The campaign
// fuzzes F140 with the `drop` canary, so it has failures to merge and group.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonReport } from '../../src/fuzz/reporters.js';
import type { ProtocolSummary } from '../../src/fuzz/summary.js';
import { root } from '../support/fedsim.js';

function fedsimIn(cwd: string, args: string[]): { code: number | null; output: string } {
  const run = spawnSync(process.execPath, [join(root, 'bin', 'fedsim.mjs'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: run.status, output: run.stdout + run.stderr };
}

const campaign = ['fuzz', 'f140', '--canary', 'drop', '--runs', '9', '--seed', '1', '--no-progress', '--out', 'ce'];
const reports = ['--summary', 'summary', '--reporter', 'json', '--reporter-out', 'summary'];

/** A summary without what depends on the machine or the split: wall time, speed, workers, shard. */
function comparable(summaries: readonly ProtocolSummary[]) {
  return summaries.map(({ wallMs: _w, runsPerSecond: _r, workers: _k, ...rest }) => rest);
}

describe('cli: fedsim fuzz merge', () => {
  it('merges 3 shard processes into what the unsharded run reports', () => {
    const whole = mkdtempSync(join(tmpdir(), 'fedsim-whole-'));
    const unsharded = fedsimIn(whole, [...campaign, ...reports]);
    expect(unsharded.code, unsharded.output).toBe(1);

    const shards = mkdtempSync(join(tmpdir(), 'fedsim-shards-'));
    for (const index of [0, 1, 2]) {
      const run = fedsimIn(shards, [...campaign, '--shard', `${index}/3`, '--summary', `s${index}`]);
      expect(run.code, run.output).toBeLessThan(2);
    }
    const merged = fedsimIn(shards, ['fuzz', 'merge', 's0/summary.json', 's1', 's2/summary.json', ...reports]);
    expect(merged.code, merged.output).toBe(1);

    const read = <T>(dir: string, file: string) => JSON.parse(readFileSync(join(dir, 'summary', file), 'utf8')) as T;
    const wholeSummary = read<ProtocolSummary[]>(whole, 'summary.json');
    const mergedSummary = read<ProtocolSummary[]>(shards, 'summary.json');
    expect(wholeSummary[0]?.seeds).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(wholeSummary[0]?.failures).toBeGreaterThan(1);
    expect(comparable(mergedSummary)).toEqual(comparable(wholeSummary));

    const wholeReport = read<JsonReport>(whole, 'report.json');
    const mergedReport = read<JsonReport>(shards, 'report.json');
    expect(mergedReport.groups).toEqual(wholeReport.groups);
    expect(mergedReport.groups.length).toBeGreaterThan(0);
    expect(mergedReport.ok).toBe(false);
    // The counterexample files of every shard are where the merged summary says.
    for (const c of mergedSummary[0]?.counterexamples ?? [])
      expect(readFileSync(join(shards, c.file), 'utf8')).toMatch(/^# Shrunk/);

    const twice = fedsimIn(shards, ['fuzz', 'merge', 's0', 's1', 's0', '--summary', 'again']);
    expect(twice.code, twice.output).toBe(2);
    expect(twice.output).toMatch(
      /^fedsim: f140 \(canary drop\): seed \d+ is in both s0\/summary\.json and s0\/summary\.json/,
    );
  }, 600_000);
});
