/**
 * One fuzz run replayed as drawn, without shrinking: what `fedsim findings` checks a flaw's fuzz
 * seed against (the run breaks the flaw's invariant), and what `scripts/flaw-seeds.ts` searches
 * with. Same seed, same scenario, same verdict as the campaign's run before it shrank.
 *
 * Must not: read a clock or a random source.
 */
import fc from 'fast-check';
import type { FuzzProfile } from './profile.js';
import { fuzzProperty, type FuzzRunOptions } from './run-one.js';

export interface UnshrunkRun {
  readonly seed: number;
  readonly ok: boolean;
  /** The expectations the run broke, as `name: message`. */
  readonly failures: readonly string[];
}

export function replayUnshrunk(profile: FuzzProfile, seed: number, options: FuzzRunOptions = {}): UnshrunkRun {
  let failures: readonly string[] = [];
  const details = fc.check(
    fuzzProperty(profile, seed, options, (failure) => {
      failures = failure.failures;
    }),
    { seed, numRuns: 1, endOnFailure: true },
  );
  if (details.failed && failures.length === 0)
    throw new Error(`fuzz run ${seed} failed outside a scenario: ${String(details.errorInstance)}`);
  return { seed, ok: !details.failed, failures };
}

/** Whether a run's failures include a violation of the invariant `name`. */
export function breaksInvariant(run: UnshrunkRun, name: string): boolean {
  return run.failures.some((failure) => failure.startsWith(`always ${name}:`));
}
