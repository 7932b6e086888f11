/**
 * `sequence` expectations as partial orders. A sequence lists items that must happen in that
 * order; an item is an event pattern, or a group:
 * - `{ unordered: [items] }`: every item happens, in any order among themselves, after everything
 *   before the group and before everything after it;
 * - `{ sequence: [items] }`: these in order (a chain inside an `unordered` group).
 * So a scenario states only the order that causality or the protocol's spec promises, and events
 * that race (two answers to one message, a login and a registration) go in one `unordered` group.
 *
 * Matching is greedy: each pattern takes the earliest event after its predecessors that no other
 * pattern of the expectation took. Patterns of one group should describe different events.
 * Pure.
 */
import { describePattern, eventMatches } from '../check/match.js';
import type { TraceEvent } from '../trace/events.js';

export type EventPattern = Readonly<Record<string, unknown>>;
export type OrderItem =
  EventPattern | { readonly unordered: readonly OrderItem[] } | { readonly sequence: readonly OrderItem[] };

function isGroup(item: OrderItem): item is { unordered: readonly OrderItem[] } | { sequence: readonly OrderItem[] } {
  return !('kind' in item) && ('unordered' in item || 'sequence' in item);
}

/** Every event pattern of the items, in writing order. */
export function orderPatterns(items: readonly OrderItem[]): EventPattern[] {
  return items.flatMap((item): EventPattern[] => {
    if (!isGroup(item)) return [item];
    return orderPatterns('unordered' in item ? item.unordered : item.sequence);
  });
}

interface Matching {
  readonly events: readonly TraceEvent[];
  readonly used: Set<number>;
  matched: number;
  /** The first pattern that found no event, when one did not. */
  missing?: EventPattern;
}

/** Matches `item` at or after index `start`; returns the index of its last event (start - 1 when empty), or -1 on a miss. */
function matchItem(state: Matching, item: OrderItem, start: number): number {
  if (!isGroup(item)) {
    for (let i = start; i < state.events.length; i++) {
      const event = state.events[i];
      if (event !== undefined && !state.used.has(i) && eventMatches(event, item)) {
        state.used.add(i);
        state.matched += 1;
        return i;
      }
    }
    state.missing ??= item;
    return -1;
  }
  if ('sequence' in item) return matchChain(state, item.sequence, start);
  let end = start - 1;
  let missed = false;
  for (const branch of item.unordered) {
    const last = matchItem(state, branch, start);
    if (last < 0) missed = true;
    else end = Math.max(end, last);
  }
  return missed ? -1 : end;
}

function matchChain(state: Matching, items: readonly OrderItem[], start: number): number {
  let end = start - 1;
  for (const item of items) {
    const last = matchItem(state, item, end + 1);
    if (last < 0) return -1;
    end = Math.max(end, last);
  }
  return end;
}

/** Undefined when the events contain the sequence; otherwise what is missing. */
export function checkOrder(items: readonly OrderItem[], events: readonly TraceEvent[]): string | undefined {
  const state: Matching = { events, used: new Set(), matched: 0 };
  if (matchChain(state, items, 0) >= 0) return undefined;
  const total = orderPatterns(items).length;
  const missing = state.missing === undefined ? '?' : describePattern(state.missing);
  const ordered = items.some(isGroup) ? 'in the order given' : 'in order';
  return `matched ${state.matched} of ${total} ${ordered}; never came after the events before it: ${missing}`;
}
