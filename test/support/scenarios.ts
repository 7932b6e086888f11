/** Scenario folders in tests: list a protocol's scenario files and run one, expecting it to pass. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario, type RunReport } from '../../src/scenario/run.js';

/** The scenario files (YAML) directly in `dir`, sorted. */
export function scenarioFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort();
}

/** Runs `dir/file` without keeping trace lines, and expects every expectation met. */
export function expectScenarioPasses(dir: string, file: string): RunReport {
  const report = runScenario(loadScenario(join(dir, file)), { recorder: { keepLines: false } });
  expect(report.results.filter((result) => !result.ok)).toEqual([]);
  expect(report.verdict).toBe('pass');
  return report;
}
