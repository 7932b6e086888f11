// `fedsim serve` with `process:` runs an external node on the real host: real sockets, wall-clock
// timers. The JavaScript F140 node served that way passes every F140 conformance case over real
// sockets that needs no control channel (`fedsim conform f140 --target`, a separate process).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/cli/serve.js';
import { loadSuites } from '../../src/conformance/index.js';
import type { SuiteReport } from '../../src/conformance/types.js';
import { root } from '../support/fedsim.js';

const f140 = (await loadSuites()).f140!;

/** Runs the CLI without blocking this process (the served node lives here). */
function fedsimAsync(...args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'fedsim.mjs'), ...args], { cwd: root });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('fedsim serve with an external process node', () => {
  it('serves the JavaScript F140 node on a real port, and conform --target passes against it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-serve-process-'));
    const file = join(dir, 'serve.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: f140.target.id,
        config: f140.fixtures.main,
        ports: { [f140.target.port]: 0 },
        seed: 1,
        process: { command: ['node', join(root, 'examples', 'f140-js', 'node.mjs')] },
      }),
    );
    const { host, describe: what } = await loadServeConfig('f140', file);
    expect(what).toContain('external process');
    const [service] = await host.start();
    expect(service?.port).toBeGreaterThan(0);
    expect((host.view() as { process?: unknown }).process).toEqual([
      'node',
      join(root, 'examples', 'f140-js', 'node.mjs'),
    ]);
    try {
      const run = await fedsimAsync(
        'conform',
        'f140',
        '--target',
        `http://127.0.0.1:${service?.port}`,
        '--timeout-ms',
        '5000',
        '--out',
        dir,
      );
      expect(run.code).toBe(0);
      const report = JSON.parse(readFileSync(join(dir, 'f140.json'), 'utf8')) as SuiteReport;
      const controlled = f140.cases.filter((c) => c.needsControl).map((c) => c.id);
      expect(report.results.filter((r) => r.verdict === 'UNIMPLEMENTED').map((r) => r.id)).toEqual(controlled);
      expect(report.results.filter((r) => r.verdict === 'FAILED')).toEqual([]);
      expect(report.results.filter((r) => r.verdict === 'OK').length).toBeGreaterThan(0);
    } finally {
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
