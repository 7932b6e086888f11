/**
 * The one-hour federation at scale (issue 26), SOLEC's or F140's (`--protocol`, SOLEC by default;
 * src/bench/federation.ts says how each is laid out): one message per node over one virtual hour,
 * recording off, each size in a child process of its own running the compiled build (as
 * `fedsim bench` does; tsx's keepNames would add a property table to every closure). Prints a
 * Markdown table: wall and CPU seconds, trace events, peak heap and RSS, and the cost per node
 * against the first size's, so that its growth can be read. The bench's default rows stop at
 * 100,000 nodes; a million takes minutes and up to 12 GiB, so it runs from here. `--progress`: the
 * child prints how far it is (virtual time, deliveries, heap, RSS) every 30 s of wall time.
 *
 * Usage: npx tsx scripts/federation-scale.ts [--nodes 1000,10000,100000,1000000] [--protocol solec|f140] [--heap-mib N] [--progress]
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt } from '../bin/build.mjs';
import type * as Scale from '../src/bench/scale.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

function positive(text: string, what: string): number {
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value <= 0) {
    console.error(`federation-scale: ${what} must be a positive integer (got ${JSON.stringify(text)})`);
    process.exit(2);
  }
  return value;
}

const sizes = (option('--nodes') ?? '1000,10000,100000,1000000').split(',').map((each) => positive(each, '--nodes'));
const protocolText = option('--protocol') ?? 'solec';
if (protocolText !== 'solec' && protocolText !== 'f140') {
  console.error(`federation-scale: --protocol must be solec or f140 (got ${JSON.stringify(protocolText)})`);
  process.exit(2);
}
const protocol: Scale.ScaleProtocol = protocolText;
const heapText = option('--heap-mib');
const heapMiB = heapText === undefined ? undefined : positive(heapText, '--heap-mib');
const dir = await ensureBuilt();
const scale = (await import(pathToFileURL(join(dir, 'bench', 'scale.js')).href)) as typeof Scale;
const figures: Scale.ScaleFigure[] = [];
const loadAtStart = loadavg()[0] ?? 0;
for (const nodes of sizes) {
  const figure = scale.federationInChild(
    nodes,
    heapMiB ?? scale.heapLimitMiB(nodes),
    protocol,
    process.argv.includes('--progress'),
  );
  figures.push(figure);
  console.error(`${nodes} nodes: ${JSON.stringify(figure)} (load ${(loadavg()[0] ?? 0).toFixed(1)})`);
}
console.log(scale.scaleTable(figures));
console.log(
  `\nNode ${process.version}; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end.`,
);
