/**
 * Authenticity of delivery, for any protocol: every message a user receives was sent by a user,
 * as the sender it claims, to that recipient, with that body. "Sent" means a `command` event in
 * the trace that a protocol's `sentBy` reads as a message; each protocol says how its commands
 * name sender, recipient and body. Violations are values; nothing here throws.
 */
import type { TraceEvent } from '../trace/events.js';
import type { InvariantContext, InvariantNode } from './context.js';
import type { Invariant } from './invariants.js';

/** One message a command asked for. `to` undefined: any recipient (a broadcast, a handler decides). */
export interface SentMessage {
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly body: string;
}

/** Reads the messages one command event asks for; `node` is the node that got the command. */
export type SentBy = (command: unknown, node: InvariantNode | undefined) => readonly SentMessage[];

/** Addresses compare without case and without an XMPP resource. */
export function sameAddress(a: string, b: string): boolean {
  const bare = (address: string) => (address.split('/')[0] ?? address).toLowerCase();
  return bare(a) === bare(b);
}

/** Two messages alike: the same body, and the same sender and recipient where both name one. */
function sameMessage(a: SentMessage, b: SentMessage): boolean {
  const same = (x: string | undefined, y: string | undefined) =>
    x === undefined || y === undefined || sameAddress(x, y);
  return a.body === b.body && same(a.to, b.to) && same(a.from, b.from);
}

/** Bytes that arrived other than they were sent (a scenario's `corrupt` fault), and which of them changed. */
interface Damaged {
  readonly bytes: Buffer;
  readonly changed: readonly number[];
}

function damageOf(sentBase64: string, receivedBase64: string): Damaged {
  const sent = Buffer.from(sentBase64, 'base64');
  const bytes = Buffer.from(receivedBase64, 'base64');
  const changed: number[] = [];
  for (let i = 0; i < Math.min(sent.length, bytes.length); i++) if (sent[i] !== bytes[i]) changed.push(i);
  return { bytes, changed };
}

/** Whether `value` (UTF-8) occurs in damaged bytes over a byte the damage changed: the damage wrote it. */
function writtenBy(damage: Damaged, value: string): boolean {
  const needle = Buffer.from(value, 'utf8');
  if (needle.length === 0 || damage.changed.length === 0) return false;
  for (let at = damage.bytes.indexOf(needle); at >= 0; at = damage.bytes.indexOf(needle, at + 1)) {
    if (damage.changed.some((i) => i >= at && i < at + needle.length)) return true;
  }
  return false;
}

/**
 * Which values a scenario's own corruption wrote: fed every `send` and `receive` event, `written`
 * tells whether a value (UTF-8) lies over a byte that a segment received so far arrived with
 * changed. For invariants that excuse what a damage wrote, as `authenticDelivery` does.
 */
export function damageWriter(): { observe(event: TraceEvent): void; written(value: string): boolean } {
  const inFlight = new Map<number, string>();
  const damaged: Damaged[] = [];
  return {
    observe(event) {
      if (event.kind === 'send') inFlight.set(event.msg, event.payload.base64);
      if (event.kind !== 'receive') return;
      const sentBase64 = inFlight.get(event.msg);
      if (event.transport === 'stream') inFlight.delete(event.msg);
      if (sentBase64 !== undefined && sentBase64 !== event.payload.base64)
        damaged.push(damageOf(sentBase64, event.payload.base64));
    },
    written: (value) => damaged.some((damage) => writtenBy(damage, value)),
  };
}

/**
 * The part of `got` that differs from `want` (their common prefix and suffix taken off), with up
 * to `context` characters of each around it: what a damage must have written for `want` to arrive
 * as `got` when the field was decoded and encoded again on the way (JSON data a handler passed on).
 */
function differingSpan(want: string, got: string, context = 4): string {
  let prefix = 0;
  while (prefix < want.length && prefix < got.length && want[prefix] === got[prefix]) prefix += 1;
  let suffix = 0;
  while (
    suffix < want.length - prefix &&
    suffix < got.length - prefix &&
    want[want.length - 1 - suffix] === got[got.length - 1 - suffix]
  )
    suffix += 1;
  return got.slice(Math.max(0, prefix - context), Math.min(got.length, got.length - suffix + context));
}

/**
 * Nothing is delivered that no user sent: the delivered (from, user, body) must match a message
 * some earlier command asked for. Catches forged senders, invented or altered bodies, and
 * misrouted messages.
 *
 * Except what a scenario's own corruption wrote: a delivery that differs from a sent message in
 * one field only, where the delivered value lies over a byte that a segment received earlier
 * arrived with changed (its `receive` differs from its `send`). No protocol here has integrity
 * over its messages (that is the transport's job, which the simulator leaves out), so none can
 * tell such a flip from a message that was sent. A body may also differ only where a changed byte
 * wrote it (the differing part with a few characters around it lies over a changed byte), for
 * bodies decoded and encoded again on the way (fuzz seed 3193 of a 5,000-run Bester campaign: a
 * key of the forwarded JSON data edited). A forged or invented value is still caught: it was never
 * written by a changed byte.
 *
 * With `carried` (the messages a decoded segment carries, in `sentBy`'s terms), also a delivery
 * that a damage on its path altered: it matches, in every field, a message that a damaged segment
 * carried as it was received, which the same segment did not carry as it was sent, while as sent
 * it carried a message some user sent (or one an earlier damage so altered). For protocols whose
 * nodes decode a message and pass it on: the damage then reaches the delivery whole, but its bytes
 * are encoded again, so the changed bytes need not lie under what is delivered (Bester soak seed
 * 3776: a forward's text `m3` damaged to `mo`, delivered with another handler's tag after it). A
 * delivery no damaged segment carried, or one a damage made of a message nobody sent, is still caught.
 */
export function authenticDelivery(
  name: string,
  sentBy: SentBy,
  context: InvariantContext,
  carried?: (decoded: unknown) => readonly SentMessage[],
): Invariant {
  const nodes = new Map(context.nodes.map((node) => [node.id, node]));
  const sent: SentMessage[] = [];
  /** Payloads of segments sent and not yet received, by `msg` (datagrams stay: a copy may follow). */
  const inFlight = new Map<number, { base64: string; decoded: unknown }>();
  const damaged: Damaged[] = [];
  /** Messages a damage altered on their way, from a message some user sent (read with `carried`). */
  const altered: SentMessage[] = [];
  const written = (value: string) => damaged.some((damage) => writtenBy(damage, value));
  const known = (message: SentMessage) => [...sent, ...altered].some((other) => sameMessage(other, message));
  return {
    name,
    kinds: ['command', 'send', 'receive', 'deliver'],
    observe(event: TraceEvent) {
      if (event.kind === 'command') {
        sent.push(...sentBy(event.command, nodes.get(event.node)));
        return undefined;
      }
      if (event.kind === 'send') {
        inFlight.set(event.msg, { base64: event.payload.base64, decoded: event.payload.decoded });
        return undefined;
      }
      if (event.kind === 'receive') {
        const before = inFlight.get(event.msg);
        if (event.transport === 'stream') inFlight.delete(event.msg);
        if (before !== undefined && before.base64 !== event.payload.base64) {
          damaged.push(damageOf(before.base64, event.payload.base64));
          if (carried !== undefined && event.payload.decoded !== undefined) {
            const was = carried(before.decoded);
            if (was.some(known)) {
              const now = carried(event.payload.decoded);
              altered.push(...now.filter((message) => !was.some((other) => sameMessage(other, message))));
            }
          }
        }
        return undefined;
      }
      if (event.kind !== 'deliver') return undefined;
      const fields = (message: SentMessage) => [
        message.body === event.body,
        message.to === undefined || sameAddress(message.to, event.user),
        message.from === undefined || sameAddress(message.from, event.from),
      ];
      if (sent.some((message) => fields(message).every(Boolean))) return undefined;
      if (altered.some((message) => fields(message).every(Boolean))) return undefined;
      if (damaged.length > 0) {
        const values = [event.body, event.user, event.from];
        const flipped = sent.some((message) => {
          const checks = fields(message);
          const wrong = checks.flatMap((ok, i) => (ok ? [] : [values[i] ?? '']));
          if (wrong.length !== 1) return false;
          // A body re-encoded on the way (Bester's handlers pass JSON data on) is not in the damaged
          // bytes as a whole: the part that differs from the sent body, with its context, is.
          return written(wrong[0] ?? '') || (checks[0] === false && written(differingSpan(message.body, event.body)));
        });
        if (flipped) return undefined;
      }
      return `${event.user} at ${event.node} received ${JSON.stringify(event.body)} from ${event.from}, which no user sent`;
    },
  };
}
