/**
 * The first fuzz seed at which each flaw's invariant breaks, under a protocol's faithful profile:
 * `npx tsx scripts/flaw-seeds.ts <protocol> <profile> <invariant>... [--max N]`. Runs seeds 1.. as
 * drawn (no shrinking) until every invariant named has broken or N seeds (default 200) ran, and
 * prints each invariant's first seed: what src/scenario/findings.ts records as `fuzzSeed`.
 */
import { fuzzProfileNamed } from '../src/fuzz/profiles/index.js';
import { breaksInvariant, replayUnshrunk } from '../src/fuzz/replay-seed.js';

const args = process.argv.slice(2);
const maxAt = args.indexOf('--max');
const max = maxAt < 0 ? 200 : Number(args[maxAt + 1]);
const [protocol, variant, ...invariants] = maxAt < 0 ? args : args.slice(0, maxAt);
const profile = protocol === undefined ? undefined : fuzzProfileNamed(protocol, variant);
if (profile === undefined || invariants.length === 0) {
  console.error('usage: flaw-seeds.ts <protocol> <profile> <invariant>... [--max N]');
  process.exit(2);
}
const first = new Map<string, number>();
for (let seed = 1; seed <= max && first.size < invariants.length; seed += 1) {
  const run = replayUnshrunk(profile, seed);
  for (const name of invariants) if (!first.has(name) && breaksInvariant(run, name)) first.set(name, seed);
}
for (const name of invariants) console.log(`${name}: ${first.get(name) ?? `not within ${max} seeds`}`);
