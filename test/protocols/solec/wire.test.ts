// Goal: the SOLEC codec round-trips every payload type, enforces the attributes by sender, and
// turns any bytes into a payload or a typed WireError: never a throw, never a hang, never an
// unbounded buffer.
// Method: fast-check arbitraries for each payload type (round trip through encodeFrame, the
// incremental FrameDecoder fed in random chunks, and decodePayload); hand-written byte vectors for
// the attribute and limit rules; random and mutated byte streams for the fuzz properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError } from '../../../src/core/errors.js';
import {
  attributes,
  decodeFrame,
  decodePayload,
  encodeFrame,
  encodeFrames,
  FrameDecoder,
  headerType,
  payloadBytes,
  payloadTypeCode,
  type Payload,
  type PayloadType,
  type Sender,
} from '../../../src/protocols/solec/wire.js';
import { referenceBody, referenceDecode } from './reference-codec.js';

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

const arbitraries: Record<PayloadType, fc.Arbitrary<Payload>> = {
  success: fc.constant({ type: 'success' }),
  error: fc.constantFrom(1, 2, 3).map((code) => ({ type: 'error', code }) as Payload),
  handshake: fc
    .record({ verMajor: fc.nat(255), verMinor: fc.nat(255), connType: fc.constantFrom(1, 2) })
    .map((f) => ({ type: 'handshake', ...f }) as Payload),
  userAuth: fc.record({ username: text, password: text }).map((f) => ({ type: 'userAuth', ...f }) as Payload),
  message: fc
    .record({
      id: text,
      from: text,
      to: text,
      timeMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      body: fc.string({ unit: 'binary', maxLength: 300 }),
    })
    .map((f) => ({ type: 'message', ...f }) as Payload),
  serverAuth: text.map((name) => ({ type: 'serverAuth', name }) as Payload),
  challenge: bytes(64).map((nonce) => ({ type: 'challenge', nonce }) as Payload),
  proof: bytes(64).map((signature) => ({ type: 'proof', signature }) as Payload),
  test: fc
    .record({
      num1: fc.nat(255),
      time1: u64,
      str1: text,
      num2: fc.nat(0xffff),
      bin1: bytes(40),
      num3: fc.nat(0xffff_ffff),
      str2: text,
      num4: u64,
    })
    .map((f) => ({ type: 'test', ...f }) as Payload),
};

/** A sender allowed to send `type` (reserved Test: either, with allowReserved). */
function senderFor(type: PayloadType): Sender {
  return attributes[type].includes('C') ? 'client' : 'server';
}

/** Feeds `stream` to a FrameDecoder in chunks cut at `cuts`, collecting frames or the first error. */
function feed(stream: Uint8Array, cuts: number[], payloadBytesMax = 0xffff) {
  const decoder = new FrameDecoder(payloadBytesMax);
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const point of [...points, stream.length]) {
    chunks.push(stream.subarray(last, point));
    last = point;
  }
  const frames = [];
  for (const chunk of chunks) {
    const result = decoder.push(chunk);
    if (!result.ok) return { frames, error: result.error, decoder };
    frames.push(...result.value);
  }
  return { frames, error: undefined, decoder };
}

describe('solec: wire: round trip (fast-check, every payload type)', () => {
  for (const type of Object.keys(arbitraries) as PayloadType[]) {
    it(`${type} (0x${payloadTypeCode[type].toString(16).padStart(2, '0')}) encodes and decodes to itself, in any chunking`, () => {
      fc.assert(
        fc.property(
          fc.array(arbitraries[type], { minLength: 1, maxLength: 4 }),
          fc.array(fc.nat(), { maxLength: 6 }),
          (payloads, cuts) => {
            const encoded = payloads.map(encodeFrame);
            for (const frame of encoded) {
              const single = decodeFrame(frame, senderFor(type), { allowReserved: true });
              expect(single).toEqual({ ok: true, value: payloads[encoded.indexOf(frame)] });
            }
            const stream = new Uint8Array(encoded.reduce((n, f) => n + f.length, 0));
            let at = 0;
            for (const frame of encoded) {
              stream.set(frame, at);
              at += frame.length;
            }
            const { frames, error } = feed(stream, cuts);
            expect(error).toBeUndefined();
            expect(frames.map((frame) => decodePayload(frame, senderFor(type), { allowReserved: true }))).toEqual(
              payloads.map((value) => ({ ok: true, value })),
            );
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('writes the seed frame layout: uint8 type, big-endian uint16 length, payload (seed §2.1)', () => {
    expect([...encodeFrame({ type: 'success' })]).toEqual([0x01, 0x00, 0x00]);
    expect([...encodeFrame({ type: 'error', code: 3 })]).toEqual([0x02, 0x00, 0x01, 0x03]);
    expect([...encodeFrame({ type: 'handshake', verMajor: 0, verMinor: 4, connType: 2 })]).toEqual([
      0x03, 0x00, 0x03, 0x00, 0x04, 0x02,
    ]);
    expect([...encodeFrame({ type: 'serverAuth', name: 'a.test' })]).toEqual([
      0x06,
      0x00,
      0x08,
      0x00,
      0x06,
      ...new TextEncoder().encode('a.test'),
    ]);
    expect([...encodeFrame({ type: 'userAuth', username: 'é', password: '' })]).toEqual([
      0x04, 0x00, 0x06, 0x00, 0x02, 0xc3, 0xa9, 0x00, 0x00,
    ]);
  });
});

describe('solec: wire: attributes and limits (hand-written vectors)', () => {
  const code = (result: { ok: boolean; error?: WireError }) => (result.ok ? 'ok' : result.error?.code);

  it('refuses client-only payloads from a server and server-only payloads from a client', () => {
    const userAuth = encodeFrame({ type: 'userAuth', username: 'u', password: 'p' });
    expect(code(decodeFrame(userAuth, 'client'))).toBe('ok');
    expect(code(decodeFrame(userAuth, 'server'))).toBe('direction.wrong');
    for (const payload of [
      { type: 'error', code: 1 },
      { type: 'serverAuth', name: 'x' },
      { type: 'challenge', nonce: new Uint8Array(1) },
    ] as Payload[]) {
      expect(code(decodeFrame(encodeFrame(payload), 'client'))).toBe('direction.wrong');
      expect(code(decodeFrame(encodeFrame(payload), 'server'))).toBe('ok');
    }
    for (const payload of [
      { type: 'success' },
      { type: 'handshake', verMajor: 1, verMinor: 0, connType: 1 },
    ] as Payload[]) {
      expect(code(decodeFrame(encodeFrame(payload), 'client'))).toBe('ok');
      expect(code(decodeFrame(encodeFrame(payload), 'server'))).toBe('ok');
    }
  });

  it('refuses a non-empty Success (attribute E), reserved types 0x00 and 0xFF, and unknown types', () => {
    expect(code(decodeFrame(Uint8Array.of(0x01, 0x00, 0x01, 0x00), 'server'))).toBe('payload.not-empty');
    expect(code(decodeFrame(Uint8Array.of(0x00, 0x00, 0x00), 'server'))).toBe('type.reserved');
    expect(code(decodeFrame(encodeFrame(arbitrarySample('test')), 'server'))).toBe('type.reserved');
    expect(code(decodeFrame(Uint8Array.of(0x07, 0x00, 0x00), 'server'))).toBe('type.unknown');
  });

  it('refuses truncated fields, trailing bytes, bad UTF-8, unknown error codes and connection types', () => {
    expect(code(decodeFrame(Uint8Array.of(0x06, 0x00, 0x03, 0x00, 0x05, 0x61), 'server'))).toBe('payload.truncated');
    expect(code(decodeFrame(Uint8Array.of(0x02, 0x00, 0x02, 0x01, 0x01), 'server'))).toBe('payload.trailing');
    expect(code(decodeFrame(Uint8Array.of(0x06, 0x00, 0x03, 0x00, 0x01, 0xff), 'server'))).toBe('utf8.invalid');
    expect(code(decodeFrame(Uint8Array.of(0x02, 0x00, 0x01, 0x04), 'server'))).toBe('error.code-unknown');
    expect(code(decodeFrame(Uint8Array.of(0x03, 0x00, 0x03, 0x00, 0x04, 0x03), 'client'))).toBe(
      'handshake.conn-type-unknown',
    );
    expect(code(decodeFrame(Uint8Array.of(0x03, 0x00), 'client'))).toBe('frame.truncated');
  });

  it('refuses from the header alone a fixed-size payload announcing more bytes than it has (spec §2.3, ours)', () => {
    expect(code(headerType(0x01, 0xd7, 'server'))).toBe('payload.not-empty');
    expect(code(headerType(0x02, 2, 'server'))).toBe('payload.trailing');
    expect(code(headerType(0x03, 4, 'client'))).toBe('payload.trailing');
    expect(code(headerType(0x42, 0, 'client'))).toBe('type.unknown');
    expect(code(headerType(0x04, 9, 'server'))).toBe('direction.wrong');
    // Fewer bytes, or a variable-size type, need the payload to tell.
    expect(code(headerType(0x02, 0, 'server'))).toBe('ok');
    expect(code(headerType(0x05, 4000, 'client'))).toBe('ok');
    // The same verdict as for the whole frame, whether or not the payload had arrived.
    expect(code(decodeFrame(Uint8Array.of(0x02, 0x00, 0x02, 0x09, 0x00), 'server'))).toBe('payload.trailing');
    const decoder = new FrameDecoder();
    decoder.push(Uint8Array.of(0x01, 0x00));
    expect(decoder.pendingHeader()).toBeUndefined();
    decoder.push(Uint8Array.of(0xd7, 0x05));
    expect(decoder.pendingHeader()).toEqual({ type: 0x01, length: 0xd7 });
  });

  it('accepts the header of every valid payload from its sender', () => {
    for (const type of Object.keys(arbitraries) as PayloadType[]) {
      fc.assert(
        fc.property(arbitraries[type], (payload) => {
          const frame = encodeFrame(payload);
          const length = ((frame[1] ?? 0) << 8) | (frame[2] ?? 0);
          expect(headerType(frame[0] ?? 0, length, senderFor(type), { allowReserved: true })).toEqual({
            ok: true,
            value: type,
          });
        }),
        { numRuns: 50 },
      );
    }
  });

  it('refuses an oversize frame from its header alone, before buffering the payload (payloadBytesMax 64)', () => {
    const decoder = new FrameDecoder(64);
    const result = decoder.push(Uint8Array.of(0x05, 0x00, 0x41));
    expect(result.ok ? 'ok' : result.error.code).toBe('frame.oversize');
    expect(decoder.bufferedBytes()).toBe(0);
    // The decoder stays failed: the connection is to be closed.
    expect(decoder.push(encodeFrame({ type: 'success' })).ok).toBe(false);
    const exact = new FrameDecoder(64).push(new Uint8Array([0x05, 0x00, 0x40, ...new Uint8Array(64)]));
    expect(exact.ok && exact.value.length).toBe(1);
  });
});

function arbitrarySample(type: PayloadType): Payload {
  return fc.sample(arbitraries[type], { numRuns: 1, seed: 1 })[0] as Payload;
}

describe('solec: wire: fuzz (fast-check, random and mutated byte streams)', () => {
  const checkAnyBytes = (stream: Uint8Array, cuts: number[]) => {
    const limit = 256;
    const { frames, error, decoder } = feed(stream, cuts, limit);
    if (error) expect(error).toBeInstanceOf(WireError);
    // Bounded: never more than one unfinished frame of at most `limit` bytes is held.
    expect(decoder.bufferedBytes()).toBeLessThan(3 + limit);
    for (const frame of frames) {
      for (const sender of ['client', 'server'] as const) {
        const result = decodePayload(frame, sender, { allowReserved: true });
        if (!result.ok) {
          expect(result.error).toBeInstanceOf(WireError);
          expect(result.error.code).toMatch(/^[a-z0-9.-]+$/);
        } else {
          // Whatever decodes re-encodes to the very same bytes (no two encodings of one payload).
          expect([...encodeFrame(result.value).subarray(3)]).toEqual([...frame.payload]);
        }
      }
    }
  };

  it('random bytes give frames or a typed WireError, never a throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 8 }), checkAnyBytes), {
      numRuns: 1_000,
    });
  });

  it('mutated valid frames (flip, insert, delete, truncate) give frames or a typed WireError, never a throw', () => {
    const payload = fc.oneof(...Object.values(arbitraries));
    const mutation = fc.record({
      kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate'),
      at: fc.nat(),
      byte: fc.nat(255),
    });
    fc.assert(
      fc.property(
        fc.array(payload, { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (payloads, mutations, cuts) => {
          let stream = [...payloads.flatMap((p) => [...encodeFrame(p)])];
          for (const m of mutations) {
            const at = m.at % (stream.length + 1);
            if (m.kind === 'flip') {
              if (stream.length > 0) stream[at % stream.length] = m.byte;
            } else if (m.kind === 'insert') stream.splice(at, 0, m.byte);
            else if (m.kind === 'delete') stream.splice(at, 1);
            else stream = stream.slice(0, at);
          }
          checkAnyBytes(Uint8Array.from(stream), cuts);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('solec: wire: the sized writer and the mark-returning reader against the first codec (reference-codec.ts)', () => {
  /** Strings of any code units, lone surrogates included (written as U+FFFD by both). */
  const anyText = fc.string({ unit: 'binary', maxLength: 30 });
  /** Field values past their widths too: both writers keep the low bits. */
  const wide = fc.integer({ min: -70_000, max: 70_000 });
  const wider: Record<PayloadType, fc.Arbitrary<Payload>> = {
    ...arbitraries,
    handshake: fc
      .record({ verMajor: wide, verMinor: wide, connType: wide })
      .map((f) => ({ type: 'handshake', ...f }) as Payload),
    userAuth: fc.record({ username: anyText, password: anyText }).map((f) => ({ type: 'userAuth', ...f }) as Payload),
    message: fc
      .record({
        id: anyText,
        from: anyText,
        to: anyText,
        timeMs: fc.oneof(
          fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 60, -1, -(2 ** 40)),
        ),
        body: anyText,
      })
      .map((f) => ({ type: 'message', ...f }) as Payload),
    serverAuth: anyText.map((name) => ({ type: 'serverAuth', name }) as Payload),
  };
  const framed = (payload: Payload): number[] => {
    const body = referenceBody(payload);
    return [payloadTypeCode[payload.type], body.length >>> 8, body.length & 0xff, ...body];
  };
  /** A Result as plain data: the value, or the error's code, message and offset. */
  const plain = (result: ReturnType<typeof decodePayload>) =>
    result.ok
      ? result
      : { ok: false, code: result.error.code, message: result.error.message, offset: result.error.offset };

  it("encodeFrame, encodeFrames and payloadBytes give the first writer's bytes for every payload type", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(...Object.values(wider)), { minLength: 1, maxLength: 3 }), (payloads) => {
        const first = payloads[0] as Payload;
        expect([...encodeFrame(first)]).toEqual(framed(first));
        expect(payloadBytes(first)).toBe(referenceBody(first).length);
        expect([...encodeFrames(payloads)]).toEqual(payloads.flatMap(framed));
      }),
      { numRuns: 1_000 },
    );
  });

  it('a Message time that is no integer throws, as the first writer did', () => {
    const message = { type: 'message', id: 'i', from: 'f', to: 't', timeMs: 1.5, body: '' } as const;
    expect(() => referenceBody(message)).toThrow(RangeError);
    expect(() => encodeFrame(message)).toThrow(RangeError);
    expect(() => payloadBytes(message)).toThrow(RangeError);
  });

  it('decodes any bytes under any type code as the first reader did: the same payload, or the same error', () => {
    const payload = fc.oneof(...Object.values(arbitraries));
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.tuple(payload, fc.nat(), fc.nat(255), fc.constantFrom('flip', 'cut', 'grow')).map(([p, at, byte, kind]) => {
        const bytes = [...encodeFrame(p).subarray(3)];
        const i = at % (bytes.length + 1);
        if (kind === 'flip' && bytes.length > 0) bytes[i % bytes.length] = byte;
        else if (kind === 'cut') bytes.length = i;
        else bytes.splice(i, 0, byte);
        return Uint8Array.from(bytes);
      }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(payloadTypeCode)) as fc.Arbitrary<PayloadType>,
        body,
        fc.constantFrom<Sender>('client', 'server'),
        (type, bytes, sender) => {
          const code = payloadTypeCode[type];
          const header = headerType(code, bytes.length, sender, { allowReserved: true });
          const expected = header.ok ? referenceDecode(header.value, bytes, 3) : header;
          const got = decodePayload({ type: code, payload: bytes }, sender, { allowReserved: true });
          expect(plain(got)).toEqual(plain(expected));
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
