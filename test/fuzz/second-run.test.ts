/**
 * A fuzz case whose first run shows a corruption acted or a send was refused is judged by a second
 * run, with the expectations that knows (`judgePlan`). The campaign tells that run's pass from the
 * first run when it can (`judgeCase`, run-one.ts `secondPasses`): its verdict must be judgePlan's,
 * for every protocol, on the real code and on the canaries (whose second runs fail).
 */
import { describe, expect, it } from 'vitest';
import { compiledEngine } from '../../src/engine/engine.js';
import { canaryKinds, type CanaryKind } from '../../src/fuzz/canary.js';
import { fuzzProfiles } from '../../src/fuzz/profiles/index.js';
import { counterexampleStem, drawnCase, judgeCase, judgePlan, withCanary } from '../../src/fuzz/run-one.js';
import { plannedScenario } from '../../src/scenario/load.js';
import { runScenario, safetyHoldsOver } from '../../src/scenario/run.js';

/** Per seed: judgePlan's verdict, judgeCase's, and whether judgeCase skipped a second run. */
function compare(protocol: string, seeds: readonly number[], canary?: CanaryKind) {
  const profile = fuzzProfiles.get(protocol);
  if (profile === undefined) throw new Error(`no profile ${protocol}`);
  return seeds.map((seed) => {
    return drawnCase(profile, seed, (plan, simSeed) => {
      const stem = counterexampleStem(protocol, seed, canary);
      const full = judgePlan(plan, simSeed, stem, canary).report.verdict;
      const quick = judgeCase(plan, simSeed, stem, canary, compiledEngine, undefined);
      const quickVerdict = quick.judged === undefined ? 'pass' : quick.judged.report.verdict;
      return { seed, full, quick: quickVerdict, skipped: quick.judged === undefined };
    });
  });
}

const seeds = Array.from({ length: 60 }, (_, k) => k + 1);

describe('a second run told from the first', () => {
  it.each(['solec', 'fmtp', 'ambrosia', 'bester', 'f140'])('gives judgePlan’s verdict for %s', (protocol) => {
    const rows = compare(protocol, seeds);
    const differ = rows.filter((row) => row.full !== row.quick);
    expect(differ, `seeds where the verdicts differ: ${JSON.stringify(differ)}`).toEqual([]);
    // Only a pass is ever told without the run.
    expect(rows.filter((row) => row.skipped && row.full !== 'pass')).toEqual([]);
    if (protocol === 'solec' || protocol === 'fmtp' || protocol === 'ambrosia') {
      // These protocols' cases run twice often enough that the quick path is taken in 60 seeds.
      expect(rows.some((row) => row.skipped)).toBe(true);
    }
  });

  it('tells a pass from the first run when a refusal is owed by a deadline (FMTP, a sequence expectation)', () => {
    const profile = fuzzProfiles.get('fmtp');
    if (profile === undefined) throw new Error('no profile fmtp');
    let owed = 0;
    let skipped = 0;
    for (let seed = 1; seed <= 120; seed++) {
      drawnCase(profile, seed, (plan, simSeed) => {
        const stem = counterexampleStem('fmtp', seed);
        const full = judgePlan(plan, simSeed, stem);
        const first = plan.scenario(simSeed, `fuzz/${stem}`, []);
        if (full.source === first || !(full.source.expect ?? []).some((e) => 'sequence' in e && 'byMs' in e)) return;
        owed += 1;
        const quick = judgeCase(plan, simSeed, stem, undefined, compiledEngine, undefined);
        if (quick.judged === undefined) {
          skipped += 1;
          expect(full.report.verdict, `seed ${seed}`).toBe('pass');
        } else expect(quick.judged.report.verdict, `seed ${seed}`).toBe(full.report.verdict);
      });
    }
    expect(owed).toBeGreaterThan(0);
    expect(skipped).toBeGreaterThan(0);
  });

  it.each(canaryKinds)('gives judgePlan’s verdict for the %s canary, failures included', (canary) => {
    const rows = compare('solec', seeds.slice(0, 40), canary);
    expect(rows.filter((row) => row.full !== row.quick)).toEqual([]);
    expect(rows.filter((row) => row.skipped && row.full !== 'pass')).toEqual([]);
  });

  // secondPasses takes a first run's `safetyHeld` for safetyHoldsOver over all its events.
  it.each([
    ['solec', undefined],
    ['fmtp', undefined],
    ['ambrosia', undefined],
    ['bester', 'forge'],
    ['f140', 'duplicate'],
    ['solec', 'drop'],
  ] as const)('a run’s safetyHeld is safetyHoldsOver its events (%s, canary %s)', (protocol, canary) => {
    const profile = fuzzProfiles.get(protocol);
    if (profile === undefined) throw new Error(`no profile ${protocol}`);
    const held = { true: 0, false: 0 };
    for (const seed of seeds.slice(0, 30)) {
      drawnCase(profile, seed, (plan, simSeed) => {
        const file = `reports/counterexamples/${counterexampleStem(protocol, seed, canary)}.yaml`;
        const scenario = withCanary(plannedScenario(plan.scenario(simSeed, 'fuzz/held', []), file), canary);
        const report = runScenario(scenario, { recorder: { deferLines: true } });
        const events = report.trace.events;
        const untilMs = events[events.length - 1]?.atMs ?? 0;
        held[`${report.safetyHeld}`] += 1;
        if (report.safetyHeld) expect(safetyHoldsOver(scenario, events, untilMs), `seed ${seed}`).toBe(true);
        else expect(safetyHoldsOver(scenario, events, untilMs), `seed ${seed}`).not.toBe(true);
      });
    }
    expect(held.true).toBeGreaterThan(0);
    if (canary !== undefined && canary !== 'drop') expect(held.false).toBeGreaterThan(0);
  });
});
