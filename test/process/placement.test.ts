// Where a child runs (src/process/channel.ts, `placement`): left to the OS by default ('any'),
// pinned to the host thread's CPU with 'host', and unpinned but working where `taskset` is missing;
// and the polls before a blocking read (`spinPolls`) change nothing of what is read.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  defaultPlacement,
  defaultSpinPolls,
  ProcessChannel,
  threadCpu,
  type ChannelOptions,
} from '../../src/process/channel.js';

/** A child that answers every line with the CPUs it may run on (from /proc). */
const dir = mkdtempSync(join(tmpdir(), 'fedsim-placement-'));
const script = join(dir, 'cpus.mjs');
writeFileSync(
  script,
  [
    "import { readFileSync } from 'node:fs';",
    "import { createInterface } from 'node:readline';",
    'for await (const line of createInterface({ input: process.stdin })) {',
    "  const status = readFileSync('/proc/self/status', 'utf8');",
    "  process.stdout.write(`${/^Cpus_allowed_list:\\s*(\\S+)$/m.exec(status)?.[1] ?? '?'}\\n`);",
    '}',
  ].join('\n'),
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const linux = existsSync('/proc/thread-self/stat');
const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const hostCpus = (): string =>
  /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
/** The CPUs of a list such as "0-3,6". */
const expand = (list: string): number[] =>
  list.split(',').flatMap((range) => {
    const [from, to] = range.split('-').map(Number) as [number, number | undefined];
    return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
  });
const pause = new Int32Array(new SharedArrayBuffer(4));

/** The child's allowed CPUs, asked until `settled` holds for the answer (the pin comes just after the spawn). */
function cpusOf(options: Partial<ChannelOptions>, settled: (cpus: string) => boolean): string {
  const channel = new ProcessChannel({ command: [process.execPath, script], ...options });
  try {
    let answer = '';
    for (let i = 0; i < 100; i++) {
      channel.arm(5_000);
      channel.write('cpus?');
      const line = channel.readLine();
      channel.disarm();
      if (typeof line !== 'string') throw new Error(`the child gave no answer: ${JSON.stringify(line)}`);
      answer = line;
      if (settled(answer)) break;
      Atomics.wait(pause, 0, 0, 20);
    }
    return answer;
  } finally {
    channel.close();
  }
}

const oneCpu = (cpus: string): boolean => /^\d+$/.test(cpus);

describe('where an external node process runs', () => {
  const path = process.env['PATH'];
  const saved = {
    FEDSIM_PROCESS_CPU: process.env['FEDSIM_PROCESS_CPU'],
    FEDSIM_PROCESS_SPIN: process.env['FEDSIM_PROCESS_SPIN'],
  };
  afterEach(() => {
    process.env['PATH'] = path;
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('reads the calling thread\'s CPU from /proc; defaults to "any" and no polls unless the environment says', () => {
    if (linux) expect(expand(hostCpus())).toContain(threadCpu());
    else expect(threadCpu()).toBeUndefined();
    delete process.env['FEDSIM_PROCESS_CPU'];
    delete process.env['FEDSIM_PROCESS_SPIN'];
    expect(defaultPlacement()).toBe('any');
    expect(defaultSpinPolls()).toBe(0);
    process.env['FEDSIM_PROCESS_CPU'] = 'host';
    process.env['FEDSIM_PROCESS_SPIN'] = '5';
    expect(defaultPlacement()).toBe('host');
    expect(defaultSpinPolls()).toBe(5);
    process.env['FEDSIM_PROCESS_CPU'] = 'nonsense';
    process.env['FEDSIM_PROCESS_SPIN'] = '-3';
    expect(defaultPlacement()).toBe('any');
    expect(defaultSpinPolls()).toBe(0);
  });

  it.skipIf(!linux || !hasTaskset)('pins the child to one CPU the host may run on with placement "host"', () => {
    const cpus = cpusOf({ placement: 'host' }, oneCpu);
    expect(cpus).toMatch(/^\d+$/);
    expect(expand(hostCpus())).toContain(Number(cpus));
  });

  it.skipIf(!linux)('leaves the child where the OS puts it by default', () => {
    delete process.env['FEDSIM_PROCESS_CPU'];
    // Asked a few times over ~200 ms: a pin, had there been one, would show by then.
    let asked = 0;
    const cpus = cpusOf({}, () => ++asked >= 10);
    expect(cpus).toBe(hostCpus());
  });

  it.skipIf(!linux)('runs the child unpinned where taskset cannot be found', () => {
    // A PATH with mkfifo (the channel makes its FIFOs with it) and nothing else.
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, 'mkfifo')))
      symlinkSync(execFileSync('which', ['mkfifo'], { encoding: 'utf8' }).trim(), join(bin, 'mkfifo'));
    process.env['PATH'] = bin;
    let asked = 0;
    const cpus = cpusOf({ placement: 'host' }, () => ++asked >= 10);
    expect(cpus).toBe(hostCpus());
  });
});

describe('polls before a blocking read', () => {
  /** A child that answers line n with n lines, the last two written apart, then exits on "exit" or hangs on "hang". */
  const lines = join(dir, 'lines.mjs');
  writeFileSync(
    lines,
    [
      "import { createInterface } from 'node:readline';",
      'let n = 0;',
      'for await (const line of createInterface({ input: process.stdin })) {',
      "  if (line === 'exit') process.exit(4);",
      "  if (line === 'hang') continue;",
      '  n += 1;',
      '  for (let i = 1; i < n; i++) process.stdout.write(`${line} ${i}/${n}\\n`);',
      '  await new Promise((done) => setTimeout(done, n % 3));',
      '  process.stdout.write(`${line} ${n}/${n}\\n`);',
      '}',
    ].join('\n'),
  );

  it('read the same lines, and still end on an exit or a blown budget', () => {
    const channel = new ProcessChannel({ command: [process.execPath, lines], spinPolls: 50 });
    try {
      for (let n = 1; n <= 20; n++) {
        channel.arm(5_000);
        channel.write(`step${n}`);
        const got: string[] = [];
        for (let i = 0; i < n; i++) got.push(channel.readLine() as string);
        channel.disarm();
        expect(got).toEqual(Array.from({ length: n }, (_, i) => `step${n} ${i + 1}/${n}`));
      }
      channel.arm(300);
      channel.write('hang');
      expect(channel.readLine()).toEqual({ kind: 'timeout' });
    } finally {
      channel.close();
    }
    const exiting = new ProcessChannel({ command: [process.execPath, lines], spinPolls: 50 });
    try {
      exiting.arm(5_000);
      exiting.write('exit');
      expect(exiting.readLine()).toMatchObject({ kind: 'exited', why: 'exited with code 4' });
    } finally {
      exiting.close();
    }
  });
});
