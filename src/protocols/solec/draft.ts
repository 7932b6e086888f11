/**
 * A Message payload a user command starts (a client's `send`, a server's `submit`): a fresh id
 * from the node's seeded stream and the node's clock as `time_ms` (spec.md §2.2). One over the
 * node's `payloadBytesMax` is refused with `solec.too-large` and goes nowhere.
 */
import type { NodeHost } from '../protocol.js';
import { drawMessageId, payloadBytes, wireTimeMs, type Payload } from './wire.js';

export type MessagePayload = Extract<Payload, { type: 'message' }>;

export function draftMessage(
  host: NodeHost,
  fields: { readonly from: string; readonly to: string; readonly body: string },
  payloadBytesMax: number,
): MessagePayload | undefined {
  const message: MessagePayload = {
    type: 'message',
    id: drawMessageId(host.random),
    from: fields.from,
    to: fields.to,
    timeMs: wireTimeMs(host.now()),
    body: fields.body,
  };
  if (payloadBytes(message) <= payloadBytesMax) return message;
  host.emit({ kind: 'reject', code: 'solec.too-large', reason: `message over ${payloadBytesMax} bytes` });
  return undefined;
}
