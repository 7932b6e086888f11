// Goal: a SOLEC relay link keeps its retry budget (spec.md §5.3): it gives up after exactly
// `attemptsMax` failed attempts in a row, reports what it queued, waits its backoff between
// attempts and holds one connection at a time (`solec.relay-attempts`).
// Method: test/fixtures/solec/relay-gives-up.yaml (a.test, 2 attempts, relays to a server no host
// answers for, then across a cut hop) passes; the same trace edited the way a broken relay would
// write it (one attempt more, a give-up one attempt early, a retry with no backoff, a give-up
// reported under the wrong code, the failed attempt's connection never closed) fails the
// invariant with the message naming the fault.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { solecInvariants } from '../../../src/protocols/solec/invariants.js';
import { parseScenario } from '../../../src/scenario/load.js';
import { runScenario } from '../../../src/scenario/run.js';
import type { TraceEvent } from '../../../src/trace/events.js';

const file = 'relay-gives-up.yaml';
const report = runScenario(parseScenario(readFileSync(`test/fixtures/solec/${file}`, 'utf8'), file));
const events = report.trace.events;
const nodes = [
  { id: 'a.test', host: 'a.test', protocol: 'solec', config: { role: 'server', attemptsMax: 2, retryMs: 200 } },
];
const violations = (trace: readonly TraceEvent[]) => {
  const invariant = solecInvariants['solec.relay-attempts']!({ nodes });
  return trace.map((event) => invariant.observe(event)).filter((v) => v !== undefined);
};
const isEvent = (event: TraceEvent, kind: string, conn: string) =>
  event.kind === kind && 'conn' in event && event.conn === conn && event.node === 'a.test';

describe('solec.relay-attempts', () => {
  it('the fixture passes: two give-ups, each reported, then a new link delivers', () => {
    expect(report.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
    const unreachable = events.filter((e) => e.kind === 'reject' && e.code === 'solec.unreachable');
    expect(unreachable).toHaveLength(2);
    expect(violations(events)).toEqual([]);
  });

  it('fails a link that opens an attempt after its budget is spent', () => {
    const failed = events.findIndex((e) => e.kind === 'state' && e.value === 'failed');
    const extra = { ...events[failed]!, kind: 'conn.connect', conn: 's2s:1#3', target: 's3.test:7000' } as TraceEvent;
    expect(violations([...events.slice(0, failed), extra])).toEqual([
      'a.test opened s2s:1#3 after 2 failed attempts in a row (attemptsMax 2)',
    ]);
  });

  it('fails a link that gives up one attempt early', () => {
    const early = events.filter((e) => !isEvent(e, 'conn.connect', 's2s:1#2'));
    expect(violations(early)).toEqual([
      "a.test's relay s2s:1 gave up after 1 failed attempts in a row (attemptsMax 2)",
    ]);
  });

  it('fails a retry that does not wait its backoff', () => {
    const hasty = events.map((e) => (isEvent(e, 'conn.connect', 's2s:1#2') ? { ...e, atMs: e.atMs - 150 } : e));
    expect(violations(hasty)).toEqual([
      'a.test opened s2s:1#2 50 ms after the attempt before, under its backoff of 200 ms',
    ]);
  });

  it('fails a give-up reported as a refused ServerAuth', () => {
    const miscalled = events.map((e) =>
      e.kind === 'reject' && e.code === 'solec.unreachable' ? { ...e, code: 'solec.server-auth-failed' } : e,
    );
    expect(violations(miscalled)).toEqual([
      "a.test's relay s2s:1 reported its queue as solec.server-auth-failed on entering failed (owed solec.unreachable)",
      "a.test's relay s2s:2 reported its queue as solec.server-auth-failed on entering failed (owed solec.unreachable)",
    ]);
  });

  it('fails a link that leaves a failed attempt open when it opens the next', () => {
    const leak = events.filter((e) => !isEvent(e, 'conn.refuse', 's2s:2#1'));
    expect(violations(leak)).toEqual(['a.test opened s2s:2#2 while s2s:2#1 of the same relay was still open']);
  });
});
