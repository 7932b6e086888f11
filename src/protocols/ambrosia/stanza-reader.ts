/**
 * A reader for the one shape of XML that most stream pushes hold: one or more whole elements,
 * back to back, written the way fedsim's writer writes them (`writeElement`). `XmlStreamParser`
 * asks it first when it sits between two stanzas; what it reads is what saxes would have reported
 * for that text, event for event, and anything else (a comment, a CDATA section, CR, tab or line
 * feed in an attribute, `>` in character data, a surrogate, whitespace between the elements, a name
 * outside ASCII, an unbound prefix, a duplicate attribute, nesting past `depthLimit`, an element
 * cut short) is refused as a whole, and saxes reads the text instead. So errors, their messages
 * and their positions always come from saxes.
 *
 * Pure: no I/O, no clock, never throws.
 */
import type { XmlElement, XmlNode } from './wire.js';

/** The XML namespace and the xmlns namespace (Namespaces in XML 1.0 §3): never declared by a reader's input. */
const xmlNamespace = 'http://www.w3.org/XML/1998/namespace';
const xmlnsNamespace = 'http://www.w3.org/2000/xmlns/';

/** Nesting this deep (the root's children counted as 1) is left to saxes and the parser's own bound. */
const depthLimit = 32;

/** The longest entity reference read here, `&` and `;` included (`&#x10FFFF;`). */
const entityCharsMax = 10;

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SLASH = 0x2f;
const SPACE = 0x20;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const APOS = 0x27;
const COLON = 0x3a;
const NEWLINE = 0x0a;
const TAB = 0x09;

/** Prefix to namespace URI, without a prototype (as saxes keeps them). */
export type Bindings = Readonly<Record<string, string | undefined>>;

export interface ReadElements {
  /** Each top-level element, as the stream parser reports it, with the offset just past its end. */
  readonly elements: readonly { readonly element: XmlElement; readonly end: number }[];
  /** Line feeds read (only character data may hold them), and the offset of the last one (-1 if none). */
  readonly newlines: number;
  readonly lastNewline: number;
  /** Where the last entity or character reference stood, if any: in character data or in an attribute value. */
  readonly lastEntity: 'text' | 'attribute' | undefined;
  /** Whether any attribute was read. */
  readonly attributes: boolean;
}

const isNameStart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
const isNamePart = (c: number) => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;

/** A character XML 1.0 allows (§2.2) that this reader takes as it is: no control character, no surrogate. */
const isPlain = (c: number) => (c >= SPACE && c < 0xd800) || (c >= 0xe000 && c <= 0xfffd);

/** A code point XML 1.0's Char production allows, as saxes checks character references. */
const isXmlChar = (c: number) =>
  c === TAB ||
  c === NEWLINE ||
  c === 0x0d ||
  (c >= SPACE && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0xfffd) ||
  (c >= 0x10000 && c <= 0x10ffff);

/** XML's five predefined entities (§4.6), the only ones a stream may use (RFC 6120 §11.1 allows no DTD). */
const namedEntities = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
]);

/**
 * saxes' own fields that the stream parser's fast paths read and move on (`plainText` in wire.ts,
 * `takeWholeElements` here). They are not in its typings; saxes 6.0.0 (the version
 * package-lock.json holds) has them as below, and test/protocols/ambrosia/wire.test.ts compares
 * the fast paths with saxes' own on arbitrary texts, so an upgrade that changes them fails there.
 */
export interface SaxesFields {
  state: number;
  stateTable: readonly unknown[];
  sText: unknown;
  sBegin: unknown;
  sAttribValueQuoted: unknown;
  tags: readonly { readonly ns: Bindings }[];
  tag: unknown;
  topNS: unknown;
  xmlDecl: { version?: string };
  xmlDeclExpects: string[];
  xmlDeclPossible: boolean;
  sawRoot: boolean;
  ns: Bindings;
  opt: { readonly resolvePrefix?: unknown };
  getCode: unknown;
  getCode10: unknown;
  carriedFromPrevious: string | undefined;
  textHandler: unknown;
  text: string;
  name: string;
  q: number | null;
  chunk: string;
  chunkPosition: number;
  i: number;
  prevI: number;
  line: number;
  column: number;
  positionAtNewLine: number;
  forbiddenState: number;
  entityReturnState: number;
}

/** saxes' `FORBIDDEN_START`: no `]` of a `]]>` seen (saxes 6.0.0, saxes.js). */
export const forbiddenStart = 0;

/**
 * Reads `slice` with `readWholeElements` when saxes (`fields`) sits in the root element between
 * two stanzas, and leaves every field of saxes as `write(slice)` would (the last tag and its
 * namespaces excepted: saxes writes them before it next reads them). `element` is called for each
 * top-level element with saxes' position just past its end, as the close-tag handler would be.
 * False, having done nothing, when the state or the slice is anything else.
 */
export function takeWholeElements(
  fields: SaxesFields,
  slice: string,
  element: (element: XmlElement, position: number) => void,
): boolean {
  if (
    slice.charCodeAt(0) !== LT ||
    slice.charCodeAt(slice.length - 1) !== GT ||
    fields.stateTable[fields.state] !== fields.sText ||
    fields.tags.length !== 1 ||
    fields.text !== '' ||
    fields.getCode !== fields.getCode10 ||
    fields.carriedFromPrevious !== undefined ||
    fields.textHandler === undefined ||
    fields.opt.resolvePrefix !== undefined
  ) {
    return false;
  }
  const read = readWholeElements(slice, fields.tags[0]!.ns, fields.ns);
  if (read === undefined) return false;
  commit(fields, slice, 0, read, element);
  return true;
}

/**
 * What `write(slice)` leaves in saxes after it read `slice` to its end, with `read` the whole
 * elements from `offset` on (offsets in `read` counted from there): each element reported with
 * the position just past its end, the last `>` read, the slice counted into chunkPosition, a
 * column per character (from the last line feed if any), no pending name, quote or text, and the
 * state of the last entity reference.
 */
function commit(
  fields: SaxesFields,
  slice: string,
  offset: number,
  read: ReadElements | undefined,
  element: (element: XmlElement, position: number) => void,
): void {
  const before = fields.chunkPosition;
  fields.chunk = slice;
  for (const { element: done, end } of read?.elements ?? []) {
    fields.i = offset + end;
    element(done, before + offset + end);
  }
  fields.prevI = slice.length - 1;
  fields.i = slice.length;
  fields.chunkPosition = before + slice.length;
  if (read === undefined || read.newlines === 0) fields.column += slice.length;
  else {
    fields.line += read.newlines;
    fields.column = slice.length - 1 - (offset + read.lastNewline);
    fields.positionAtNewLine = before + offset + read.lastNewline + 1;
  }
  fields.name = '';
  if (read?.attributes) fields.q = null;
  fields.forbiddenState = forbiddenStart;
  if (read?.lastEntity === 'text') fields.entityReturnState = fields.stateTable.indexOf(fields.sText);
  else if (read?.lastEntity === 'attribute')
    fields.entityReturnState = fields.stateTable.indexOf(fields.sAttribValueQuoted);
}

/** The start of every stream header fedsim writes (`writeStreamHeader`). */
const headerStart = "<?xml version='1.0'?><stream:stream";

/** The root element's tag as saxes makes it (`openTagHandler`'s argument). */
export interface SaxesRootTag {
  readonly name: string;
  readonly attributes: Record<string, { name: string; prefix: string; local: string; value: string; uri: string }>;
  readonly ns: Record<string, string>;
  readonly prefix: string;
  readonly local: string;
  readonly uri: string;
  readonly isSelfClosing: boolean;
}

/**
 * A stream's first text when it is a header as fedsim writes it (the XML declaration with version
 * 1.0 alone, then `<stream:stream` with attributes that bind `stream` to `streamNs`), possibly
 * followed by whole elements: saxes (`fields`, new) is left as `write(slice)` would leave it, `open`
 * called as its open-tag handler would be (saxes' position just past the header), with the tag's
 * attribute values by name as well (in the tag's order: what the handler would read off the tag),
 * then `element` for each element. False, having done nothing, for anything else.
 */
export function takeStreamHeader(
  fields: SaxesFields,
  slice: string,
  streamNs: string,
  open: (tag: SaxesRootTag, values: Record<string, string>) => void,
  element: (element: XmlElement, position: number) => void,
): boolean {
  if (
    !slice.startsWith(headerStart) ||
    fields.stateTable[fields.state] !== fields.sBegin ||
    fields.chunkPosition !== 0 ||
    fields.tags.length !== 0 ||
    fields.getCode !== fields.getCode10 ||
    fields.carriedFromPrevious !== undefined ||
    fields.opt.resolvePrefix !== undefined
  ) {
    return false;
  }
  let start: StartTag;
  try {
    start = new Reader(slice, fields.ns, fields.ns, headerStart.length - '<stream:stream'.length).startTag();
  } catch (error) {
    if (error === refused) return false;
    throw error;
  }
  const declared = start.declared;
  if (declared === undefined || start.selfClosing || start.name !== 'stream:stream' || declared.stream !== streamNs)
    return false;
  const rest = start.end < slice.length ? readWholeElements(slice.slice(start.end), declared, fields.ns) : undefined;
  if (start.end < slice.length && rest === undefined) return false;
  const attributes = Object.create(null) as SaxesRootTag['attributes'];
  const values = start.attrs;
  for (const name of Object.keys(values)) {
    const value = values[name]!;
    const colon = name.indexOf(':');
    const prefix = colon < 0 ? '' : name.slice(0, colon);
    const uri = prefix === '' ? (name === 'xmlns' ? xmlnsNamespace : '') : (declared[prefix] ?? fields.ns[prefix]!);
    attributes[name] = { name, prefix, local: colon < 0 ? name : name.slice(colon + 1), value, uri };
  }
  const tag = {
    name: start.name,
    attributes,
    ns: declared,
    prefix: 'stream',
    local: 'stream',
    uri: streamNs,
    isSelfClosing: false,
  };
  // What saxes' XML declaration and open tag states leave (saxes 6.0.0; the tests compare every field).
  fields.xmlDecl.version = '1.0';
  fields.xmlDeclExpects = ['encoding', 'standalone'];
  fields.xmlDeclPossible = false;
  fields.sawRoot = true;
  fields.state = fields.stateTable.indexOf(fields.sText);
  (fields.tags as unknown[]).push(tag);
  fields.tag = tag;
  fields.topNS = declared;
  fields.chunk = slice;
  fields.i = start.end;
  open(tag, values);
  const read =
    rest === undefined ? undefined : { ...rest, attributes: true, lastEntity: rest.lastEntity ?? start.lastEntity };
  commit(fields, slice, start.end, read ?? { ...noElements, lastEntity: start.lastEntity }, element);
  return true;
}

const noElements: ReadElements = {
  elements: [],
  newlines: 0,
  lastNewline: -1,
  lastEntity: undefined,
  attributes: true,
};

interface StartTag {
  readonly name: string;
  /**
   * The attributes by name, in the order written (what the stream parser reports as `attrs`):
   * a name starts with a letter or `_`, so none is an array index, which an object would put first.
   */
  readonly attrs: Record<string, string>;
  /** The namespace declarations, prefix to URI (`''` for the default), without a prototype. */
  readonly declared: Record<string, string> | undefined;
  readonly selfClosing: boolean;
  /** The offset just past the tag. */
  readonly end: number;
  readonly lastEntity: 'text' | 'attribute' | undefined;
}

/** Thrown inside the reader to give up; never leaves `readWholeElements`. */
const refused = Symbol('refused');

/**
 * Reads `text` as whole elements back to back, inside a root element whose namespace bindings are
 * `root`, with `predefined` the parser's own (xml, xmlns). Undefined when the text is anything else.
 */
export function readWholeElements(text: string, root: Bindings, predefined: Bindings): ReadElements | undefined {
  try {
    return new Reader(text, root, predefined).read();
  } catch (error) {
    if (error === refused) return undefined;
    throw error;
  }
}

class Reader {
  private newlines = 0;
  private lastNewline = -1;
  private lastEntity: 'text' | 'attribute' | undefined;
  private attributes = false;
  /** The namespace declarations of each open element (undefined when it declares none), innermost last. */
  private readonly scopes: (Record<string, string> | undefined)[] = [];

  constructor(
    private readonly text: string,
    private readonly root: Bindings,
    private readonly predefined: Bindings,
    private at = 0,
  ) {}

  read(): ReadElements {
    const { text } = this;
    const elements: { element: XmlElement; end: number }[] = [];
    while (this.at < text.length) {
      if (text.charCodeAt(this.at) !== LT) throw refused;
      const element = this.element(1);
      elements.push({ element, end: this.at });
    }
    if (elements.length === 0) throw refused;
    return {
      elements,
      newlines: this.newlines,
      lastNewline: this.lastNewline,
      lastEntity: this.lastEntity,
      attributes: this.attributes,
    };
  }

  /** An element starting at `<` (at `this.at`), read to just past its end. */
  private element(depth: number): XmlElement {
    if (depth > depthLimit) throw refused;
    const start = this.startTag();
    const children: XmlNode[] = [];
    if (!start.selfClosing) this.content(start.name, depth, children);
    this.scopes.pop();
    return { name: start.name, attrs: start.attrs, ns: start.uri, children };
  }

  /**
   * A start tag (at its `<`), read past its `>` or `/>`, with its namespace resolved; its
   * declarations stay in scope (the caller pops them). The attributes go straight into the
   * object the element keeps (a list of name/value pairs copied into it after, and a set of
   * names per tag, cost about a sixth of the reader's time).
   */
  startTag(): StartTag & { readonly uri: string } {
    const { text } = this;
    this.at += 1;
    const name = this.name();
    const attrs: Record<string, string> = {};
    /** Whether a name has a prefix: only then can two names differ and still be the same attribute. */
    let prefixed = false;
    let count = 0;
    let declared: Record<string, string> | undefined;
    let selfClosing = false;
    for (;;) {
      const c = text.charCodeAt(this.at);
      if (c === GT) {
        this.at += 1;
        break;
      }
      if (c === SLASH) {
        if (text.charCodeAt(this.at + 1) !== GT) throw refused;
        this.at += 2;
        selfClosing = true;
        break;
      }
      if (c !== SPACE) throw refused;
      while (text.charCodeAt(this.at) === SPACE) this.at += 1;
      if (!isNameStart(text.charCodeAt(this.at))) throw refused;
      const attr = this.name();
      // Stored in `attrs`, it would set the object's prototype: saxes reads it.
      if (attr === '__proto__') throw refused;
      if (text.charCodeAt(this.at) !== EQUALS) throw refused;
      this.at += 1;
      const value = this.attributeValue();
      this.attributes = true;
      // After a value: a space, `>` or `/>` (saxes reports anything else).
      const next = text.charCodeAt(this.at);
      if (next !== SPACE && next !== GT && next !== SLASH) throw refused;
      if (attr === 'xmlns' || attr.startsWith('xmlns:')) {
        const prefix = attr === 'xmlns' ? '' : attr.slice(6);
        // saxes trims a declared URI and checks the pair; values that would differ or fail are its to read.
        if (value.trim() !== value || prefix === 'xml' || prefix === 'xmlns') throw refused;
        if (value === xmlNamespace || value === xmlnsNamespace || (prefix !== '' && value === '')) throw refused;
        declared ??= Object.create(null) as Record<string, string>;
        declared[prefix] = value;
      }
      if (!prefixed && attr.includes(':')) prefixed = true;
      attrs[attr] = value;
      count += 1;
    }
    // A name written twice leaves fewer keys than attributes read: saxes reads it.
    if (count > 1 && Object.keys(attrs).length !== count) throw refused;
    this.scopes.push(declared);
    const uri = this.elementNamespace(name);
    if (prefixed) this.checkPrefixed(attrs);
    return { name, attrs, declared, selfClosing, end: this.at, lastEntity: this.lastEntity, uri };
  }

  /** Character data and child elements up to the matching end tag, read past it. */
  private content(name: string, depth: number, children: XmlNode[]): void {
    const { text } = this;
    let data = '';
    let start = this.at;
    for (;;) {
      if (this.at >= text.length) throw refused;
      const c = text.charCodeAt(this.at);
      if (c === LT) {
        data += text.slice(start, this.at);
        if (data !== '') children.push(data);
        data = '';
        if (text.charCodeAt(this.at + 1) === SLASH) {
          const end = this.at + 2 + name.length;
          if (text.slice(this.at + 2, end) !== name || text.charCodeAt(end) !== GT) throw refused;
          this.at = end + 1;
          return;
        }
        if (!isNameStart(text.charCodeAt(this.at + 1))) throw refused;
        children.push(this.element(depth + 1));
        start = this.at;
      } else if (c === AMP) {
        data += text.slice(start, this.at) + this.entity();
        this.lastEntity = 'text';
        start = this.at;
      } else if (c === NEWLINE) {
        this.newlines += 1;
        this.lastNewline = this.at;
        this.at += 1;
      } else if ((c === TAB || isPlain(c)) && c !== GT) {
        this.at += 1;
      } else {
        throw refused;
      }
    }
  }

  /** A quoted attribute value (at its opening quote), read past the closing quote. */
  private attributeValue(): string {
    const { text } = this;
    const quote = text.charCodeAt(this.at);
    if (quote !== APOS && quote !== QUOTE) throw refused;
    this.at += 1;
    let value = '';
    let start = this.at;
    for (;;) {
      const c = text.charCodeAt(this.at);
      if (c === quote) {
        value += text.slice(start, this.at);
        this.at += 1;
        return value;
      }
      if (c === AMP) {
        value += text.slice(start, this.at) + this.entity();
        this.lastEntity = 'attribute';
        start = this.at;
      } else if (isPlain(c) && c !== LT) {
        this.at += 1;
      } else {
        // A tab or line end (normalised to a space by the parser), `<`, the end of the text, or a character left to saxes.
        throw refused;
      }
    }
  }

  /** An entity or character reference (at its `&`), read past its `;`; the text it stands for. */
  private entity(): string {
    const { text } = this;
    const end = text.indexOf(';', this.at + 1);
    if (end < 0 || end - this.at + 1 > entityCharsMax) throw refused;
    const body = text.slice(this.at + 1, end);
    this.at = end + 1;
    if (body.charCodeAt(0) !== 0x23) {
      const named = namedEntities.get(body);
      if (named === undefined) throw refused;
      return named;
    }
    // saxes: `#x` (lower case x) and hex digits, or `#` and decimal digits; the code point must be a Char.
    let code = Number.NaN;
    if (body.charCodeAt(1) === 0x78 && /^#x[0-9a-f]+$/i.test(body)) code = parseInt(body.slice(2), 16);
    else if (/^#[0-9]+$/.test(body)) code = parseInt(body.slice(1), 10);
    if (!isXmlChar(code)) throw refused;
    return String.fromCodePoint(code);
  }

  /** An ASCII name (at its first character), with at most one colon, not first or last. */
  private name(): string {
    const { text } = this;
    const start = this.at;
    if (!isNameStart(text.charCodeAt(start))) throw refused;
    let colon = -1;
    this.at += 1;
    for (;;) {
      const c = text.charCodeAt(this.at);
      if (isNamePart(c)) this.at += 1;
      else if (c === COLON && colon < 0 && isNameStart(text.charCodeAt(this.at + 1))) {
        colon = this.at;
        this.at += 1;
      } else break;
    }
    return text.slice(start, this.at);
  }

  /** The namespace of an element's name, as saxes resolves it; an unbound or `xmlns` prefix is refused. */
  private elementNamespace(name: string): string {
    const colon = name.indexOf(':');
    const prefix = colon < 0 ? '' : name.slice(0, colon);
    if (prefix === 'xmlns') throw refused;
    const uri = this.resolve(prefix);
    if (prefix !== '' && (uri === undefined || uri === '')) throw refused;
    return uri ?? '';
  }

  /**
   * When some attribute has a prefix: each prefix must be bound, and no two attributes may share
   * an expanded name. (Without prefixes, no name was written twice: `startTag` saw to that.)
   */
  private checkPrefixed(attrs: Readonly<Record<string, string>>): void {
    const seen = new Set<string>();
    for (const name of Object.keys(attrs)) {
      const colon = name.indexOf(':');
      let expanded = name;
      if (colon >= 0) {
        const uri = this.resolve(name.slice(0, colon));
        if (uri === undefined) throw refused;
        expanded = `{${uri}}${name.slice(colon + 1)}`;
      }
      if (seen.has(expanded)) throw refused;
      seen.add(expanded);
    }
  }

  private resolve(prefix: string): string | undefined {
    for (let index = this.scopes.length - 1; index >= 0; index--) {
      const uri = this.scopes[index]?.[prefix];
      if (uri !== undefined) return uri;
    }
    return this.root[prefix] ?? this.predefined[prefix];
  }
}
