/**
 * The floor of an external node's step rate on this machine: the bench's run of external F140
 * nodes (process-nodes.ts) with fedsim's own work taken out. A run is recorded (every line fedsim
 * wrote to each child, in the run's serial order), then replayed to fresh children of the same
 * command through the same channel (src/process/channel.ts, the same placement), one step after
 * another, each answer read to its end-of-step and dropped: a host that simulates nothing. So the
 * floor is what the child's own work and the exchange cost, and a node step of the bench can be
 * read as a share of it, measured minutes apart at most on a machine whose speed changes by the
 * minute. The same replay to children that answer each input with end-of-step at once gives the
 * exchange alone.
 *
 * Wall clock is allowed here (benchmarks only); nothing here runs inside a simulation.
 */
import { performance } from 'node:perf_hooks';
import { ProcessChannel } from '../process/channel.js';

/** One step of a recorded run: which child (in order of first use) and the lines written to it. */
export interface RecordedStep {
  readonly child: number;
  /** The input line, then any store answers the child asked for inside the step. */
  readonly lines: readonly string[];
}

export interface Recording {
  /** How many children the run had. */
  readonly children: number;
  readonly steps: readonly RecordedStep[];
}

/** How the host's answers inside a step begin (store.value, store.keys, conn.buffered): the other lines are inputs. */
const answerStarts: readonly string[] = ['{"kind":"store.', '{"kind":"conn.buffered"'];
const isAnswer = (line: string): boolean => answerStarts.some((start) => line.startsWith(start));

/**
 * Runs `run` with every line written to a child process recorded. The channel is wrapped for the
 * call's length only (the bench's own measuring, like the step counters of process-nodes.ts). The
 * world's lookahead should be off, so that the lines come in the run's serial order; the `stop`
 * steps are left out (they end the run).
 */
export function recording(run: () => void): Recording {
  const index = new Map<ProcessChannel, number>();
  const steps: { child: number; lines: string[] }[] = [];
  const write = ProcessChannel.prototype.write;
  ProcessChannel.prototype.write = function (this: ProcessChannel, line: string): boolean {
    let child = index.get(this);
    if (child === undefined) {
      child = index.size;
      index.set(this, child);
    }
    const last = steps[steps.length - 1];
    // An answer belongs to the step that asked (the child waits for it inside that step).
    if (isAnswer(line) && last?.child === child) last.lines.push(line);
    else if (!line.startsWith('{"kind":"stop"')) steps.push({ child, lines: [line] });
    return write.call(this, line);
  };
  try {
    run();
  } finally {
    ProcessChannel.prototype.write = write;
  }
  return { children: index.size, steps };
}

export interface Replay {
  /** Steps timed: those after the last child's start step. */
  readonly steps: number;
  readonly seconds: number;
  /** CPU seconds of those steps: this process's (user + system), and the children's (/proc; 0 elsewhere). */
  readonly hostCpuSeconds: number;
  readonly childCpuSeconds: number;
}

/**
 * A child that answers every input line with end-of-step at once (and the host's answers with nothing):
 * the exchange alone.
 */
export const echoCommand: readonly string[] = [
  process.execPath,
  '-e',
  [
    "const fs = require('fs');",
    'const chunk = Buffer.alloc(65536);',
    "let pending = '';",
    'for (;;) {',
    '  const count = fs.readSync(0, chunk, 0, chunk.length, null);',
    '  if (count === 0) break;',
    "  pending += chunk.toString('utf8', 0, count);",
    "  let out = '';",
    "  for (let nl = pending.indexOf('\\n'); nl >= 0; nl = pending.indexOf('\\n')) {",
    '    const line = pending.slice(0, nl);',
    '    pending = pending.slice(nl + 1);',
    `    if (!${JSON.stringify(answerStarts)}.some((start) => line.startsWith(start))) out += '{"kind":"end"}\\n';`,
    '  }',
    '  if (out) fs.writeSync(1, out);',
    '}',
  ].join('\n'),
];

/** The longest a replayed step may take before the child is deemed stuck (wall ms). */
const stepBudgetMs = 10_000;

/**
 * Replays `recorded` to fresh children running `command` (in `cwd`), one step after another, and
 * times the steps after the last start. A step's answer is read to its end-of-step and dropped;
 * a question of the child's inside it is answered from the recording, which was written with the
 * input. With `batch` over 1, the timed steps go `batch` at a time: every child's lines of the
 * batch in one write, then the answers read in order (the most a protocol that hands a node
 * several inputs at once could give).
 */
export function replay(recorded: Recording, command: readonly string[], cwd: string, batch = 1): Replay {
  const channels: ProcessChannel[] = [];
  try {
    for (let i = 0; i < recorded.children; i++) channels.push(new ProcessChannel({ command, cwd }));
    const steps = recorded.steps;
    let lastStart = -1;
    steps.forEach((step, at) => {
      if (step.lines[0]?.startsWith('{"kind":"start"')) lastStart = at;
    });
    const childCpu = (): number => channels.reduce((sum, channel) => sum + channel.childCpuSeconds(), 0);
    const readEnd = (channel: ProcessChannel, at: number): void => {
      for (;;) {
        const line = channel.readLine();
        if (typeof line !== 'string')
          throw new Error(`a replayed child stopped at step ${at}: ${JSON.stringify(line)}`);
        if (line === '{"kind":"end"}') return;
      }
    };
    // The exchanges are put together before the clock starts: the timed loop only writes and reads.
    const exchanges: {
      readonly writes: readonly [ProcessChannel, string][];
      readonly from: number;
      readonly to: number;
    }[] = [];
    for (let at = 0; at < steps.length;) {
      // Up to the last start one by one, so that the timed part begins at an exchange.
      const to = Math.min(at + (at <= lastStart ? 1 : batch), steps.length);
      const byChild = new Map<number, string[]>();
      for (const step of steps.slice(at, to))
        byChild.set(step.child, [...(byChild.get(step.child) ?? []), ...step.lines]);
      exchanges.push({
        writes: [...byChild].map(([child, lines]) => [channels[child] as ProcessChannel, lines.join('\n')]),
        from: at,
        to,
      });
      at = to;
    }
    let startedMs = 0;
    let cpuAtStart = process.cpuUsage();
    let childCpuAtStart = 0;
    for (const { writes, from, to } of exchanges) {
      if (from === lastStart + 1) {
        startedMs = performance.now();
        cpuAtStart = process.cpuUsage();
        childCpuAtStart = childCpu();
      }
      for (const [channel, text] of writes) {
        channel.arm(stepBudgetMs);
        channel.write(text);
      }
      for (let i = from; i < to; i++) readEnd(channels[(steps[i] as RecordedStep).child] as ProcessChannel, i);
      for (const [channel] of writes) channel.disarm();
    }
    const seconds = (performance.now() - startedMs) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    return {
      steps: steps.length - lastStart - 1,
      seconds,
      hostCpuSeconds: (cpu.user + cpu.system) / 1e6,
      childCpuSeconds: childCpu() - childCpuAtStart,
    };
  } finally {
    for (const channel of channels) channel.close();
  }
}
