/**
 * The statechart coverage table of each protocol's default fuzz campaign: per protocol the states
 * and transitions its machines define, how many a campaign of `--runs` runs reached, how many are
 * listed unreachable (src/fuzz/unreachable.ts, with the reason) and how many are gaps (neither
 * reached nor listed). Prints the table and every gap; `--json <file>` also writes what was never
 * reached, per machine kind, for reviewing the list. Exit 0, or 1 when a gap remains, 2 for bad usage.
 *
 *   npx tsx scripts/coverage-table.ts [--protocol fmtp,solec] [--runs 1000] [--seed 1] [--workers 1] [--steer]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCampaign } from '../src/fuzz/campaign.js';
import { mergeCoverage } from '../src/fuzz/coverage.js';
import { fuzzProfileNamed } from '../src/fuzz/profiles/index.js';
import { shardSeeds } from '../src/fuzz/seeds.js';
import { pilotSeeds } from '../src/fuzz/steer.js';
import { machineCatalog, kindsOf } from '../test/fuzz/machine-catalog.js';
import { classifyCoverage, coverageTableHead, coverageTableRow } from '../src/fuzz/unreachable.js';

const { values } = parseArgs({
  options: {
    protocol: { type: 'string', default: 'fmtp,f140,solec,bester,ambrosia' },
    runs: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    steer: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const number = (name: string, text: string | undefined): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`coverage-table: --${name} must be a positive integer\n`);
    process.exit(2);
  }
  return value;
};
const runs = number('runs', values.runs);
const seed = number('seed', values.seed);
const workers = number('workers', values.workers);

const rows: string[] = [];
const gaps: string[] = [];
const never: Record<string, { states: readonly string[]; transitions: readonly string[] }> = {};
for (const protocol of values.protocol.split(',')) {
  const profile = fuzzProfileNamed(protocol);
  if (profile === undefined) {
    process.stderr.write(`coverage-table: no fuzz profile named ${protocol}\n`);
    process.exit(2);
  }
  const outcome = await runCampaign(profile, {
    seeds: shardSeeds(seed, runs),
    workers,
    run: {},
    ...(values.steer ? { steer: { pilot: pilotSeeds(seed, runs) } } : {}),
  });
  const coverage = mergeCoverage(
    outcome.results.flatMap((result) => (result.coverage === undefined ? [] : [result.coverage])),
    profile.sometimes ?? [],
  );
  const unstarted = Object.fromEntries(kindsOf(protocol).map((kind) => [kind, machineCatalog.get(kind)!]));
  const classified = classifyCoverage(coverage, unstarted);
  rows.push(coverageTableRow(protocol, classified));
  for (const gap of classified.gaps) gaps.push(`${protocol}: gap ${gap}`);
  for (const stale of classified.stale) gaps.push(`${protocol}: listed unreachable but reached: ${stale}`);
  for (const m of coverage.machines) never[m.kind] = { states: m.states.never, transitions: m.transitions.never };
  for (const [kind, definition] of Object.entries(unstarted))
    never[kind] ??= { states: [...definition.states], transitions: [...definition.transitions] };
  process.stderr.write(`${protocol}: ${outcome.results.length} runs, ${outcome.errors.length} errors\n`);
}
process.stdout.write(
  `Coverage of \`fedsim fuzz <p> --runs ${runs} --seed ${seed}\`${values.steer ? ' (steered)' : ''}\n\n`,
);
process.stdout.write(`${[...coverageTableHead, ...rows].join('\n')}\n\n`);
for (const line of gaps) process.stdout.write(`${line}\n`);
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(never, null, 2)}\n`);
process.exit(gaps.some((line) => line.includes(': gap ')) ? 1 : 0);
