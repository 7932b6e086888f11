// Where the host thread and a child run (src/process/placement.ts, channel.ts `placement`): by
// default ('one') the thread and its children pinned to one CPU while the thread has a channel, and
// the thread's CPUs given back after its last; each child pinned to the host thread's CPU with
// 'host'; left to the OS with 'any'; unpinned but working where `taskset` is missing; the same
// traces in every mode. And the polls before a blocking read (`spinPolls`) change nothing of what
// is read.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/run.js';
import {
  defaultPlacement,
  defaultSpinPolls,
  ProcessChannel,
  threadCpu,
  type ChannelOptions,
} from '../../src/process/channel.js';
import { ProcessNode } from '../../src/process/node.js';
import { chooseCpu } from '../../src/process/placement.js';

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
/** The CPUs the calling thread may run on (a pin is the thread's own, so not /proc/self's). */
const hostCpus = (): string =>
  /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/thread-self/status', 'utf8'))?.[1] ?? '';
/** The CPUs of the child behind a channel. */
const childCpus = (channel: ProcessChannel): string => {
  const pid = Atomics.load((channel as unknown as { words: Int32Array }).words, 3);
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
};
/** The claims of pinned fedsim threads (placement.ts), and this thread's own. */
const claimsDir = join(tmpdir(), `fedsim-cpus-${process.getuid?.() ?? 'user'}`);
const claims = (): string[] => (existsSync(claimsDir) ? readdirSync(claimsDir) : []);
const threadId = (): string => readlinkSync('/proc/thread-self').split('/').at(-1) ?? '';
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

  it('reads the calling thread\'s CPU from /proc; defaults to "one" where it can work and no polls unless the environment says', () => {
    if (linux) expect(expand(hostCpus())).toContain(threadCpu());
    else expect(threadCpu()).toBeUndefined();
    delete process.env['FEDSIM_PROCESS_CPU'];
    delete process.env['FEDSIM_PROCESS_SPIN'];
    expect(defaultPlacement()).toBe(linux && hasTaskset ? 'one' : 'any');
    expect(defaultSpinPolls()).toBe(0);
    process.env['FEDSIM_PROCESS_CPU'] = 'host';
    process.env['FEDSIM_PROCESS_SPIN'] = '5';
    expect(defaultPlacement()).toBe('host');
    expect(defaultSpinPolls()).toBe(5);
    process.env['FEDSIM_PROCESS_CPU'] = 'any';
    expect(defaultPlacement()).toBe('any');
    process.env['FEDSIM_PROCESS_CPU'] = 'nonsense';
    process.env['FEDSIM_PROCESS_SPIN'] = '-3';
    expect(defaultPlacement()).toBe(linux && hasTaskset ? 'one' : 'any');
    expect(defaultSpinPolls()).toBe(0);
    process.env['PATH'] = join(dir, 'nowhere');
    delete process.env['FEDSIM_PROCESS_CPU'];
    expect(defaultPlacement()).toBe('any');
  });

  it('chooses the CPU held by the fewest other fedsim threads, the current one among those', () => {
    expect(chooseCpu([0, 1], 1, new Map())).toBe(1);
    expect(chooseCpu([0, 1], 0, new Map())).toBe(0);
    expect(chooseCpu([0, 1, 2, 3], undefined, new Map())).toBe(0);
    expect(chooseCpu([0, 1], 1, new Map([[1, 1]]))).toBe(0);
    const heldTwiceOnZero = new Map([
      [0, 2],
      [1, 1],
      [2, 1],
    ]);
    expect(chooseCpu([0, 1, 2], 0, heldTwiceOnZero)).toBe(1);
    expect(chooseCpu([0, 1, 2], 2, heldTwiceOnZero)).toBe(2);
    // Only a CPU the thread may run on, however the others are held.
    expect(
      chooseCpu(
        [2, 3],
        3,
        new Map([
          [0, 0],
          [1, 0],
          [3, 5],
        ]),
      ),
    ).toBe(2);
    expect(chooseCpu([5], 0, new Map([[5, 9]]))).toBe(5);
  });

  it.skipIf(!linux || !hasTaskset)(
    'with "one", pins the host thread and every child to one CPU from the first step until the last channel closes',
    () => {
      const before = hostCpus();
      const command = [process.execPath, script];
      const first = new ProcessChannel({ command, placement: 'one' });
      const second = new ProcessChannel({ command, placement: 'one' });
      let third: ProcessChannel | undefined;
      try {
        // Nothing pinned before a step, so that the children start side by side.
        expect(hostCpus()).toBe(before);
        first.arm(5_000);
        first.disarm();
        const cpu = hostCpus();
        expect(cpu).toMatch(/^\d+$/);
        expect(expand(before)).toContain(Number(cpu));
        expect(claims()).toContain(`${cpu}-${process.pid}-${threadId()}`);
        // A channel opened while the thread is pinned: its child inherits the pin.
        third = new ProcessChannel({ command, placement: 'one' });
        for (const channel of [first, second, third]) {
          // The child's own answer, once the watchdog's pin (at the first step) has come.
          let answer = '';
          for (let i = 0; i < 100 && answer !== cpu; i++) {
            channel.arm(5_000);
            channel.write('cpus?');
            answer = channel.readLine() as string;
            channel.disarm();
            if (answer !== cpu) Atomics.wait(pause, 0, 0, 20);
          }
          expect(answer).toBe(cpu);
          expect(childCpus(channel)).toBe(cpu);
        }
        first.close();
        second.close();
        expect(hostCpus()).toBe(cpu);
      } finally {
        first.close();
        second.close();
        third?.close();
      }
      expect(hostCpus()).toBe(before);
      expect(claims().filter((claim) => claim.endsWith(`-${process.pid}-${threadId()}`))).toEqual([]);
    },
  );

  it.skipIf(!linux || !hasTaskset)('with "one", leaves a CPU held by other fedsim threads for a free one', () => {
    const allowed = expand(hostCpus());
    if (allowed.length < 2) return;
    const current = threadCpu() as number;
    // Claims on the current CPU, in the names of live threads (any task in /proc), until it is
    // held more than every other CPU the thread may run on (other test processes may hold some).
    const held = new Map<number, number>();
    for (const claim of claims()) {
      const cpu = Number(claim.split('-')[0]);
      held.set(cpu, (held.get(cpu) ?? 0) + 1);
    }
    const needed = Math.max(...allowed.map((cpu) => held.get(cpu) ?? 0)) + 2 - (held.get(current) ?? 0);
    const tasks = readdirSync('/proc')
      .filter((pid) => /^\d+$/.test(pid) && pid !== String(process.pid))
      .flatMap((pid) => {
        try {
          return readdirSync(`/proc/${pid}/task`).map((tid) => `${current}-${pid}-${tid}`);
        } catch {
          return [];
        }
      })
      .filter((claim) => !claims().includes(claim))
      .slice(0, needed);
    mkdirSync(claimsDir, { recursive: true });
    for (const claim of tasks) writeFileSync(join(claimsDir, claim), '');
    const channel = new ProcessChannel({ command: [process.execPath, script], placement: 'one' });
    try {
      channel.arm(5_000);
      channel.disarm();
      expect(hostCpus()).toMatch(/^\d+$/);
      expect(Number(hostCpus())).not.toBe(current);
    } finally {
      channel.close();
      for (const claim of tasks) rmSync(join(claimsDir, claim), { force: true });
    }
  });

  it.skipIf(!linux || !hasTaskset)('pins the child to one CPU the host may run on with placement "host"', () => {
    const cpus = cpusOf({ placement: 'host' }, oneCpu);
    expect(cpus).toMatch(/^\d+$/);
    expect(expand(hostCpus())).toContain(Number(cpus));
  });

  it.skipIf(!linux)('leaves the host thread and the child where the OS puts them with FEDSIM_PROCESS_CPU=any', () => {
    process.env['FEDSIM_PROCESS_CPU'] = 'any';
    const before = hostCpus();
    // Asked a few times over ~200 ms: a pin, had there been one, would show by then.
    let asked = 0;
    const cpus = cpusOf({}, () => {
      expect(hostCpus()).toBe(before);
      return ++asked >= 10;
    });
    expect(cpus).toBe(before);
  });

  it.skipIf(!linux)('pins nothing where taskset cannot be found', () => {
    // A PATH with mkfifo (the channel makes its FIFOs with it) and nothing else.
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, 'mkfifo')))
      symlinkSync(execFileSync('which', ['mkfifo'], { encoding: 'utf8' }).trim(), join(bin, 'mkfifo'));
    process.env['PATH'] = bin;
    const before = hostCpus();
    for (const placement of ['host', 'one'] as const) {
      let asked = 0;
      const cpus = cpusOf({ placement }, () => {
        expect(hostCpus()).toBe(before);
        return ++asked >= 10;
      });
      expect(cpus).toBe(before);
    }
  });

  it('gives the same traces in every mode, and the thread its CPUs back after the run', async () => {
    const before = linux ? hostCpus() : '';
    const seen: string[] = [];
    const start = Object.getOwnPropertyDescriptor(ProcessNode.prototype, 'start');
    const original = ProcessNode.prototype.start;
    ProcessNode.prototype.start = function (this: ProcessNode) {
      original.call(this);
      // After the start's step has begun: pinned by then with "one".
      if (linux) seen.push(hostCpus());
    };
    const traces = new Map<string, string>();
    try {
      for (const mode of ['any', 'host', 'one']) {
        process.env['FEDSIM_PROCESS_CPU'] = mode;
        seen.length = 0;
        const out = mkdtempSync(join(dir, `trace-${mode}-`));
        const code = await runCommand(
          [new URL('../../examples/f140/mixed.yaml', import.meta.url).pathname],
          { traces: out, json: false },
          () => undefined,
        );
        expect(code).toBe(0);
        traces.set(mode, readFileSync(join(out, 'examples', 'f140-mixed.ndjson'), 'utf8'));
        // Two process nodes and a restart: three starts, the thread pinned at each only with "one".
        expect(seen).toHaveLength(3);
        if (linux) {
          if (mode === 'one' && hasTaskset) for (const cpus of seen) expect(cpus).toMatch(/^\d+$/);
          else expect(seen).toEqual(seen.map(() => before));
          expect(hostCpus()).toBe(before);
        }
      }
    } finally {
      if (start) Object.defineProperty(ProcessNode.prototype, 'start', start);
    }
    expect(traces.get('host')).toBe(traces.get('any'));
    expect(traces.get('one')).toBe(traces.get('any'));
  }, 120_000);
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
