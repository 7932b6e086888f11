/**
 * `npm run mutants`: the mutation suite (test/mutants/mutants.ts). Each mutant is applied to a
 * scratch copy of the sources and its protocol is fuzzed (`fedsim fuzz <p> --runs N --seed 1
 * --stop-after 1`); the report (reports/mutants/summary.md and summary.json) lists which were
 * killed and the mutation score per protocol. Exit 0 when every mutant not marked `attacker` was
 * killed, 1 otherwise, 2 for bad usage.
 *
 *   npx tsx scripts/mutants.ts [--protocol fmtp,solec] [--only id,id] [--runs 300] [--workers 2]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mutantReport, runMutant, type MutantResult } from '../test/mutants/harness.js';
import { mutants } from '../test/mutants/mutants.js';

const { values } = parseArgs({
  options: {
    protocol: { type: 'string' },
    only: { type: 'string' },
    runs: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    out: { type: 'string', default: 'reports/mutants' },
  },
});
const number = (name: string, text: string | undefined): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`mutants: --${name} must be a positive integer\n`);
    process.exit(2);
  }
  return value;
};
const runs = number('runs', values.runs);
const seed = number('seed', values.seed);
const workers = number('workers', values.workers);
const protocols = values.protocol?.split(',');
const only = values.only?.split(',');
const chosen = mutants.filter(
  (m) => (protocols === undefined || protocols.includes(m.protocol)) && (only === undefined || only.includes(m.id)),
);
if (chosen.length === 0) {
  process.stderr.write('mutants: no mutant matches\n');
  process.exit(2);
}

const results: MutantResult[] = [];
for (const mutant of chosen) {
  const result = runMutant(mutant, { root: process.cwd(), runs, seed, workers });
  results.push(result);
  process.stdout.write(
    `${result.status.padEnd(8)} ${mutant.id} (${(result.wallMs / 1000).toFixed(1)} s) ${result.detail}\n`,
  );
}
const report = mutantReport(results, chosen);
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'summary.md'), report);
writeFileSync(join(values.out, 'summary.json'), `${JSON.stringify({ runs, seed, results }, null, 2)}\n`);
process.stdout.write(`\n${report}`);
const missed = results.filter((r) => r.status !== 'killed' && chosen.find((m) => m.id === r.id)?.attacker !== true);
process.exit(missed.length === 0 ? 0 : 1);
