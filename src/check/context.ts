/**
 * What an invariant may know about a run before it starts: its nodes, their hosts, protocols and
 * validated configs. Invariants read configs loosely (as JSON), so that a protocol can grow its
 * config without breaking its checker. Must not: hold a reference to a live node.
 */
import type { Invariant } from './invariants.js';

export interface InvariantNode {
  readonly id: string;
  readonly host: string;
  readonly protocol: string;
  /** The node's config after its protocol's schema (defaults filled in). */
  readonly config: unknown;
}

export interface InvariantContext {
  readonly nodes: readonly InvariantNode[];
}

/** Builds a fresh invariant (with its own state) for one run. */
export type InvariantFactory = (context: InvariantContext) => Invariant;

/** A field of a JSON object, or undefined when `value` is not an object. */
export function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}
