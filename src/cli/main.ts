/**
 * The fedsim command line. Exit codes: 0 success, 1 a verdict failed (an expectation, a property),
 * 2 bad usage or bad input (the message names the file, line and field), 3 an internal error
 * (a bug in fedsim: the message says how to replay it).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { setMachineEngine, type MachineEngine } from '../engine/actor.js';
import { AssertionError, ScenarioError, UsageError } from '../core/errors.js';
import { fuzzCommand, type FuzzCommandOptions } from './fuzz.js';
import { conformCommand } from './conform.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { exportCommand, viewCommand, type ExportFormat, type ExportOptions } from './view-command.js';

function integer(what: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${what} is too large`);
    return value;
  };
}

/** `--engine`: which interpreter runs the machines (docs/engine.md); both give the same traces. */
function engineOption(): Option {
  return new Option('--engine <name>', "statechart engine: compiled tables, or xstate's interpreter (same traces)")
    .choices(['compiled', 'xstate'])
    .default('compiled');
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('fedsim')
    .description('Deterministic simulation and conformance testbed for federated messaging protocols')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('run')
    .description('run scenario files (or every scenario below a directory) and write their traces')
    .argument('<paths...>', 'scenario files or directories')
    .addOption(
      new Option('--seed <n>', "run with this seed instead of each scenario's own").argParser(integer('--seed')),
    )
    .option('--traces <dir>', 'where to write traces', 'reports/traces')
    .option('--no-traces', 'do not write traces')
    .option('--json', 'print a JSON summary instead of text', false)
    .addOption(engineOption())
    .action(
      (paths: string[], options: { seed?: number; traces: string | false; json: boolean; engine: MachineEngine }) => {
        setMachineEngine(options.engine);
        setExitCode(runCommand(paths, options));
      },
    );

  program
    .command('fuzz')
    .description(
      'fuzz a protocol with generated topologies, workloads and fault plans; shrink failures to scenario files',
    )
    .argument('<protocol>', 'a protocol (fmtp, f140, solec, bester, ambrosia) or `all`')
    .addOption(new Option('--runs <n>', 'runs in the campaign').argParser(integer('--runs')).default(100))
    .addOption(
      new Option('--seed <n>', 'fuzz seed of run 0 (run i uses seed + i)').argParser(integer('--seed')).default(1),
    )
    .addOption(new Option('--workers <n>', 'worker threads').argParser(integer('--workers')).default(1))
    .option('--shard <i/n>', 'run only the runs whose index is i modulo n')
    .option('--time-budget <duration>', 'stop starting runs after this long (60s, 2m)')
    .option('--canary <kind>', 'fuzz a deliberately broken variant: duplicate, drop or forge')
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
    .addOption(engineOption())
    .action(async (protocol: string, options: FuzzCommandOptions & { engine: MachineEngine }) => {
      setMachineEngine(options.engine);
      setExitCode(await fuzzCommand(protocol, options));
    });

  program
    .command('bench')
    .description('measure the simulator against a bare event loop; writes reports/bench/')
    .addOption(
      new Option('--scale <n>', 'work per measurement, as a multiple of the default')
        .argParser(integer('--scale'))
        .default(1),
    )
    .option('--out <dir>', 'where to write the figures', 'reports/bench')
    .action(async (options: { scale: number; out: string }) => {
      // Loaded only here: the bench brings in playwright-core, which every other command would pay for at start-up.
      const { runBench } = await import('../bench/run.js');
      await runBench({ scale: Math.max(1, options.scale), outDir: options.out });
      setExitCode(0);
    });

  program
    .command('view')
    .description('open a trace in the viewer: serves it on loopback and prints the URL')
    .argument('<trace>', 'a trace file (.ndjson), such as one under reports/traces/')
    .addOption(
      new Option('--port <n>', 'port to serve on (0 picks a free one)').argParser(integer('--port')).default(0),
    )
    .action(async (trace: string, options: { port: number }) => {
      setExitCode(await viewCommand(trace, options.port));
    });

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
    .action(async (trace: string, options: ExportOptions & { format: ExportFormat }) => {
      setExitCode(await exportCommand(trace, options.format, options));
    });

  program
    .command('serve')
    .description('run one built-in node on real sockets (see src/cli/serve.ts for the config file)')
    .argument('<protocol>', 'the protocol of the node')
    .requiredOption('--config <file>', "the node's config file (YAML or JSON)")
    .option('--trace <file>', "write the session's trace here on exit")
    .action(async (protocol: string, options: { config: string; trace?: string }) => {
      setExitCode(await serveCommand(protocol, { ...options, bind: '127.0.0.1' }));
    });

  program
    .command('conform')
    .description('run a conformance suite against the built-in node (simulator) or a server on a real socket')
    .argument('[protocol]', 'the protocol whose suite to run')
    .option('--all', 'run every suite against the built-in nodes', false)
    .option('--target <url>', 'an external server: http://127.0.0.1:8140 (F140) or tcp://host:port')
    .addOption(
      new Option('--timeout-ms <n>', 'how long a case waits for each answer').argParser(integer('--timeout-ms')),
    )
    .option('--out <dir>', 'where to write the reports', 'reports/conformance')
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
          nodeProcess?: string;
          processTimeoutMs?: number;
        },
      ) => {
        setExitCode(await conformCommand(protocol, options));
      },
    );

  return program;
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
