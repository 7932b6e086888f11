/**
 * Where the memory of a connection flood stays (issue 22): serves a built-in node (`fedsim serve`)
 * under `node --expose-gc`, runs the robustness connection flood at full count (200 connections each
 * holding a partial 1 MiB frame by default), then reads the served process's RSS at intervals after
 * the flood and asks it (SIGUSR2) for a full garbage collection and its memory figures: RSS, V8 heap,
 * external and ArrayBuffer bytes before and after the collection. Memory still counted as heap or
 * ArrayBuffers after a full collection is live JS objects; RSS above them is allocator slack that the
 * process keeps (glibc does not hand freed arenas back at once).
 *
 * Usage: npx tsx scripts/flood-memory.ts [protocol=bester] [connections=200] [bytes=1048576]
 * Loopback only; the served process is stopped at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinNode, robustnessAdapters } from '../src/conformance/robustness-adapters.js';
import { runRobustness, sampleProcess } from '../src/conformance/robustness.js';
import { robustnessServeLimits } from '../src/cli/conform.js';

const [protocol = 'bester', connections = '200', bytes = String(1024 * 1024)] = process.argv.slice(2);
const adapter = robustnessAdapters[protocol];
if (!adapter) throw new Error(`no robustness adapter for ${protocol}`);
const node = await builtinNode(protocol);
const dir = mkdtempSync(join(tmpdir(), 'fedsim-flood-memory-'));
const file = join(dir, 'serve.json');
const ports = Object.fromEntries(node.ports.map((port) => [String(port), 0]));
writeFileSync(
  file,
  JSON.stringify({
    id: node.id,
    config: node.config,
    ports,
    socketDir: join(dir, 'sockets'),
    seed: 1,
    limits: robustnessServeLimits,
  }),
);
const child = spawn(process.execPath, ['--expose-gc', 'bin/fedsim.mjs', 'serve', protocol, '--config', file], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
const lines: string[] = [];
child.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString('utf8');
  const parts = output.split('\n');
  output = parts.pop() ?? '';
  lines.push(...parts);
});
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (n: number): string => `${(n / 1_000_000).toFixed(0)} MB`;
for (let i = 0; i < 600 && !lines.some((line) => line.includes('press Ctrl-C')); i += 1) await sleep(100);
// The first TCP listener (a Bester server also listens on a UNIX socket for its handlers).
const port = Number(lines.map((line) => /listening on 127\.0\.0\.1:(\d+)/.exec(line)?.[1]).find(Boolean));
const pid = child.pid ?? 0;
const rss = (): string => mb(sampleProcess(pid)?.rssBytes ?? 0);
console.log(`${protocol} served on ${port}, pid ${pid}; idle RSS ${rss()}`);
console.log(`where it is: ${residentBy(pid)}`);
const report = await runRobustness(adapter, {
  host: '127.0.0.1',
  port,
  pid,
  only: ['connection-flood'],
  floodCount: Number(connections),
  floodBytes: Number(bytes),
  closeMs: 10_000,
  recoverMs: 30_000,
});
for (const result of report.results) console.log(`${result.verdict} ${result.id}: ${result.message}`);
for (const waitMs of [0, 5_000, 25_000]) {
  await sleep(waitMs);
  console.log(`after the flood (+${waitMs} ms more): RSS ${rss()}`);
}
const before = lines.length;
child.kill('SIGUSR2');
for (let i = 0; i < 50 && lines.length < before + 2; i += 1) await sleep(100);
for (const line of lines.slice(before)) console.log(line);
await sleep(2_000);
console.log(`2 s after the full gc: RSS ${rss()}`);
console.log(`where it is: ${residentBy(pid)}`);
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });

/**
 * The process's resident memory by kind of mapping (/proc/PID/smaps): glibc's main arena (`[heap]`),
 * anonymous mappings (V8's heap pages, glibc's thread arenas and mmapped chunks) and files.
 */
function residentBy(pid: number): string {
  const kB: Record<string, number> = {};
  let kind = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) kind = mapping[1] === '' ? 'anon' : mapping[1]?.startsWith('[') ? mapping[1] : 'files';
    const rssKb = /^Rss:\s+(\d+) kB/.exec(line)?.[1];
    if (rssKb !== undefined) kB[kind] = (kB[kind] ?? 0) + Number(rssKb);
  }
  return Object.entries(kB)
    .filter(([, n]) => n >= 1024)
    .map(([k, n]) => `${k} ${(n / 1024).toFixed(0)} MiB`)
    .join(', ');
}
