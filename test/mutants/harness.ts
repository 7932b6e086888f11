/**
 * Applies one mutant (test/mutants/mutants.ts) to a scratch copy of the sources and runs a fuzz
 * campaign of its protocol over it with the fedsim command of that copy (`bin/fedsim.mjs fuzz`,
 * which builds the copy's sources). The mutant is killed when the campaign fails (exit 1), and
 * survives when every run passes (exit 0). The copy shares node_modules by a symbolic link and is
 * removed afterwards. Wall time is measured here (a script's concern, never the simulator's).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mutant } from './mutants.js';

export interface MutantOptions {
  /** The repository to copy. */
  readonly root: string;
  readonly runs: number;
  readonly seed: number;
  readonly workers: number;
}

export interface MutantResult {
  readonly id: string;
  readonly protocol: string;
  readonly status: 'killed' | 'survived' | 'stale' | 'error';
  /** The first failure the campaign printed (what caught it), or the error. */
  readonly detail: string;
  readonly wallMs: number;
}

/** Copies what the fedsim command needs of `root` into a new directory. */
function scratchCopy(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-mutant-'));
  for (const entry of ['src', 'bin', 'package.json', 'tsconfig.json']) {
    cpSync(join(root, entry), join(dir, entry), { recursive: true });
  }
  // Shared, never changed by a mutant: the dependencies, and the viewer the command looks for.
  for (const entry of ['node_modules', 'viz']) symlinkSync(join(root, entry), join(dir, entry), 'dir');
  return dir;
}

/** Whether the mutant's text is found exactly once in its file (else it is stale). */
export function mutantApplies(root: string, mutant: Mutant): boolean {
  const text = readFileSync(join(root, mutant.file), 'utf8');
  return text.split(mutant.find).length === 2;
}

export function runMutant(mutant: Mutant, options: MutantOptions): MutantResult {
  const started = performance.now();
  const done = (status: MutantResult['status'], detail: string): MutantResult => ({
    id: mutant.id,
    protocol: mutant.protocol,
    status,
    detail,
    wallMs: Math.round(performance.now() - started),
  });
  if (!mutantApplies(options.root, mutant))
    return done('stale', `${mutant.file}: the text to change is not there exactly once`);
  const dir = scratchCopy(options.root);
  try {
    const file = join(dir, mutant.file);
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(mutant.find, () => mutant.replace),
    );
    const out = join(dir, 'reports');
    mkdirSync(out, { recursive: true });
    const run = spawnSync(
      process.execPath,
      [
        join(dir, 'bin', 'fedsim.mjs'),
        'fuzz',
        mutant.protocol,
        '--runs',
        String(options.runs),
        '--seed',
        String(options.seed),
        '--workers',
        String(options.workers),
        '--stop-after',
        '1',
        '--no-progress',
        '--out',
        join(out, 'counterexamples'),
        '--summary',
        join(out, 'fuzz'),
      ],
      { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const output = `${run.stdout}${run.stderr}`;
    const lines = output.split('\n');
    const at = lines.findIndex((line) => line.startsWith('FAIL '));
    if (run.status === 1 && at >= 0) return done('killed', lines.slice(at, at + 2).join(' / '));
    if (run.status === 0) return done('survived', output.split('\n').find((line) => line.includes(' runs, ')) ?? '');
    return done('error', `exit ${String(run.status)}: ${output.slice(-500)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The summary as Markdown: one line per mutant, then the score per protocol. */
export function mutantReport(results: readonly MutantResult[], mutants: readonly Mutant[]): string {
  const lines = [
    '# Mutation campaign',
    '',
    '| mutant | protocol | status | wall | what caught it |',
    '|---|---|---|---|---|',
  ];
  for (const result of results) {
    const attacker = mutants.find((m) => m.id === result.id)?.attacker === true ? ' (attacker)' : '';
    lines.push(
      `| ${result.id}${attacker} | ${result.protocol} | ${result.status} | ${(result.wallMs / 1000).toFixed(1)} s | ${result.detail.replaceAll('|', '\\|')} |`,
    );
  }
  lines.push('', '| protocol | killed | of | score |', '|---|---|---|---|');
  const protocols = [...new Set(results.map((result) => result.protocol))];
  for (const protocol of [...protocols, 'all']) {
    const mine = results.filter((result) => protocol === 'all' || result.protocol === protocol);
    const killed = mine.filter((result) => result.status === 'killed').length;
    const score = mine.length === 0 ? 0 : Math.round((100 * killed) / mine.length);
    lines.push(`| ${protocol} | ${killed} | ${mine.length} | ${score}% |`);
  }
  return `${lines.join('\n')}\n`;
}
