/**
 * Every named invariant a scenario may ask for with `always: <name>`: the two that hold for every
 * protocol, and each protocol's own (`f140.friendsOnly`, `solec.authentic`, ...). The scenario
 * schema checks names against this list; the runner builds a fresh invariant per run from it.
 */
import { ambrosiaInvariants } from '../protocols/ambrosia/invariants.js';
import { besterInvariants } from '../protocols/bester/invariants.js';
import type { InvariantFactory } from './context.js';
import { f140Invariants } from '../protocols/f140/invariants.js';
import { fmtpInvariants } from '../protocols/fmtp/invariants.js';
import { nodeNeverThrows, noDuplicateDelivery } from './invariants.js';
import { solecInvariants } from '../protocols/solec/invariants.js';

const registry: ReadonlyMap<string, InvariantFactory> = new Map<string, InvariantFactory>([
  ['noDuplicateDelivery', () => noDuplicateDelivery()],
  ['nodeNeverThrows', () => nodeNeverThrows()],
  ...Object.entries(fmtpInvariants),
  ...Object.entries(f140Invariants),
  ...Object.entries(solecInvariants),
  ...Object.entries(besterInvariants),
  ...Object.entries(ambrosiaInvariants),
]);

export function invariantNamed(name: string): InvariantFactory | undefined {
  return registry.get(name);
}

/** Every known name, in registration order (generic first, then by protocol). */
export function invariantNames(): string[] {
  return [...registry.keys()];
}

/** The invariants a protocol's fuzzer asks for in every generated scenario. */
export function invariantsFor(protocol: string): string[] {
  return invariantNames().filter((name) => name.startsWith(`${protocol}.`));
}
