// Goal: expectations say what they mean. Patterns are checked against the trace event schema (a
// misspelt kind or field is a located error with a did-you-mean, not a check that always holds);
// sequences state partial orders; never takes a time window; delivered can name the node; aimed
// faults damage the named bytes of the matched segment only; trace paths stay under --traces.
// Method: parse small scenarios and run them; order and aimed-fault functions on made-up inputs.
import { describe, expect, it } from 'vitest';
import { tracePathFor } from '../../src/cli/run.js';
import { ScenarioError, formatProblem } from '../../src/core/errors.js';
import { aimedApplies, applyAimed } from '../../src/sim/aimed-fault.js';
import { parseScenario } from '../../src/scenario/load.js';
import { checkOrder } from '../../src/scenario/order.js';
import { runScenario } from '../../src/scenario/run.js';
import type { TraceEvent } from '../../src/trace/events.js';

function problems(text: string): string[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a ScenarioError');
}

/** Echo: a.test sends `hi` to b.test at 5ms; b.test echoes it. Fixed delays of 10ms. */
const echo = (expect: string) => `name: t/echo
protocol: echo
seed: 1
nodes: { a.test: {}, b.test: {} }
network: { delayMsMin: 10, delayMsMax: 10 }
steps:
  - { atMs: 5, do: command, node: a.test, command: { type: send, to: b.test, body: hi } }
expect:
${expect}
limits: { timeMsMax: 2000, eventsMax: 1000 }
`;

function verdict(expectations: string): { verdict: string; failures: string[] } {
  const report = runScenario(parseScenario(echo(expectations), 't.yaml'));
  return { verdict: report.verdict, failures: report.results.filter((r) => !r.ok).map((r) => r.message) };
}

const event = (seq: number, kind: string, node: string): TraceEvent =>
  ({ seq, atMs: seq, node, lamport: 0, kind, what: `n${seq}` }) as unknown as TraceEvent;

describe('scenario: checked expectations', () => {
  it('locates unknown kinds, fields and payload fields with a did-you-mean, and bad groups', () => {
    const found = problems(
      echo(`  - never: { kind: delivr }
  - never: { kind: deliver, nod: b.test }
  - { byMs: 100, eventually: { kind: send, payload: { decodd: {} } } }
  - byMs: 100
    sequence:
      - unordered: []
      - { unordered: [{ kind: note }], extra: 1 }
      - sequence: [{ kind: stat, value: x }]
  - always: noDuplicateDelivry`),
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^bad\.yaml:9:20: expect\[0\]\.never\.kind: unknown event kind `delivr` \(did you mean `deliver`\?\)/,
      ),
      expect.stringMatching(
        /^bad\.yaml:10:29: expect\[1\]\.never\.nod: `nod` is not a field of `deliver` events \(did you mean `node`\?\)/,
      ),
      expect.stringMatching(
        /^bad\.yaml:11:55: expect\[2\]\.eventually\.payload\.decodd: `decodd` is not a field of a payload \(did you mean `decoded`\?\)/,
      ),
      expect.stringMatching(/^bad\.yaml:14:20: expect\[3\]\.sequence\[0\]\.unordered: `unordered` lists at least one/),
      expect.stringMatching(/^bad\.yaml:15:40: expect\[3\]\.sequence\[1\]\.extra: a group has one key/),
      expect.stringMatching(
        /^bad\.yaml:16:28: expect\[3\]\.sequence\[2\]\.sequence\[0\]\.kind: unknown event kind `stat` \(did you mean `state`\?\)/,
      ),
      expect.stringMatching(
        /^bad\.yaml:17:13: expect\[4\]\.always: unknown invariant `noDuplicateDelivry` \(did you mean `noDuplicateDelivery`\?\)/,
      ),
    ]);
  });

  it('never holds outside its window and fails inside it', () => {
    // b.test delivers `hi` at 5 + 10 (connect) + 10 (accept->data) ms or so; the window decides.
    const delivered = runScenario(parseScenario(echo('  - always: noDuplicateDelivery'), 't.yaml')).trace.events.find(
      (e) => e.kind === 'deliver' && e.node === 'b.test',
    );
    const at = delivered?.atMs ?? -1;
    expect(at).toBeGreaterThan(5);
    expect(verdict(`  - { never: { kind: deliver, node: b.test }, untilMs: ${at - 1} }`).verdict).toBe('pass');
    expect(verdict(`  - { never: { kind: deliver, node: b.test }, fromMs: ${at + 1} }`).verdict).toBe('pass');
    expect(verdict(`  - { never: { kind: deliver, node: b.test }, fromMs: ${at}, untilMs: ${at} }`).verdict).toBe(
      'fail',
    );
    expect(verdict('  - never: { kind: deliver, node: b.test }').verdict).toBe('fail');
    expect(problems(echo('  - { never: { kind: deliver }, fromMs: 10, untilMs: 5 }'))).toEqual([
      expect.stringMatching(/expect\[0\]\.untilMs: must not be less than fromMs/),
    ]);
  });

  it('delivered names the node, the user, or both', () => {
    expect(verdict('  - { byMs: 1000, delivered: { node: b.test, bodies: [hi] } }').verdict).toBe('pass');
    expect(verdict('  - { byMs: 1000, delivered: { node: a.test, to: echo@b.test, bodies: [] } }').verdict).toBe(
      'pass',
    );
    expect(verdict('  - { byMs: 1000, delivered: { node: a.test, bodies: [] } }')).toEqual({
      verdict: 'fail',
      failures: ['expected [], got ["hi"]'],
    });
    expect(problems(echo('  - { byMs: 10, delivered: { node: c.test, bodies: [] } }'))).toEqual([
      expect.stringMatching(/expect\[0\]\.delivered\.node: unknown node `c\.test`/),
    ]);
    expect(problems(echo('  - { byMs: 10, delivered: { bodies: [] } }'))).toEqual([
      expect.stringMatching(/expect\[0\]\.delivered: name the receiving user/),
    ]);
  });

  it('sequence groups: unordered accepts either order, a plain sequence only one', () => {
    const events = [event(1, 'note', 'x'), event(2, 'note', 'b'), event(3, 'note', 'a'), event(4, 'note', 'y')];
    const [x, a, b, y] = [
      { kind: 'note', node: 'x' },
      { kind: 'note', node: 'a' },
      { kind: 'note', node: 'b' },
      { kind: 'note', node: 'y' },
    ];
    expect(checkOrder([x, { unordered: [a, b] }, y], events)).toBe(undefined);
    expect(checkOrder([x, a, b, y], events)).toMatch(/never came after the events before it: note node=b/);
    expect(checkOrder([x, { unordered: [{ sequence: [b, a] }, y] }], events)).toBe(undefined);
    expect(checkOrder([{ unordered: [a, b] }, x], events)).toMatch(/note node=x/);
    // Two patterns of one group never take the same event.
    expect(checkOrder([{ unordered: [a, a] }], events)).toMatch(/matched 1 of 2/);
  });

  it('an aimed fault acts on the matched segment only, on the named bytes', () => {
    const text = new TextEncoder().encode("<message id='m1' from='u1@a.test/r'/>");
    const fault = { mode: 'corrupt', contains: "id='m1'", find: "from='u1@", replace: "from='u1J" } as const;
    expect(
      aimedApplies(fault, new TextEncoder().encode("<message id='m2' from='u1@a.test/r'/>"), () => undefined),
    ).toBe(false);
    expect(aimedApplies(fault, text, () => undefined)).toBe(true);
    expect(new TextDecoder().decode(applyAimed(fault, text).bytes)).toBe("<message id='m1' from='u1Ja.test/r'/>");
    const flip = { mode: 'corrupt', match: { decoded: { type: 'x' } }, find: 'from', offset: 2, xor: 1 } as const;
    expect(aimedApplies(flip, text, () => ({ type: 'y' }))).toBe(false);
    expect(aimedApplies(flip, text, () => ({ type: 'x', more: 1 }))).toBe(true);
    const flipped = applyAimed(flip, text);
    expect(flipped.detail).toEqual({ offset: 19, xor: 1, find: 'from' });
    expect(String.fromCharCode(flipped.bytes[19] ?? 0)).toBe('n');
    const cut = { mode: 'truncate', keepBytes: 5 } as const;
    expect(aimedApplies(cut, text.subarray(0, 5), () => undefined)).toBe(false);
    expect(applyAimed(cut, text).bytes).toHaveLength(5);
  });

  it('aimed corrupt steps run: the first matching segment is damaged, earlier ones pass', () => {
    const scenario = echo('  - { byMs: 1000, delivered: { node: b.test, bodies: [hi, hXllo] } }')
      .replace(
        'steps:\n',
        'steps:\n  - { atMs: 0, do: corrupt, between: [a.test, b.test], find: hello, replace: hXllo }\n',
      )
      .replace(
        'body: hi } }\n',
        'body: hi } }\n  - { atMs: 50, do: command, node: a.test, command: { type: send, to: b.test, body: hello } }\n',
      );
    const report = runScenario(parseScenario(scenario, 't.yaml'));
    expect(report.results.filter((r) => !r.ok)).toEqual([]);
    expect(problems(scenario.replace('replace: hXllo', 'replace: hXllo, offset: 1'))).toEqual([
      expect.stringMatching(/steps\[0\]\.offset: give `replace` \(a text\) or `offset` \(a byte\), not both/),
    ]);
  });

  it('trace paths stay under --traces, and names that clean to the same path stay apart', () => {
    expect(tracePathFor('out', 'echo/round-trip')).toBe('out/echo/round-trip.ndjson');
    for (const name of ['../../x', '/etc/passwd', 'a/../../b', '..', 'a//b']) {
      const path = tracePathFor('out', name);
      expect(path, name).toMatch(/^out\/[^/]/);
      expect(path.split('/'), name).not.toContain('..');
    }
    expect(tracePathFor('out', 'mine/ä')).not.toBe(tracePathFor('out', 'mine/ö'));
    expect(tracePathFor('out', 'mine/ä')).toBe(tracePathFor('out', 'mine/ä'));
  });
});
