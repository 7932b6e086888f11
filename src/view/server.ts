/**
 * `fedsim view <trace>`: serves the built viewer (viz/dist) and one trace on loopback over
 * node:http, and returns the URL that opens the viewer on that trace. Also serves the trace's
 * Mermaid and ShiViz exports, which the viewer's export buttons link to, and names.json: the
 * protocols' names for the trace's messages (names.ts), computed once when it starts from the
 * trace's send lines. Builds the viewer with
 * vite's JS API first when viz/dist is missing.
 *
 * It listens on 127.0.0.1 unless told otherwise, serves only files under viz/dist plus the one
 * trace it was given, and never writes anything but viz/dist.
 */
import { createReadStream, existsSync } from 'node:fs';
import { access, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../core/errors.js';
import { exportMermaid } from '../trace/export-mermaid.js';
import { exportShiviz } from '../trace/export-shiviz.js';
import { readTrace, type Trace } from '../trace/reader.js';
import { messageNames, namesOfFile } from './names.js';

/**
 * The viewer's sources: `viz/` in the project, found above this module, which runs from `src/view/`
 * or from the fedsim command's build under `dist/<key>/view/` (bin/build.mjs).
 */
function findVizDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'viz', 'vite.config.ts'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no viz/ directory above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return join(dir, 'viz');
}

export const vizDirectory = findVizDirectory();
export const vizDistDirectory = join(vizDirectory, 'dist');

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
};

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether viz/dist was built after every source file of the viewer was last changed (a clone
 * updated with `git pull` keeps its old viz/dist, which would otherwise be served as it was).
 */
export async function distIsCurrent(
  sourceDirectory = vizDirectory,
  distDirectory = vizDistDirectory,
): Promise<boolean> {
  const built = await stat(join(distDirectory, 'index.html')).catch(() => undefined);
  if (built === undefined) return false;
  const sources = (await readdir(sourceDirectory)).filter((name) => /\.(ts|html|css)$/.test(name));
  for (const name of sources) {
    const source = await stat(join(sourceDirectory, name)).catch(() => undefined);
    if (source !== undefined && source.mtimeMs > built.mtimeMs) return false;
  }
  return true;
}

/**
 * Builds the viewer into viz/dist with vite (into a temporary directory first, then renamed, so
 * that two processes building at once never serve a half-written directory).
 * @defaultValue force false: a viz/dist newer than every viewer source is kept.
 */
export async function buildViewer(options: { force?: boolean } = {}): Promise<string> {
  // An old build is replaced; a missing one is made, and a process that loses the race to make
  // it keeps the winner's (the rename below fails on a directory that is there).
  const replace = options.force === true || (await exists(join(vizDistDirectory, 'index.html')));
  if (options.force !== true && (await distIsCurrent())) return vizDistDirectory;
  const { build } = await import('vite');
  const temporary = join(vizDirectory, `dist.tmp-${process.pid}-${Date.now()}`);
  await build({
    configFile: join(vizDirectory, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: temporary, emptyOutDir: true },
  });
  if (replace) await rm(vizDistDirectory, { recursive: true, force: true });
  try {
    await rename(temporary, vizDistDirectory);
  } catch {
    // Another process renamed its build into place first; theirs is as good as ours.
    await rm(temporary, { recursive: true, force: true });
  }
  return vizDistDirectory;
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

/**
 * Serves the viewer and `tracePath` on `host:port`.
 * @defaultValue host 127.0.0.1; port 0 (any free port).
 * @example
 * const server = await serveViewer({ tracePath: 'run.trace.ndjson' });
 * console.log(server.url); // http://127.0.0.1:41234/?trace=trace.ndjson
 * await server.close();
 */
export async function serveViewer(options: {
  tracePath: string;
  port?: number;
  host?: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  const { tracePath } = options;
  const traceStat = await stat(tracePath).catch(() => undefined);
  if (traceStat === undefined || !traceStat.isFile()) throw new UsageError(`view: no trace file at ${tracePath}`);
  const dist = await buildViewer();
  const host = options.host ?? '127.0.0.1';
  const traceName = basename(tracePath).replace(/[^\w.-]/g, '_') || 'trace.ndjson';
  // names.json, computed once while the browser is still starting, from the header and the send
  // lines only (streamed, nothing else parsed); the whole trace is read only for an export.
  const names: Promise<string> = namesOfFile(tracePath).catch(() => '{"names":{}}');
  let loadedTrace: Promise<{ trace: Trace } | { error: string }> | undefined;
  const loaded = (): Promise<{ trace: Trace } | { error: string }> =>
    (loadedTrace ??= readFile(tracePath, 'utf8').then(
      (text) => {
        const result = readTrace(text);
        return result.ok ? { trace: result.value } : { error: `${tracePath}: ${result.error.message}` };
      },
      (error: unknown) => ({ error: `${tracePath}: ${(error as Error).message}` }),
    ));

  const exportTrace = async (response: ServerResponse, format: 'mermaid' | 'shiviz'): Promise<void> => {
    const result = await loaded();
    if ('error' in result) return send(response, 422, 'text/plain; charset=utf-8', `${result.error}\n`);
    const text =
      format === 'mermaid'
        ? exportMermaid(result.trace, { names: messageNames(result.trace), stateNotes: false })
        : exportShiviz(result.trace);
    response.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-disposition': `attachment; filename="${traceName}.${format === 'mermaid' ? 'mmd' : 'shiviz.log'}"`,
    });
    response.end(text);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(response, 400, 'text/plain', 'bad request: the path is not valid percent-encoded UTF-8\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'text/plain', 'GET only\n');
    if (path === `/${traceName}`) {
      // Its length lets the viewer's loader read it into one buffer of the right size.
      const size = (await stat(tracePath).catch(() => undefined))?.size;
      response.writeHead(200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-store',
        ...(size === undefined ? {} : { 'content-length': size }),
      });
      createReadStream(tracePath).pipe(response);
      return;
    }
    if (path === '/names.json') return send(response, 200, 'application/json', await names);
    if (path === '/export/mermaid') return exportTrace(response, 'mermaid');
    if (path === '/export/shiviz') return exportTrace(response, 'shiviz');
    const file = normalize(join(dist, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dist + sep)) return send(response, 403, 'text/plain', 'forbidden\n');
    const body = await readFile(file).catch(() => undefined);
    if (body === undefined) return send(response, 404, 'text/plain', 'not found\n');
    send(response, 200, contentTypes[extname(file)] ?? 'application/octet-stream', body);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'text/plain', `${(error as Error).message}\n`);
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/?trace=${encodeURIComponent(traceName)}&names=names.json`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
