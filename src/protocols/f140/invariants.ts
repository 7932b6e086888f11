/**
 * F140 invariants (src/protocols/f140/spec.md §4, §5). `f140.friendsOnly`: a user receives
 * messages only from users its node lists as its friends (challenge-response admits friends
 * only). `f140.authentic`: every delivered message was sent by a user, as that user, to that
 * recipient (a group `broadcast` to each member of the sender's group, spec.md §1, and no one
 * else). `f140.inOrder` (§5): a user receives one node's messages in the order it queued them.
 * `f140.no-redirect-by-replay` (spec.md §8): an accepted PING re-points its sender only to the
 * sender's own node, so no one who replays a PING with its own `reply_to` receives a friend's
 * messages. It knows a user's node by the convention of fedsim's F140 scenarios and fuzz
 * topologies, a user `name@host` on the node at `host`; users whose domain names no node are not
 * judged. `f140.settled` (spec.md §3.3, §5): every message a node queued is settled at its sender by
 * the end of the run: accepted (a 200 whose `response` matches) or dropped with a reject that names
 * it; for runs that end with every fault healed and every node up (the fuzz plans).
 */
import { authenticDelivery, damageWriter, type SentMessage } from '../../check/delivery.js';
import {
  field,
  list,
  text,
  type InvariantContext,
  type InvariantFactory,
  type InvariantNode,
} from '../../check/context.js';
import type { TraceEvent } from '../../trace/events.js';

/**
 * A `send` is to its `to`; a `broadcast` to each member of the sender's group as the sender's node
 * lists it (spec.md §1: one message per member), and to no one else. A group the node does not
 * list sends nothing (the node refuses it locally).
 */
function sentBy(command: unknown, node: InvariantNode | undefined): SentMessage[] {
  const body = text(field(command, 'text'));
  const type = field(command, 'type');
  const from = text(field(command, 'from'));
  if (body === undefined) return [];
  if (type === 'send') return [{ from, to: text(field(command, 'to')), body }];
  if (type !== 'broadcast') return [];
  const group = text(field(command, 'group'));
  const sender = list(field(node?.config, 'users')).find((user) => {
    const name = text(field(user, 'name'));
    return name !== undefined && from !== undefined && name.toLowerCase() === from.toLowerCase();
  });
  const groups = field(sender, 'groups');
  if (group === undefined || groups === null || typeof groups !== 'object' || !Object.hasOwn(groups, group)) return [];
  return list(field(groups, group)).flatMap((member) => {
    const to = text(member);
    return to === undefined ? [] : [{ from, to, body }];
  });
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

/**
 * `f140.inOrder` (spec.md §5): a node keeps one queue per remote user and pushes it one MSG per
 * exchange, oldest first, removing a message only once it was accepted; so a user receives the
 * messages of one node in the order that node queued them, a group send's among them (one per
 * member, each in its member's queue). A node numbers what it queues (`msg_id` `<node>#<seq>`,
 * durable across restarts), so each delivery's sequence number must be above every earlier one
 * from that node to that user. An id a scenario's own corruption wrote (over a changed byte) is
 * passed over, as `f140.authentic` does.
 */
export const inOrder: InvariantFactory = () => {
  const damage = damageWriter();
  const last = new Map<string, { readonly seq: number; readonly id: string }>();
  return {
    name: 'f140.inOrder',
    kinds: ['send', 'receive', 'deliver'],
    observe(event) {
      if (event.kind === 'send' || event.kind === 'receive') {
        damage.observe(event);
        return undefined;
      }
      if (event.kind !== 'deliver' || event.id === undefined) return undefined;
      const match = /^(.+)#(\d{1,15})$/.exec(event.id);
      if (match === null || damage.written(event.id)) return undefined;
      const key = JSON.stringify([event.node, event.user.toLowerCase(), match[1]]);
      const seq = Number(match[2]);
      const before = last.get(key);
      // The same id again is a duplicate, `noDuplicateDelivery`'s to report.
      if (before !== undefined && seq === before.seq) return undefined;
      if (before === undefined || seq > before.seq) {
        last.set(key, { seq, id: event.id });
        return undefined;
      }
      return `${event.user} at ${event.node} received ${event.id} after ${before.id}: ${match[1]} queued it first`;
    },
  };
};

/**
 * Friends whose address a damage re-pointed (spec.md §4.2, §5), read from a trace in order: after a
 * corruption acted, a PING accepted from friend U with a `reply_to` that is not U's node
 * (`<domain of U>:8140` in the fuzz topologies) re-points U on that node, and everything the node
 * holds or queues for U waits until U calls again from its own address. Nothing protects `reply_to`
 * under the `seed` profile. The fuzz profile's `strandedByDamage` and the `f140.settled` invariant
 * both read it.
 */
export class Readdressed {
  private damaged = false;
  /** `node|friend` pairs whose node holds an address a damage wrote for the friend. */
  readonly wrong = new Set<string>();

  /** Reads one event; returns the `node|friend` pair a PING from the friend's own address set right again. */
  observe(event: TraceEvent): string | undefined {
    if (event.kind === 'fault') {
      if (
        event.phase === 'end' &&
        (event.fault === 'corrupt' || event.fault === 'truncate') &&
        event.detail['disarmed'] !== true
      )
        this.damaged = true;
      return undefined;
    }
    if (event.kind !== 'note' || event.what !== 'f140.ping.accepted') return undefined;
    const detail = event.detail as { from?: unknown; address?: { host?: unknown; port?: unknown } };
    if (typeof detail.from !== 'string') return undefined;
    const friend = detail.from.toLowerCase();
    const pair = `${event.node}|${friend}`;
    const host = detail.address?.host;
    const home = friend.slice(friend.lastIndexOf('@') + 1);
    const right = typeof host === 'string' && host.toLowerCase() === home && (detail.address?.port ?? 8140) === 8140;
    if (!right && this.damaged) this.wrong.add(pair);
    else if (right && this.wrong.delete(pair)) return pair;
    return undefined;
  }
}

/**
 * `f140.settled`: a queued message ends accepted or rejected at its sender, never retried for good
 * on a healed network. A receiver answers a MSG it already took as accepted (200 with the
 * response, spec.md §3.3), and a refusal is confirmed, then dropped (§5): an answer that reads as
 * neither (a duplicate answered without `response`, a 403 read as malformed) keeps the message
 * queued after every fault has healed. Expiry (24 h) and unfriending never come due in a run.
 * Except a message for a friend whose address a damaged PING re-pointed (its `reply_to` rewritten:
 * nothing protects it under `seed`, spec.md §5) and who never called again from its own address:
 * it is retried to the wrong address for good, as the fuzz profile's `strandedByDamage` says.
 */
export const settled: InvariantFactory = () => {
  /** Queued and not yet settled, by `<node> <id>`: the node, the recipient and what the note said. */
  const queued = new Map<string, { readonly node: string; readonly to: string; readonly what: string }>();
  const readdressed = new Readdressed();
  const key = (node: string, id: unknown) => (typeof id === 'string' ? `${node} ${id}` : undefined);
  return {
    name: 'f140.settled',
    kinds: ['note', 'reject', 'fault'],
    observe(event) {
      readdressed.observe(event);
      if (event.kind === 'reject') {
        const settledKey = key(event.node, field(event.detail, 'id'));
        if (settledKey !== undefined) queued.delete(settledKey);
        return undefined;
      }
      if (event.kind !== 'note') return undefined;
      const noted = key(event.node, field(event.detail, 'id'));
      if (noted === undefined) return undefined;
      if (event.what === 'f140.msg.queued') {
        const from = text(field(event.detail, 'from')) ?? '?';
        const to = text(field(event.detail, 'to')) ?? '?';
        queued.set(noted, { node: event.node, to: to.toLowerCase(), what: `from ${from} to ${to}` });
      } else if (event.what === 'f140.msg.accepted') queued.delete(noted);
      return undefined;
    },
    finish() {
      const left = [...queued].filter(([, entry]) => !readdressed.wrong.has(`${entry.node}|${entry.to}`));
      const [first] = left;
      if (first === undefined) return undefined;
      const [at, entry] = first;
      const more = left.length > 1 ? ` (and ${left.length - 1} more)` : '';
      return `message ${at.slice(at.indexOf(' ') + 1)} ${entry.what} is still queued at ${entry.node} at the end of the run, neither accepted nor rejected${more}`;
    },
  };
};

export const f140Invariants: Readonly<Record<string, InvariantFactory>> = {
  'f140.friendsOnly': friendsOnly,
  'f140.inOrder': inOrder,
  'f140.authentic': (context) => authenticDelivery('f140.authentic', sentBy, context),
  'f140.no-redirect-by-replay': noRedirectByReplay,
  'f140.settled': settled,
};
