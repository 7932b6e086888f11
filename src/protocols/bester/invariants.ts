/**
 * Bester invariants (src/protocols/bester/spec.md). `bester.authentic`: a client receives only
 * the data some client sent (the body is the message's `data` as JSON, less the `via` list the
 * handlers' tags add, spec.md §8), and only from the server it is connected to (a delivery names
 * the server as its `from`; Bester has no user-level sender, and the handler picks the
 * recipients, so the body and that server are what is compared).
 */
import { authenticDelivery, type SentMessage } from '../../check/delivery.js';
import { field, text, type InvariantContext, type InvariantFactory } from '../../check/context.js';
import type { Invariant } from '../../check/invariants.js';

function sentBy(command: unknown): SentMessage[] {
  if (field(command, 'type') !== 'send') return [];
  return [{ from: undefined, to: undefined, body: JSON.stringify(field(command, 'data')) }];
}

/** The delivered body without the handlers' `via` tags: the data as its sender wrote it. */
function untagged(body: string): string {
  try {
    const value: unknown = JSON.parse(body);
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !('via' in value)) return body;
    const { via: _via, ...rest } = value as Record<string, unknown>;
    return JSON.stringify(rest);
  } catch {
    return body;
  }
}

export function besterAuthentic(context: InvariantContext): Invariant {
  const inner = authenticDelivery('bester.authentic', sentBy, context);
  const serverOf = new Map(
    context.nodes.flatMap((node) => {
      const host = text(field(field(node.config, 'server'), 'host'));
      return field(node.config, 'role') === 'client' && host !== undefined ? [[node.id, host] as const] : [];
    }),
  );
  return {
    ...inner,
    observe(event) {
      if (event.kind !== 'deliver') return inner.observe(event);
      const server = serverOf.get(event.node);
      if (server !== undefined && event.from !== server) {
        return `${event.user} at ${event.node} received ${JSON.stringify(event.body)} from ${event.from}, not from its server ${server}`;
      }
      return inner.observe({ ...event, body: untagged(event.body) });
    },
  };
}

/**
 * `bester.addressedOnly`: a client receives only data addressed to it, when the data names its
 * recipient in `to` (the fuzz topologies' handlers route by it: sendClients with usernamesField
 * `to`, spec.md §8). A server that writes to every client, or to the wrong one, breaks it.
 */
export function addressedOnly(): Invariant {
  return {
    name: 'bester.addressedOnly',
    kinds: ['deliver'],
    observe(event) {
      if (event.kind !== 'deliver') return undefined;
      let to: unknown;
      try {
        to = field(JSON.parse(event.body) as unknown, 'to');
      } catch {
        return undefined;
      }
      return typeof to === 'string' && to !== event.user
        ? `${event.user} at ${event.node} received data addressed to ${to}`
        : undefined;
    },
  };
}

export const besterInvariants: Readonly<Record<string, InvariantFactory>> = {
  'bester.authentic': besterAuthentic,
  'bester.addressedOnly': () => addressedOnly(),
};
