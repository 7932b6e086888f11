// The two F140 example nodes (examples/), run as a user would, with the process protocol's lines
// written straight to stdin: for tests of one node's behaviour without a simulator around it.
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

/** Each example node's command line, from the repository's root. */
export const exampleNodes = {
  javascript: ['node', 'examples/f140-js/node.mjs'],
  python: ['python3', 'examples/f140-py/node.py'],
} as const;

/** An F140 node's config for these tests: one node on port 8140 with `users`, the timings fixed. */
export function f140Config(users: readonly Record<string, unknown>[]): Record<string, unknown> {
  return {
    port: 8140,
    users,
    retryMsBase: 200,
    retryMsMax: 2000,
    requestTimeoutMs: 2000,
    queueExpiryMs: 86_400_000,
    idleMs: 30_000,
    announce: false,
  };
}

/** Runs `command` on `lines` (one JSON line each, then the end of stdin); every line it wrote, parsed. */
export function processLines(
  command: readonly string[],
  lines: readonly Record<string, unknown>[],
): Record<string, unknown>[] {
  const [program, ...args] = command as [string, ...string[]];
  const run = spawnSync(program, args, { cwd: root, input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n' });
  expect(run.status, run.stderr.toString()).toBe(0);
  return run.stdout
    .toString()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
