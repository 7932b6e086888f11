// Goal: the FMTP suite covers every requirement id, passes against the built-in node in the simulator
// and on real loopback sockets (RealHost per case), and catches a server that gets one rule wrong
// (it ignores HOPS, spec.md §5.3): exactly the case for that rule fails, every other passes. Against
// an external server the cases that need the control channel are UNIMPLEMENTED and none fails.
// Method: runSuite with the sim, real and external targets; broken-fmtp.ts wraps the suite's own
// target; one case run twice in the simulator gives byte-identical traces.
import { describe, expect, it } from 'vitest';
import { coverageOf, runCase, runSuite, loadSuites } from '../../src/conformance/index.js';

const suites = await loadSuites();
import { fmtpSuite, targetSecretKeyHex } from '../../src/protocols/fmtp/conformance/index.js';
import { SimPeer } from '../../src/conformance/peer.js';
import type { SuiteReport } from '../../src/conformance/types.js';
import { requirements } from '../../src/protocols/fmtp/requirements.js';
import { RealHost } from '../../src/real/host.js';
import { brokenFmtp } from './broken-fmtp.js';

const hopsCase = 'fmtp/5.3/hops';
/** Cases in which the peer opens no listener (it only connects to the target). */
const notListening = [
  'fmtp/4/hello-welcome',
  'fmtp/4/misaddressed-hello',
  'fmtp/4/bad-hash',
  'fmtp/3/',
  'fmtp/3.2/',
  'fmtp/5.2/not-found-authoritative',
  'fmtp/5.2/failure',
  'fmtp/8/redirect-object',
  'fmtp/8/relay-logged-in',
  'fmtp/7/',
  'fmtp/9/',
];

function notOk(report: SuiteReport): string[] {
  return report.results.filter((r) => r.verdict !== 'OK').map((r) => `${r.id}: ${r.verdict}: ${r.message}`);
}

describe('conformance: fmtp', () => {
  it('is registered and covers every id of src/protocols/fmtp/requirements.ts', () => {
    expect(suites.fmtp).toBe(fmtpSuite);
    const coverage = coverageOf(fmtpSuite);
    expect(Object.keys(coverage).sort()).toEqual(requirements.map((r) => r.id).sort());
    expect(Object.entries(coverage).filter(([, cases]) => cases.length === 0)).toEqual([]);
  });

  it('sim: every case is OK against the built-in node', async () => {
    const report = await runSuite(fmtpSuite, { kind: 'sim' });
    expect(notOk(report)).toEqual([]);
    expect(report.results.length).toBe(fmtpSuite.cases.length);
  });

  it('sim: a node that ignores HOPS fails exactly the HOPS case', async () => {
    const report = await runSuite(fmtpSuite, { kind: 'sim', protocol: brokenFmtp });
    expect(notOk(report).map((line) => line.split(':')[0])).toEqual([hopsCase]);
    const failed = report.results.find((r) => r.id === hopsCase);
    expect(failed?.verdict).toBe('FAILED');
    expect(failed?.expected).toContain('hops.exhausted');
    expect(failed?.actual).toContain('LOOKING');
    expect(failed?.exchange.length).toBeGreaterThan(0);
  });

  it('sim: the same case twice gives byte-identical traces (lookup order)', async () => {
    const testCase = fmtpSuite.cases.find((c) => c.id === 'fmtp/5/lookup-order')!;
    const texts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const peer = new SimPeer(fmtpSuite, 'main', fmtpSuite.builtin, testCase.id);
      await testCase.run(peer);
      texts.push(peer.finish());
    }
    expect(texts[0]).toBe(texts[1]);
    const result = await runCase(fmtpSuite, { kind: 'sim' }, testCase, {
      traceDir: 'out/traces',
      reportDir: 'out',
      writeTrace: (_path, text) => expect(text).toBe(texts[0]),
    });
    expect(result.verdict).toBe('OK');
  });

  it('RealHost on loopback: every case is OK against the built-in node', async () => {
    const report = await runSuite(fmtpSuite, { kind: 'real' });
    expect(notOk(report)).toEqual([]);
  });

  it('RealHost on loopback: a node that ignores HOPS fails exactly the HOPS case', async () => {
    const report = await runSuite(fmtpSuite, { kind: 'real', protocol: brokenFmtp });
    expect(notOk(report).map((line) => line.split(':')[0])).toEqual([hopsCase]);
    expect(report.results.find((r) => r.id === hopsCase)?.verdict).toBe('FAILED');
  });

  it('external server (a RealHost configured like fixtures.main): control cases UNIMPLEMENTED, none FAILED (cases without a listener)', async () => {
    const { id, port } = fmtpSuite.target;
    const fixture = { ...(fmtpSuite.fixtures.main as object), secretKeyHex: targetSecretKeyHex };
    const config = fmtpSuite.builtin.configSchema.parse(fixture) as unknown;
    const host = new RealHost({
      trace: 'memory',
      id,
      protocol: fmtpSuite.builtin,
      config,
      portMap: { [port]: 0 },
      // The peer listens on the fixture's own ports on 127.0.0.1 (docs in src/conformance/fmtp.ts).
      peers: { [fmtpSuite.peerHost]: '127.0.0.1' },
      dns: fmtpSuite.builtin.dnsRecords?.({ id, hostName: id, config, seed: fmtpSuite.seed }) ?? [],
      // Its own random stream: only the key is fixed, as an external implementation would be.
    });
    const [service] = await host.start();
    try {
      const url = `tcp://127.0.0.1:${service?.port}`;
      // Cases whose peer listens bind the fixture's own ports (7465-7468), which another process on a
      // shared machine may hold: only the rest run here, plus the control cases (UNIMPLEMENTED before they listen).
      const controlled = fmtpSuite.cases.filter((c) => c.needsControl).map((c) => c.id);
      const only = [...controlled, ...notListening];
      const report = await runSuite(
        fmtpSuite,
        { kind: 'external', host: '127.0.0.1', port: service?.port ?? 0, url },
        { only },
      );
      expect(report.results.filter((r) => r.verdict === 'UNIMPLEMENTED').map((r) => r.id)).toEqual(controlled);
      expect(report.results.filter((r) => r.verdict === 'FAILED')).toEqual([]);
      expect(report.results.find((r) => r.id === 'fmtp/9/deterministic')?.verdict).toBe('INFORMATIONAL');
    } finally {
      await host.close();
    }
  });
});
