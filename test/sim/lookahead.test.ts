// The simulator's side of the lookahead (src/sim/simulator.ts `setLookahead`, event-queue.ts
// `window`): what it shows before a tagged event, in which order, within which bounds; and that
// runs with a stop condition never look ahead. The world's side is test/process/lookahead.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, type QueueEntry } from '../../src/sim/event-queue.js';
import { Simulator, type Scheduled } from '../../src/sim/simulator.js';

const order = (a: QueueEntry<number>, b: QueueEntry<number>) => a.atMs - b.atMs || a.rank - b.rank || a.seq - b.seq;

describe('EventQueue.window', () => {
  it('gives the live entries after the earliest up to the bound, in pop order, capped, call after call (seed 20261206)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3 }), fc.boolean()), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 60 }),
        (pushes, boundMs, cap, secondBoundMs) => {
          const queue = new EventQueue<number>();
          const live: QueueEntry<number>[] = [];
          pushes.forEach(([atMs, rank, cancel], i) => {
            const entry = queue.push(atMs, rank, i, i % 2 === 0 ? 'tag' : undefined);
            if (cancel) queue.cancel(entry);
            else live.push(entry);
          });
          const sorted = live.sort(order);
          const top = queue.peek();
          expect(top).toBe(sorted[0]);
          const expected = (bound: number) =>
            sorted
              .slice(1)
              .filter((entry) => entry.atMs <= bound)
              .slice(0, cap);
          expect(queue.window(boundMs, cap)).toEqual(expected(boundMs));
          // The queue reuses the array of its last window: the next one is right all the same.
          expect(queue.window(secondBoundMs, cap)).toEqual(expected(secondBoundMs));
        },
      ),
      { seed: 20_261_206, numRuns: 300 },
    );
  });
});

describe('Simulator lookahead', () => {
  /** A simulator with events at `times` (every other one tagged) and a lookahead that records what it saw. */
  function setUp(windowMs: number, times: number[]) {
    const sim = new Simulator();
    const ran: number[] = [];
    const scans: { at: number; ahead: number[] }[] = [];
    times.forEach((atMs, i) => sim.at(atMs, 0, () => ran.push(i), i % 2 === 0 ? { i } : undefined));
    sim.setLookahead({
      windowMs,
      scan: (current: Scheduled, ahead: readonly Scheduled[]) => {
        scans.push({ at: current.atMs, ahead: ahead.map((entry) => entry.atMs) });
      },
    });
    return { sim, ran, scans };
  }

  it('shows, before each tagged event, the events before its time plus the window, and runs them in order', () => {
    const { sim, ran, scans } = setUp(5, [0, 1, 4, 5, 9, 20]);
    sim.runUntilQuiet({ timeMsMax: 100, eventsMax: 100 });
    expect(ran).toEqual([0, 1, 2, 3, 4, 5]);
    // Tagged: the events at 0, 4 and 9 (indices 0, 2, 4).
    expect(scans).toEqual([
      { at: 0, ahead: [1, 4] },
      { at: 4, ahead: [5] },
      { at: 9, ahead: [] },
    ]);
  });

  it('keeps the window within the run: its timeMsMax and its eventsMax', () => {
    const byTime = setUp(50, [0, 1, 4, 5, 9, 20]);
    byTime.sim.runUntilMs(5, { timeMsMax: 100, eventsMax: 100 });
    expect(byTime.scans[0]).toEqual({ at: 0, ahead: [1, 4, 5] });
    const byEvents = setUp(50, [0, 1, 4, 5, 9, 20]);
    byEvents.sim.runUntilQuiet({ timeMsMax: 100, eventsMax: 3 });
    // Three events may run: the one at 0 and two more.
    expect(byEvents.scans[0]).toEqual({ at: 0, ahead: [1, 4] });
  });

  it('never looks ahead in a run with a stop condition', () => {
    const { sim, ran, scans } = setUp(5, [0, 1, 4, 5, 9, 20]);
    sim.runUntil(() => ran.length === 6, { timeMsMax: 100, eventsMax: 100 });
    expect(ran.length).toBe(6);
    expect(scans).toEqual([]);
  });
});
