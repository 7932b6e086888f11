// A plugin protocol's messages carry its own names (its nameMessage hook) in the viewer and the
// Mermaid export, whether the plugin was given to the run that wrote the trace (the trace header
// names its module) or only to `fedsim view` / `fedsim export` (--plugin).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedsim, root } from '../support/fedsim.js';

/** `fedsim view`'s names.json for a trace: starts the viewer, fetches it, stops the viewer. */
async function viewerNames(trace: string, ...flags: string[]): Promise<unknown> {
  const child = spawn(process.execPath, [join(root, 'bin', 'fedsim.mjs'), 'view', trace, '--port', '0', ...flags], {
    cwd: root,
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /open (http:\/\/\S+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('close', () => reject(new Error(`fedsim view ended: ${out}`)));
    });
    const response = await fetch(new URL('names.json', url));
    return (await response.json()) as unknown;
  } finally {
    child.kill('SIGINT');
  }
}

describe('message names of a plugin protocol', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-plugin-names-'));
  const run = fedsim('run', 'examples/ping/hello.yaml', '--traces', dir);
  const trace = join(dir, 'ping', 'hello.ndjson');
  // The same trace as if written before headers named their plugins.
  const bare = join(dir, 'bare.ndjson');
  const [header, ...lines] = readFileSync(trace, 'utf8').trimEnd().split('\n');
  const { plugins, ...rest } = JSON.parse(header ?? '{}') as { plugins?: unknown };
  const body = [JSON.stringify(rest), ...lines.slice(0, -1)].map((line) => `${line}\n`).join('');
  const end = {
    ...(JSON.parse(lines.at(-1) ?? '{}') as object),
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  writeFileSync(bare, `${body}${JSON.stringify(end)}\n`);

  it('the run records where the plugin module is', () => {
    expect(run.code).toBe(0);
    expect(plugins).toEqual({ ping: './examples/ping/index.ts' });
  });

  it('given at run time: view and export name the messages from the header alone', async () => {
    expect(fedsim('export', '--format', 'mermaid', trace).stdout).toMatch(/->>n1: PING\n[^]*->>n0: PONG/);
    expect(JSON.stringify(await viewerNames(trace))).toContain('["PING","PING a.test hello"]');
  });

  it('given at view time: --plugin names them; without it they stay unnamed', async () => {
    const unnamed = fedsim('export', '--format', 'mermaid', bare);
    expect(unnamed.code).toBe(0);
    expect(unnamed.stdout).toContain('->>n1:');
    expect(unnamed.stdout).not.toContain('PING');
    expect(fedsim('export', '--format', 'mermaid', bare, '--plugin', 'examples/ping/index.ts').stdout).toMatch(
      /->>n1: PING/,
    );
    expect(await viewerNames(bare, '--plugin', 'examples/ping/index.ts')).toEqual(await viewerNames(trace));
  });
});
