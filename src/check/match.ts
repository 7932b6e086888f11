/**
 * Event patterns: a pattern matches a trace event when every field it names is equal in the
 * event; nested objects match as subsets, arrays element by element. Pure; used by scenario
 * expectations and checkers.
 */
import { subsetMatches } from '../core/subset.js';
import type { TraceEvent } from '../trace/events.js';

export { subsetMatches };

export function eventMatches(event: TraceEvent, pattern: Readonly<Record<string, unknown>>): boolean {
  return subsetMatches(event, pattern);
}

/** `{kind: 'deliver', user: 'bob@c.test'}` -> `deliver user=bob@c.test` for messages. */
export function describePattern(pattern: Readonly<Record<string, unknown>>): string {
  const { kind, ...rest } = pattern;
  const fields = Object.entries(rest).map(
    ([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  return [String(kind), ...fields].join(' ');
}
