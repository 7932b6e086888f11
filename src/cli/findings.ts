/**
 * `fedsim findings [--out reports/findings]`: runs every faithful/fixed scenario pair of a seed
 * flaw (src/scenario/findings.ts) on its own seed, writes each trace under <out>/traces/, and writes
 * <out>/index.html and <out>/findings.json. Exit 0 when every faithful run shows its flaw, every
 * fixed run refuses it, and every flaw's fuzz seed still breaks its invariant; 1 otherwise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildFindings, findingsHtml } from '../scenario/findings.js';

export interface FindingsOptions {
  readonly out: string;
  /** Where the scenario pairs are. @defaultValue 'scenarios' */
  readonly scenarios?: string;
}

export function findingsCommand(options: FindingsOptions, log: (line: string) => void = console.log): number {
  const { report, traces } = buildFindings(options.scenarios ?? 'scenarios', options.out);
  for (const trace of traces) {
    const path = join(options.out, trace.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, trace.text);
  }
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, 'findings.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(options.out, 'index.html'), findingsHtml(report));
  let bad = 0;
  for (const finding of report.findings) {
    const ok = finding.flawShown && finding.fixRefuses && finding.fuzzReplays;
    if (!ok) bad += 1;
    log(`${ok ? 'SHOWN' : 'FAIL '} ${finding.title}`);
    log(`  faithful (${finding.faithful.profile}): ${finding.faithful.verdict}; ${finding.faithful.view}`);
    log(`  fixed (${finding.fixed.profile}): ${finding.fixed.verdict}; ${finding.fixed.view}`);
    log(
      `  fuzz seed ${finding.fuzzSeed} (${finding.fuzzProfile}): ${finding.fuzzReplays ? 'breaks' : 'NO LONGER breaks'} ${finding.fuzzInvariant}; ${finding.fuzzCommand}`,
    );
    for (const failure of [...finding.faithful.failures, ...finding.fixed.failures]) log(`  x ${failure}`);
  }
  log(
    `${report.findings.length - bad} of ${report.findings.length} flaws shown, refused and found by fuzzing -> ${join(options.out, 'index.html')}`,
  );
  return bad > 0 ? 1 : 0;
}
