// Goal: `fedsim serve` reports a user's mistake in one line with exit 2, never a stack trace: a port
// already in use, a missing or malformed config file, an Ambrosia gateway without its own secret or
// asking for the faithful `seed` profile.
// already in use, a missing or malformed config file, an Ambrosia gateway without its own secret, a
// missing or malformed TLS file (certificate, key or CA); and the TLS client settings reach the host.
// Method: the real command in a child process; the busy port is held by a listener in this process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/cli/serve.js';
import type { RealHostOptions } from '../../src/real/host.js';
import { selfSignedTls } from '../../src/real/tls.js';
import { fedsim } from '../support/fedsim.js';

const scratch = mkdtempSync(join(tmpdir(), 'fedsim-serve-'));

function config(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

function oneLine(result: { code: number | null; stdout: string; stderr: string }): string {
  expect(result.code).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return lines[0] ?? '';
}

describe('cli: serve errors', () => {
  it('names the address and the reason when the port is already in use', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const address = busy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const file = config('busy.yaml', `id: b.test\nconfig: { role: server }\nports: { 7000: ${port} }\n`);
      expect(oneLine(fedsim('serve', 'solec', '--config', file))).toBe(
        `fedsim: cannot listen on 127.0.0.1:${port}: address already in use`,
      );
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  }, 60_000);

  it('refuses a missing file, a malformed one, and an Ambrosia gateway without its own serviceSecret', () => {
    expect(oneLine(fedsim('serve', 'solec', '--config', join(scratch, 'nope.yaml')))).toMatch(
      /cannot read the config file/,
    );
    expect(oneLine(fedsim('serve', 'solec', '--config', config('bad.yaml', 'id: [\n')))).toMatch(/bad\.yaml:\d+:\d+: /);
    expect(
      oneLine(fedsim('serve', 'solec', '--config', config('limits.yaml', 'id: b.test\nlimits: { idleMs: -1 }\n'))),
    ).toMatch(/limits\.yaml:2:\d+: limits\.idleMs/);
    expect(
      oneLine(fedsim('serve', 'ambrosia', '--config', config('gw.yaml', 'id: a.test\nconfig: { role: gateway }\n'))),
    ).toMatch(/config\.serviceSecret: required by serve/);
    // The faithful profile (any service registers any domain) is for scenarios only.
    expect(
      oneLine(
        fedsim(
          'serve',
          'ambrosia',
          '--config',
          config('seed.yaml', 'id: a.test\nconfig: { role: gateway, serviceSecret: s3cret, profile: seed }\n'),
        ),
      ),
    ).toMatch(/config\.profile: serve runs the assigned profile/);
  }, 60_000);

  it('refuses a missing or malformed TLS certificate or key file, naming the file', () => {
    const gateway = 'id: a.test\nconfig: { role: gateway, tls: optional, serviceSecret: s }\n';
    const notPem = config('not.pem', 'hello\n');
    const missing = join(scratch, 'missing.pem');
    expect(
      oneLine(
        fedsim(
          'serve',
          'ambrosia',
          '--config',
          config('t1.yaml', `${gateway}tls: { cert: ${missing}, key: ${notPem} }\n`),
        ),
      ),
    ).toBe(`fedsim: cannot read the TLS certificate file ${missing} (ENOENT)`);
    expect(
      oneLine(
        fedsim(
          'serve',
          'ambrosia',
          '--config',
          config('t2.yaml', `${gateway}tls: { cert: ${notPem}, key: ${notPem} }\n`),
        ),
      ),
    ).toBe(`fedsim: ${notPem}: not a PEM certificate`);
    expect(
      oneLine(fedsim('serve', 'ambrosia', '--config', config('t3.yaml', `${gateway}tls: { cert: ${notPem} }\n`))),
    ).toMatch(/t3\.yaml:3:\d+: tls: give both cert and key, or neither/);
    expect(
      oneLine(
        fedsim(
          'serve',
          'ambrosia',
          '--config',
          config('t4.yaml', `${gateway}tls: { verifyPeer: true, ca: ${missing} }\n`),
        ),
      ),
    ).toBe(`fedsim: cannot read the TLS CA file ${missing} (ENOENT)`);
    expect(
      oneLine(
        fedsim(
          'serve',
          'ambrosia',
          '--config',
          config('t5.yaml', `${gateway}tls: { verifyPeer: true, ca: ${notPem} }\n`),
        ),
      ),
    ).toBe(`fedsim: ${notPem}: not a PEM certificate`);
  }, 60_000);

  it('hands tls.verifyPeer and the tls.ca file to the host (checked in test/real/tls.test.ts)', async () => {
    const gateway = 'id: a.test\nconfig: { role: gateway, tls: optional, serviceSecret: s }\n';
    const ca = (await selfSignedTls(['b.test'])).cert;
    const caFile = config('ca.pem', ca);
    const tlsOf = async (file: string): Promise<RealHostOptions['tls']> => {
      const { host } = await loadServeConfig('ambrosia', file);
      // The options the host was built with are private: read them for this check only.
      return (host as unknown as { options: RealHostOptions }).options.tls;
    };
    expect(await tlsOf(config('v1.yaml', gateway))).not.toHaveProperty('verifyPeer');
    expect(await tlsOf(config('v2.yaml', `${gateway}tls: { verifyPeer: true, ca: ${caFile} }\n`))).toMatchObject({
      verifyPeer: true,
      ca,
    });
  }, 60_000);
});
