/**
 * `npm run fuzz-soak`: false failures on the unchanged code. Runs `fedsim fuzz <p> --runs N --seed 1
 * --workers 2` for every protocol (5,000 runs each by default) and reports how many runs failed;
 * on unchanged code each failure is a promise the fuzz profile states too strongly (or a real
 * bug), shrunk to reports/soak/counterexamples/. Writes reports/soak/summary.md. Exit 0 when no
 * run failed, 1 otherwise, 2 for bad usage. Long: a script of its own, never part of `npm test`.
 *
 *   npx tsx scripts/fuzz-soak.ts [--protocol fmtp,solec] [--runs 5000] [--seed 1] [--workers 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    protocol: { type: 'string', default: 'fmtp,f140,solec,bester,ambrosia' },
    runs: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    out: { type: 'string', default: 'reports/soak' },
  },
});
const number = (name: string, text: string | undefined): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`fuzz-soak: --${name} must be a positive integer\n`);
    process.exit(2);
  }
  return value;
};
const runs = number('runs', values.runs);
const seed = number('seed', values.seed);
const workers = number('workers', values.workers);
const protocols = values.protocol.split(',');

const rows: { protocol: string; runs: number; failed: number; wallS: number; failures: string[] }[] = [];
for (const protocol of protocols) {
  const started = performance.now();
  const run = spawnSync(
    process.execPath,
    [
      join('bin', 'fedsim.mjs'),
      'fuzz',
      protocol,
      ...['--runs', String(runs), '--seed', String(seed), '--workers', String(workers), '--no-progress'],
      ...['--out', join(values.out, 'counterexamples'), '--summary', join(values.out, protocol)],
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const output = `${run.stdout}${run.stderr}`;
  if (run.status !== 0 && run.status !== 1) {
    process.stderr.write(`fuzz-soak: ${protocol}: exit ${String(run.status)}\n${output.slice(-2000)}\n`);
    process.exit(2);
  }
  const done = /(\d+) runs, (\d+) failed/.exec(output);
  const row = {
    protocol,
    runs: Number(done?.[1] ?? 0),
    failed: Number(done?.[2] ?? 0),
    wallS: Math.round((performance.now() - started) / 1000),
    failures: output.split('\n').filter((line) => line.startsWith('FAIL ')),
  };
  rows.push(row);
  process.stdout.write(`${protocol}: ${row.runs} runs, ${row.failed} failed (${row.wallS} s)\n`);
  for (const failure of row.failures) process.stdout.write(`  ${failure}\n`);
}
const report = [
  '# Fuzz soak (unchanged code)',
  '',
  `\`fedsim fuzz <p> --runs ${runs} --seed ${seed} --workers ${workers}\``,
  '',
  '| protocol | runs | failed | wall |',
  '|---|---|---|---|',
  ...rows.map((row) => `| ${row.protocol} | ${row.runs} | ${row.failed} | ${row.wallS} s |`),
  '',
  ...rows.flatMap((row) => row.failures.map((failure) => `- ${failure}`)),
].join('\n');
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'summary.md'), `${report}\n`);
process.exit(rows.every((row) => row.failed === 0) ? 0 : 1);
