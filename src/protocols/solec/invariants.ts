/**
 * SOLEC invariants (src/protocols/solec/spec.md). `solec.authentic`: a user receives only what a
 * user sent, under the sender's own address `username@server`. Under the `seed` profile a server
 * that lies in ServerAuth can break it (the seed's flaw, shown by scenarios/solec/impersonation-seed);
 * a `submit` names its sender itself, so it counts as sent by that sender.
 */
import { authenticDelivery, type SentMessage } from '../../check/delivery.js';
import { field, text, type InvariantFactory, type InvariantNode } from '../../check/context.js';

function sentBy(command: unknown, node: InvariantNode | undefined): SentMessage[] {
  const body = text(field(command, 'body'));
  const type = field(command, 'type');
  if (body === undefined) return [];
  const to = text(field(command, 'to'));
  if (type === 'submit') return [{ from: text(field(command, 'from')), to, body }];
  if (type !== 'send') return [];
  const username = text(field(node?.config, 'username'));
  const server = text(field(node?.config, 'server'));
  const from = username !== undefined && server !== undefined ? `${username}@${server}` : undefined;
  return [{ from, to, body }];
}

export const solecInvariants: Readonly<Record<string, InvariantFactory>> = {
  'solec.authentic': (context) => authenticDelivery('solec.authentic', sentBy, context),
};
