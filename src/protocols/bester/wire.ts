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
import { concatBytes, utf8Bytes } from '../../core/bytes.js';
import { WireError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';

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

/** Encodes one JSON value as a frame: int32 little-endian byte count, then compact JSON. */
export function encodeFrame(value: unknown): Uint8Array {
  const body = utf8Bytes(JSON.stringify(value));
  const frame = new Uint8Array(lengthPrefixBytes + body.length);
  new DataView(frame.buffer).setInt32(0, body.length, true);
  frame.set(body, lengthPrefixBytes);
  return frame;
}

/** Joins several encoded frames into one write. */
export function encodeFrames(values: readonly unknown[]): Uint8Array {
  return concatBytes(...values.map(encodeFrame));
}

/**
 * Splits a byte stream into frame bodies; keeps an unfinished frame for the next chunk. After an
 * error the decoder stays failed (the stream has lost its framing; the node closes the connection).
 */
export class FrameDecoder {
  private pending = new Uint8Array(0);
  private failed: WireError | undefined;

  push(chunk: Uint8Array): Result<Uint8Array[], WireError> {
    if (this.failed) return err(this.failed);
    const joined = concatBytes(this.pending, chunk);
    const bodies: Uint8Array[] = [];
    let at = 0;
    while (joined.length - at >= lengthPrefixBytes) {
      const length = new DataView(joined.buffer, joined.byteOffset + at, lengthPrefixBytes).getInt32(0, true);
      if (length < 0)
        return this.fail(new WireError('frame.length-negative', `frame length ${length} is negative`, at));
      if (length > frameBytesMax) {
        return this.fail(new WireError('frame.too-large', `frame of ${length} bytes is over ${frameBytesMax}`, at));
      }
      if (joined.length - at - lengthPrefixBytes < length) break;
      bodies.push(joined.slice(at + lengthPrefixBytes, at + lengthPrefixBytes + length));
      at += lengthPrefixBytes + length;
    }
    this.pending = joined.slice(at);
    return ok(bodies);
  }

  /** Bytes held for an unfinished frame (at most `frameBytesMax + lengthPrefixBytes - 1`). */
  get pendingBytes(): number {
    return this.pending.length;
  }

  private fail(error: WireError): Result<Uint8Array[], WireError> {
    this.failed = error;
    this.pending = new Uint8Array(0);
    return err(error);
  }
}

/** Nesting depth of a parsed JSON value, walked iteratively so that it cannot overflow the stack. */
function jsonDepth(value: unknown, stopAt: number): number {
  let deepest = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; depth: number };
    if (item.value === null || typeof item.value !== 'object') continue;
    const depth = item.depth + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(item.value)) stack.push({ value: child, depth });
  }
  return deepest;
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
  if (jsonDepth(value, jsonDepthMax) > jsonDepthMax) {
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

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
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

export function parseFirstMessage(value: unknown): Result<FirstMessage, WireError> {
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

/** A later message from a client: `{header, payload: {type, id, data}}`; the header's contents are ignored. */
export function parseClientMessage(value: unknown): Result<Payload, WireError> {
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

export function parseHandlerReply(value: unknown): Result<HandlerReply, WireError> {
  const reply = handlerReplySchema.safeParse(value);
  if (!reply.success) return err(new WireError('reply.invalid', `handler reply: ${zodProblem(reply.error)}`));
  const { status, command } = reply.data.header;
  if (!/^\d{1,9}$/.test(status)) return err(new WireError('reply.status-invalid', `status ${JSON.stringify(status)}`));
  const statusCode = Number(status);
  if (statusCode === 0 && command === undefined) {
    return err(new WireError('reply.command-missing', 'a successful handler reply needs header.command'));
  }
  return ok(
    command === undefined ? { statusCode, data: reply.data.data } : { statusCode, command, data: reply.data.data },
  );
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

export function parseServerToClient(value: unknown): Result<ServerToClient, WireError> {
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

// ---- Builders: the exact JSON the server and clients write (spec.md §3).

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
