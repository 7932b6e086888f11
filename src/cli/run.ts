/**
 * `fedsim run <file|dir...>`: runs scenario files, writes each trace under reports/traces/, prints
 * a verdict per scenario and a closing `N passed, N failed` line. Exit code 0 when all pass, 1 when
 * an expectation failed, 2 for bad input (a scenario that does not load), 3 when an external node
 * process broke the process protocol (docs/process-nodes.md; the run stops, its trace is written).
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ScenarioError, UsageError, formatProblem } from '../core/errors.js';
import { formatMs } from '../core/time.js';
import { loadScenario, type Scenario } from '../scenario/load.js';
import { RunAborted, runScenario, type RunReport } from '../scenario/run.js';

export interface RunCommandOptions {
  readonly seed?: number;
  readonly traces: string | false;
  readonly json: boolean;
}

const scenarioExtensions = ['.yaml', '.yml', '.json'];

/** Expands directories into the scenario files below them, sorted, so runs are in a stable order. */
export function scenarioFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new UsageError(`no such file or directory: ${path}`);
    }
    if (stat.isDirectory()) {
      const below = readdirSync(path, { recursive: true, encoding: 'utf8' })
        .filter((name) => scenarioExtensions.some((ext) => name.endsWith(ext)))
        .sort()
        .map((name) => join(path, name));
      files.push(...below);
    } else {
      files.push(path);
    }
  }
  if (files.length === 0) throw new UsageError(`no scenario files (*.yaml, *.yml, *.json) in ${paths.join(', ')}`);
  return files;
}

export function tracePathFor(tracesDir: string, scenarioName: string): string {
  return join(tracesDir, `${scenarioName.replace(/[^A-Za-z0-9._/-]/g, '_')}.ndjson`);
}

function printReport(report: RunReport, tracePath: string | undefined, log: (line: string) => void): void {
  const virtual = formatMs(report.outcome.atMs);
  const where = tracePath ? ` -> ${tracePath}` : '';
  const head = `${report.verdict === 'pass' ? 'PASS' : 'FAIL'} ${report.name} (seed ${report.seed}, ${report.trace.count} events, ${virtual} virtual)${where}`;
  log(head);
  for (const result of report.results) {
    if (!result.ok) log(`  x ${result.expectation}: ${result.message} (at ${result.atMs}ms)`);
  }
  if (report.verdict === 'fail') log(`  replay: fedsim run ${report.file} --seed ${report.seed}`);
}

export function runCommand(
  paths: readonly string[],
  options: RunCommandOptions,
  log: (line: string) => void = console.log,
): number {
  const files = scenarioFiles(paths);
  // Load everything first: a bad file is a usage error, reported with every problem, before any run.
  const scenarios: Scenario[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      scenarios.push(loadScenario(file));
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      problems.push(...error.problems.map(formatProblem));
    }
  }
  if (problems.length > 0)
    throw new ScenarioError(problems.map((message) => ({ file: '', line: 0, column: 0, pointer: '', message })));

  const summary: { name: string; file: string; seed: number; verdict: string; trace?: string; failures: string[] }[] =
    [];
  let failed = 0;
  for (const scenario of scenarios) {
    let report: RunReport;
    try {
      report = runScenario(scenario, options.seed === undefined ? {} : { seed: options.seed });
    } catch (error) {
      if (!(error instanceof RunAborted)) throw error;
      // An external node process broke its protocol: exit 3, with the trace up to that point.
      log(`ERROR ${scenario.source.name}: ${error.message}`);
      if (options.traces !== false) {
        const partial = tracePathFor(options.traces, scenario.source.name);
        mkdirSync(dirname(partial), { recursive: true });
        writeFileSync(partial, error.trace.text());
        log(`  trace up to the failure: ${relative(process.cwd(), partial)}`);
      }
      return 3;
    }
    let tracePath: string | undefined;
    if (options.traces !== false) {
      tracePath = tracePathFor(options.traces, report.name);
      mkdirSync(dirname(tracePath), { recursive: true });
      writeFileSync(tracePath, report.trace.text());
    }
    if (report.verdict === 'fail') failed += 1;
    if (!options.json) printReport(report, tracePath && relative(process.cwd(), tracePath), log);
    summary.push({
      name: report.name,
      file: report.file,
      seed: report.seed,
      verdict: report.verdict,
      ...(tracePath ? { trace: tracePath } : {}),
      failures: report.results.filter((r) => !r.ok).map((r) => `${r.expectation}: ${r.message}`),
    });
  }
  if (options.json) log(JSON.stringify(summary, null, 2));
  else {
    // The seed's own conversation makes the best first picture, when it is among the runs.
    const traced = summary.filter((entry) => entry.trace !== undefined);
    const firstTrace = (traced.find((entry) => entry.name === 'fmtp/poe-lenore') ?? traced[0])?.trace;
    if (firstTrace) log(`view a trace: npx fedsim view ${relative(process.cwd(), firstTrace)}`);
    log(`${scenarios.length - failed} passed, ${failed} failed`);
  }
  if (options.traces !== false) {
    mkdirSync(options.traces, { recursive: true });
    writeFileSync(join(options.traces, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  }
  return failed > 0 ? 1 : 0;
}
