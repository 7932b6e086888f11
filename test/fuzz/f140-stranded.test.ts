// Goal: F140's queue is owed every accepted message except what a damaged PING stranded (spec.md
// §5): under `seed` nothing protects `reply_to`, so a PING whose `reply_to` a corruption rewrote
// re-points the friend durably, and what is queued for it waits until the friend calls again from
// its own address. Regression for fuzz seed 1527 of a 2,000-run soak (a restarted node's
// announcement with its Content-Length decremented: `reply_to=n2.test:814`).
// Method: the soak's plan, rebuilt, must pass and owe neither message; strandedByDamage over
// synthetic traces (no damage, a damage, the address restored by a later PING).
import { describe, expect, it } from 'vitest';
import { Plan } from '../../src/fuzz/plan.js';
import type { FuzzUser, Topology } from '../../src/fuzz/profile.js';
import { judgePlan } from '../../src/fuzz/run-one.js';
import { f140Profile, strandedByDamage } from '../../src/protocols/f140/fuzz.js';
import type { TraceEvent } from '../../src/trace/events.js';

const pair = (out: string, into: string) => ({
  outbound: { challenge: `c-${out}`, response: `r-${out}` },
  inbound: { challenge: `c-${into}`, response: `r-${into}` },
});
const node = (user: string, friend: string, host: string, out: string, into: string) => ({
  config: {
    retryMsBase: 200,
    retryMsMax: 2_000,
    requestTimeoutMs: 2_000,
    users: [{ name: user, friends: [{ user: friend, host, ...pair(out, into) }] }],
  },
});
const u1: FuzzUser = { address: 'u1@n1.test', node: 'n1.test' };
const u2: FuzzUser = { address: 'u1@n2.test', node: 'n2.test' };
const topology: Topology = {
  nodes: {
    'n1.test': node(u1.address, u2.address, 'n2.test', 'ab', 'ba'),
    'n2.test': node(u2.address, u1.address, 'n1.test', 'ba', 'ab'),
  },
  dns: [],
  network: { delayMsMin: 1, delayMsMax: 1, connectTimeoutMs: 1_000, resetTimeoutMs: 3_000 },
  users: [u1, u2],
  hosts: ['n1.test', 'n2.test'],
  crashable: ['n1.test', 'n2.test'],
};

describe('fuzz: F140 messages stranded by a damaged PING (fuzz seed 1527)', () => {
  it('owes nothing u1@n1.test queues for u1@n2.test after n2.test announced itself at a damaged address', () => {
    const plan = new Plan(f140Profile, topology);
    plan.nowMs = 100;
    plan.add({ atMs: 100, do: 'crash', node: 'n2.test' }, 'begin');
    plan.arm('corrupt', 'n2.test', 'n1.test', { field: 'Content-Length', op: 'dec' });
    plan.nowMs = 102;
    plan.add({ atMs: 102, do: 'restart', node: 'n2.test' }, 'end');
    plan.send(u1, u2);
    plan.nowMs = 9_102;
    plan.send(u1, u2);
    const { source, report } = judgePlan(plan, 0, 'f140-1527');
    expect(report.results.filter((result) => !result.ok)).toEqual([]);
    expect(
      report.trace.events.some(
        (event) =>
          event.kind === 'note' &&
          event.what === 'f140.ping.accepted' &&
          JSON.stringify(event.detail).includes('"port":814}'),
      ),
    ).toBe(true);
    expect((source.expect ?? []).some((expectation) => 'delivered' in expectation)).toBe(false);
  });

  const command = (seq: number, to: string, text: string): TraceEvent =>
    ({
      seq,
      atMs: seq,
      node: 'n1.test',
      lamport: seq,
      kind: 'command',
      command: { type: 'send', from: u1.address, to, text },
    }) as TraceEvent;
  const ping = (seq: number, port: number): TraceEvent =>
    ({
      seq,
      atMs: seq,
      node: 'n1.test',
      lamport: seq,
      kind: 'note',
      what: 'f140.ping.accepted',
      detail: { from: u2.address, to: u1.address, address: { host: 'n2.test', port } },
    }) as TraceEvent;
  const damage = (seq: number): TraceEvent =>
    ({
      seq,
      atMs: seq,
      node: 'sim',
      lamport: 0,
      kind: 'fault',
      fault: 'corrupt',
      phase: 'end',
      detail: {},
    }) as TraceEvent;
  const key = (event: TraceEvent) => (event.kind === 'command' ? `n1.test ${JSON.stringify(event.command)}` : '');

  it('strands the commands for the re-pointed friend up to the PING that restores its address, after a damage only', () => {
    const before = command(1, u2.address, 'm1');
    const other = command(2, 'u2@n3.test', 'm2');
    const during = command(5, u2.address, 'm3');
    const after = command(7, u2.address, 'm4');
    expect([...strandedByDamage([before, ping(3, 814), during])]).toEqual([]);
    expect([...strandedByDamage([before, other, damage(3), ping(4, 814), during])].sort()).toEqual(
      [key(before), key(during)].sort(),
    );
    expect([...strandedByDamage([before, damage(3), ping(4, 814), during, ping(6, 8140), after])].sort()).toEqual(
      [key(before), key(during)].sort(),
    );
  });
});
