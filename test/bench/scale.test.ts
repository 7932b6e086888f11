// Goal: the scale rows measure what they say: the one-hour federation with one message per node,
// every message delivered, the same run in a child process as in this one (so the child's figures
// are of the same work), and memory figures that are read, not made up.
// Method: a small federation in-process and in a child; the table built from two figures.
import { describe, expect, it } from 'vitest';
import { federationInChild, heapLimitMiB, measureFederation, perNodeBytes, scaleTable } from '../../src/bench/scale.js';

describe('bench: the one-hour federation at scale', () => {
  it('delivers one message per node and reports the run it made', () => {
    const figure = measureFederation(200);
    expect(figure.nodes).toBe(200);
    expect(figure.messages).toBe(200);
    expect(figure.delivered).toBe(200);
    // Login, sends, relays and pushes: each message is dozens of trace events.
    expect(figure.events).toBeGreaterThan(20 * figure.messages);
    expect(figure.simEvents).toBeGreaterThan(figure.messages);
    expect(figure.peakHeapBytes).toBeGreaterThan(0);
    expect(figure.peakRssBytes).toBeGreaterThanOrEqual(figure.baselineRssBytes);
    expect(figure.cpuSeconds).toBeGreaterThan(0);
  });

  it('runs the F140 federation too: nodes in pairs of friends, one message per node', () => {
    const figure = measureFederation(201, 'f140');
    expect(figure.protocol).toBe('f140');
    expect(figure.nodes).toBe(201);
    // An odd count: the last node pairs with node 0, and every node still sends one message.
    expect(figure.delivered).toBe(201);
    // Queue, connect, an HTTP MSG and its answer, the delivery, the close: a dozen trace events or more each.
    expect(figure.events).toBeGreaterThan(12 * figure.messages);
    const child = federationInChild(60, 512, 'f140');
    expect(child.protocol).toBe('f140');
    expect(child.delivered).toBe(60);
    expect(child.events).toBe(measureFederation(60, 'f140').events);
  }, 120_000);

  it('runs the same federation in a child process, with its own heap limit', () => {
    const here = measureFederation(60);
    const child = federationInChild(60, 512);
    expect(child.delivered).toBe(60);
    expect(child.events).toBe(here.events);
    expect(child.simEvents).toBe(here.simEvents);
    expect(heapLimitMiB(1_000)).toBe(2_048);
    expect(heapLimitMiB(100_000)).toBe(3_907);
    expect(heapLimitMiB(1_000_000)).toBe(10_240);
    expect(heapLimitMiB(10_000_000)).toBe(10_240);
  }, 120_000);

  it('tabulates the cost per node against the first size', () => {
    const base = {
      protocol: 'solec' as const,
      messages: 0,
      delivered: 0,
      events: 0,
      simEvents: 0,
      buildSeconds: 1,
      runSeconds: 1,
      baselineHeapBytes: 0,
      baselineRssBytes: 0,
    };
    const small = { ...base, nodes: 1_000, cpuSeconds: 1, peakHeapBytes: 1e7, peakRssBytes: 2e7, heapAfterBytes: 1e7 };
    const large = {
      ...base,
      nodes: 10_000,
      cpuSeconds: 20,
      peakHeapBytes: 1e8,
      peakRssBytes: 4e8,
      heapAfterBytes: 1e8,
    };
    expect(perNodeBytes(large).peakRss).toBe(40_000);
    const lines = scaleTable([small, large]).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('| 1.00 / 1.00 |');
    // Twice the CPU per node and twice the RSS per node of the first size.
    expect(lines[3]).toContain('| 2.00 / 2.00 |');
  });
});
