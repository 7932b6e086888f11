// Goal: the fedsim command gives the documented exit codes (0 pass, 1 failed expectation, 2 bad
// input or usage) with messages that name file, line and field, and never a stack trace for a
// user mistake.
// Method: run bin/fedsim.mjs in a child process on bundled and temporary scenario files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedsim, root } from '../support/fedsim.js';

const scratch = mkdtempSync(join(tmpdir(), 'fedsim-cli-'));

describe('cli: fedsim run', () => {
  it('passes the bundled echo scenarios with exit 0, writes traces and a summary line', () => {
    const traces = join(scratch, 'traces');
    const result = fedsim('run', 'scenarios/echo', '--traces', traces);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^PASS echo\/round-trip \(seed 7, \d+ events/m);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('3 passed, 0 failed');
    const trace = readFileSync(join(traces, 'echo', 'round-trip.ndjson'), 'utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(trace[0]!)).toMatchObject({
      format: 'fedsim-trace',
      version: 1,
      scenario: 'echo/round-trip',
      seed: 7,
    });
    expect(JSON.parse(trace.at(-1)!)).toMatchObject({ end: true, events: trace.length - 2 });
  });

  it('writes the same trace, byte for byte, on the xstate engine as on the compiled one', () => {
    const traces = { compiled: join(scratch, 'engine-compiled'), xstate: join(scratch, 'engine-xstate') };
    for (const engine of ['compiled', 'xstate'] as const) {
      const result = fedsim('run', 'scenarios/fmtp/poe-lenore.yaml', '--engine', engine, '--traces', traces[engine]);
      expect(result.code, engine).toBe(0);
    }
    const read = (dir: string) => readFileSync(join(dir, 'fmtp', 'poe-lenore.ndjson'), 'utf8');
    expect(read(traces.xstate)).toBe(read(traces.compiled));
  });

  it('exits 1 when an expectation fails, saying which and how to replay', () => {
    const file = join(scratch, 'fails.yaml');
    writeFileSync(
      file,
      readFileSync(join(root, 'scenarios/echo/round-trip.yaml'), 'utf8').replace(
        'bodies: [hello, again] } }\n  - { byMs: 1000, delivered: { to: user@a.test',
        'bodies: [hello] } }\n  - { byMs: 1000, delivered: { to: user@a.test',
      ),
    );
    const result = fedsim('run', file, '--no-traces');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAIL echo/round-trip');
    expect(result.stdout).toContain('echo@b.test received ["hello"]: expected ["hello"], got ["hello","again"]');
    expect(result.stdout).toContain(`replay: fedsim run ${file} --seed 7`);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });

  it('exits 2 on a bad scenario file, with every problem located and no stack trace', () => {
    const file = join(scratch, 'bad.yaml');
    writeFileSync(
      file,
      'name: x\nprotocol: echo\nseed: one\nnodes: {}\nlimits: { timeMsMax: 10, eventsMax: 10, extra: 1 }\n',
    );
    const result = fedsim('run', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:3:7: seed: Invalid input: expected number, received string`);
    expect(result.stderr).toContain(`${file}:4:8: nodes: a scenario needs at least one node`);
    expect(result.stderr).toContain(`${file}:5:41: limits.extra: unknown key \`extra\``);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on bad flags, unknown commands and missing files', () => {
    for (const args of [
      ['run', 'scenarios/echo', '--seed', 'abc'],
      ['run', 'scenarios/echo', '--frobnicate'],
      ['run', 'scenarios/echo', '--engine', 'turbo'],
      ['teleport'],
      ['run', 'no/such/file.yaml'],
      ['bench', '--only', 'scale', '--federation-nodes', '2'],
      ['bench', '--only', 'scale', '--federation-protocols', 'f140,xmpp'],
    ]) {
      const result = fedsim(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  });
});
