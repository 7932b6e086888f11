// The hand-written check of output lines (quickOutput) is exactly as strict as the process
// protocol's zod schema: on every line, valid or not, both give the same verdict, and reading a
// line with it (outputOf) gives the same output or the same error text as the schema alone. It must
// also accept the ordinary lines (otherwise it saves nothing).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outputOf, quickOutput } from '../../src/process/node.js';
import { outputSchema, outputSchemas } from '../../src/process/schema.js';

const kinds = [...Object.keys(outputSchemas), 'x'];
const keys = [
  'conn',
  'bytes',
  'decoded',
  'id',
  'delayMs',
  'machine',
  'value',
  'what',
  'detail',
  'key',
  'user',
  'from',
  'body',
  'code',
  'reason',
  'target',
  'prefix',
  'endpoint',
  'role',
  'port',
  'query',
  'name',
  'type',
  'extra',
  '__proto__',
  'toString',
];
const endpoints = [
  { host: 'a.test', port: 80 },
  { host: 'a.test', port: 0 },
  { host: 'a.test', port: 65_535 },
  { host: 'a.test', port: 65_536 },
  { host: 'a.test', port: -1 },
  { host: 'a.test', port: 1.5 },
  { host: 'a.test', port: '80' },
  { host: 5, port: 80 },
  { host: 'a.test' },
  { port: 80 },
  { host: 'a.test', port: 80, path: '/x' },
  { host: 'a.test', port: 80, extra: 1 },
  { path: '/run/x.sock' },
  { path: '' },
  { path: 1 },
  { path: '/x', extra: 1 },
  { host: '/x' },
];
const plainValues: unknown[] = [
  ...['', 'a', 'o1', 'idle', 'server', 'client', 'A', 'MX', 'SRV', 'TXT', 'AAAA'],
  ...[0, -0, -1, 5, 2.5, 65_535, 2 ** 53 - 1, 2 ** 53, 1e300, Infinity, -Infinity],
  true,
  false,
  null,
  { nested: 1 },
  [1],
  [],
];
const values = fc.constantFrom(...plainValues, ...endpoints);

/** A valid line of each kind: mutated below into near misses. */
const valid: Record<string, Record<string, unknown>> = {
  listen: { kind: 'listen', endpoint: { host: 'n1.test', port: 8140 } },
  unlisten: { kind: 'unlisten', endpoint: { path: '/run/x.sock' } },
  connect: { kind: 'connect', conn: 'o1', target: { host: 'n2.test', port: 4140 } },
  write: { kind: 'write', conn: 'o1', bytes: 'SGk=', decoded: { verb: 'MSG' } },
  close: { kind: 'close', conn: 'in:1' },
  'tls.start': { kind: 'tls.start', conn: 'o1', role: 'client' },
  'datagram.send': { kind: 'datagram.send', port: 53, target: { host: 'n2.test', port: 53 }, bytes: '' },
  'dns.query': { kind: 'dns.query', query: 'q1', name: 'n2.test', type: 'MX' },
  'timer.set': { kind: 'timer.set', id: 'call:o1', delayMs: 2000 },
  'timer.cancel': { kind: 'timer.cancel', id: 'call:o1' },
  deliver: { kind: 'deliver', user: 'b@n2', from: 'a@n1', body: 'hi', id: 'n1#3', detail: { group: 'g' } },
  reject: { kind: 'reject', code: 'f140.refused', reason: 'no', detail: { to: 'b' } },
  note: { kind: 'note', what: 'f140.msg.queued', detail: { id: 'a#1' } },
  state: { kind: 'state', machine: 'peer', value: 'idle' },
  'store.put': { kind: 'store.put', key: 'f140/seq', value: 3 },
  'store.delete': { kind: 'store.delete', key: 'f140/seq' },
  'store.get': { kind: 'store.get', key: 'f140/seq' },
  'store.keys': { kind: 'store.keys', prefix: 'f140/q/' },
  'conn.buffered': { kind: 'conn.buffered', conn: 'o1' },
  end: { kind: 'end' },
};

/** Random kinds with random fields: mostly invalid. */
const anyLine = fc
  .tuple(fc.constantFrom(...kinds), fc.dictionary(fc.constantFrom(...keys), values, { maxKeys: 5 }))
  .map(([kind, rest]) => ({ kind, ...rest }));
/** Every valid line with one field dropped, or set to each value above: each near miss there is. */
const nearMisses: Record<string, unknown>[] = [];
for (const line of Object.values(valid)) {
  // Its own fields, one it may have (an optional one of another kind), and two it never has.
  for (const key of [...Object.keys(line), 'detail', 'extra', '__proto__']) {
    const { [key]: _dropped, ...rest } = line;
    if (key in line) nearMisses.push(rest);
    for (const value of [...plainValues, ...endpoints]) nearMisses.push({ ...line, [key]: value });
  }
}
/** A valid line with two or three fields dropped or changed. */
const nearLine = fc
  .tuple(
    fc.constantFrom(...Object.keys(valid)),
    fc.array(fc.tuple(fc.boolean(), fc.constantFrom('kind', ...keys), values), { minLength: 2, maxLength: 3 }),
  )
  .map(([kind, changes]) => {
    const line: Record<string, unknown> = { ...valid[kind] };
    for (const [drop, key, value] of changes) {
      if (drop) delete line[key];
      else line[key] = value;
    }
    return line;
  });

/** Reading a line with the schema alone. */
const schemaOnly = (): undefined => undefined;

/** Whether both paths agree on `drawn` written as JSON text; true when the schema accepts it. */
function agree(drawn: Record<string, unknown>): boolean {
  const line = JSON.stringify(drawn);
  const value: unknown = JSON.parse(line);
  const schema = outputSchema.safeParse(value);
  const quick = quickOutput(value);
  expect(quick !== undefined, line).toBe(schema.success);
  if (quick !== undefined) expect(quick).toEqual(schema.data);
  // The same output, or the same words, whichever path reads the line.
  expect(outputOf(line)).toEqual(outputOf(line, schemaOnly));
  return schema.success;
}

describe('quickOutput', () => {
  it(`gives the schema's verdict on every near miss of a valid line (${nearMisses.length})`, () => {
    let accepted = 0;
    for (const line of nearMisses) if (agree(line)) accepted += 1;
    expect(accepted).toBeGreaterThan(nearMisses.length / 20);
  });

  for (const [name, lines, minAccepted] of [
    ['any fields', anyLine, 20],
    ['valid lines with two or three changes', nearLine, 200],
  ] as const) {
    it(`gives the schema's verdict on every line: ${name} (seed 20261206, 5,000 lines)`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(lines, (drawn: Record<string, unknown>) => {
          if (agree(drawn)) accepted += 1;
        }),
        { seed: 20_261_206, numRuns: 5_000 },
      );
      // Both verdicts drawn often enough to mean something.
      expect(accepted).toBeGreaterThan(minAccepted);
      expect(accepted).toBeLessThan(4_500);
    });
  }

  it('accepts every valid line of each kind as it is, and keys of its own named __proto__ are no loophole', () => {
    for (const line of Object.values(valid)) expect(quickOutput(JSON.parse(JSON.stringify(line)))).toEqual(line);
    expect(quickOutput({ kind: 'write', conn: 'o1', bytes: 'SGk=' })).toBeDefined();
    expect(quickOutput({ kind: 'close', conn: '' })).toBeUndefined();
    expect(quickOutput({ kind: 'close', conn: 'o1', extra: 1 })).toBeUndefined();
    const own = '{"kind":"close","conn":"o1","__proto__":{}}';
    expect(quickOutput(JSON.parse(own))).toBeUndefined();
    expect(outputOf(own)).toBe(outputOf(own, schemaOnly));
    expect(outputOf(own)).toMatch(/outside the process protocol \(Unrecognized key: "__proto__"\)/);
  });

  it('words a line that is not JSON, or outside the schema, as the schema does', () => {
    expect(outputOf('{"kind":')).toBe('wrote a line that is not JSON');
    expect(outputOf('{"kind":"timer.set","id":"t","delayMs":-1}')).toBe(
      'wrote a line outside the process protocol (delayMs: Too small: expected number to be >=0)',
    );
    expect(outputOf('{"kind":"end"}')).toEqual({ kind: 'end' });
  });
});
