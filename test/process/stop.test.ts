// The `stop` input: at the end of a run an external node gets a graceful stop, in which its durable
// writes count and nothing else it says does; then its stdin closes and it exits by itself.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;

describe('an external node at the end of a run', () => {
  it('gets `stop`, keeps what it stores then, says nothing else, and exits on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-stop-'));
    copyFileSync(join(fixtures, 'stop-node.mjs'), join(dir, 'stop-node.mjs'));
    const marker = join(dir, 'exited.txt');
    const file = join(dir, 'stop.yaml');
    const text = [
      'name: process/stop',
      'protocol: f140',
      'seed: 1',
      'nodes:',
      '  a.test:',
      `    process: { command: [node, stop-node.mjs, ${JSON.stringify(marker)}] }`,
      '    config: { announce: false }',
      'steps:',
      '  - { atMs: 100, do: command, node: a.test, command: { type: ping, to: nobody@b.test } }',
      'limits: { timeMsMax: 2000, eventsMax: 100 }',
    ].join('\n');
    writeFileSync(file, text);
    const report = runScenario(parseScenario(text, file));
    expect(report.world.storeOf('a.test').get('stopped')).toEqual({ now: expect.any(Number) as number });
    const trace = report.trace.text();
    expect(trace).not.toContain('should not be in the trace');
    expect(trace).not.toContain('"kind":"listen"');
    // Its stdin closed after the stop step: it exits by itself, well within the grace period.
    for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((done) => setTimeout(done, 20));
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : 'still running or killed').toBe('exited');
  });

  it('answers a conn.buffered question within the step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-query-'));
    copyFileSync(join(fixtures, 'query-node.mjs'), join(dir, 'query-node.mjs'));
    const file = join(dir, 'query.yaml');
    const text = [
      'name: process/query',
      'protocol: f140',
      'seed: 1',
      'nodes:',
      '  a.test:',
      '    process: { command: [node, query-node.mjs] }',
      '    config: { announce: false }',
      'steps:',
      '  - { atMs: 100, do: command, node: a.test, command: { type: ping, to: nobody@b.test } }',
      'limits: { timeMsMax: 2000, eventsMax: 100 }',
    ].join('\n');
    writeFileSync(file, text);
    const trace = runScenario(parseScenario(text, file)).trace.text();
    expect(trace).toMatch(
      /"what":"answer","detail":\{"kind":"conn.buffered","conn":"nope","bytes":0,"highWaterBytes":\d+\}/,
    );
  });
});
