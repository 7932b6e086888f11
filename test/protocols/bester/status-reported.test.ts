// Goal: `bester.status-reported` (spec.md §4): a client is told the status its server's handlers
// make: a chain's end decides it, a non-zero status is passed on as bad, a handler slower than
// handlerTimeoutMs gives bad at the timeout, and each judged message is told within its bound.
// Method: test/fixtures/bester/handler-roles.yaml (the fuzz campaign's chain, error and stall
// roles on one server) passes; its trace edited the way a broken dispatcher would write it (a
// status flipped, a stall's report missing) fails with the message naming the client.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/protocols/bester/index.js';
import { besterInvariants } from '../../../src/protocols/bester/invariants.js';
import { parseScenario } from '../../../src/scenario/load.js';
import { runScenario } from '../../../src/scenario/run.js';
import type { TraceEvent } from '../../../src/trace/events.js';

const file = 'handler-roles.yaml';
const scenario = parseScenario(readFileSync(`test/fixtures/bester/${file}`, 'utf8'), file);
const report = runScenario(scenario);
const events = report.trace.events;
const nodes = scenario.nodes.map((node) => ({
  id: node.id,
  host: node.host ?? node.id,
  protocol: 'bester',
  config: configSchema.parse(node.config),
}));
const judge = (trace: readonly TraceEvent[]) => {
  const invariant = besterInvariants['bester.status-reported']!({ nodes });
  const found = trace.map((event) => invariant.observe(event)).filter((v) => v !== undefined);
  const last = invariant.finish?.();
  return last === undefined ? found : [...found, last];
};
const isStatus = (event: TraceEvent, node: string) =>
  event.kind === 'note' && event.what === 'bester.status' && event.node === node;

describe('bester.status-reported', () => {
  it('the fixture passes: the chain told good, the error and the stall bad', () => {
    expect(report.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
    expect(judge(events)).toEqual([]);
  });

  it('fails an error status reported as good', () => {
    const flipped = events.map((e) =>
      isStatus(e, 'e') && e.kind === 'note' ? { ...e, detail: { id: 'e1', status: 'good' } } : e,
    );
    expect(judge(flipped)).toEqual([
      'e was told "good" for its message e1 of type E, where its server\'s handlers answer bad',
    ]);
  });

  it('fails a chain whose end is reported bad', () => {
    const flipped = events.map((e) =>
      isStatus(e, 'c') && e.kind === 'note' ? { ...e, detail: { id: 'c1', status: 'bad' } } : e,
    );
    expect(judge(flipped)).toEqual([
      'c was told "bad" for its message c1 of type C, where its server\'s handlers answer good',
    ]);
  });

  it('fails a stall never reported past the timeout', () => {
    const late = { ...events[events.length - 1]!, atMs: 3_200 } as TraceEvent;
    expect(judge([...events.filter((e) => !isStatus(e, 's')), late])).toEqual([
      's was never told the status of its message s1 of type S (sent at 100ms, bad due by 3100ms)',
    ]);
  });
});
