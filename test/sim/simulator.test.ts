// Goal: the event queue pops in (time, rank, sequence) order whatever the push order, cancelled
// events never run, and runs stop exactly at their limits.
// Links: one per direction, found again by source and target.
// A cancelled entry keeps nothing of what it would have run (a cleared timer's closure holds its actor).
// Method: a fast-check property against a sorted reference; hand-made tie cases; limit cases.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../src/core/errors.js';
import { defaultNetwork, SimContext } from '../../src/sim/context.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { Links } from '../../src/sim/links.js';
import { rank, Simulator } from '../../src/sim/simulator.js';
import { TraceRecorder } from '../../src/trace/recorder.js';

const traceHeader = {
  format: 'fedsim-trace',
  version: 1,
  scenario: 'links',
  seed: 1,
  protocols: [],
  nodes: [],
} as const;

describe('sim: event queue', () => {
  it('pops in (atMs, rank, seq) order, skips cancelled entries and drops their values and tags (property, 300 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            atMs: fc.integer({ min: 0, max: 50 }),
            rank: fc.integer({ min: 0, max: 3 }),
            cancel: fc.boolean(),
          }),
          {
            maxLength: 200,
          },
        ),
        (items) => {
          const released = -1;
          const queue = new EventQueue<number>(released);
          const entries = items.map((item, index) => queue.push(item.atMs, item.rank, index, { index }));
          items.forEach((item, index) => item.cancel && queue.cancel(entries[index]!));
          entries.forEach((entry, index) => {
            expect(entry.value).toBe(items[index]!.cancel ? released : index);
            expect(entry.tag).toEqual(items[index]!.cancel ? undefined : { index });
          });
          const expected = items
            .map((item, index) => ({ ...item, index }))
            .filter((item) => !item.cancel)
            .sort((a, b) => a.atMs - b.atMs || a.rank - b.rank || a.index - b.index)
            .map((item) => item.index);
          expect(queue.size).toBe(expected.length);
          const popped: number[] = [];
          for (let entry = queue.pop(); entry; entry = queue.pop()) popped.push(entry.value);
          expect(popped).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('sim: simulator', () => {
  it('runs network deliveries, then timers, then scenario steps, then checks at one instant', () => {
    const sim = new Simulator();
    const order: string[] = [];
    sim.at(5, rank.check, () => order.push('check'));
    sim.at(5, rank.step, () => order.push('step'));
    sim.at(5, rank.timer, () => order.push('timer-1'));
    sim.at(5, rank.network, () => order.push('network'));
    sim.at(5, rank.timer, () => order.push('timer-2'));
    sim.at(4, rank.check, () => order.push('earlier'));
    sim.runUntilQuiet({ timeMsMax: 10, eventsMax: 100 });
    expect(order).toEqual(['earlier', 'network', 'timer-1', 'timer-2', 'step', 'check']);
  });

  it('stops at timeMsMax without running later events, and sets the clock there', () => {
    const sim = new Simulator();
    let ran = 0;
    sim.at(10, rank.timer, () => ran++);
    sim.at(11, rank.timer, () => ran++);
    expect(sim.runUntilQuiet({ timeMsMax: 10, eventsMax: 100 })).toEqual({ reason: 'timeMsMax', atMs: 10, events: 1 });
    expect(ran).toBe(1);
    expect(sim.pending).toBe(1);
  });

  it('stops at eventsMax on a livelock', () => {
    const sim = new Simulator();
    const loop = () => void sim.after(0, rank.timer, loop);
    loop();
    expect(sim.runUntilQuiet({ timeMsMax: 1_000, eventsMax: 500 })).toEqual({
      reason: 'eventsMax',
      atMs: 0,
      events: 500,
    });
  });

  it('stops when a condition holds, and reports quiet when nothing is left', () => {
    const sim = new Simulator();
    let count = 0;
    for (let i = 1; i <= 5; i++) sim.at(i * 10, rank.timer, () => count++);
    expect(sim.runUntil(() => count === 3, { timeMsMax: 1_000, eventsMax: 100 }).reason).toBe('condition');
    expect(sim.nowMs).toBe(30);
    expect(sim.runUntilQuiet({ timeMsMax: 1_000, eventsMax: 100 })).toEqual({ reason: 'quiet', atMs: 50, events: 5 });
    expect(sim.runUntilMs(400, { timeMsMax: 1_000, eventsMax: 100 })).toEqual({
      reason: 'untilMs',
      atMs: 400,
      events: 5,
    });
  });

  it('refuses to schedule in the past or at a fractional time (our bug, not a user error)', () => {
    const sim = new Simulator();
    sim.at(10, rank.timer, () => {});
    sim.runUntilQuiet({ timeMsMax: 100, eventsMax: 10 });
    expect(() => sim.at(5, rank.timer, () => {})).toThrow(AssertionError);
    expect(() => sim.at(20.5, rank.timer, () => {})).toThrow(AssertionError);
  });
});

describe('sim: links', () => {
  it('keeps one link per direction, whether a host has one link or several (its one link, then a map)', () => {
    const sim = new Simulator();
    const ctx = new SimContext(sim, 1, new TraceRecorder(traceHeader, { keepLines: false }), defaultNetwork, () => {});
    const links = new Links(ctx);
    expect(links.find('a', 'b')).toBeUndefined();
    const ab = links.link('a', 'b');
    expect([ab.source, ab.target]).toEqual(['a', 'b']);
    expect(links.link('a', 'b')).toBe(ab);
    expect(links.find('a', 'c')).toBeUndefined();
    const ac = links.link('a', 'c');
    const ad = links.link('a', 'd');
    expect([ac.target, ad.target]).toEqual(['c', 'd']);
    expect([links.find('a', 'b'), links.find('a', 'c'), links.find('a', 'd')]).toEqual([ab, ac, ad]);
    expect(links.link('a', 'b')).toBe(ab);
    const ba = links.link('b', 'a');
    expect(ba).not.toBe(ab);
    expect(links.find('b', 'a')).toBe(ba);
    expect(links.find('b', 'c')).toBeUndefined();
    // Each direction draws from its own stream.
    expect([ab.random.label, ac.random.label, ba.random.label]).toEqual(['link:a>b', 'link:a>c', 'link:b>a']);
  });
});
