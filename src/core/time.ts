/**
 * Virtual time: integer milliseconds since the start of a run. Nothing here reads a clock.
 */
import { assert } from './assert.js';

/**
 * A timer clock, shaped like xstate's (unexported) `Clock`, so it can be passed to
 * `createActor(machine, { clock })`. The sim schedules on its event queue; the real host uses timers.
 */
export interface HostClock {
  setTimeout(fn: () => void, timeoutMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Integer virtual milliseconds. */
export type Ms = number;

export function isMs(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

export function assertMs(value: number, what: string): asserts value is Ms {
  assert(isMs(value), `${what} must be a non-negative integer of milliseconds, got ${value}`);
}

const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `250ms`, `60s`, `5m` or `1h` (a bare number is milliseconds).
 * Returns undefined for anything else, so callers can report the problem in their own terms.
 */
export function parseDurationMs(text: string): Ms | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Math.round(Number(match[1]) * (unitMs[match[2] ?? 'ms'] ?? 1));
  return Number.isSafeInteger(value) ? value : undefined;
}

/** `83250` -> `1m23.250s`, for human-readable reports. */
export function formatMs(ms: Ms): string {
  if (ms < 1_000) return `${ms}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms % 60_000) / 1_000;
  return minutes > 0 ? `${minutes}m${seconds.toFixed(3)}s` : `${seconds.toFixed(3)}s`;
}
