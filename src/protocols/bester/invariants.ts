/**
 * Bester invariants (src/protocols/bester/spec.md). `bester.authentic`: a client receives only
 * the data some client sent (the body is the message's `data` as JSON). Bester has no user-level
 * sender on delivery (the `from` is the server), and the handler picks the recipients, so only the
 * body is compared.
 */
import { authenticDelivery, type SentMessage } from '../../check/delivery.js';
import { field, type InvariantFactory } from '../../check/context.js';

function sentBy(command: unknown): SentMessage[] {
  if (field(command, 'type') !== 'send') return [];
  return [{ from: undefined, to: undefined, body: JSON.stringify(field(command, 'data')) }];
}

export const besterInvariants: Readonly<Record<string, InvariantFactory>> = {
  'bester.authentic': (context) => authenticDelivery('bester.authentic', sentBy, context),
};
