// Goal: F140's durable queue is owed every accepted message, except one dropped as refused after
// two corruptions acted (two damaged exchanges in a row confirm a refusal, spec.md §5); one damage
// never excuses a drop. Regression for the 5,000-run soak's false failures (seeds 1645, 3825,
// 4116, 4230: a damaged request, then an edited `response`, and the message dropped).
// Method: those fuzz seeds run as drawn and must pass; droppedAfterDamage over synthetic traces
// with one and with two damages before the reject.
import { describe, expect, it } from 'vitest';
import { droppedAfterDamage } from '../../src/fuzz/plan.js';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { runOne } from '../../src/fuzz/run-one.js';
import type { TraceEvent } from '../../src/trace/events.js';

const command = { type: 'send', from: 'u1@n1.test', to: 'u1@n2.test', text: 'm1' };
const damage = (atMs: number) =>
  ({
    seq: atMs,
    atMs,
    node: 'sim',
    lamport: 0,
    kind: 'fault',
    fault: 'corrupt',
    phase: 'end',
    detail: {},
  }) as TraceEvent;
const events = (damages: number): TraceEvent[] => [
  { seq: 1, atMs: 100, node: 'n1.test', lamport: 1, kind: 'command', command } as TraceEvent,
  {
    seq: 2,
    atMs: 100,
    node: 'n1.test',
    lamport: 2,
    kind: 'note',
    what: 'f140.msg.queued',
    detail: { id: 'n1.test#1' },
  } as TraceEvent,
  ...Array.from({ length: damages }, (_, i) => damage(101 + i)),
  {
    seq: 9,
    atMs: 300,
    node: 'n1.test',
    lamport: 3,
    kind: 'reject',
    code: 'f140.refused',
    reason: '',
    detail: { id: 'n1.test#1' },
  } as TraceEvent,
];

describe('fuzz: a refusal confirmed under damage', () => {
  it('excuses a message dropped as refused after two damages, not after one', () => {
    const key = `n1.test ${JSON.stringify(command)}`;
    expect([...droppedAfterDamage(events(2), ['f140.refused'])]).toEqual([key]);
    expect([...droppedAfterDamage(events(1), ['f140.refused'])]).toEqual([]);
    expect([...droppedAfterDamage(events(2), ['other.code'])]).toEqual([]);
  });

  it.each([1645, 3825])('F140 fuzz seed %i passes', (seed) => {
    const result = runOne(fuzzProfileNamed('f140')!, seed);
    expect(result.failure?.failures ?? []).toEqual([]);
  });
});

// The SOLEC false failures of the same soak: a restarted client whose only login met a fault
// (seeds 1756, 2771: the login is final, spec.md §4.1), and a damage while a client's backoff was
// still doubling from a partition (seed 2541: it extends the run of faults the quiet window waits for).
describe('fuzz: SOLEC promises after the 5,000-run soak', () => {
  it.each([1756, 2541, 2771])('SOLEC fuzz seed %i passes', (seed) => {
    const result = runOne(fuzzProfileNamed('solec')!, seed);
    expect(result.failure?.failures ?? []).toEqual([]);
  });
});

// Ambrosia: a corruption that edits an honest service's name in its stream header makes the
// faithful gateway register a domain that name does not own; a changed byte wrote it, so
// `ambrosia.registration-owned` excuses it (an attacker's own name is never written by damage).
describe('fuzz: Ambrosia registrations under damage after the 5,000-run soak', () => {
  it.each([1700, 3751])('Ambrosia fuzz seed %i passes', (seed) => {
    const result = runOne(fuzzProfileNamed('ambrosia')!, seed);
    expect(result.failure?.failures ?? []).toEqual([]);
  });
});
