/**
 * Bester wire format: every hop (client-server, server-server, server-handler, handler-informer)
 * carries frames of a 4-byte little-endian length followed by that many bytes of UTF-8 JSON
 * (bformat 1.0.8, see ./spec.md §2). This module turns bytes into JSON values and JSON values into
 * the typed messages of ./spec.md §3, and back.
 *
 * It must not throw on peer input, nor buffer without bound: every decoder returns a Result with
 * a typed WireError, and the frame decoder refuses a frame longer than `frameBytesMax`.
 */
import { z } from 'zod';
import { concatBytes, noBytes, utf8Bytes } from '../../core/bytes.js';
import { WireError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { textFields, type WireField } from '../../core/wire-fields.js';

/**
 * Largest frame body we accept (ours: the original has no limit and trusts a signed 32-bit length).
 * 1 MiB holds any chat-sized payload many times over while keeping one peer's buffer small.
 */
export const frameBytesMax = 1024 * 1024;

/**
 * Deepest JSON nesting we accept (ours). Re-encoding a peer's `data` for a handler walks it
 * recursively, so a 100,000-deep array would overflow the stack; 64 levels is far beyond any real message.
 */
export const jsonDepthMax = 64;

/** Bytes in the length prefix. */
export const lengthPrefixBytes = 4;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes one JSON value as a frame: int32 little-endian byte count, then compact JSON. The frame
 * is written straight into one buffer carved from Node's pool (see `utf8Bytes`): every frame a
 * node writes went through two allocations and a copy before, and a `new Uint8Array` of over 64
 * bytes has its own backing store, which the collector pays for. `Buffer.write` encodes exactly as
 * `TextEncoder` does (a lone surrogate becomes U+FFFD), and `Buffer.byteLength` counts the same.
 */
export function encodeFrame(value: unknown): Uint8Array {
  // Undefined for `undefined` or a function, which no caller passes; `utf8Bytes` throws on it, as it did here before.
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return utf8Bytes(text as unknown as string);
  const length = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(lengthPrefixBytes + length);
  frame.writeInt32LE(length, 0);
  frame.write(text, lengthPrefixBytes, length, 'utf8');
  // A plain view, as `utf8Bytes` returns: callers and traces see a `Uint8Array`, not a `Buffer`.
  return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
}

/** Joins several encoded frames into one write. */
export function encodeFrames(values: readonly unknown[]): Uint8Array {
  return concatBytes(...values.map(encodeFrame));
}

/** The signed 32-bit little-endian integer at `at` (what `DataView.getInt32(at, true)` reads). */
function int32At(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] as number) |
    ((bytes[at + 1] as number) << 8) |
    ((bytes[at + 2] as number) << 16) |
    ((bytes[at + 3] as number) << 24)
  );
}

/**
 * Splits a byte stream into frame bodies; keeps an unfinished frame for the next chunk. After an
 * error the decoder stays failed (the stream has lost its framing; the node closes the connection).
 *
 * The bodies returned are views into the chunk (or into the joined pending bytes), not copies:
 * every caller decodes them before it pushes again, and nothing writes into a chunk once pushed.
 * With nothing pending (the usual case: a segment holds whole frames) the chunk is read in place;
 * an unfinished tail is copied, since the chunk belongs to the caller. Chunks of a frame whose length
 * is known are held apart and joined once, when the frame is complete: joining at every chunk copied a
 * 1 MiB frame arriving in 64 KiB pieces sixteen times over, and 200 such frames starved the server.
 */
export class FrameDecoder {
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  /** Bytes the frame at the head needs in all (prefix included), once its prefix is known; else 0. */
  private needBytes = 0;
  private failed: WireError | undefined;

  push(chunk: Uint8Array): Result<Uint8Array[], WireError> {
    if (this.failed) return err(this.failed);
    if (this.needBytes > 0 && this.heldBytes + chunk.length < this.needBytes) {
      // A chunk that is its whole buffer (the real host's copy of a socket read) is held as it is:
      // a second copy per chunk doubled the allocations of a flood of large partial frames.
      this.held.push(chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice());
      this.heldBytes += chunk.length;
      return ok([]);
    }
    const joined = this.held.length === 0 ? chunk : joinBytes([...this.held, chunk], this.heldBytes + chunk.length);
    const bodies: Uint8Array[] = [];
    let at = 0;
    while (joined.length - at >= lengthPrefixBytes) {
      const length = int32At(joined, at);
      if (length < 0)
        return this.fail(new WireError('frame.length-negative', `frame length ${length} is negative`, at));
      if (length > frameBytesMax) {
        return this.fail(new WireError('frame.too-large', `frame of ${length} bytes is over ${frameBytesMax}`, at));
      }
      if (joined.length - at - lengthPrefixBytes < length) break;
      bodies.push(joined.subarray(at + lengthPrefixBytes, at + lengthPrefixBytes + length));
      at += lengthPrefixBytes + length;
    }
    const tail = at === joined.length ? noBytes : joined.slice(at);
    this.held = tail.length === 0 ? [] : [tail];
    this.heldBytes = tail.length;
    this.needBytes = tail.length >= lengthPrefixBytes ? lengthPrefixBytes + int32At(tail, 0) : 0;
    return ok(bodies);
  }

  /** Bytes held for an unfinished frame (at most `frameBytesMax + lengthPrefixBytes - 1`). */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  private fail(error: WireError): Result<Uint8Array[], WireError> {
    this.failed = error;
    this.held = [];
    this.heldBytes = 0;
    this.needBytes = 0;
    return err(error);
  }
}

function joinBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  const joined = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/** Whether a parsed JSON value nests deeper than `max` (a scalar is depth 0, `[]` depth 1). */
function deeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  // The recursion goes at most `max + 1` levels down, so it cannot overflow the stack.
  if (max === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (deeperThan(item, max - 1)) return true;
    return false;
  }
  for (const key in value) {
    if (
      Object.prototype.hasOwnProperty.call(value, key) &&
      deeperThan((value as Record<string, unknown>)[key], max - 1)
    )
      return true;
  }
  return false;
}

/** Parses one frame body as UTF-8 JSON. */
export function parseJson(body: Uint8Array): Result<unknown, WireError> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return err(new WireError('utf8.invalid', 'frame body is not valid UTF-8'));
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return err(new WireError('json.invalid', `frame body is not JSON: ${JSON.stringify(text.slice(0, 40))}`));
  }
  // Nesting deeper than jsonDepthMax takes an opening and a closing bracket per level: a shorter
  // text cannot, and most frames are shorter.
  if (text.length >= 2 * (jsonDepthMax + 1) && deeperThan(value, jsonDepthMax)) {
    return err(new WireError('json.too-deep', `JSON nested deeper than ${jsonDepthMax}`));
  }
  return ok(value);
}

// ---- Message shapes (spec.md §3). Zod validates; the functions below map failures to WireErrors.

/** `payload` of a client message: `type`, `id` and `data` are all required (besterd cc359a1). */
export interface Payload {
  readonly type: string;
  readonly id: string;
  readonly data: unknown;
}

const payloadSchema = z.object({ type: z.string(), id: z.string(), data: z.unknown() });
/** A payload from a peer server: `id` may be missing (besterd-2020 forwards without it). */
const forwardedPayloadSchema = z.object({ type: z.string(), id: z.string().optional(), data: z.unknown() });
const authenticationSchema = z.object({ username: z.string(), password: z.string() });
const headerSchema = z.record(z.string(), z.unknown());
const handlerReplySchema = z.object({
  header: z.object({
    status: z.string(),
    command: z.object({ type: z.string(), data: z.unknown() }).optional(),
  }),
  data: z.unknown(),
});
const informerRequestSchema = z.object({
  command: z.object({ type: z.string(), data: z.unknown().optional() }),
});
const statusReportSchema = z.object({
  header: z.object({ status: z.enum(['good', 'bad']), messageType: z.literal('statusReport') }),
  payload: z.object({ id: z.string() }),
});
const receivedMessageSchema = z.object({
  header: z.object({ messageType: z.literal('receivedMessage') }),
  payload: z.object({ type: z.string(), data: z.unknown() }),
});
const dummyReplySchema = z.object({
  header: z.object({ status: z.literal('0') }),
  payload: z.object({ type: z.literal('dummy'), id: z.string(), data: z.null() }),
});

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A JSON array of strings, such as sendClients' usernames or sendServers' addresses. */
export function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function zodProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
}

/** The first message on a connection to the server, which sets the connection's scope. */
export type FirstMessage =
  | { readonly scope: 'client'; readonly username: string; readonly password: string }
  | {
      readonly scope: 'server';
      readonly payload: { readonly type: string; readonly id?: string; readonly data: unknown };
    };

/** `parseFirstMessage` through the zod schemas alone (the reference the fast path is tested against). */
export function parseFirstMessageBySchema(value: unknown): Result<FirstMessage, WireError> {
  if (!isObject(value)) return err(new WireError('message.not-object', 'message is not a JSON object'));
  const header = value['header'];
  if (!isObject(header)) return err(new WireError('header.missing', 'message has no header object'));
  const scope = header['scope'];
  if (scope === 'client') {
    const auth = authenticationSchema.safeParse(header['authentication']);
    if (!auth.success) return err(new WireError('auth.missing', `authentication: ${zodProblem(auth.error)}`));
    return ok({ scope: 'client', username: auth.data.username, password: auth.data.password });
  }
  if (scope === 'server') {
    const payload = forwardedPayloadSchema.safeParse(value['payload']);
    if (!payload.success || !isObject(value['payload']) || !('data' in value['payload'])) {
      return err(new WireError('payload.invalid', 'server-scope payload needs type and data'));
    }
    const { type, id, data } = payload.data;
    return ok({ scope: 'server', payload: id === undefined ? { type, data } : { type, id, data } });
  }
  return err(new WireError('scope.unknown', `scope ${JSON.stringify(scope)} is neither client nor server`));
}

/** `parseClientMessage` through the zod schemas alone (the reference the fast path is tested against). */
export function parseClientMessageBySchema(value: unknown): Result<Payload, WireError> {
  if (!isObject(value)) return err(new WireError('message.not-object', 'message is not a JSON object'));
  if (!headerSchema.safeParse(value['header']).success) {
    return err(new WireError('header.missing', 'message has no header object'));
  }
  const raw = value['payload'];
  const payload = payloadSchema.safeParse(raw);
  if (!payload.success || !isObject(raw) || !('data' in raw)) {
    return err(new WireError('payload.invalid', 'payload needs type, id and data'));
  }
  return ok({ type: payload.data.type, id: payload.data.id, data: payload.data.data });
}

/** A handler's reply: `{header: {status, command: {type, data}}, data}`. */
export interface HandlerReply {
  /** `header.status` parsed as an unsigned integer; 0 means the handler succeeded. */
  readonly statusCode: number;
  /** Absent only when `statusCode` is not 0 (the original reads the command only on success). */
  readonly command?: { readonly type: string; readonly data: unknown };
  readonly data: unknown;
}

/** `parseHandlerReply` through the zod schemas alone (the reference the fast path is tested against). */
export function parseHandlerReplyBySchema(value: unknown): Result<HandlerReply, WireError> {
  const reply = handlerReplySchema.safeParse(value);
  if (!reply.success) return err(new WireError('reply.invalid', `handler reply: ${zodProblem(reply.error)}`));
  return handlerReplyOf(reply.data.header.status, reply.data.header.command, reply.data.data);
}

/** A handler reply from the parts its schema reads: the status must be a number, and 0 needs a command. */
function handlerReplyOf(
  status: string,
  command: { type: string; data: unknown } | undefined,
  data: unknown,
): Result<HandlerReply, WireError> {
  if (!/^\d{1,9}$/.test(status)) return err(new WireError('reply.status-invalid', `status ${JSON.stringify(status)}`));
  const statusCode = Number(status);
  if (statusCode === 0 && command === undefined) {
    return err(new WireError('reply.command-missing', 'a successful handler reply needs header.command'));
  }
  return ok(command === undefined ? { statusCode, data } : { statusCode, command, data });
}

/** A request on the informer socket: `{command: {type, data}}`. */
export interface InformerRequest {
  readonly type: string;
  readonly data: unknown;
}

export function parseInformerRequest(value: unknown): Result<InformerRequest, WireError> {
  const request = informerRequestSchema.safeParse(value);
  if (!request.success) return err(new WireError('informer.invalid', `informer request: ${zodProblem(request.error)}`));
  return ok({ type: request.data.command.type, data: request.data.command.data });
}

/** What a server sends a client. */
export type ServerToClient =
  | { readonly kind: 'statusReport'; readonly status: 'good' | 'bad'; readonly id: string }
  | { readonly kind: 'receivedMessage'; readonly type: string; readonly data: unknown }
  | { readonly kind: 'dummy'; readonly id: string };

/** `parseServerToClient` through the zod schemas alone (the reference the fast path is tested against). */
export function parseServerToClientBySchema(value: unknown): Result<ServerToClient, WireError> {
  const status = statusReportSchema.safeParse(value);
  if (status.success)
    return ok({ kind: 'statusReport', status: status.data.header.status, id: status.data.payload.id });
  const received = receivedMessageSchema.safeParse(value);
  if (received.success && isObject(value) && isObject(value['payload']) && 'data' in value['payload']) {
    return ok({ kind: 'receivedMessage', type: received.data.payload.type, data: received.data.payload.data });
  }
  const dummy = dummyReplySchema.safeParse(value);
  if (dummy.success) return ok({ kind: 'dummy', id: dummy.data.payload.id });
  return err(new WireError('server-message.unknown', 'not a status report, received message or dummy reply'));
}

// ---- Fast paths. Zod stays the definition of each message: the checks below are written to
// accept exactly what its schema accepts and to build the same value, and
// test/protocols/bester/wire.test.ts checks that over arbitrary and mutated messages. Whatever a
// check does not accept goes through the schema, so every refusal (its code and message) is the
// schema's. Why: a zod object parse allocates a result, issue lists and a copy of each level per
// call (a refusal also builds a ZodError), and a Bester message passes about ten of them, two
// being refusals (a client tries the status report schema on every message it receives).

/** Zod's `isPlainObject` (util.js), which `z.record` asks of its input. */
function isPlainObject(value: unknown): boolean {
  if (!isObject(value)) return false;
  const ctor: unknown = value['constructor'];
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const prototype: unknown = (ctor as { prototype?: unknown }).prototype;
  return isObject(prototype) && Object.prototype.hasOwnProperty.call(prototype, 'isPrototypeOf');
}

/** What `z.record(z.string(), z.unknown())` accepts: a plain object with no enumerable symbol key. */
function isStringRecord(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key of Object.getOwnPropertySymbols(value)) {
    if (Object.prototype.propertyIsEnumerable.call(value, key)) return false;
  }
  return true;
}

export function parseFirstMessage(value: unknown): Result<FirstMessage, WireError> {
  // The fast path covers the server scope (every forwarded message) and a client's first message
  // whose authentication is two strings (every connection's login: a fuzz case logs in 4 to 8
  // clients, and a refusal built a ZodError).
  if (isObject(value)) {
    const header = value['header'];
    const payload = value['payload'];
    if (isObject(header) && header['scope'] === 'client') {
      const auth = header['authentication'];
      if (isObject(auth)) {
        const username = auth['username'];
        const password = auth['password'];
        if (typeof username === 'string' && typeof password === 'string')
          return ok({ scope: 'client', username, password });
      }
    }
    if (isObject(header) && header['scope'] === 'server' && isObject(payload)) {
      const type = payload['type'];
      const id = payload['id'];
      if (typeof type === 'string' && (id === undefined || typeof id === 'string') && 'data' in payload) {
        const data = payload['data'];
        return ok({ scope: 'server', payload: id === undefined ? { type, data } : { type, id, data } });
      }
    }
  }
  return parseFirstMessageBySchema(value);
}

/** A later message from a client: `{header, payload: {type, id, data}}`; the header's contents are ignored. */
export function parseClientMessage(value: unknown): Result<Payload, WireError> {
  if (isObject(value) && isStringRecord(value['header'])) {
    const payload = value['payload'];
    if (isObject(payload)) {
      const type = payload['type'];
      const id = payload['id'];
      if (typeof type === 'string' && typeof id === 'string' && 'data' in payload) {
        return ok({ type, id, data: payload['data'] });
      }
    }
  }
  return parseClientMessageBySchema(value);
}

/** The header and body of a handler reply as `handlerReplySchema` reads them, or undefined if it refuses. */
function handlerReplyShape(
  value: unknown,
): { status: string; command: { type: string; data: unknown } | undefined; data: unknown } | undefined {
  if (!isObject(value)) return undefined;
  const header = value['header'];
  if (!isObject(header)) return undefined;
  const status = header['status'];
  if (typeof status !== 'string') return undefined;
  const command = header['command'];
  let parsedCommand: { type: string; data: unknown } | undefined;
  if (command !== undefined) {
    if (!isObject(command)) return undefined;
    const type = command['type'];
    if (typeof type !== 'string' || !('data' in command)) return undefined;
    // Zod builds the nested object anew, with only the keys its schema names.
    parsedCommand = { type, data: command['data'] };
  }
  if (!('data' in value)) return undefined;
  return { status, command: parsedCommand, data: value['data'] };
}

export function parseHandlerReply(value: unknown): Result<HandlerReply, WireError> {
  const shape = handlerReplyShape(value);
  if (shape === undefined) return parseHandlerReplyBySchema(value);
  return handlerReplyOf(shape.status, shape.command, shape.data);
}

export function parseServerToClient(value: unknown): Result<ServerToClient, WireError> {
  // The three schemas in the schema path's order; each test is what its schema accepts.
  if (isObject(value)) {
    const header = value['header'];
    const payload = value['payload'];
    if (isObject(header) && isObject(payload)) {
      const status = header['status'];
      const messageType = header['messageType'];
      const id = payload['id'];
      if ((status === 'good' || status === 'bad') && messageType === 'statusReport' && typeof id === 'string') {
        return ok({ kind: 'statusReport', status, id });
      }
      const type = payload['type'];
      if (messageType === 'receivedMessage' && typeof type === 'string' && 'data' in payload) {
        return ok({ kind: 'receivedMessage', type, data: payload['data'] });
      }
      if (status === '0' && type === 'dummy' && typeof id === 'string' && payload['data'] === null) {
        return ok({ kind: 'dummy', id });
      }
    }
  }
  return parseServerToClientBySchema(value);
}

// ---- Builders: the exact JSON the server and clients write (spec.md §3).

/** The id of the status report that answers a client's first (authentication) message. */
export const authReportId = 'auth_special';

export function statusReport(status: 'good' | 'bad', id: string): unknown {
  return { header: { status, messageType: 'statusReport' }, payload: { id } };
}

export function receivedMessage(type: string, data: unknown): unknown {
  return { header: { messageType: 'receivedMessage' }, payload: { data, type } };
}

export function dummyReply(id: string): unknown {
  return { header: { status: '0' }, payload: { data: null, type: 'dummy', id } };
}

/** The message a server sends another for sendServers; besterd-2020 leaves out `id`. */
export function forwardedMessage(type: string, data: unknown, id: string | undefined): unknown {
  return { header: { scope: 'server' }, payload: id === undefined ? { data, type } : { data, type, id } };
}

export function authMessage(username: string, password: string): unknown {
  return {
    header: { scope: 'client', authentication: { username, password } },
    payload: { type: 'dummy', id: 'auth', data: null },
  };
}

export function clientMessage(payload: Payload): unknown {
  return { header: {}, payload: { type: payload.type, id: payload.id, data: payload.data } };
}

export function handlerReply(status: string, commandType: string, commandData: unknown, data: unknown): unknown {
  return { header: { status, command: { type: commandType, data: commandData } }, data };
}

/** Best-effort decoding for traces: the JSON of each complete frame, or a note on what is wrong. */
export function describe(bytes: Uint8Array): unknown {
  const decoder = new FrameDecoder();
  const bodies = decoder.push(bytes);
  if (!bodies.ok) return { error: bodies.error.code };
  const frames = bodies.value.map((body) => {
    const json = parseJson(body);
    return json.ok ? json.value : { error: json.error.code };
  });
  if (decoder.pendingBytes > 0) return { frames, partialBytes: decoder.pendingBytes };
  return frames.length === 1 ? frames[0] : frames;
}

/**
 * The named fields of the frames in `bytes` (structure-aware corruption, src/core/wire-fields.ts):
 * each frame's `length` prefix (int32 little-endian), and the JSON string values of the keys
 * `type`, `id`, `messageType`, `username`, `to` (as text).
 */
export function wireFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  while (at + lengthPrefixBytes <= bytes.length) {
    fields.push({ name: 'length', offset: at, size: lengthPrefixBytes, kind: 'uintLE' });
    const length = int32At(bytes, at);
    const end = at + lengthPrefixBytes + length;
    if (length < 0 || end > bytes.length) break;
    fields.push(
      ...textFields(
        bytes,
        ['type', 'id', 'messageType', 'username', 'to'].map((key) => ({
          name: key,
          pattern: new RegExp(`"${key}":"([^"\\\\]+)"`, 'g'),
          kind: 'text' as const,
        })),
        at + lengthPrefixBytes,
        end,
      ),
    );
    at = end;
  }
  return fields;
}
