// Goal: no input crashes the loader. Alias bombs, huge files, random bytes, deep nesting and
// files with many mistakes at once all end in located problems (a ScenarioError, exit 2), never
// another exception, and nothing from the file is echoed unescaped.
// Method: hand-made hostile files, then 400 seeded mutations of the bundled scenarios (the seed
// of a failure is in the assertion message).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioFiles } from '../../src/cli/run.js';
import { ScenarioError, formatProblem } from '../../src/core/errors.js';
import { limits } from '../../src/core/limits.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { fedsim, root } from '../support/fedsim.js';

const scratch = mkdtempSync(join(tmpdir(), 'fedsim-loader-'));

/** The formatted problems of loading `file`, or of parsing `text`; fails if it loads. */
function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a ScenarioError');
}

/** Printable ASCII and ordinary non-ASCII letters only: no control characters, no raw bytes. */
const printableLine = /^[^\p{Cc}\p{Cf}\p{Cs}\ufffd]*$/u;

function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

describe('scenario: a loader no input can crash', () => {
  it('refuses an alias bomb at its first alias, within the alias limit', () => {
    let text = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
    let previous = 'a';
    for (let i = 0; i < 10; i++) {
      text += `b${i}: &b${i} [${Array.from({ length: 9 }, () => `*${previous}`).join(', ')}]\n`;
      previous = `b${i}`;
    }
    expect(problems(() => parseScenario(text, 'bomb.yaml'))).toEqual([
      `bomb.yaml:2:10: aliases expand too far (more than ${limits.yamlAliasCountMax} times; limits.yamlAliasCountMax)`,
    ]);
  });

  it('refuses a 50 MB file from its size, without reading it', () => {
    const file = join(scratch, 'big.yaml');
    const line = '  n.test: { config: { idleMs: 100 } }\n';
    writeFileSync(file, 'name: x\nnodes:\n' + line.repeat(Math.ceil((50 * 1024 * 1024) / line.length)));
    const [only, ...rest] = problems(() => loadScenario(file));
    expect(rest).toEqual([]);
    expect(only).toMatch(
      new RegExp(`^${file}:1:1: the file is \\d+ bytes; a scenario file may be at most ${limits.scenarioFileBytesMax}`),
    );
  });

  it('reports random bytes in one line, located, without echoing them', () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      const bytes = Buffer.from(Array.from({ length: 20_000 }, () => Math.floor(next() * 256)));
      const file = join(scratch, `random-${seed}.yaml`);
      writeFileSync(file, bytes);
      const found = problems(() => loadScenario(file));
      expect(found, `seed ${seed}`).toHaveLength(1);
      expect(found[0], `seed ${seed}`).toMatch(
        /^.*:\d+:\d+: not a text file \((a NUL byte|bytes that are not UTF-8) at byte \d+\)/,
      );
    }
    const file = join(scratch, 'latin1.yaml');
    writeFileSync(file, Buffer.from('name: caf\xe9\n', 'latin1'));
    expect(problems(() => loadScenario(file))).toEqual([
      `${file}:1:10: not a text file (bytes that are not UTF-8 at byte 9); a scenario is YAML or JSON text in UTF-8`,
    ]);
  });

  it('refuses nesting past the depth limit, in flow and in block style', () => {
    const flow = 'name: x\nsteps: ' + '['.repeat(5000) + ']'.repeat(5000) + '\n';
    expect(problems(() => parseScenario(flow, 'flow.yaml'))[0]).toMatch(
      /^flow\.yaml:2:\d+: not valid YAML: nested too deeply/,
    );
    const flat = 'name: x\nsteps: ' + '['.repeat(100) + ']'.repeat(100) + '\n';
    expect(problems(() => parseScenario(flat, 'flat.yaml'))).toEqual([
      `flat.yaml:2:71: nested more than ${limits.yamlDepthMax} levels deep (limits.yamlDepthMax)`,
    ]);
    let block = 'name: x\nnodes:\n';
    for (let i = 0; i < 200; i++) block += `${' '.repeat(i + 1)}k${i}:\n`;
    expect(problems(() => parseScenario(block, 'block.yaml'))).toEqual([
      `block.yaml:66:65: nested more than ${limits.yamlDepthMax} levels deep (limits.yamlDepthMax)`,
    ]);
  });

  it('lists an unknown protocol with every other problem, and escapes what it echoes', () => {
    const text = [
      'name: x',
      'protocol: ecko',
      'seed: one',
      'nodes: { a.test: { protocol: fmpt } }',
      'limits: { timeMsMax: 10, eventsMax: 10, "ex\\u001btra": 1 }',
    ].join('\n');
    expect(problems(() => parseScenario(text, 'bad.yaml'))).toEqual([
      'bad.yaml:3:7: seed: Invalid input: expected number, received string',
      'bad.yaml:5:41: limits.ex\\u{1b}tra: unknown key `ex\\u{1b}tra`',
      'bad.yaml:2:11: protocol: unknown protocol `ecko` (known: echo, fmtp, f140, solec, bester, ambrosia)',
      'bad.yaml:4:30: nodes.a.test.protocol: unknown protocol `fmpt` (known: echo, fmtp, f140, solec, bester, ambrosia)',
    ]);
  });

  it('never throws anything but located problems on 400 mutations of the bundled scenarios', () => {
    const texts = scenarioFiles([join(root, 'scenarios')]).map((file) => readFileSync(file));
    for (let seed = 1; seed <= 400; seed++) {
      const next = random(seed);
      const source = texts[Math.floor(next() * texts.length)] ?? Buffer.alloc(0);
      const bytes = Buffer.from(source);
      const how = Math.floor(next() * 4);
      let mutated: Buffer;
      if (how === 0) {
        for (let i = 0; i < 1 + Math.floor(next() * 8); i++) {
          const at = Math.floor(next() * bytes.length);
          bytes[at] = Math.floor(next() * 256);
        }
        mutated = bytes;
      } else if (how === 1) mutated = bytes.subarray(0, Math.floor(next() * bytes.length));
      else if (how === 2) {
        const lines = bytes.toString('utf8').split('\n');
        lines.splice(Math.floor(next() * lines.length), 1 + Math.floor(next() * 3));
        mutated = Buffer.from(lines.join('\n'));
      } else {
        const at = Math.floor(next() * bytes.length);
        const insert =
          ['&a', '*a', '<<: *a', '{', '[', ': :', '\t', '"', "'", '!!binary', '? ', '- '][Math.floor(next() * 12)] ??
          '';
        mutated = Buffer.concat([bytes.subarray(0, at), Buffer.from(insert), bytes.subarray(at)]);
      }
      const file = join(scratch, 'mutant.yaml');
      writeFileSync(file, mutated);
      let found: string[] = [];
      try {
        loadScenario(file);
      } catch (error) {
        expect(error, `seed ${seed}`).toBeInstanceOf(ScenarioError);
        found = (error as ScenarioError).problems.map(formatProblem);
      }
      for (const line of found) {
        expect(line, `seed ${seed}`).toMatch(printableLine);
        expect(line, `seed ${seed}`).toMatch(/^.+:\d+:\d+: /);
      }
    }
  });

  it('the command: exit 2, no stack trace, and a directory run goes on past a bad file', () => {
    const dir = mkdtempSync(join(scratch, 'dir-'));
    writeFileSync(join(dir, 'a-bad.yaml'), 'a: &a [x]\nb: [*a, *a, *a]\nname: [\n');
    writeFileSync(join(dir, 'b-good.yaml'), readFileSync(join(root, 'scenarios/echo/round-trip.yaml')));
    const result = fedsim('run', dir, '--no-traces');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/a-bad\.yaml:\d+:\d+: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toContain('PASS echo/round-trip');
    // Two scenarios with one name would write one trace file: the second is an error, not run.
    writeFileSync(join(dir, 'a-bad.yaml'), readFileSync(join(root, 'scenarios/echo/round-trip.yaml')));
    const twice = fedsim('run', dir, '--traces', join(scratch, 'traces'));
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(
      `${join(dir, 'b-good.yaml')}:2:1: name: \`echo/round-trip\` is also the name of ${join(dir, 'a-bad.yaml')}`,
    );
    expect(twice.stdout.match(/^PASS echo\/round-trip/gm)).toHaveLength(1);
  });
});
