// Goal: the F140 codecs round-trip what they encode, read a byte stream the same however it is split,
// map each malformed request to the HTTP status spec.md §2.3 names, and never throw on any input.
// Method: fast-check properties over generated forms, texts and requests (fixed numRuns budgets) plus
// byte fuzzing of every decoder; hand-picked cases pin the status table.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError } from '../../../src/core/errors.js';
import {
  bodyBytesMax,
  decodeBasicMessage,
  decodeForm,
  encodeBasicMessage,
  encodeForm,
  encodeRequest,
  encodeResponse,
  formOfBody,
  headersCountMax,
  httpStatusFor,
  HttpRequestParser,
  HttpResponseParser,
  parseHead,
  statusForError,
  textLength,
  type HttpRequest,
} from '../../../src/protocols/f140/wire.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** Splits `data` at the given cut points (sorted, deduplicated, inside the array). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let last = 0;
  for (const point of points) {
    parts.push(data.subarray(last, point));
    last = point;
  }
  parts.push(data.subarray(last));
  return parts;
}

const fieldName = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
const fieldValue = fc.string({ unit: 'binary', maxLength: 40 });
const form = fc.uniqueArray(fc.tuple(fieldName, fieldValue), {
  maxLength: 8,
  selector: ([name]) => name.toLowerCase(),
});

describe('f140: wire: form codec', () => {
  it('round-trips any fields, with names lower-cased (F140 §2.1: names are case-insensitive; 300 runs)', () => {
    fc.assert(
      fc.property(form, (fields) => {
        const decoded = decodeForm(encodeForm(fields));
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect([...decoded.value]).toEqual(fields.map(([name, value]) => [name.toLowerCase(), value]));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes and decodes each value as a byte-by-byte reference does, on the fast paths and off them (1,000 runs)', () => {
    // The reference: UTF-8 bytes, unreserved ASCII kept, every other byte as %XX; decoding turns `+`
    // into a space and %XX into a byte, and the bytes must be UTF-8.
    const referenceEncode = (text: string): string =>
      [...new TextEncoder().encode(text)]
        .map((byte) =>
          byte < 0x80 && /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
            ? String.fromCharCode(byte)
            : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
        )
        .join('');
    // The value, or the failure's code and byte offset (an escape's, for a bad escape).
    const referenceDecode = (text: string): string | { code: string; offset?: number } => {
      const bytes: number[] = [];
      const plain = new TextEncoder().encode(text.replaceAll('+', ' '));
      for (let i = 0; i < plain.length; i++) {
        const hex = String.fromCharCode(plain[i + 1] ?? 0, plain[i + 2] ?? 0);
        if (plain[i] !== 0x25) bytes.push(plain[i] as number);
        else if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { code: 'form.escape.invalid', offset: i };
        else {
          bytes.push(parseInt(hex, 16));
          i += 2;
        }
      }
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
      } catch {
        return { code: 'form.utf8.invalid' };
      }
    };
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', '.', '_', '~'), maxLength: 20 }),
      fc.string({
        unit: fc.constantFrom('!', "'", '(', ')', '*', ' ', '<', '"', '\ud83d', '\ude00', 'a'),
        maxLength: 20,
      }),
      fc.string({
        unit: fc.constantFrom('a', '+', ' ', '%', '2', '1', 'F', '/', '=', '\u00e9', '\ud800'),
        maxLength: 20,
      }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      // Escapes of ASCII bytes and of others, good and bad, mostly in ASCII (the ASCII fast path).
      fc.string({
        unit: fc.constantFrom('%', '%', '2', '3', '7', '8', 'c', 'C', 'f', 'F', 'g', '+', 'x', '<', '\u00e9'),
        maxLength: 24,
      }),
    );
    fc.assert(
      fc.property(text, text, (value, raw) => {
        expect(encodeForm([['a', value]])).toBe(`a=${referenceEncode(value)}`);
        const safeRaw = raw.replaceAll('&', '').replaceAll('=', '');
        const decoded = decodeForm(`a=${safeRaw}`);
        const expected = referenceDecode(safeRaw);
        if (typeof expected === 'string') expect(decoded.ok ? decoded.value.get('a') : decoded.error).toBe(expected);
        else {
          expect(decoded.ok).toBe(false);
          if (decoded.ok) return;
          expect(decoded.error.code).toBe(expected.code);
          expect(decoded.error.offset).toBe(expected.offset);
        }
      }),
      { numRuns: 1000, seed: 20261123 },
    );
  });

  it('decodes `+` as a space and rejects bad escapes, bad UTF-8 and repeated names', () => {
    expect(decodeForm('a=x+y%21')).toEqual({ ok: true, value: new Map([['a', 'x y!']]) });
    expect(decodeForm('A=1&&b')).toEqual({
      ok: true,
      value: new Map([
        ['a', '1'],
        ['b', ''],
      ]),
    });
    const codes = ['a=%G1', 'a=%C3%28', 'a=1&A=2'].map((text) => {
      const result = decodeForm(text);
      return result.ok ? 'ok' : result.error.code;
    });
    expect(codes).toEqual(['form.escape.invalid', 'form.utf8.invalid', 'form.key.duplicate']);
  });

  it('never throws on any string and fails only with a WireError (fuzz, 500 runs)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'B', '=', '&', '%', '+', '2', 'F', 'é', '\uD800'), maxLength: 60 }),
        (text) => {
          const result = decodeForm(text);
          if (!result.ok) expect(result.error).toBeInstanceOf(WireError);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('f140: wire: basic XML payload', () => {
  it('round-trips any text through <msg kind="basic"><text>...</text></msg> (300 runs)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 160 }), (text) => {
        expect(decodeBasicMessage(encodeBasicMessage(text))).toEqual({ ok: true, value: { kind: 'basic', text } });
      }),
      { numRuns: 300 },
    );
  });

  it("reads the seed's indented example and numeric entities, and refuses other shapes", () => {
    const seed = '<msg kind="basic">\n\t\t\t<text>This is a 140 character message, more or less.</text>\n\t\t</msg>';
    expect(decodeBasicMessage(seed)).toEqual({
      ok: true,
      value: { kind: 'basic', text: 'This is a 140 character message, more or less.' },
    });
    expect(decodeBasicMessage("<?xml version='1.0'?><msg kind='basic'><text>&#x1F600;&#38;</text></msg>")).toEqual({
      ok: true,
      value: { kind: 'basic', text: '😀&' },
    });
    const codes = [
      '<msg kind="rich"><text>x</text></msg>',
      'hello',
      '<msg kind="basic"><text>a & b</text></msg>',
      '<msg kind="basic"><text>&#xD800;</text></msg>',
      '<msg kind="basic"><body>x</body></msg>',
    ].map((xml) => {
      const result = decodeBasicMessage(xml);
      return result.ok ? 'ok' : result.error.code;
    });
    expect(codes).toEqual([
      'xml.kind.unsupported',
      'xml.not-msg',
      'xml.entity.invalid',
      'xml.entity.invalid',
      'xml.invalid',
    ]);
  });

  it('never throws on XML-ish strings (fuzz, 500 runs)', () => {
    const piece = fc.constantFrom(
      '<msg kind="basic">',
      '<text>',
      '</text>',
      '</msg>',
      '&amp;',
      '&#',
      'x',
      ';',
      '<',
      '&',
      ' ',
      "'",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const result = decodeBasicMessage(pieces.join(''));
        if (!result.ok) expect(result.error).toBeInstanceOf(WireError);
      }),
      { numRuns: 500 },
    );
  });

  it('counts the 140-character rule in code points, not UTF-16 units', () => {
    expect(textLength('😀'.repeat(140))).toBe(140);
    expect('😀'.repeat(140).length).toBe(280);
    expect(textLength('e\u0301')).toBe(2);
  });
});

describe('f140: wire: HTTP/1.1 codec', () => {
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'DELETE'),
    target: fc.constantFrom('/', '/f140', '/apps/F140/F140Service.html?command=PING&x=%20'),
    headers: fc.uniqueArray(
      fc.tuple(
        fc.constantFrom('X-A', 'Accept', 'User-Agent', 'Content-Type'),
        fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
      ),
      { maxLength: 3, selector: ([name]) => name },
    ),
    body: fc.uint8Array({ maxLength: 300 }),
  });

  it('splits a head into its start line and headers as the line-array reference does (500 runs)', () => {
    // The reference: every line less one trailing CR, the empty lines at the end dropped, the first
    // taken as the start line, then the same checks on each header line.
    const reference = (text: string): ReturnType<typeof parseHead> => {
      const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
      while (lines.length > 0 && lines.at(-1) === '') lines.pop();
      const startLine = lines.shift() ?? '';
      if (lines.length > headersCountMax) {
        return {
          ok: false,
          error: new WireError('http.headers.too-many', `more than ${headersCountMax} header lines`),
        };
      }
      const headers: [string, string][] = [];
      for (const line of lines) {
        const colon = line.indexOf(':');
        const name = colon > 0 ? line.slice(0, colon) : '';
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
          return {
            ok: false,
            error: new WireError('http.header.invalid', `bad header line ${JSON.stringify(line.slice(0, 40))}`),
          };
        }
        const value = line.slice(colon + 1).trim();
        if (/[\0\r\n]/.test(value)) {
          return { ok: false, error: new WireError('http.header.invalid', `bad header value for ${name}`) };
        }
        headers.push([name.toLowerCase(), value]);
      }
      return { ok: true, value: { startLine, headers } };
    };
    const piece = fc.constantFrom('\r', '\n', '\r\n', 'A: b', 'Host:x ', ':', ' x', 'X-Y:\0', 'GET / HTTP/1.1', 'é');
    const text = fc.oneof(
      fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')),
      fc.integer({ min: 60, max: 70 }).map((n) => `GET / HTTP/1.1\r\n${'A: b\r\n'.repeat(n)}\r\n`),
    );
    fc.assert(
      fc.property(text, (head) => {
        const got = parseHead(head);
        const expected = reference(head);
        expect(got.ok).toBe(expected.ok);
        if (got.ok && expected.ok) expect(got.value).toEqual(expected.value);
        if (!got.ok && !expected.ok) {
          expect(got.error.code).toBe(expected.error.code);
          expect(got.error.message).toBe(expected.error.message);
        }
      }),
      { numRuns: 500, seed: 20261123 },
    );
  });

  it('parses encoded requests the same however the bytes are split, pipelined, keeping no chunk (200 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (specs, cuts) => {
          const withHost = specs.map((spec) => ({ ...spec, headers: [['Host', 'b.test'] as const, ...spec.headers] }));
          const stream = withHost.map(encodeRequest).reduce((a, b) => new Uint8Array([...a, ...b]));
          const parser = new HttpRequestParser();
          const parsed: HttpRequest[] = [];
          for (const part of split(stream, cuts)) {
            const result = parser.push(part);
            expect(result.ok).toBe(true);
            if (result.ok) parsed.push(...result.value);
            // The parser reads a chunk in place: what it keeps of it must be a copy.
            part.fill(0x21);
          }
          expect(parsed).toHaveLength(specs.length);
          parsed.forEach((got, i) => {
            const spec = withHost[i];
            expect(got.method).toBe(spec?.method);
            expect(got.target).toBe(spec?.target);
            expect(got.body).toEqual(spec?.body);
            expect(got.keepAlive).toBe(true);
            for (const [name, value] of spec?.headers ?? [])
              expect(got.headers).toContainEqual([name.toLowerCase(), value.trim()]);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('parses encoded responses the same however the bytes are split, keeping no chunk (200 runs)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(200, 403, 422, 503),
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (status, body, cuts) => {
          const parser = new HttpResponseParser();
          let got: unknown;
          for (const part of split(encodeResponse({ status, headers: [['Content-Type', 'text/plain']], body }), cuts)) {
            const result = parser.push(part);
            expect(result.ok).toBe(true);
            if (result.ok && result.value) got = result.value;
            part.fill(0x21);
          }
          expect(got).toMatchObject({ status, body });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads a close-delimited response body when the connection ends', () => {
    const parser = new HttpResponseParser();
    expect(parser.push(bytes('HTTP/1.1 200 OK\r\n\r\nresponse=ab'))).toEqual({ ok: true, value: undefined });
    const done = parser.finish();
    expect(done.ok && formOfBody(done.value.body)).toEqual({ ok: true, value: new Map([['response', 'ab']]) });
    expect(new HttpResponseParser().finish().ok).toBe(false);
  });

  it.each([
    ['GET / HTTP/1.1\r\nHost: b\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'http.content-length.invalid', 400],
    ['GET / HTTP/1.1\r\nHost: b\r\n folded\r\n\r\n', 'http.header.invalid', 400],
    ['GET / HTTP/1.1\r\nHost : b\r\n\r\n', 'http.header.invalid', 400],
    ['GET / HTTP/1.1\r\n\r\n', 'http.host.missing', 400],
    ['GET / HTTP/1.1\r\nHost: b\r\nHost: evil\r\n\r\n', 'http.host.duplicate', 400],
    ['GET /\r\n', 'http.request-line.invalid', 400],
    ['GET /\n', 'http.request-line.invalid', 400],
    ['GET / HTTP/3.0\r\n\r\n', 'http.version.unsupported', 505],
    [`GET /${'a'.repeat(5_000)} HTTP/1.1\r\n`, 'http.request-line.too-long', 414],
    [`GET / HTTP/1.1\r\nX: ${'a'.repeat(9_000)}`, 'http.head.too-large', 431],
    [`GET / HTTP/1.1\r\nHost: b\r\n${'X: 1\r\n'.repeat(70)}\r\n`, 'http.headers.too-many', 431],
    [`POST / HTTP/1.1\r\nHost: b\r\nContent-Length: ${bodyBytesMax + 1}\r\n\r\n`, 'http.body.too-large', 413],
    ['POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n', 'http.transfer-encoding.unsupported', 501],
  ])('refuses %j with %s (HTTP %i)', (input, code, status) => {
    const result = new HttpRequestParser().push(bytes(input));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(code);
    expect(statusForError(result.error)).toBe(status);
  });

  it('honours Connection: close on HTTP/1.1 and keep-alive on HTTP/1.0', () => {
    const parser = new HttpRequestParser();
    const result = parser.push(
      bytes(
        'GET / HTTP/1.1\r\nHost: b\r\nConnection: Close\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n',
      ),
    );
    expect(result.ok && result.value.map((r) => r.keepAlive)).toEqual([false, true, false]);
  });

  it('never throws on arbitrary bytes; every failure carries a status from the table (fuzz, 400 runs)', () => {
    const known = new Set(Object.values(httpStatusFor));
    const chunk = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom(
        ...['GET / HTTP/1.1\r\n', 'POST /f140 HTTP/1.0\r\n', 'Host: b\r\n', 'Content-Length: 3\r\n', '\r\n', 'abc'].map(
          bytes,
        ),
      ),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 10 }), (chunks) => {
        const requests = new HttpRequestParser();
        const responses = new HttpResponseParser();
        for (const part of chunks) {
          const request = requests.push(part);
          if (!request.ok) expect(known.has(statusForError(request.error) as never)).toBe(true);
          const response = responses.push(part);
          if (!response.ok) expect(response.error).toBeInstanceOf(WireError);
        }
        const finished = responses.finish();
        if (!finished.ok) expect(finished.error).toBeInstanceOf(WireError);
      }),
      { numRuns: 400 },
    );
  });
});
