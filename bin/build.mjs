// Compiles src/ to plain JavaScript under dist/ for the fedsim command, once per state of the
// sources, with esbuild (one module per file, no bundling, inline source maps). The maps carry no
// copy of the sources (stack traces need only their lines): Node decodes every module's map as it
// loads it, and without the copies that is half the bytes and about 45 ms less of each start.
//
// Why not run the sources through tsx, as tests and scratch scripts do: tsx compiles with
// esbuild's keepNames, which wraps every function expression in a `__name(fn, "name")` call that
// runs `Object.defineProperty` each time the closure is created. The simulator creates closures
// per event (scheduled callbacks, action arguments), so under tsx a run pays for one
// `defineProperty` per closure: protocol runs are about a third slower (docs/performance.md).
// Without bundling or minifying nothing is renamed, so function names are the same either way.
//
// A build is keyed by every source file's path, size and modification time. It is written to a
// temporary directory and renamed into place, so fedsim commands started at the same moment (the
// tests start many) share one complete build and never see half of one. A process keeps the build
// it runs from marked as in use (its directory touched every minute), so that builds made meanwhile
// from edited sources never prune it from under a long run.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** Bumped when the build's options change, so that older builds are not reused. */
const buildFormat = 2;

/** Builds older than this, beyond the newest few, are removed when a new build is made. */
const pruneAfterMs = 10 * 60 * 1000;
const keepBuilds = 3;

/**
 * How often a process touches the build it runs from: well inside `pruneAfterMs`, so that a build
 * in use always counts as recent.
 */
export const inUseTouchMs = 60 * 1000;
/** The builds this process has marked as in use. */
const inUse = new Set();

/**
 * Marks `target` as in use by this process: touched now and every `inUseTouchMs` while the process
 * lives (the timer keeps no process alive). A build that cannot be touched (gone, read-only) is
 * left as it is.
 */
function keepInUse(target) {
  const touch = () => {
    try {
      const now = new Date();
      utimesSync(target, now, now);
    } catch {
      // Not ours to write, or removed: nothing to keep.
    }
  };
  touch();
  if (inUse.has(target)) return;
  inUse.add(target);
  setInterval(touch, inUseTouchMs).unref();
}

/** Distinguishes the temporary directories of builds made at once in one process. */
let builds = 0;

function sourceFiles(srcDir) {
  return readdirSync(srcDir, { recursive: true })
    .map((name) => String(name))
    .filter((name) => name.endsWith('.ts') || name.endsWith('.mjs'))
    .sort();
}

/**
 * esbuild's version, read from its package.json: importing esbuild costs about 100 ms, and each
 * fedsim command needs it only when it has to build (`compile` imports it then).
 */
function esbuildVersion() {
  const manifest = createRequire(import.meta.url).resolve('esbuild/package.json');
  return JSON.parse(readFileSync(manifest, 'utf8')).version;
}

/** esbuild's build, loaded when a build is made. */
async function compile(options) {
  const { build } = await import('esbuild');
  return build(options);
}

/** The build's key: a digest of every source file's path, size and modification time. */
export function buildKey(srcDir) {
  const hash = createHash('sha256');
  hash.update(`${buildFormat}\0${esbuildVersion()}\0${process.version}\n`);
  for (const name of sourceFiles(srcDir)) {
    const stat = statSync(join(srcDir, name));
    hash.update(`${name.split(sep).join('/')}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Makes sure `distDir/<key>` holds the compiled sources of `srcDir` as they are now, and returns
 * that directory (it mirrors src/: `cli/main.js`, `fuzz/worker-entry.mjs`, ...).
 */
export async function ensureBuilt({ srcDir = join(root, 'src'), distDir = join(root, 'dist') } = {}) {
  const key = buildKey(srcDir);
  const target = join(distDir, key);
  if (existsSync(target)) {
    keepInUse(target);
    return target;
  }
  mkdirSync(distDir, { recursive: true });
  const temporary = join(distDir, `.tmp-${process.pid}-${(builds += 1)}-${key}`);
  rmSync(temporary, { recursive: true, force: true });
  const files = sourceFiles(srcDir);
  await compile({
    entryPoints: files.filter((name) => name.endsWith('.ts')).map((name) => join(srcDir, name)),
    outdir: temporary,
    outbase: srcDir,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'error',
  });
  // Plain JavaScript entries (the fuzz worker's) are copied as they are.
  for (const name of files.filter((file) => file.endsWith('.mjs'))) {
    copyFileSync(join(srcDir, name), join(temporary, name));
  }
  writeFileSync(join(temporary, 'BUILD'), `fedsim build ${key} of ${relative(root, srcDir) || '.'}\n`);
  try {
    renameSync(temporary, target);
  } catch (error) {
    // Another fedsim command made the same build first: use theirs.
    rmSync(temporary, { recursive: true, force: true });
    if (!existsSync(target)) throw error;
    keepInUse(target);
    return target;
  }
  keepInUse(target);
  prune(distDir, key);
  return target;
}

/**
 * Removes old builds: all but the newest `keepBuilds`, and only those not touched for a while (a
 * build in use is touched every `inUseTouchMs`: `keepInUse`).
 */
function prune(distDir, current) {
  const now = Date.now();
  const builds = readdirSync(distDir)
    .filter((name) => /^[0-9a-f]{16}$/.test(name) && name !== current)
    .map((name) => ({ name, mtimeMs: statSync(join(distDir, name)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const old of builds.slice(keepBuilds - 1)) {
    if (now - old.mtimeMs > pruneAfterMs) rmSync(join(distDir, old.name), { recursive: true, force: true });
  }
}

/**
 * The build an installed package runs (`npm run build`, run by `prepack`): the sources compiled
 * once to `dist/lib/`, mirroring src/, which bin/fedsim.mjs uses when there is no src/ beside it.
 * The declarations go to dist/types/ (tsc, tsconfig.build.json).
 */
export async function buildPackage({ srcDir = join(root, 'src'), outDir = join(root, 'dist', 'lib') } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  const files = sourceFiles(srcDir);
  await compile({
    entryPoints: files.filter((name) => name.endsWith('.ts')).map((name) => join(srcDir, name)),
    outdir: outDir,
    outbase: srcDir,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'error',
  });
  for (const name of files.filter((file) => file.endsWith('.mjs')))
    copyFileSync(join(srcDir, name), join(outDir, name));
  writeFileSync(join(outDir, 'BUILD'), `fedsim package build of ${relative(root, srcDir) || '.'}\n`);
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--package') {
  process.stdout.write(`built ${relative(root, await buildPackage())}\n`);
}
