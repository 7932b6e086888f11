// Goal: the synthetic generator gives valid, deterministic traces of exactly N events whose
// causal structure is real (Lamport clocks, sends before receives) and which contain every
// feature the viewer draws (drops, duplicates, states, faults, a violation).
// Method: generate, read back with readTrace (format and sha256), and check the invariants.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { parseTrace } from '../../src/trace/reader.js';
import { syntheticTrace, syntheticTraceText } from '../../src/trace/synthetic.js';

describe('trace: synthetic generator', () => {
  it('gives exactly N valid events, the same bytes for the same seed (N=5000, K=6)', () => {
    const text = syntheticTraceText({ seed: 7, events: 5000, nodes: 6 });
    const trace = parseTrace(text);
    expect(trace.events).toHaveLength(5000);
    expect(trace.header.nodes).toHaveLength(6);
    expect(syntheticTraceText({ seed: 7, events: 5000, nodes: 6 })).toBe(text);
    expect(syntheticTraceText({ seed: 8, events: 5000, nodes: 6 })).not.toBe(text);
  });

  it('gives the same bytes as it always has (pinned digests: refactors must not change the traces)', () => {
    const digest = (text: string): string => createHash('sha256').update(text).digest('hex');
    expect(digest(syntheticTraceText({ seed: 7, events: 5000, nodes: 2, violationAtRatio: null }))).toBe(
      '0eb9c748c7b9147a07578f1acb4ca31e8b246fd020da984975d47db4c67559dd',
    );
    expect(digest(syntheticTraceText({ seed: 3, events: 20_000, nodes: 5, violationAtRatio: 0.1 }))).toBe(
      'ce8670a30880890b783481790cddda26ac03c37cca5b88a0188a769b3ac9774c',
    );
  });

  it('contains every feature the viewer draws, and one violation where asked', () => {
    const { events } = syntheticTrace({ seed: 3, events: 20_000, nodes: 8, violationAtRatio: 0.5 });
    const kinds = new Set(events.map((event) => event.kind));
    for (const kind of ['send', 'receive', 'drop', 'duplicate', 'state', 'fault', 'check', 'dns.query', 'conn.refuse'])
      expect(kinds, kind).toContain(kind);
    const violations = events.filter((event) => event.kind === 'check' && event.verdict === 'violation');
    expect(violations).toHaveLength(1);
    expect(violations[0]?.seq).toBeGreaterThan(9_990);
    expect(violations[0]?.seq).toBeLessThan(10_010);
    const none = syntheticTrace({ seed: 3, events: 2000, nodes: 3, violationAtRatio: null }).events;
    expect(none.some((event) => event.kind === 'check' && event.verdict === 'violation')).toBe(false);
  });

  it('keeps causality: each receive follows its send, Lamport clocks increase and dominate the sender', () => {
    const { events } = syntheticTrace({ seed: 11, events: 30_000, nodes: 5 });
    const sends = new Map<number, TraceEvent & { kind: 'send' }>();
    const clock = new Map<string, number>();
    let receives = 0;
    for (const event of events) {
      if (event.node !== 'sim') {
        expect(event.lamport).toBeGreaterThan(clock.get(event.node) ?? 0);
        clock.set(event.node, event.lamport);
      }
      if (event.kind === 'send') sends.set(event.msg, event);
      if (event.kind === 'receive') {
        receives += 1;
        const send = sends.get(event.msg);
        expect(send?.to).toBe(event.node);
        expect(event.sentLamport).toBe(send?.lamport);
        expect(event.lamport).toBeGreaterThan(event.sentLamport);
        expect(event.atMs).toBeGreaterThanOrEqual(send?.atMs ?? Infinity);
      }
    }
    expect(receives).toBeGreaterThan(5000);
  });
});
