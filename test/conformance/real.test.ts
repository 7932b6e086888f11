// Goal: the same suites pass against the project's own nodes on real loopback sockets, a broken node
// fails exactly its case there too, and `fedsim conform` runs against an external server and writes
// the reports (exit codes 0 and 2).
// Method: the `real` target starts a RealHost per case on a free port; every wait in a case has an
// explicit wall-clock timeout. The external run starts a RealHost here and points the CLI (a child
// process) at it; cases that need the control channel give UNIMPLEMENTED there.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runSuite, loadSuites } from '../../src/conformance/index.js';

const suites = await loadSuites();
import type { SuiteReport } from '../../src/conformance/types.js';
import { RealHost } from '../../src/real/host.js';
import { fedsim, root } from '../support/fedsim.js';
import { brokenF140, brokenSolec } from './broken.js';

const f140 = suites.f140!;
const solec = suites.solec!;

function notOk(report: SuiteReport): string[] {
  return report.results.filter((r) => r.verdict !== 'OK').map((r) => `${r.id}: ${r.verdict}: ${r.message}`);
}

/** Runs the CLI without blocking this process (the RealHost it talks to lives here). */
function fedsimAsync(...args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'fedsim.mjs'), ...args], { cwd: root });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('conformance: real sockets (RealHost on loopback)', () => {
  it.each([f140, solec])('$protocol: every case is OK against the built-in node', async (suite) => {
    const report = await runSuite(suite, { kind: 'real' });
    expect(notOk(report)).toEqual([]);
  });

  it.each([
    [f140, brokenF140, 'f140/4.1/wrong-challenge'],
    [solec, brokenSolec, 'solec/4/bad-password'],
  ] as const)('%#: a node with one rule wrong fails exactly the case for it', async (suite, broken, caseId) => {
    const report = await runSuite(suite, { kind: 'real', protocol: broken });
    expect(notOk(report).map((line) => line.split(':')[0])).toEqual([caseId]);
    expect(report.results.find((r) => r.id === caseId)?.verdict).toBe('FAILED');
  });

  it('fedsim conform f140 --target runs against an external server and writes the reports', async () => {
    const host = new RealHost({
      trace: 'memory',
      id: f140.target.id,
      protocol: f140.builtin,
      config: f140.builtin.configSchema.parse(f140.fixtures.main),
      portMap: { [f140.target.port]: 0 },
      seed: 1,
    });
    const [service] = await host.start();
    const out = mkdtempSync(join(tmpdir(), 'fedsim-conform-'));
    try {
      const run = await fedsimAsync(
        'conform',
        'f140',
        '--target',
        `http://127.0.0.1:${service?.port}`,
        '--timeout-ms',
        '3000',
        '--out',
        out,
      );
      expect(run.code).toBe(0);
      const report = JSON.parse(readFileSync(join(out, 'f140.json'), 'utf8')) as SuiteReport;
      const controlled = f140.cases.filter((c) => c.needsControl).map((c) => c.id);
      expect(report.results.filter((r) => r.verdict === 'UNIMPLEMENTED').map((r) => r.id)).toEqual(controlled);
      expect(report.results.filter((r) => r.verdict === 'FAILED')).toEqual([]);
      expect(readFileSync(join(out, 'f140.html'), 'utf8')).toContain('f140/4.1/wrong-challenge');
      expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('f140.html');
    } finally {
      await host.close();
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('fedsim conform exits 2 on bad usage', () => {
    // One child process (each costs a second or more of start-up): a URL of the wrong scheme for F140.
    expect(fedsim('conform', 'f140', '--target', 'tcp://127.0.0.1:1').code).toBe(2);
  });
});
