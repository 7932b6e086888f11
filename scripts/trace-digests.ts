/**
 * Prints a sha256 per trace for every bundled scenario and for a fixed set of fuzz runs per
 * protocol, one `name digest` line each, sorted. A refactor that must not change behaviour diffs
 * this output before and after:
 *
 *   npx tsx scripts/trace-digests.ts > before.txt   (on the old commit)
 *   npx tsx scripts/trace-digests.ts > after.txt && diff before.txt after.txt
 *
 * Usage: trace-digests.ts [--fuzz-runs N] [--scenarios DIR]
 */
import { createHash } from 'node:crypto';
import { fuzzProfiles } from '../src/fuzz/profiles/index.js';
import { counterexampleStem, drawnCase, judgePlan } from '../src/fuzz/run-one.js';
import { loadScenario } from '../src/scenario/load.js';
import { runScenario } from '../src/scenario/run.js';
import { scenarioFiles } from '../src/cli/run.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(name);
  return (at >= 0 ? args[at + 1] : undefined) ?? fallback;
};
const fuzzRuns = Number(flag('--fuzz-runs', '20'));
const scenarioDir = flag('--scenarios', 'scenarios');

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const lines: string[] = [];

for (const file of scenarioFiles([scenarioDir])) {
  const report = runScenario(loadScenario(file));
  lines.push(`scenario ${file} ${report.verdict} ${sha(report.trace.text())}`);
}

for (const [protocol, profile] of fuzzProfiles) {
  for (let seed = 1; seed <= fuzzRuns; seed++) {
    const stem = counterexampleStem(protocol, seed);
    const digest = drawnCase(profile, seed, (plan, simSeed) => {
      const { report } = judgePlan(plan, simSeed, stem);
      return `${report.verdict} ${sha(report.trace.text())}`;
    });
    lines.push(`fuzz ${protocol} ${seed} ${digest}`);
  }
}

process.stdout.write(lines.sort().join('\n') + '\n');
