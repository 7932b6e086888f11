// Goal: the suites pass against the built-in nodes in the simulator, deterministically; a deliberately
// broken node (one rule wrong) fails exactly the case for that rule and passes every other.
// Method: runSuite with the sim target (a fresh World per case); the broken fixtures of broken.ts wrap
// the built-in nodes; one case run twice gives byte-identical traces.
import { describe, expect, it } from 'vitest';
import { runCase, runSuite, loadSuites } from '../../src/conformance/index.js';

const suites = await loadSuites();
import { SimPeer } from '../../src/conformance/peer.js';
import type { SuiteReport } from '../../src/conformance/types.js';
import { brokenF140, brokenSolec } from './broken.js';

const f140 = suites.f140!;
const solec = suites.solec!;

function notOk(report: SuiteReport): string[] {
  return report.results.filter((r) => r.verdict !== 'OK').map((r) => `${r.id}: ${r.verdict}: ${r.message}`);
}

describe('conformance: simulator target', () => {
  it.each([f140, solec])('$protocol: every case is OK against the built-in node', async (suite) => {
    const report = await runSuite(suite, { kind: 'sim' });
    expect(notOk(report)).toEqual([]);
    expect(report.results.length).toBe(suite.cases.length);
  });

  it.each([
    [f140, brokenF140, 'f140/4.1/wrong-challenge'],
    [solec, brokenSolec, 'solec/4/bad-password'],
  ] as const)('%#: a node with one rule wrong fails exactly the case for it', async (suite, broken, caseId) => {
    const report = await runSuite(suite, { kind: 'sim', protocol: broken });
    expect(notOk(report).map((line) => line.split(':')[0])).toEqual([caseId]);
    const failed = report.results.find((r) => r.id === caseId);
    expect(failed?.verdict).toBe('FAILED');
    expect(failed?.expected).toBeDefined();
    expect(failed?.actual).toBeDefined();
    expect(failed?.exchange.length).toBeGreaterThan(0);
  });

  it('gives byte-identical traces for the same case twice (f140 retry backoff)', async () => {
    const testCase = f140.cases.find((c) => c.id === 'f140/5/retry-backoff')!;
    const texts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const peer = new SimPeer(f140, 'main', f140.builtin, testCase.id);
      await testCase.run(peer);
      texts.push(peer.finish());
    }
    expect(texts[0]).toBe(texts[1]);
    const result = await runCase(f140, { kind: 'sim' }, testCase, {
      traceDir: 'out/traces',
      reportDir: 'out',
      writeTrace: (_path, text) => expect(text).toBe(texts[0]),
    });
    expect(result.trace).toBe('traces/f140_5_retry-backoff.ndjson');
  });
});
