/**
 * The fedsim command line. Exit codes: 0 success, 1 a verdict failed (an expectation, a property),
 * 2 bad usage or bad input (the message names the file, line and field), 3 an internal error
 * (a bug in fedsim: the message says how to replay it).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { engineKinds, type EngineKind } from '../engine/engine.js';
import { AssertionError, ScenarioError, UsageError } from '../core/errors.js';
import { fuzzCommand, mergeCommand, type FuzzCommandOptions } from './fuzz.js';
import { parseSeedRange, sweepSeedsMax } from '../scenario/sweep.js';
import { serveCommand } from './serve.js';
// run, view, export, conform and findings load their modules when they run (`await import` in
// their actions): every command pays for what it loads at start-up, a short fuzz campaign most.
import type { ExportFormat, ExportOptions } from './view-command.js';
import { knownProtocols, loadPlugins, pluginOption, protocolArgument } from './plugins.js';
import { serveConfigHelp, serveLimitsHelp } from './serve.js';
import { fedsimVersion } from './version.js';
import { scaleProtocols, type ScaleProtocol } from '../bench/scale-protocols.js';

function integer(what: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${what} is too large`);
    return value;
  };
}

/** A count that must be at least 1 (`--runs 0` is a mistake, not an empty campaign). */
function positiveInteger(what: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${what} is too large`);
    return value;
  };
}

/** `--federation-nodes`: positive node counts, comma-separated. */
function nodeCounts(text: string): number[] {
  const counts = text.split(',').map((each) => positiveInteger('--federation-nodes')(each.trim().replace(/_/g, '')));
  if (counts.some((count) => count < 4)) throw new InvalidArgumentError('--federation-nodes counts must be at least 4');
  return counts;
}

/** `--federation-protocols`: which protocols the one-hour federation rows run, comma-separated. */
function federationProtocols(text: string): ScaleProtocol[] {
  const names = text.split(',').map((each) => each.trim());
  for (const name of names)
    if (!(scaleProtocols as readonly string[]).includes(name))
      throw new InvalidArgumentError(
        `--federation-protocols takes ${scaleProtocols.join(' and/or ')}, not ${JSON.stringify(name)}`,
      );
  return [...new Set(names)] as ScaleProtocol[];
}

function seedRange(text: string): number[] {
  const seeds = parseSeedRange(text);
  if (seeds === undefined)
    throw new InvalidArgumentError(`--seeds takes A..B (A <= B, at most ${sweepSeedsMax} seeds) or one seed`);
  return seeds;
}

/** `--engine`: which interpreter runs the machines (docs/engine.md); both give the same traces. */
function engineOption(): Option {
  return new Option('--engine <name>', "statechart engine: compiled tables, or xstate's interpreter (same traces)")
    .choices(engineKinds)
    .default('compiled');
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('fedsim')
    .description('Deterministic simulation and conformance testbed for federated messaging protocols')
    .version(fedsimVersion(), '-V, --version', 'print the version')
    // A usage error is one line on standard error (`fedsim: ...`), never the help or a stack trace.
    .configureOutput({
      outputError: (text, write) => write(`fedsim: ${text.replace(/^error: /, '').trimEnd()}\n`),
    })
    .exitOverride()
    .action(() => {
      // `fedsim` alone: the help, and success.
      program.outputHelp();
      setExitCode(0);
    });
  // `--plugin <module>` on any command loads a protocol plugin before the command runs.
  program.hook('preAction', async (_program, command) => {
    await loadPlugins((command.opts() as { plugin?: string[] }).plugin);
  });

  addRunCommand(program, setExitCode);
  addFuzzCommand(program, setExitCode);
  addBenchCommand(program, setExitCode);
  addSoakCommand(program, setExitCode);
  addViewCommand(program, setExitCode);
  addExportCommand(program, setExitCode);
  addServeCommand(program, setExitCode);
  addConformCommand(program, setExitCode);
  addFindingsCommand(program, setExitCode);
  return program;
}

function addRunCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('run')
    .description('run scenario files (or every scenario below a directory) and write their traces')
    .argument('<paths...>', 'scenario files or directories')
    .addOption(
      new Option('--seed <n>', "run with this seed instead of each scenario's own").argParser(integer('--seed')),
    )
    .addOption(
      new Option(
        '--seeds <A..B>',
        'sweep: run every scenario on each seed from A to B and tally the verdicts (no traces)',
      ).argParser(seedRange),
    )
    .addOption(
      new Option('--workers <n>', 'worker threads for --seeds').argParser(positiveInteger('--workers')).default(1),
    )
    .option('--traces <dir>', 'where to write traces', 'reports/traces')
    .option('--no-traces', 'do not write traces')
    .option('--json', 'print a JSON summary instead of text', false)
    .addOption(engineOption())
    .addOption(pluginOption())
    .action(
      async (
        paths: string[],
        options: {
          seed?: number;
          seeds?: number[];
          workers: number;
          traces: string | false;
          json: boolean;
          engine: EngineKind;
        },
      ) => {
        const { runCommand, sweepCommand } = await import('./run.js');
        if (options.seeds === undefined) return setExitCode(await runCommand(paths, options));
        if (options.seed !== undefined) throw new UsageError('--seed and --seeds do not go together');
        setExitCode(
          await sweepCommand(paths, {
            seeds: options.seeds,
            workers: options.workers,
            json: options.json,
            engine: options.engine,
          }),
        );
      },
    );
}

function addFuzzCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('fuzz')
    .description(
      'fuzz a protocol with generated topologies, workloads and fault plans; shrink failures to scenario files',
    )
    .argument('<protocol>', `a protocol (${knownProtocols()}), a plugin module, \`all\`, or \`merge\``)
    .argument('[summaries...]', "with `merge`: the shards' summary.json files (or their directories)")
    .addOption(new Option('--runs <n>', 'runs in the campaign').argParser(positiveInteger('--runs')).default(100))
    .addOption(
      new Option('--seed <n>', 'fuzz seed of run 0 (run i uses seed + i)').argParser(integer('--seed')).default(1),
    )
    .addOption(new Option('--workers <n>', 'worker threads').argParser(positiveInteger('--workers')).default(1))
    .option(
      '--shard [i/n]',
      'run only the runs whose index is i modulo n; alone, from FEDSIM_SHARD=i/n or JOB_COMPLETION_INDEX',
    )
    .addOption(
      new Option('--shards <n>', 'the shard count with JOB_COMPLETION_INDEX (else FEDSIM_SHARDS)').argParser(
        positiveInteger('--shards'),
      ),
    )
    .option('--time-budget <duration>', 'stop starting runs after this long (60s, 2m)')
    .addOption(
      new Option('--stop-after <n>', 'stop starting runs after this many failed (a mutation campaign)').argParser(
        integer('--stop-after'),
      ),
    )
    .option('--require-sometimes', "fail a campaign that never reached one of its protocol's sometimes assertions")
    .option('--steer', 'steer generation towards rare statechart coverage, weighted from the first 100 runs')
    .option('--canary <kind>', 'fuzz a deliberately broken variant: duplicate, drop or forge')
    .option(
      '--profile <name>',
      'fuzz under this protocol profile (such as a faithful `seed`), with its attackers and flaw invariants',
    )
    .option('--replay <file>', 'run one counterexample file (with --canary, over that broken variant)')
    .option(
      '--node-process <command>',
      "run the protocol's nodes as this external process (docs/process-nodes.md), such as 'node my-node.mjs'",
    )
    .addOption(
      new Option('--process-timeout-ms <n>', 'wall-clock budget of one step of that process (default 5000)').argParser(
        integer('--process-timeout-ms'),
      ),
    )
    .option('--out <dir>', 'where counterexamples go', 'reports/counterexamples')
    .option('--summary <dir>', 'where the summary goes', 'reports/fuzz')
    .option('--no-progress', 'no progress line')
    .option(
      '--reporter <names>',
      'reports besides the text: junit, github, json (repeat it, or a comma list)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--reporter-out <dir>', 'write each report to a file here (junit.xml, github-annotations.txt, report.json)')
    .addOption(engineOption())
    .addOption(pluginOption())
    .action(async (protocol: string, summaries: string[], options: FuzzCommandOptions) => {
      if (protocol === 'merge') return setExitCode(mergeCommand(summaries, options));
      if (summaries.length > 0) throw new UsageError(`fuzz takes one protocol (got ${summaries.length + 1} arguments)`);
      setExitCode(await fuzzCommand(await protocolArgument(protocol), options));
    });
}

function addBenchCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('bench')
    .description('measure the simulator against a bare event loop; writes reports/bench/')
    .addOption(
      new Option('--scale <n>', 'work per measurement, as a multiple of the default')
        .argParser(positiveInteger('--scale'))
        .default(1),
    )
    .option('--out <dir>', 'where to write the figures', 'reports/bench')
    .addOption(
      new Option('--only <rows>', 'measure only these rows, print them and write nothing').choices([
        'viewer',
        'fuzz',
        'end-to-end',
        'scale',
      ]),
    )
    .addOption(
      new Option('--loads <n>', 'page loads the viewer rows take the median of')
        .argParser(integer('--loads'))
        .default(3),
    )
    .addOption(
      new Option(
        '--federation-nodes <list>',
        'node counts of the one-hour federation rows, comma-separated (default 1000,10000,100000; 1000000 takes minutes and up to 12 GiB)',
      ).argParser(nodeCounts),
    )
    .addOption(
      new Option(
        '--federation-protocols <list>',
        `protocols of the one-hour federation rows, comma-separated (default ${scaleProtocols.join(',')})`,
      ).argParser(federationProtocols),
    )
    .action(
      async (options: {
        scale: number;
        out: string;
        only?: 'viewer' | 'fuzz' | 'end-to-end' | 'scale';
        loads: number;
        federationNodes?: number[];
        federationProtocols?: ScaleProtocol[];
      }) => {
        // Loaded only here: the bench brings in playwright-core, which every other command would pay for at start-up.
        const { runBench } = await import('../bench/run.js');
        await runBench({
          scale: options.scale,
          outDir: options.out,
          viewerLoads: Math.max(1, options.loads),
          ...(options.only === undefined ? {} : { only: options.only }),
          ...(options.federationNodes === undefined ? {} : { federationNodes: options.federationNodes }),
          ...(options.federationProtocols === undefined ? {} : { federationProtocols: options.federationProtocols }),
        });
        setExitCode(0);
      },
    );
}

function addSoakCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('soak')
    .description('N concurrent loopback clients x M exchanges against `fedsim serve <protocol>` (docs/serve.md)')
    .argument('<protocol>', 'f140, solec, bester, fmtp or ambrosia')
    .addOption(new Option('--clients <n>', 'concurrent clients').argParser(integer('--clients')).default(100))
    .addOption(new Option('--messages <n>', 'exchanges per client').argParser(integer('--messages')).default(10))
    .addOption(
      new Option('--time-budget-ms <n>', 'stop after this long')
        .argParser(integer('--time-budget-ms'))
        .default(600_000),
    )
    .action(async (protocol: string, options: { clients: number; messages: number; timeBudgetMs: number }) => {
      const { soak } = await import('../bench/soak.js');
      if (!['f140', 'solec', 'bester', 'fmtp', 'ambrosia'].includes(protocol))
        throw new UsageError(`no soak for ${JSON.stringify(protocol)} (have: f140, solec, bester, fmtp, ambrosia)`);
      if (options.clients < 1 || options.clients > 5_000 || options.messages < 1 || options.messages > 10_000)
        throw new UsageError('--clients must be 1..5000 and --messages 1..10000');
      const result = await soak(protocol, options);
      const mb = (bytes: number): string => `${(bytes / 1_000_000).toFixed(0)} MB`;
      console.log(
        `${protocol}: ${result.clients} clients x ${result.messages}: delivered ${result.delivered}, lost ${result.lost} ${JSON.stringify(result.lostBy)}, ` +
          `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${(result.wallMs / 1000).toFixed(1)} s; ` +
          `RSS idle ${mb(result.idleRssBytes)} peak ${mb(result.peakRssBytes)}; descriptors idle ${result.idleFds} peak ${result.peakFds}`,
      );
      setExitCode(result.lost === 0 ? 0 : 1);
    });
}

function addViewCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('view')
    .description('open a trace in the viewer: serves it on loopback and prints the URL')
    .argument('<trace>', 'a trace file (.ndjson), such as one under reports/traces/')
    .addOption(
      new Option('--port <n>', 'port to serve on (0 picks a free one)').argParser(integer('--port')).default(0),
    )
    .addOption(pluginOption())
    .action(async (trace: string, options: { port: number }) => {
      const { viewCommand } = await import('./view-command.js');
      setExitCode(await viewCommand(trace, options.port));
    });
}

function addExportCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('export')
    .description("write a trace as a Mermaid sequence diagram or in ShiViz's log format")
    .argument('<trace>', 'a trace file (.ndjson)')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['mermaid', 'shiviz', 'svg', 'png'])
        .makeOptionMandatory(),
    )
    .option('-o, --out <file>', 'write here instead of standard output')
    .option('--no-state-notes', 'mermaid: leave out the notes for state changes')
    .addOption(
      new Option('--events-max <n>', 'mermaid: events shown before the cut (default 2000)').argParser(
        integer('--events-max'),
      ),
    )
    .option('--details', 'svg/png: unfold every lane (states, DNS, connections, notes)', false)
    .addOption(new Option('--width <px>', 'svg/png: picture width').argParser(integer('--width')))
    .addOption(pluginOption())
    .action(async (trace: string, options: ExportOptions & { format: ExportFormat }) => {
      const { exportCommand } = await import('./view-command.js');
      setExitCode(await exportCommand(trace, options.format, options));
    });
}

function addServeCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('serve')
    .description('run one node of a protocol on real sockets')
    .argument('<protocol>', `the protocol of the node (${knownProtocols()}) or a plugin module`)
    .requiredOption('--config <file>', "the node's config file (YAML or JSON; see below)")
    .option('--trace <file>', "stream the session's trace to this file (none is kept without it)")
    .addOption(pluginOption())
    .addHelpText('after', serveConfigHelp())
    .addHelpText('after', serveLimitsHelp())
    .action(async (protocol: string, options: { config: string; trace?: string }) => {
      setExitCode(await serveCommand(await protocolArgument(protocol), { ...options, bind: '127.0.0.1' }));
    });
}

function addConformCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('conform')
    .description('run a conformance suite against the built-in node (simulator) or a server on a real socket')
    .argument('[protocol]', 'the protocol whose suite to run, or a plugin module (none: list the protocols)')
    .option('--all', 'run every suite against the built-in nodes', false)
    .option('--target <url>', 'an external server: http://127.0.0.1:8140 (F140) or tcp://host:port')
    .addOption(
      new Option('--timeout-ms <n>', 'how long a case waits for each answer').argParser(integer('--timeout-ms')),
    )
    .option('--out <dir>', 'where to write the reports', 'reports/conformance')
    .addOption(engineOption())
    .addOption(pluginOption())
    .option('--robustness', 'run the robustness cases (docs/serve.md) instead of the suite', false)
    .option(
      '--full',
      "with --robustness: the issue's full counts (200 x 1 MiB partial frames, 1,100 half-open peers, 5,000 passwords; a built-in server under ulimit -n 1024)",
      false,
    )
    .option(
      '--node-process <command>',
      "run the suite in the simulator against an external process (docs/process-nodes.md), such as 'python3 node.py'",
    )
    .addOption(
      new Option('--process-timeout-ms <n>', 'wall-clock budget of one step of that process (default 5000)').argParser(
        integer('--process-timeout-ms'),
      ),
    )
    .action(
      async (
        protocol: string | undefined,
        options: {
          all: boolean;
          target?: string;
          timeoutMs?: number;
          out: string;
          engine: EngineKind;
          robustness: boolean;
          full: boolean;
          nodeProcess?: string;
          processTimeoutMs?: number;
        },
      ) => {
        const { conformCommand } = await import('./conform.js');
        setExitCode(
          await conformCommand(protocol === undefined ? undefined : await protocolArgument(protocol), options),
        );
      },
    );
}

function addFindingsCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('findings')
    .description("run each seed flaw's faithful/fixed scenario pair and write the findings report")
    .option('--out <dir>', 'where to write index.html, findings.json and the traces', 'reports/findings')
    .option('--scenarios <dir>', 'where the scenario pairs are', 'scenarios')
    .action(async (options: { out: string; scenarios: string }) => {
      const { findingsCommand } = await import('./findings.js');
      setExitCode(findingsCommand(options));
    });
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; everything else commander reports is a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof ScenarioError) {
      console.error(
        error.problems
          .map((p) => (p.file === '' ? p.message : `${p.file}:${p.line}:${p.column}: ${p.message}`))
          .join('\n'),
      );
      return 2;
    }
    if (error instanceof UsageError) {
      console.error(`fedsim: ${error.message}`);
      return 2;
    }
    if (error instanceof AssertionError) {
      console.error(`fedsim: internal error (a bug in fedsim, not in your input): ${error.message}`);
      console.error(error.stack);
      return 3;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
