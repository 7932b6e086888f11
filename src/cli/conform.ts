/**
 * `fedsim conform <protocol> [--target URL] [--timeout-ms N]` and `fedsim conform --all`: runs a
 * protocol's conformance suite against the built-in node in the simulator (default) or an external server
 * on a real socket, prints one line per case, and writes reports/conformance/<protocol>.{json,html}, the
 * index page and each case's trace. With `--node-process '<command>'` the suite runs in the simulator
 * against that external process (docs/process-nodes.md), control-channel cases included. Exit 0 when
 * no case FAILED, 1 when a MUST failed, 2 on bad usage, 3 when the external process broke the process
 * protocol.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ProcessNodeError, UsageError } from '../core/errors.js';
import { engineOf, type EngineKind } from '../engine/engine.js';
import { builtinNode, robustnessAdapters } from '../conformance/robustness-adapters.js';
import { runRobustness, serveBuiltin } from '../conformance/robustness.js';
import { splitCommandLine } from '../process/command-line.js';
import { processProtocol } from '../process/node.js';
import {
  parseTargetUrl,
  runSuite,
  suiteFor,
  suiteNames,
  writeReports,
  type SuiteReport,
  type TargetSpec,
} from '../conformance/index.js';

export interface ConformOptions {
  readonly all: boolean;
  readonly target?: string;
  readonly timeoutMs?: number;
  readonly out: string;
  /** The statechart engine of the built-in node. @defaultValue 'compiled' */
  readonly engine?: EngineKind;
  /** Run the robustness cases (robustness.ts) instead of the suite. */
  readonly robustness?: boolean;
  /** With `robustness`: the attacks at issue 22's full counts (`robustnessFullCounts`). */
  readonly full?: boolean;
  /** Run the suite in the simulator against this external process (docs/process-nodes.md) instead of the built-in node. */
  readonly nodeProcess?: string;
  /** The wall-clock budget of one step of that process. */
  readonly processTimeoutMs?: number;
}

/** Short host limits for the built-in server under the robustness cases, so each case takes seconds. */
export const robustnessServeLimits = {
  partialFrameMs: 1_000,
  idleMs: 3_000,
  lingerMs: 500,
  outputPendingMax: 256 * 1024,
};

/**
 * `--robustness --full`: issue 22's attacks at their full counts (npm test runs smaller ones): 200
 * connections each holding a partial 1 MiB frame, 1,100 half-open peers against a built-in server
 * limited to 1,024 descriptors (`robustnessFullOpenFiles`), 5,000 wrong passwords, 100 MB pushed at
 * a server by a peer that never reads. Recovery gets 30 s.
 */
export const robustnessFullCounts = {
  floodCount: 200,
  floodBytes: 1024 * 1024,
  halfOpenCount: 1_100,
  guesses: 5_000,
  bruteForceMs: 120_000,
  neverReadBytes: 100 * 1024 * 1024,
  closeMs: 10_000,
  recoverMs: 30_000,
};
export const robustnessFullOpenFiles = 1_024;

/** `fedsim conform <protocol> --robustness [--full] [--target URL]`: the robustness cases against one server. */
async function robustnessCommand(
  protocol: string,
  options: ConformOptions,
  log: (line: string) => void,
): Promise<number> {
  const adapter = robustnessAdapters[protocol];
  if (!adapter) throw new UsageError(`no robustness adapter for ${JSON.stringify(protocol)}`);
  let target: { host: string; port: number } | undefined;
  if (options.target !== undefined) {
    const match = /^[a-z]+:\/\/([^/:]+):(\d{1,5})\/?$/.exec(options.target);
    if (!match) throw new UsageError(`--target must look like tcp://127.0.0.1:${adapter.port}`);
    target = { host: match[1] ?? '', port: Number(match[2]) };
  }
  const served = target
    ? undefined
    : await serveBuiltin(
        protocol,
        await builtinNode(protocol),
        robustnessServeLimits,
        undefined,
        options.full ? robustnessFullOpenFiles : undefined,
      );
  try {
    log(
      `${adapter.title} robustness against ${target ? options.target : `the built-in server (fedsim serve, pid ${served?.pid})`}`,
    );
    const report = await runRobustness(adapter, {
      host: target?.host ?? '127.0.0.1',
      port: target?.port ?? served?.port ?? 0,
      ...(served ? { pid: served.pid, closeMs: 5_000 } : {}),
      ...(options.full ? robustnessFullCounts : {}),
      ...(options.timeoutMs === undefined ? {} : { answerMs: options.timeoutMs }),
      onResult: (r) => {
        log(`  ${r.verdict.padEnd(13)} ${r.id}: ${r.title}`);
        log(`      ${r.message}`);
      },
    });
    const file = join(options.out, 'robustness', `${protocol}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    log(`report: ${file}`);
    return report.results.some((r) => r.verdict === 'FAILED' && r.level === 'MUST') ? 1 : 0;
  } finally {
    await served?.stop();
  }
}

function earlierReports(dir: string, except: readonly string[]): SuiteReport[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  const reports: SuiteReport[] = [];
  for (const name of names.sort()) {
    const protocol = name.slice(0, -'.json'.length);
    if (except.includes(protocol) || !suiteNames().includes(protocol)) continue;
    try {
      reports.push(JSON.parse(readFileSync(join(dir, name), 'utf8')) as SuiteReport);
    } catch {
      // A report someone broke by hand is left out of the index, not fatal.
    }
  }
  return reports;
}

export async function conformCommand(
  protocol: string | undefined,
  options: ConformOptions,
  log: (line: string) => void = console.log,
): Promise<number> {
  if (options.full && !options.robustness) throw new UsageError('--full goes with --robustness');
  if (options.robustness) {
    if (protocol === undefined || options.all) throw new UsageError('--robustness runs against one protocol: give it');
    return robustnessCommand(protocol, options, log);
  }
  if (!options.all && protocol === undefined) {
    log(`protocols with a conformance suite: ${suiteNames().join(', ')}`);
    log('run one with `fedsim conform <protocol>`, or every one with `fedsim conform --all`');
    return 0;
  }
  if (options.all && protocol !== undefined)
    throw new UsageError(`give a protocol (${suiteNames().join(', ')}) or --all, not both`);
  if (options.all && options.target !== undefined)
    throw new UsageError('--target names one server: give its protocol, not --all');
  if (options.nodeProcess !== undefined && (options.all || options.target !== undefined))
    throw new UsageError('--node-process runs one protocol in the simulator: give its protocol, not --all or --target');
  const command = options.nodeProcess === undefined ? undefined : splitCommandLine(options.nodeProcess);
  if (options.nodeProcess !== undefined && command === undefined)
    throw new UsageError(`--node-process: no command in ${JSON.stringify(options.nodeProcess)} (or a quote left open)`);
  const names = options.all ? suiteNames() : [protocol ?? ''];
  for (const name of names) {
    if (!suiteNames().includes(name))
      throw new UsageError(`no conformance suite for ${JSON.stringify(name)} (have: ${suiteNames().join(', ')})`);
  }
  const reports: SuiteReport[] = [];
  let mustFailed = false;
  for (const name of names) {
    const suite = await suiteFor(name);
    if (!suite) continue;
    let spec: TargetSpec = { kind: 'sim' };
    if (options.target !== undefined) {
      const parsed = parseTargetUrl(suite, options.target);
      if (!parsed)
        throw new UsageError(`--target for ${name} must look like ${suite.scheme}://127.0.0.1:${suite.target.port}`);
      spec = parsed;
    }
    if (command !== undefined) {
      spec = {
        kind: 'sim',
        protocol: processProtocol(suite.builtin, {
          command,
          ...(options.processTimeoutMs === undefined ? {} : { stepTimeoutMs: options.processTimeoutMs }),
        }),
      };
    }
    const traceDir = join(options.out, 'traces', name);
    rmSync(traceDir, { recursive: true, force: true });
    const against =
      spec.kind === 'external'
        ? spec.url
        : command !== undefined
          ? `the external process ${command.join(' ')} (simulator)`
          : 'the built-in node (simulator)';
    log(`${suite.title} conformance against ${against}`);
    let report: SuiteReport;
    try {
      report = await runSuite(suite, spec, {
        traceDir,
        reportDir: options.out,
        engine: engineOf(options.engine ?? 'compiled'),
        ...(options.timeoutMs === undefined ? {} : { answerMs: options.timeoutMs }),
        writeTrace: (path, text) => {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, text);
        },
        onResult: (r) => {
          log(`  ${r.verdict.padEnd(13)} ${r.id}: ${r.title}`);
          if (r.verdict === 'FAILED' || r.verdict === 'NON-STRICT') {
            log(`      ${r.message}`);
            if (r.expected !== undefined) log(`      expected: ${r.expected}`);
            if (r.actual !== undefined) log(`      actual:   ${r.actual}`);
          }
        },
      });
    } catch (error) {
      if (!(error instanceof ProcessNodeError)) throw error;
      log(`ERROR ${error.message}`);
      log(`  traces up to the failure: ${traceDir}`);
      return 3;
    }
    const counts = Object.entries(report.counts)
      .map(([verdict, n]) => `${n} ${verdict}`)
      .join(', ');
    log(`  ${counts}`);
    if (report.results.some((r) => r.verdict === 'FAILED' && r.level === 'MUST')) mustFailed = true;
    reports.push(report);
  }
  const index = [...reports, ...earlierReports(options.out, names)].sort((a, b) =>
    a.protocol.localeCompare(b.protocol),
  );
  writeReports(options.out, reports, index);
  log(`reports: ${join(options.out, 'index.html')}`);
  return mustFailed ? 1 : 0;
}
