/**
 * The summary of fuzz campaigns, for reports/fuzz/: per protocol the runs done, failures, runs
 * per second, the counterexamples written, and the statechart coverage with the `sometimes`
 * assertions. Pure: the CLI measures time and writes the files.
 */
import { coverageMarkdown, type CampaignCoverage } from './coverage.js';
import { groupFailures, groupLines, type CounterexampleRecord } from './groups.js';

export interface ProtocolSummary {
  readonly protocol: string;
  readonly canary?: string;
  readonly baseSeed: number;
  readonly shard: string;
  readonly workers: number;
  readonly runs: number;
  /** The fuzz seeds of the runs done, ascending (shards of one campaign are disjoint and cover it). */
  readonly seeds: readonly number[];
  readonly failures: number;
  readonly errors: number;
  readonly wallMs: number;
  readonly runsPerSecond: number;
  /** Ascending by seed; with their broken expectations and shape, for grouping (groups.ts). */
  readonly counterexamples: readonly CounterexampleRecord[];
  readonly coverage?: CampaignCoverage;
}

export function summaryMarkdown(summaries: readonly ProtocolSummary[]): string {
  const lines = [
    '# Fuzz summary',
    '',
    '| protocol | runs | failures | errors | runs/s | workers | shard | base seed |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
    ...summaries.map(
      (s) =>
        `| ${s.protocol}${s.canary ? ` (canary ${s.canary})` : ''} | ${s.runs} | ${s.failures} | ${s.errors} | ${s.runsPerSecond.toFixed(1)} | ${s.workers} | ${s.shard} | ${s.baseSeed} |`,
    ),
    '',
  ];
  const groups = groupFailures(summaries);
  if (groups.length > 0) {
    lines.push('## Failures by signature', '', '```');
    for (const group of groups) lines.push(...groupLines(group));
    lines.push('```', '');
  }
  const found = summaries.flatMap((s) => s.counterexamples.map((c) => ({ protocol: s.protocol, ...c })));
  if (found.length > 0) {
    lines.push('## Counterexamples', '');
    for (const c of found) lines.push(`- ${c.protocol} seed ${c.seed} (${c.steps} steps): \`${c.replay}\``);
    lines.push('');
  }
  for (const s of summaries) if (s.coverage !== undefined) lines.push(coverageMarkdown(s.protocol, s.coverage));
  return lines.join('\n');
}
