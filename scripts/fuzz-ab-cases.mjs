// CPU time per fuzz case in steady state, two compiled builds side by side in one process, alternating
// case by case (scripts/fuzz-ab.mjs alternates rounds of many cases). Each case's seed runs on both
// builds, one right after the other, the order swapped every case, so that both see the same load
// from one millisecond to the next. On a machine at load 15, rounds of 60 cases moved by 20 to 40%
// between themselves; one build against itself here gave 0.97 (sums) and 0.99 (median) over 300
// cases, and one pair of builds 0.70 to 0.89 (sums) and 0.80 to 0.85 (medians) over three runs:
// still noisy at that load, but tighter. Run it more than once.
// Prints the mean ms per case of each build, the ratio of the sums (B/A) and the median of the
// per-case ratios.
//
// Usage: node scripts/fuzz-ab-cases.mjs <build A> <build B> <protocol> [cases] [first seed]
// A build is a directory bin/build.mjs made (dist/<key>), inside a checkout so that it finds
// node_modules. The same directory given twice is one module tree: what it remembers across runs
// (the Ed25519 answers) then serves the second run of each seed, so compare two directories.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dirA, dirB, protocol, casesArg, seedArg] = process.argv.slice(2);
if (dirA === undefined || dirB === undefined || protocol === undefined) {
  console.error('usage: node scripts/fuzz-ab-cases.mjs <build A> <build B> <protocol> [cases] [first seed]');
  process.exit(2);
}
const cases = Number(casesArg ?? 400);
const first = Number(seedArg ?? 21);
const load = async (dir) => (await import(pathToFileURL(resolve(dir, 'bench', 'fuzz.js')).href)).steadyFuzzRate;
const rateA = await load(dirA);
const rateB = await load(dirB);

/** CPU µs of one case (seed `seed`) on a build. */
function cpuOf(rate, seed) {
  const before = process.cpuUsage();
  rate(protocol, 0, 1, seed);
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

rateA(protocol, 20, 0);
rateB(protocol, 20, 0);
let sumA = 0;
let sumB = 0;
const ratios = [];
for (let k = 0; k < cases; k++) {
  const seed = first + k;
  let a;
  let b;
  if (k % 2 === 0) {
    a = cpuOf(rateA, seed);
    b = cpuOf(rateB, seed);
  } else {
    b = cpuOf(rateB, seed);
    a = cpuOf(rateA, seed);
  }
  sumA += a;
  sumB += b;
  ratios.push(b / a);
}
ratios.sort((x, y) => x - y);
console.log(
  `${protocol.padEnd(9)} A ${(sumA / cases / 1000).toFixed(2)} B ${(sumB / cases / 1000).toFixed(2)} ms/case | ` +
    `B/A of the sums ${(sumB / sumA).toFixed(3)}, median per-case ratio ${(ratios[Math.floor(cases / 2)] ?? 1).toFixed(3)}`,
);
