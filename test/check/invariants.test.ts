// Goal: named invariants are values over the trace (violations, never exceptions), scenario files
// can ask for any of them by name, and an unknown name is a located error listing the known ones.
// Method: feed hand-made trace events to each invariant; load scenario text with good and bad names.
import { describe, expect, it } from 'vitest';
import { friendsOnly, settled } from '../../src/protocols/f140/invariants.js';
import { invariantNamed, invariantNames, invariantsFor } from '../../src/check/registry.js';
import { ScenarioError } from '../../src/core/errors.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import type { TraceEvent } from '../../src/trace/events.js';

const base = { atMs: 0, lamport: 0 };
const deliver = (seq: number, node: string, user: string, from: string, body: string): TraceEvent => ({
  ...base,
  seq,
  node,
  kind: 'deliver',
  user,
  from,
  body,
});

const f140Context = {
  nodes: [
    {
      id: 'b.test',
      host: 'b.test',
      protocol: 'f140',
      config: { users: [{ name: 'bob@b.test', friends: [{ user: 'alice@a.test' }] }] },
    },
  ],
};

describe('check: registry', () => {
  it('names the generic invariants and one or more per protocol', () => {
    expect(invariantNames()).toEqual(expect.arrayContaining(['noDuplicateDelivery', 'nodeNeverThrows']));
    for (const protocol of ['fmtp', 'f140', 'solec', 'bester', 'ambrosia']) {
      expect(invariantsFor(protocol).length, protocol).toBeGreaterThan(0);
    }
  });
});

describe('check: f140.friendsOnly', () => {
  it('accepts a friend (any case) and flags a stranger', () => {
    const invariant = friendsOnly(f140Context);
    expect(invariant.observe(deliver(1, 'b.test', 'bob@b.test', 'Alice@A.test', 'hi'))).toBeUndefined();
    expect(invariant.observe(deliver(2, 'b.test', 'bob@b.test', 'mallory@m.test', 'hi'))).toMatch(/not a friend/);
  });
});

const note = (seq: number, node: string, what: string, detail: unknown): TraceEvent => ({
  ...base,
  seq,
  node,
  kind: 'note',
  what,
  detail,
});

describe('check: f140.settled', () => {
  const queued = (seq: number, id: string) =>
    note(seq, 'a.test', 'f140.msg.queued', { id, from: 'alice@a.test', to: 'bob@b.test' });

  it('holds when every queued message is accepted or rejected by name', () => {
    const invariant = settled(f140Context);
    invariant.observe(queued(1, 'a.test#1'));
    invariant.observe(queued(2, 'a.test#2'));
    invariant.observe(note(3, 'a.test', 'f140.msg.accepted', { id: 'a.test#1' }));
    invariant.observe({
      ...base,
      seq: 4,
      node: 'a.test',
      kind: 'reject',
      code: 'f140.refused',
      reason: 'r',
      detail: { id: 'a.test#2' },
    });
    expect(invariant.finish?.()).toBeUndefined();
  });

  it('flags a message still queued at the end, and only at the node that queued it', () => {
    const invariant = settled(f140Context);
    invariant.observe(queued(1, 'a.test#1'));
    invariant.observe(queued(2, 'a.test#2'));
    // Another node's acceptance of the same id settles nothing here.
    invariant.observe(note(3, 'b.test', 'f140.msg.accepted', { id: 'a.test#1' }));
    invariant.observe(note(4, 'a.test', 'f140.msg.accepted', { id: 'a.test#2' }));
    expect(invariant.finish?.()).toMatch(/a\.test#1 from alice@a\.test to bob@b\.test is still queued at a\.test/);
  });
});

describe('check: authentic delivery', () => {
  it('flags a delivery nobody sent, a forged sender and an altered body (solec.authentic)', () => {
    const factory = invariantNamed('solec.authentic');
    expect(factory).toBeDefined();
    const invariant = factory!({
      nodes: [{ id: 'alice', host: 'alice.test', protocol: 'solec', config: { username: 'alice', server: 'a.test' } }],
    });
    expect(invariant.observe(deliver(1, 'bob', 'bob@b.test', 'alice@a.test', 'hi'))).toMatch(/no user sent/);
    const command: TraceEvent = {
      ...base,
      seq: 2,
      node: 'alice',
      kind: 'command',
      command: { type: 'send', to: 'bob@b.test', body: 'hi' },
    };
    expect(invariant.observe(command)).toBeUndefined();
    expect(invariant.observe(deliver(3, 'bob', 'bob@b.test', 'alice@a.test', 'hi'))).toBeUndefined();
    expect(invariant.observe(deliver(4, 'bob', 'bob@b.test', 'mallory@a.test', 'hi'))).toMatch(/no user sent/);
    expect(invariant.observe(deliver(5, 'bob', 'bob@b.test', 'alice@a.test', 'hj'))).toMatch(/no user sent/);
  });
});

const f140Scenario = (always: string) => `
name: check/named-invariant
protocol: f140
seed: 1
nodes:
  a.test:
    config:
      users:
        - name: alice@a.test
          friends: [{ user: bob@b.test, host: b.test, outbound: { challenge: c1, response: r1 }, inbound: { challenge: c2, response: r2 } }]
  b.test:
    config:
      users:
        - name: bob@b.test
          friends: [{ user: alice@a.test, host: a.test, outbound: { challenge: c2, response: r2 }, inbound: { challenge: c1, response: r1 } }]
steps:
  - { atMs: 100, do: command, node: a.test, command: { type: send, from: alice@a.test, to: bob@b.test, text: hi } }
expect:
  - always: ${always}
  - { byMs: 3000, delivered: { to: bob@b.test, bodies: [hi] } }
limits: { timeMsMax: 5000, eventsMax: 5000 }
`;

// alice lists bob as a friend; bob does not list alice, so b.test refuses her (403, spec.md §4.1).
const admirerScenario = `
name: check/admirer
protocol: f140
seed: 1
nodes:
  a.test:
    config:
      retryMsBase: 200
      users:
        - name: alice@a.test
          friends: [{ user: bob@b.test, host: b.test, outbound: { challenge: c1, response: r1 }, inbound: { challenge: c2, response: r2 } }]
  b.test:
    config:
      users: [{ name: bob@b.test, friends: [] }]
steps:
  - { atMs: 100, do: command, node: a.test, command: { type: send, from: alice@a.test, to: bob@b.test, text: hi } }
expect:
  - always: f140.settled
  - always: f140.friendsOnly
limits: { timeMsMax: 10000, eventsMax: 5000 }
`;

describe('scenario: always <name>', () => {
  it('f140.settled holds when a refusal is confirmed and the message dropped (an admirer)', () => {
    const report = runScenario(parseScenario(admirerScenario, 'admirer.yaml'));
    expect(report.verdict).toBe('pass');
    // Asked again once (unconfirmed), then dropped as refused by the sender's node.
    const atSender = report.trace.events.filter((e) => e.node === 'a.test');
    expect(atSender.filter((e) => e.kind === 'note' && e.what === 'f140.refusal.unconfirmed')).toHaveLength(1);
    const rejects = atSender.filter((e) => e.kind === 'reject' && e.code === 'f140.refused');
    expect(rejects).toHaveLength(1);
  });

  it('runs a protocol invariant asked for by name (f140.friendsOnly holds between friends)', () => {
    const report = runScenario(parseScenario(f140Scenario('f140.friendsOnly'), 'named.yaml'));
    expect(report.results.find((r) => r.expectation === 'always f140.friendsOnly')?.ok).toBe(true);
    expect(report.verdict).toBe('pass');
  });

  it('rejects an unknown name with its location and the known names', () => {
    let error: unknown;
    try {
      parseScenario(f140Scenario('f140.friendsOnyl'), 'bad.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const problem = (error as ScenarioError).problems[0];
    expect(problem?.file).toBe('bad.yaml');
    expect(problem?.line).toBe(19);
    expect(problem?.message).toMatch(/unknown invariant `f140.friendsOnyl`.*f140\.friendsOnly/);
  });
});
