// Goal: the lint rule keeps wall-clock and random sources out of simulated code, and allows them
// in the real-socket host and the CLI.
// Method: lint small texts as if they were files at those paths, with the project's config.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

const forbidden = [
  'export const t = Date.now();',
  'export const d = new Date();',
  'export const r = Math.random();',
  'setTimeout(() => {}, 1);',
  'setInterval(() => {}, 1);',
  'export const p = performance.now();',
  'export const u = crypto.randomUUID();',
  'export const h = process.hrtime();',
  "import { randomBytes } from 'node:crypto';\nexport const b = randomBytes(4);",
];

describe('lint: determinism rules', () => {
  for (const code of forbidden) {
    it(`fails simulated code that does: ${code.split('\n').at(-1)}`, async () => {
      for (const path of ['src/protocols/fmtp/node.ts', 'src/sim/world.ts', 'src/scenario/run.ts']) {
        const ids = await ruleIds(code, path);
        expect(
          ids.some((id) => id.startsWith('no-restricted')),
          `${path}: ${ids.join(', ')}`,
        ).toBe(true);
      }
    });
  }

  it('allows the wall clock in the CLI and the real host', async () => {
    for (const path of ['src/cli/main.ts', 'src/real/host.ts']) {
      expect(await ruleIds('export const t = Date.now();\nsetTimeout(() => {}, 1);\n', path)).toEqual([]);
    }
  });
});
