// Goal: determinism is the product. The same scenario and seed give a byte-identical trace in two
// separate processes; another seed gives another trace; adding a node leaves the random draws of
// the existing nodes and links unchanged.
// Method: run the CLI twice in fresh processes and compare files; run scenarios in-process with
// and without an extra idle node and compare what happened between the original two.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../src/scenario/load.js';
import { runScenario } from '../src/scenario/run.js';
import { fedsim, root } from './support/fedsim.js';

const scenarioFile = 'scenarios/echo/round-trip.yaml';

function traceOf(...extra: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-det-'));
  const result = fedsim('run', scenarioFile, '--traces', dir, ...extra);
  expect(result.code).toBe(0);
  return readFileSync(join(dir, 'echo', 'round-trip.ndjson'), 'utf8');
}

describe('determinism', () => {
  it('gives byte-identical traces for the same scenario and seed in two processes', () => {
    const first = traceOf();
    const second = traceOf();
    expect(first.length).toBeGreaterThan(1_000);
    expect(second).toBe(first);
  });

  it('gives a different trace for a different seed', () => {
    const base = traceOf();
    const other = traceOf('--seed', '8');
    expect(other).not.toBe(base);
    // The difference is in the timing the seed drew, not only in the header.
    const times = (text: string) =>
      text
        .split('\n')
        .slice(1, -2)
        .map((line) => (JSON.parse(line) as { atMs: number }).atMs);
    expect(times(other)).not.toEqual(times(base));
  });

  it('leaves existing nodes and links unchanged when a node is added', () => {
    const text = readFileSync(join(root, scenarioFile), 'utf8');
    const withExtra = text.replace('  b.test: {}\n', '  b.test: {}\n  c.test: {}\n');
    expect(withExtra).not.toBe(text);
    const between = (source: string) =>
      runScenario(parseScenario(source, 'x.yaml'))
        .trace.events.filter((e) => e.node === 'a.test' || e.node === 'b.test')
        .map(({ seq: _seq, ...rest }) => rest);
    const base = between(text);
    expect(base.length).toBeGreaterThan(10);
    expect(between(withExtra)).toEqual(base);
  });
});
