/**
 * `fedsim fuzz <protocol|all>`: runs a fuzz campaign (generated topologies, workloads and fault
 * plans), shrinks each failing run, writes it as a scenario file under reports/counterexamples/
 * with its trace, prints the one command that replays it, and writes a summary (runs per second
 * per protocol) under reports/fuzz/. Exit 0 when every run passed, 1 when a run failed, 2 for bad
 * usage, 3 for an internal error or an external node process (`--node-process`) that broke the
 * process protocol. `--replay <file>` runs a counterexample (with `--canary`, over
 * the broken variant it was found against).
 *
 * Wall time lives here only: the progress line and `--time-budget`.
 */
import { Presets, SingleBar } from 'cli-progress';
import { parseDurationMs } from '../core/time.js';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { MergeError, mergeSummaries } from '../fuzz/merge.js';
import { join, relative } from 'node:path';
import { UsageError } from '../core/errors.js';
import { engineOf, type EngineKind } from '../engine/engine.js';
import { splitCommandLine } from '../process/command-line.js';
import type { ProcessSpec } from '../process/schema.js';
import { runCampaign } from '../fuzz/campaign.js';
import { canaryKinds, type CanaryKind } from '../fuzz/canary.js';
import { writeCounterexample } from '../fuzz/counterexample.js';
import { fuzzProfileNamed, fuzzProfiles } from '../fuzz/profiles/index.js';
import { moduleOf, protocolNames } from '../protocols/registry.js';
import { withCanary } from '../fuzz/run-one.js';
import { groupFailures, groupLines, shapeOf } from '../fuzz/groups.js';
import { parseShard, shardFromEnv, shardSeeds, type Shard } from '../fuzz/seeds.js';
import { parseReporters, report, reporterFiles, reporterKinds, type ReporterKind } from '../fuzz/reporters.js';
import { summaryMarkdown, type ProtocolSummary } from '../fuzz/summary.js';
import { mergeCoverage, type CampaignCoverage } from '../fuzz/coverage.js';
import { pilotSeeds } from '../fuzz/steer.js';
import { classifyCoverage } from '../fuzz/unreachable.js';
import { loadScenarioWithPlugins } from '../scenario/load.js';
import { runScenario } from '../scenario/run.js';

export interface FuzzCommandOptions {
  readonly runs: number;
  readonly seed: number;
  readonly workers: number;
  /** `i/n`, or true (`--shard` alone): read from CI's environment (shardFromEnv). */
  readonly shard?: string | true;
  /** The shard count with `JOB_COMPLETION_INDEX`. */
  readonly shards?: number;
  readonly timeBudget?: string;
  /** Stop starting runs once this many failed (each failure is shrunk, which is the slow part). */
  readonly stopAfter?: number;
  /** Fail a campaign (exit 1) that never reached one of its protocol's `sometimes` assertions. */
  readonly requireSometimes?: boolean;
  /** Coverage-steered generation (src/fuzz/steer.ts): the first runs of the campaign weigh the generators. */
  readonly steer?: boolean;
  readonly canary?: string;
  /** `--profile`: fuzz under this protocol profile (the fuzz profile's variant of that name). */
  readonly profile?: string;
  readonly replay?: string;
  readonly out: string;
  readonly summary: string;
  readonly progress?: boolean;
  /** The statechart engine. @defaultValue 'compiled' */
  readonly engine?: EngineKind;
  /** Run the protocol's nodes as this external process (a command line). */
  readonly nodeProcess?: string;
  readonly processTimeoutMs?: number;
  /** `--reporter`, repeated or comma lists: text (always), junit, github, json. */
  readonly reporter?: readonly string[];
  /** Where the reports go (one file each); without it, standard output. */
  readonly reporterOut?: string;
}

/** Which reports to write, and whether they take standard output (the text then goes to stderr). */
export interface ReportChoice {
  readonly kinds: readonly Exclude<ReporterKind, 'text'>[];
  readonly out?: string;
}

export function reportChoice(reporter: readonly string[] | undefined, out: string | undefined): ReportChoice {
  const parsed = parseReporters(reporter ?? []);
  if ('unknown' in parsed)
    throw new UsageError(`--reporter must be one of ${reporterKinds.join(', ')} (got \`${parsed.unknown}\`)`);
  const kinds = parsed.kinds.filter((kind): kind is Exclude<ReporterKind, 'text'> => kind !== 'text');
  if (out === undefined && kinds.length > 1)
    throw new UsageError('--reporter: more than one report needs --reporter-out <dir> (one file each)');
  return out === undefined ? { kinds } : { kinds, out };
}

/** The text log: standard output, or standard error when a report takes standard output. */
export function textLog(choice: ReportChoice, log: (line: string) => void): (line: string) => void {
  return choice.out === undefined && choice.kinds.length > 0 ? (line) => console.error(line) : log;
}

/** Writes summary.json and summary.md, and the reports chosen. */
export function writeReports(
  summaries: readonly ProtocolSummary[],
  summaryDir: string,
  choice: ReportChoice,
  log: (line: string) => void,
): void {
  mkdirSync(summaryDir, { recursive: true });
  writeFileSync(join(summaryDir, 'summary.json'), JSON.stringify(summaries, null, 2) + '\n');
  writeFileSync(join(summaryDir, 'summary.md'), summaryMarkdown(summaries));
  log(`summary: ${relative(process.cwd(), join(summaryDir, 'summary.md'))}`);
  for (const kind of choice.kinds) {
    const text = report(kind, summaries);
    if (choice.out === undefined) {
      process.stdout.write(text);
      continue;
    }
    mkdirSync(choice.out, { recursive: true });
    const file = join(choice.out, reporterFiles[kind]);
    writeFileSync(file, text);
    log(`${kind} report: ${relative(process.cwd(), file)}`);
  }
}

/** What draws progress: a cli-progress bar on a terminal, plain lines elsewhere (CI logs). */
export interface ProgressBar {
  start(total: number): void;
  update(done: number, line: string): void;
  stop(): void;
}

/** On a TTY, a cli-progress bar redrawn in place; elsewhere (CI), a line every tenth of the campaign. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (stream.isTTY) {
    const bar = new SingleBar(
      { stream, format: '{line}', hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    return {
      start: (count) => bar.start(count, 0, { line: '' }),
      update: (done, line) => bar.update(done, { line }),
      stop: () => bar.stop(),
    };
  }
  let total = 0;
  let every = 1;
  let lastShown = 0;
  return {
    start(count) {
      total = count;
      every = Math.max(1, Math.floor(count / 10));
    },
    update(done, line) {
      if (done - lastShown >= every || done === total) {
        lastShown = done;
        stream.write(`${line}\n`);
      }
    },
    stop() {},
  };
}

/** `60s`, `2m`, `500ms`, or plain seconds. */
export function parseDuration(text: string): number | undefined {
  return parseDurationMs(/^\d+$/.test(text.trim()) ? `${text.trim()}s` : text);
}

function barLine(protocol: string, done: number, total: number, failures: number, startedMs: number): string {
  const width = 24;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const seconds = Math.max(0.001, (performance.now() - startedMs) / 1_000);
  return `${protocol} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} runs, ${(done / seconds).toFixed(1)} runs/s, ${failures} failures`;
}

async function replay(
  file: string,
  canary: CanaryKind | undefined,
  engine: EngineKind,
  log: (line: string) => void,
): Promise<number> {
  const report = runScenario(withCanary(await loadScenarioWithPlugins(file), canary), { engine: engineOf(engine) });
  log(`${report.verdict === 'pass' ? 'PASS' : 'FAIL'} ${report.name} (seed ${report.seed})`);
  for (const result of report.results) if (!result.ok) log(`  x ${result.expectation}: ${result.message}`);
  return report.verdict === 'pass' ? 0 : 1;
}

export async function fuzzCommand(
  protocol: string,
  options: FuzzCommandOptions,
  log: (line: string) => void = console.log,
): Promise<number> {
  if (options.canary !== undefined && !(canaryKinds as readonly string[]).includes(options.canary))
    throw new UsageError(`--canary must be one of ${canaryKinds.join(', ')}`);
  const canary = options.canary as CanaryKind | undefined;
  const engine = options.engine ?? 'compiled';
  const choice = reportChoice(options.reporter, options.reporterOut);
  log = textLog(choice, log);
  if (options.replay !== undefined) return replay(options.replay, canary, engine, log);

  const nodeProcess = nodeProcessOf(protocol, options);
  const names = protocol === 'all' ? [...fuzzProfiles.keys()] : [protocol];
  if (options.profile !== undefined && protocol === 'all')
    throw new UsageError("--profile names one protocol's profile: give the protocol, not `all`");
  const profiles = names.map((name) => {
    const profile = fuzzProfileNamed(name);
    if (!profile) throw new UsageError(`no fuzz profile for \`${name}\` (known: ${protocolNames().join(', ')}, all)`);
    if (options.profile === undefined) return profile;
    const variant = fuzzProfileNamed(name, options.profile);
    if (!variant) {
      const known = Object.keys(profile.variants ?? {});
      throw new UsageError(
        `--profile: ${name} has no fuzz campaign for profile \`${options.profile}\` (${known.length > 0 ? `known: ${known.join(', ')}` : 'it has none'})`,
      );
    }
    return variant;
  });
  const shard = shardOf(options);
  let budgetMs: number | undefined;
  if (options.timeBudget !== undefined) {
    budgetMs = parseDuration(options.timeBudget);
    if (budgetMs === undefined) throw new UsageError('--time-budget must be a duration such as 60s, 2m or 500ms');
  }
  if (options.workers < 1) throw new UsageError('--workers must be at least 1');
  if (options.stopAfter !== undefined && options.stopAfter < 1) throw new UsageError('--stop-after must be at least 1');

  const summaries: ProtocolSummary[] = [];
  let failed = false;
  let broken = false;
  const budgetEndMs = budgetMs === undefined ? undefined : performance.now() + budgetMs;
  for (const profile of profiles) {
    // With several protocols, the budget is shared out evenly among those still to run.
    const remaining = profiles.length - summaries.length;
    const result = await fuzzProfile(profile, {
      options,
      shard,
      engine,
      canary,
      nodeProcess,
      budgetEndMs,
      remaining,
      log,
    });
    summaries.push(result.summary);
    if (result.failed) failed = true;
    if (result.broken) broken = true;
  }
  writeReports(summaries, options.summary, choice, log);
  return broken ? 3 : failed ? 1 : 0;
}

/** `--node-process`: the external process the nodes run as, if any. */
function nodeProcessOf(protocol: string, options: FuzzCommandOptions): ProcessSpec | undefined {
  if (options.nodeProcess === undefined) return undefined;
  if (protocol === 'all') throw new UsageError('--node-process runs one protocol: give its name, not `all`');
  const command = splitCommandLine(options.nodeProcess);
  if (command === undefined)
    throw new UsageError(`--node-process: no command in ${JSON.stringify(options.nodeProcess)} (or a quote left open)`);
  // The working directory is written into each counterexample, so that it replays from anywhere.
  return {
    command,
    cwd: process.cwd(),
    ...(options.processTimeoutMs === undefined ? {} : { stepTimeoutMs: options.processTimeoutMs }),
  };
}

/** `--shard` and `--shards`: which runs this process takes. */
function shardOf(options: FuzzCommandOptions): Shard {
  if (options.shard === true) {
    const read = shardFromEnv(process.env, options.shards);
    if ('problem' in read) throw new UsageError(read.problem);
    return read;
  } else if (options.shards !== undefined) {
    throw new UsageError('--shards goes with --shard given no value (JOB_COMPLETION_INDEX)');
  } else if (options.shard !== undefined) {
    const parsed = parseShard(options.shard);
    if (!parsed) throw new UsageError('--shard must be i/n with 0 <= i < n, such as 0/4');
    return parsed;
  }
  return { index: 0, count: 1 };
}

type FuzzProfile = NonNullable<ReturnType<typeof fuzzProfileNamed>>;
type CampaignOutcome = Awaited<ReturnType<typeof runCampaign>>;

interface ProfileContext {
  readonly options: FuzzCommandOptions;
  readonly shard: Shard;
  readonly engine: EngineKind;
  readonly canary: CanaryKind | undefined;
  readonly nodeProcess: ProcessSpec | undefined;
  readonly budgetEndMs: number | undefined;
  /** The protocols still to run, this one included: they share what is left of the budget. */
  readonly remaining: number;
  readonly log: (line: string) => void;
}

/** One protocol's campaign: runs it, writes its counterexamples, logs its lines and returns its summary. */
async function fuzzProfile(
  profile: FuzzProfile,
  context: ProfileContext,
): Promise<{ summary: ProtocolSummary; failed: boolean; broken: boolean }> {
  const { options, shard, engine, canary, nodeProcess, budgetEndMs, remaining, log } = context;
  let failed = false;
  let broken = false;
  const seeds = shardSeeds(options.seed, options.runs, shard);
  const bar = options.progress === false ? undefined : progressBar();
  const startedMs = performance.now();
  let done = 0;
  let failures = 0;
  bar?.start(seeds.length);
  const endMs = budgetEndMs === undefined ? undefined : startedMs + Math.max(0, budgetEndMs - startedMs) / remaining;
  const outcome = await runCampaign(profile, {
    seeds,
    workers: options.workers,
    ...(options.steer === true ? { steer: { pilot: pilotSeeds(options.seed, options.runs) } } : {}),
    run: {
      engine,
      ...(canary === undefined ? {} : { canary }),
      ...(nodeProcess === undefined ? {} : { nodeProcess }),
    },
    shouldStop: () =>
      (endMs !== undefined && performance.now() >= endMs) ||
      (options.stopAfter !== undefined && failures >= options.stopAfter),
    onResult: (result) => {
      done += 1;
      if (!result.ok) failures += 1;
      bar?.update(done, barLine(profile.protocol, done, seeds.length, failures, startedMs));
    },
  });
  bar?.stop();
  const wallMs = performance.now() - startedMs;
  const counterexamples = writeCounterexamples(profile, outcome, options.out, canary);
  if (counterexamples.length > 0) failed = true;
  for (const error of outcome.errors) {
    broken = true;
    log(`ERROR ${profile.protocol} seed ${error.seed}: ${error.message}`);
  }
  const runs = outcome.results.length;
  const coverage = mergeCoverage(
    outcome.results.flatMap((result) => (result.coverage === undefined ? [] : [result.coverage])),
    profile.sometimes ?? [],
  );
  if (logCoverage(profile, coverage, options, outcome, log)) failed = true;
  const summary: ProtocolSummary = {
    protocol: profile.protocol,
    ...(canary === undefined ? {} : { canary }),
    baseSeed: options.seed,
    shard: `${shard.index}/${shard.count}`,
    workers: options.workers,
    runs,
    seeds: outcome.results.map((result) => result.seed),
    failures: counterexamples.length,
    errors: outcome.errors.length,
    wallMs: Math.round(wallMs),
    runsPerSecond: runs / Math.max(0.001, wallMs / 1_000),
    counterexamples,
    coverage,
  };
  // Each failure signature once, with its count and smallest counterexample (groups.ts).
  for (const group of groupFailures([summary])) for (const line of groupLines(group)) log(line);
  log(
    `${profile.protocol}: ${runs} runs${outcome.stopped ? ' (time budget spent)' : ''}, ${summary.failures} failed, ${summary.runsPerSecond.toFixed(1)} runs/s, seeds ${seeds.join(',').length > 60 ? `${seeds[0]}..${seeds[seeds.length - 1]} step ${shard.count}` : seeds.join(',')}`,
  );
  return { summary, failed, broken };
}

/** Writes a counterexample file for each failed run; their summary entries. */
function writeCounterexamples(
  profile: FuzzProfile,
  outcome: CampaignOutcome,
  out: string,
  canary: CanaryKind | undefined,
): ProtocolSummary['counterexamples'][number][] {
  const counterexamples: ProtocolSummary['counterexamples'][number][] = [];
  for (const result of outcome.results) {
    if (result.failure === undefined) continue;
    const written = writeCounterexample(out, profile.protocol, result.failure, canary, profile.variant);
    const file = relative(process.cwd(), written.file);
    // A plugin's protocol is named by its module: the replay loads it again.
    const module = moduleOf(profile.protocol);
    const replayLine = written.replay.replace(written.file, file) + (module === undefined ? '' : ` --plugin ${module}`);
    counterexamples.push({
      seed: result.seed,
      file,
      replay: replayLine,
      steps: result.failure.source.steps?.length ?? 0,
      failures: result.failure.failures,
      shape: shapeOf(result.failure.source),
    });
  }
  return counterexamples;
}

/** Logs the coverage line; true when `--require-sometimes` fails the campaign. */
function logCoverage(
  profile: FuzzProfile,
  coverage: CampaignCoverage,
  options: FuzzCommandOptions,
  outcome: CampaignOutcome,
  log: (line: string) => void,
): boolean {
  const count = (
    pick: (m: CampaignCoverage['machines'][number]) => { reached: readonly string[]; never: readonly string[] },
  ) =>
    coverage.machines.reduce(
      (sum, m) => ({
        reached: sum.reached + pick(m).reached.length,
        all: sum.all + pick(m).reached.length + pick(m).never.length,
      }),
      { reached: 0, all: 0 },
    );
  const states = count((m) => m.states);
  const transitions = count((m) => m.transitions);
  const missed = coverage.sometimes.filter((s) => s.runs === 0).map((s) => s.name);
  const { gaps } = classifyCoverage(coverage);
  log(
    `${profile.protocol}: coverage ${states.reached}/${states.all} states, ${transitions.reached}/${transitions.all} transitions, ${gaps.length} not reached and not listed unreachable; sometimes ${coverage.sometimes.map((s) => `${s.name} ${s.runs}`).join(', ') || 'none'}`,
  );
  if (options.requireSometimes === true && missed.length > 0 && !outcome.stopped) {
    log(`FAIL ${profile.protocol}: never reached ${missed.join(', ')} (--require-sometimes)`);
    return true;
  }
  return false;
}

/**
 * `fedsim fuzz merge <summaries…>`: each a summary.json (or the directory holding one) of a
 * shard; writes the merged summary and reports as one run would. Exit as `fuzz` does.
 */
export function mergeCommand(
  paths: readonly string[],
  options: { readonly summary: string; readonly reporter?: readonly string[]; readonly reporterOut?: string },
  log: (line: string) => void = console.log,
): number {
  const choice = reportChoice(options.reporter, options.reporterOut);
  log = textLog(choice, log);
  if (paths.length === 0) throw new UsageError('fuzz merge needs at least one summary.json');
  const files = paths.map((path) => {
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'summary.json') : path;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new UsageError(
        `${file}: not a readable summary.json (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
      );
    }
    if (
      !Array.isArray(parsed) ||
      !parsed.every((s) => typeof s === 'object' && s !== null && Array.isArray((s as ProtocolSummary).seeds))
    )
      throw new UsageError(`${file}: not a fedsim fuzz summary (a list of protocol summaries)`);
    return { name: file, summaries: parsed as ProtocolSummary[] };
  });
  let merged: ProtocolSummary[];
  try {
    merged = mergeSummaries(files);
  } catch (error) {
    if (error instanceof MergeError) throw new UsageError(error.message);
    throw error;
  }
  for (const summary of merged) {
    for (const group of groupFailures([summary])) for (const line of groupLines(group)) log(line);
    log(
      `${summary.protocol}${summary.canary === undefined ? '' : ` (canary ${summary.canary})`}: ${summary.runs} runs from ${files.length} summaries, shard ${summary.shard}, ${summary.failures} failed, ${summary.errors} errors`,
    );
    if (summary.shard !== '0/1') log(`  warning: shards missing (have ${summary.shard})`);
  }
  writeReports(merged, options.summary, choice, log);
  return merged.some((s) => s.errors > 0) ? 3 : merged.some((s) => s.failures > 0) ? 1 : 0;
}
