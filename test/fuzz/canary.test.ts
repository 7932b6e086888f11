// Goal: the fuzzer catches a deliberately broken node of every protocol (one that duplicates,
// drops, or forges the sender of its deliveries) within the CI budget, and shrinks it to a
// counterexample of a handful of steps.
// Method: run the campaign's seeds from 1 in order with the canary until one fails (at most
// `seedsMax`), then count the steps of the shrunk scenario. Seeds are printed on failure.
import { describe, expect, it } from 'vitest';
import type { CanaryKind } from '../../src/fuzz/canary.js';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { runOne, type FuzzRunResult } from '../../src/fuzz/run-one.js';

const seedsMax = 8;
// A shrunk run that keeps a fault: the fault, its heal, a SOLEC client's login after the heal, and
// the send before and after (SOLEC's drop canary, seed 1 since the aimed relay faults: 5 steps).
const stepsMax = 5;

function firstFailure(protocol: string, canary: CanaryKind): FuzzRunResult | undefined {
  const profile = fuzzProfileNamed(protocol);
  if (!profile) throw new Error(`no profile ${protocol}`);
  for (let seed = 1; seed <= seedsMax; seed += 1) {
    const result = runOne(profile, seed, { canary });
    if (!result.ok) return result;
  }
  return undefined;
}

const cases: [string, CanaryKind, RegExp][] = [
  ['fmtp', 'forge', /fmtp\.authentic/],
  ['f140', 'duplicate', /noDuplicateDelivery/],
  ['f140', 'forge', /f140\.friendsOnly/],
  ['solec', 'drop', /received .*missing/],
  ['bester', 'duplicate', /noDuplicateDelivery/],
  // Never caught before: bester.authentic compared bodies only; now a delivery must come from the client's server.
  ['bester', 'forge', /bester\.authentic: .* not from its server/],
  ['ambrosia', 'drop', /received .*missing/],
];

describe('fuzz: canaries', () => {
  it.each(cases)('%s: the %s canary is caught and shrunk to a handful of steps', (protocol, canary, expected) => {
    const result = firstFailure(protocol, canary);
    expect(result, `no failure in seeds 1..${seedsMax}`).toBeDefined();
    const failure = result!.failure!;
    const steps = failure.source.steps?.length ?? 0;
    console.log(
      `${protocol} canary ${canary}: caught at seed ${failure.seed}, ${failure.shrinks} shrinks, ${steps} steps`,
    );
    expect(failure.failures.join('\n')).toMatch(expected);
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThanOrEqual(stepsMax);
  });
});
