// A child that breaks the process protocol stops the run with exit 3, a message naming the node,
// the input it was given and the offending line, and the trace up to that point. Never a hang.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/run.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;

async function runBad(mode: string): Promise<{ code: number; out: string; trace: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-bad-'));
  copyFileSync(join(fixtures, 'bad-node.mjs'), join(dir, 'bad-node.mjs'));
  const file = join(dir, `bad-${mode}.yaml`);
  writeFileSync(file, readFileSync(join(fixtures, 'bad.yaml'), 'utf8').replaceAll('MODE', mode));
  const lines: string[] = [];
  const code = await runCommand([file], { traces: join(dir, 'traces'), json: false }, (line) => lines.push(line));
  const trace = readFileSync(join(dir, 'traces', 'process', `bad-${mode}.ndjson`), 'utf8');
  return { code, out: lines.join('\n'), trace };
}

const commandInput = '"kind":"command","command":{"type":"ping","to":"nobody@b.test"}';

describe('an external process that breaks the process protocol', () => {
  it.each([
    ['exit', 'exited with code 7 before its end-of-step', '{"kind":"note","what":"about to break"}'],
    ['garbage', 'wrote a line that is not JSON', 'offending line: this is not json'],
    ['schema', 'wrote a line outside the process protocol', 'offending line: {"kind":"teleport","where":"away"}'],
    ['hang', 'gave no end-of-step within 1000ms', ''],
  ])('%s: exit 3, the node, the input and the line named, the trace so far written', async (mode, what, line) => {
    const { code, out, trace } = await runBad(mode);
    expect(code).toBe(3);
    expect(out).toContain('node a.test: external process "node bad-node.mjs');
    expect(out).toContain(what);
    expect(out).toContain(commandInput);
    expect(out).toContain(line);
    if (mode === 'exit') expect(out).toContain('its stderr ends: giving up');
    // The trace: the node started, took its command, and the run stopped with the failure recorded.
    expect(trace).toContain('"kind":"node.start"');
    expect(trace).toContain('"kind":"command"');
    expect(trace).toContain('"requirement":"process-protocol","verdict":"violation"');
    expect(trace.trimEnd().split('\n').at(-1)).toContain('"end":true');
  });
});
