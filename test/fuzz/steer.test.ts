// Goal: coverage-steered generation is deterministic however a campaign is split: the pilot's
// weights are a pure function of its coverage in seed order, so one worker, two workers and two
// shards merged give the same runs; it moves weights towards generators whose runs reached rare
// states and transitions, and the runs after the pilot are drawn with them.
// Method: steerWeights on synthetic pilot coverage; a small F140 campaign with a 3-run pilot,
// steered, run inline, with 2 workers and as 2 shards (merged through fedsim's merge), compared
// run by run; and against the unsteered campaign, which must differ after the pilot only.
import { describe, expect, it } from 'vitest';
import { runCampaign, type CampaignResult } from '../../src/fuzz/campaign.js';
import { defaultGeneratorWeights } from '../../src/fuzz/commands/index.js';
import type { RunCoverage } from '../../src/fuzz/coverage.js';
import { mergeSummaries } from '../../src/fuzz/merge.js';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { shardSeeds } from '../../src/fuzz/seeds.js';
import { pilotSeeds, steerWeights } from '../../src/fuzz/steer.js';
import type { ProtocolSummary } from '../../src/fuzz/summary.js';
import { mergeCoverage } from '../../src/fuzz/coverage.js';

function run(states: string[], changes: string[], generators: string[]): RunCoverage {
  return { machines: {}, states, changes, sometimes: [], generators };
}

describe('fuzz: coverage steering', () => {
  it('weighs up the generators whose runs reached rare coverage', () => {
    const pilot = [
      run(['k a'], ['k a>b'], ['send', 'advance']),
      run(['k a'], ['k a>b'], ['send', 'advance', 'clog']),
      run(['k a', 'k rare'], ['k a>b', 'k b>rare'], ['send', 'advance', 'bounce']),
      run(['k a'], ['k a>b'], ['send', 'advance', 'clog']),
    ];
    const weights = steerWeights(pilot);
    expect(weights.bounce).toBeGreaterThan(defaultGeneratorWeights.bounce * 10);
    expect(weights.clog).toBeLessThan(defaultGeneratorWeights.clog * 10);
    // Drawn by no pilot run: unchanged.
    expect(weights.partition).toBe(defaultGeneratorWeights.partition * 10);
    expect(steerWeights(pilot)).toEqual(weights);
  });

  it('gives the same runs with one worker, two workers and two shards merged', async () => {
    const profile = fuzzProfileNamed('f140')!;
    const runs = 7;
    const steer = { pilot: pilotSeeds(1, runs, 3) };
    const campaign = (seeds: number[], workers: number) =>
      runCampaign(profile, { seeds, workers, run: { commandsMax: 8 }, steer });
    const view = (outcome: CampaignResult) =>
      outcome.results.map((r) => ({ seed: r.seed, ok: r.ok, coverage: r.coverage }));
    const one = await campaign(shardSeeds(1, runs), 1);
    expect(one.results.map((r) => r.seed)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const two = await campaign(shardSeeds(1, runs), 2);
    expect(view(two)).toEqual(view(one));
    const shards = await Promise.all([0, 1].map((index) => campaign(shardSeeds(1, runs, { index, count: 2 }), 1)));
    expect(shards[0]!.results.map((r) => r.seed)).toEqual([1, 3, 5, 7]);
    const summary = (outcome: CampaignResult, shard: string): ProtocolSummary => ({
      protocol: 'f140',
      baseSeed: 1,
      shard,
      workers: 1,
      runs: outcome.results.length,
      seeds: outcome.results.map((r) => r.seed),
      failures: 0,
      errors: 0,
      wallMs: 0,
      runsPerSecond: 0,
      counterexamples: [],
      coverage: mergeCoverage(
        outcome.results.map((r) => r.coverage!),
        [],
      ),
    });
    const merged = mergeSummaries(
      shards.map((outcome, i) => ({ name: `${i}`, summaries: [summary(outcome, `${i}/2`)] })),
    );
    expect(merged[0]!.seeds).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(merged[0]!.coverage).toEqual(summary(one, '0/1').coverage);
    expect(view({ ...one, results: shards.flatMap((s) => s.results).sort((a, b) => a.seed - b.seed) })).toEqual(
      view(one),
    );

    // The pilot is drawn as without steering; the runs after it with the pilot's weights.
    const plain = await runCampaign(profile, { seeds: shardSeeds(1, runs), workers: 1, run: { commandsMax: 8 } });
    expect(view(plain).slice(0, 3)).toEqual(view(one).slice(0, 3));
    expect(view(plain).slice(3)).not.toEqual(view(one).slice(3));
  }, 120_000);
});
