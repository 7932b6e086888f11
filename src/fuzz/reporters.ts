/**
 * Campaign reports for CI, from the summaries alone (so a merge of shards reports as one run):
 * - `junit`: JUnit XML for CI test tabs. A test suite per protocol; in it one passing test case
 *   for the runs that passed, one failing test case per failure signature (groups.ts) whose
 *   text is the smallest counterexample and its replay command, and one erroring test case when
 *   runs ended in an internal error.
 * - `github`: GitHub Actions workflow commands: an `::error` annotation per failure signature,
 *   on the counterexample file, that carries the replay command; a `::notice` per protocol.
 * - `json`: the summaries and the groups, for machines (`version` says the format).
 * `text` is the command's own output. Pure: the CLI chooses where reports go.
 */
import { groupFailures, seedList, type FailureGroup } from './groups.js';
import type { ProtocolSummary } from './summary.js';

export const reporterKinds = ['text', 'junit', 'github', 'json'] as const;
export type ReporterKind = (typeof reporterKinds)[number];

/** The file each report is written to under `--reporter-out`. */
export const reporterFiles: Readonly<Record<Exclude<ReporterKind, 'text'>, string>> = {
  junit: 'junit.xml',
  github: 'github-annotations.txt',
  json: 'report.json',
};

/** `--reporter` values (repeated, or comma lists) to kinds; undefined names the first unknown one. */
export function parseReporters(values: readonly string[]): { kinds: ReporterKind[] } | { unknown: string } {
  const kinds: ReporterKind[] = [];
  for (const value of values.flatMap((v) => v.split(','))) {
    const name = value.trim();
    if (!(reporterKinds as readonly string[]).includes(name)) return { unknown: name };
    if (!kinds.includes(name as ReporterKind)) kinds.push(name as ReporterKind);
  }
  return { kinds };
}

function who(protocol: string, canary: string | undefined): string {
  return `${protocol}${canary === undefined ? '' : ` (canary ${canary})`}`;
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function groupText(group: FailureGroup): string[] {
  return [
    `${group.count} run${group.count === 1 ? '' : 's'} (seeds ${seedList(group.seeds, 20)}) break ${group.invariants.join('; ') || '(none named)'}`,
    `shape: ${group.shape}`,
    `smallest: seed ${group.smallest.seed} (${group.smallest.steps} steps), ${group.smallest.file}`,
    ...(group.smallest.failures ?? []).map((line) => `x ${line}`),
    `replay: ${group.smallest.replay}`,
  ];
}

export function junitReport(summaries: readonly ProtocolSummary[]): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  for (const summary of summaries) {
    const groups = groupFailures([summary]);
    const name = `fedsim fuzz ${who(summary.protocol, summary.canary)}`;
    const classname = `fuzz.${summary.protocol}${summary.canary === undefined ? '' : `.canary-${summary.canary}`}`;
    const cases: string[] = [];
    const passed = summary.runs - summary.failures;
    cases.push(`    <testcase classname="${xml(classname)}" name="${passed} of ${summary.runs} runs passed"/>`);
    for (const group of groups) {
      const title = `[${group.id}] ${group.invariants.join('; ') || '(none named)'} | ${group.shape}`;
      cases.push(
        `    <testcase classname="${xml(classname)}" name="${xml(title)}">`,
        `      <failure type="fuzz" message="${xml(`${group.count} runs; replay: ${group.smallest.replay}`)}">${xml(groupText(group).join('\n'))}</failure>`,
        '    </testcase>',
      );
    }
    if (summary.errors > 0)
      cases.push(
        `    <testcase classname="${xml(classname)}" name="internal errors">`,
        `      <error type="internal" message="${summary.errors} runs ended in an internal error (a fedsim bug)"/>`,
        '    </testcase>',
      );
    const suiteTests = 1 + groups.length + (summary.errors > 0 ? 1 : 0);
    tests += suiteTests;
    failures += groups.length;
    errors += summary.errors > 0 ? 1 : 0;
    suites.push(
      `  <testsuite name="${xml(name)}" tests="${suiteTests}" failures="${groups.length}" errors="${summary.errors > 0 ? 1 : 0}" skipped="0" time="${(summary.wallMs / 1_000).toFixed(3)}">`,
      '    <properties>',
      `      <property name="baseSeed" value="${summary.baseSeed}"/>`,
      `      <property name="shard" value="${xml(summary.shard)}"/>`,
      `      <property name="runs" value="${summary.runs}"/>`,
      `      <property name="failedRuns" value="${summary.failures}"/>`,
      '    </properties>',
      ...cases,
      '  </testsuite>',
    );
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="fedsim fuzz" tests="${tests}" failures="${failures}" errors="${errors}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

/** Escapes a workflow command's message (and, with `property`, a property value). */
function escapeCommand(text: string, property = false): string {
  const data = text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  return property ? data.replace(/:/g, '%3A').replace(/,/g, '%2C') : data;
}

export function githubReport(summaries: readonly ProtocolSummary[]): string {
  const lines: string[] = [];
  for (const summary of summaries) {
    const name = who(summary.protocol, summary.canary);
    for (const group of groupFailures([summary])) {
      const title = `fedsim fuzz ${name}: ${group.invariants.join('; ') || 'failure'} (${group.count} runs)`;
      lines.push(
        `::error file=${escapeCommand(group.smallest.file, true)},title=${escapeCommand(title, true)}::${escapeCommand(groupText(group).join('\n'))}`,
      );
    }
    if (summary.errors > 0)
      lines.push(
        `::error title=${escapeCommand(`fedsim fuzz ${name}: internal errors`, true)}::${summary.errors} runs ended in an internal error (a fedsim bug)`,
      );
    lines.push(
      `::notice title=${escapeCommand(`fedsim fuzz ${name}`, true)}::${escapeCommand(`${summary.runs} runs (shard ${summary.shard}, base seed ${summary.baseSeed}), ${summary.failures} failed, ${summary.errors} errors`)}`,
    );
  }
  return lines.join('\n') + '\n';
}

export interface JsonReport {
  readonly format: 'fedsim-fuzz-report';
  readonly version: 1;
  readonly ok: boolean;
  readonly summaries: readonly ProtocolSummary[];
  readonly groups: readonly FailureGroup[];
}

export function jsonReport(summaries: readonly ProtocolSummary[]): string {
  const report: JsonReport = {
    format: 'fedsim-fuzz-report',
    version: 1,
    ok: summaries.every((s) => s.failures === 0 && s.errors === 0),
    summaries,
    groups: groupFailures(summaries),
  };
  return JSON.stringify(report, null, 2) + '\n';
}

export function report(kind: Exclude<ReporterKind, 'text'>, summaries: readonly ProtocolSummary[]): string {
  return kind === 'junit'
    ? junitReport(summaries)
    : kind === 'github'
      ? githubReport(summaries)
      : jsonReport(summaries);
}
