// Goal: Bester frames round-trip however the stream is split, and no bytes make a decoder throw,
// hang or buffer past its limit.
// Method: fast-check properties over JSON values, chunkings and arbitrary bytes, plus the edge
// cases by hand (negative length, oversize length, deep nesting, bad UTF-8).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describe as describeBytes,
  encodeFrame,
  encodeFrames,
  FrameDecoder,
  frameBytesMax,
  jsonDepthMax,
  parseClientMessage,
  parseClientMessageBySchema,
  parseFirstMessage,
  parseFirstMessageBySchema,
  parseHandlerReply,
  parseHandlerReplyBySchema,
  parseInformerRequest,
  parseJson,
  parseServerToClient,
  parseServerToClientBySchema,
} from '../../../src/protocols/bester/wire.js';
import type { WireError } from '../../../src/core/errors.js';

/** A parse result with its error reduced to what a node can report: its code and message. */
function comparable(result: { ok: true; value: unknown } | { ok: false; error: WireError }): unknown {
  return result.ok ? result : { ok: false, code: result.error.code, message: result.error.message };
}

/** The nesting walk `parseJson` did before it stopped at the limit: the depth of a parsed JSON value. */
function referenceDepth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, referenceDepth(child));
  return deepest + 1;
}

/** A value of some field: mostly the kinds the schemas look for, sometimes anything at all. */
const fieldValue = fc.oneof(
  fc.constantFrom('good', 'bad', '0', '1', '', 'dummy', 'statusReport', 'receivedMessage', 'server', 'client', 'x'),
  fc.constantFrom(null, undefined, 0, 1, true, [], {}, ['a'], { type: 'x' }),
  fc.string({ maxLength: 4 }),
  fc.anything({ maxDepth: 2 }),
);

/** Ways to make an object that `z.object` and `z.record` may see differently (`z.record` looks at constructors). */
const objectKind = fc.constantFrom(
  'plain',
  'plain',
  'plain',
  'null-prototype',
  'inherited',
  'array',
  'symbol',
  'hidden-symbol',
  'class',
  'constructor-object',
  'constructor-value',
);

/** `record`'s keys and values in an object of the given kind. */
function reshape(record: Record<string, unknown>, kind: string): unknown {
  switch (kind) {
    case 'null-prototype':
      return Object.assign(Object.create(null) as object, record);
    case 'inherited':
      return Object.create(record) as unknown;
    case 'array':
      return Object.assign([], record);
    case 'symbol':
      return { ...record, [Symbol('s')]: 1 };
    case 'hidden-symbol':
      return Object.defineProperty({ ...record }, Symbol('s'), { value: 1, enumerable: false });
    case 'class':
      return Object.assign(new (class Thing {})(), record);
    case 'constructor-object':
      return { ...record, constructor: { prototype: {} } };
    case 'constructor-value':
      return { ...record, constructor: 1 };
    default:
      return record;
  }
}

/** Objects over the keys the schemas read, of every kind. */
const shaped = (keys: readonly string[], inner: fc.Arbitrary<unknown>) =>
  fc
    .tuple(fc.dictionary(fc.constantFrom(...keys), inner, { maxKeys: keys.length }), objectKind)
    .map(([record, kind]) => reshape(record, kind));

const messageKeys = ['type', 'id', 'data', 'status', 'messageType', 'scope', 'command', 'authentication'];
const level2 = fc.oneof(fieldValue, shaped(messageKeys, fieldValue));
const level1 = fc.oneof(fieldValue, shaped([...messageKeys, 'header', 'payload'], level2));
/** Messages near the shapes the parsers accept, and some far from them. */
const nearMessage = fc.oneof(shaped(['header', 'payload', 'data', 'command'], level1), fc.anything({ maxDepth: 4 }));

/** Valid messages of each kind, with one field replaced now and then. */
const validMessages = fc.oneof(
  fc.record({ type: fc.string(), id: fc.string(), data: fc.jsonValue({ maxDepth: 2 }) }).map((payload) => ({
    header: {},
    payload,
  })),
  fc.record({ type: fc.string(), data: fc.jsonValue({ maxDepth: 2 }) }).map((payload) => ({
    header: { scope: 'server' },
    payload,
  })),
  fc.record({ username: fc.string(), password: fc.string() }).map((authentication) => ({
    header: { scope: 'client', authentication },
    payload: { type: 'dummy', id: 'auth', data: null },
  })),
  fc
    .constantFrom('good', 'bad')
    .map((status) => ({ header: { status, messageType: 'statusReport' }, payload: { id: 'i' } })),
  fc.jsonValue({ maxDepth: 2 }).map((data) => ({
    header: { messageType: 'receivedMessage' },
    payload: { data, type: 't' },
  })),
  fc.string().map((id) => ({ header: { status: '0' }, payload: { data: null, type: 'dummy', id } })),
  fc
    .tuple(fc.constantFrom('0', '1', '007', '-1', '1e3', ' 0'), fc.jsonValue({ maxDepth: 2 }))
    .map(([status, data]) => ({
      header: { status, command: { type: 'sendClients', data: ['u'] } },
      data,
    })),
);

/** Replaces the value at one path of a message (built from JSON: plain objects and arrays) with `replacement`. */
function mutate(message: unknown, pick: number, replacement: unknown): unknown {
  const paths: string[][] = [];
  const walk = (value: unknown, path: string[]) => {
    paths.push(path);
    if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) walk((value as Record<string, unknown>)[key], [...path, key]);
    }
  };
  walk(message, []);
  const path = paths[pick % paths.length] as string[];
  const copy = structuredClone(message);
  if (path.length === 0) return replacement;
  let at = copy as Record<string, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (replacement === deleteKey) delete at[last];
  else at[last] = replacement;
  return copy;
}

const deleteKey = Symbol('delete');

/** Splits `bytes` at the given cut points. */
function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const point of [...points, bytes.length]) {
    parts.push(bytes.subarray(at, point));
    at = point;
  }
  return parts;
}

describe('bester: wire', () => {
  it('writes a 4-byte little-endian length, then compact UTF-8 JSON', () => {
    const frame = encodeFrame({ a: 'é' });
    expect([...frame.subarray(0, 4)]).toEqual([10, 0, 0, 0]);
    expect(new TextDecoder().decode(frame.subarray(4))).toBe('{"a":"é"}');
  });

  it('round-trips any JSON values however the stream is split (property, 200 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (values, cuts) => {
          const decoder = new FrameDecoder();
          const bodies: Uint8Array[] = [];
          for (const part of chunks(encodeFrames(values), cuts)) {
            const result = decoder.push(part);
            expect(result.ok).toBe(true);
            if (result.ok) bodies.push(...result.value);
          }
          expect(decoder.pendingBytes).toBe(0);
          // JSON has no -0; compare through JSON text.
          expect(
            bodies.map((body) => JSON.stringify(parseJson(body).ok && (parseJson(body) as { value: unknown }).value)),
          ).toEqual(values.map((v) => JSON.stringify(JSON.parse(JSON.stringify(v)))));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a negative length and a length over frameBytesMax, and stays failed', () => {
    const negative = new FrameDecoder();
    expect(negative.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toMatchObject({
      ok: false,
      error: { code: 'frame.length-negative' },
    });
    expect(negative.push(encodeFrame(1))).toMatchObject({ ok: false });
    const large = new FrameDecoder();
    const header = new Uint8Array(4);
    new DataView(header.buffer).setInt32(0, frameBytesMax + 1, true);
    expect(large.push(header)).toMatchObject({ ok: false, error: { code: 'frame.too-large' } });
  });

  it('holds an unfinished frame without delivering it', () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame({ x: 1 });
    expect(decoder.push(frame.subarray(0, 6))).toEqual({ ok: true, value: [] });
    expect(decoder.pendingBytes).toBe(6);
    const rest = decoder.push(frame.subarray(6));
    expect(rest.ok && rest.value.length).toBe(1);
  });

  it('refuses bad UTF-8, bad JSON and JSON nested deeper than jsonDepthMax', () => {
    expect(parseJson(new Uint8Array([0xc3, 0x28]))).toMatchObject({ ok: false, error: { code: 'utf8.invalid' } });
    expect(parseJson(new TextEncoder().encode('{"a":'))).toMatchObject({ ok: false, error: { code: 'json.invalid' } });
    const deep = '['.repeat(jsonDepthMax + 1) + ']'.repeat(jsonDepthMax + 1);
    expect(parseJson(new TextEncoder().encode(deep))).toMatchObject({ ok: false, error: { code: 'json.too-deep' } });
    const ok = '['.repeat(jsonDepthMax) + ']'.repeat(jsonDepthMax);
    expect(parseJson(new TextEncoder().encode(ok)).ok).toBe(true);
    const huge = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(parseJson(new TextEncoder().encode(huge)).ok).toBe(false);
  });

  it('requires type, id and data in a client message, and a header key', () => {
    expect(parseClientMessage({ header: {}, payload: { type: 't', id: 'i', data: null } }).ok).toBe(true);
    expect(parseClientMessage({ header: {}, payload: { type: 't', id: 'i' } }).ok).toBe(false);
    expect(parseClientMessage({ header: {}, payload: { type: 't', data: 1 } }).ok).toBe(false);
    expect(parseClientMessage({ payload: { type: 't', id: 'i', data: 1 } }).ok).toBe(false);
    expect(parseClientMessage({ header: {}, payload: { type: 1, id: 'i', data: 1 } }).ok).toBe(false);
  });

  it('reads handler replies: status as an unsigned integer string, command required when it is 0', () => {
    expect(parseHandlerReply({ header: { status: '0', command: { type: 'sendClients', data: [] } }, data: 1 })).toEqual(
      {
        ok: true,
        value: { statusCode: 0, command: { type: 'sendClients', data: [] }, data: 1 },
      },
    );
    expect(parseHandlerReply({ header: { status: '2' }, data: 1 })).toEqual({
      ok: true,
      value: { statusCode: 2, data: 1 },
    });
    expect(parseHandlerReply({ header: { status: '0' }, data: 1 }).ok).toBe(false);
    expect(parseHandlerReply({ header: { status: 0, command: { type: 'sendClients', data: [] } }, data: 1 }).ok).toBe(
      false,
    );
    expect(
      parseHandlerReply({ header: { status: '-1', command: { type: 'sendClients', data: [] } }, data: 1 }).ok,
    ).toBe(false);
  });

  it('parses exactly as the zod schemas do: same values, same refusals (property, 1,500 runs of each kind of input)', () => {
    const pairs = [
      [parseFirstMessage, parseFirstMessageBySchema],
      [parseClientMessage, parseClientMessageBySchema],
      [parseHandlerReply, parseHandlerReplyBySchema],
      [parseServerToClient, parseServerToClientBySchema],
    ] as const;
    const mutated = fc
      .tuple(validMessages, fc.nat(), fc.oneof(fieldValue, shaped(messageKeys, fieldValue), fc.constant(deleteKey)))
      .map(([message, pick, replacement]) => mutate(message, pick, replacement));
    // A valid message with its header, payload or command made an object of another kind.
    const reshaped = fc
      .tuple(validMessages, fc.constantFrom('header', 'payload', 'command'), objectKind)
      .map(([message, part, kind]) => {
        const copy = structuredClone(message) as Record<string, Record<string, unknown>>;
        const holder = part === 'command' ? copy['header'] : copy;
        const inner = holder?.[part];
        if (holder !== undefined && inner !== undefined) holder[part] = reshape(inner as Record<string, unknown>, kind);
        return copy;
      });
    for (const inputs of [nearMessage, validMessages, mutated, reshaped]) {
      fc.assert(
        fc.property(inputs, (value) => {
          for (const [fast, schema] of pairs) expect(comparable(fast(value))).toEqual(comparable(schema(value)));
        }),
        { numRuns: 1500, seed: 7 },
      );
    }
  });

  it('the fast paths take the messages nodes write (so the schemas are not run for them)', () => {
    // Each accepted here without a schema would be accepted by the schema too (the property above).
    const payload = { type: 'M', id: 'a-1', data: { to: 'b', text: 'hi' } };
    expect(parseClientMessage({ header: {}, payload }).ok).toBe(true);
    expect(parseFirstMessage({ header: { scope: 'server' }, payload }).ok).toBe(true);
    expect(parseServerToClient({ header: { status: 'good', messageType: 'statusReport' }, payload }).ok).toBe(true);
  });

  it('refuses exactly the JSON nested deeper than jsonDepthMax (property, 300 runs)', () => {
    const nested = fc
      .tuple(
        fc.integer({ min: jsonDepthMax - 3, max: jsonDepthMax + 3 }),
        fc.array(fc.constantFrom('array', 'object', 'sibling'), {
          minLength: jsonDepthMax + 3,
          maxLength: jsonDepthMax + 3,
        }),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([depth, kinds, leaf]) => {
        let value: unknown = leaf;
        for (let level = 0; level < depth; level++) {
          const kind = kinds[level];
          value =
            kind === 'array' ? [value] : kind === 'object' ? { k: value } : { a: 1, b: [2, { c: value }], d: null };
        }
        return value;
      });
    fc.assert(
      fc.property(nested, (value) => {
        const result = parseJson(new TextEncoder().encode(JSON.stringify(value)));
        const depth = referenceDepth(JSON.parse(JSON.stringify(value)));
        expect(result.ok ? 'ok' : result.error.code).toBe(depth > jsonDepthMax ? 'json.too-deep' : 'ok');
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('never throws: every parser gives a value or a typed WireError for any bytes (property, 500 runs)', () => {
    const parsers = [
      parseFirstMessage,
      parseClientMessage,
      parseHandlerReply,
      parseInformerRequest,
      parseServerToClient,
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.jsonValue({ maxDepth: 3 }), (bytes, json) => {
        const decoder = new FrameDecoder();
        const bodies = decoder.push(bytes);
        if (bodies.ok) for (const body of bodies.value) parseJson(body);
        describeBytes(bytes);
        for (const parse of parsers) {
          const result = parse(json);
          if (!result.ok) expect(result.error.code).toMatch(/^[a-z-]+\.[a-z-]+$/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
