// Goal: the stream parser's whole-element fast path (stanza-reader.ts) is invisible: on any text,
// a parser with it gives the same events, errors, positions and saxes state as saxes alone.
// Method: fast-check streams of written elements (namespaces, prefixes, entities, line feeds,
// characters the reader leaves to saxes), each text possibly damaged, pushed in any chunking, into
// a parser with the fast paths and one without; plus hand-picked texts the reader must refuse.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readWholeElements } from '../../../src/protocols/ambrosia/stanza-reader.js';
import {
  ns,
  streamHeaderAttrs,
  toBytes,
  writeElement,
  writeStreamHeader,
  XmlStreamParser,
  type XmlElement,
  type XmlNode,
} from '../../../src/protocols/ambrosia/wire.js';

/** Stream headers: as fedsim writes them, with other attributes, or not quite (left to saxes). */
const headers = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        contentNs: fc.constantFrom(ns.client, ns.server, ns.service),
        from: fc.option(fc.constantFrom('a.test', 'gw.test', "x'y", 'a&b'), { nil: undefined }),
        to: fc.option(fc.constantFrom('b.test', 'im1.a.test'), { nil: undefined }),
        id: fc.option(fc.constantFrom('gw.test.67bb89f4', 's2s.1'), { nil: undefined }),
        db: fc.boolean(),
      })
      .map(({ contentNs, db, ...fields }) =>
        writeStreamHeader({ ...streamHeaderAttrs(contentNs, fields), ...(db ? { 'xmlns:db': ns.dialback } : {}) }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='urn:other'>`,
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client'>`,
      `<?xml version='1.0'?><stream:stream xmlns:stream='${ns.stream}'/>`,
      `<?xml version='1.1'?><stream:stream xmlns:stream='${ns.stream}'>`,
      `<?xml version='1.0'?><stream:stream xmlns:stream='${ns.stream}' xml:lang='en'>`,
      `<?xml version='1.0'?><stream:stream xmlns:stream='${ns.stream}' p:a='1'>`,
      `<?xml version='1.0'?><stream:features xmlns:stream='${ns.stream}'>`,
      `<?xml version='1.0'?><stream:stream xmlns:stream='${ns.stream}' to='a' to='b'>`,
      `<?xml version='1.0'?><stream:stream xmlns:stream="${ns.stream}">`,
      `<stream:stream xmlns:stream='${ns.stream}'>`,
    ),
  },
);

/** A parser reading every text with saxes alone (both fast paths off). */
function saxesOnly(): XmlStreamParser {
  const parser = new XmlStreamParser();
  const fields = parser as unknown as { plainText: () => boolean; wholeElements: () => boolean; header: () => boolean };
  fields.plainText = () => false;
  fields.wholeElements = () => false;
  fields.header = () => false;
  return parser;
}

/** Every field of saxes but its handlers and the two it writes before it reads them again. */
function saxesState(parser: XmlStreamParser): Record<string, unknown> {
  const saxes = (parser as unknown as { parser: Record<string, unknown> }).parser;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(saxes))
    if (typeof value !== 'function' && key !== 'tag' && key !== 'topNS') out[key] = value;
  return out;
}

const textPart = fc.constantFrom(
  'hi',
  ' ',
  'é',
  '€',
  '\u4e2d',
  '\ue000',
  '&',
  '<',
  '>',
  '"',
  "'",
  ']',
  ']]>',
  '\t',
  '\n',
  '\r',
  '\r\n',
  '😀',
  '\u0001',
  '\ufffe',
  'a b',
);
const text = fc.oneof(
  fc.array(textPart, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('')),
  fc.constantFrom('hello', 'a & b', 'x\ny', "it's", 'q"r', '<b>'),
);
const names = fc.constantFrom('message', 'body', 'x', 'a-b', 'q.r', '_u', 'db:result', 'p:item', 'stream:error', 'z9');
const attrName = fc.constantFrom('to', 'from', 'id', 'type', 'xml:lang', 'p:k', 'xmlns', 'xmlns:p', 'xmlns:q', 'h');
const attrValue = fc.oneof(
  text,
  fc.constantFrom('urn:x', '', ' urn:y', ns.client, 'http://www.w3.org/XML/1998/namespace'),
);

function elements(
  name: fc.Arbitrary<string>,
  attr: fc.Arbitrary<string>,
  value: fc.Arbitrary<string>,
  data: fc.Arbitrary<string>,
): fc.Arbitrary<XmlElement> {
  return fc.letrec<{ el: XmlElement }>((tie) => ({
    el: fc.record({
      name,
      attrs: fc.dictionary(attr, value, { maxKeys: 3 }),
      children: fc
        .array(fc.oneof({ depthSize: 'small' }, data, tie('el')), { maxLength: 4 })
        .map((children) => children.filter((c, i) => !(typeof c === 'string' && typeof children[i - 1] === 'string'))),
    }),
  })).el;
}

/** Anything the writer may write, and stanzas of the shapes fedsim sends most (which the reader takes). */
const wildElement = elements(names, attrName, attrValue, text);
const cleanElement = elements(
  fc.constantFrom('message', 'body', 'iq', 'db:result', 'r'),
  fc.constantFrom('to', 'from', 'id', 'type', 'xmlns', 'h'),
  fc.constantFrom('b@b.test', 'a&b', "'q'", 'urn:xmpp:sm:3', '5', 'x\ny'),
  fc.constantFrom('hello', 'a & b', 'x\ny', "it's", '<b>', 'tab\there'),
);
const element = fc.oneof(wildElement, cleanElement);

/** A text damaged: a character dropped, replaced or put in at some point, or none. */
const damage = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.nat(),
      fc.constantFrom('drop', 'put'),
      fc.constantFrom('<', '>', '/', '&', "'", '"', ' ', ':', 'x', '\n', '='),
    ),
  },
);

function damaged(text: string, how: [number, string, string] | undefined): string {
  if (how === undefined || text.length === 0) return text;
  const [at, kind, c] = how;
  const k = at % text.length;
  return kind === 'drop' ? text.slice(0, k) + text.slice(k + 1) : text.slice(0, k) + c + text.slice(k);
}

describe('ambrosia: whole-element fast path', () => {
  it('gives what saxes alone gives, on written and damaged stanzas in any chunking (property, 400 runs)', () => {
    let taken = 0;
    let headersTaken = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.array(fc.oneof(cleanElement, element), { minLength: 1, maxLength: 3 }), damage, fc.boolean()),
          {
            minLength: 1,
            maxLength: 5,
          },
        ),
        fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 4 }),
        headers,
        fc.array(fc.oneof(cleanElement, element), { maxLength: 2 }),
        fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: damage }),
        (pushes, cuts, header, withHeader, headerDamage) => {
          const fast = new XmlStreamParser();
          const fastPath = fast as unknown as {
            wholeElements: (slice: string) => boolean;
            header: (slice: string) => boolean;
          };
          const wholeElements = fastPath.wholeElements.bind(fast);
          fastPath.wholeElements = (slice) => {
            const took = wholeElements(slice);
            if (took) taken += 1;
            return took;
          };
          const headerPath = fastPath.header.bind(fast);
          fastPath.header = (slice) => {
            const took = headerPath(slice);
            if (took) headersTaken += 1;
            return took;
          };
          const reference = saxesOnly();
          // The stream's first text: a header, perhaps with elements after it, perhaps damaged.
          const first = damaged(header + withHeader.map(writeElement).join(''), headerDamage);
          const opened = fast.pushText(first);
          const openedAlone = reference.pushText(first);
          expect(opened).toEqual(openedAlone);
          expect(JSON.stringify(opened)).toBe(JSON.stringify(openedAlone));
          expect([fast.pendingChars, fast.atElementEnd]).toEqual([reference.pendingChars, reference.atElementEnd]);
          expect(saxesState(fast)).toEqual(saxesState(reference));
          for (const [trees, how, asBytes] of pushes) {
            const whole = damaged(trees.map(writeElement).join(''), how);
            const texts = asBytes ? [whole] : cutText(whole, cuts);
            for (const piece of texts) {
              const got = asBytes ? fast.push(toBytes(piece)) : fast.pushText(piece);
              const want = asBytes ? reference.push(toBytes(piece)) : reference.pushText(piece);
              expect(got).toEqual(want);
              // Key order too: events reach traces as JSON.
              expect(JSON.stringify(got)).toBe(JSON.stringify(want));
              expect([fast.pendingChars, fast.atElementEnd]).toEqual([reference.pendingChars, reference.atElementEnd]);
              expect(saxesState(fast)).toEqual(saxesState(reference));
            }
          }
        },
      ),
      { numRuns: 400, seed: 26 },
    );
    // Both fast paths were taken (with this seed, when written: 92 and 193 times), so the comparison is not empty.
    expect(taken).toBeGreaterThan(60);
    expect(headersTaken).toBeGreaterThan(120);
  });

  it('after restart() reads a new document as a new parser does, whatever the last one left (property, 200 runs)', () => {
    fc.assert(
      fc.property(
        headers,
        fc.array(fc.tuple(fc.array(element, { minLength: 1, maxLength: 3 }), damage), { maxLength: 3 }),
        fc.constantFrom('', '</stream:stream>', '<a>', '<!--c-->', '\u0000'),
        headers,
        fc.array(fc.oneof(cleanElement, element), { maxLength: 3 }),
        damage,
        (oldHeader, oldPushes, oldEnd, header, trees, how) => {
          const used = new XmlStreamParser();
          used.pushText(oldHeader);
          for (const [oldTrees, oldHow] of oldPushes)
            used.pushText(damaged(oldTrees.map(writeElement).join(''), oldHow));
          used.pushText(oldEnd);
          used.restart();
          const fresh = new XmlStreamParser();
          const compare = (text: string) => {
            const [got, want] = [used.pushText(text), fresh.pushText(text)];
            expect(JSON.stringify(got)).toBe(JSON.stringify(want));
            expect([used.pendingChars, used.atElementEnd]).toEqual([fresh.pendingChars, fresh.atElementEnd]);
            expect(saxesState(used)).toEqual(saxesState(fresh));
          };
          compare(header);
          compare(damaged(trees.map(writeElement).join(''), how));
          compare(writeElement({ name: 'presence', attrs: {}, children: [] }));
        },
      ),
      { numRuns: 200, seed: 27 },
    );
  });

  it('reads what fedsim writes, and refuses what it leaves to saxes', () => {
    const root = Object.assign(Object.create(null) as Record<string, string>, {
      '': ns.client,
      stream: ns.stream,
    });
    const predefined = Object.assign(Object.create(null) as Record<string, string>, {
      xml: 'http://www.w3.org/XML/1998/namespace',
      xmlns: 'http://www.w3.org/2000/xmlns/',
    });
    const stanza: XmlElement = {
      name: 'message',
      attrs: { to: 'b@b.test', id: "a'b&c<d" },
      children: [{ name: 'body', attrs: {}, children: ['x & y\nz'] }],
    };
    const read = readWholeElements(writeElement(stanza) + writeElement(stanza), root, predefined);
    const expected = (node: XmlNode, uri: string): XmlNode =>
      typeof node === 'string'
        ? node
        : { name: node.name, attrs: node.attrs, ns: uri, children: node.children.map((c) => expected(c, uri)) };
    expect(read?.elements.map((e) => e.element)).toEqual([expected(stanza, ns.client), expected(stanza, ns.client)]);
    expect(read?.newlines).toBe(2);
    // Bound prefixes, and a prefixed and an unprefixed attribute of one local name: read, in the order written.
    // Names an object has from its prototype become own attributes, as the stream parser makes them from saxes' tag.
    const prefixed = readWholeElements(
      "<a xmlns:p='u' p:b='1' b='2'/><c xml:lang='en'/><d constructor='1' toString='2'/>",
      root,
      predefined,
    );
    expect(prefixed?.elements.map((e) => e.element)).toEqual<XmlElement[]>([
      { name: 'a', attrs: { 'xmlns:p': 'u', 'p:b': '1', b: '2' }, ns: ns.client, children: [] },
      { name: 'c', attrs: { 'xml:lang': 'en' }, ns: ns.client, children: [] },
      { name: 'd', attrs: { constructor: '1', toString: '2' }, ns: ns.client, children: [] },
    ]);
    expect(Object.keys(prefixed?.elements[0]?.element.attrs ?? {})).toEqual(['xmlns:p', 'p:b', 'b']);
    expect(Object.hasOwn(prefixed?.elements[2]?.element.attrs ?? {}, 'constructor')).toBe(true);
    for (const text of [
      '<a/> ',
      ' <a/>',
      '<a><!--c--></a>',
      '<a><![CDATA[x]]></a>',
      '<a>]]></a>',
      '<a>\r</a>',
      "<a b='\t'/>",
      "<a b='1' b='2'/>",
      "<a b='1' c='2' b='3'/>",
      "<a xmlns:p='u' xmlns:p='v'/>",
      "<a __proto__='1'/>",
      "<a b='2' __proto__='1'/>",
      "<a p:b='1'/>",
      "<a p:b='1' q:b='2' xmlns:p='u' xmlns:q='u'/>",
      '<p:a/>',
      "<a xmlns:p=''/>",
      '<a>&nbsp;</a>',
      '<a>&#0;</a>',
      '<a>&#X41;</a>',
      '<a>\ud83d\ude00</a>',
      '<a></b>',
      '<a>',
      '<a/><b',
      '<é/>',
      '<a:b:c/>',
      '<a / >',
      `${'<a>'.repeat(40)}${'</a>'.repeat(40)}`,
    ]) {
      expect([text, readWholeElements(text, root, predefined)]).toEqual([text, undefined]);
    }
  });
});

describe('ambrosia: attribute names the reader leaves to saxes', () => {
  it('gives what saxes alone gives for names written twice and names an object has from its prototype', () => {
    const header = writeStreamHeader(streamHeaderAttrs(ns.client, { to: 'a.test' }));
    for (const stanza of [
      "<message to='b@b.test' id='1' to='c@c.test'/>",
      "<message constructor='x' to='b@b.test'/>",
      "<message __proto__='x' to='b@b.test'><body>hi</body></message>",
      "<message to='b@b.test' hasOwnProperty='x'/>",
      "<message to='b@b.test' xmlns:p='u' p:to='b@b.test'/>",
    ]) {
      const fast = new XmlStreamParser();
      const reference = saxesOnly();
      fast.pushText(header);
      reference.pushText(header);
      const got = fast.pushText(stanza);
      const want = reference.pushText(stanza);
      expect(JSON.stringify(got)).toBe(JSON.stringify(want));
      expect(saxesState(fast)).toEqual(saxesState(reference));
    }
  });
});

function cutText(text: string, cuts: readonly number[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const size of cuts) {
    if (at >= text.length) break;
    // Never inside a surrogate pair: a text pushed as a string is whole characters.
    let end = Math.min(text.length, at + size);
    if (end < text.length && /[\ud800-\udbff]/.test(text[end - 1] ?? '')) end += 1;
    out.push(text.slice(at, end));
    at = end;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
