// Goal: every built-in server holds under the robustness cases (src/conformance/robustness.ts):
// oversized lengths, stalled partial frames, half-open peers, peers that never read, slowloris,
// connection floods and password guessing (throttled per connection and per address, the right
// password still getting in afterwards); a well-behaved peer is served throughout, and the served
// process's descriptors and RSS come back after each attack.
// Method: `fedsim serve <protocol>` in a child process with the suite's main fixture and short host
// limits (so that each case takes seconds), driven over 127.0.0.1 only; counts are bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinNode, robustnessAdapters } from '../../src/conformance/robustness-adapters.js';
import { runRobustness, serveBuiltin, type ServedProcess } from '../../src/conformance/robustness.js';

/** Short limits: a stalled or dripping connection is closed in about a second. */
const limits = { partialFrameMs: 1_000, idleMs: 3_000, lingerMs: 500, outputPendingMax: 256 * 1024 };

describe.each(Object.keys(robustnessAdapters))(
  'robustness: %s built-in server (fedsim serve, loopback)',
  (protocol) => {
    let served: ServedProcess;
    beforeAll(async () => {
      served = await serveBuiltin(protocol, await builtinNode(protocol), limits);
    }, 90_000);
    afterAll(async () => {
      await served?.stop();
    });

    it('passes every robustness case, serving a well-behaved peer meanwhile, and recovers its descriptors and RSS', async () => {
      const adapter = robustnessAdapters[protocol]!;
      const report = await runRobustness(adapter, {
        host: '127.0.0.1',
        port: served.port,
        pid: served.pid,
        closeMs: 5_000,
        answerMs: 5_000,
        floodCount: 150,
        guesses: 20,
        neverReadBytes: 4 * 1024 * 1024,
        floodBytes: 16 * 1024,
        recoverMs: 8_000,
      });
      const lines = report.results.map(
        (r) => `${r.verdict} ${r.id}: ${r.message}${r.actual ? ` (actual: ${r.actual})` : ''}`,
      );
      console.log(lines.join('\n'));
      expect(report.results.length).toBeGreaterThanOrEqual(6);
      expect(report.results.filter((r) => r.verdict === 'FAILED').map((r) => r.id)).toEqual([]);
      expect(report.results.every((r) => r.message.includes('descriptors'))).toBe(true);
      // Where a password is checked (SOLEC, Ambrosia), guessing is throttled and the right one then gets in.
      const brute = report.results.find((r) => r.id.endsWith('/auth-brute-force'));
      if (adapter.login) expect(brute?.verdict, brute?.message).toBe('OK');
    }, 180_000);
  },
);
