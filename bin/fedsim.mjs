#!/usr/bin/env node
// The fedsim command. Runs the sources compiled to plain JavaScript under dist/ (bin/build.mjs
// compiles them again whenever a source file changes, so there is no build step to remember).
// With FEDSIM_TSX=1 it runs the TypeScript sources through tsx instead, with no build.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

process.setSourceMapsEnabled(true);
if (process.env.FEDSIM_TSX === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  const { ensureBuilt } = await import('./build.mjs');
  const built = await ensureBuilt();
  await import(pathToFileURL(join(built, 'cli', 'main.js')).href);
}
