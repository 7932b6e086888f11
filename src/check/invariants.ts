/**
 * Safety invariants that hold for every protocol, checked at every trace event. Each returns a
 * violation message for the event that breaks it, or undefined. Violations are values, never
 * exceptions. Protocol-specific invariants live beside their protocol.
 */
import type { TraceEvent } from '../trace/events.js';

export interface Invariant {
  readonly name: string;
  /**
   * The event kinds `observe` reads; it is not called with others. Leave it out to see every
   * event. Naming them lets a run skip building the bodies of events nothing reads.
   */
  readonly kinds?: readonly TraceEvent['kind'][];
  /** Returns a violation message when `event` breaks the invariant. */
  observe(event: TraceEvent): string | undefined;
  /**
   * Called once when the run is over (quiet, or at its time limit): a violation message for a
   * promise the whole run had to keep (a message the protocol took is delivered exactly once).
   */
  finish?(): string | undefined;
}

/**
 * What a protocol's spec allows as a second copy of a message (`noDuplicateDelivery`'s excuse):
 * it watches the events of `kinds` and answers, for a delivery that repeats one seen before,
 * whether the spec allows it (using the allowance up: each excuse covers one extra copy).
 */
export interface DuplicateExcuse {
  readonly kinds: readonly TraceEvent['kind'][];
  observe(event: TraceEvent): void;
  excuses(event: TraceEvent & { readonly kind: 'deliver' }): boolean;
}

/**
 * No user receives the same message twice (by message id, or by sender and body when there is no
 * id), unless `excuse` allows that copy (a protocol's own variant, registered under its own `name`).
 */
export function noDuplicateDelivery(excuse?: DuplicateExcuse, name = 'noDuplicateDelivery'): Invariant {
  const seen = new Set<string>();
  return {
    name,
    kinds: excuse === undefined ? ['deliver'] : [...new Set<TraceEvent['kind']>(['deliver', ...excuse.kinds])],
    observe(event) {
      if (excuse !== undefined && excuse.kinds.includes(event.kind)) excuse.observe(event);
      if (event.kind !== 'deliver') return undefined;
      const key = JSON.stringify([
        event.node,
        event.user,
        event.id ?? null,
        event.id === undefined ? [event.from, event.body] : null,
      ]);
      if (seen.has(key)) {
        if (excuse?.excuses(event) === true) return undefined;
        return `${event.user} at ${event.node} received ${event.id ?? JSON.stringify(event.body)} twice`;
      }
      seen.add(key);
      return undefined;
    },
  };
}

/** A node never throws, whatever its peers send (the world records a throw as a check event). */
export function nodeNeverThrows(): Invariant {
  return {
    name: 'nodeNeverThrows',
    kinds: ['check'],
    observe(event) {
      if (event.kind === 'check' && event.requirement === 'node-never-throws' && event.verdict === 'violation') {
        return `${event.node}: ${event.message}`;
      }
      return undefined;
    },
  };
}

export const invariants = { noDuplicateDelivery, nodeNeverThrows } as const;
export type InvariantName = keyof typeof invariants;
