// The entry of a seed-sweep worker thread (as src/fuzz/worker-entry.mjs is of a fuzz worker):
// from a build the compiled worker sits beside it; from the sources it registers tsx in this
// thread and runs the TypeScript worker.
import { existsSync } from 'node:fs';

const compiled = new URL('./sweep-worker.js', import.meta.url);
if (existsSync(compiled)) {
  process.setSourceMapsEnabled(true);
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./sweep-worker.ts');
}
