// Goal: the Bester suite passes against the built-in server in the simulator and on real loopback
// sockets (RealHost), a server with one rule wrong (an empty password accepted) fails exactly the case
// for that rule in both, and an external server gets UNIMPLEMENTED, not FAILED, for the cases that need
// its host's local sockets (handlers, informer) or another profile.
// Method: runSuite with the sim, real and external targets; the broken server of broken-bester.ts wraps
// the built-in node; one case that plays two handlers is run twice and its traces compared byte for byte.
import { describe, expect, it } from 'vitest';
import { runSuite, loadSuites } from '../../src/conformance/index.js';

const suites = await loadSuites();
import { SimPeer } from '../../src/conformance/peer.js';
import type { SuiteReport } from '../../src/conformance/types.js';
import { RealHost } from '../../src/real/host.js';
import { brokenBester } from './broken-bester.js';

const suite = suites.bester!;
const brokenCase = 'bester/3/refused-credentials';

function notOk(report: SuiteReport): string[] {
  return report.results.filter((r) => r.verdict !== 'OK').map((r) => `${r.id}: ${r.verdict}: ${r.message}`);
}

describe('conformance: bester', () => {
  it('is registered and has a case for every requirement (spec.md §2-§7)', () => {
    expect(suite.protocol).toBe('bester');
    for (const requirement of suite.requirements)
      expect(
        suite.cases.some((c) => c.requirements.includes(requirement.id)),
        requirement.id,
      ).toBe(true);
  });

  it('sim: every case is OK against the built-in server', async () => {
    const report = await runSuite(suite, { kind: 'sim' });
    expect(notOk(report)).toEqual([]);
    expect(report.results.length).toBe(suite.cases.length);
  });

  it('sim: a server accepting an empty password fails exactly the case for it (§3)', async () => {
    const report = await runSuite(suite, { kind: 'sim', protocol: brokenBester });
    expect(notOk(report).map((line) => line.split(':')[0])).toEqual([brokenCase]);
    const failed = report.results.find((r) => r.id === brokenCase);
    expect(failed?.verdict).toBe('FAILED');
    expect(failed?.expected).toBe('the connection closed without a frame');
    expect(failed?.actual).toContain('auth_special');
  });

  it('sim: a case that plays two handlers gives byte-identical traces twice (§4 sendHandler)', async () => {
    const testCase = suite.cases.find((c) => c.id === 'bester/4/send-handler')!;
    const texts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const peer = new SimPeer(suite, 'main', suite.builtin, testCase.id);
      await testCase.run(peer);
      texts.push(peer.finish());
    }
    expect(texts[0]).toBe(texts[1]);
    expect(texts[0]).toContain('conformance-bester/echo.sock');
  });

  it('real: every case is OK against the built-in server on loopback', async () => {
    const report = await runSuite(suite, { kind: 'real' });
    expect(notOk(report)).toEqual([]);
  });

  it('real: a server accepting an empty password fails exactly the case for it (§3)', async () => {
    const report = await runSuite(suite, { kind: 'real', protocol: brokenBester });
    expect(notOk(report).map((line) => line.split(':')[0])).toEqual([brokenCase]);
    expect(report.results.find((r) => r.id === brokenCase)?.verdict).toBe('FAILED');
  });

  it('external: cases needing local sockets or another profile are UNIMPLEMENTED, the rest OK', async () => {
    const host = new RealHost({
      trace: 'memory',
      id: suite.target.id,
      protocol: suite.builtin,
      config: suite.builtin.configSchema.parse(suite.fixtures.main),
      portMap: { [suite.target.port]: 0 },
      seed: 1,
    });
    const listening = await host.start();
    const service = listening.find((l) => l.port !== undefined);
    try {
      const url = `tcp://127.0.0.1:${service?.port}`;
      const report = await runSuite(suite, { kind: 'external', host: '127.0.0.1', port: service?.port ?? 0, url });
      expect(report.counts.FAILED).toBe(0);
      const unimplemented = report.results.filter((r) => r.verdict === 'UNIMPLEMENTED').map((r) => r.id);
      expect(unimplemented.every((id) => /^bester\/[467]\//.test(id))).toBe(true);
      expect(report.counts.OK).toBe(10);
    } finally {
      await host.close();
    }
  });
});
