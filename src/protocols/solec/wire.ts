/**
 * SOLEC wire format (spec.md §2): frames are `uint8 type | uint16 length | payload`, big-endian,
 * strings are UTF-8 behind a uint16 length. This module turns bytes into payloads and back, and
 * enforces the payload attributes (S server-only, C client-only, E empty, R reserved) by the
 * sender's role.
 *
 * Pure. It must not throw on peer input: every decoder returns a Result holding a typed WireError.
 * It must not buffer without bound: `FrameDecoder` holds at most one frame of `payloadBytesMax`.
 */
import { concatBytes } from '../../core/bytes.js';
import { WireError } from '../../core/errors.js';
import type { Prng } from '../../core/prng.js';
import { err, ok, type Result } from '../../core/result.js';
import type { WireField } from '../../core/wire-fields.js';

/** Payload type numbers. 0x10 and 0x11 are ours (signed profile), chosen clear of later SOLEC numbers. */
export const payloadTypeCode = {
  success: 0x01,
  error: 0x02,
  handshake: 0x03,
  userAuth: 0x04,
  message: 0x05,
  serverAuth: 0x06,
  challenge: 0x10,
  proof: 0x11,
  test: 0xff,
} as const;

export type PayloadType = keyof typeof payloadTypeCode;

/** Error payload codes (seed §2.4 Error). */
export const errorCode = { clientAuthFailed: 0x01, notFound: 0x02, serverAuthFailed: 0x03 } as const;
export type ErrorCode = (typeof errorCode)[keyof typeof errorCode];

/** Handshake connection types (seed §2.4 Handshake). */
export const connType = { userToServer: 0x01, serverToServer: 0x02 } as const;
export type ConnType = (typeof connType)[keyof typeof connType];

export type Payload =
  | { readonly type: 'success' }
  | { readonly type: 'error'; readonly code: ErrorCode }
  | { readonly type: 'handshake'; readonly verMajor: number; readonly verMinor: number; readonly connType: ConnType }
  | { readonly type: 'userAuth'; readonly username: string; readonly password: string }
  | {
      readonly type: 'message';
      readonly id: string;
      readonly from: string;
      readonly to: string;
      readonly timeMs: number;
      readonly body: string;
    }
  | { readonly type: 'serverAuth'; readonly name: string }
  | { readonly type: 'challenge'; readonly nonce: Uint8Array }
  | { readonly type: 'proof'; readonly signature: Uint8Array }
  | {
      readonly type: 'test';
      readonly num1: number;
      readonly time1: bigint;
      readonly str1: string;
      readonly num2: number;
      readonly bin1: Uint8Array;
      readonly num3: number;
      readonly str2: string;
      readonly num4: bigint;
    };

/** The payload of one type. */
export type PayloadOf<T extends PayloadType> = Extract<Payload, { readonly type: T }>;

/** Who sent a frame: the role of the peer at the other end of the connection. */
export type Sender = 'client' | 'server';

/** Payload attributes, as in the seed's table: S server, C client, E empty, R reserved. */
export const attributes: Readonly<Record<PayloadType, string>> = {
  success: 'SCE',
  error: 'S',
  handshake: 'SC',
  userAuth: 'C',
  message: 'SC',
  serverAuth: 'S',
  challenge: 'S',
  proof: 'S',
  test: 'R',
};

/** A frame cut from the byte stream, payload not yet decoded. */
export interface RawFrame {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** The frame header: uint8 type and uint16 length. */
export const headerBytes = 3;

/**
 * Largest payload a node accepts by default. The uint16 length allows 65535; SOLEC targets
 * low-speed links (LoRa later), and none of our payloads needs more than a few strings, so 4 KiB
 * bounds what one peer can make a node hold per connection. Configurable per node.
 */
export const payloadBytesMaxDefault = 4096;

/** The wire's own ceiling: the length field is a uint16. */
export const payloadBytesCeiling = 0xffff;

const typeByCode = new Map<number, PayloadType>(
  Object.entries(payloadTypeCode).map(([name, code]) => [code, name as PayloadType]),
);

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Writes big-endian fields into a frame sized beforehand (`bodyBytes`): one buffer per write, carved
 * from Node's pool as `utf8Bytes` does, where a growing buffer, its copy into the frame and each
 * string's own encoding made four arrays of a Message. `Buffer.write` encodes exactly as
 * `TextEncoder` does (a lone surrogate becomes U+FFFD) and `Buffer.byteLength` counts the same.
 */
class Writer {
  private at: number;
  constructor(
    private readonly buffer: Buffer,
    at: number,
  ) {
    this.at = at;
  }
  u8(value: number): this {
    this.buffer[this.at++] = value & 0xff;
    return this;
  }
  u16(value: number): this {
    return this.u8(value >>> 8).u8(value);
  }
  u32(value: number): this {
    return this.u16(Math.floor(value / 0x1_0000)).u16(value % 0x1_0000);
  }
  u64(value: bigint): this {
    return this.u32(Number(value >> 32n)).u32(Number(value & 0xffff_ffffn));
  }
  /**
   * A uint64 given as a number. A safe non-negative integer is split without a bigint, into the
   * same two halves `u64(BigInt(value))` writes; anything else goes through `BigInt` as before
   * (which throws on a fraction).
   */
  u64Number(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) return this.u64(BigInt(value));
    return this.u32(Math.floor(value / 0x1_0000_0000)).u32(value % 0x1_0000_0000);
  }
  binary(bytes: Uint8Array): this {
    this.u16(bytes.length);
    this.buffer.set(bytes, this.at);
    this.at += bytes.length;
    return this;
  }
  /** A length-prefixed string, in UTF-8. */
  string(text: string): this {
    const length = utf8Length(text);
    this.u16(length);
    this.at += this.buffer.write(text, this.at, length, 'utf8');
    return this;
  }
}

/** The UTF-8 size of `text`, as `utf8Bytes(text).length`. */
function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Reads big-endian fields; every read checks the remaining length and reports the offset. A read
 * gives its value, or a mark (-1, or undefined) when it failed, with the reason kept for
 * `failure()`: no Result object per field, and a field's name is joined into a message only when
 * the message is made.
 */
class Reader {
  private at = 0;
  private error: WireError | undefined;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly base: number,
  ) {}
  /** Why the last read that gave a mark failed. */
  failure<T>(): Result<T, WireError> {
    return err(this.error ?? new WireError('payload.truncated', 'payload ends early', this.base + this.at));
  }
  private fits(count: number, what: string, suffix = ''): boolean {
    if (this.at + count <= this.bytes.length) return true;
    this.error = new WireError('payload.truncated', `payload ends inside ${what}${suffix}`, this.base + this.at);
    return false;
  }
  /** The byte, or -1. */
  u8(what: string): number {
    if (!this.fits(1, what)) return -1;
    return this.bytes[this.at++] ?? 0;
  }
  /** The uint16, or -1. */
  u16(what: string, suffix = ''): number {
    if (!this.fits(2, what, suffix)) return -1;
    const value = ((this.bytes[this.at] ?? 0) << 8) | (this.bytes[this.at + 1] ?? 0);
    this.at += 2;
    return value;
  }
  /** The uint32, or -1. */
  u32(what: string): number {
    const high = this.u16(what);
    if (high < 0) return -1;
    const low = this.u16(what);
    if (low < 0) return -1;
    return high * 0x1_0000 + low;
  }
  /** The uint64, or undefined. */
  u64(what: string): bigint | undefined {
    const high = this.u32(what);
    if (high < 0) return undefined;
    const low = this.u32(what);
    if (low < 0) return undefined;
    return (BigInt(high) << 32n) | BigInt(low);
  }
  /** A length-prefixed field, as a view of the payload (callers copy what they keep), or undefined. */
  private field(what: string): Uint8Array | undefined {
    const length = this.u16(what, ' length');
    if (length < 0 || !this.fits(length, what)) return undefined;
    const value = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }
  binary(what: string): Uint8Array | undefined {
    return this.field(what)?.slice();
  }
  string(what: string): string | undefined {
    const start = this.base + this.at;
    // Decoded straight from the payload: no copy of the bytes first.
    const raw = this.field(what);
    if (raw === undefined) return undefined;
    try {
      return utf8Decoder.decode(raw);
    } catch {
      this.error = new WireError('utf8.invalid', `${what} is not valid UTF-8`, start);
      return undefined;
    }
  }
  /** The error for bytes after the last field, if any. */
  trailing(): Result<never, WireError> | undefined {
    if (this.at === this.bytes.length) return undefined;
    return err(
      new WireError(
        'payload.trailing',
        `${this.bytes.length - this.at} bytes after the last field`,
        this.base + this.at,
      ),
    );
  }
}

/** The size of the payload `writeBody` writes: its fields' fixed widths and length-prefixed contents. */
function bodyBytes(payload: Payload): number {
  switch (payload.type) {
    case 'success':
      return 0;
    case 'error':
      return 1;
    case 'handshake':
      return 3;
    case 'userAuth':
      return 4 + utf8Length(payload.username) + utf8Length(payload.password);
    case 'message':
      // A time that is no integer throws here, as the writer's `BigInt` did when sizing was encoding.
      if (!Number.isInteger(payload.timeMs)) BigInt(payload.timeMs);
      return 16 + utf8Length(payload.id) + utf8Length(payload.from) + utf8Length(payload.to) + utf8Length(payload.body);
    case 'serverAuth':
      return 2 + utf8Length(payload.name);
    case 'challenge':
      return 2 + payload.nonce.length;
    case 'proof':
      return 2 + payload.signature.length;
    case 'test':
      return 29 + utf8Length(payload.str1) + payload.bin1.length + utf8Length(payload.str2);
  }
}

function writeBody(w: Writer, payload: Payload): void {
  switch (payload.type) {
    case 'success':
      break;
    case 'error':
      w.u8(payload.code);
      break;
    case 'handshake':
      w.u8(payload.verMajor).u8(payload.verMinor).u8(payload.connType);
      break;
    case 'userAuth':
      w.string(payload.username).string(payload.password);
      break;
    case 'message':
      w.string(payload.id).string(payload.from).string(payload.to).u64Number(payload.timeMs).string(payload.body);
      break;
    case 'serverAuth':
      w.string(payload.name);
      break;
    case 'challenge':
      w.binary(payload.nonce);
      break;
    case 'proof':
      w.binary(payload.signature);
      break;
    case 'test':
      w.u8(payload.num1).u64(payload.time1).string(payload.str1).u16(payload.num2).binary(payload.bin1);
      w.u32(payload.num3).string(payload.str2).u64(payload.num4);
      break;
  }
}

/** Draws a 64-bit message id as 16 hex digits from the node's seeded stream. */
export function drawMessageId(random: Prng): string {
  return random.uint32().toString(16).padStart(8, '0') + random.uint32().toString(16).padStart(8, '0');
}

/**
 * The Message `time_ms` a sender writes for its clock reading (spec.md §2.2, ours): whole
 * milliseconds in 0..2^53-1, the range every receiver accepts. A clock that reads before the
 * epoch writes 0 (uint64 has no negative; its two's complement is past 2^53-1 and refused as
 * `message.time-range`); a fractional reading is truncated.
 */
export function wireTimeMs(clockMs: number): number {
  if (!Number.isFinite(clockMs) || clockMs <= 0) return 0;
  return Math.min(Math.trunc(clockMs), Number.MAX_SAFE_INTEGER);
}

/**
 * Encodes one payload as a whole frame. Precondition (our bug otherwise, not a peer's): the
 * payload fits the uint16 length; callers bound user strings before they get here.
 * @example encodeFrame({ type: 'success' }) // Uint8Array [0x01, 0x00, 0x00]
 */
export function encodeFrame(payload: Payload): Uint8Array {
  const length = checkedBodyBytes(payload);
  const frame = Buffer.allocUnsafe(headerBytes + length);
  writeBody(new Writer(frame, 0).u8(payloadTypeCode[payload.type]).u16(length), payload);
  // A plain view, as `utf8Bytes` returns: callers and traces see a `Uint8Array`, not a `Buffer`.
  return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
}

/**
 * Encodes payloads as whole frames back to back, into one array (what `concatBytes` of their
 * `encodeFrame`s gives). The same precondition as `encodeFrame`, for each payload.
 */
export function encodeFrames(payloads: readonly Payload[]): Uint8Array {
  const lengths = payloads.map(checkedBodyBytes);
  let total = 0;
  for (const length of lengths) total += headerBytes + length;
  const frames = Buffer.allocUnsafe(total);
  const w = new Writer(frames, 0);
  payloads.forEach((payload, k) => writeBody(w.u8(payloadTypeCode[payload.type]).u16(lengths[k] ?? 0), payload));
  return new Uint8Array(frames.buffer, frames.byteOffset, frames.byteLength);
}

/** The payload's size, checked against the uint16 length (`encodeFrame`'s precondition). */
function checkedBodyBytes(payload: Payload): number {
  const length = bodyBytes(payload);
  if (length > payloadBytesCeiling)
    throw new RangeError(`${payload.type} payload of ${length} bytes exceeds the uint16 length`);
  return length;
}

/** Bytes of the payload part only, for callers that need to check a size before framing. */
export function payloadBytes(payload: Payload): number {
  return bodyBytes(payload);
}

/** A Handshake's fields (decodeBody's step): versions and a known connection type. */
function decodeHandshake(r: Reader, base: number): Result<PayloadOf<'handshake'>, WireError> {
  const verMajor = r.u8('ver_major');
  if (verMajor < 0) return r.failure();
  const verMinor = r.u8('ver_minor');
  if (verMinor < 0) return r.failure();
  const kind = r.u8('connection type');
  if (kind < 0) return r.failure();
  if (kind !== 0x01 && kind !== 0x02) {
    return err(
      new WireError('handshake.conn-type-unknown', `unknown connection type 0x${kind.toString(16)}`, base + 2),
    );
  }
  return ok({ type: 'handshake', verMajor, verMinor, connType: kind });
}

/**
 * A Message's fields (decodeBody's step): its time must fit a safe integer of ms, that is its
 * high 32 bits at most 0x1F_FFFF (2^53 - 1 is 0x1F_FFFF_FFFF_FFFF); read as two halves, no bigint.
 */
function decodeMessage(r: Reader, base: number): Result<PayloadOf<'message'>, WireError> {
  const id = r.string('id');
  if (id === undefined) return r.failure();
  const from = r.string('from');
  if (from === undefined) return r.failure();
  const to = r.string('to');
  if (to === undefined) return r.failure();
  const high = r.u32('time');
  if (high < 0) return r.failure();
  const low = r.u32('time');
  if (low < 0) return r.failure();
  if (high > 0x1f_ffff) return err(new WireError('message.time-range', 'message time beyond 2^53-1 ms', base));
  const body = r.string('body');
  if (body === undefined) return r.failure();
  return ok({ type: 'message', id, from, to, timeMs: high * 0x1_0000_0000 + low, body });
}

/** The reserved Test payload's fields (decodeBody's step), one of each field kind. */
function decodeTest(r: Reader): Result<PayloadOf<'test'>, WireError> {
  const num1 = r.u8('Num1');
  if (num1 < 0) return r.failure();
  const time1 = r.u64('Time1');
  if (time1 === undefined) return r.failure();
  const str1 = r.string('Str1');
  if (str1 === undefined) return r.failure();
  const num2 = r.u16('Num2');
  if (num2 < 0) return r.failure();
  const bin1 = r.binary('Bin1');
  if (bin1 === undefined) return r.failure();
  const num3 = r.u32('Num3');
  if (num3 < 0) return r.failure();
  const str2 = r.string('Str2');
  if (str2 === undefined) return r.failure();
  const num4 = r.u64('Num4');
  if (num4 === undefined) return r.failure();
  return ok({ type: 'test', num1, time1, str1, num2, bin1, num3, str2, num4 });
}

/** A payload's fields, before the check for bytes after the last one. */
function decodeFields(type: PayloadType, r: Reader, bytes: Uint8Array, base: number): Result<Payload, WireError> {
  switch (type) {
    case 'success':
      if (bytes.length !== 0)
        return err(new WireError('payload.not-empty', 'Success must be empty (attribute E)', base));
      return ok({ type });
    case 'error': {
      const code = r.u8('error code');
      if (code < 0) return r.failure();
      if (code < 0x01 || code > 0x03) {
        return err(new WireError('error.code-unknown', `unknown error code 0x${code.toString(16)}`, base));
      }
      return ok({ type, code: code as ErrorCode });
    }
    case 'handshake':
      return decodeHandshake(r, base);
    case 'userAuth': {
      const username = r.string('username');
      if (username === undefined) return r.failure();
      const password = r.string('password');
      if (password === undefined) return r.failure();
      return ok({ type, username, password });
    }
    case 'message':
      return decodeMessage(r, base);
    case 'serverAuth': {
      const name = r.string('name');
      if (name === undefined) return r.failure();
      return ok({ type, name });
    }
    case 'challenge': {
      const nonce = r.binary('nonce');
      if (nonce === undefined) return r.failure();
      return ok({ type, nonce });
    }
    case 'proof': {
      const signature = r.binary('signature');
      if (signature === undefined) return r.failure();
      return ok({ type, signature });
    }
    case 'test':
      return decodeTest(r);
  }
}

function decodeBody(type: PayloadType, bytes: Uint8Array, base: number): Result<Payload, WireError> {
  const r = new Reader(bytes, base);
  const fields = decodeFields(type, r, bytes, base);
  return fields.ok ? (r.trailing() ?? fields) : fields;
}

export interface DecodeOptions {
  /** Accept the reserved Test payload (0xFF), for conformance tools; nodes refuse it. @defaultValue false */
  readonly allowReserved?: boolean;
}

/**
 * Decodes one raw frame sent by `sender`, enforcing the attributes: a client-only payload from a
 * server (or the reverse) is `direction.wrong`, reserved types are `type.reserved`.
 */
export function decodePayload(
  frame: RawFrame,
  sender: Sender,
  options: DecodeOptions = {},
): Result<Payload, WireError> {
  const type = headerType(frame.type, frame.payload.length, sender, options);
  if (!type.ok) return type;
  return decodeBody(type.value, frame.payload, headerBytes);
}

/**
 * Payload sizes of the types whose fields are all fixed-width: a header announcing more can only
 * be refused, so a reader need not wait for the bytes (spec.md §2.3, ours).
 */
const fixedPayloadBytes: Partial<Record<PayloadType, number>> = { success: 0, error: 1, handshake: 3 };

/**
 * What a frame header alone tells about a frame `sender` sent: its payload type, or the error any
 * payload of `length` bytes behind it would get (reserved, unknown or wrong-direction type; more
 * bytes than a fixed-size type has). `decodePayload` checks the same first, so the verdict does not
 * depend on whether the payload had arrived.
 */
export function headerType(
  code: number,
  length: number,
  sender: Sender,
  options: DecodeOptions = {},
): Result<PayloadType, WireError> {
  const type = typeByCode.get(code);
  if (code === 0x00 || (type === 'test' && !options.allowReserved)) {
    return err(new WireError('type.reserved', `payload type 0x${code.toString(16).padStart(2, '0')} is reserved`, 0));
  }
  if (type === undefined) {
    return err(new WireError('type.unknown', `unknown payload type 0x${code.toString(16).padStart(2, '0')}`, 0));
  }
  const attrs = attributes[type];
  if (!attrs.includes('R') && !attrs.includes(sender === 'client' ? 'C' : 'S')) {
    return err(new WireError('direction.wrong', `${type} may not be sent by a ${sender}`, 0));
  }
  const fixed = fixedPayloadBytes[type];
  if (fixed !== undefined && length > fixed) {
    return err(
      type === 'success'
        ? new WireError('payload.not-empty', 'Success must be empty (attribute E)', headerBytes)
        : new WireError('payload.trailing', `${length - fixed} bytes after the last field`, headerBytes + fixed),
    );
  }
  return ok(type);
}

/**
 * Cuts a byte stream into raw frames. Holds at most one incomplete frame; a header announcing a
 * payload over `payloadBytesMax` is `frame.oversize` at once, before any of it is buffered. After
 * an error the decoder stays failed (the connection is to be closed).
 */
/**
 * What a decoder holds between frames: one shared empty array (never written to; `push` joins
 * into a new one), not an array and buffer of its own per connection.
 */
const noPendingBytes = new Uint8Array(0);

export class FrameDecoder {
  private pending: Uint8Array = noPendingBytes;
  private failed: WireError | undefined;

  constructor(readonly payloadBytesMax: number = payloadBytesMaxDefault) {}

  /**
   * The payloads returned are views into the chunk (or into the joined pending bytes), not copies:
   * every caller decodes them before it pushes again (`decodePayload` copies the byte fields it
   * keeps), and nothing writes into a chunk once pushed. With nothing pending (a segment of whole
   * frames, the usual case) the chunk is read in place; an unfinished tail is copied, since the
   * chunk belongs to the caller.
   */
  push(chunk: Uint8Array): Result<RawFrame[], WireError> {
    if (this.failed) return err(this.failed);
    const joined = this.pending.length === 0 ? chunk : concatBytes(this.pending, chunk);
    const frames: RawFrame[] = [];
    let at = 0;
    // Each pass consumes a whole frame or stops, so the loop ends within joined.length / 3 passes.
    while (joined.length - at >= headerBytes) {
      const type = joined[at] ?? 0;
      const length = ((joined[at + 1] ?? 0) << 8) | (joined[at + 2] ?? 0);
      if (length > this.payloadBytesMax) {
        this.failed = new WireError(
          'frame.oversize',
          `payload of ${length} bytes over the ${this.payloadBytesMax}-byte limit`,
          at,
        );
        this.pending = noPendingBytes;
        return err(this.failed);
      }
      if (joined.length - at < headerBytes + length) break;
      frames.push({ type, payload: joined.subarray(at + headerBytes, at + headerBytes + length) });
      at += headerBytes + length;
    }
    this.pending = at === joined.length ? noPendingBytes : joined.slice(at);
    return ok(frames);
  }

  /** Bytes held for an unfinished frame. */
  bufferedBytes(): number {
    return this.pending.length;
  }

  /** The header of the unfinished frame, once its three bytes are in. */
  pendingHeader(): { readonly type: number; readonly length: number } | undefined {
    if (this.pending.length < headerBytes) return undefined;
    return { type: this.pending[0] ?? 0, length: ((this.pending[1] ?? 0) << 8) | (this.pending[2] ?? 0) };
  }
}

/** Decodes one complete frame (header and payload, nothing after it). */
export function decodeFrame(
  bytes: Uint8Array,
  sender: Sender,
  options: DecodeOptions = {},
): Result<Payload, WireError> {
  if (bytes.length < headerBytes)
    return err(new WireError('frame.truncated', 'frame shorter than its 3-byte header', 0));
  const length = ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
  if (bytes.length < headerBytes + length)
    return err(
      new WireError(
        'frame.truncated',
        `frame announces ${length} payload bytes, has ${bytes.length - headerBytes}`,
        headerBytes,
      ),
    );
  if (bytes.length > headerBytes + length)
    return err(new WireError('frame.trailing', 'bytes after the frame', headerBytes + length));
  return decodePayload({ type: bytes[0] ?? 0, payload: bytes.subarray(headerBytes) }, sender, options);
}

/** A payload for traces: byte fields as hex, bigints as decimal strings. */
export function describePayload(payload: Payload): unknown {
  switch (payload.type) {
    case 'challenge':
      return { type: payload.type, nonce: toHex(payload.nonce) };
    case 'proof':
      return { type: payload.type, signature: toHex(payload.signature) };
    case 'userAuth':
      return { type: payload.type, username: payload.username, password: payload.password };
    case 'test':
      return { ...payload, time1: payload.time1.toString(), num4: payload.num4.toString(), bin1: toHex(payload.bin1) };
    default:
      return payload;
  }
}

/** Best-effort decoding of a byte run for traces: every whole frame, as either sender would be read. */
export function describe(bytes: Uint8Array): unknown {
  const frames = new FrameDecoder(payloadBytesCeiling).push(bytes);
  if (!frames.ok) return { error: frames.error.code };
  return frames.value.map((frame) => {
    const asServer = decodePayload(frame, 'server', { allowReserved: true });
    const decoded = asServer.ok ? asServer : decodePayload(frame, 'client');
    return decoded.ok ? describePayload(decoded.value) : { type: frame.type, error: decoded.error.code };
  });
}

/** Lowercase hex, two digits a byte. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses lowercase or uppercase hex; undefined for anything else (config input, not peer input). */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Splits `user@server`; undefined unless both parts are non-empty and there is exactly one `@`. */
export function parseAddress(address: string): { readonly user: string; readonly server: string } | undefined {
  const parts = address.split('@');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { user: parts[0], server: parts[1] };
}

/**
 * The named fields of the frames in `bytes` (structure-aware corruption, src/core/wire-fields.ts):
 * each frame's `type` and `length`; a Message's `idLength`, `id`, `from`, `to` and `time`; an
 * Error's `code`; a ServerAuth's `name`. Stops at the first frame that does not fit.
 */
export function wireFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  while (at + headerBytes <= bytes.length) {
    const length = ((bytes[at + 1] ?? 0) << 8) | (bytes[at + 2] ?? 0);
    const type = bytes[at];
    fields.push({ name: 'type', offset: at, size: 1, kind: 'uintBE' });
    fields.push({ name: 'length', offset: at + 1, size: 2, kind: 'uintBE' });
    const end = at + headerBytes + length;
    if (end > bytes.length) break;
    let p = at + headerBytes;
    const str = (name: string, lengthName?: string): boolean => {
      if (p + 2 > end) return false;
      const size = ((bytes[p] ?? 0) << 8) | (bytes[p + 1] ?? 0);
      if (lengthName !== undefined) fields.push({ name: lengthName, offset: p, size: 2, kind: 'uintBE' });
      if (p + 2 + size > end) return false;
      fields.push({ name, offset: p + 2, size, kind: 'text' });
      p += 2 + size;
      return true;
    };
    if (type === payloadTypeCode.message) {
      if (str('id', 'idLength') && str('from') && str('to') && p + 8 <= end)
        fields.push({ name: 'time', offset: p, size: 8, kind: 'uintBE' });
    } else if (type === payloadTypeCode.error && p < end) {
      fields.push({ name: 'code', offset: p, size: 1, kind: 'uintBE' });
    } else if (type === payloadTypeCode.serverAuth) {
      str('name');
    }
    at = end;
  }
  return fields;
}
