// The entry of a fuzz worker thread. Plain JavaScript, so that it loads before any TypeScript
// support is in place. From a build (bin/build.mjs) the compiled worker sits beside it; from the
// sources (tests), it registers tsx in this thread (a worker does not inherit the parent's
// loader hooks) and runs the TypeScript worker.
import { existsSync } from 'node:fs';

const compiled = new URL('./worker.js', import.meta.url);
if (existsSync(compiled)) {
  process.setSourceMapsEnabled(true);
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./worker.ts');
}
