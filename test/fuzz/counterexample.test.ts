// Goal: a shrunk counterexample written to a file replays to the same violation, and the file is
// an ordinary scenario file (the printed replay command names it).
// Method: catch the f140 duplicate canary, write the counterexample to a temporary directory,
// load the file with the scenario loader, run it over the canary (same failures, same trace) and
// over the real node (passes: the bug is the canary's). Also run it through `fedsim fuzz --replay`.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzCommand } from '../../src/cli/fuzz.js';
import { writeCounterexample } from '../../src/fuzz/counterexample.js';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { runOne, withCanary } from '../../src/fuzz/run-one.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';

describe('fuzz: counterexample files', () => {
  it('replay to the same violation (f140, duplicate canary, seed 3)', async () => {
    const profile = fuzzProfileNamed('f140')!;
    const result = runOne(profile, 3, { canary: 'duplicate' });
    expect(result.ok).toBe(false);
    const failure = result.failure!;
    const directory = mkdtempSync(join(tmpdir(), 'fedsim-cx-'));
    const written = writeCounterexample(directory, 'f140', failure, 'duplicate');
    expect(written.replay).toBe(`fedsim fuzz f140 --canary duplicate --replay ${written.file}`);
    expect(readFileSync(written.file, 'utf8')).toMatch(/^# Shrunk counterexample found by `fedsim fuzz f140`/);

    const scenario = loadScenario(written.file);
    const replayed = runScenario(withCanary(scenario, 'duplicate'));
    const failed = replayed.results.filter((r) => !r.ok).map((r) => `${r.expectation}: ${r.message}`);
    expect(failed).toEqual(failure.failures);
    expect(replayed.trace.text()).toBe(readFileSync(written.trace, 'utf8'));

    expect(runScenario(scenario).verdict).toBe('pass');

    const lines: string[] = [];
    const code = await fuzzCommand(
      'f140',
      { runs: 0, seed: 0, workers: 1, canary: 'duplicate', replay: written.file, out: directory, summary: directory },
      (line) => lines.push(line),
    );
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/x always noDuplicateDelivery/);
  });
});
