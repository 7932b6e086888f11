/**
 * The SOLEC payload codec as it was written first (a growing writer, a reader of one Result per
 * field, bigints for uint64): the reference `wire.test.ts` holds the sized writer and the
 * mark-returning reader of src/protocols/solec/wire.ts to, byte for byte and error for error.
 */
import { utf8Bytes } from '../../../src/core/bytes.js';
import { WireError } from '../../../src/core/errors.js';
import { err, ok, type Result } from '../../../src/core/result.js';
import type { ErrorCode, Payload, PayloadOf, PayloadType } from '../../../src/protocols/solec/wire.js';

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

/** The body bytes of `payload` (the reference for `encodeFrame` after its 3-byte header). */
export function referenceBody(payload: Payload): Uint8Array {
  return encodeBody(payload);
}

/** The payload decoded from `bytes` as `type` (the reference for `decodePayload` after its header checks). */
export function referenceDecode(type: PayloadType, bytes: Uint8Array, base: number): Result<Payload, WireError> {
  return decodeBody(type, bytes, base);
}
