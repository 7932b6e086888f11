// Goal: `fedsim findings` lists every seed flaw that has a faithful/fixed scenario pair, shows the
// flaw under the faithful profile and its refusal under the fixed one, and writes the HTML report,
// the JSON and the traces it links; a pair whose fixed run still shows the flaw fails the command.
// Method: run bin/fedsim.mjs in a child process into temporary directories and read what it wrote.
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { breaksInvariant, replayUnshrunk } from '../../src/fuzz/replay-seed.js';
import { flaws, type FindingsReport } from '../../src/scenario/findings.js';
import { fedsim, root } from '../support/fedsim.js';

const scratch = mkdtempSync(join(tmpdir(), 'fedsim-findings-'));

/**
 * Every pair the task names: SOLEC's ServerAuth, Bester's three 2020 bugs and its handler hang,
 * the FMTP proxy loop, F140's replay-and-redirect.
 */
const pairs = [
  ['solec/impersonation-seed.yaml', 'solec/impersonation-signed.yaml'],
  ['bester/blog-part2-federation-besterd-2020.yaml', 'bester/blog-part2-federation-fixed.yaml'],
  ['bester/bug2-unknown-command-besterd-2020.yaml', 'bester/bug2-unknown-command-fixed.yaml'],
  ['bester/bug3-isclient-besterd-2020.yaml', 'bester/bug3-isclient-fixed.yaml'],
  ['bester/handler-hang-besterd-2020.yaml', 'bester/handler-hang-fixed.yaml'],
  ['fmtp/flaw-proxy-loop-seed.yaml', 'fmtp/flaw-proxy-loop-fixed.yaml'],
  ['f140/flaw-replay-redirect-seed.yaml', 'f140/flaw-replay-redirect-fixed.yaml'],
  ['ambrosia/flaw-domain-hijack-seed.yaml', 'ambrosia/flaw-domain-hijack-fixed.yaml'],
];

describe('cli: fedsim findings', () => {
  it('shows every flaw under its faithful profile and its refusal under the fixed one, in JSON and HTML', () => {
    const out = join(scratch, 'report');
    const result = fedsim('findings', '--out', out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^8 of 8 flaws shown, refused and found by fuzzing/);

    const report = JSON.parse(readFileSync(join(out, 'findings.json'), 'utf8')) as FindingsReport;
    expect(report.findings.map((f) => [f.faithful.scenario, f.fixed.scenario])).toEqual(
      pairs.map(([faithful, fixed]) => [join('scenarios', faithful!), join('scenarios', fixed!)]),
    );
    expect(new Set(report.findings.map((f) => f.protocol))).toEqual(
      new Set(['solec', 'bester', 'fmtp', 'f140', 'ambrosia']),
    );
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    for (const finding of report.findings) {
      expect(finding.faithful, finding.id).toMatchObject({ verdict: 'pass', signSeen: true });
      expect(finding.fixed, finding.id).toMatchObject({ verdict: 'pass', signSeen: false });
      expect(finding).toMatchObject({ flawShown: true, fixRefuses: true, fuzzReplays: true });
      // The seed's run, replayed as drawn, broke the flaw's own invariant.
      expect(
        finding.fuzzFailures.some((f) => f.startsWith(`always ${finding.fuzzInvariant}:`)),
        finding.id,
      ).toBe(true);
      expect(finding.fuzzCommand).toBe(
        `npx fedsim fuzz ${finding.protocol} --profile ${finding.fuzzProfile} --seed ${finding.fuzzSeed} --runs 1`,
      );
      expect(html).toContain(finding.fuzzCommand);
      expect(finding.seedQuote.text.length).toBeGreaterThan(20);
      expect(finding.seedQuote.file).toMatch(/^00\d_[0-9a-f]{16}\.txt$/);
      for (const run of [finding.faithful, finding.fixed]) {
        const trace = readFileSync(join(out, run.trace), 'utf8').split('\n');
        expect(JSON.parse(trace[0]!)).toMatchObject({ format: 'fedsim-trace', seed: run.seed });
        expect(run.view).toBe(`npx fedsim view ${join(out, run.trace)}`);
        expect(html).toContain(`href="${run.trace}"`);
      }
      // The HTML escapes the title's apostrophe, so compare against the escaped form.
      expect(html).toContain(finding.title.replace(/'/g, '&#39;'));
    }
    expect(html).toContain('ServerAuth carries only a name');
    expect(html).toContain('proxies that route to each other loop');
    expect(html).toContain('sendServers forwards without the message id');
    // Ambrosia's hijack is found by the campaign on its faithful profile at seed 2.
    const hijack = report.findings.find((f) => f.id === 'ambrosia-domain-hijack');
    expect(hijack).toMatchObject({ fuzzSeed: 2, fuzzProfile: 'seed', fuzzInvariant: 'ambrosia.registration-owned' });
    expect(html).toContain('npx fedsim fuzz ambrosia --profile seed --seed 2 --runs 1');
  });

  it('fails when a fixed run still shows the flaw, even though that scenario passes', () => {
    // The fixed proxy-loop scenario replaced by the faithful one: it passes its own expectations,
    // but its trace holds the flaw's sign, so the fix is not shown and the command exits 1.
    const scenarios = join(scratch, 'scenarios');
    cpSync(join(root, 'scenarios'), scenarios, { recursive: true });
    cpSync(join(scenarios, 'fmtp', 'flaw-proxy-loop-seed.yaml'), join(scenarios, 'fmtp', 'flaw-proxy-loop-fixed.yaml'));
    const out = join(scratch, 'broken');
    const result = fedsim('findings', '--out', out, '--scenarios', scenarios);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL {2}FMTP: two proxies/m);
    const report = JSON.parse(readFileSync(join(out, 'findings.json'), 'utf8')) as FindingsReport;
    const loop = report.findings.find((f) => f.id === 'fmtp-proxy-loop');
    expect(loop).toMatchObject({ flawShown: true, fixRefuses: false, fixed: { verdict: 'pass', signSeen: true } });
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });

  it("each flaw's fuzz seed breaks its invariant under the faithful profile's campaign, and the same seed under the fixed profile's does not", () => {
    for (const flaw of flaws) {
      expect(flaw.fuzz.profile, flaw.id).toBe(flaw.faithful.profile);
      const faithful = fuzzProfileNamed(flaw.protocol, flaw.fuzz.profile);
      const fixed = fuzzProfileNamed(flaw.protocol, flaw.fixed.profile);
      expect(faithful?.invariants, flaw.id).toContain(flaw.fuzz.invariant);
      expect(fixed?.invariants, flaw.id).toContain(flaw.fuzz.invariant);
      expect(breaksInvariant(replayUnshrunk(faithful!, flaw.fuzz.seed), flaw.fuzz.invariant), flaw.id).toBe(true);
      const refused = replayUnshrunk(fixed!, flaw.fuzz.seed);
      expect(breaksInvariant(refused, flaw.fuzz.invariant), `${flaw.id}: ${refused.failures.join('; ')}`).toBe(false);
    }
  });

  it('names each flaw once, with both scenarios of its pair in the repository', () => {
    expect(new Set(flaws.map((f) => f.id)).size).toBe(flaws.length);
    for (const flaw of flaws) {
      expect(existsSync(join(root, 'scenarios', flaw.faithful.scenario)), flaw.faithful.scenario).toBe(true);
      expect(existsSync(join(root, 'scenarios', flaw.fixed.scenario)), flaw.fixed.scenario).toBe(true);
    }
  });
});
