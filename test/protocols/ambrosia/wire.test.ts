// Goal: the XML stream parser and writer agree (round trip), the parser survives any bytes in any
// chunking without throwing, and bad XML yields the RFC 6120 §4.9.3 condition as a value.
// Method: fast-check element trees and byte strings (fixed numRuns budgets), plus hand-picked cases.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chunkElements,
  escapeAttr,
  escapeText,
  ns,
  parseStanzaText,
  readChunk,
  splitChunks,
  stanzaCharsMax,
  streamHeaderAttrs,
  toBytes,
  validJid,
  writeElement,
  writeStreamHeader,
  XmlStreamParser,
  type StreamEvent,
  type XmlElement,
  type XmlNode,
} from '../../../src/protocols/ambrosia/wire.js';

const header = writeStreamHeader(streamHeaderAttrs(ns.client, { to: 'a.test' }));

/** parseStanzaText as it was written first: a new parser per text, fed the header and the text as bytes. */
function parseStanzaTextReference(text: string): XmlElement | undefined {
  const parser = new XmlStreamParser();
  const result = parser.push(toBytes(`${writeStreamHeader(streamHeaderAttrs(ns.client, {}))}${text}`));
  if (!result.ok) return undefined;
  const elements = result.value.filter((e) => e.type === 'element');
  if (elements.length !== 1 || result.value.some((e) => e.type === 'close')) return undefined;
  const only = elements[0];
  return only?.type === 'element' ? only.element : undefined;
}

function strip(node: XmlNode): XmlNode {
  if (typeof node === 'string') return node;
  return { name: node.name, attrs: node.attrs, children: node.children.map(strip) };
}

function parseAll(text: string, chunkSizes: number[] = []): ReturnType<XmlStreamParser['push']> {
  const parser = new XmlStreamParser();
  const bytes = toBytes(text);
  const events: StreamEvent[] = [];
  let at = 0;
  for (const size of [...chunkSizes, bytes.length]) {
    const result = parser.push(bytes.subarray(at, at + size));
    if (!result.ok) return result;
    events.push(...result.value);
    at += size;
    if (at >= bytes.length) break;
  }
  return { ok: true, value: events };
}

// XML 1.0 chars only (the writer replaces the rest); `\r` and tabs included on purpose (escaped by the writer).
const xmlChar = fc.oneof(
  fc.constantFrom('a', 'z', ' ', '<', '>', '&', '"', "'", '\t', '\n', '\r', 'é', '😀', ']]>'),
  fc
    .string({ unit: 'grapheme', maxLength: 3 })
    // Control characters are what this filter removes.
    // eslint-disable-next-line no-control-regex
    .filter((s) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(s)),
);
const text = fc
  .array(xmlChar, { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join(''))
  .filter((s) => s !== '');
const name = fc.constantFrom('message', 'body', 'x', 'thread', 'data', 'a-b', 'q.r');
const attrs = fc.dictionary(fc.constantFrom('to', 'from', 'id', 'type', 'k'), text, { maxKeys: 3 });

const element: fc.Arbitrary<XmlElement> = fc.letrec<{ el: XmlElement }>((tie) => ({
  el: fc.record({
    name,
    attrs,
    children: fc
      .array(fc.oneof({ depthSize: 'small' }, text, tie('el')), { maxLength: 4 })
      // Adjacent text nodes merge when parsed; keep them apart as a parser would see them.
      .map((children) => children.filter((c, i) => !(typeof c === 'string' && typeof children[i - 1] === 'string'))),
  }),
})).el;

describe('ambrosia: wire', () => {
  it("validJid accepts fedsim's JIDs and refuses what RFC 7622 forbids", () => {
    expect(validJid('u1@a.test/fedsim')).toEqual({ local: 'u1', domain: 'a.test', resource: 'fedsim' });
    expect(validJid('a.test')).toEqual({ local: '', domain: 'a.test', resource: '' });
    expect(validJid('bob@b-1.example/phone 2')).toBeDefined();
    // The fuzzer's flip turned `@` into `J`: still a JID, but with no localpart (the client's rule).
    expect(validJid('u1Ja.test/fedsim')).toMatchObject({ local: '', domain: 'u1Ja.test' });
    for (const bad of [
      undefined,
      '',
      '@a.test',
      'u1@',
      'u1@a.test/',
      'u"1@a.test',
      'u 1@a.test',
      'u1@a..test',
      'u1@-a.test',
      'u1@a_b.test',
      'u1@a.test/r\u0000',
      `${'x'.repeat(1024)}@a.test`,
      `${'é'.repeat(512)}@a.test`,
      `${'€'.repeat(342)}@a.test`,
      `u1@a.test/${'€'.repeat(342)}`,
    ]) {
      expect(validJid(bad), JSON.stringify(bad)).toBeUndefined();
    }
    // 1,023 bytes of UTF-8 is the most a part may have (RFC 7622 §3.3.1): 341 three-byte characters.
    expect(validJid(`${'€'.repeat(341)}@a.test/${'€'.repeat(341)}`)).toBeDefined();
    expect(validJid(`${'é'.repeat(511)}@a.test`)).toBeDefined();
  });

  it('round-trips any element tree through write and parse, in any chunking (property, 300 runs)', () => {
    fc.assert(
      fc.property(element, fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }), (tree, chunks) => {
        const result = parseAll(header + writeElement(tree) + '</stream:stream>', chunks);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.value.map((e) => e.type)).toEqual(['open', 'element', 'close']);
        const parsed = result.value[1];
        expect(parsed?.type === 'element' && strip(parsed.element)).toEqual(strip(tree));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes in random chunks, and any error is an RFC 6120 condition (property, 500 runs)', () => {
    const conditions = new Set([
      'not-well-formed',
      'restricted-xml',
      'invalid-namespace',
      'bad-format',
      'policy-violation',
      'unsupported-encoding',
    ]);
    const fragments = fc.constantFrom(
      header,
      '<message>',
      '</message>',
      '<!--c-->',
      '<?pi x?>',
      '&amp;',
      '&bogus;',
      '<a b="1" b="2">',
      '\u00ff',
      ' ',
      '</stream:stream>',
    );
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(fragments, { maxLength: 10 }).map((parts) => toBytes(parts.join(''))),
    );
    fc.assert(
      fc.property(bytes, fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 6 }), (input, cuts) => {
        const parser = new XmlStreamParser();
        let at = 0;
        for (const size of [...cuts, input.length]) {
          const result = parser.push(input.subarray(at, at + size));
          if (!result.ok) {
            expect(conditions.has(result.error.condition)).toBe(true);
            return;
          }
          at += size;
          if (at >= input.length) return;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('names the RFC 6120 condition for bad XML, restricted XML, a wrong root, bad UTF-8 and an oversize stanza', () => {
    const condition = (input: string | Uint8Array) => {
      const result = new XmlStreamParser().push(typeof input === 'string' ? toBytes(input) : input);
      return result.ok ? 'ok' : result.error.condition;
    };
    expect(condition(`${header}<message><body>x</message>`)).toBe('not-well-formed');
    expect(condition(`${header}<!-- hi -->`)).toBe('restricted-xml');
    expect(condition(`<!DOCTYPE x><stream:stream/>`)).toBe('restricted-xml');
    expect(condition(`<root xmlns='jabber:client'>`)).toBe('invalid-namespace');
    expect(condition(new Uint8Array([0x3c, 0xff, 0xfe]))).toBe('unsupported-encoding');
    expect(condition(`${header}hello<message/>`)).toBe('bad-format');
    expect(condition(`${header}<message><body>${'y'.repeat(stanzaCharsMax + 10)}</body></message>`)).toBe(
      'policy-violation',
    );
    expect(condition(`${header}  <message/>  `)).toBe('ok');
  });

  it('decodes a UTF-8 character split across two pushes, and starts a new document after restart()', () => {
    const parser = new XmlStreamParser();
    const bytes = toBytes(`${header}<message><body>é</body></message>`);
    const cut = bytes.indexOf(0xc3) + 1;
    const first = parser.push(bytes.subarray(0, cut));
    const second = parser.push(bytes.subarray(cut));
    expect(first.ok && second.ok).toBe(true);
    const element = second.ok ? second.value.find((e) => e.type === 'element') : undefined;
    expect(element?.type === 'element' && writeElement(strip(element.element) as XmlElement)).toBe(
      '<message><body>é</body></message>',
    );
    parser.restart();
    const again = parser.push(toBytes(header));
    expect(again.ok && again.value.map((e) => e.type)).toEqual(['open']);
  });

  it('splits a stanza into chunks that never break a surrogate pair and reassemble exactly (property, 100 runs)', () => {
    fc.assert(
      fc.property(element, fc.integer({ min: 2, max: 50 }), (tree, size) => {
        const whole = writeElement(tree);
        const parts = splitChunks(whole, size);
        expect(parts.join('')).toBe(whole);
        for (const part of parts) expect(/^[\uDC00-\uDFFF]/.test(part)).toBe(false);
        const chunks = chunkElements(7, tree, size).map((c) => {
          const parsed = parseAll(header + writeElement(c));
          const found = parsed.ok ? parsed.value.find((e) => e.type === 'element') : undefined;
          return found?.type === 'element' ? readChunk(found.element) : undefined;
        });
        expect(chunks.every((c) => c?.seq === 7)).toBe(true);
        expect(chunks.at(-1)?.last).toBe(true);
        const back = parseStanzaText(chunks.map((c) => c?.text ?? '').join(''));
        expect(back && strip(back)).toEqual(strip(tree));
      }),
      { numRuns: 100 },
    );
  });

  // parseStanzaText keeps one parser between stanzas; these hold it to a new parser per text, fed
  // the stream header and the text as UTF-8 bytes (what it did before).
  it('parses a stanza text as a new parser would, after any texts before it (property, 400 runs)', () => {
    const fragment = fc.constantFrom(
      '<',
      '>',
      '/>',
      '</message>',
      '<message/>',
      '</stream:stream>',
      '<!--c-->',
      '<?pi x?>',
      '<![CDATA[ ]]>',
      '<![CDATA[x]]>',
      '&amp;',
      '&bogus;',
      '&#xD800;',
      '&',
      ']]>',
      " x='1'",
      " xmlns='urn:x'",
      " xmlns:p='urn:p'",
      '<p:q/>',
      ' ',
      '\r',
      '\r\n',
      '\t',
      '\u0001',
      '\uFFFE',
      '\uFFFF',
      '\uD800',
      '\uDC00',
      '😀',
      'é',
    );
    const mutated = fc
      .tuple(element, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fragment), { maxLength: 3 }))
      .map(([tree, edits]) => {
        let out = writeElement(tree);
        for (const [at, removed, inserted] of edits) {
          const where = at % (out.length + 1);
          out = out.slice(0, where) + inserted + out.slice(where + removed);
        }
        return out;
      });
    const texts = fc.oneof(
      element.map(writeElement),
      mutated,
      fc.array(fragment, { maxLength: 8 }).map((parts) => parts.join('')),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.tuple(element, element).map(([a, b]) => writeElement(a) + writeElement(b)),
    );
    fc.assert(
      fc.property(fc.array(texts, { minLength: 1, maxLength: 6 }), (sequence) => {
        for (const text of sequence) expect(parseStanzaText(text)).toEqual(parseStanzaTextReference(text));
      }),
      { numRuns: 400 },
    );
  });

  it('parses a stanza text near the size bound as a new parser would, after a stanza before it', () => {
    const sized = (total: number) => `<message><body>${'y'.repeat(total - 31)}</body></message>`;
    // The sizes where the reference starts to refuse (it checks the size every 4,096 characters).
    let low = stanzaCharsMax - 8192;
    let high = stanzaCharsMax + 8192;
    expect(parseStanzaTextReference(sized(low))).toBeDefined();
    expect(parseStanzaTextReference(sized(high))).toBeUndefined();
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (parseStanzaTextReference(sized(middle)) === undefined) high = middle;
      else low = middle;
    }
    for (let total = low - 8; total <= high + 8; total += 1) {
      const text = sized(total);
      expect(parseStanzaText('<message/>')).toBeDefined();
      expect(parseStanzaText(text)).toEqual(parseStanzaTextReference(text));
    }
  });

  it('a parser that read the header, then whole stanzas, is where it was after the header (property, 200 runs)', () => {
    const header = writeStreamHeader(streamHeaderAttrs(ns.client, {}));
    // Reads saxes' own fields: the claim is about its state. Position, line and column only count (and
    // name errors); the last tag, its namespaces and the entity return state are written before being read.
    const state = (parser: XmlStreamParser) => {
      const saxes = (parser as unknown as { parser: Record<string, unknown> }).parser;
      const moving = new Set(['chunk', 'chunkPosition', 'i', 'prevI', 'line', 'column', 'positionAtNewLine']);
      const rewritten = new Set(['tag', 'topNS', 'entityReturnState']);
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(saxes)) {
        if (moving.has(key) || rewritten.has(key) || typeof value === 'function') continue;
        out[key] = value;
      }
      const own = parser as unknown as { stack: unknown[]; events: unknown[]; failure: unknown };
      return { saxes: out, stack: own.stack.length, events: own.events.length, failure: own.failure };
    };
    const fresh = new XmlStreamParser();
    fresh.pushText(header);
    const expected = state(fresh);
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 4 }), fc.nat({ max: 3 }), (trees, spaces) => {
        const parser = new XmlStreamParser();
        parser.pushText(header);
        for (const tree of trees) {
          const result = parser.pushText(' '.repeat(spaces) + writeElement(tree), header.length);
          expect(result.ok).toBe(true);
          expect(parser.atElementEnd).toBe(true);
          expect(state(parser)).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('reads plain character data in bulk exactly as saxes does one character at a time (property, 300 runs)', () => {
    // The fast path (XmlStreamParser.plainText) against the same parser with it switched off: the
    // same results, pendingChars and atElementEnd after every push, and every field of saxes equal.
    const slow = (): XmlStreamParser => {
      const parser = new XmlStreamParser();
      (parser as unknown as { plainText: () => boolean }).plainText = () => false;
      return parser;
    };
    const saxesFields = (parser: XmlStreamParser): Record<string, unknown> => {
      const saxes = (parser as unknown as { parser: Record<string, unknown> }).parser;
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(saxes)) if (typeof value !== 'function') out[key] = value;
      return out;
    };
    const run = fc.tuple(
      fc.constantFrom('a', 'é', ' ', '\t', '\u20ac', '\ue000', 'x'),
      fc.integer({ min: 1, max: 9000 }),
    );
    const fragment = fc.oneof(
      run.map(([c, n]) => c.repeat(n)),
      fc.constantFrom(
        '<message>',
        '<body>',
        '</body>',
        '</message>',
        '<x a="1">',
        '</x>',
        '&amp;',
        '&bogus;',
        ']',
        ']]',
        ']]>',
        '>',
        '\r',
        '\r\n',
        '\n',
        '😀',
        '\u0001',
        '\uffff',
        '<![CDATA[c]]>',
        '<!--c-->',
        '</stream:stream>',
      ),
    );
    const headers = fc.constantFrom(header, `<?xml version='1.1'?>${header}`, '');
    fc.assert(
      fc.property(
        headers,
        fc.array(fragment, { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 20_000 }), { maxLength: 6 }),
        (head, parts, cuts) => {
          const bytes = toBytes(head + parts.join(''));
          const fast = new XmlStreamParser();
          const reference = slow();
          let at = 0;
          for (const size of [...cuts, bytes.length]) {
            const chunk = bytes.subarray(at, at + size);
            expect(fast.push(chunk)).toEqual(reference.push(chunk));
            expect([fast.pendingChars, fast.atElementEnd]).toEqual([reference.pendingChars, reference.atElementEnd]);
            expect(saxesFields(fast)).toEqual(saxesFields(reference));
            at += size;
            if (at >= bytes.length) break;
          }
        },
      ),
      { numRuns: 300 },
    );
    // Near the size bound: the policy violation falls on the same push.
    const big = toBytes(`${header}<message><body>${'y'.repeat(stanzaCharsMax - 5000)}`);
    const fast = new XmlStreamParser();
    const reference = slow();
    for (let at = 0; at < big.length + 20_000; at += 1_000) {
      const chunk = at < big.length ? big.subarray(at, at + 1_000) : toBytes('z'.repeat(1_000));
      expect(fast.push(chunk)).toEqual(reference.push(chunk));
    }
    expect(fast.push(toBytes('z')).ok).toBe(false);
  });

  it('escapes text and attribute values as the chain of replaces does, for any string (property, 1000 runs)', () => {
    // The writer's escapes as first written: every replace on every string.
    const invalid =
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
    const textReference = (value: string) =>
      value
        .replace(invalid, '\uFFFD')
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/\r/g, '&#13;');
    const attrReference = (value: string) =>
      textReference(value)
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&apos;')
        .replace(/\t/g, '&#9;')
        .replace(/\n/g, '&#10;');
    const special = fc.constantFrom(
      ...'\u0000\u0001\u0008\t\n\u000B\u000C\r\u000E\u001F "&\'<>]\u007F\uD800\uDBFF\uDC00\uDFFF\uFFFD\uFFFE\uFFFF😀é',
    );
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.string({ unit: fc.oneof(special, fc.constantFrom('a', 'Z', '0')), maxLength: 12 }),
    );
    fc.assert(
      fc.property(value, (input) => {
        expect(escapeText(input)).toBe(textReference(input));
        expect(escapeAttr(input)).toBe(attrReference(input));
      }),
      { numRuns: 1000 },
    );
  });
});
