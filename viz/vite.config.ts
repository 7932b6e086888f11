/**
 * Vite configuration for the viewer: root is viz/, the build goes to viz/dist (git-ignored) with
 * relative asset paths, so that `fedsim view` can serve it from any URL prefix.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
  // The loader worker keeps a fixed name: index.html starts it before the page's module loads.
  worker: { rollupOptions: { output: { entryFileNames: 'assets/[name].js' } } },
  server: { host: '127.0.0.1' },
});
