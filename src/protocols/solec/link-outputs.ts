/**
 * What SOLEC's two outbound machines (a client's connection to its server, a server's relay link to
 * another server) say in the same way: writes of whole frames, the reject for input they cannot take
 * where it arrives, and the backoff between connection attempts. Pure; no I/O.
 */
import { output, type OutputEvent } from '../../engine/actor.js';
import type { NodeOutput } from '../protocol.js';
import { describePayload, encodeFrames, type ErrorCode, type Payload } from './wire.js';

/** One write of `payloads`, framed back to back, decoded for the trace. */
export function write(conn: string, payloads: readonly Payload[]): OutputEvent {
  return output({ kind: 'write', conn, bytes: encodeFrames(payloads), decoded: payloads.map(describePayload) });
}

/** What the connection and the server's frames tell either link machine (each adds its own events). */
export type LinkEvent =
  | { type: 'conn.opened' }
  | { type: 'conn.failed'; reason: string }
  | { type: 'conn.closed' }
  | { type: 'wire.success' }
  | { type: 'wire.error'; code: ErrorCode }
  | { type: 'wire.unexpected'; payload: Payload }
  | { type: 'wire.invalid'; code: string; reason: string };

/** An event a link machine did not expect: a frame the decoder refused, or a payload out of turn. */
export type UnexpectedEvent =
  | { readonly type: 'wire.invalid'; readonly code: string; readonly reason: string }
  | { readonly type: string; readonly payload?: { readonly type: string } };

/** The reject a link emits before it closes `conn` on unexpected input. */
export function unexpectedReject(event: UnexpectedEvent, conn: string): NodeOutput {
  if ('code' in event) return { kind: 'reject', code: event.code, reason: event.reason, detail: { conn } };
  const what = 'payload' in event && event.payload ? event.payload.type : event.type;
  return {
    kind: 'reject',
    code: 'solec.unexpected',
    reason: `${what} is not expected here; closing`,
    detail: { conn },
  };
}

/** The wait before the next connection attempt: `retryMs`, doubling with each failure in a row. */
export function retryDelayMs(retryMs: number, failures: number): number {
  return retryMs * 2 ** Math.max(0, failures - 1);
}
