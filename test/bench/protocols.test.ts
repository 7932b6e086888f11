// Goal: the bench's end-to-end rows measure what they say: every message sent is delivered, the
// run is counted apart from the world's setup, and a workload whose scenario would be over the
// scenario file size limit (the bench sends 2,000 messages) runs rather than being refused. No
// figure is asserted (figures belong to the bench).
// Method: FMTP with enough messages that the generated source is over limits.scenarioFileBytesMax.
import { describe, expect, it } from 'vitest';
import { protocolThroughput } from '../../src/bench/protocols.js';

describe('bench: end-to-end rows', () => {
  it('runs a workload larger than a scenario file may be, every message delivered', () => {
    // 1,200 FMTP sends are about 150 KB of scenario source, over the 128 KiB limit.
    const run = protocolThroughput('fmtp', 1_200);
    expect(run.sent).toBe(1_200);
    expect(run.delivered).toBe(1_200);
    expect(run.simulatorEvents).toBeGreaterThan(run.delivered);
    expect(run.runCpuSeconds).toBeGreaterThan(0);
    expect(run.runSeconds).toBeGreaterThan(0);
  }, 120_000);
});
