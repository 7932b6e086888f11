/**
 * SOLEC wire format (spec.md §2): frames are `uint8 type | uint16 length | payload`, big-endian,
 * strings are UTF-8 behind a uint16 length. This module turns bytes into payloads and back, and
 * enforces the payload attributes (S server-only, C client-only, E empty, R reserved) by the
 * sender's role.
 *
 * Pure. It must not throw on peer input: every decoder returns a Result holding a typed WireError.
 * It must not buffer without bound: `FrameDecoder` holds at most one frame of `payloadBytesMax`.
 */
import { concatBytes, utf8Bytes } from '../../core/bytes.js';
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

/** Appends big-endian fields to a growing buffer. */
class Writer {
  /** Bytes written so far are `buffer[0, at)`; the buffer doubles when a write needs room. */
  private buffer = new Uint8Array(64);
  private at = 0;
  private room(more: number): void {
    if (this.at + more <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.at + more));
    grown.set(this.buffer.subarray(0, this.at));
    this.buffer = grown;
  }
  u8(value: number): this {
    this.room(1);
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
  binary(bytes: Uint8Array): this {
    this.u16(bytes.length);
    this.room(bytes.length);
    this.buffer.set(bytes, this.at);
    this.at += bytes.length;
    return this;
  }
  string(text: string): this {
    return this.binary(utf8Bytes(text));
  }
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.at);
  }
}

/** Reads big-endian fields; every read checks the remaining length and reports the offset. */
class Reader {
  private at = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly base: number,
  ) {}
  private need(count: number, what: string): WireError | undefined {
    if (this.at + count > this.bytes.length) {
      return new WireError('payload.truncated', `payload ends inside ${what}`, this.base + this.at);
    }
    return undefined;
  }
  u8(what: string): Result<number, WireError> {
    const short = this.need(1, what);
    if (short) return err(short);
    return ok(this.bytes[this.at++] ?? 0);
  }
  u16(what: string): Result<number, WireError> {
    const short = this.need(2, what);
    if (short) return err(short);
    const value = ((this.bytes[this.at] ?? 0) << 8) | (this.bytes[this.at + 1] ?? 0);
    this.at += 2;
    return ok(value);
  }
  u32(what: string): Result<number, WireError> {
    const high = this.u16(what);
    if (!high.ok) return high;
    const low = this.u16(what);
    if (!low.ok) return low;
    return ok(high.value * 0x1_0000 + low.value);
  }
  u64(what: string): Result<bigint, WireError> {
    const high = this.u32(what);
    if (!high.ok) return high;
    const low = this.u32(what);
    if (!low.ok) return low;
    return ok((BigInt(high.value) << 32n) | BigInt(low.value));
  }
  /** A length-prefixed field, as a view of the payload (callers copy what they keep). */
  private field(what: string): Result<Uint8Array, WireError> {
    const length = this.u16(`${what} length`);
    if (!length.ok) return length;
    const short = this.need(length.value, what);
    if (short) return err(short);
    const value = this.bytes.subarray(this.at, this.at + length.value);
    this.at += length.value;
    return ok(value);
  }
  binary(what: string): Result<Uint8Array, WireError> {
    const raw = this.field(what);
    return raw.ok ? ok(raw.value.slice()) : raw;
  }
  string(what: string): Result<string, WireError> {
    const start = this.base + this.at;
    // Decoded straight from the payload: no copy of the bytes first.
    const raw = this.field(what);
    if (!raw.ok) return raw;
    try {
      return ok(utf8Decoder.decode(raw.value));
    } catch {
      return err(new WireError('utf8.invalid', `${what} is not valid UTF-8`, start));
    }
  }
  end(): Result<void, WireError> {
    if (this.at !== this.bytes.length) {
      return err(
        new WireError(
          'payload.trailing',
          `${this.bytes.length - this.at} bytes after the last field`,
          this.base + this.at,
        ),
      );
    }
    return ok(undefined);
  }
}

function encodeBody(payload: Payload): Uint8Array {
  const w = new Writer();
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
      w.string(payload.id).string(payload.from).string(payload.to).u64(BigInt(payload.timeMs)).string(payload.body);
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
  return w.bytes();
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
  const body = encodeBody(payload);
  if (body.length > payloadBytesCeiling)
    throw new RangeError(`${payload.type} payload of ${body.length} bytes exceeds the uint16 length`);
  const frame = new Uint8Array(headerBytes + body.length);
  frame[0] = payloadTypeCode[payload.type];
  frame[1] = body.length >>> 8;
  frame[2] = body.length & 0xff;
  frame.set(body, headerBytes);
  return frame;
}

/** Bytes of the payload part only, for callers that need to check a size before framing. */
export function payloadBytes(payload: Payload): number {
  return encodeBody(payload).length;
}

/** A Handshake's fields (decodeBody's step): versions and a known connection type. */
function decodeHandshake(r: Reader, base: number): Result<PayloadOf<'handshake'>, WireError> {
  const verMajor = r.u8('ver_major');
  if (!verMajor.ok) return verMajor;
  const verMinor = r.u8('ver_minor');
  if (!verMinor.ok) return verMinor;
  const kind = r.u8('connection type');
  if (!kind.ok) return kind;
  if (kind.value !== 0x01 && kind.value !== 0x02) {
    return err(
      new WireError('handshake.conn-type-unknown', `unknown connection type 0x${kind.value.toString(16)}`, base + 2),
    );
  }
  return ok({ type: 'handshake', verMajor: verMajor.value, verMinor: verMinor.value, connType: kind.value });
}

/** A Message's fields (decodeBody's step): its time must fit a safe integer of ms. */
function decodeMessage(r: Reader, base: number): Result<PayloadOf<'message'>, WireError> {
  const id = r.string('id');
  if (!id.ok) return id;
  const from = r.string('from');
  if (!from.ok) return from;
  const to = r.string('to');
  if (!to.ok) return to;
  const time = r.u64('time');
  if (!time.ok) return time;
  if (time.value > BigInt(Number.MAX_SAFE_INTEGER)) {
    return err(new WireError('message.time-range', 'message time beyond 2^53-1 ms', base));
  }
  const body = r.string('body');
  if (!body.ok) return body;
  return ok({
    type: 'message',
    id: id.value,
    from: from.value,
    to: to.value,
    timeMs: Number(time.value),
    body: body.value,
  });
}

/** The reserved Test payload's fields (decodeBody's step), one of each field kind. */
function decodeTest(r: Reader): Result<PayloadOf<'test'>, WireError> {
  const num1 = r.u8('Num1');
  if (!num1.ok) return num1;
  const time1 = r.u64('Time1');
  if (!time1.ok) return time1;
  const str1 = r.string('Str1');
  if (!str1.ok) return str1;
  const num2 = r.u16('Num2');
  if (!num2.ok) return num2;
  const bin1 = r.binary('Bin1');
  if (!bin1.ok) return bin1;
  const num3 = r.u32('Num3');
  if (!num3.ok) return num3;
  const str2 = r.string('Str2');
  if (!str2.ok) return str2;
  const num4 = r.u64('Num4');
  if (!num4.ok) return num4;
  return ok({
    type: 'test',
    num1: num1.value,
    time1: time1.value,
    str1: str1.value,
    num2: num2.value,
    bin1: bin1.value,
    num3: num3.value,
    str2: str2.value,
    num4: num4.value,
  });
}

function decodeBody(type: PayloadType, bytes: Uint8Array, base: number): Result<Payload, WireError> {
  const r = new Reader(bytes, base);
  const done = <P extends Payload>(payload: P): Result<Payload, WireError> => {
    const end = r.end();
    return end.ok ? ok(payload) : end;
  };
  const andDone = (fields: Result<Payload, WireError>) => (fields.ok ? done(fields.value) : fields);
  switch (type) {
    case 'success':
      if (bytes.length !== 0)
        return err(new WireError('payload.not-empty', 'Success must be empty (attribute E)', base));
      return ok({ type });
    case 'error': {
      const code = r.u8('error code');
      if (!code.ok) return code;
      if (code.value < 0x01 || code.value > 0x03) {
        return err(new WireError('error.code-unknown', `unknown error code 0x${code.value.toString(16)}`, base));
      }
      return done({ type, code: code.value as ErrorCode });
    }
    case 'handshake':
      return andDone(decodeHandshake(r, base));
    case 'userAuth': {
      const username = r.string('username');
      if (!username.ok) return username;
      const password = r.string('password');
      if (!password.ok) return password;
      return done({ type, username: username.value, password: password.value });
    }
    case 'message':
      return andDone(decodeMessage(r, base));
    case 'serverAuth': {
      const name = r.string('name');
      if (!name.ok) return name;
      return done({ type, name: name.value });
    }
    case 'challenge': {
      const nonce = r.binary('nonce');
      if (!nonce.ok) return nonce;
      return done({ type, nonce: nonce.value });
    }
    case 'proof': {
      const signature = r.binary('signature');
      if (!signature.ok) return signature;
      return done({ type, signature: signature.value });
    }
    case 'test':
      return andDone(decodeTest(r));
  }
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

  push(chunk: Uint8Array): Result<RawFrame[], WireError> {
    if (this.failed) return err(this.failed);
    const joined = concatBytes(this.pending, chunk);
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
      frames.push({ type, payload: joined.slice(at + headerBytes, at + headerBytes + length) });
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

export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
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
