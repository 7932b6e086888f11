// Goal: the bench's floor rows (src/bench/process-floor.ts) replay what the run wrote, step for
// step: every step of the run is recorded once, in order, with the store answers inside the step
// that asked; the channel is left as it was, even when the run throws; a replay runs every step
// after the last start to its end-of-step, one at a time or several at once, against the real
// example node and against children that only answer; a child that stops is an error naming the step. No figure is asserted (figures
// belong to the bench).
import { describe, expect, it } from 'vitest';
import { echoCommand, recording, replay } from '../../src/bench/process-floor.js';
import { externalNodes, processNodeSteps } from '../../src/bench/process-nodes.js';
import { ProcessChannel } from '../../src/process/channel.js';
import { inputSchemas } from '../../src/process/schema.js';
import { processLookahead } from '../../src/sim/world.js';

const root = new URL('../..', import.meta.url).pathname;

function recordedRun(messages: number) {
  const was = processLookahead.enabled;
  processLookahead.enabled = false;
  try {
    let run: ReturnType<typeof processNodeSteps> | undefined;
    const recorded = recording(() => (run = processNodeSteps('javascript', messages)));
    if (run === undefined) throw new Error('no run');
    return { run, recorded };
  } finally {
    processLookahead.enabled = was;
  }
}

describe('bench: the floor of an external node', () => {
  it('records every step of the run once, the store answers inside the start that asked', () => {
    const write = ProcessChannel.prototype.write;
    const { run, recorded } = recordedRun(30);
    expect(ProcessChannel.prototype.write).toBe(write);
    expect(recorded.children).toBe(run.starts);
    // The run counts each child's stop step too; the recording leaves them out.
    expect(recorded.steps.length).toBe(run.steps - run.starts);
    for (const step of recorded.steps) {
      expect(step.child).toBeGreaterThanOrEqual(0);
      expect(step.child).toBeLessThan(recorded.children);
      const input = JSON.parse(step.lines[0] as string) as { kind: string };
      expect(inputSchemas[input.kind as keyof typeof inputSchemas]?.safeParse(input).success).toBe(true);
      expect(['stop', 'store.value', 'store.keys', 'conn.buffered']).not.toContain(input.kind);
      for (const answer of step.lines.slice(1)) expect(answer).toMatch(/^\{"kind":"(store\.|conn\.buffered")/);
    }
    const starts = recorded.steps.filter((step) => step.lines[0]?.startsWith('{"kind":"start"'));
    expect(starts.map((step) => step.child).sort()).toEqual([0, 1, 2]);
    // The example reads its store at its start: the answer travels with the start.
    expect(starts.every((step) => step.lines.length === 2 && step.lines[1]?.startsWith('{"kind":"store.keys"'))).toBe(
      true,
    );
    // Steps after the starts are the run's steady part, 5 or so per message.
    expect(recorded.steps.length).toBeGreaterThan(30 * 4);
  }, 120_000);

  it('puts the channel back when the run throws', () => {
    const write = ProcessChannel.prototype.write;
    expect(() =>
      recording(() => {
        throw new Error('the run failed');
      }),
    ).toThrow('the run failed');
    expect(ProcessChannel.prototype.write).toBe(write);
  });

  it('replays every step after the last start, to the example node (one at a time and four at a time) and to children that only answer', () => {
    const { recorded } = recordedRun(30);
    const lastStart = recorded.steps.findLastIndex((step) => step.lines[0]?.startsWith('{"kind":"start"'));
    const javascript = externalNodes['javascript'];
    if (javascript === undefined) throw new Error('no javascript node');
    for (const [command, batch] of [
      [javascript.command, 1],
      [javascript.command, 4],
      [echoCommand, 1],
    ] as const) {
      const floor = replay(recorded, command, root, batch);
      expect(floor.steps).toBe(recorded.steps.length - lastStart - 1);
      expect(floor.seconds).toBeGreaterThan(0);
      expect(floor.hostCpuSeconds).toBeGreaterThan(0);
    }
  }, 120_000);

  it('names the step at which a replayed child stopped', () => {
    const recorded = {
      children: 1,
      steps: [{ child: 0, lines: ['{"kind":"timer","id":"t","now":0}'] }],
    };
    expect(() => replay(recorded, [process.execPath, '-e', 'process.exit(3)'], root)).toThrow(
      /a replayed child stopped at step 0: .*exited with code 3/,
    );
  }, 30_000);
});
