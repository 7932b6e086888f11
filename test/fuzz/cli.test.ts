// Goal: `fedsim fuzz` runs from the real command line with 2 worker threads and with --shard,
// and the union of two shards covers exactly the seeds of one unsharded run.
// Method: spawn `node bin/fedsim.mjs fuzz f140 ...` three times (unsharded with 2 workers, shard
// 0/2, shard 1/2) into temporary directories, and compare the seeds in their summary.json files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProtocolSummary } from '../../src/fuzz/summary.js';

function fuzz(args: string[]): { code: number | null; stdout: string; summary: ProtocolSummary[] } {
  const directory = mkdtempSync(join(tmpdir(), 'fedsim-fuzz-'));
  const run = spawnSync(
    process.execPath,
    [
      'bin/fedsim.mjs',
      'fuzz',
      'f140',
      '--runs',
      '6',
      '--seed',
      '100',
      '--summary',
      directory,
      '--out',
      directory,
      ...args,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const summary = JSON.parse(readFileSync(join(directory, 'summary.json'), 'utf8')) as ProtocolSummary[];
  return { code: run.status, stdout: run.stdout + run.stderr, summary };
}

describe('cli: fedsim fuzz', () => {
  it('runs with 2 workers, and two shards cover the same seeds as one run', () => {
    const whole = fuzz(['--workers', '2']);
    expect(whole.code, whole.stdout).toBe(0);
    expect(whole.summary[0]?.workers).toBe(2);
    expect(whole.summary[0]?.seeds).toEqual([100, 101, 102, 103, 104, 105]);
    expect(whole.summary[0]?.runsPerSecond).toBeGreaterThan(0);

    const shard0 = fuzz(['--shard', '0/2']);
    const shard1 = fuzz(['--shard', '1/2', '--workers', '2']);
    expect(shard0.code, shard0.stdout).toBe(0);
    expect(shard1.code, shard1.stdout).toBe(0);
    const seeds0 = shard0.summary[0]?.seeds ?? [];
    const seeds1 = shard1.summary[0]?.seeds ?? [];
    expect(seeds0.filter((seed) => seeds1.includes(seed))).toEqual([]);
    expect([...seeds0, ...seeds1].sort((a, b) => a - b)).toEqual(whole.summary[0]?.seeds);
  }, 180_000);

  it('refuses a bad shard with exit code 2', () => {
    const run = spawnSync(process.execPath, ['bin/fedsim.mjs', 'fuzz', 'f140', '--shard', '2/2'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--shard must be i\/n/);
  });
});
