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
  parseFirstMessage,
  parseHandlerReply,
  parseInformerRequest,
  parseJson,
  parseServerToClient,
} from '../../../src/protocols/bester/wire.js';

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
