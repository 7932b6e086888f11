// What this checks: `fedsim view` rebuilds viz/dist when a viewer source changed after it was built
// (a clone updated with `git pull` keeps its old build), and keeps a build newer than every source.
// Method: a temporary source and dist directory with set modification times.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { distIsCurrent } from '../../src/view/server.js';

describe('viewer build: kept only while newer than its sources', () => {
  let root = '';
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function layout(sourceSeconds: number, builtSeconds: number | undefined): { source: string; dist: string } {
    root = mkdtempSync(join(tmpdir(), 'fedsim-viz-'));
    const source = join(root, 'viz');
    const dist = join(source, 'dist');
    mkdirSync(dist, { recursive: true });
    for (const name of ['main.ts', 'styles.css', 'index.html', 'notes.txt']) writeFileSync(join(source, name), '');
    for (const name of ['main.ts', 'styles.css', 'index.html']) utimesSync(join(source, name), 1_000, 1_000);
    utimesSync(join(source, 'styles.css'), sourceSeconds, sourceSeconds);
    // A file that is not a viewer source never counts.
    utimesSync(join(source, 'notes.txt'), 9_000, 9_000);
    if (builtSeconds !== undefined) {
      writeFileSync(join(dist, 'index.html'), '');
      utimesSync(join(dist, 'index.html'), builtSeconds, builtSeconds);
    }
    return { source, dist };
  }

  it('keeps a build made after every source changed', async () => {
    const { source, dist } = layout(2_000, 3_000);
    expect(await distIsCurrent(source, dist)).toBe(true);
  });

  it('rebuilds when one source changed after the build', async () => {
    const { source, dist } = layout(4_000, 3_000);
    expect(await distIsCurrent(source, dist)).toBe(false);
  });

  it('builds when there is no build', async () => {
    const { source, dist } = layout(2_000, undefined);
    expect(await distIsCurrent(source, dist)).toBe(false);
  });
});
