// Goal: a recorder that keeps nothing and has observers of some kinds only builds just those
// events, and each one it builds is the event a full recording would have made (same seq, same
// Lamport clock, same payload); with no observer at all it only counts.
// Method: run one probe script (streams both ways, datagrams, a node that throws) under a full
// recording and under recorders that keep nothing, and compare.
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { ProbeWorld } from '../support/probe.js';

const nothingKept = { keepLines: false, keepEvents: false, hash: false };

function script(w: ProbeWorld): ProbeWorld {
  return w
    .at(0, 'a.test', { op: 'listen', port: 1 })
    .at(0, 'b.test', { op: 'listen', port: 2 })
    .at(1, 'b.test', { op: 'connect', conn: 'c', host: 'a.test', port: 1 })
    .at(5, 'b.test', { op: 'write', conn: 'c', text: 'one' })
    .at(6, 'a.test', { op: 'datagram', host: 'b.test', port: 2, text: 'dg' })
    .at(7, 'b.test', { op: 'write', conn: 'c', text: 'two' })
    .at(8, 'b.test', { op: 'write', conn: 'c', text: 'described by the protocol', decoded: false })
    .at(9, 'a.test', { op: 'datagram', host: 'b.test', port: 2, text: 'dg2' })
    .at(30, 'a.test', { op: 'throw' })
    .at(40, 'b.test', { op: 'write', conn: 'c', text: 'three' })
    .run();
}

describe('trace recorder: events built for what reads them', () => {
  it('gives an observer of some kinds exactly the events of a full recording, Lamport clocks included', () => {
    const full = script(new ProbeWorld(['a.test', 'b.test'], 3, { delayMsMin: 1, delayMsMax: 9 }));
    const kinds: TraceEvent['kind'][] = ['receive', 'check'];
    const expected = full.trace.events.filter((event) => kinds.includes(event.kind));
    expect(expected.filter((e) => e.kind === 'receive').length).toBeGreaterThanOrEqual(4);
    expect(expected.some((e) => e.kind === 'check')).toBe(true);

    // A write the node did not decode shows the protocol's decoding on its receive, also when
    // its send is not built.
    const described = expected.find((e) => e.kind === 'receive' && e.payload.decoded === 'described by the protocol');
    expect(described).toBeDefined();

    const seen: TraceEvent[] = [];
    const partial = new ProbeWorld(['a.test', 'b.test'], 3, { delayMsMin: 1, delayMsMax: 9 }, nothingKept);
    partial.trace.observe((event) => seen.push(event), kinds);
    expect(partial.trace.wants('receive')).toBe(true);
    expect(partial.trace.wants('send')).toBe(false);
    script(partial);
    expect(seen).toEqual(expected);
    expect(partial.trace.count).toBe(full.trace.count);
    expect(partial.trace.events).toEqual([]);
  });

  it('gives an observer of every kind every event, and with no observer only counts', () => {
    const full = script(new ProbeWorld(['a.test', 'b.test'], 4));
    const seen: TraceEvent[] = [];
    const all = new ProbeWorld(['a.test', 'b.test'], 4, {}, nothingKept);
    all.trace.observe((event) => seen.push(event));
    script(all);
    // The observer came after the nodes started: it sees the rest, as recorded in full.
    expect(seen).toEqual(full.trace.events.slice(-seen.length));
    expect(seen[0]?.seq).toBe(full.trace.events.find((e) => e.kind === 'command')?.seq ?? 0);

    const counted = script(new ProbeWorld(['a.test', 'b.test'], 4, {}, nothingKept));
    expect(counted.trace.wants('check')).toBe(false);
    expect(counted.trace.count).toBe(full.trace.count);
  });

  it('with lines deferred, gives the same lines, text and end line as a recording that writes them as it goes', () => {
    for (const seed of [3, 4, 5]) {
      const eager = script(new ProbeWorld(['a.test', 'b.test'], seed, { delayMsMin: 1, delayMsMax: 9 }));
      const deferred = script(
        new ProbeWorld(['a.test', 'b.test'], seed, { delayMsMin: 1, delayMsMax: 9 }, { deferLines: true }),
      );
      const eagerEnd = eager.trace.end(50);
      const deferredEnd = deferred.trace.end(50);
      // Nothing is serialised (not even the header) nor hashed until asked for; then the digest and
      // every line are the eager ones.
      const internals = deferred.trace as unknown as { kept: string[]; hash: unknown };
      expect(internals.kept).toHaveLength(0);
      expect(internals.hash).toBeUndefined();
      expect(deferredEnd.sha256).toBe(eagerEnd.sha256);
      expect({ ...deferredEnd }).toEqual(eagerEnd);
      expect(deferred.trace.lines).toEqual(eager.trace.lines);
      expect(deferred.trace.text()).toBe(eager.trace.text());
      expect(deferred.trace.events).toEqual(eager.trace.events);
    }
    // Lines read before the end: the rest is written as it goes, and the text is the same.
    const eager = script(new ProbeWorld(['a.test', 'b.test'], 6));
    const early = new ProbeWorld(['a.test', 'b.test'], 6, {}, { deferLines: true });
    expect(early.trace.lines[0]).toBe(eager.trace.lines[0]);
    script(early);
    eager.trace.end(50);
    early.trace.end(50);
    expect(early.trace.text()).toBe(eager.trace.text());
  });
});
