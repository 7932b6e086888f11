/**
 * Merges the summaries of a campaign's shards (`fedsim fuzz merge`) into the summary of the
 * whole campaign: per protocol (and canary and base seed) the runs, seeds, failures, errors and
 * counterexamples of every shard, ascending by seed, so the merge of shards 0/n..n-1/n equals the
 * unsharded run's summary (but for wall time, runs per second and workers). Groups and reports
 * are rebuilt from it (groups.ts, reporters.ts). Pure: the CLI reads the files.
 */
import { combineCoverage } from './coverage.js';
import type { ProtocolSummary } from './summary.js';

export class MergeError extends Error {}

function key(summary: ProtocolSummary): string {
  return `${summary.protocol}\u0000${summary.canary ?? ''}\u0000${summary.baseSeed}`;
}

/** `0/1` when the shards cover the campaign (all of 0..n-1 of n), else the indices present: `0,2/3`. */
function mergedShard(parts: readonly ProtocolSummary[], where: string): string {
  const counts = new Set(parts.map((part) => Number(part.shard.split('/')[1])));
  if (counts.size !== 1)
    throw new MergeError(`${where}: shards of different counts (${parts.map((p) => p.shard).join(', ')})`);
  const count = [...counts][0] ?? 1;
  const indices = [...new Set(parts.map((part) => Number(part.shard.split('/')[0])))].sort((a, b) => a - b);
  return indices.length === count ? '0/1' : `${indices.join(',')}/${count}`;
}

/** Merges summaries (each file's list, in order); throws MergeError on overlapping shards. */
export function mergeSummaries(
  files: readonly { readonly name: string; readonly summaries: readonly ProtocolSummary[] }[],
): ProtocolSummary[] {
  const byKey = new Map<string, { parts: ProtocolSummary[]; names: string[] }>();
  for (const file of files)
    for (const summary of file.summaries) {
      const entry = byKey.get(key(summary)) ?? { parts: [], names: [] };
      entry.parts.push(summary);
      entry.names.push(file.name);
      byKey.set(key(summary), entry);
    }
  return [...byKey.values()].map(({ parts, names }) => {
    const first = parts[0] as ProtocolSummary;
    const where = `${first.protocol}${first.canary === undefined ? '' : ` (canary ${first.canary})`}`;
    const owner = new Map<number, string>();
    parts.forEach((part, i) => {
      for (const seed of part.seeds) {
        const other = owner.get(seed);
        if (other !== undefined)
          throw new MergeError(`${where}: seed ${seed} is in both ${other} and ${names[i]} (the same shard twice?)`);
        owner.set(seed, names[i] ?? '');
      }
    });
    const runs = parts.reduce((sum, part) => sum + part.runs, 0);
    const wallMs = Math.max(...parts.map((part) => part.wallMs));
    const busyMs = parts.reduce((sum, part) => sum + part.wallMs, 0);
    return {
      protocol: first.protocol,
      ...(first.canary === undefined ? {} : { canary: first.canary }),
      baseSeed: first.baseSeed,
      shard: mergedShard(parts, where),
      workers: parts.reduce((sum, part) => sum + part.workers, 0),
      runs,
      seeds: parts.flatMap((part) => part.seeds).sort((a, b) => a - b),
      failures: parts.reduce((sum, part) => sum + part.failures, 0),
      errors: parts.reduce((sum, part) => sum + part.errors, 0),
      // The longest shard's wall time; runs per second over the shards' summed time (per shard).
      wallMs,
      runsPerSecond: runs / Math.max(0.001, busyMs / 1_000),
      counterexamples: parts.flatMap((part) => part.counterexamples).sort((a, b) => a.seed - b.seed),
      ...coverageOf(parts),
    };
  });
}

/** The shards' coverage, combined, when they report one. */
function coverageOf(parts: readonly ProtocolSummary[]): Pick<ProtocolSummary, 'coverage'> {
  const coverage = combineCoverage(parts.flatMap((part) => (part.coverage === undefined ? [] : [part.coverage])));
  return coverage === undefined ? {} : { coverage };
}
