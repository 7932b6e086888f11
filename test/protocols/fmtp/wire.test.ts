// Goal: the FMTP block format round-trips every frame, and its decoders give a value or a typed
// WireError for any bytes, never a throw, however the bytes are split into chunks.
// Method: fast-check property tests (fixed numRuns) over generated frames and random bytes, plus
// examples of each refusal the decoder makes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError } from '../../../src/core/errors.js';
import {
  BlockBuffer,
  decodeFrame,
  encodeFrame,
  escapeValue,
  hasControlCharacter,
  hopsWireMax,
  keyLength,
  matchesPattern,
  ownerOf,
  type Frame,
} from '../../../src/protocols/fmtp/wire.js';

const label = fc.stringMatching(/^[a-z0-9]{1,10}$/);
const domain = fc.array(label, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'));
const address = fc.tuple(fc.stringMatching(/^[A-Za-z0-9._+-]{1,12}$/), domain).map(([u, d]) => `${u}@${d}`);
const identity = fc.oneof(domain, address);
const object = fc.oneof(
  address,
  fc.tuple(address, fc.stringMatching(/^[a-z/]{0,10}$/)).map(([a, p]) => `${a}/${p}`),
);
const token = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);
const nonce = fc.stringMatching(/^[0-9a-f]{32}$/);
const hash = fc.stringMatching(/^[A-Za-z0-9+/]{86}$/).map((text) => `${text}==`);
const code = fc.stringMatching(/^[a-z0-9.-]{1,20}$/);
/** Text a value may hold: anything but control characters other than tab, CR and LF. */
const text = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !hasControlCharacter(s));
const pattern = fc.oneof(
  fc.constant('*@*'),
  domain.map((d) => `*@${d}`),
  address,
);
const route = fc.record({
  host: domain,
  port: fc.integer({ min: 1, max: 65_535 }),
  transport: fc.constantFrom('tcp' as const, 'udp' as const),
});
const properties = fc.record(
  {
    address,
    status: fc.constantFrom('ONLINE' as const, 'OFFLINE' as const, 'AWAY' as const),
    route,
    policy: fc.constantFrom('ACCEPT' as const, 'REJECT' as const, 'CONFIRM' as const),
    blacklist: fc.array(pattern, { minLength: 1, maxLength: 4 }),
    whitelist: fc.array(pattern, { minLength: 1, maxLength: 4 }),
    encryptPolicy: fc.constantFrom('REQUIRED' as const, 'OPTIONAL' as const, 'NONE' as const),
    givenName: text,
    familyName: text,
  },
  { requiredKeys: ['address'] },
);

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constantFrom('HELLO' as const, 'WELCOME' as const), from: identity, to: identity, nonce, hash }),
  fc.record({ type: fc.constant('REFUSED' as const), code, reason: text }),
  fc.record(
    {
      type: fc.constant('REQUEST' as const),
      from: identity,
      object,
      transaction: token,
      hops: fc.integer({ min: 0, max: hopsWireMax }),
    },
    { requiredKeys: ['type', 'from', 'object', 'transaction'] },
  ),
  fc.record({ type: fc.constant('OBJECT' as const), object, transaction: token, properties }),
  fc.record({ type: fc.constantFrom('NOT-FOUND' as const, 'LOOKING' as const), object, transaction: token }),
  fc.record({ type: fc.constant('FAILED' as const), object, transaction: token, reason: text }),
  fc.record({ type: fc.constant('MESSAGE' as const), from: address, to: address, transaction: token, body: text }),
  fc.record({ type: fc.constant('ACCEPTED' as const), transaction: token }),
  fc.record({ type: fc.constant('REJECTED' as const), transaction: token, code, reason: text }),
);

const bytes = (s: string) => new TextEncoder().encode(s);

describe('fmtp: wire', () => {
  it('round-trips every frame type (property, 500 runs)', () => {
    fc.assert(
      fc.property(frame, (f) => {
        const decoded = decodeFrame(encodeFrame(f));
        expect(decoded).toEqual({ ok: true, value: f });
      }),
      { numRuns: 500 },
    );
  });

  it('decodes a stream of frames split at any points into the same frames (property, 200 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(frame, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (frames, cuts) => {
          const whole = new Uint8Array(frames.flatMap((f) => [...encodeFrame(f)]));
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          const buffer = new BlockBuffer();
          const out: Frame[] = [];
          let from = 0;
          for (const point of [...points, whole.length]) {
            const result = buffer.push(whole.subarray(from, point));
            expect(result.ok).toBe(true);
            if (result.ok) out.push(...result.value);
            // The buffer reads a chunk in place: what it keeps of it must be a copy.
            whole.subarray(from, point).fill(0x21);
            from = point;
          }
          expect(out).toEqual(frames);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes and returns a typed WireError or frames (byte fuzz, 2000 runs)', () => {
    const alphabet = bytes('TYPE: HELLO REQUEST OBJECT FROM TO \\n\n:@.*-0aZ');
    const fuzzBytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.constantFrom(...alphabet), { maxLength: 300 }).map((a) => new Uint8Array(a)),
      frame.chain((f) =>
        fc.tuple(fc.constant(encodeFrame(f)), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, v]) => {
          const copy = b.slice();
          copy[at % copy.length] = v;
          return copy;
        }),
      ),
    );
    fc.assert(
      fc.property(fuzzBytes, (input) => {
        const single = decodeFrame(input);
        if (!single.ok) expect(single.error).toBeInstanceOf(WireError);
        const streamed = new BlockBuffer().push(input);
        if (!streamed.ok) expect(streamed.error.code).toMatch(/^[a-z0-9.-]+$/);
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['FROM: poe.net\n\n', 'type.missing'],
    ['TYPE: SHOUT\n\n', 'type.unknown'],
    ['TYPE: REQUEST\nFROM: poe.net\nTRANSACTION: 1\n\n', 'field.missing'],
    ['TYPE: ACCEPTED\nTRANSACTION: 1\nTRANSACTION: 2\n\n', 'field.duplicate'],
    ['TYPE: ACCEPTED\nTRANSACTION: 1\nCOLOUR: red\n\n', 'field.unknown'],
    ['TYPE: REQUEST\nFROM: poe.net\nOBJECT: not an address\nTRANSACTION: 1\n\n', 'field.invalid'],
    ['TYPE: REQUEST\nFROM: poe.net\nOBJECT: x@y.test\nTRANSACTION: 1\nHOPS: 256\n\n', 'field.invalid'],
    ['TYPE: REQUEST\nFROM: poe.net\nOBJECT: x@y.test\nTRANSACTION: 1\nHOPS: -1\n\n', 'field.invalid'],
    ['TYPE: LOOKING\nOBJECT: x@y.test\nTRANSACTION: 1\nHOPS: 3\n\n', 'field.unknown'],
    ['TYPE: ACCEPTED\ntransaction: 1\n\n', 'line.syntax'],
    ['TYPE: REFUSED\nCODE: x\nREASON: bad \\q escape\n\n', 'value.escape'],
    ['\n', 'block.empty'],
  ])('refuses %j with %s', (input, expected) => {
    const result = decodeFrame(bytes(input));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe(expected);
  });

  it('refuses a line past lineBytesMax before the line ends (bounded buffer)', () => {
    const result = new BlockBuffer().push(bytes(`TYPE: MESSAGE\nBODY: ${'x'.repeat(5_000)}`));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('line.too-long');
  });

  it('finds control characters and escapes values as the code-point reference does (property, 500 runs)', () => {
    const reference = (value: string, allowed: string): boolean => {
      for (const char of value) {
        const at = char.charCodeAt(0);
        if ((at < 0x20 || at === 0x7f) && char !== '\t' && !allowed.includes(char)) return true;
      }
      return false;
    };
    const escapeReference = (value: string): string =>
      value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    const value = fc.oneof(
      fc.string({
        unit: fc.constantFrom('a', '\t', '\n', '\r', '\\', '\x00', '\x1f', '\x7f', '\ud83d', '\ude00', 'é'),
      }),
      fc.string({ unit: 'binary', maxLength: 30 }),
    );
    fc.assert(
      fc.property(value, fc.constantFrom('', '\n\r', '\r'), (text, allowed) => {
        expect(hasControlCharacter(text, allowed)).toBe(reference(text, allowed));
        expect(escapeValue(text)).toBe(escapeReference(text));
      }),
      { numRuns: 500, seed: 20261123 },
    );
  });

  it('matches address patterns with wildcards and finds an object owner', () => {
    expect(matchesPattern('*@splitreflection.com', 'calin@splitreflection.com')).toBe(true);
    expect(matchesPattern('*@splitreflection.com', 'calin@lenore.org')).toBe(false);
    expect(matchesPattern('*@*', 'lost@lenore.org')).toBe(true);
    expect(matchesPattern('spam*@x.test', 'spammer@x.test')).toBe(true);
    expect(ownerOf('181293437234.calin@splitreflection.com/path')).toBe('calin@splitreflection.com');
    expect(ownerOf('lost@lenore.org')).toBe('lost@lenore.org');
  });
});

describe('keyLength', () => {
  // The line reader's key, read without a regular expression, against the expression it stands for.
  const syntax = /^([A-Z][A-Z-]{0,31}): (.*)$/s;
  const expected = (line: string): number => syntax.exec(line)?.[1]?.length ?? 0;

  it('reads the key of a line as the KEY: value expression does', () => {
    const keyish = fc.stringMatching(/^[A-Za-z:\- ]{0,36}$/);
    const line = fc.tuple(
      keyish,
      fc.constantFrom('', ': ', ':', ' ', ': x', ':  y\u2028z'),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(line, ([key, separator, rest]) => {
        const text = `${key}${separator}${rest}`;
        expect(keyLength(text)).toBe(expected(text));
      }),
      { numRuns: 3_000, seed: 26 },
    );
  });

  it('takes keys of 1 to 32 characters and no longer', () => {
    expect(keyLength('A: v')).toBe(1);
    expect(keyLength(`${'A'.repeat(32)}: v`)).toBe(32);
    expect(keyLength(`${'A'.repeat(33)}: v`)).toBe(0);
    expect(keyLength('ENCRYPT-POLICY: NONE')).toBe(14);
    expect(keyLength('-A: v')).toBe(0);
    expect(keyLength('A:v')).toBe(0);
    expect(keyLength('a: v')).toBe(0);
    expect(keyLength('')).toBe(0);
  });
});
