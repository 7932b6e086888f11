/**
 * What each protocol's default fuzz campaign cannot reach of its statecharts, with the reason, as
 * reviewed: a campaign's coverage report marks each such state or transition "unreachable
 * (reason)" and names every other one it never reached a gap (docs/fuzzing.md, Coverage). The
 * list is data: `unreachableList` in ./unreachable-list.ts; test/fuzz/unreachable.test.ts checks
 * that it names only states and transitions the statecharts define, and scripts/coverage-table.ts
 * prints the table of reached, listed and gaps per protocol.
 *
 * Must not: read a clock or a random source.
 */
import type { CampaignCoverage, MachineDefinition } from './coverage.js';
import { unreachableList } from './unreachable-list.js';

/**
 * Why `item` of machine kind `kind` (a state path, or a transition `source>target`) is never
 * reached, or undefined when it is not listed. A key `kind *` lists the whole machine.
 */
export function unreachableReason(
  kind: string,
  item: string,
  list: Readonly<Record<string, string>> = unreachableList,
): string | undefined {
  return list[`${kind} ${item}`] ?? list[`${kind} *`];
}

/** Reached, listed unreachable, and gaps (neither), of one kind of item. */
export interface CoverageCount {
  readonly all: number;
  readonly reached: number;
  readonly listed: number;
  readonly gaps: number;
}

export interface ClassifiedCoverage {
  readonly states: CoverageCount;
  readonly transitions: CoverageCount;
  /** `kind item (reason)` for every listed item never reached. */
  readonly listed: readonly string[];
  /** `kind item` for every item never reached and not listed. */
  readonly gaps: readonly string[];
  /**
   * `kind item` for every listed item a run reached all the same (the entry is out of date), and
   * `kind *` for a machine listed whole that a run started.
   */
  readonly stale: readonly string[];
}

/**
 * Sorts a campaign's coverage into reached, listed unreachable and gaps. `unstarted` adds machine
 * kinds no run started (their definitions, from the protocol's statecharts): all never reached.
 */
export function classifyCoverage(
  coverage: CampaignCoverage,
  unstarted: Readonly<Record<string, MachineDefinition>> = {},
  list: Readonly<Record<string, string>> = unreachableList,
): ClassifiedCoverage {
  const machines = [
    ...coverage.machines,
    ...Object.entries(unstarted)
      .filter(([kind]) => !coverage.machines.some((m) => m.kind === kind))
      .map(([kind, definition]) => ({
        kind,
        states: { reached: [], never: definition.states },
        transitions: { reached: [], never: definition.transitions },
      })),
  ].sort((a, b) => a.kind.localeCompare(b.kind));
  const listed: string[] = [];
  const gaps: string[] = [];
  const stale: string[] = [];
  const count = (pick: 'states' | 'transitions'): CoverageCount => {
    let all = 0;
    let reached = 0;
    let listedCount = 0;
    for (const m of machines) {
      const { reached: yes, never } = m[pick];
      all += yes.length + never.length;
      reached += yes.length;
      // A whole machine listed (`kind *`) is out of date once a run started it: reported once, as
      // `kind *`, on its first reached state.
      for (const item of yes)
        if (list[`${m.kind} *`] !== undefined) {
          if (pick === 'states' && item === yes[0]) stale.push(`${m.kind} *`);
        } else if (unreachableReason(m.kind, item, list) !== undefined) stale.push(`${m.kind} ${item}`);
      for (const item of never) {
        const reason = unreachableReason(m.kind, item, list);
        if (reason === undefined) gaps.push(`${m.kind} ${item}`);
        else {
          listedCount += 1;
          listed.push(`${m.kind} ${item} (${reason})`);
        }
      }
    }
    return { all, reached, listed: listedCount, gaps: all - reached - listedCount };
  };
  const states = count('states');
  const transitions = count('transitions');
  return { states, transitions, listed, gaps, stale };
}

/** The head of the coverage table (`coverageTableRow`), as Markdown. */
export const coverageTableHead: readonly string[] = [
  '| protocol | states reached | listed unreachable | gaps | transitions reached | listed unreachable | gaps |',
  '|---|---:|---:|---:|---:|---:|---:|',
];

/** One protocol's row of the coverage table. */
export function coverageTableRow(protocol: string, c: ClassifiedCoverage): string {
  const { states: s, transitions: t } = c;
  return `| ${protocol} | ${s.reached}/${s.all} | ${s.listed} | ${s.gaps} | ${t.reached}/${t.all} | ${t.listed} | ${t.gaps} |`;
}
