// The lookahead (src/sim/world.ts `scanAhead`) gives external node processes inputs ahead of their
// turn so that they compute in parallel; it must change nothing: the same runs give byte-identical
// traces with it on and off (the mixed example, fuzz runs with faults, runs that break the process
// protocol mid-prefetch), and it must really give inputs ahead (else these tests prove nothing).
import fc from 'fast-check';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/run.js';
import { compiledEngine } from '../../src/engine/engine.js';
import { campaignCommandOptions, planCommands } from '../../src/fuzz/commands/index.js';
import { judgePlan, planOf } from '../../src/fuzz/run-one.js';
import { f140Profile } from '../../src/protocols/f140/fuzz.js';
import { ProcessNode } from '../../src/process/node.js';
import { processLookahead } from '../../src/sim/world.js';

const root = new URL('../../', import.meta.url).pathname;
const fixtures = new URL('./fixtures/', import.meta.url).pathname;

/** Runs `run` with the lookahead off, then on: each result with the steps given ahead in it. */
async function offAndOn<T>(run: () => T | Promise<T>): Promise<{ off: T; on: T; aheadOff: number; aheadOn: number }> {
  const was = processLookahead.enabled;
  const start = Object.getOwnPropertyDescriptor(ProcessNode.prototype, 'start');
  const nodes: ProcessNode[] = [];
  const original = ProcessNode.prototype.start;
  ProcessNode.prototype.start = function (this: ProcessNode) {
    nodes.push(this);
    original.call(this);
  };
  const ahead = () => nodes.splice(0).reduce((sum, node) => sum + node.stepAheadCount, 0);
  try {
    processLookahead.enabled = false;
    const off = await run();
    const aheadOff = ahead();
    processLookahead.enabled = true;
    const on = await run();
    return { off, on, aheadOff, aheadOn: ahead() };
  } finally {
    processLookahead.enabled = was;
    if (start) Object.defineProperty(ProcessNode.prototype, 'start', start);
  }
}

describe('the lookahead for external node processes', () => {
  it('leaves the mixed example (built-in, JavaScript and Python nodes, a crash) byte-identical', async () => {
    const runs = await offAndOn(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fedsim-ahead-'));
      const lines: string[] = [];
      const code = await runCommand([join(root, 'examples/f140/mixed.yaml')], { traces: dir, json: false }, (line) =>
        lines.push(line),
      );
      return { code, trace: readFileSync(join(dir, 'examples', 'f140-mixed.ndjson'), 'utf8') };
    });
    const { off, on } = runs;
    expect(off.code).toBe(0);
    expect(on.trace).toBe(off.trace);
    expect(runs.aheadOff).toBe(0);
    expect(runs.aheadOn).toBeGreaterThan(0);
  }, 120_000);

  it('leaves fuzz runs with the JavaScript node, faults included, byte-identical (seed 20261206)', async () => {
    const command = { command: ['node', 'examples/f140-js/node.mjs'], cwd: root };
    const cases = fc.sample(
      fc.tuple(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        f140Profile.topology,
        planCommands(campaignCommandOptions(f140Profile)),
      ),
      { seed: 20_261_206, numRuns: 8 },
    );
    let faulted = 0;
    let ahead = 0;
    for (const [index, [simSeed, topology, commands]] of cases.entries()) {
      const runs = await offAndOn(() => {
        const plan = planOf(f140Profile, topology, commands);
        return judgePlan(plan, simSeed, `ahead-${index}`, undefined, compiledEngine, command).report.trace.text();
      });
      expect(runs.on, `case ${index} of seed 20261206 (sim seed ${simSeed})`).toBe(runs.off);
      if (/"kind":"(node\.crash|fault)"|partition|clog/.test(runs.off)) faulted += 1;
      ahead += runs.aheadOn;
    }
    expect(faulted).toBeGreaterThan(0);
    expect(ahead).toBeGreaterThan(0);
  }, 300_000);

  it.each([
    ['exit', 'exited with code 7 before its end-of-step'],
    ['garbage', 'wrote a line that is not JSON'],
    ['hang', 'gave no end-of-step within 1000ms'],
  ])(
    'a child that breaks the protocol on an input given ahead (%s): the same error, node, input and trace',
    async (mode, what) => {
      const dir = mkdtempSync(join(tmpdir(), 'fedsim-ahead-bad-'));
      copyFileSync(join(fixtures, 'bad-node.mjs'), join(dir, 'bad-node.mjs'));
      const file = join(dir, `two-${mode}.yaml`);
      writeFileSync(file, readFileSync(join(fixtures, 'two-nodes.yaml'), 'utf8').replaceAll('MODE', mode));
      const runs = await offAndOn(async () => {
        const traces = join(dir, 'traces');
        const lines: string[] = [];
        const code = await runCommand([file], { traces, json: false }, (line) => lines.push(line));
        return {
          code,
          out: lines.join('\n'),
          trace: readFileSync(join(traces, 'process', `two-${mode}.ndjson`), 'utf8'),
        };
      });
      const { off, on } = runs;
      expect(off.code).toBe(3);
      expect(off.out).toContain(what);
      expect(off.out).toContain('node b.test: external process "node bad-node.mjs');
      expect(off.out).toContain('"kind":"command","command":{"type":"ping","to":"nobody@a.test"}');
      expect(on.code).toBe(3);
      expect(on.out).toBe(off.out);
      expect(on.trace).toBe(off.trace);
      // b.test's command was given ahead, while a.test handled its own.
      expect(runs.aheadOn).toBe(1);
    },
    60_000,
  );
});
