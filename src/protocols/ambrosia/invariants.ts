/**
 * Ambrosia invariants (src/protocols/ambrosia/spec.md). `ambrosia.authentic`: a client receives
 * only what a client sent, from the JID that client logged in as (the gateway stamps `from` from
 * the authenticated stream, so a client can never speak for another).
 */
import { authenticDelivery, type SentMessage } from '../../check/delivery.js';
import { field, text, type InvariantFactory, type InvariantNode } from '../../check/context.js';

function sentBy(command: unknown, node: InvariantNode | undefined): SentMessage[] {
  const body = text(field(command, 'body'));
  if (field(command, 'type') !== 'send' || body === undefined) return [];
  return [{ from: text(field(node?.config, 'jid')), to: text(field(command, 'to')), body }];
}

export const ambrosiaInvariants: Readonly<Record<string, InvariantFactory>> = {
  'ambrosia.authentic': (context) => authenticDelivery('ambrosia.authentic', sentBy, context),
};
