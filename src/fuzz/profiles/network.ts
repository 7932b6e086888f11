/**
 * The network part of a generated topology: latency from a few ms to a slow WAN, and timeouts
 * short enough that a generated run recovers from a fault within seconds of virtual time.
 */
import fc from 'fast-check';
import type { Topology } from '../profile.js';

export const networkArbitrary: fc.Arbitrary<Topology['network']> = fc
  .tuple(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 40 }))
  .map(([delayMsMin, spread]) => ({
    delayMsMin,
    delayMsMax: delayMsMin + spread,
    connectTimeoutMs: 1_000,
    resetTimeoutMs: 3_000,
  }));

/** `count` names `<prefix>1.test`, `<prefix>2.test`, ... */
export function hostNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}.test`);
}
