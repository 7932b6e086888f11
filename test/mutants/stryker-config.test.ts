// Goal: the generated-mutant campaign (stryker.config.mjs) still points at code that exists: every
// mutated file is there and every line range lies inside it and starts on code, so an edit that
// moves or shortens a protocol file cannot leave a protocol with nothing mutated; and each
// protocol's command fuzzes that protocol, killing on exit 1. The campaign itself takes minutes
// per protocol (`npm run mutation:generated`), so it is not run here.
// Method: read mutateSets and strykerConfig from the config file; check paths and ranges against
// the sources.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

interface StrykerConfigModule {
  mutateSets: Record<string, string[]>;
  strykerConfig: (
    protocol: string,
    runs?: number,
  ) => { mutate: string[]; testRunner: string; coverageAnalysis: string; commandRunner: { command: string } };
}

const root = process.cwd();
// A computed specifier: the config is plain JavaScript with no declarations.
const config = (await import(pathToFileURL(join(root, 'stryker.config.mjs')).href)) as StrykerConfigModule;

describe('generated mutants (stryker.config.mjs)', () => {
  it('mutates every protocol, each file present and each line range inside it', () => {
    expect(Object.keys(config.mutateSets).sort()).toEqual(['ambrosia', 'bester', 'f140', 'fmtp', 'solec']);
    const problems: string[] = [];
    for (const [protocol, entries] of Object.entries(config.mutateSets)) {
      for (const entry of entries) {
        const match = /^(.*?)(?::(\d+)-(\d+))?$/.exec(entry)!;
        const file = match[1]!;
        if (!file.startsWith(`src/protocols/${protocol}/`)) problems.push(`${entry}: not ${protocol}'s code`);
        if (!existsSync(join(root, file))) {
          problems.push(`${entry}: no such file`);
          continue;
        }
        if (match[2] === undefined) continue;
        const lines = readFileSync(join(root, file), 'utf8').split('\n');
        const [from, to] = [Number(match[2]), Number(match[3])];
        if (!(from >= 1 && from < to && to <= lines.length)) problems.push(`${entry}: outside 1-${lines.length}`);
        else if ((lines[from - 1] ?? '').trim() === '') problems.push(`${entry}: starts on a blank line`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('runs a fuzz campaign of the protocol per mutant, with no coverage analysis', () => {
    for (const protocol of Object.keys(config.mutateSets)) {
      const options = config.strykerConfig(protocol, 7);
      expect(options.testRunner).toBe('command');
      expect(options.coverageAnalysis).toBe('off');
      expect(options.mutate).toEqual(config.mutateSets[protocol]);
      expect(options.commandRunner.command).toContain(`bin/fedsim.mjs fuzz ${protocol} --runs 7 --seed 1 --workers 1`);
    }
    expect(() => config.strykerConfig('echo')).toThrow(/no mutate set for protocol echo/);
  });
});
