// Goal: the performance paths change nothing a run can observe. The event queue's compaction of
// cancelled entries keeps the pop order; hashing the trace in chunks gives the same sha256;
// recording off counts the same events and delivers the same messages; state changes read from
// the root actor's snapshots are the ones xstate's inspection API reports; the end-to-end bench
// delivers every message it sends and counts the messages' events without the setup's.
// Method: fast-check differential properties against plain references (a sorted list, a
// per-line hash, a recorded run, an inspected actor), with sizes past the compaction threshold.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { echoFederation } from '../../src/bench/run.js';
import { solecFederation } from '../../src/bench/federation.js';
import { protocolThroughput } from '../../src/bench/protocols.js';
import { startActor, stateName } from '../../src/engine/actor.js';
import { peerMachine } from '../../src/protocols/f140/machines/peer.js';
import { sessionMachine } from '../../src/protocols/f140/machines/session.js';
import { ManualHost } from '../support/manual-host.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { TraceRecorder } from '../../src/trace/recorder.js';

describe('sim: performance paths', () => {
  it('pops the same order with compaction as a sorted reference (property, 60 runs of up to 4,000 operations)', () => {
    const op = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('push' as const),
          atMs: fc.integer({ min: 0, max: 400 }),
          rank: fc.integer({ min: 0, max: 3 }),
        }),
      },
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1_000, maxLength: 4_000 }), (ops) => {
        const queue = new EventQueue<number>();
        type Ref = { atMs: number; rank: number; seq: number; value: number; cancelled: boolean };
        const reference: Ref[] = [];
        const handles: ReturnType<EventQueue<number>['push']>[] = [];
        let now = 0;
        let value = 0;
        const popped: number[] = [];
        const expected: number[] = [];
        const popReference = () => {
          const live = reference.filter((r) => !r.cancelled);
          live.sort((a, b) => a.atMs - b.atMs || a.rank - b.rank || a.seq - b.seq);
          const top = live[0];
          if (top) {
            top.cancelled = true;
            expected.push(top.value);
          }
        };
        for (const o of ops) {
          if (o.kind === 'push') {
            const entry = queue.push(now + o.atMs, o.rank, value);
            handles.push(entry);
            reference.push({ atMs: now + o.atMs, rank: o.rank, seq: entry.seq, value, cancelled: false });
            value += 1;
          } else if (o.kind === 'cancel' && handles.length > 0) {
            const index = o.pick % handles.length;
            queue.cancel(handles[index]!);
            const ref = reference[index]!;
            if (!expected.includes(ref.value)) ref.cancelled = true;
          } else if (o.kind === 'pop') {
            const entry = queue.pop();
            if (entry) {
              popped.push(entry.value);
              now = entry.atMs;
            }
            popReference();
          }
        }
        for (let entry = queue.pop(); entry; entry = queue.pop()) popped.push(entry.value);
        while (reference.some((r) => !r.cancelled)) popReference();
        expect(popped).toEqual(expected);
        expect(queue.size).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('hashes the trace in chunks to the sha256 of its lines', () => {
    const trace = new TraceRecorder({
      format: 'fedsim-trace',
      version: 1,
      scenario: 't',
      seed: 1,
      protocols: [],
      nodes: [],
    });
    for (let i = 0; i < 5_000; i++)
      trace.record(i, `n${i % 7}`, { kind: 'note', what: 'x'.repeat(i % 50), detail: { i } });
    const end = trace.end(5_000);
    const text = trace.lines.slice(0, -1).join('\n') + '\n';
    expect(text.length).toBeGreaterThan(3 * 64 * 1024);
    expect(end.sha256).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('counts the same events and delivers the same messages with recording off', () => {
    expect(echoFederation(6, 5, false)).toEqual(echoFederation(6, 5, true));
    const on = solecFederation({ nodes: 12, messages: 60, spanMs: 2_000 });
    const off = solecFederation({
      nodes: 12,
      messages: 60,
      spanMs: 2_000,
      recorder: { keepLines: false, keepEvents: false, hash: false },
    });
    expect([off.events, off.delivered, off.simEvents, off.virtualMs]).toEqual([
      on.events,
      on.delivered,
      on.simEvents,
      on.virtualMs,
    ]);
    expect(on.delivered).toBe(60);
    expect(off.world.deliveries).toEqual(on.world.deliveries);
  });

  it('reports the state changes xstate inspection reports (property, 100 runs per machine)', () => {
    const inspected = (
      machine: typeof sessionMachine | typeof peerMachine,
      input: unknown,
      events: { type: string }[],
      host: ManualHost,
    ) => {
      const states: string[] = [];
      let last: string | undefined;
      const actor = createActor(machine as typeof sessionMachine, {
        clock: host.clock,
        input: input as never,
        inspect: (event) => {
          if (event.type !== '@xstate.snapshot' || event.actorRef.sessionId !== event.rootId) return;
          const value = (event.snapshot as { value?: Parameters<typeof stateName>[0] }).value;
          if (value === undefined) return;
          const name = stateName(value);
          if (name !== last) states.push((last = name));
        },
      });
      actor.start();
      for (const event of events) actor.send(event as never);
      return states;
    };
    const subscribed = (
      machine: typeof sessionMachine | typeof peerMachine,
      input: unknown,
      events: { type: string }[],
      host: ManualHost,
    ) => {
      const actor = startActor(machine as typeof sessionMachine, host, { input: input as never });
      for (const event of events) actor.send(event as never);
      return host.states.map((s) => s.value);
    };
    const sessionEvents = fc.array(
      fc.constantFrom({ type: 'http.request' }, { type: 'session.end' }, { type: 'conn.closed' }),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(sessionEvents, (events) => {
        const input = { conn: 'in:1', idleMs: 1_000 };
        expect(subscribed(sessionMachine, input, events, new ManualHost())).toEqual(
          inspected(sessionMachine, input, events, new ManualHost()),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('counts each protocol end to end: every message delivered, and the events of the messages alone', () => {
    for (const protocol of ['fmtp', 'f140', 'solec', 'bester', 'ambrosia']) {
      const run = protocolThroughput(protocol, 40);
      expect(run.delivered, protocol).toBe(40);
      // Each delivery is itself a trace event, and reaching it takes at least one simulator event.
      expect(run.events, protocol).toBeGreaterThan(run.delivered);
      expect(run.simulatorEvents, protocol).toBeGreaterThanOrEqual(run.delivered);
      // The setup (the same world without messages) is taken out: 40 messages cost far fewer events than a build.
      expect(run.events / run.delivered, protocol).toBeLessThan(200);
    }
  });
});
