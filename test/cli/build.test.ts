// The fedsim command's build (bin/build.mjs): compiled once per state of the sources, rebuilt when
// a source changes, shared by builds made at once, kept while a process runs from it, and compiled
// without keepNames wrappers.
// Method: build a small temporary source tree, then the project's own src/ and run the CLI from it;
// and run the CLI in a project whose dist/ cannot be made, where it falls back to tsx.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { buildKey, ensureBuilt, inUseTouchMs } from '../../bin/build.mjs';

function sourceTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'fedsim-build-'));
  const src = join(root, 'src');
  mkdirSync(join(src, 'core'), { recursive: true });
  writeFileSync(
    join(src, 'core', 'later.ts'),
    'export function later(run: () => void): { run: () => void } {\n  const wrapped = () => run();\n  return { run: wrapped };\n}\n',
  );
  writeFileSync(
    join(src, 'main.ts'),
    "import { later } from './core/later.js';\nexport const answer: number = 42;\nlater(() => undefined);\n",
  );
  writeFileSync(join(src, 'entry.mjs'), "export const plain = 'as written';\n");
  return root;
}

describe('bin/build.mjs', () => {
  it('compiles every TypeScript file, copies plain JavaScript, and adds no keepNames wrappers', async () => {
    const root = sourceTree();
    const built = await ensureBuilt({ srcDir: join(root, 'src'), distDir: join(root, 'dist') });
    expect(built).toBe(join(root, 'dist', buildKey(join(root, 'src'))));
    const later = readFileSync(join(built, 'core', 'later.js'), 'utf8');
    expect(later).toContain('const wrapped = () => run();');
    expect(later).not.toContain('__name');
    expect(readFileSync(join(built, 'entry.mjs'), 'utf8')).toBe("export const plain = 'as written';\n");
    const main = (await import(join(built, 'main.js'))) as { answer: number };
    expect(main.answer).toBe(42);
    // Nothing half-made is left beside the build.
    expect(readdirSync(join(root, 'dist'))).toEqual([buildKey(join(root, 'src'))]);
  });

  it('reuses a build while the sources are unchanged, and builds again when one changes', async () => {
    const root = sourceTree();
    const options = { srcDir: join(root, 'src'), distDir: join(root, 'dist') };
    const first = await ensureBuilt(options);
    const madeAt = statSync(join(first, 'BUILD')).mtimeMs;
    expect(await ensureBuilt(options)).toBe(first);
    expect(statSync(join(first, 'BUILD')).mtimeMs).toBe(madeAt);

    writeFileSync(join(root, 'src', 'main.ts'), 'export const answer: number = 43;\n');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'src', 'main.ts'), later, later);
    const second = await ensureBuilt(options);
    expect(second).not.toBe(first);
    expect(readFileSync(join(second, 'main.js'), 'utf8')).toContain('43');
    // The earlier build stays (a command started from it may still be loading modules).
    expect(existsSync(first)).toBe(true);
  });

  it('keeps a build that a process runs from, however many builds of edited sources come after it', async () => {
    const root = sourceTree();
    const options = { srcDir: join(root, 'src'), distDir: join(root, 'dist') };
    const first = await ensureBuilt(options);
    // Twenty minutes untouched, past the prune age: the next use marks it as in use again.
    const longAgo = new Date(Date.now() - 20 * 60_000);
    utimesSync(first, longAgo, longAgo);
    expect(await ensureBuilt(options)).toBe(first);
    expect(statSync(first).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    // Three builds of edited sources, each pruning what is old beyond the newest three.
    for (const answer of [43, 44, 45]) {
      writeFileSync(join(root, 'src', 'main.ts'), `export const answer: number = ${answer};\n`);
      const later = new Date(Date.now() + answer * 1_000);
      utimesSync(join(root, 'src', 'main.ts'), later, later);
      await ensureBuilt(options);
    }
    expect(existsSync(first)).toBe(true);
    // A build nobody uses any more is pruned as before.
    utimesSync(first, longAgo, longAgo);
    writeFileSync(join(root, 'src', 'main.ts'), 'export const answer: number = 46;\n');
    const latest = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'src', 'main.ts'), latest, latest);
    await ensureBuilt(options);
    expect(existsSync(first)).toBe(false);
  });

  it('touches the build it runs from again every inUseTouchMs while the process lives', async () => {
    const root = sourceTree();
    const options = { srcDir: join(root, 'src'), distDir: join(root, 'dist') };
    vi.useFakeTimers({ toFake: ['setInterval', 'Date'] });
    try {
      const built = await ensureBuilt(options);
      const longAgo = new Date(Date.now() - 20 * 60_000);
      utimesSync(built, longAgo, longAgo);
      vi.advanceTimersByTime(inUseTouchMs - 1);
      // File times keep sub-millisecond digits that a Date has not.
      expect(Math.abs(statSync(built).mtimeMs - longAgo.getTime())).toBeLessThan(1);
      vi.advanceTimersByTime(1);
      expect(Math.abs(statSync(built).mtimeMs - Date.now())).toBeLessThan(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets builds made at once share one complete build', async () => {
    const root = sourceTree();
    const options = { srcDir: join(root, 'src'), distDir: join(root, 'dist') };
    const dirs = await Promise.all([ensureBuilt(options), ensureBuilt(options), ensureBuilt(options)]);
    expect(new Set(dirs).size).toBe(1);
    expect(readdirSync(join(root, 'dist'))).toEqual([buildKey(join(root, 'src'))]);
    expect(existsSync(join(dirs[0] as string, 'core', 'later.js'))).toBe(true);
  });

  it("runs the CLI and a fuzz campaign's worker threads from the project's build", () => {
    const out = mkdtempSync(join(tmpdir(), 'fedsim-fuzz-'));
    const args = ['fuzz', 'f140', '--runs', '4', '--seed', '1', '--workers', '2', '--out', out, '--summary', out];
    const run = spawnSync(process.execPath, ['bin/fedsim.mjs', ...args], { encoding: 'utf8' });
    expect(run.stderr + run.stdout).toContain('4 runs, 0 failed');
    expect(run.status).toBe(0);
    expect(existsSync(join('dist', buildKey('src'), 'fuzz', 'worker.js'))).toBe(true);
  }, 60_000);

  it('runs the sources through tsx, and says so, when no build can be made', () => {
    // A project whose dist/ is a file: nothing can be built there.
    const root = mkdtempSync(join(tmpdir(), 'fedsim-nobuild-'));
    mkdirSync(join(root, 'bin'));
    for (const file of ['fedsim.mjs', 'build.mjs']) copyFileSync(join('bin', file), join(root, 'bin', file));
    for (const dir of ['src', 'node_modules', 'viz']) symlinkSync(join(process.cwd(), dir), join(root, dir));
    writeFileSync(join(root, 'dist'), '');
    const run = spawnSync(process.execPath, [join(root, 'bin', 'fedsim.mjs'), '--help'], { encoding: 'utf8' });
    expect(run.stderr).toContain('could not build the sources');
    expect(run.stderr).toContain('running them through tsx');
    expect(run.stdout).toContain('Usage: fedsim');
    expect(run.status).toBe(0);
  }, 60_000);
});
