/**
 * FMTP wire format (ours: the seed defines none). A message is a block of UTF-8 `KEY: value`
 * lines ended by an empty line; the first line is always `TYPE: <type>`. Values escape `\` as
 * `\\` and a line break as `\n`, so any string round-trips. See ./spec.md §3.
 *
 * Pure: encoders build bytes, decoders return a Result and never throw on peer input. This
 * module must not know about connections, keys or lookups; it only checks shape and syntax.
 */
import { concatBytes, noBytes, utf8Bytes } from '../../core/bytes.js';
import { WireError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { textFields, type WireField } from '../../core/wire-fields.js';

/** One line longer than this is a peer error. Our longest legitimate line is a long BLACKLIST or BODY; 4 KiB leaves room. */
export const lineBytesMax = 4096;
/** Lines in one block (TYPE plus fields). The largest type, OBJECT, has 10 fields; 32 bounds a hostile peer. */
export const blockLinesMax = 32;
/** Blocks one `push` may yield, so one huge chunk of tiny blocks cannot monopolise a node. */
export const blocksPerChunkMax = 256;
/** Patterns in one BLACKLIST or WHITELIST, so matching stays cheap. */
export const patternsMax = 64;
/**
 * The largest HOPS a REQUEST may carry on the wire (ours): one octet, as IP's TTL. A node lowers
 * a larger budget to its own `hopsMax` (config.ts), as an HTTP proxy may lower Max-Forwards.
 */
export const hopsWireMax = 255;

export const frameTypes = [
  'HELLO',
  'WELCOME',
  'REFUSED',
  'REQUEST',
  'OBJECT',
  'NOT-FOUND',
  'LOOKING',
  'FAILED',
  'MESSAGE',
  'ACCEPTED',
  'REJECTED',
] as const;
export type FrameType = (typeof frameTypes)[number];

export type Status = 'ONLINE' | 'OFFLINE' | 'AWAY';
export type Policy = 'ACCEPT' | 'REJECT' | 'CONFIRM';
export type EncryptPolicy = 'REQUIRED' | 'OPTIONAL' | 'NONE';

/** "Connect to lost.lenore.org, port 8000 tcp": the object's recommended route. */
export interface Route {
  readonly host: string;
  readonly port: number;
  readonly transport: 'tcp' | 'udp';
}

/** The properties of an object (rev 5 table), as they travel in an OBJECT answer. */
export interface ObjectProperties {
  readonly address: string;
  readonly status?: Status;
  readonly route?: Route;
  readonly policy?: Policy;
  readonly blacklist?: readonly string[];
  readonly whitelist?: readonly string[];
  readonly encryptPolicy?: EncryptPolicy;
  readonly givenName?: string;
  readonly familyName?: string;
}

export type Frame =
  /** "Hi, I'm poe.net. Here's my hash." */
  | {
      readonly type: 'HELLO';
      readonly from: string;
      readonly to: string;
      readonly nonce: string;
      readonly hash: string;
    }
  /** "Nice to meet you, poe.net. I am lenore.org. Here's my hash." */
  | {
      readonly type: 'WELCOME';
      readonly from: string;
      readonly to: string;
      readonly nonce: string;
      readonly hash: string;
    }
  | { readonly type: 'REFUSED'; readonly code: string; readonly reason: string }
  | {
      readonly type: 'REQUEST';
      readonly from: string;
      readonly object: string;
      readonly transaction: string;
      /** How many more proxies may look on the requester's behalf (ours, spec.md §5.3); absent: the receiver's maximum. */
      readonly hops?: number;
    }
  | {
      readonly type: 'OBJECT';
      readonly object: string;
      readonly transaction: string;
      readonly properties: ObjectProperties;
    }
  | { readonly type: 'NOT-FOUND'; readonly object: string; readonly transaction: string }
  | { readonly type: 'LOOKING'; readonly object: string; readonly transaction: string }
  | { readonly type: 'FAILED'; readonly object: string; readonly transaction: string; readonly reason: string }
  | {
      readonly type: 'MESSAGE';
      readonly from: string;
      readonly to: string;
      readonly transaction: string;
      readonly body: string;
    }
  | { readonly type: 'ACCEPTED'; readonly transaction: string }
  | { readonly type: 'REJECTED'; readonly transaction: string; readonly code: string; readonly reason: string };

export type FrameOf<T extends FrameType> = Extract<Frame, { type: T }>;
export type Answer = FrameOf<'OBJECT' | 'NOT-FOUND' | 'LOOKING' | 'FAILED'>;

// ---- syntax of values --------------------------------------------------------------------------

const domainPattern = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const localPattern = /^[A-Za-z0-9._+-]{1,64}$/;

export function isDomain(text: string): boolean {
  return domainPattern.test(text);
}

/** `user@domain` (an identity address). */
export function isAddress(text: string): boolean {
  const at = text.lastIndexOf('@');
  return at > 0 && localPattern.test(text.slice(0, at)) && isDomain(text.slice(at + 1));
}

/** An object address: `user@domain`, `181293437234.calin@splitreflection.com/path`. */
export function isObjectAddress(text: string): boolean {
  const slash = text.indexOf('/');
  const head = slash < 0 ? text : text.slice(0, slash);
  const path = slash < 0 ? '' : text.slice(slash + 1);
  return isAddress(head) && /^[\x21-\x7e]{0,200}$/.test(path);
}

/** The domain an object address or identity belongs to. */
export function domainOf(identity: string): string {
  const slash = identity.indexOf('/');
  const head = slash < 0 ? identity : identity.slice(0, slash);
  const at = head.lastIndexOf('@');
  return at < 0 ? head : head.slice(at + 1);
}

/** The owner of an object: `181293437234.calin@x/path` is owned by `calin@x`; a user object owns itself. */
export function ownerOf(object: string): string {
  const head = object.split('/')[0] ?? object;
  const at = head.lastIndexOf('@');
  const local = head.slice(0, at);
  const dot = local.indexOf('.');
  const user = dot >= 0 && /^\d+$/.test(local.slice(0, dot)) ? local.slice(dot + 1) : local;
  return `${user}@${head.slice(at + 1)}`;
}

/** A node identity in HELLO / WELCOME: a domain (a server) or an address (a user's node). */
export function isIdentity(text: string): boolean {
  return isDomain(text) || isAddress(text);
}

const tokenPattern = /^[\x21-\x7e]{1,128}$/;
const codePattern = /^[a-z0-9.-]{1,64}$/;
const noncePattern = /^[0-9a-f]{32}$/;
/** An Ed25519 signature (64 bytes) in base64: 88 characters ending in `==`. */
const hashPattern = /^[A-Za-z0-9+/]{86}==$/;

export function parseRoute(text: string): Route | undefined {
  const match = /^(\S+) (\d{1,5}) (tcp|udp)$/.exec(text);
  if (!match || !isDomain(match[1] ?? '')) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? '', port, transport: match[3] as Route['transport'] };
}

export function formatRoute(route: Route): string {
  return `${route.host} ${route.port} ${route.transport}`;
}

/** An address pattern: `*@*`, `*@splitreflection.com`, `calin@*`, `spam*@x.test`. */
export function isPattern(text: string): boolean {
  return /^[A-Za-z0-9._+*-]{1,64}@[a-z0-9.*-]{1,253}$/.test(text);
}

/** Patterns compiled so far (a route table is matched on every lookup); emptied when it gets large. */
const patternRegexes = new Map<string, RegExp>();
const patternRegexesMax = 1024;

/** Whether `address` matches a `*` wildcard pattern (case-insensitive, as mail addresses are in practice). */
export function matchesPattern(pattern: string, address: string): boolean {
  let regex = patternRegexes.get(pattern);
  if (regex === undefined) {
    // No `g` or `y` flag: the expression keeps no state between tests, so one serves every call.
    regex = new RegExp(
      `^${pattern
        .toLowerCase()
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
        .join('.*')}$`,
    );
    if (patternRegexes.size >= patternRegexesMax) patternRegexes.clear();
    patternRegexes.set(pattern, regex);
  }
  return regex.test(address.toLowerCase());
}

// ---- encoding ----------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `text` holds a C0 control character or DEL, other than tab and the ones in `allowed`. */
export function hasControlCharacter(text: string, allowed = '\n\r'): boolean {
  // By code unit: a surrogate (half of a code point beyond U+FFFF) is never a control character.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 || code === 0x7f) && code !== 0x09 && !allowed.includes(text.charAt(i))) return true;
  }
  return false;
}

/** A backslash, a line feed or a carriage return: what `escapeValue` changes. */
const escapedCharacter = /[\\\n\r]/;

export function escapeValue(value: string): string {
  if (!escapedCharacter.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

function unescapeValue(value: string): string | undefined {
  // Without a backslash the loop below would give the value back as it is.
  if (!value.includes('\\')) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = value[i + 1];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else return undefined;
    i += 1;
  }
  return out;
}

/** The fields of a frame in wire order, TYPE first. */
export function frameFields(frame: Frame): [string, string][] {
  const fields: [string, string][] = [];
  eachField(frame, (key, value) => {
    if (value !== undefined) fields.push([key, value]);
  });
  return fields;
}

/** Calls `add` with each field of `frame` in wire order, TYPE first; a field that is absent comes as undefined. */
function eachField(frame: Frame, add: (key: string, value: string | undefined) => void): void {
  add('TYPE', frame.type);
  switch (frame.type) {
    case 'HELLO':
    case 'WELCOME':
      add('FROM', frame.from);
      add('TO', frame.to);
      add('NONCE', frame.nonce);
      add('HASH', frame.hash);
      break;
    case 'REFUSED':
      add('CODE', frame.code);
      add('REASON', frame.reason);
      break;
    case 'REQUEST':
      add('FROM', frame.from);
      add('OBJECT', frame.object);
      add('TRANSACTION', frame.transaction);
      add('HOPS', frame.hops === undefined ? undefined : String(frame.hops));
      break;
    case 'OBJECT': {
      const p = frame.properties;
      add('OBJECT', frame.object);
      add('TRANSACTION', frame.transaction);
      add('ADDRESS', p.address);
      add('STATUS', p.status);
      add('ROUTE', p.route ? formatRoute(p.route) : undefined);
      add('POLICY', p.policy);
      add('BLACKLIST', p.blacklist?.join(' '));
      add('WHITELIST', p.whitelist?.join(' '));
      add('ENCRYPT-POLICY', p.encryptPolicy);
      add('GIVEN-NAME', p.givenName);
      add('FAMILY-NAME', p.familyName);
      break;
    }
    case 'NOT-FOUND':
    case 'LOOKING':
      add('OBJECT', frame.object);
      add('TRANSACTION', frame.transaction);
      break;
    case 'FAILED':
      add('OBJECT', frame.object);
      add('TRANSACTION', frame.transaction);
      add('REASON', frame.reason);
      break;
    case 'MESSAGE':
      add('FROM', frame.from);
      add('TO', frame.to);
      add('TRANSACTION', frame.transaction);
      add('BODY', frame.body);
      break;
    case 'ACCEPTED':
      add('TRANSACTION', frame.transaction);
      break;
    case 'REJECTED':
      add('TRANSACTION', frame.transaction);
      add('CODE', frame.code);
      add('REASON', frame.reason);
      break;
  }
}

export function encodeFrame(frame: Frame): Uint8Array {
  // The lines written into one string as the fields come (no list of pairs, no list of lines).
  let text = '';
  eachField(frame, (key, value) => {
    if (value !== undefined) text += `${key}: ${escapeValue(value)}\n`;
  });
  return utf8Bytes(`${text}\n`);
}

// ---- decoding ----------------------------------------------------------------------------------

const allowed: Record<FrameType, { required: readonly string[]; optional: readonly string[] }> = {
  HELLO: { required: ['FROM', 'TO', 'NONCE', 'HASH'], optional: [] },
  WELCOME: { required: ['FROM', 'TO', 'NONCE', 'HASH'], optional: [] },
  REFUSED: { required: ['CODE', 'REASON'], optional: [] },
  REQUEST: { required: ['FROM', 'OBJECT', 'TRANSACTION'], optional: ['HOPS'] },
  OBJECT: {
    required: ['OBJECT', 'TRANSACTION', 'ADDRESS'],
    optional: ['STATUS', 'ROUTE', 'POLICY', 'BLACKLIST', 'WHITELIST', 'ENCRYPT-POLICY', 'GIVEN-NAME', 'FAMILY-NAME'],
  },
  'NOT-FOUND': { required: ['OBJECT', 'TRANSACTION'], optional: [] },
  LOOKING: { required: ['OBJECT', 'TRANSACTION'], optional: [] },
  FAILED: { required: ['OBJECT', 'TRANSACTION', 'REASON'], optional: [] },
  MESSAGE: { required: ['FROM', 'TO', 'TRANSACTION', 'BODY'], optional: [] },
  ACCEPTED: { required: ['TRANSACTION'], optional: [] },
  REJECTED: { required: ['TRANSACTION', 'CODE', 'REASON'], optional: [] },
};

type Fields = ReadonlyMap<string, string>;

function fail(code: string, message: string, offset?: number): { ok: false; error: WireError } {
  return err(new WireError(code, message, offset));
}

/** Checks one field's syntax; returns a message when it is wrong. */
function checkField(key: string, value: string): string | undefined {
  const bad = (what: string) => `${key} must be ${what}, got ${JSON.stringify(value.slice(0, 60))}`;
  switch (key) {
    case 'FROM':
    case 'TO':
      return isIdentity(value) ? undefined : bad('a domain or an address');
    case 'ADDRESS':
      return isAddress(value) ? undefined : bad('an address');
    case 'OBJECT':
      return isObjectAddress(value) ? undefined : bad('an object address');
    case 'TRANSACTION':
      return tokenPattern.test(value) ? undefined : bad('1-128 printable ASCII characters');
    case 'HOPS':
      return /^\d{1,3}$/.test(value) && Number(value) <= hopsWireMax ? undefined : bad(`an integer 0-${hopsWireMax}`);
    case 'NONCE':
      return noncePattern.test(value) ? undefined : bad('32 lowercase hex digits');
    case 'HASH':
      return hashPattern.test(value) ? undefined : bad('a base64 Ed25519 signature');
    case 'CODE':
      return codePattern.test(value) ? undefined : bad('a code such as hash.failed');
    case 'STATUS':
      return ['ONLINE', 'OFFLINE', 'AWAY'].includes(value) ? undefined : bad('ONLINE, OFFLINE or AWAY');
    case 'POLICY':
      return ['ACCEPT', 'REJECT', 'CONFIRM'].includes(value) ? undefined : bad('ACCEPT, REJECT or CONFIRM');
    case 'ENCRYPT-POLICY':
      return ['REQUIRED', 'OPTIONAL', 'NONE'].includes(value) ? undefined : bad('REQUIRED, OPTIONAL or NONE');
    case 'ROUTE':
      return parseRoute(value) ? undefined : bad('"<host> <port> tcp|udp"');
    case 'BLACKLIST':
    case 'WHITELIST': {
      const patterns = value.split(' ');
      if (patterns.length > patternsMax) return `${key} has more than ${patternsMax} patterns`;
      return patterns.every(isPattern) ? undefined : bad('space-separated address patterns');
    }
    default:
      return undefined; // REASON, BODY, GIVEN-NAME, FAMILY-NAME: any text.
  }
}

function buildFrame(type: FrameType, f: Fields): Frame {
  const get = (key: string): string => f.get(key) ?? '';
  switch (type) {
    case 'HELLO':
    case 'WELCOME':
      return { type, from: get('FROM'), to: get('TO'), nonce: get('NONCE'), hash: get('HASH') };
    case 'REFUSED':
      return { type, code: get('CODE'), reason: get('REASON') };
    case 'REQUEST': {
      const from = get('FROM');
      const object = get('OBJECT');
      const transaction = get('TRANSACTION');
      // Literals with and without `hops` rather than a spread of a conditional one (V8's slow path).
      return f.has('HOPS')
        ? { type, from, object, transaction, hops: Number(get('HOPS')) }
        : { type, from, object, transaction };
    }
    case 'OBJECT': {
      const route = f.has('ROUTE') ? parseRoute(get('ROUTE')) : undefined;
      // The optional members set in place, in the order a spread of each would add them.
      const properties: { -readonly [K in keyof ObjectProperties]: ObjectProperties[K] } = { address: get('ADDRESS') };
      if (f.has('STATUS')) properties.status = get('STATUS') as Status;
      if (route) properties.route = route;
      if (f.has('POLICY')) properties.policy = get('POLICY') as Policy;
      if (f.has('BLACKLIST')) properties.blacklist = get('BLACKLIST').split(' ');
      if (f.has('WHITELIST')) properties.whitelist = get('WHITELIST').split(' ');
      if (f.has('ENCRYPT-POLICY')) properties.encryptPolicy = get('ENCRYPT-POLICY') as EncryptPolicy;
      if (f.has('GIVEN-NAME')) properties.givenName = get('GIVEN-NAME');
      if (f.has('FAMILY-NAME')) properties.familyName = get('FAMILY-NAME');
      return { type, object: get('OBJECT'), transaction: get('TRANSACTION'), properties };
    }
    case 'NOT-FOUND':
    case 'LOOKING':
      return { type, object: get('OBJECT'), transaction: get('TRANSACTION') };
    case 'FAILED':
      return { type, object: get('OBJECT'), transaction: get('TRANSACTION'), reason: get('REASON') };
    case 'MESSAGE':
      return { type, from: get('FROM'), to: get('TO'), transaction: get('TRANSACTION'), body: get('BODY') };
    case 'ACCEPTED':
      return { type, transaction: get('TRANSACTION') };
    case 'REJECTED':
      return { type, transaction: get('TRANSACTION'), code: get('CODE'), reason: get('REASON') };
  }
}

/**
 * The length of the key of a `KEY: value` line, or 0 when the line is not one: what
 * `/^([A-Z][A-Z-]{0,31}): (.*)$/s` matches (a capital, up to 31 more capitals or hyphens, then
 * `: `; the value is anything), read without a regular expression and its match array. Exported
 * for the tests only.
 */
export function keyLength(text: string): number {
  const first = text.charCodeAt(0);
  if (!(first >= 0x41 && first <= 0x5a)) return 0;
  let end = 1;
  while (end < 32) {
    const code = text.charCodeAt(end);
    if (!((code >= 0x41 && code <= 0x5a) || code === 0x2d)) break;
    end += 1;
  }
  return text.charCodeAt(end) === 0x3a && text.charCodeAt(end + 1) === 0x20 ? end : 0;
}

/** Decodes the lines of one block (without the terminating empty line). */
export function decodeLines(lines: readonly Uint8Array[]): Result<Frame, WireError> {
  if (lines.length === 0) return fail('block.empty', 'a block needs at least a TYPE line');
  if (lines.length > blockLinesMax) return fail('block.too-long', `a block has at most ${blockLinesMax} lines`);
  const fields = new Map<string, string>();
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] as Uint8Array;
    if (raw.length > lineBytesMax) return fail('line.too-long', `line ${index + 1} is over ${lineBytesMax} bytes`);
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      return fail('utf8.invalid', `line ${index + 1} is not valid UTF-8`);
    }
    // Control characters other than tab have no business in a field; a raw CR would hide a line break.
    if (hasControlCharacter(text, '')) return fail('line.control', `line ${index + 1} has a control character`);
    const colon = keyLength(text);
    if (colon === 0)
      return fail('line.syntax', `line ${index + 1} is not "KEY: value": ${JSON.stringify(text.slice(0, 40))}`);
    const key = text.slice(0, colon);
    const value = unescapeValue(text.slice(colon + 2));
    if (value === undefined) return fail('value.escape', `${key} has a bad escape (only \\\\, \\n and \\r exist)`);
    if (index === 0 && key !== 'TYPE') return fail('type.missing', 'the first line of a block must be TYPE');
    if (fields.has(key)) return fail('field.duplicate', `${key} appears twice`);
    fields.set(key, value);
  }
  const type = fields.get('TYPE') as FrameType;
  if (!frameTypes.includes(type)) return fail('type.unknown', `unknown TYPE ${JSON.stringify(type.slice(0, 40))}`);
  const spec = allowed[type];
  for (const key of spec.required) {
    if (!fields.has(key)) return fail('field.missing', `${type} needs ${key}`);
  }
  for (const [key, value] of fields) {
    if (key === 'TYPE') continue;
    if (!spec.required.includes(key) && !spec.optional.includes(key)) {
      return fail('field.unknown', `${type} has no field ${key}`);
    }
    const problem = checkField(key, value);
    if (problem) return fail('field.invalid', problem);
  }
  return ok(buildFrame(type, fields));
}

/** Decodes exactly one block (`KEY: value` lines and the final empty line). */
export function decodeFrame(bytes: Uint8Array): Result<Frame, WireError> {
  const buffer = new BlockBuffer();
  const pushed = buffer.push(bytes);
  if (!pushed.ok) return pushed;
  if (pushed.value.length !== 1 || buffer.pendingBytes() !== 0) {
    return fail('block.count', `expected exactly one complete block, got ${pushed.value.length}`);
  }
  return ok(pushed.value[0] as Frame);
}

/**
 * Splits a connection's byte stream into frames. Keeps the unfinished lines for the next chunk;
 * a line or block past its limit is an error, after which the connection should be closed.
 */
export class BlockBuffer {
  private pending: Uint8Array = noBytes;
  private lines: Uint8Array[] = [];

  pendingBytes(): number {
    return this.pending.length + this.lines.reduce((n, line) => n + line.length, 0);
  }

  push(chunk: Uint8Array): Result<Frame[], WireError> {
    // With nothing pending (a chunk usually starts a block) the chunk is read in place, its lines
    // as views of it; the lines of a block it leaves unfinished are copied before it is let go.
    const joined = this.pending.length === 0 ? chunk : concatBytes(this.pending, chunk);
    try {
      return this.split(joined);
    } finally {
      if (joined === chunk && this.lines.length > 0) this.lines = this.lines.map((line) => line.slice());
    }
  }

  private split(joined: Uint8Array): Result<Frame[], WireError> {
    const frames: Frame[] = [];
    let start = 0;
    // From line feed to line feed with `indexOf` (native), not byte by byte.
    for (let i = joined.indexOf(0x0a); i !== -1; i = joined.indexOf(0x0a, i + 1)) {
      const line = joined.subarray(start, i);
      start = i + 1;
      if (line.length > 0) {
        this.lines.push(line);
        if (this.lines.length > blockLinesMax) {
          return fail('block.too-long', `a block has at most ${blockLinesMax} lines`);
        }
        continue;
      }
      if (this.lines.length === 0) return fail('block.empty', 'an empty line outside a block');
      const frame = decodeLines(this.lines);
      this.lines = [];
      if (!frame.ok) return frame;
      frames.push(frame.value);
      if (frames.length > blocksPerChunkMax)
        return fail('chunk.too-many', `over ${blocksPerChunkMax} blocks in one chunk`);
    }
    this.pending = start === joined.length ? noBytes : joined.slice(start);
    if (this.pending.length > lineBytesMax) return fail('line.too-long', `line over ${lineBytesMax} bytes`);
    return ok(frames);
  }
}

/** Best-effort decoding for traces: the frame, or the error and the text. */
export function describe(bytes: Uint8Array): unknown {
  const decoded = new BlockBuffer().push(bytes);
  if (decoded.ok) return decoded.value.length === 1 ? decoded.value[0] : decoded.value;
  return { error: decoded.error.code, text: new TextDecoder().decode(bytes) };
}

/**
 * The named fields of the blocks in `bytes` (structure-aware corruption, src/core/wire-fields.ts):
 * each line's value by its key (`TYPE`, `TRANSACTION`, `HOPS`, `ID`, `FROM`, `TO`, ...); numbers
 * are edited as digits, the rest as text.
 */
export function wireFields(bytes: Uint8Array): WireField[] {
  return textFields(bytes, [
    { name: 'HOPS', pattern: /^HOPS: ([0-9]+)\r?$/gm, kind: 'digits' },
    { name: 'TRANSACTION', pattern: /^TRANSACTION: ([0-9]+)\r?$/gm, kind: 'digits' },
    ...['TYPE', 'ID', 'FROM', 'TO', 'OBJECT', 'CODE', 'NONCE', 'HASH'].map((key) => ({
      name: key,
      pattern: new RegExp(`^${key}: ([^\\r\\n]+)\\r?$`, 'gm'),
      kind: 'text' as const,
    })),
  ]);
}
