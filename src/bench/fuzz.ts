/**
 * Fuzz throughput per core: each protocol's campaign on its default profile, in one worker.
 *
 * - Steady state: `runOne` in this process (already warm), `warmUp` cases first, then the next
 *   `measured` cases timed. What a long campaign settles to.
 * - Whole campaign: `fedsim fuzz <protocol> --workers 1` as a child process, from spawn to exit:
 *   node's start-up, the build check, module loading and the summary included. What a CI step of
 *   that many runs costs.
 *
 * Wall clock is allowed here (benchmarks only); nothing here runs inside a simulation.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fuzzProfileNamed } from '../fuzz/profiles/index.js';
import { runOne } from '../fuzz/run-one.js';

/** The goal, per core, in steady state. */
export const fuzzCasesGoal = 1_000;

export interface SteadyFuzzRate {
  readonly casesPerSecond: number;
  readonly passed: number;
}

/** `warmUp` cases from `seed`, untimed, then the next `measured` cases timed, in this process. */
export function steadyFuzzRate(protocol: string, warmUp: number, measured: number, seed = 1): SteadyFuzzRate {
  const profile = fuzzProfileNamed(protocol);
  if (profile === undefined) throw new Error(`no fuzz profile for ${protocol}`);
  for (let k = 0; k < warmUp; k++) runOne(profile, seed + k);
  let passed = 0;
  const started = performance.now();
  for (let k = 0; k < measured; k++) if (runOne(profile, seed + warmUp + k).ok) passed += 1;
  const seconds = (performance.now() - started) / 1000;
  return { casesPerSecond: measured / seconds, passed };
}

export interface CampaignFuzzRate {
  readonly casesPerSecond: number;
  readonly seconds: number;
  /** The command's exit code: 0 when every run passed, 1 when one failed. */
  readonly status: number;
}

/**
 * `fedsim fuzz <protocol> --runs <runs> --workers 1` from `root` (the repository), timed from spawn
 * to exit; counterexamples and the summary go to a temporary directory, removed after.
 */
export function campaignFuzzRate(protocol: string, runs: number, seed = 1, root = process.cwd()): CampaignFuzzRate {
  const out = mkdtempSync(join(tmpdir(), 'fedsim-bench-fuzz-'));
  try {
    const args = [join(root, 'bin', 'fedsim.mjs'), 'fuzz', protocol, '--runs', String(runs), '--seed', String(seed)];
    args.push('--workers', '1', '--no-progress', '--out', join(out, 'ce'), '--summary', join(out, 'summary'));
    const started = performance.now();
    const child = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    const seconds = (performance.now() - started) / 1000;
    if (child.status !== 0 && child.status !== 1)
      throw new Error(`fedsim fuzz ${protocol} exited with ${String(child.status)}: ${child.stderr}`);
    return { casesPerSecond: runs / seconds, seconds, status: child.status };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
