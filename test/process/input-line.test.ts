// The input lines a process node writes are put together by hand (inputText, timerText): each is
// the text JSON.stringify gives for the input with `now` added and its bytes in base64, the line
// the process protocol documents, and a valid line of its schema.
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inputText, timerText } from '../../src/process/node.js';
import { inputSchemas } from '../../src/process/schema.js';
import type { NodeInput } from '../../src/protocols/protocol.js';

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('"', '\\', '\n', '\u2028', '\ud800'),
);
const conn = text.filter((id) => id !== '');
const port = fc.integer({ min: 0, max: 65_535 });
const endpoint = fc.oneof(fc.record({ host: text, port }), fc.record({ path: conn }));
const now = fc.oneof(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }));
const bytes = fc.uint8Array({ maxLength: 64 });

/** Inputs of every kind, fields in the order the world builds them. */
const input: fc.Arbitrary<NodeInput> = fc.oneof(
  fc.record({ kind: fc.constant('conn.opened' as const), conn }),
  fc.record({
    kind: fc.constant('conn.failed' as const),
    conn,
    reason: fc.constantFrom('refused', 'timeout', 'unresolved'),
  }),
  fc.record({ kind: fc.constant('conn.accepted' as const), conn, local: endpoint, remote: text }),
  fc.record({ kind: fc.constant('conn.data' as const), conn, bytes }),
  fc.record({ kind: fc.constant('conn.closed' as const), conn, reason: fc.constantFrom('closed', 'reset') }),
  fc.record({ kind: fc.constant('conn.drain' as const), conn }),
  fc.record(
    { kind: fc.constant('conn.tls' as const), conn, ok: fc.boolean(), reason: text },
    { requiredKeys: ['kind', 'conn', 'ok'] },
  ),
  fc.record({ kind: fc.constant('datagram' as const), source: fc.record({ host: text, port }), port, bytes }),
  fc.record({
    kind: fc.constant('dns.answer' as const),
    query: text,
    name: text,
    type: fc.constantFrom('A', 'MX', 'SRV', 'TXT'),
    status: fc.constantFrom('ok', 'nxdomain', 'servfail'),
    records: fc.array(text, { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('command' as const), command: fc.jsonValue() }),
);

/** The line as JSON.stringify writes it: the input's fields, its bytes in base64, then `now`. */
function reference(given: NodeInput, at: number): string {
  const encoded = 'bytes' in given ? { bytes: Buffer.from(given.bytes).toString('base64') } : {};
  return JSON.stringify({ ...given, ...encoded, now: at });
}

describe('input lines', () => {
  it('are the text JSON.stringify writes, and valid lines of the schema (seed 20261206, 3,000 inputs)', () => {
    fc.assert(
      fc.property(input, now, (given, at) => {
        const line = inputText(given, at);
        expect(line).toBe(reference(given, at));
        expect(inputSchemas[given.kind].safeParse(JSON.parse(line)).success).toBe(true);
      }),
      { seed: 20_261_206, numRuns: 3_000 },
    );
  });

  it('a timer line likewise; a command JSON cannot write leaves its field out, as JSON.stringify does', () => {
    fc.assert(
      fc.property(text, now, (id, at) => {
        expect(timerText(id, at)).toBe(JSON.stringify({ kind: 'timer', id, now: at }));
      }),
      { seed: 20_261_206, numRuns: 500 },
    );
    expect(inputText({ kind: 'command', command: undefined }, 5)).toBe('{"kind":"command","now":5}');
    expect(inputText({ kind: 'conn.opened', conn: 'o1' }, -0)).toBe('{"kind":"conn.opened","conn":"o1","now":0}');
    expect(inputText({ kind: 'conn.data', conn: 'in:1', bytes: new Uint8Array([104, 105]) }, 7)).toBe(
      '{"kind":"conn.data","conn":"in:1","bytes":"aGk=","now":7}',
    );
  });
});
