/**
 * Every named invariant a scenario may ask for with `always: <name>`: the two that hold for every
 * protocol, and each registered protocol plugin's own (`f140.friendsOnly`, `solec.authentic`, ...).
 * The scenario schema checks names against this list; the runner builds a fresh invariant per run
 * from it. Plugins loaded later (src/protocols/registry.ts) add theirs.
 */
import type { InvariantFactory } from './context.js';
import { nodeNeverThrows, noDuplicateDelivery } from './invariants.js';
import { pluginNamed, plugins } from '../protocols/registry.js';

const generic: ReadonlyMap<string, InvariantFactory> = new Map<string, InvariantFactory>([
  ['noDuplicateDelivery', () => noDuplicateDelivery()],
  ['nodeNeverThrows', () => nodeNeverThrows()],
]);

export function invariantNamed(name: string): InvariantFactory | undefined {
  const found = generic.get(name);
  if (found !== undefined) return found;
  // A plugin is registered under its protocol's name: one lookup, not a list of every plugin made per call.
  const dot = name.indexOf('.');
  return pluginNamed(dot < 0 ? name : name.slice(0, dot))?.invariants?.[name];
}

/** Every known name, in registration order (generic first, then by protocol). */
export function invariantNames(): string[] {
  return [...generic.keys(), ...plugins().flatMap((plugin) => Object.keys(plugin.invariants ?? {}))];
}

/** The invariants a protocol's fuzzer asks for in every generated scenario. */
export function invariantsFor(protocol: string): string[] {
  return invariantNames().filter((name) => name.startsWith(`${protocol}.`));
}
