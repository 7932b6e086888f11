// What a fuzz case allocates, counted free of the machine's load: young-generation collections
// (scavenges) per 100 steady-state cases, with the semi-space held at a fixed size so that each
// scavenge stands for about that many bytes allocated. Run it once per build and compare.
//
// Usage: node --max-semi-space-size=1 --min-semi-space-size=1 scripts/fuzz-alloc.mjs <build> <protocol> [cases]
// (20 cases of warm-up, then `cases` cases from seed 21, observed through a `gc` performance observer).
import { resolve } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [dir, protocol] = [process.argv[2], process.argv[3]];
if (dir === undefined || protocol === undefined) {
  console.error('usage: node --max-semi-space-size=1 scripts/fuzz-alloc.mjs <build> <protocol> [cases]');
  process.exit(2);
}
const cases = Number(process.argv[4] ?? 150);
const { steadyFuzzRate } = await import(pathToFileURL(resolve(dir, 'bench', 'fuzz.js')).href);
steadyFuzzRate(protocol, 20, 0);
let minor = 0;
let major = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor += 1;
    else major += 1;
  }
});
observer.observe({ entryTypes: ['gc'] });
steadyFuzzRate(protocol, 0, cases, 21);
// The observer is told asynchronously, after a turn of the event loop's timers.
await new Promise((done) => setTimeout(done, 50));
observer.disconnect();
const per100 = (count) => ((100 * count) / cases).toFixed(1);
console.log(
  `${protocol.padEnd(9)} ${dir}: scavenges per 100 cases ${per100(minor)}, other collections ${per100(major)}`,
);
