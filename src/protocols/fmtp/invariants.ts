/**
 * FMTP invariants (src/protocols/fmtp/spec.md). `fmtp.authentic`: a user receives only what a
 * user sent, under the sender's own address (the relay checks the sender's domain key, so a
 * forged sender must never reach a mailbox).
 */
import { authenticDelivery, type SentMessage } from '../../check/delivery.js';
import { field, text, type InvariantFactory } from '../../check/context.js';

function sentBy(command: unknown): SentMessage[] {
  const body = text(field(command, 'body'));
  if (field(command, 'type') !== 'send' || body === undefined) return [];
  return [{ from: text(field(command, 'from')), to: text(field(command, 'to')), body }];
}

export const fmtpInvariants: Readonly<Record<string, InvariantFactory>> = {
  'fmtp.authentic': (context) => authenticDelivery('fmtp.authentic', sentBy, context),
};
