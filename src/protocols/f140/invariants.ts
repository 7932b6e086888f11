/**
 * F140 invariants (src/protocols/f140/spec.md §4, §5). `f140.friendsOnly`: a user receives
 * messages only from users its node lists as its friends (challenge-response admits friends
 * only). `f140.authentic`: every delivered message was sent by a user, as that user.
 * `f140.no-redirect-by-replay` (spec.md §8): an accepted PING re-points its sender only to the
 * sender's own node, so no one who replays a PING with its own `reply_to` receives a friend's
 * messages. It knows a user's node by the convention of fedsim's F140 scenarios and fuzz
 * topologies, a user `name@host` on the node at `host`; users whose domain names no node are not
 * judged.
 */
import { authenticDelivery, type SentMessage } from '../../check/delivery.js';
import { field, list, text, type InvariantContext, type InvariantFactory } from '../../check/context.js';

function sentBy(command: unknown): SentMessage[] {
  const body = text(field(command, 'text'));
  const type = field(command, 'type');
  if (body === undefined || (type !== 'send' && type !== 'broadcast')) return [];
  return [{ from: text(field(command, 'from')), to: type === 'send' ? text(field(command, 'to')) : undefined, body }];
}

/** Friends of each user, per node, lowercased (F140 names compare without case, spec.md §3). */
function friendsByNode(context: InvariantContext): Map<string, Map<string, Set<string>>> {
  const byNode = new Map<string, Map<string, Set<string>>>();
  for (const node of context.nodes) {
    if (node.protocol !== 'f140') continue;
    const users = new Map<string, Set<string>>();
    for (const user of list(field(node.config, 'users'))) {
      const name = text(field(user, 'name'));
      if (name === undefined) continue;
      const friends = list(field(user, 'friends'))
        .map((friend) => text(field(friend, 'user'))?.toLowerCase())
        .filter((friend): friend is string => friend !== undefined);
      users.set(name.toLowerCase(), new Set(friends));
    }
    byNode.set(node.id, users);
  }
  return byNode;
}

export const friendsOnly: InvariantFactory = (context) => {
  const friends = friendsByNode(context);
  return {
    name: 'f140.friendsOnly',
    kinds: ['deliver'],
    observe(event) {
      if (event.kind !== 'deliver') return undefined;
      const users = friends.get(event.node);
      if (users === undefined) return undefined;
      const ofUser = users.get(event.user.toLowerCase());
      if (ofUser?.has(event.from.toLowerCase())) return undefined;
      return `${event.user} at ${event.node} received a message from ${event.from}, who is not a friend`;
    },
  };
};

/** The hosts each user's own node answers at (its host and advertised host), by the user's domain. */
function homeHosts(context: InvariantContext): Map<string, Set<string>> {
  const byDomain = new Map<string, Set<string>>();
  for (const node of context.nodes) {
    if (node.protocol !== 'f140') continue;
    const hosts = new Set([node.host.toLowerCase()]);
    const advertised = text(field(node.config, 'advertiseHost'));
    if (advertised !== undefined) hosts.add(advertised.toLowerCase());
    byDomain.set(node.host.toLowerCase(), hosts);
  }
  return byDomain;
}

export const noRedirectByReplay: InvariantFactory = (context) => {
  const homes = homeHosts(context);
  return {
    name: 'f140.no-redirect-by-replay',
    kinds: ['note'],
    observe(event) {
      if (event.kind !== 'note' || event.what !== 'f140.ping.accepted') return undefined;
      const from = text(field(event.detail, 'from'));
      const host = text(field(field(event.detail, 'address'), 'host'));
      if (from === undefined || host === undefined) return undefined;
      const home = homes.get(from.slice(from.lastIndexOf('@') + 1).toLowerCase());
      if (home === undefined || home.has(host.toLowerCase())) return undefined;
      return `${event.node} re-pointed ${from} to ${host}, which is not ${from}'s node: a replayed PING redirected its messages`;
    },
  };
};

export const f140Invariants: Readonly<Record<string, InvariantFactory>> = {
  'f140.friendsOnly': friendsOnly,
  'f140.authentic': (context) => authenticDelivery('f140.authentic', sentBy, context),
  'f140.no-redirect-by-replay': noRedirectByReplay,
};
