// Goal: `--shard` given no value takes its shard from CI's environment: FEDSIM_SHARD=i/n (a
// GitHub Actions matrix), else Kubernetes' JOB_COMPLETION_INDEX with the count from --shards or
// FEDSIM_SHARDS; anything missing or malformed is a one-line reason (the CLI exits 2 on it).
// Method: shardFromEnv on hand-made environments; the real command with none of them set.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shardFromEnv } from '../../src/fuzz/seeds.js';
import { root } from '../support/fedsim.js';

describe('fuzz: --shard from the environment', () => {
  it('reads FEDSIM_SHARD first', () => {
    expect(shardFromEnv({ FEDSIM_SHARD: '2/5', JOB_COMPLETION_INDEX: '0', FEDSIM_SHARDS: '3' })).toEqual({
      index: 2,
      count: 5,
    });
    expect(shardFromEnv({ FEDSIM_SHARD: '5/5' })).toEqual({
      problem: expect.stringMatching(/^FEDSIM_SHARD must be i\/n/),
    });
  });

  it('reads JOB_COMPLETION_INDEX with the count from --shards, else FEDSIM_SHARDS', () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '3', FEDSIM_SHARDS: '8' })).toEqual({ index: 3, count: 8 });
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '3', FEDSIM_SHARDS: '8' }, 4)).toEqual({ index: 3, count: 4 });
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '3' })).toEqual({
      problem: expect.stringMatching(/--shards <n> or FEDSIM_SHARDS/),
    });
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '4' }, 4)).toEqual({
      problem: expect.stringMatching(/is not a shard/),
    });
    expect(shardFromEnv({})).toEqual({ problem: expect.stringMatching(/neither is set/) });
  });

  it('refuses --shard alone outside CI with one line and exit 2', () => {
    const env = { ...process.env };
    delete env.FEDSIM_SHARD;
    delete env.JOB_COMPLETION_INDEX;
    const run = spawnSync(process.execPath, [join(root, 'bin', 'fedsim.mjs'), 'fuzz', 'f140', '--shard'], {
      cwd: root,
      encoding: 'utf8',
      env,
    });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(
      /^fedsim: --shard without a value reads FEDSIM_SHARD \(i\/n\) or JOB_COMPLETION_INDEX, and neither is set\n$/,
    );
  });
});
