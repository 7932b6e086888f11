/**
 * The network part of a generated topology: latency from a few ms to a slow WAN, and timeouts
 * short enough that a generated run recovers from a fault within seconds of virtual time. The
 * reset timeout (how long a partition lasts before its connections reset, and how long a crashed
 * node's peers take to notice) is 3 s or the simulator's default 10 s: with 10 s, messages sent to
 * a restarted node before its peers noticed the crash are in play (src/fuzz/faults.ts `resetMs`).
 */
import fc from 'fast-check';
import type { Topology } from '../profile.js';

export const networkArbitrary: fc.Arbitrary<Topology['network']> = fc
  .tuple(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 40 }), fc.constantFrom(3_000, 10_000))
  .map(([delayMsMin, spread, resetTimeoutMs]) => ({
    delayMsMin,
    delayMsMax: delayMsMin + spread,
    connectTimeoutMs: 1_000,
    resetTimeoutMs,
  }));

/** `count` names `<prefix>1.test`, `<prefix>2.test`, ... */
export function hostNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}.test`);
}
