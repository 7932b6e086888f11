// The scenario step `stop`: a graceful stop in the middle of a run, distinct from `crash`. The node
// is told to finish (an external process gets the `stop` input, keeps what it stores then, and
// exits), its connections close at once (peers see them closed, not reset after the reset
// timeout), its durable store is kept, and `restart` boots it again.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;

type Event = Record<string, unknown>;
const eventsOf = (text: string): Event[] =>
  text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => JSON.parse(line) as Event);

describe('the `stop` step', () => {
  it('stops an external node gracefully: `stop` input, its durable write kept, the process exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-stop-step-'));
    copyFileSync(join(fixtures, 'stop-node.mjs'), join(dir, 'stop-node.mjs'));
    const marker = join(dir, 'exited.txt');
    const file = join(dir, 'stop-step.yaml');
    const text = [
      'name: process/stop-step',
      'protocol: f140',
      'seed: 1',
      'nodes:',
      '  a.test:',
      `    process: { command: [node, stop-node.mjs, ${JSON.stringify(marker)}] }`,
      '    config: { announce: false }',
      'steps:',
      '  - { atMs: 500, do: stop, node: a.test }',
      'limits: { timeMsMax: 2000, eventsMax: 100 }',
    ].join('\n');
    writeFileSync(file, text);
    const report = runScenario(parseScenario(text, file));
    // Saved in the stop step at 500 ms, and not again at the end of the run (the node is down).
    expect(report.world.storeOf('a.test').get('stopped')).toEqual({ now: 500 });
    expect(report.world.isAlive('a.test')).toBe(false);
    const events = eventsOf(report.trace.text());
    expect(events.filter((e) => e['kind'] === 'node.stop')).toEqual([
      expect.objectContaining({ atMs: 500, node: 'a.test', kind: 'node.stop', incarnation: 1 }),
    ]);
    expect(events.some((e) => e['kind'] === 'node.crash' || e['kind'] === 'fault')).toBe(false);
    expect(report.trace.text()).not.toContain('should not be in the trace');
    // Its stdin closed after the stop step: it exits by itself, well within the grace period.
    for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((done) => setTimeout(done, 20));
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : 'still running or killed').toBe('exited');
  });

  it('stops a built-in node: its connections close at once, its durable state stays, restart picks up', () => {
    const friend = (user: string, host: string, out: string, into: string) =>
      `{ user: ${user}, host: ${host}, outbound: { challenge: c-${out}, response: r-${out} }, inbound: { challenge: c-${into}, response: r-${into} } }`;
    const text = [
      'name: process/stop-step-builtin',
      'protocol: f140',
      'seed: 3',
      'nodes:',
      '  a.test:',
      `    config: { announce: false, users: [{ name: alice@a.test, friends: [${friend('bob@b.test', 'b.test', 'ab', 'ba')}] }] }`,
      '  b.test:',
      `    config: { announce: false, users: [{ name: bob@b.test, friends: [${friend('alice@a.test', 'a.test', 'ba', 'ab')}] }] }`,
      'network: { delayMsMin: 10, delayMsMax: 10, resetTimeoutMs: 10000 }',
      'steps:',
      '  - { atMs: 100, do: command, node: a.test, command: { type: send, from: alice@a.test, to: bob@b.test, text: one } }',
      // b stops while a's second message is on its way: the connection closes, a retries later.
      '  - { atMs: 1000, do: command, node: a.test, command: { type: send, from: alice@a.test, to: bob@b.test, text: two } }',
      '  - { atMs: 1015, do: stop, node: b.test }',
      '  - { atMs: 3000, do: restart, node: b.test }',
      'expect:',
      '  - always: noDuplicateDelivery',
      '  - { byMs: 9000, delivered: { to: bob@b.test, bodies: [one, two] } }',
      'limits: { timeMsMax: 12000, eventsMax: 20000 }',
    ].join('\n');
    const report = runScenario(parseScenario(text, 'stop-step-builtin.yaml'));
    expect(report.verdict).toBe('pass');
    const events = eventsOf(report.trace.text());
    const stop = events.findIndex((e) => e['kind'] === 'node.stop' && e['node'] === 'b.test');
    expect(events[stop]).toEqual(expect.objectContaining({ atMs: 1015, incarnation: 1 }));
    // No crash, no fault span: a stop is not a fault.
    expect(events.some((e) => e['kind'] === 'node.crash' || e['kind'] === 'fault')).toBe(false);
    // a's side of the open connection is closed one delay later (a FIN), not reset 10 s later.
    const peerClosed = events.find(
      (e, i) => i > stop && e['node'] === 'a.test' && e['kind'] === 'conn.close' && e['reason'] === 'closed',
    );
    expect(peerClosed?.['atMs']).toBe(1025);
    // The durable "seen" ids survived the stop: "one" was not delivered again after the restart.
    const delivered = events.filter((e) => e['kind'] === 'deliver').map((e) => [e['body'], e['atMs']]);
    expect(delivered.map(([body]) => body)).toEqual(['one', 'two']);
    expect(delivered[1]?.[1]).toBeGreaterThan(3000);
    expect(events.some((e) => e['kind'] === 'node.start' && e['node'] === 'b.test' && e['incarnation'] === 2)).toBe(
      true,
    );
  });

  it('is checked like every step: a node that is not in the scenario is named', () => {
    const text = [
      'name: process/stop-unknown',
      'protocol: f140',
      'seed: 1',
      'limits: { timeMsMax: 100, eventsMax: 100 }',
      'nodes:',
      '  a.test: { config: { announce: false } }',
      'steps:',
      '  - { atMs: 10, do: stop, node: z.test }',
    ].join('\n');
    expect(() => parseScenario(text, 'stop-unknown.yaml')).toThrow(/stop-unknown\.yaml:8:\d+: .*z\.test/);
  });
});
