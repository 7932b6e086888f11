// Goal: the layering rule (.dependency-cruiser.cjs, run by `npm run lint`) holds on the tree as it
// is, and fails an import that points up a layer or across protocols.
// Method: cruise the real src/ and viz/ with the project's config (no violation), then cruise a
// scratch tree laid out like src/ in which each case plants one import, and expect the rule that
// names that mistake.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as IConfiguration;

async function violations(cwd: string, paths: string[]): Promise<string[]> {
  const previous = process.cwd();
  process.chdir(cwd);
  try {
    const { output } = await cruise(paths, {
      validate: true,
      ruleSet: { forbidden: config.forbidden },
      doNotFollow: { path: 'node_modules' },
      tsPreCompilationDeps: true,
      tsConfig: { fileName: 'tsconfig.json' },
    });
    return (output as ICruiseResult).summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  } finally {
    process.chdir(previous);
  }
}

describe('layering', () => {
  it('holds on src/ and viz/ as they are', async () => {
    expect(await violations(root, ['src', 'viz'])).toEqual([]);
  }, 60_000);

  const scratch = mkdtempSync(join(tmpdir(), 'fedsim-layers-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const cases: { plant: string; imports: string; rule: string }[] = [
    { plant: 'src/core/ids.ts', imports: 'src/sim/world.ts', rule: 'core-imports-nothing' },
    { plant: 'src/protocols/f140/server.ts', imports: 'src/sim/world.ts', rule: 'protocol-core-is-sans-io' },
    { plant: 'src/protocols/f140/wire.ts', imports: 'src/protocols/fmtp/wire.ts', rule: 'protocols-stay-apart' },
    { plant: 'src/protocols/f140/fuzz.ts', imports: 'src/protocols/solec/wire.ts', rule: 'protocols-stay-apart' },
    { plant: 'src/protocols/protocol.ts', imports: 'src/engine/actor.ts', rule: 'contract-imports-core-only' },
    { plant: 'src/engine/actor.ts', imports: 'src/protocols/fmtp/wire.ts', rule: 'engine-below-protocols' },
    { plant: 'src/trace/recorder.ts', imports: 'src/scenario/run.ts', rule: 'trace-below-hosts' },
    { plant: 'src/sim/world.ts', imports: 'src/check/context.ts', rule: 'hosts-below-harness' },
    { plant: 'src/sim/world.ts', imports: 'src/real/host.ts', rule: 'sim-and-real-apart' },
    { plant: 'src/scenario/run.ts', imports: 'src/cli/main.ts', rule: 'harness-below-cli' },
    { plant: 'src/bench/viewer.ts', imports: 'src/cli/main.ts', rule: 'bench-below-cli' },
    { plant: 'viz/main.ts', imports: 'src/sim/world.ts', rule: 'viewer-reads-trace-types-only' },
  ];

  for (const [index, { plant, imports, rule }] of cases.entries()) {
    it(`fails ${plant} importing ${imports} (${rule})`, async () => {
      const dir = join(scratch, String(index));
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      };
      write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } }));
      write('package.json', '{"type":"module"}');
      write(imports, 'export const x = 1;\n');
      const from = dirname(plant);
      let specifier = join(...from.split('/').map(() => '..'), imports).replace(/\.ts$/, '.js');
      if (!specifier.startsWith('.')) specifier = `./${specifier}`;
      write(plant, `import { x } from '${specifier}';\nexport const y = x;\n`);
      const found = await violations(dir, ['src', ...(plant.startsWith('viz/') ? ['viz'] : [])]);
      expect(found).toContain(`${rule}: ${plant} -> ${imports}`);
    }, 60_000);
  }
});
