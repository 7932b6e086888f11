// The hand-written check of frequent output lines (quickOutput) accepts only what the process
// protocol's schema accepts, and it does accept the ordinary lines (otherwise it saves nothing).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quickOutput } from '../../src/process/node.js';
import { outputSchema } from '../../src/process/schema.js';

const kinds = [
  'write',
  'close',
  'timer.set',
  'timer.cancel',
  'state',
  'note',
  'store.put',
  'store.delete',
  'store.get',
  'store.keys',
  'deliver',
  'reject',
  'connect',
  'end',
  'x',
];
const keys = [
  'kind',
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
  'extra',
];
const values = fc.oneof(
  fc.constantFrom('', 'a', 'o1', 'idle'),
  fc.constantFrom(0, -1, 5, 2.5, 1e300),
  fc.boolean(),
  fc.constant(null),
  fc.constant({ nested: 1 }),
  fc.constant([1]),
  fc.constantFrom(
    { host: 'a.test', port: 80 },
    { host: 'a.test', port: 70_000 },
    { host: 'a.test', port: 1.5 },
    { host: 'a.test' },
    { host: 'a.test', port: 80, path: '/x' },
    { path: '/run/x.sock' },
    { path: '' },
  ),
);
const line = fc
  .tuple(fc.constantFrom(...kinds), fc.dictionary(fc.constantFrom(...keys.slice(1)), values, { maxKeys: 4 }))
  .map(([kind, rest]) => ({ kind, ...rest }));

describe('quickOutput', () => {
  it('accepts nothing the schema refuses (seed 20261206, 20,000 lines)', () => {
    fc.assert(
      fc.property(line, (value) => {
        if (quickOutput(value) !== undefined) expect(outputSchema.safeParse(value).success).toBe(true);
      }),
      { seed: 20_261_206, numRuns: 20_000 },
    );
  });

  it('accepts the ordinary lines', () => {
    for (const value of [
      { kind: 'write', conn: 'o1', bytes: 'SGk=' },
      { kind: 'write', conn: 'o1', bytes: 'SGk=', decoded: { verb: 'MSG' } },
      { kind: 'close', conn: 'in:1' },
      { kind: 'timer.set', id: 'call:o1', delayMs: 2000 },
      { kind: 'timer.cancel', id: 'call:o1' },
      { kind: 'state', machine: 'peer', value: 'idle' },
      { kind: 'note', what: 'f140.msg.queued', detail: { id: 'a#1' } },
      { kind: 'store.put', key: 'f140/seq', value: 3 },
      { kind: 'store.delete', key: 'f140/seq' },
      { kind: 'store.get', key: 'f140/seq' },
      { kind: 'store.keys', prefix: 'f140/q/' },
      { kind: 'deliver', user: 'b@n2', from: 'a@n1', body: 'hi', id: 'n1#3', detail: { group: 'g' } },
      { kind: 'reject', code: 'f140.refused', reason: 'no', detail: { to: 'b' } },
      { kind: 'connect', conn: 'o1', target: { host: 'n2.test', port: 4140 } },
      { kind: 'connect', conn: 'o2', target: { path: '/run/x.sock' } },
    ])
      expect(quickOutput(value)).toBe(value);
    expect(quickOutput({ kind: 'close', conn: '' })).toBeUndefined();
    expect(quickOutput({ kind: 'close', conn: 'o1', extra: 1 })).toBeUndefined();
  });
});
