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

/**
 * Nothing is delivered that no user sent: the delivered (from, user, body) must match a message
 * some earlier command asked for. Catches forged senders, invented or altered bodies, and
 * misrouted messages.
 */
export function authenticDelivery(name: string, sentBy: SentBy, context: InvariantContext): Invariant {
  const nodes = new Map(context.nodes.map((node) => [node.id, node]));
  const sent: SentMessage[] = [];
  return {
    name,
    observe(event: TraceEvent) {
      if (event.kind === 'command') {
        sent.push(...sentBy(event.command, nodes.get(event.node)));
        return undefined;
      }
      if (event.kind !== 'deliver') return undefined;
      const match = sent.some(
        (message) =>
          message.body === event.body &&
          (message.to === undefined || sameAddress(message.to, event.user)) &&
          (message.from === undefined || sameAddress(message.from, event.from)),
      );
      return match
        ? undefined
        : `${event.user} at ${event.node} received ${JSON.stringify(event.body)} from ${event.from}, which no user sent`;
    },
  };
}
