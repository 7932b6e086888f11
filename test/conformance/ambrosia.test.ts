// Goal: the Ambrosia suite passes against the built-in gateway in the simulator and on real loopback
// sockets (a RealHost per case), and a gateway with one rule wrong (it accepts a wrong password) fails
// exactly the case for that rule in both, every other case passing.
// Method: runSuite with the sim and real targets; broken-ambrosia.ts wraps the built-in gateway. Cases
// that find a known defect of the built-in gateway are listed in `knownFailures` with the reason, so a
// fix (or a new failure) shows up here.
import { describe, expect, it } from 'vitest';
import { runSuite, loadSuites } from '../../src/conformance/index.js';
import { portOfHeader } from '../../src/protocols/ambrosia/conformance/target.js';

const suites = await loadSuites();
import type { SuiteReport } from '../../src/conformance/types.js';
import { brokenAmbrosia } from './broken-ambrosia.js';

const suite = suites.ambrosia!;
const brokenCase = 'ambrosia/3/c2s-wrong-password';

/**
 * Cases that find a known defect of the built-in gateway, with the reason. Empty since the gateway
 * stopped repeating its s2s stream header before a stream error (RFC 6120 §4.9.1.1).
 */
const knownFailures: string[] = [];

function notOk(report: SuiteReport): string[] {
  return report.results.filter((r) => r.verdict !== 'OK').map((r) => r.id);
}

describe.each(['sim', 'real'] as const)('conformance: ambrosia: %s target', (kind) => {
  it('every case is OK against the built-in gateway, but for the known defects', async () => {
    const report = await runSuite(suite, { kind });
    expect(report.results.length).toBe(suite.cases.length);
    expect(notOk(report)).toEqual(knownFailures);
  }, 30_000);

  it('a gateway that accepts a wrong password fails exactly the case for it', async () => {
    const report = await runSuite(suite, { kind, protocol: brokenAmbrosia });
    expect(notOk(report)).toEqual([...knownFailures, brokenCase].sort(byCaseOrder));
    const failed = report.results.find((r) => r.id === brokenCase);
    expect(failed?.verdict).toBe('FAILED');
    expect(failed?.expected).toContain('not-authorized');
    expect(failed?.actual).toContain('success');
  }, 30_000);
});

function byCaseOrder(a: string, b: string): number {
  const ids = suite.cases.map((c) => c.id);
  return ids.indexOf(a) - ids.indexOf(b);
}

describe('conformance: ambrosia: one-port target', () => {
  const ports = { c2s: 5222, s2s: 5269, service: 5347 };
  const bytes = (text: string) => new TextEncoder().encode(text);

  it('sends each stream to the port its header asks for, and anything else to c2s', () => {
    const streams = 'xmlns:stream="http://etherx.jabber.org/streams"';
    expect(portOfHeader(bytes(`<?xml version='1.0'?><stream:stream xmlns='jabber:server' ${streams}>`), ports)).toBe(
      5269,
    );
    expect(portOfHeader(bytes(`<stream:stream xmlns="urn:fedsim:ambrosia:service:0">`), ports)).toBe(5347);
    expect(portOfHeader(bytes(`<stream:stream xmlns='jabber:client'>`), ports)).toBe(5222);
    expect(portOfHeader(bytes(`<stream:stream xmlns='urn:example:other'>`), ports)).toBe(5222);
    expect(portOfHeader(bytes('garbage'), ports)).toBe(5222);
    expect(portOfHeader(bytes('<?xm'), ports)).toBeUndefined();
    expect(portOfHeader(bytes(`<?xml version='1.0'?><stream:str`), ports)).toBeUndefined();
    expect(portOfHeader(bytes(`<stream:stream xmlns='jabber:server'`), ports)).toBeUndefined();
  });
});
