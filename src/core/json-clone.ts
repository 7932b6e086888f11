/**
 * A copy of a value as a JSON round trip would give it back, without the text in between. The
 * durable store copies every value it is given and hands out (so that no node keeps a live
 * reference across a crash); F140's delivered-id window and FMTP's accepted list are a thousand
 * entries each, read and written per message, and serialising them was a fifth of those runs.
 *
 * Plain data (strings, finite numbers, booleans, null, arrays, objects whose prototype is
 * `Object.prototype` or null) is copied directly, with JSON's rules: `-0` becomes `0`, a
 * non-finite number `null`, an `undefined`, function or symbol is dropped from an object and
 * becomes `null` in an array. Anything else (a `toJSON` method, a class instance, a `__proto__`
 * key, nesting deeper than `plainDepthMax`, a cycle) sends the whole value through
 * `JSON.parse(JSON.stringify(value))`, so the result, or the error, is JSON's own. Pure.
 */

/** Nesting deeper than this is handed to JSON (which also reports a cycle). */
const plainDepthMax = 256;

/** Thrown inside the copy when the value is not plain data; never escapes `jsonClone`. */
const notPlain: unique symbol = Symbol('not plain');
/** An object member or array element that JSON leaves out (object) or writes as null (array). */
const omitted: unique symbol = Symbol('omitted');

/** What `JSON.parse(JSON.stringify(value))` returns (`undefined` where `stringify` gives nothing). */
export function jsonClone(value: unknown): unknown {
  try {
    const copy = copyPlain(value, 0);
    return copy === omitted ? undefined : copy;
  } catch (error) {
    if (error !== notPlain) throw error;
    const text = JSON.stringify(value) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }
}

function copyPlain(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // `value === 0` is also true of -0, which JSON writes as 0.
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case 'undefined':
    case 'function':
    case 'symbol':
      return omitted;
    case 'bigint':
      throw notPlain;
    default:
      break;
  }
  if (value === null) return null;
  if (depth >= plainDepthMax) throw notPlain;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) throw notPlain;
    const length = value.length;
    const copy = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      const element = copyPlain(value[i], depth + 1);
      copy[i] = element === omitted ? null : element;
    }
    return copy;
  }
  if (prototype !== Object.prototype && prototype !== null) throw notPlain;
  const source = value as Record<string, unknown>;
  if (typeof source.toJSON === 'function') throw notPlain;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    // Assigning `__proto__` would set the copy's prototype; JSON.parse makes it an own member.
    if (key === '__proto__') throw notPlain;
    const member = copyPlain(source[key], depth + 1);
    if (member !== omitted) copy[key] = member;
  }
  return copy;
}
