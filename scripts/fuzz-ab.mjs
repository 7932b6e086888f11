// CPU time per fuzz case in steady state, two compiled builds side by side in one process (A/B):
// on a machine shared with other work, the comparison that holds (both builds see the same
// minutes). Each round times `cases` new cases of each build (the order alternating between rounds)
// after 15 cases of warm-up, and prints per protocol the best and median ms per case of each build
// and the median of the per-round ratios B/A.
//
// Usage: node scripts/fuzz-ab.mjs <build A> <build B> [protocols, comma-separated] [cases] [rounds]
// A build is a directory bin/build.mjs made (dist/<key>), inside a checkout so that it finds
// node_modules; copy an old build under the checkout to keep it.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dirA, dirB] = [process.argv[2], process.argv[3]];
if (dirA === undefined || dirB === undefined) {
  console.error('usage: node scripts/fuzz-ab.mjs <build A> <build B> [protocols] [cases] [rounds]');
  process.exit(2);
}
const protocols = (process.argv[4] ?? 'fmtp,f140,solec,bester,ambrosia').split(',');
const cases = Number(process.argv[5] ?? 60);
const rounds = Number(process.argv[6] ?? 6);
const load = async (dir) => (await import(pathToFileURL(resolve(dir, 'bench', 'fuzz.js')).href)).steadyFuzzRate;
const rateA = await load(dirA);
const rateB = await load(dirB);

/**
 * CPU ms per case of `cases` cases after the warm-up: round k runs seeds 21 + k * cases onwards, the
 * same seeds on both builds. Each round's seeds are new, as a campaign's are, so that what a build
 * remembers across cases (pure answers kept per process) gains no more than it would in a campaign.
 */
function cpuPerCase(rate, protocol, round) {
  const before = process.cpuUsage();
  rate(protocol, 0, cases, 21 + round * cases);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / cases;
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
for (const protocol of protocols) {
  rateA(protocol, 15, 0);
  rateB(protocol, 15, 0);
  const a = [];
  const b = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      a.push(cpuPerCase(rateA, protocol, round));
      b.push(cpuPerCase(rateB, protocol, round));
    } else {
      b.push(cpuPerCase(rateB, protocol, round));
      a.push(cpuPerCase(rateA, protocol, round));
    }
  }
  const ratios = a.map((x, k) => b[k] / x);
  console.log(
    `${protocol.padEnd(9)} A best ${Math.min(...a).toFixed(2)} median ${median(a).toFixed(2)} | ` +
      `B best ${Math.min(...b).toFixed(2)} median ${median(b).toFixed(2)} ms/case | ` +
      `B/A median ${median(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`,
  );
}
