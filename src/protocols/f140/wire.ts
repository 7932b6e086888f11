/**
 * F140 wire formats (see ./spec.md §2 and §3): a small HTTP/1.1 request and response codec that works
 * incrementally on raw stream bytes (the real host feeds it bytes from node:net, not node:http), the
 * URL-encoded form codec that carries commands, arguments and results, and (from ./message.ts,
 * re-exported here) the basic XML payload codec `<msg kind="basic"><text>...</text></msg>`.
 *
 * Rule 1: pure. No I/O, no clock, no randomness.
 * Rule 2: decoders never throw on peer bytes and never buffer without bound: every failure is a
 * `WireError` inside a Result, and every HTTP failure code maps to the status `httpStatusFor` names.
 */
import { concatBytes, noBytes, utf8Bytes } from '../../core/bytes.js';
import { WireError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { textFields, type WireField } from '../../core/wire-fields.js';

export { decodeBasicMessage, encodeBasicMessage, textLength, type BasicMessage } from './message.js';

// ---------------------------------------------------------------------------------------------------
// Limits (all ours: F140 names none).

/** Request line plus headers. 8 KiB is what common servers allow by default (nginx, Node's http). */
export const headBytesMax = 8 * 1024;
/** The request line alone. A longer line is a GET whose query cannot be a sane F140 call: 414. */
export const requestLineBytesMax = 4 * 1024;
/** Header lines per message: far above what curl or our client send (about 6). */
export const headersCountMax = 64;
/**
 * Body bytes. A 140-code-point text is at most 560 UTF-8 bytes, XML-escaped at most 6x (`&quot;`),
 * percent-encoded at most 3x, plus the other arguments: 16 KiB holds the worst case with room left.
 */
export const bodyBytesMax = 16 * 1024;
/** Form fields per call: the largest F140 call has 7 (command, from_user, challenge, to_user, ...). */
export const formFieldsMax = 32;
/** The 140-character rule (§3.4, ours): text length in Unicode code points. */
export const textCodePointsMax = 140;

// ---------------------------------------------------------------------------------------------------
// Types.

export type Header = readonly [name: string, value: string];

export interface HttpRequest {
  /** The method token as sent (methods are case-sensitive in HTTP; the node compares upper-case). */
  readonly method: string;
  readonly target: string;
  readonly version: '1.0' | '1.1';
  /** Header names lower-cased, values trimmed, in arrival order. */
  readonly headers: readonly Header[];
  readonly body: Uint8Array;
  /** False when the client asked to close after this exchange (HTTP/1.0 default, `Connection: close`). */
  readonly keepAlive: boolean;
}

export interface HttpResponse {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly Header[];
  readonly body: Uint8Array;
}

/** What an encoder needs for a request; `Content-Length` is added for you. */
export interface RequestSpec {
  readonly method: string;
  readonly target: string;
  readonly headers: readonly Header[];
  readonly body: Uint8Array;
}

/** What an encoder needs for a response; `Content-Length` is added for you. */
export interface ResponseSpec {
  readonly status: number;
  readonly headers: readonly Header[];
  readonly body: Uint8Array;
}

/** Form fields with lower-cased names (F140 argument names are case-insensitive), in arrival order. */
export type Form = ReadonlyMap<string, string>;

/** Every HTTP-level decoding failure and the status a server answers it with (spec.md §2.3). */
export const httpStatusFor = {
  'http.request-line.invalid': 400,
  'http.header.invalid': 400,
  'http.host.missing': 400,
  'http.host.duplicate': 400,
  'http.content-length.invalid': 400,
  'http.request-line.too-long': 414,
  'http.head.too-large': 431,
  'http.headers.too-many': 431,
  'http.body.too-large': 413,
  'http.transfer-encoding.unsupported': 501,
  'http.version.unsupported': 505,
  'http.status-line.invalid': 502,
  'form.escape.invalid': 400,
  'form.utf8.invalid': 400,
  'form.key.duplicate': 400,
  'form.fields.too-many': 400,
  'form.content-type.unsupported': 415,
} as const;

export type HttpErrorCode = keyof typeof httpStatusFor;

function httpError(code: HttpErrorCode, message: string, offset?: number): WireError {
  return new WireError(code, message, offset);
}

/** The HTTP status a server should answer a decoding failure with; 400 for codes it does not know. */
export function statusForError(error: WireError): number {
  return (httpStatusFor as Record<string, number>)[error.code] ?? 400;
}

export const reasonPhrases: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

// ---------------------------------------------------------------------------------------------------
// Byte helpers.

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** Index just past the blank line ending a head (`\r\n\r\n` or a bare `\n\n`), or -1. */
function headEnd(bytes: Uint8Array, limit: number): number {
  const end = Math.min(bytes.length, limit);
  // From line feed to line feed with `indexOf` (native), not byte by byte.
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < end; i = bytes.indexOf(0x0a, i + 1)) {
    if (bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

function firstLineLength(bytes: Uint8Array): number {
  const at = bytes.indexOf(0x0a);
  return at === -1 ? bytes.length : at;
}

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface ParsedHead {
  readonly startLine: string;
  readonly headers: Header[];
}

/** `line` less the CR it ends with, if it does. */
function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * Splits a head (Latin-1, as HTTP headers are octets) into its start line and headers. Exported
 * for the tests only.
 */
export function parseHead(text: string): Result<ParsedHead, WireError> {
  // The lines less a CR each ends with, less the empty ones at the end; the first is the start line.
  const lines = text.split('\n');
  let count = lines.length;
  while (count > 0 && withoutCr(lines[count - 1] as string) === '') count -= 1;
  const startLine = count > 0 ? withoutCr(lines[0] as string) : '';
  if (count - 1 > headersCountMax) {
    return err(httpError('http.headers.too-many', `more than ${headersCountMax} header lines`));
  }
  const headers: Header[] = [];
  for (let i = 1; i < count; i++) {
    const line = withoutCr(lines[i] as string);
    // Obsolete line folding (a line starting with whitespace) must be rejected or unfolded; we reject.
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!tokenPattern.test(name)) {
      return err(httpError('http.header.invalid', `bad header line ${JSON.stringify(line.slice(0, 40))}`));
    }
    const value = line.slice(colon + 1).trim();
    if (/[\0\r\n]/.test(value)) return err(httpError('http.header.invalid', `bad header value for ${name}`));
    headers.push([name.toLowerCase(), value]);
  }
  return ok({ startLine, headers });
}

/** The one Content-Length (repeats must agree), undefined when absent. */
function contentLength(headers: readonly Header[]): Result<number | undefined, WireError> {
  let length: number | undefined;
  for (const [name, value] of headers) {
    if (name !== 'content-length') continue;
    for (const part of value.split(',')) {
      const text = part.trim();
      if (!/^\d{1,10}$/.test(text)) return err(httpError('http.content-length.invalid', `bad Content-Length ${text}`));
      const n = Number(text);
      if (length !== undefined && length !== n) {
        return err(httpError('http.content-length.invalid', 'conflicting Content-Length values'));
      }
      length = n;
    }
  }
  return ok(length);
}

export function headerValue(headers: readonly Header[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  return headers.find(([key]) => key === wanted)?.[1];
}

function hasToken(headers: readonly Header[], name: string, token: string): boolean {
  return headers.some(
    ([key, value]) =>
      key === name &&
      value
        .toLowerCase()
        .split(',')
        .some((part) => part.trim() === token),
  );
}

// ---------------------------------------------------------------------------------------------------
// Request parser (server side).

/**
 * Splits a connection's byte stream into HTTP requests. Keeps an unfinished request for the next
 * chunk. After an error it stays failed: the server answers with `statusForError` and closes.
 */
export class HttpRequestParser {
  private pending: Uint8Array = noBytes;
  private failure: WireError | undefined;
  private consumed = 0;

  /** The error that stopped this parser, if any (set even when `push` returned the requests before it). */
  get error(): WireError | undefined {
    return this.failure;
  }

  /**
   * Appends `chunk`; returns the requests it completes. When bad bytes follow complete requests in one
   * chunk, those requests are returned and `error` is set; with none before it, the error is returned.
   */
  push(chunk: Uint8Array): Result<HttpRequest[], WireError> {
    if (this.failure) return err(this.failure);
    // With nothing pending (a request usually comes whole) the chunk is read in place: every part
    // of it kept is a copy (`slice`), and so is what is left of it when no request takes it all.
    this.pending = this.pending.length === 0 ? chunk : concatBytes(this.pending, chunk);
    const requests: HttpRequest[] = [];
    while (true) {
      const next = this.next();
      if (!next.ok) {
        this.failure = next.error;
        this.pending = noBytes;
        return requests.length > 0 ? ok(requests) : err(next.error);
      }
      if (next.value === undefined) {
        if (this.pending === chunk) this.pending = chunk.slice();
        return ok(requests);
      }
      requests.push(next.value);
    }
  }

  private next(): Result<HttpRequest | undefined, WireError> {
    // A client may send blank lines before a request line (RFC 9112 §2.2); skip them.
    let skip = 0;
    while (this.pending[skip] === 0x0d || this.pending[skip] === 0x0a) skip++;
    if (skip > 0) {
      this.pending = this.pending.slice(skip);
      this.consumed += skip;
    }
    if (this.pending.length === 0) return ok(undefined);
    const end = headEnd(this.pending, headBytesMax);
    if (end === -1) {
      // A complete request line without an HTTP version (HTTP/0.9 `GET /`) ends no head: answer it now.
      const lineEnd = this.pending.indexOf(0x0a);
      if (lineEnd !== -1 && lineEnd <= requestLineBytesMax) {
        const requestLine = withoutCr(latin1.decode(this.pending.subarray(0, lineEnd)));
        if (!/ HTTP\/\d\.\d$/.test(requestLine)) {
          return err(
            httpError(
              'http.request-line.invalid',
              `bad request line ${JSON.stringify(requestLine.slice(0, 60))} (no HTTP version: HTTP/0.9 is not served)`,
              this.consumed,
            ),
          );
        }
      }
      if (firstLineLength(this.pending) > requestLineBytesMax) {
        return err(
          httpError('http.request-line.too-long', `request line over ${requestLineBytesMax} bytes`, this.consumed),
        );
      }
      if (this.pending.length >= headBytesMax) {
        return err(httpError('http.head.too-large', `request head over ${headBytesMax} bytes`, this.consumed));
      }
      return ok(undefined);
    }
    if (firstLineLength(this.pending) > requestLineBytesMax) {
      return err(
        httpError('http.request-line.too-long', `request line over ${requestLineBytesMax} bytes`, this.consumed),
      );
    }
    const head = parseHead(latin1.decode(this.pending.subarray(0, end)));
    if (!head.ok) return head;
    const line = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/(\d)\.(\d)$/.exec(head.value.startLine);
    if (!line) {
      return err(
        httpError(
          'http.request-line.invalid',
          `bad request line ${JSON.stringify(head.value.startLine.slice(0, 60))}`,
          this.consumed,
        ),
      );
    }
    const version = `${line[3]}.${line[4]}`;
    if (version !== '1.0' && version !== '1.1') {
      return err(httpError('http.version.unsupported', `HTTP/${version} is not supported`, this.consumed));
    }
    const headers = head.value.headers;
    // One pass for the fields the checks below ask about (each check as `headerValue` would answer).
    let transferEncoding = false;
    let hosts = 0;
    for (let i = 0; i < headers.length; i++) {
      const name = (headers[i] as Header)[0];
      if (name === 'host') hosts += 1;
      else if (name === 'transfer-encoding') transferEncoding = true;
    }
    if (transferEncoding) {
      return err(
        httpError('http.transfer-encoding.unsupported', 'Transfer-Encoding is not supported; send Content-Length'),
      );
    }
    if (version === '1.1' && hosts === 0) {
      return err(httpError('http.host.missing', 'an HTTP/1.1 request must carry Host'));
    }
    // RFC 9112 §3.2: more than one Host field line is a 400.
    if (hosts > 1) {
      return err(httpError('http.host.duplicate', 'a request must carry one Host field, not several'));
    }
    const length = contentLength(headers);
    if (!length.ok) return length;
    const bodyLength = length.value ?? 0;
    if (bodyLength > bodyBytesMax) {
      return err(httpError('http.body.too-large', `body of ${bodyLength} bytes is over ${bodyBytesMax}`));
    }
    if (this.pending.length < end + bodyLength) return ok(undefined);
    const body = this.pending.slice(end, end + bodyLength);
    this.pending = this.pending.length === end + bodyLength ? noBytes : this.pending.slice(end + bodyLength);
    this.consumed += end + bodyLength;
    const keepAlive =
      version === '1.1' ? !hasToken(headers, 'connection', 'close') : hasToken(headers, 'connection', 'keep-alive');
    return ok({ method: line[1] ?? '', target: line[2] ?? '', version, headers, body, keepAlive });
  }
}

// ---------------------------------------------------------------------------------------------------
// Response parser (client side).

/**
 * Reads one HTTP response from a connection (F140's client sends `Connection: close`, one exchange per
 * connection). A response without Content-Length ends when the connection closes: call `finish()`.
 */
export class HttpResponseParser {
  private pending: Uint8Array = noBytes;
  private head:
    { status: number; reason: string; headers: Header[]; bodyStart: number; length: number | undefined } | undefined;
  private failure: WireError | undefined;
  private done = false;

  /** Appends `chunk`; returns the response once complete (undefined until then), or an error. */
  push(chunk: Uint8Array): Result<HttpResponse | undefined, WireError> {
    if (this.failure) return err(this.failure);
    if (this.done) return ok(undefined);
    // As the request parser does: the chunk is read in place, and kept only as a copy.
    this.pending = this.pending.length === 0 ? chunk : concatBytes(this.pending, chunk);
    const result = this.step();
    if (!result.ok) this.failure = result.error;
    // Once done (or failed) nothing reads the pending bytes again.
    if (this.done || this.failure) this.pending = noBytes;
    else if (this.pending === chunk) this.pending = chunk.slice();
    return result;
  }

  /** The connection closed: a close-delimited body ends here; anything else is truncated. */
  finish(): Result<HttpResponse, WireError> {
    if (this.failure) return err(this.failure);
    if (this.head && this.head.length === undefined && !this.done) {
      this.done = true;
      const body = this.pending.slice(this.head.bodyStart);
      return ok({ status: this.head.status, reason: this.head.reason, headers: this.head.headers, body });
    }
    return err(new WireError('http.response.truncated', 'the connection closed before a complete response'));
  }

  private step(): Result<HttpResponse | undefined, WireError> {
    if (!this.head) {
      const end = headEnd(this.pending, headBytesMax);
      if (end === -1) {
        if (this.pending.length >= headBytesMax) {
          return err(httpError('http.head.too-large', `response head over ${headBytesMax} bytes`));
        }
        return ok(undefined);
      }
      const head = parseHead(latin1.decode(this.pending.subarray(0, end)));
      if (!head.ok) return head;
      const line = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(head.value.startLine);
      if (!line) {
        return err(
          httpError('http.status-line.invalid', `bad status line ${JSON.stringify(head.value.startLine.slice(0, 60))}`),
        );
      }
      const length = contentLength(head.value.headers);
      if (!length.ok) return length;
      if (length.value !== undefined && length.value > bodyBytesMax) {
        return err(httpError('http.body.too-large', `response body of ${length.value} bytes is over ${bodyBytesMax}`));
      }
      this.head = {
        status: Number(line[1]),
        reason: line[2] ?? '',
        headers: head.value.headers,
        bodyStart: end,
        length: length.value,
      };
    }
    const head = this.head;
    if (head.length === undefined) {
      if (this.pending.length - head.bodyStart > bodyBytesMax) {
        return err(httpError('http.body.too-large', `response body over ${bodyBytesMax} bytes`));
      }
      return ok(undefined);
    }
    if (this.pending.length - head.bodyStart < head.length) return ok(undefined);
    this.done = true;
    const body = this.pending.slice(head.bodyStart, head.bodyStart + head.length);
    return ok({ status: head.status, reason: head.reason, headers: head.headers, body });
  }
}

// ---------------------------------------------------------------------------------------------------
// Encoders.

function encodeHead(startLine: string, headers: readonly Header[], bodyLength: number): string {
  let head = `${startLine}\r\n`;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i] as Header;
    if (name.toLowerCase() !== 'content-length') head += `${name}: ${value}\r\n`;
  }
  return `${head}Content-Length: ${bodyLength}\r\n\r\n`;
}

/**
 * The UTF-8 of `head` followed by `body`, in one array carved out of Node's buffer pool (as
 * `utf8Bytes` does) rather than one with a backing store of its own, which costs more than the
 * copying: there are two per message. The array may share its `ArrayBuffer` with other bytes.
 */
function headThenBody(head: string, body: Uint8Array): Uint8Array {
  const headLength = Buffer.byteLength(head, 'utf8');
  // Every byte is written below, so the unset bytes `allocUnsafe` may hand out never show.
  const pooled = Buffer.allocUnsafe(headLength + body.length);
  pooled.write(head, 0, 'utf8');
  pooled.set(body, headLength);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength);
}

export function encodeRequest(request: RequestSpec): Uint8Array {
  const head = encodeHead(`${request.method} ${request.target} HTTP/1.1`, request.headers, request.body.length);
  return headThenBody(head, request.body);
}

export function encodeResponse(response: ResponseSpec): Uint8Array {
  const reason = reasonPhrases[response.status] ?? 'Unknown';
  const head = encodeHead(`HTTP/1.1 ${response.status} ${reason}`, response.headers, response.body.length);
  return headThenBody(head, response.body);
}

// ---------------------------------------------------------------------------------------------------
// Form codec (application/x-www-form-urlencoded).

/** Text that percent-encoding leaves as it is (most names and many values): no byte work. */
const allUnreserved = /^[A-Za-z0-9\-._~]*$/;

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
/** Per ASCII byte, its encoded form: itself when unreserved, `%XX` otherwise. */
const escaped: readonly string[] = Array.from({ length: 0x80 }, (_, byte) => {
  const char = String.fromCharCode(byte);
  return /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
});

/** What `encodeURIComponent` keeps as it is and the form encoding escapes. */
const uriMarks = /[!'()*]/g;
const uriMark = /[!'()*]/;

function percentEncode(text: string): string {
  if (allUnreserved.test(text)) return text;
  // encodeURIComponent writes each UTF-8 byte as %XX with upper-case digits, as this encoding does,
  // and keeps the same unreserved characters plus ! ' ( ) *, escaped here after it. It throws only
  // on a lone surrogate, which the byte loop below writes as U+FFFD (as TextEncoder does).
  let encoded: string | undefined;
  try {
    encoded = encodeURIComponent(text);
  } catch {
    encoded = undefined;
  }
  if (encoded !== undefined) {
    return uriMark.test(encoded) ? encoded.replace(uriMarks, (mark) => escaped[mark.charCodeAt(0)] as string) : encoded;
  }
  let out = '';
  for (const byte of utf8Bytes(text)) {
    out += byte < 0x80 ? (escaped[byte] as string) : `%${byte.toString(16).toUpperCase()}`;
  }
  return out;
}

/** The value of the hex digit with char code `code`, or -1 (also for NaN, past the end). */
function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * `text` decoded when it is ASCII and every escape in it is a good one of an ASCII byte (the
 * percent-encoded XML of a message is), so that the bytes are their own UTF-8; else undefined,
 * and the general path decodes it (or reports what is wrong with it).
 */
function decodeAsciiEscapes(text: string): string | undefined {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return undefined;
    if (code === 0x2b) {
      out += `${text.slice(from, i)} `;
      from = i + 1;
    } else if (code === 0x25) {
      const high = hexDigit(text.charCodeAt(i + 1));
      const low = hexDigit(text.charCodeAt(i + 2));
      if (high < 0 || high > 7 || low < 0) return undefined;
      out += text.slice(from, i) + String.fromCharCode(high * 16 + low);
      i += 2;
      from = i + 1;
    }
  }
  return out + text.slice(from);
}

function percentDecode(text: string): Result<string, WireError> {
  // ASCII without `%`: decoding only turns `+` into a space (the UTF-8 of ASCII is itself).
  if (!text.includes('%') && isAscii(text)) return ok(text.replaceAll('+', ' '));
  const ascii = decodeAsciiEscapes(text);
  if (ascii !== undefined) return ok(ascii);
  const bytes = utf8Bytes(text.replaceAll('+', ' '));
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte !== 0x25) {
      out[n++] = byte;
      continue;
    }
    const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return err(httpError('form.escape.invalid', `bad percent escape at ${i}`, i));
    out[n++] = parseInt(hex, 16);
    i += 2;
  }
  try {
    return ok(utf8.decode(out.subarray(0, n)));
  } catch {
    return err(httpError('form.utf8.invalid', 'a form value is not valid UTF-8'));
  }
}

/** Encodes fields as `name=value&...` (names as given; the receiver lower-cases them). */
export function encodeForm(fields: Iterable<readonly [string, string]>): string {
  // Written into one string as the fields come (no copy of the fields, no list of parts).
  let form = '';
  let first = true;
  for (const [name, value] of fields) {
    form += `${first ? '' : '&'}${percentEncode(name)}=${percentEncode(value)}`;
    first = false;
  }
  return form;
}

/**
 * Decodes `name=value&...`: `+` is a space, names are lower-cased (F140 §2.1: argument names are
 * case-insensitive), empty segments are skipped, a name given twice is an error (ours: ambiguous).
 */
export function decodeForm(
  text: string,
  into: Map<string, string> = new Map(),
): Result<Map<string, string>, WireError> {
  // Empty segments are skipped, counted out here rather than filtered into a second list.
  const segments = text.split('&');
  let count = 0;
  for (let i = 0; i < segments.length; i++) if (segments[i] !== '') count += 1;
  if (count + into.size > formFieldsMax) {
    return err(httpError('form.fields.too-many', `more than ${formFieldsMax} form fields`));
  }
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const name = percentDecode(eq === -1 ? segment : segment.slice(0, eq));
    if (!name.ok) return name;
    const value = percentDecode(eq === -1 ? '' : segment.slice(eq + 1));
    if (!value.ok) return value;
    const key = name.value.toLowerCase();
    if (into.has(key)) return err(httpError('form.key.duplicate', `argument ${JSON.stringify(key)} given twice`));
    into.set(key, value.value);
  }
  return ok(into);
}

/**
 * The F140 arguments of a request: the query string, plus for POST an
 * `application/x-www-form-urlencoded` body (a body without Content-Type counts as one, ours).
 */
export function formOfRequest(request: HttpRequest): Result<Map<string, string>, WireError> {
  const query = request.target.indexOf('?');
  const fields = decodeForm(query === -1 ? '' : request.target.slice(query + 1));
  if (!fields.ok || request.method.toUpperCase() !== 'POST' || request.body.length === 0) return fields;
  const type = headerValue(request.headers, 'content-type');
  const mediaType = type?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== 'application/x-www-form-urlencoded') {
    return err(httpError('form.content-type.unsupported', `Content-Type ${mediaType} is not a form`));
  }
  let text: string;
  try {
    text = utf8.decode(request.body);
  } catch {
    return err(httpError('form.utf8.invalid', 'the form body is not valid UTF-8'));
  }
  return decodeForm(text, fields.value);
}

/** Decodes a form body (a response's `response=...`), for the client side. */
export function formOfBody(body: Uint8Array): Result<Map<string, string>, WireError> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return err(httpError('form.utf8.invalid', 'the form body is not valid UTF-8'));
  }
  return decodeForm(text.trim());
}

/** Best-effort view of bytes on an F140 connection, for traces: the start line and the form, if any. */
export function describe(bytes: Uint8Array): unknown {
  const text = latin1.decode(bytes);
  const end = text.indexOf('\r\n\r\n');
  const startLine = text.slice(0, text.indexOf('\r\n') === -1 ? text.length : text.indexOf('\r\n'));
  if (end === -1) return { startLine };
  const body = bytes.subarray(end + 4);
  const form = formOfBody(body);
  const query = startLine.split(' ')[1]?.split('?')[1];
  const queryForm = query === undefined ? undefined : decodeForm(query);
  return {
    startLine,
    ...(queryForm?.ok && queryForm.value.size > 0 ? { query: Object.fromEntries(queryForm.value) } : {}),
    ...(form.ok && form.value.size > 0 ? { form: Object.fromEntries(form.value) } : {}),
  };
}

/**
 * The named fields of an HTTP request or response in `bytes` (structure-aware corruption,
 * src/core/wire-fields.ts): `status`, `Content-Length` (as digits), and the form arguments
 * `command`, `msg_id`, `from_user`, `to_user`, `challenge`, `response` (as text).
 */
export function wireFields(bytes: Uint8Array): WireField[] {
  return textFields(bytes, [
    { name: 'status', pattern: /^HTTP\/1\.[01] ([0-9]{3})/g, kind: 'digits' },
    { name: 'Content-Length', pattern: /\r\ncontent-length: *([0-9]+)/gi, kind: 'digits' },
    ...['command', 'msg_id', 'from_user', 'to_user', 'challenge', 'response'].map((key) => ({
      name: key,
      pattern: new RegExp(`(?:^|[?&\\n])${key}=([^&\\s]+)`, 'g'),
      kind: 'text' as const,
    })),
  ]);
}
