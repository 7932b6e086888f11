// CPU time per fuzz case in steady state, on the compiled build of the repository it is run from
// (the working directory), or on a build directory given as FEDSIM_DIST. CPU time rather than wall
// time, so that two builds can be compared side by side on a busy machine (docs/performance.md).
//
// Usage: node scripts/fuzz-cpu.mjs [protocols, comma-separated] [cases] [rounds]
// Each round runs 20 cases of warm-up, then times `cases` more; the best round is printed.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { ensureBuilt } = await import(pathToFileURL(join(process.cwd(), 'bin', 'build.mjs')).href);
const dir = process.env.FEDSIM_DIST ?? (await ensureBuilt());
const { steadyFuzzRate } = await import(pathToFileURL(join(dir, 'bench', 'fuzz.js')).href);
const protocols = (process.argv[2] ?? 'fmtp,f140,solec,bester,ambrosia').split(',');
const cases = Number(process.argv[3] ?? 200);
const rounds = Number(process.argv[4] ?? 1);

for (const protocol of protocols) {
  const perCase = [];
  for (let round = 0; round < rounds; round++) {
    steadyFuzzRate(protocol, 20, 0);
    const before = process.cpuUsage();
    steadyFuzzRate(protocol, 0, cases, 21);
    const used = process.cpuUsage(before);
    perCase.push((used.user + used.system) / 1000 / cases);
  }
  const best = Math.min(...perCase);
  const all = perCase.map((ms) => ms.toFixed(2)).join(' ');
  console.log(
    `${protocol.padEnd(9)} cpu ms/case best ${best.toFixed(2)} (${all}) => ${(1000 / best).toFixed(0)} cases/cpu-s`,
  );
}
