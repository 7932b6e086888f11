// Goal: `jsonClone` returns exactly what a JSON round trip returns, so that the durable store,
// which copies with it, keeps the semantics it had when it stored JSON text: the same values,
// the same member order, -0 as 0, non-finite numbers as null, undefined members dropped, and
// JSON's own result or error for anything that is not plain data (toJSON, class instances,
// cycles, BigInt, a `__proto__` member).
// Method: fast-check values built from JSON's awkward corners, compared with the round trip
// (deep equality, member order, and Object.is on every leaf); fixed examples for the fallbacks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonClone } from '../../src/core/json-clone.js';

function roundTrip(value: unknown): unknown {
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

/** Same shape, same member order, and `Object.is` on every leaf (so -0 and 0 differ). */
function sameJson(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== 'object' || expected === null) return Object.is(actual, expected);
  if (typeof actual !== 'object' || actual === null) return false;
  if (Array.isArray(expected) !== Array.isArray(actual)) return false;
  if (Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) return false;
  const keys = Object.keys(expected);
  const actualKeys = Object.keys(actual);
  if (keys.length !== actualKeys.length || keys.some((key, i) => key !== actualKeys[i])) return false;
  return keys.every((key) =>
    sameJson((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key]),
  );
}

const awkwardLeaf = fc.oneof(
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, undefined, null, true, false, 1e21, -1e-7),
  fc.constant(() => 1),
  fc.constant(Symbol('s')),
  fc.double(),
  fc.integer(),
  fc.string({ unit: 'binary' }),
);

const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, awkwardLeaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  object: fc.dictionary(
    fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom('1', '10', '-1', 'a', 'toString')),
    tie('node'),
    {
      maxKeys: 5,
    },
  ),
})).node;

describe('jsonClone', () => {
  it('returns what a JSON round trip returns, member order and -0 included', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(sameJson(jsonClone(v), roundTrip(v))).toBe(true);
      }),
      { seed: 20261123, numRuns: 2000 },
    );
  });

  it('copies: changing the source or the copy leaves the other alone', () => {
    const source = { list: [1, { a: 'x' }] };
    const copy = jsonClone(source) as typeof source;
    (copy.list[1] as { a: string }).a = 'changed';
    copy.list.push(3);
    expect(source).toEqual({ list: [1, { a: 'x' }] });
  });

  it('hands anything that is not plain data to JSON: toJSON, class instances, typed arrays, Maps', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const cases: unknown[] = [
      new Date(0),
      { when: new Date(86_400_000), nested: { toJSON: () => 'custom' } },
      new Point(1, 2),
      [new Map([[1, 2]]), new Set([1]), new Uint8Array([1, 2])],
      Object.assign(Object.create(null) as object, { a: 1 }),
      JSON.parse('{"__proto__": {"a": 1}, "b": 2}') as unknown,
      [1, , 3], // eslint-disable-line no-sparse-arrays -- a hole, which JSON writes as null
    ];
    for (const v of cases) expect(sameJson(jsonClone(v), roundTrip(v))).toBe(true);
  });

  it('keeps a __proto__ member as a member, as JSON.parse does, without changing the prototype', () => {
    const copy = jsonClone(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__']);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('gives undefined where JSON.stringify gives nothing', () => {
    expect(jsonClone(undefined)).toBeUndefined();
    expect(jsonClone(() => 1)).toBeUndefined();
    expect(jsonClone(Symbol('s'))).toBeUndefined();
  });

  it("raises JSON's own errors for a cycle and a BigInt", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => jsonClone(cycle)).toThrow(TypeError);
    expect(() => jsonClone({ n: 1n })).toThrow(TypeError);
  });
});
