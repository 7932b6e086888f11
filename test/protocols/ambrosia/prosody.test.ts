// Goal: the Ambrosia suite's generic-XMPP cases (stream, SASL, bind, stream errors) agree with a real
// XMPP server nobody here wrote: run with `--target` against Debian's Prosody 0.12, none is FAILED,
// and each case gets the verdict recorded in docs/conformance.md (a case that starts failing or
// passing against Prosody is a change to look at, so the whole table is asserted).
// Method: test/support/prosody.ts starts Prosody on free loopback ports with TLS off, accounts
// bob@b.test (pb) and carol@b.test (pc) as the suite's fixture wants; the suite runs in this process
// against it as an external target (the cases that need the gateway's service or s2s port, or the
// fixture's DNS zone, are UNIMPLEMENTED there). Without Prosody the file is skipped outside CI and
// fails under CI=true.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSuites, runSuite } from '../../../src/conformance/index.js';
import type { SuiteReport } from '../../../src/conformance/types.js';
import { skipWithoutProsody, startProsody, type Prosody } from '../../support/prosody.js';

/** The verdicts against Prosody 0.12.3 (docs/conformance.md, "Against Prosody"). */
const expected: Readonly<Record<string, string>> = {
  'ambrosia/3/no-config': 'UNIMPLEMENTED',
  'ambrosia/3/c2s-login': 'OK',
  'ambrosia/3/c2s-wrong-password': 'OK',
  'ambrosia/3/bind-conflict': 'OK',
  'ambrosia/3/stamp-from': 'OK',
  'ambrosia/6/valid-from': 'OK',
  'ambrosia/3/header-first': 'OK',
  'ambrosia/3/not-well-formed': 'OK',
  'ambrosia/3/restricted-xml': 'NON-STRICT',
  'ambrosia/3/invalid-namespace': 'INFORMATIONAL',
  'ambrosia/3/not-authorized': 'NON-STRICT',
  'ambrosia/3/s2s-invalid-from': 'UNIMPLEMENTED',
  'ambrosia/3/dialback-refused': 'UNIMPLEMENTED',
  'ambrosia/3/see-other-host': 'UNIMPLEMENTED',
  'ambrosia/3/see-other-host-none': 'UNIMPLEMENTED',
  'ambrosia/3/route-to-service/client': 'UNIMPLEMENTED',
  'ambrosia/3/route-to-service/server': 'UNIMPLEMENTED',
  'ambrosia/3/route-out': 'UNIMPLEMENTED',
  'ambrosia/3/round-robin': 'UNIMPLEMENTED',
  'ambrosia/3/failover': 'UNIMPLEMENTED',
  'ambrosia/3/s2s-dns': 'UNIMPLEMENTED',
  'ambrosia/4.2/mutual-auth': 'UNIMPLEMENTED',
  'ambrosia/4.2/bad-handshake': 'UNIMPLEMENTED',
  'ambrosia/4.3/register': 'UNIMPLEMENTED',
  'ambrosia/4.4/chunking': 'UNIMPLEMENTED',
  'ambrosia/4.5/acks': 'UNIMPLEMENTED',
  'ambrosia/4.5/retransmit': 'UNIMPLEMENTED',
  'ambrosia/W/round-trip': 'NON-STRICT',
};

describe.skipIf(skipWithoutProsody())('Ambrosia conformance against Prosody', () => {
  let prosody: Prosody;
  let report: SuiteReport;

  beforeAll(async () => {
    prosody = await startProsody({
      accounts: [
        { local: 'bob', password: 'pb' },
        { local: 'carol', password: 'pc' },
      ],
    });
    const suite = (await loadSuites()).ambrosia!;
    const url = `tcp://127.0.0.1:${prosody.c2sPort}`;
    report = await runSuite(suite, { kind: 'external', host: '127.0.0.1', port: prosody.c2sPort, url });
  });

  afterAll(async () => {
    await prosody?.stop();
  });

  it('no case is FAILED', () => {
    const failed = report.results
      .filter((r) => r.verdict === 'FAILED')
      .map((r) => `${r.id}: ${r.message} (expected ${r.expected}, actual ${r.actual})`);
    expect(failed, prosody.log().slice(-4000)).toEqual([]);
  });

  it('each case has the verdict docs/conformance.md records for Prosody 0.12', () => {
    const verdicts = Object.fromEntries(report.results.map((r) => [r.id, r.verdict]));
    expect(verdicts).toEqual(expected);
  });

  it('the cases that differ from the built-in gateway say why', () => {
    const byId = new Map(report.results.map((r) => [r.id, r]));
    expect(byId.get('ambrosia/3/not-authorized')?.actual).toContain('service-unavailable');
    expect(byId.get('ambrosia/3/restricted-xml')?.actual).toContain('not-well-formed');
    expect(byId.get('ambrosia/W/round-trip')?.message).toContain('&#9;');
    expect(byId.get('ambrosia/3/s2s-dns')?.message).toContain('DNS zone');
  });
});
