#!/usr/bin/env node
// The fedsim command. Runs the sources compiled to plain JavaScript under dist/ (bin/build.mjs
// compiles them again whenever a source file changes, so there is no build step to remember).
// With FEDSIM_TSX=1, or when no build can be made (dist/ not writable, say), it runs the
// TypeScript sources through tsx instead. An installed package runs the build it was packed with.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.setSourceMapsEnabled(true);

const root = dirname(dirname(fileURLToPath(import.meta.url)));

async function built() {
  // An installed package has no sources, only the build `npm pack` made (bin/build.mjs --package).
  if (!existsSync(join(root, 'src')) && existsSync(join(root, 'dist', 'lib', 'BUILD')))
    return join(root, 'dist', 'lib');
  if (process.env.FEDSIM_TSX === '1') return undefined;
  const { ensureBuilt } = await import('./build.mjs');
  try {
    return await ensureBuilt();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`fedsim: could not build the sources (${reason}); running them through tsx\n`);
    return undefined;
  }
}

const dir = await built();
if (dir === undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  await import(pathToFileURL(join(dir, 'cli', 'main.js')).href);
}
