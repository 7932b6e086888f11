// Goal: a node's report outputs (deliver, reject, note) become the same trace event on both
// hosts, with a fixed field order and absent optional fields left out, whatever order the node
// built its output in.
// Method: one tiny protocol whose node emits three reports at start (fields in a scrambled order,
// one optional field undefined); run it in the World and on a RealHost and compare the recorded
// lines of those events, and pin the line of each.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NodeOutput, Protocol } from '../../src/protocols/protocol.js';
import { RealHost } from '../../src/real/host.js';
import { Simulator } from '../../src/sim/simulator.js';
import { World } from '../../src/sim/world.js';
import type { TraceEvent } from '../../src/trace/events.js';
import { isReport, reportEvent } from '../../src/trace/record-output.js';
import { TraceRecorder } from '../../src/trace/recorder.js';

const reports: NodeOutput[] = [
  { detail: { hop: 2 }, body: 'hi', from: 'b@b.test', id: undefined, user: 'a', kind: 'deliver' },
  { reason: 'no such user', code: 'user.unknown', kind: 'reject' },
  { what: 'cache.hit', kind: 'note', detail: undefined },
];

const reporter: Protocol = {
  name: 'reporter',
  configSchema: z.unknown(),
  commandSchema: z.unknown(),
  createNode: (host) => ({
    start: () => reports.forEach((output) => host.emit(output)),
    handle: () => undefined,
    stop: () => undefined,
    view: () => null,
  }),
};

const kinds = new Set(['deliver', 'reject', 'note']);
/** The report events as lines, without the fields that depend on the host (time, seq). */
const lines = (events: readonly TraceEvent[]) =>
  events
    .filter((event) => kinds.has(event.kind))
    .map(({ seq: _seq, atMs: _atMs, lamport: _lamport, ...body }) => JSON.stringify(body));

const expected = [
  '{"node":"r","kind":"deliver","user":"a","from":"b@b.test","body":"hi","detail":{"hop":2}}',
  '{"node":"r","kind":"reject","code":"user.unknown","reason":"no such user"}',
  '{"node":"r","kind":"note","what":"cache.hit"}',
];

describe('recordOutput: one mapping of report outputs for both hosts', () => {
  it('records each report with its fields in a fixed order, optional fields left out when absent', () => {
    expect(reports.every(isReport)).toBe(true);
    expect(reports.map((output) => (isReport(output) ? JSON.stringify(reportEvent(output)) : ''))).toEqual(
      expected.map((line) => line.replace('"node":"r",', '')),
    );
  });

  it('gives the same events in the simulator and on the real host', async () => {
    const sim = new Simulator();
    const trace = new TraceRecorder({
      format: 'fedsim-trace',
      version: 1,
      scenario: 'record-output',
      seed: 1,
      protocols: ['reporter'],
      nodes: [{ id: 'r', host: 'r', protocol: 'reporter' }],
    });
    const world = new World(sim, 1, trace);
    world.addNode({ id: 'r', protocol: reporter, config: null });
    world.startAll();
    expect(lines(trace.events)).toEqual(expected);
    expect(world.deliveries).toEqual([{ atMs: 0, node: 'r', user: 'a', from: 'b@b.test', body: 'hi' }]);

    const real = new RealHost({ trace: 'memory', id: 'r', protocol: reporter, config: null, seed: 1 });
    await real.start();
    await real.close();
    expect(lines(real.trace.events)).toEqual(expected);
  });
});
