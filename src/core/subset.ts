/**
 * Subset matching of plain data: every field a pattern names must be equal in the value (nested
 * objects as subsets, arrays element by element and of the same length). The trace's event
 * patterns (check/match.ts) and the simulator's aimed faults (sim/aimed-fault.ts) both match so.
 */
export function subsetMatches(actual: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return actual === pattern;
  if (Array.isArray(pattern)) {
    return (
      Array.isArray(actual) &&
      actual.length === pattern.length &&
      pattern.every((item, index) => subsetMatches(actual[index], item))
    );
  }
  if (actual === null || typeof actual !== 'object') return false;
  const record = actual as Record<string, unknown>;
  return Object.entries(pattern).every(([key, value]) => subsetMatches(record[key], value));
}
