// Goal: each mistake on the fuzz and bench command lines is one line on standard error, names the
// flag, and exits 2 (no help dump, no stack trace, no empty campaign that "passes").
// Method: spawn the real command with each bad value and read its exit code and standard error.
import { describe, expect, it } from 'vitest';
import { fedsim } from '../support/fedsim.js';

function oneLineError(args: string[], pattern: RegExp): void {
  const run = fedsim(...args);
  expect(run.code, run.stderr).toBe(2);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^fedsim: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stdout).toBe('');
}

describe('cli: bad input to fedsim fuzz and bench', () => {
  it('refuses --runs 0', () => oneLineError(['fuzz', 'f140', '--runs', '0'], /--runs must be a positive integer/));
  it('refuses --runs that is not a number', () =>
    oneLineError(['fuzz', 'f140', '--runs', 'ten'], /--runs must be a positive integer/));
  it('refuses --workers 0', () =>
    oneLineError(['fuzz', 'f140', '--workers', '0'], /--workers must be a positive integer/));
  for (const shard of ['1/x', '3/3', '1/0', '-1/2', '1', '1/2/3'])
    it(`refuses a malformed --shard ${shard}`, () =>
      oneLineError(['fuzz', 'f140', `--shard=${shard}`], /--shard must be i\/n with 0 <= i < n/));
  for (const scale of ['0', '1.5', '-2', 'big'])
    it(`refuses --scale ${scale}`, () =>
      oneLineError(['bench', `--scale=${scale}`], /--scale must be a positive integer/));
  it('refuses an unknown bench section', () => oneLineError(['bench', '--only', 'nope'], /--only.*nope.*viewer, fuzz/));
});
