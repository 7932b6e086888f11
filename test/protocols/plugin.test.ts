// Goal: protocol plugins load from modules, are validated field by field, and get the harness the
// built-in protocols get (scenarios, invariants, a derived fuzz profile that catches a canary).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { runOne } from '../../src/fuzz/run-one.js';
import { pluginProblems } from '../../src/protocols/plugin.js';
import { loadPlugin, PluginError, protocolNames } from '../../src/protocols/registry.js';
import { invariantNamed } from '../../src/check/registry.js';
import { loadScenarioWithPlugins } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';

describe('protocol plugins', () => {
  it('registers the built-in protocols through the plugin mechanism, in order', () => {
    expect(protocolNames().slice(0, 6)).toEqual(['echo', 'fmtp', 'f140', 'solec', 'bester', 'ambrosia']);
  });

  it('names every missing or wrong field of a bad plugin', () => {
    expect(pluginProblems({ protocol: { name: 'Bad', configSchema: 1 } })).toEqual([
      'protocol.name: expected a lowercase name (letters, digits, dashes)',
      'protocol.configSchema: expected a zod schema',
      'protocol.commandSchema: missing',
      'protocol.createNode: missing',
    ]);
    expect(pluginProblems(undefined)).toEqual(['(the export): missing']);
  });

  it('refuses a module without a valid default export, naming the module', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-plugin-'));
    writeFileSync(join(dir, 'bad.mjs'), 'export default { protocol: { name: "bad" } };\n');
    const error = await loadPlugin('./bad.mjs', dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PluginError);
    expect(String((error as Error).message)).toContain('./bad.mjs: not a protocol plugin');
    expect(String((error as Error).message)).toContain('protocol.createNode: missing');
  });

  it('runs a scenario that names its protocol by module, with the plugin invariant', async () => {
    const scenario = await loadScenarioWithPlugins('examples/ping/hello.yaml');
    expect(scenario.nodes[0]?.protocol.name).toBe('ping');
    expect(invariantNamed('ping.ownUserOnly')).toBeDefined();
    expect(runScenario(scenario).verdict).toBe('pass');
  });

  it('derives a fuzz profile whose runs pass, and which catches a duplicating canary', async () => {
    await loadPlugin('./examples/ping/index.ts');
    const profile = fuzzProfileNamed('ping')!;
    for (const seed of [1, 2, 3]) expect(runOne(profile, seed), `seed ${seed}`).toMatchObject({ ok: true });
    const caught = [1, 2, 3, 4, 5].some((seed) => !runOne(profile, seed, { canary: 'duplicate' }).ok);
    expect(caught).toBe(true);
  });
});
