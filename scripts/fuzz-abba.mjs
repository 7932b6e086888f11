// CPU time per fuzz case in steady state, two compiled builds side by side in one process, in many
// short slices: on a machine shared with other work, where single rounds of scripts/fuzz-ab.mjs
// move by a third, the per-slice ratios' mean is what carries a sign. Each slice times `cases` cases
// on both builds (the same seeds; A then B in even slices, B then A in odd ones), after 20 cases of
// warm-up per build, and the slices' seeds follow one another. Prints per protocol the mean ms per
// case of each build, the ratio of the totals B/A, the median per-slice ratio, and the geometric
// mean of the per-slice ratios with two standard errors.
//
// Usage: node scripts/fuzz-abba.mjs <build A> <build B> [protocols, comma-separated] [cases] [slices]
// A build is a directory bin/build.mjs made (dist/<key>), inside a checkout so that it finds
// node_modules.
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dirA, dirB] = [process.argv[2], process.argv[3]];
if (dirA === undefined || dirB === undefined) {
  console.error('usage: node scripts/fuzz-abba.mjs <build A> <build B> [protocols] [cases] [slices]');
  process.exit(2);
}
const protocols = (process.argv[4] ?? 'fmtp,f140,solec,bester,ambrosia').split(',');
const cases = Number(process.argv[5] ?? 10);
const slices = Number(process.argv[6] ?? 60);
const load = async (dir) => (await import(pathToFileURL(resolve(dir, 'bench', 'fuzz.js')).href)).steadyFuzzRate;
const rateA = await load(dirA);
const rateB = await load(dirB);

/** CPU ms per case of `cases` cases from `seed`. */
function cpuPerCase(rate, protocol, seed) {
  const before = process.cpuUsage();
  rate(protocol, 0, cases, seed);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / cases;
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
for (const protocol of protocols) {
  rateA(protocol, 20, 0);
  rateB(protocol, 20, 0);
  const a = [];
  const b = [];
  for (let slice = 0; slice < slices; slice++) {
    const seed = 21 + slice * cases;
    if (slice % 2 === 0) {
      a.push(cpuPerCase(rateA, protocol, seed));
      b.push(cpuPerCase(rateB, protocol, seed));
    } else {
      b.push(cpuPerCase(rateB, protocol, seed));
      a.push(cpuPerCase(rateA, protocol, seed));
    }
  }
  const sum = (values) => values.reduce((x, y) => x + y, 0);
  const logs = a.map((x, k) => Math.log(b[k] / x));
  const mean = sum(logs) / slices;
  const sd = Math.sqrt(sum(logs.map((l) => (l - mean) ** 2)) / (slices - 1));
  const geo = Math.exp(mean);
  console.log(
    `${protocol.padEnd(9)} A ${(sum(a) / slices).toFixed(2)} | B ${(sum(b) / slices).toFixed(2)} ms/case | ` +
      `total B/A ${(sum(b) / sum(a)).toFixed(3)}, median ${median(logs.map(Math.exp)).toFixed(3)}, ` +
      `geometric mean ${geo.toFixed(3)} ± ${((geo * 2 * sd) / Math.sqrt(slices)).toFixed(3)} ` +
      `(${slices} slices of ${cases}; load ${loadavg()[0].toFixed(1)})`,
  );
}
