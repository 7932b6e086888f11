// Goal: a seed sweep runs every scenario on every seed of a range, inline or on worker threads
// with the same tally, and names the first failing seed with a replay command that fails alone.
// Method: a scenario whose deadline some network delays miss, swept over 40 seeds; the CLI on
// temporary files; the bundled scenarios on seeds 1..5 (the full 1..200 is `npm run sweep`).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioFiles } from '../../src/cli/run.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import { parseSeedRange, runSweep } from '../../src/scenario/sweep.js';
import { fedsim, root } from '../support/fedsim.js';

const scratch = mkdtempSync(join(tmpdir(), 'fedsim-sweep-'));

/** Delivery by 60ms needs a connect and a data segment; delays of 1..100ms make some seeds miss it. */
const tight = `name: t/tight
protocol: echo
seed: 1
nodes:
  a.test: {}
  b.test: {}
network: { delayMsMin: 1, delayMsMax: 100 }
steps:
  - { atMs: 5, do: command, node: a.test, command: { type: send, to: b.test, body: hi } }
expect:
  - { byMs: 60, delivered: { to: echo@b.test, bodies: [hi] } }
limits: { timeMsMax: 10000, eventsMax: 1000 }
`;

describe('scenario: seed sweep', () => {
  it('parses A..B and single seeds, and refuses reversed, empty or huge ranges', () => {
    expect(parseSeedRange('1..5')).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeedRange('7')).toEqual([7]);
    for (const bad of ['5..1', '', '1..', 'a..b', '1..1000000', '-1..3'])
      expect(parseSeedRange(bad), bad).toBe(undefined);
  });

  it('tallies each seed, names the lowest failing one, and that seed fails when run alone', async () => {
    const file = join(scratch, 'tight.yaml');
    writeFileSync(file, tight);
    const scenario = parseScenario(tight, file);
    const seeds = parseSeedRange('1..40') ?? [];
    const inline = await runSweep([scenario], { seeds, workers: 1 });
    const [tally] = inline.tallies;
    expect(tally?.runs).toBe(40);
    expect(tally?.passed).toBeGreaterThan(0);
    expect(tally?.passed).toBeLessThan(40);
    const first = tally?.firstFailure?.seed ?? -1;
    expect(runScenario(scenario, { seed: first }).verdict).toBe('fail');
    for (let seed = 1; seed < first; seed++) expect(runScenario(scenario, { seed }).verdict).toBe('pass');
    const verdicts = seeds.filter((seed) => runScenario(scenario, { seed }).verdict === 'pass');
    expect(verdicts.length).toBe(tally?.passed);
    // Worker threads deal the runs out differently; the tally is the same.
    const threaded = await runSweep([scenario], { seeds, workers: 2 });
    expect(threaded).toEqual(inline);
  });

  it('prints passed N of M and the replay command, exits 1 on a failure and 2 on a file that does not load', () => {
    const file = join(scratch, 'tight.yaml');
    writeFileSync(file, tight);
    const bad = join(scratch, 'bad.yaml');
    writeFileSync(bad, 'name: [\n');
    const result = fedsim('run', file, '--seeds', '1..40', '--workers', '2');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL t\/tight: passed \d+ of 40$/m);
    expect(result.stdout).toMatch(new RegExp(`^  replay: npx fedsim run ${file} --seed \\d+$`, 'm'));
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(
      /^0 passed, 1 failed \(1 scenarios x seeds 1\.\.40: \d+ of 40 runs passed\)$/,
    );
    const withBad = fedsim('run', file, bad, '--seeds', '1..3');
    expect(withBad.code).toBe(2);
    expect(withBad.stderr).toContain(`${bad}:`);
    expect(withBad.stdout).toContain('t/tight: passed');
    for (const args of [
      ['--seeds', '9..1'],
      ['--seeds', '1..3', '--seed', '2'],
    ]) {
      const refused = fedsim('run', file, ...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  });

  it('passes every bundled scenario on seeds 1..5 (npm run sweep does 1..200)', async () => {
    const scenarios = scenarioFiles([join(root, 'scenarios')]).map((file) => loadScenario(file));
    expect(scenarios.length).toBeGreaterThan(60);
    const { tallies, errors } = await runSweep(scenarios, { seeds: [1, 2, 3, 4, 5], workers: 1 });
    expect(errors).toEqual([]);
    const failed = tallies
      .filter((tally) => tally.passed !== tally.runs)
      .map((tally) => `${tally.file} seed ${tally.firstFailure?.seed}: ${tally.firstFailure?.failure}`);
    expect(failed).toEqual([]);
  });
});
