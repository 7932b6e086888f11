// Goal: a SOLEC server pushes the Messages it stored for an offline user at that user's next
// login (spec.md §4), and `solec.mailbox-flushed` says when it does not.
// Method: test/fixtures/solec/mailbox-after-restart.yaml (bob down twice, carol's Messages stored
// each time, pushed at each login) passes; the same trace edited the way a server that skips the
// flush would write it (a push missing, every push of a login missing) fails the invariant with the
// message naming the Message, at the next login or at the end of the run; a crash of the server
// itself empties its mailbox, and a Message stored after the last login is owed nothing yet.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { solecProfile } from '../../../src/protocols/solec/fuzz.js';
import { solecInvariants } from '../../../src/protocols/solec/invariants.js';
import { parseScenario } from '../../../src/scenario/load.js';
import { runScenario } from '../../../src/scenario/run.js';
import type { TraceEvent } from '../../../src/trace/events.js';

const file = 'mailbox-after-restart.yaml';
const report = runScenario(parseScenario(readFileSync(`test/fixtures/solec/${file}`, 'utf8'), file));
const events = report.trace.events;
const violations = (trace: readonly TraceEvent[]) => {
  const invariant = solecInvariants['solec.mailbox-flushed']!({ nodes: [] });
  const seen = trace.map((event) => invariant.observe(event)).filter((v) => v !== undefined);
  const last = invariant.finish?.();
  return last === undefined ? seen : [...seen, last];
};
const note = (event: TraceEvent, what: string) => event.kind === 'note' && event.what === what;
const idOf = (event: TraceEvent) =>
  event.kind === 'note' ? (event.detail as { id?: string } | undefined)?.id : undefined;
const stored = events.filter((e) => note(e, 'solec.stored')).map(idOf);

describe('solec.mailbox-flushed', () => {
  it('the fixture passes: three Messages stored, each pushed at the next login', () => {
    expect(report.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
    expect(stored).toHaveLength(3);
    expect(events.filter((e) => note(e, 'solec.pushed')).map(idOf)).toEqual(stored);
    expect(violations(events)).toEqual([]);
  });

  it('fails at the next login when a login skipped one stored Message', () => {
    const skipped = events.filter((e) => !(note(e, 'solec.pushed') && idOf(e) === stored[1]));
    expect(violations(skipped)).toEqual([
      `message ${stored[1]} stored on b.test for bob was not pushed at bob's login`,
    ]);
  });

  it('fails at the end of the run when the last login pushed nothing', () => {
    const unflushed = events.filter((e) => !(note(e, 'solec.pushed') && idOf(e) === stored[2]));
    expect(violations(unflushed)).toEqual([
      `message ${stored[2]} stored on b.test for bob was not pushed at bob's login`,
    ]);
  });

  it('owes nothing stored after the last login, nor what a crashed server held', () => {
    const lastLogin = events.findLastIndex((e) => note(e, 'solec.authenticated'));
    const beforeLogin = events.slice(0, lastLogin);
    expect(violations(beforeLogin)).toEqual([]);
    const firstPush = events.findIndex((e) => note(e, 'solec.pushed'));
    const crash = { ...events[firstPush]!, kind: 'node.crash', incarnation: 1 } as TraceEvent;
    const lost = [
      ...events.slice(0, firstPush),
      crash,
      ...events.slice(lastLogin - 1).filter((e) => !note(e, 'solec.pushed')),
    ];
    expect(violations(lost).filter((v) => v.includes(stored[0]!))).toEqual([]);
  });

  it('is read by the default SOLEC fuzz campaign', () => {
    expect(solecProfile.invariants).toContain('solec.mailbox-flushed');
  });
});
