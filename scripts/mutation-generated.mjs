/**
 * `npm run mutation:generated`: generated mutants of one protocol's code (Stryker Mutator,
 * stryker.config.mjs), each judged by a short fuzz campaign of that protocol. Reports go to
 * reports/mutation/<p>/ (index.html, mutation.json). Exit 0 when Stryker finished, 1 when it
 * failed, 2 for bad usage. The score is in the reports; no threshold is enforced.
 *
 *   node scripts/mutation-generated.mjs [--protocol f140] [--runs 100]
 */
import { parseArgs } from 'node:util';
import { Stryker } from '@stryker-mutator/core';
import { defaultRuns, mutateSets, strykerConfig } from '../stryker.config.mjs';

let values;
try {
  ({ values } = parseArgs({
    options: {
      protocol: { type: 'string', default: 'f140' },
      runs: { type: 'string', default: String(defaultRuns) },
    },
  }));
} catch (error) {
  process.stderr.write(`mutation:generated: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
const protocol = values.protocol;
if (!Object.hasOwn(mutateSets, protocol)) {
  process.stderr.write(
    `mutation:generated: --protocol must be one of ${Object.keys(mutateSets).join(', ')}, not ${protocol}\n`,
  );
  process.exit(2);
}
const runs = Number(values.runs);
if (!Number.isSafeInteger(runs) || runs < 1) {
  process.stderr.write('mutation:generated: --runs must be a positive integer\n');
  process.exit(2);
}

try {
  await new Stryker(strykerConfig(protocol, runs)).runMutationTest();
} catch (error) {
  process.stderr.write(`mutation:generated: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
