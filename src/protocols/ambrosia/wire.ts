/**
 * Ambrosia wire format: XML streams as RFC 6120 §4 defines them (c2s `jabber:client`, s2s
 * `jabber:server`) and our service-channel profile (`urn:fedsim:ambrosia:service:0`, see spec.md §4).
 * An incremental stream parser built on saxes, a writer with proper escaping, and builders for the
 * elements Ambrosia uses.
 *
 * Pure: no I/O, no clock. Must not throw on peer input: every byte sequence gives stream events
 * or a `StreamError` (a WireError whose code is the RFC 6120 §4.9.3 condition) inside a Result.
 * Buffers are bounded (`stanzaCharsMax`, `depthMax`).
 */
import { createHash } from 'node:crypto';
import { utf8Bytes } from '../../core/bytes.js';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { WireError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { textFields, type WireField } from '../../core/wire-fields.js';
import { Answers } from './memo.js';
import { forbiddenStart, takeStreamHeader, takeWholeElements, type SaxesFields } from './stanza-reader.js';

export const ns = {
  stream: 'http://etherx.jabber.org/streams',
  client: 'jabber:client',
  server: 'jabber:server',
  dialback: 'jabber:server:dialback',
  dialbackFeature: 'urn:xmpp:features:dialback',
  service: 'urn:fedsim:ambrosia:service:0',
  streams: 'urn:ietf:params:xml:ns:xmpp-streams',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  bind: 'urn:ietf:params:xml:ns:xmpp-bind',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  sm: 'urn:xmpp:sm:3',
  tls: 'urn:ietf:params:xml:ns:xmpp-tls',
} as const;

/**
 * Largest stanza (in characters, counted from the end of the previous top-level element) a peer
 * may send. RFC 6120 §13.12 asks servers to accept at least 10,000 bytes; 256 Ki characters is
 * room for any message while keeping one connection's buffer far below a megabyte.
 */
export const stanzaCharsMax = 256 * 1024;

/** Deepest element nesting accepted inside a stanza; real XMPP stanzas rarely pass 10 levels. */
export const depthMax = 64;

/** The text we feed saxes at a time, so that `stanzaCharsMax` is checked often. */
const sliceChars = 4096;

/**
 * Character data that saxes' text loop (`handleTextInRoot` reading with `getCode10`, XML 1.0)
 * passes over one character at a time without doing anything but appending it: no markup or
 * entity start (`<`, `&`), no `]` or `>` (the `]]>` check), no line end (CR, LF: line counting
 * and normalisation), no surrogate (pairs are read two at a time), no character XML 1.0 forbids.
 */
const plainTextRun = /^[\t\x20-\x25\x27-\x3B\x3D\x3F-\x5C\x5E-\uD7FF\uE000-\uFFFD]*$/;

export interface XmlElement {
  /** The qualified name as written, such as `message` or `stream:features`. */
  readonly name: string;
  /** Attributes by qualified name as written, `xmlns` declarations included. */
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
  /** The resolved namespace URI; filled in by the parser, ignored by the writer. */
  readonly ns?: string;
}

export type XmlNode = XmlElement | string;

/** RFC 6120 §4.9.3 stream error conditions that Ambrosia sends. */
export type StreamCondition =
  | 'bad-format'
  | 'connection-timeout'
  | 'host-unknown'
  | 'invalid-from'
  | 'invalid-namespace'
  | 'not-authorized'
  | 'not-well-formed'
  | 'policy-violation'
  | 'restricted-xml'
  | 'see-other-host'
  | 'unsupported-encoding'
  | 'unsupported-stanza-type'
  | 'undefined-condition';

/** A WireError whose code is the stream error condition to send. */
export class StreamError extends WireError {
  override name = 'StreamError';
  constructor(
    readonly condition: StreamCondition,
    message: string,
  ) {
    super(condition, message);
  }
}

/** saxes' reset to a new document (saxes 6.0.0, saxes.js): the end of its constructor and of `close`. */
interface SaxesInit {
  _init(): void;
}

/**
 * The fields saxes' `on` sets for the events the stream parser listens to (saxes 6.0.0, saxes.js:
 * `EVENT_NAME_TO_HANDLER_NAME`); private in its typings. Saxes calls them as methods of the parser
 * or, for text, as plain functions: arrow functions either way.
 */
interface SaxesHandlers {
  errorHandler: (error: Error) => void;
  commentHandler: () => void;
  piHandler: () => void;
  doctypeHandler: () => void;
  openTagHandler: (tag: SaxesTagNS) => void;
  closeTagHandler: () => void;
  textHandler: (text: string) => void;
  cdataHandler: (text: string) => void;
}

export type StreamEvent =
  | { readonly type: 'open'; readonly header: XmlElement }
  | { readonly type: 'element'; readonly element: XmlElement }
  | { readonly type: 'close' };

interface Building {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  ns: string;
}

/**
 * Parses one XML stream (one document) incrementally. After a stream restart (RFC 6120 §4.3.3)
 * call `restart()`: the next bytes are a new document. A restart must fall on a chunk boundary,
 * which it does in practice (the peer waits for `<success/>` before restarting).
 */
export class XmlStreamParser {
  private parser!: SaxesParser<{ xmlns: true; position: true }>;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private stack: Building[] = [];
  private events: StreamEvent[] = [];
  private failure: StreamError | undefined;
  private opened = false;
  private closed = false;
  private stanzaStartPosition = 0;
  /** Characters given to saxes since the start of the document. */
  private fedChars = 0;

  constructor() {
    this.reset();
  }

  /** Forgets everything: the next bytes start a new stream document. */
  restart(): void {
    this.reset();
  }

  /**
   * Characters read since the stream header or the last complete top-level element: above zero while
   * an element is incomplete (a sender that writes whole elements sends the rest at once, so one that
   * stays incomplete while later bytes arrive was damaged on the way).
   */
  get pendingChars(): number {
    return this.opened && !this.closed && !this.failure ? this.parser.position - this.stanzaStartPosition : 0;
  }

  /**
   * True when the text fed so far ends exactly with the stream header or a complete top-level
   * element: nothing after it, not even a character saxes holds back for the next text.
   * (`pendingChars` cannot say so: saxes' `position` counts the last text written twice once the
   * write is over, which the size and stall checks have always included.)
   */
  get atElementEnd(): boolean {
    return this.opened && !this.closed && !this.failure && this.stanzaStartPosition === this.fedChars;
  }

  /** Feeds bytes; returns the complete events, or the stream error to send (then the parser is dead). */
  push(bytes: Uint8Array): Result<StreamEvent[], StreamError> {
    if (this.failure) return err(this.failure);
    let text: string;
    try {
      text = this.utf8.decode(bytes, { stream: true });
    } catch {
      return this.fail(new StreamError('unsupported-encoding', 'the stream is not valid UTF-8 (RFC 6120 §11.6)'));
    }
    return this.pushText(text);
  }

  /**
   * Feeds text that is already decoded (well-formed UTF-16, as the decoder in `push` gives it).
   * `textBefore` characters of the current slice were fed just before, in the same call as far as
   * the slicing goes (fewer than the slice size): the first slice is that much shorter, so the size
   * checks fall where they would if the two texts had been pushed as one (see `parseStanzaText` in
   * channel.ts).
   */
  pushText(text: string, textBefore = 0): Result<StreamEvent[], StreamError> {
    if (this.failure) return err(this.failure);
    for (let at = 0, end = sliceChars - textBefore; at < text.length && !this.failure; at = end, end += sliceChars) {
      if (this.closed) {
        if (text.slice(at).trim() !== '') this.fail(new StreamError('not-well-formed', 'data after the stream closed'));
        break;
      }
      const slice = text.slice(at, end);
      this.fedChars += slice.length;
      try {
        if (!this.header(slice) && !this.wholeElements(slice) && !this.plainText(slice)) this.parser.write(slice);
      } catch (cause) {
        // saxes reports through the error handler; a throw would be its own bug, but peer input must not crash us.
        this.fail(new StreamError('not-well-formed', `parser failure: ${String(cause)}`));
      }
      if (!this.failure && this.parser.position - this.stanzaStartPosition > stanzaCharsMax) {
        this.fail(new StreamError('policy-violation', `stanza larger than ${stanzaCharsMax} characters`));
      }
    }
    if (this.failure) return err(this.failure);
    return ok(this.events.splice(0, this.events.length));
  }

  /**
   * Takes a slice of plain character data (`plainTextRun`) inside the root element the way
   * `parser.write` would, leaving every field of saxes as that call would, without reading the
   * slice one character at a time: a large stanza body costs a regular-expression test instead
   * of saxes' per-character loop (about 0.1 to 0.2 µs a character, which let a flood of large
   * partial stanzas hold the event loop for seconds). False, having done nothing, when the
   * slice or the parser's state is anything else; then the caller writes it as usual.
   */
  private plainText(slice: string): boolean {
    // saxes' internals are not in its typings (see SaxesFields).
    const fields = this.parser as unknown as SaxesFields;
    if (
      slice.length === 0 ||
      fields.stateTable[fields.state] !== fields.sText ||
      fields.tags.length === 0 ||
      fields.getCode !== fields.getCode10 ||
      fields.carriedFromPrevious !== undefined ||
      fields.textHandler === undefined ||
      !plainTextRun.test(slice)
    ) {
      return false;
    }
    // What write() leaves after handleTextInRoot read the slice to its end: the slice appended to
    // the pending text, one column per character, `i` one past the end (reading the end moves it
    // too), and the slice counted into chunkPosition.
    fields.chunk = slice;
    fields.text += slice;
    fields.column += slice.length;
    fields.prevI = slice.length;
    fields.i = slice.length + 1;
    fields.forbiddenState = forbiddenStart;
    fields.chunkPosition += slice.length;
    return true;
  }

  /**
   * Takes a slice that is whole elements, written as fedsim writes them, between two stanzas, the
   * way `parser.write` would (stanza-reader.ts): most pushes are one or a few whole stanzas, and
   * saxes reads them a character at a time. False, having done nothing, for anything else.
   */
  private wholeElements(slice: string): boolean {
    if (!this.opened || this.closed || this.stack.length !== 1) return false;
    // saxes' internals are not in its typings (see SaxesFields).
    return takeWholeElements(this.parser as unknown as SaxesFields, slice, this.stanzaRead);
  }

  private readonly stanzaRead = (element: XmlElement, position: number): void => {
    this.events.push({ type: 'element', element });
    this.stanzaStartPosition = position;
  };

  /** The same for a stream's first text when it is a header as fedsim writes it (and whole elements). */
  private header(slice: string): boolean {
    if (this.opened) return false;
    const fields = this.parser as unknown as SaxesFields;
    return takeStreamHeader(
      fields,
      slice,
      ns.stream,
      (tag, values) => this.openTag(tag as SaxesTagNS, values),
      this.stanzaRead,
    );
  }

  private fail(error: StreamError): Result<never, StreamError> {
    this.failure ??= error;
    return err(this.failure);
  }

  private reset(): void {
    this.stack = [];
    this.events = [];
    this.failure = undefined;
    this.opened = false;
    this.closed = false;
    this.stanzaStartPosition = 0;
    this.fedChars = 0;
    // Undefined only when the constructor calls this.
    if ((this.parser as SaxesParser | undefined) !== undefined) {
      // A restart (each stream has two or three): saxes' `_init`, which its constructor ends with,
      // sets every field a document changes back as a new parser has it, and keeps the handlers
      // (setting them on a new parser was a tenth of the parser's cost in an Ambrosia fuzz case).
      // Not in its typings; test/protocols/ambrosia/stanza-reader.test.ts compares every field
      // with a new parser's after any document, whole, damaged or failed.
      (this.parser as unknown as SaxesInit)._init();
      return;
    }
    const parser = new SaxesParser({ xmlns: true, position: true });
    // The handlers `on` would set, each stored by its name instead: `on` stores them under a
    // computed key, and V8 turns an object that gains that many properties so into a dictionary,
    // whose every field read and write in saxes' loops (and in the fast paths) is then a hash
    // lookup (parsing a header and three stanzas: 190 against 55 µs). The same fields, set in the
    // same order, with the same functions.
    const handlers = parser as unknown as SaxesHandlers;
    handlers.errorHandler = (error) => this.fail(new StreamError('not-well-formed', error.message));
    const restricted = (what: string) => () => this.fail(new StreamError('restricted-xml', `${what} (RFC 6120 §11.1)`));
    handlers.commentHandler = restricted('comments are not allowed');
    handlers.piHandler = restricted('processing instructions are not allowed');
    handlers.doctypeHandler = restricted('DTDs are not allowed');
    handlers.openTagHandler = (tag) => this.openTag(tag);
    handlers.closeTagHandler = () => this.closeTag();
    handlers.textHandler = (text) => this.text(text);
    handlers.cdataHandler = (text) => this.text(text);
    this.parser = parser;
  }

  /**
   * saxes' open-tag handler, and the header fast path's, which passes the attribute values it read
   * (`for in` over saxes' prototype-less `attributes`, a dictionary to V8, cost several µs a tag).
   */
  private openTag(tag: SaxesTagNS, values?: Record<string, string>): void {
    if (this.failure) return;
    let attrs = values;
    if (attrs === undefined) {
      attrs = {};
      // saxes makes `attributes` without a prototype, so `in` visits the own keys alone, in Object.entries' order.
      for (const name in tag.attributes) attrs[name] = tag.attributes[name]!.value;
    }
    const building: Building = { name: tag.name, attrs, children: [], ns: tag.uri };
    if (!this.opened) {
      if (tag.local !== 'stream' || tag.uri !== ns.stream) {
        this.fail(new StreamError('invalid-namespace', `the root must be <stream:stream> in ${ns.stream}`));
        return;
      }
      this.opened = true;
      this.stack.push(building);
      this.events.push({ type: 'open', header: { name: tag.name, attrs, children: [], ns: tag.uri } });
      this.stanzaStartPosition = this.parser.position;
      return;
    }
    if (this.stack.length > depthMax) {
      this.fail(new StreamError('policy-violation', `elements nested deeper than ${depthMax}`));
      return;
    }
    this.stack.at(-1)?.children.push(building);
    this.stack.push(building);
  }

  private closeTag(): void {
    if (this.failure) return;
    const done = this.stack.pop();
    if (!done) return;
    if (this.stack.length === 0) {
      this.closed = true;
      this.events.push({ type: 'close' });
    } else if (this.stack.length === 1) {
      this.stack[0]!.children.length = 0;
      this.events.push({ type: 'element', element: freeze(done) });
      this.stanzaStartPosition = this.parser.position;
    }
  }

  private text(text: string): void {
    if (this.failure || text === '') return;
    const parent = this.stack.at(-1);
    // Text directly inside <stream:stream> is whitespace keepalive (RFC 6120 §4.6.1); anything else is bad format.
    if (!parent || this.stack.length === 1) {
      if (text.trim() !== '' && parent) this.fail(new StreamError('bad-format', 'character data between stanzas'));
      return;
    }
    const last = parent.children.at(-1);
    if (typeof last === 'string') parent.children[parent.children.length - 1] = last + text;
    else parent.children.push(text);
  }
}

function freeze(building: Building): XmlElement {
  return {
    name: building.name,
    attrs: building.attrs,
    ns: building.ns,
    children: building.children.map((child) => (typeof child === 'string' ? child : freeze(child as Building))),
  };
}

// ---- writer ----

/** Characters XML 1.0 cannot carry at all (§2.2); the writer replaces them with U+FFFD. */
const invalidXmlChars =
  // Matching control characters is the point of this pattern.
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Any character `escapeText` replaces or escapes: the invalid ones above, `&<>`, CR, and every
 * surrogate (a paired one is left alone by the slow path; testing for all of them keeps this test simple).
 */
// Matching control characters is the point of this pattern.
// eslint-disable-next-line no-control-regex
const textSpecial = /[\u0000-\u0008\u000B-\u001F&<>\uD800-\uDFFF\uFFFE\uFFFF]/;
/** The same for `escapeAttr`, which also escapes quotes, tab and newline. */
// eslint-disable-next-line no-control-regex
const attrSpecial = /[\u0000-\u001F"&'<>\uD800-\uDFFF\uFFFE\uFFFF]/;

export function escapeText(text: string): string {
  // Most text has nothing to escape: one test instead of five passes.
  return textSpecial.test(text) ? escapeTextAlways(text) : text;
}

function escapeTextAlways(text: string): string {
  return text
    .replace(invalidXmlChars, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

/** Attribute values also escape quotes and the whitespace a parser would normalise (XML §3.3.3). */
export function escapeAttr(text: string): string {
  if (!attrSpecial.test(text)) return text;
  return escapeTextAlways(text)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;');
}

function attrsText(attrs: Readonly<Record<string, string>>): string {
  let out = '';
  // Object.keys: the own keys in the order Object.entries gives them, without the pairs.
  for (const name of Object.keys(attrs)) out += ` ${name}='${escapeAttr(attrs[name]!)}'`;
  return out;
}

/** Serialises an element (self-closing when it has no children). */
export function writeElement(element: XmlElement): string {
  const head = `<${element.name}${attrsText(element.attrs)}`;
  if (element.children.length === 0) return `${head}/>`;
  let out = `${head}>`;
  for (const child of element.children) out += typeof child === 'string' ? escapeText(child) : writeElement(child);
  return `${out}</${element.name}>`;
}

/** The opening of a stream: XML declaration and the `<stream:stream ...>` start tag. */
export function writeStreamHeader(attrs: Readonly<Record<string, string>>): string {
  return `<?xml version='1.0'?><stream:stream${attrsText(attrs)}>`;
}

export const streamClose = '</stream:stream>';

export function toBytes(text: string): Uint8Array {
  return utf8Bytes(text);
}

// ---- element helpers ----

export function el(name: string, attrs: Record<string, string> = {}, children: readonly XmlNode[] = []): XmlElement {
  return { name, attrs, children };
}

/** The local part of a qualified name: `stream:features` -> `features`. */
export function localName(element: XmlElement): string {
  const colon = element.name.indexOf(':');
  return colon < 0 ? element.name : element.name.slice(colon + 1);
}

export function child(element: XmlElement, local: string): XmlElement | undefined {
  return element.children.find((c): c is XmlElement => typeof c !== 'string' && localName(c) === local);
}

export function textOf(element: XmlElement | undefined): string {
  if (!element) return '';
  const { children } = element;
  // Most elements asked for their text hold one string (a body, a SASL payload) or nothing.
  if (children.length === 1 && typeof children[0] === 'string') return children[0];
  return children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

/** A stream header's attributes for the given stream namespace. */
export function streamHeaderAttrs(
  contentNs: string,
  fields: { from?: string; to?: string; id?: string },
): Record<string, string> {
  const attrs: Record<string, string> = { xmlns: contentNs, 'xmlns:stream': ns.stream };
  if (fields.from !== undefined) attrs.from = fields.from;
  if (fields.to !== undefined) attrs.to = fields.to;
  if (fields.id !== undefined) attrs.id = fields.id;
  attrs.version = '1.0';
  return attrs;
}

/** `<stream:error><condition/>[<text/>]</stream:error>` (RFC 6120 §4.9.2); see-other-host carries the host as text. */
export function streamErrorElement(
  condition: StreamCondition,
  hostText?: string,
  appCondition?: XmlElement,
): XmlElement {
  const conditionEl = el(condition, { xmlns: ns.streams }, hostText === undefined ? [] : [hostText]);
  // RFC 6120 §4.9.4: an application-specific condition follows the defined one.
  return el('stream:error', {}, appCondition === undefined ? [conditionEl] : [conditionEl, appCondition]);
}

/**
 * XEP-0198 §4: the application-specific condition of the `undefined-condition` stream error that
 * answers an `h` counting more stanzas than were sent (`sendCount`).
 */
export function handledCountTooHigh(h: number, sendCount: number): XmlElement {
  return el('handled-count-too-high', { xmlns: ns.sm, h: String(h), 'send-count': String(sendCount) });
}

/** A stanza error reply (RFC 6120 §8.3): `to`/`from` swapped, `type='error'`, the original children kept. */
export function stanzaErrorReply(stanza: XmlElement, condition: string, errorType = 'cancel'): XmlElement {
  const attrs: Record<string, string> = { type: 'error' };
  if (stanza.attrs.from !== undefined) attrs.to = stanza.attrs.from;
  if (stanza.attrs.to !== undefined) attrs.from = stanza.attrs.to;
  if (stanza.attrs.id !== undefined) attrs.id = stanza.attrs.id;
  return el(stanza.name, attrs, [el('error', { type: errorType }, [el(condition, { xmlns: ns.stanzas })])]);
}

/** A stanza without its namespace bookkeeping, as it travels inside another stream (the default namespace is re-established there). */
export function bareStanza(stanza: XmlElement, from?: string): XmlElement {
  const attrs: Record<string, string> = {};
  for (const [name, value] of Object.entries(stanza.attrs)) if (name !== 'xmlns') attrs[name] = value;
  // Stamped (RFC 6120 §8.1.2.1): in the place of a `from` it had, else last.
  if (from !== undefined) attrs.from = from;
  return { name: stanza.name, attrs, children: stanza.children.map((c) => (typeof c === 'string' ? c : stripNs(c))) };
}

/** An element without its resolved namespace: its fields named, in the order a parsed element has them. */
function stripNs(element: XmlElement): XmlElement {
  return {
    name: element.name,
    attrs: element.attrs,
    children: element.children.map((c) => (typeof c === 'string' ? c : stripNs(c))),
  };
}

export const stanzaNames = new Set(['message', 'presence', 'iq']);

/** A JID split into parts (RFC 7622), without stringprep: we compare as written. */
export interface Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
}

export function parseJid(text: string | undefined): Jid | undefined {
  if (!text) return undefined;
  const slash = text.indexOf('/');
  const bare = slash < 0 ? text : text.slice(0, slash);
  const resource = slash < 0 ? '' : text.slice(slash + 1);
  const at = bare.indexOf('@');
  const local = at < 0 ? '' : bare.slice(0, at);
  const domain = at < 0 ? bare : bare.slice(at + 1);
  if (domain === '' || (at >= 0 && local === '') || (slash >= 0 && resource === '')) return undefined;
  return { local, domain, resource };
}

/** RFC 7622 §3.3.1: characters a localpart may not hold (besides whitespace and controls). */
const localForbidden = /["&'/:<>@\s\p{Cc}]/u;
/** A domainpart label as fedsim's names use it: LDH (RFC 5890's A-labels and plain ASCII names). */
const domainLabel = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * A JID that follows RFC 7622 for the subset fedsim uses (ours: no stringprep/PRECIS mapping, so
 * parts compare as written): every part at most 1023 bytes; a localpart without `"&'/:<>@`,
 * whitespace or controls; a domainpart of dot-separated LDH labels (no IP literals, at most 253
 * characters); a resourcepart without controls. Undefined when `text` is not one.
 */
export function validJid(text: string | undefined): Jid | undefined {
  const jid = parseJid(text);
  if (!jid) return undefined;
  const { local, domain, resource } = jid;
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so a part of up to 341 units is short enough unencoded.
  if ([local, domain, resource].some((part) => part.length > 341 && utf8Bytes(part).length > 1023)) return undefined;
  if (localForbidden.test(local)) return undefined;
  if (domain.length > 253 || !domain.split('.').every((label) => domainLabel.test(label))) return undefined;
  if (/\p{Cc}/u.test(resource)) return undefined;
  return jid;
}

export function bareJid(jid: Jid): string {
  return jid.local === '' ? jid.domain : `${jid.local}@${jid.domain}`;
}

/** Best-effort decoding for traces: the text itself. */
export function describe(bytes: Uint8Array): unknown {
  return new TextDecoder().decode(bytes);
}

// ---- SASL PLAIN (RFC 4616) ----

/** Decodes a SASL PLAIN message (RFC 4616): `[authzid] NUL authcid NUL passwd`, base64 per RFC 6120 §6.4.2. */
export function decodePlain(base64: string): { authzid: string; authcid: string; password: string } | undefined {
  const text = base64.trim();
  if (text === '' || text === '=' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'base64'));
  } catch {
    return undefined;
  }
  const parts = decoded.split('\u0000');
  if (parts.length !== 3) return undefined;
  const [authzid = '', authcidRaw = '', password = ''] = parts;
  // Clients such as @xmpp/client may put a bare JID as authcid; keep the local part.
  const authcid = authcidRaw.includes('@') ? (authcidRaw.split('@')[0] ?? '') : authcidRaw;
  if (authcid === '' || password === '') return undefined;
  return { authzid, authcid, password };
}

// ---- the service channel's chunks and counters (ours, spec.md §4.2, §4.4–4.5) ----

/** Proofs by the text they hash (which is all they depend on): each side computes both. */
const proofs = new Answers<string>();

/** Mutual-auth proof for the service channel (ours, spec.md §4.2): hex SHA-256 over role, both nonces and the secret. */
export function serviceProof(role: 'service' | 'gateway', streamId: string, nonce: string, secret: string): string {
  const text = `${role}\u0000${streamId}\u0000${nonce}\u0000${secret}`;
  return proofs.get(text, () => createHash('sha256').update(text).digest('hex'));
}

/** Counters are modulo 2^32 as in XEP-0198 §4. */
const counterModulo = 0x1_0000_0000;

export function nextCounter(value: number): number {
  return (value + 1) % counterModulo;
}

/**
 * Whether an `h` counts more stanzas than were sent (XEP-0198 §4 `<handled-count-too-high/>`): the
 * stanzas up to `sendCount` are numbered in order and the last `unackedCount` of them are not acked
 * yet, so a true `h` lies from `sendCount - unackedCount` to `sendCount` (modulo 2^32). Acks on an
 * ordered stream never go back, so any other value reads as a count past `sendCount`.
 */
export function handledCountBeyond(h: number, sendCount: number, unackedCount: number): boolean {
  const ackedBefore = (sendCount - unackedCount + counterModulo) % counterModulo;
  return (h - ackedBefore + counterModulo) % counterModulo > unackedCount;
}

/** True when counter `a` is at or before `b` in serial-number arithmetic (RFC 1982 style, window 2^31). */
export function counterAtOrBefore(a: number, b: number): boolean {
  return (b - a + counterModulo) % counterModulo < counterModulo / 2;
}

export interface Chunk {
  readonly seq: number;
  readonly index: number;
  readonly last: boolean;
  readonly text: string;
}

/** Splits a serialised stanza into chunk texts of at most `chunkCharsMax`, never inside a surrogate pair. */
export function splitChunks(text: string, chunkCharsMax: number): string[] {
  const parts: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + Math.max(2, chunkCharsMax));
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    parts.push(text.slice(at, end));
    at = end;
  }
  return parts.length === 0 ? [''] : parts;
}

export function chunkElements(seq: number, stanza: XmlElement, chunkCharsMax: number): XmlElement[] {
  const parts = splitChunks(writeElement(stanza), chunkCharsMax);
  return parts.map((text, index) =>
    el(
      'chunk',
      { seq: String(seq), index: String(index), last: index === parts.length - 1 ? 'true' : 'false' },
      text === '' ? [] : [text],
    ),
  );
}

export function readChunk(element: XmlElement): Chunk | undefined {
  const seq = Number(element.attrs.seq);
  const index = Number(element.attrs.index);
  const last = element.attrs.last;
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= counterModulo) return undefined;
  if (!Number.isSafeInteger(index) || index < 0) return undefined;
  if (last !== 'true' && last !== 'false') return undefined;
  const text = element.children.map((c) => (typeof c === 'string' ? c : '')).join('');
  return { seq, index, last: last === 'true', text };
}

/** What a reassembled stanza text is parsed after: a stream header in the default namespace `jabber:client`. */
const stanzaStreamHeader = writeStreamHeader(streamHeaderAttrs(ns.client, {}));

/**
 * A parser that has read `stanzaStreamHeader` and then only texts that each ended exactly with the
 * end of their one stanza, so it stands where it stood right after the header: saxes is in text
 * state at depth 1 with nothing pending, and the stream parser's stack holds the header alone. Such
 * a parser gives the next text the same result as a new one would (test/protocols/ambrosia/wire.test.ts
 * compares the two on arbitrary and damaged texts, and checks saxes' fields), without building a saxes parser and reading the
 * header per stanza. Taken while in use, so a text that leaves it anywhere else just drops it.
 */
let parkedStanzaParser: XmlStreamParser | undefined;

const surrogate = /[\uD800-\uDFFF]/;

/**
 * Parses a reassembled stanza text (one element, default namespace `jabber:client`), as a stream
 * holding the header and then the text would read it.
 */
export function parseStanzaText(text: string): XmlElement | undefined {
  // A stream carries the text as UTF-8, where a lone surrogate becomes U+FFFD (the decoder reads it back so).
  const decoded = surrogate.test(text) ? new TextDecoder().decode(toBytes(text)) : text;
  let parser = parkedStanzaParser;
  parkedStanzaParser = undefined;
  if (!parser) {
    parser = new XmlStreamParser();
    if (!parser.pushText(stanzaStreamHeader).ok) return undefined;
  }
  const result = parser.pushText(decoded, stanzaStreamHeader.length);
  if (!result.ok) return undefined;
  let only: XmlElement | undefined;
  for (const event of result.value) {
    if (event.type === 'close' || (event.type === 'element' && only)) return undefined;
    if (event.type === 'element') only = event.element;
  }
  if (only && parser.atElementEnd) parkedStanzaParser = parser;
  return only;
}

/**
 * The named fields of the XML in `bytes` (structure-aware corruption, src/core/wire-fields.ts):
 * the stream-management and component counters `h` and `seq` (as digits), the `id`, `from`
 * and `to` attributes (as text), and `bind`, the name of an empty `<bind/>` (a features offer).
 */
export function wireFields(bytes: Uint8Array): WireField[] {
  return textFields(bytes, [
    ...['h', 'seq'].map((key) => ({
      name: key,
      pattern: new RegExp(`\\s${key}=['"]([0-9]+)['"]`, 'g'),
      kind: 'digits' as const,
    })),
    ...['id', 'from', 'to'].map((key) => ({
      name: key,
      pattern: new RegExp(`\\s${key}=['"]([^'"]+)['"]`, 'g'),
      kind: 'text' as const,
    })),
    // The name of the `<bind/>` a gateway offers in its features after SASL (RFC 6120 §7.2): edited,
    // the features offer no bind (a client that cannot bind fails its login for good).
    { name: 'bind', pattern: /<(bind)\s[^>]*\/>/g, kind: 'text' as const },
  ]);
}
