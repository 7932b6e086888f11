/**
 * `fedsim run <file|dir...>`: runs scenario files, writes each trace under reports/traces/, prints
 * a verdict per scenario and a closing `N passed, N failed` line. With `--seeds A..B` it sweeps
 * every scenario over those seeds instead (no traces) and prints `passed N of M` per scenario.
 * Exit code 0 when all pass, 1 when an expectation failed, 2 for bad input (a scenario that does
 * not load; the others still run, and 2 wins over 1), 3 when an external node process broke the
 * process protocol (docs/process-nodes.md; the run stops, its trace is written).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { assert } from '../core/assert.js';
import { ScenarioError, UsageError, formatProblem } from '../core/errors.js';
import { formatMs } from '../core/time.js';
import { engineOf, type EngineKind } from '../engine/engine.js';
import { loadScenarioWithPlugins, type Scenario } from '../scenario/load.js';
import { RunAborted, runScenario, type RunReport } from '../scenario/run.js';
import { runSweep } from '../scenario/sweep.js';
import { printable } from '../scenario/yaml.js';

export interface RunCommandOptions {
  readonly seed?: number;
  readonly traces: string | false;
  readonly json: boolean;
  /** The statechart engine. @defaultValue 'compiled' */
  readonly engine?: EngineKind;
}

export interface SweepCommandOptions {
  readonly seeds: readonly number[];
  readonly workers: number;
  readonly json: boolean;
  /** The statechart engine. @defaultValue 'compiled' */
  readonly engine?: EngineKind;
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

/**
 * Where a scenario's trace goes: its `name:` as a path below `tracesDir`, never outside it.
 * Characters other than letters, digits, `.`, `_` and `-` become `_`, and segments that are
 * empty, `.` or `..` become `_`. When that changed the name, a short hash of the name as written
 * is appended (`mine/_-1a2b3c4d.ndjson`): stable from run to run, and two names that read the
 * same once cleaned (`mine/ä`, `mine/ö`) still get two files. Two scenarios with the very same
 * name in one run are an error instead (runCommand), since the name is also how a run is known.
 */
export function tracePathFor(tracesDir: string, scenarioName: string): string {
  const segments = scenarioName.split('/').map((segment) => {
    const clean = segment.replace(/[^A-Za-z0-9._-]/g, '_');
    return clean === '' || clean === '.' || clean === '..' ? '_' : clean;
  });
  let relativePath = segments.join('/');
  if (relativePath !== scenarioName) {
    relativePath += `-${createHash('sha256').update(scenarioName).digest('hex').slice(0, 8)}`;
  }
  const root = resolve(tracesDir);
  const path = resolve(root, `${relativePath}.ndjson`);
  assert(path.startsWith(root + sep), `trace path ${path} escapes ${root}`);
  return join(tracesDir, `${relativePath}.ndjson`);
}

/** The line of a file's top-level `name:` key, for a located message (1 when not found). */
function nameLine(file: string): number {
  try {
    const text = readFileSync(file, 'utf8');
    const at = text.search(/^"?name"?\s*:/m);
    return at < 0 ? 1 : text.slice(0, at).split('\n').length;
  } catch {
    return 1;
  }
}

/** Drops (and reports) every scenario whose name an earlier one in the run already has: their traces would collide. */
function uniqueNames(scenarios: readonly Scenario[], warn: (line: string) => void): { kept: Scenario[]; bad: number } {
  const seen = new Map<string, string>();
  const kept: Scenario[] = [];
  let bad = 0;
  for (const scenario of scenarios) {
    const first = seen.get(scenario.source.name);
    if (first === undefined) {
      seen.set(scenario.source.name, scenario.file);
      kept.push(scenario);
      continue;
    }
    bad += 1;
    warn(
      formatProblem({
        file: scenario.file,
        line: nameLine(scenario.file),
        column: 1,
        pointer: 'name',
        message: `name: \`${printable(scenario.source.name)}\` is also the name of ${first}; each scenario of a run needs its own (it names the trace file)`,
      }),
    );
  }
  return { kept, bad };
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

/**
 * Loads every file; the ones that load are returned, the problems of the others are printed (to
 * `warn`) as they come, so that one bad file in a directory does not stop the rest from running.
 */
async function loadAll(
  files: readonly string[],
  warn: (line: string) => void,
): Promise<{ scenarios: Scenario[]; bad: number }> {
  const scenarios: Scenario[] = [];
  let bad = 0;
  for (const file of files) {
    try {
      scenarios.push(await loadScenarioWithPlugins(file));
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      bad += 1;
      for (const problem of error.problems) warn(formatProblem(problem));
    }
  }
  return { scenarios, bad };
}

/** 2 when a file did not load, else 1 when a run failed, else 0. */
function exitCode(bad: number, failed: number): number {
  if (bad > 0) return 2;
  return failed > 0 ? 1 : 0;
}

export async function runCommand(
  paths: readonly string[],
  options: RunCommandOptions,
  log: (line: string) => void = console.log,
  warn: (line: string) => void = console.error,
): Promise<number> {
  const files = scenarioFiles(paths);
  const loaded = await loadAll(files, warn);
  const { kept: scenarios, bad: clashes } =
    options.traces === false ? { kept: loaded.scenarios, bad: 0 } : uniqueNames(loaded.scenarios, warn);
  const bad = loaded.bad + clashes;
  if (bad > 0) warn(`${bad} of ${files.length} scenario files were not run (exit code 2)`);

  const summary: { name: string; file: string; seed: number; verdict: string; trace?: string; failures: string[] }[] =
    [];
  let failed = 0;
  for (const scenario of scenarios) {
    const engine = engineOf(options.engine ?? 'compiled');
    let report: RunReport;
    try {
      report = runScenario(scenario, options.seed === undefined ? { engine } : { seed: options.seed, engine });
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
  return exitCode(bad, failed);
}

/** `fedsim run --seeds A..B`: every scenario on every seed, a tally per scenario, no traces. */
export async function sweepCommand(
  paths: readonly string[],
  options: SweepCommandOptions,
  log: (line: string) => void = console.log,
  warn: (line: string) => void = console.error,
): Promise<number> {
  const files = scenarioFiles(paths);
  const { scenarios, bad } = await loadAll(files, warn);
  if (bad > 0) warn(`${bad} of ${files.length} scenario files were not run (exit code 2)`);
  const { tallies, errors } = await runSweep(scenarios, {
    seeds: options.seeds,
    workers: options.workers,
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  });
  const failedScenarios = tallies.filter((tally) => tally.passed < tally.runs).length;
  const runs = tallies.reduce((sum, tally) => sum + tally.runs, 0);
  const passed = tallies.reduce((sum, tally) => sum + tally.passed, 0);
  if (options.json) {
    log(JSON.stringify({ seeds: [options.seeds[0], options.seeds.at(-1)], tallies, errors }, null, 2));
  } else {
    for (const tally of tallies) {
      const verdict = tally.passed === tally.runs ? 'PASS' : 'FAIL';
      log(`${verdict} ${tally.name}: passed ${tally.passed} of ${tally.runs}`);
      if (tally.firstFailure) {
        log(`  first failing seed ${tally.firstFailure.seed}: ${tally.firstFailure.failure}`);
        log(`  replay: npx fedsim run ${tally.file} --seed ${tally.firstFailure.seed}`);
      }
    }
    const range =
      options.seeds.length === 1 ? `seed ${options.seeds[0]}` : `seeds ${options.seeds[0]}..${options.seeds.at(-1)}`;
    log(
      `${tallies.length - failedScenarios} passed, ${failedScenarios} failed (${tallies.length} scenarios x ${range}: ${passed} of ${runs} runs passed)`,
    );
  }
  for (const error of errors) warn(`fedsim: internal error in ${error.file} seed ${error.seed}: ${error.message}`);
  if (errors.length > 0) return 3;
  return exitCode(bad, failedScenarios);
}
