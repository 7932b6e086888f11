/**
 * F140 topologies: two or three nodes with one or two users each, and a random friendship graph
 * across nodes (each friendship with its own challenge-response pairs, spec.md §4). Users send to
 * friends and to strangers alike: a stranger must never receive anything (`f140.friendsOnly`).
 * F140 queues durably and retries (spec.md §5), so every message a friend accepted is promised
 * once all faults heal. Half the topologies hold an admirer (one friendship listed on one side
 * only): its messages are refused, and must be dropped as refused, not retried for good
 * (`f140.settled`). Retry and request timeouts are short so that runs recover quickly.
 */
import fc from 'fast-check';
import type { FuzzProfile, FuzzUser, Topology } from '../../fuzz/profile.js';
import { hostNames, networkArbitrary } from '../../fuzz/profiles/network.js';
import type { Step } from '../../scenario/schema.js';
import type { TraceEvent } from '../../trace/events.js';
import { Readdressed } from './invariants.js';
import { encodeForm } from './wire.js';

interface Friendship {
  readonly a: FuzzUser;
  readonly b: FuzzUser;
  /** An admirer: `a` lists `b` as a friend, `b` does not list `a` (so `b` refuses `a`). */
  readonly oneWay?: true;
}

function friendsOf(topology: Topology, user: FuzzUser): Set<string> {
  const friends = new Set<string>();
  const config = topology.nodes[user.node]?.config as { users?: { name: string; friends: { user: string }[] }[] };
  for (const entry of config.users ?? []) {
    if (entry.name === user.address) for (const friend of entry.friends) friends.add(friend.user);
  }
  return friends;
}

/** The groups of `user` (name, member addresses), by name. */
function groupsOf(topology: Topology, user: FuzzUser): [string, string[]][] {
  const config = topology.nodes[user.node]?.config as { users?: { name: string; groups?: Record<string, string[]> }[] };
  const entry = (config.users ?? []).find((candidate) => candidate.name === user.address);
  return Object.entries(entry?.groups ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The topologies of the flaw campaigns (the variants), as they were before groups were drawn. */
const plainTopology: fc.Arbitrary<Topology> = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 2, maxLength: 3 }),
    fc.array(fc.boolean(), { minLength: 15, maxLength: 15 }),
    networkArbitrary,
  )
  .map(([usersPerNode, friendBits, network]) => {
    const hosts = hostNames('n', usersPerNode.length);
    const users: FuzzUser[] = hosts.flatMap((host, i) =>
      Array.from({ length: usersPerNode[i] ?? 1 }, (_, k) => ({ address: `u${k + 1}@${host}`, node: host })),
    );
    const friendships: Friendship[] = [];
    let bit = 0;
    for (let i = 0; i < users.length; i += 1) {
      for (let j = i + 1; j < users.length; j += 1) {
        const a = users[i];
        const b = users[j];
        if (a === undefined || b === undefined || a.node === b.node) continue;
        // The first cross-node pair is always friends, so every topology has someone to talk to.
        if (bit === 0 || friendBits[bit % friendBits.length] === true) friendships.push({ a, b });
        bit += 1;
      }
    }
    // An admirer in half the topologies (bit 14: at most 12 cross-node pairs use bits 0 to 11):
    // the first cross-node pair that is not friends, where a lists b but b does not list a. b
    // refuses a (403, spec.md §4.1), and a drops what it queued for b as refused once the refusal
    // is confirmed (§5): the refusal an honest peer gives, otherwise reached only through damage.
    if (friendBits[14] === true) {
      const admirer = users.flatMap((a, i) =>
        users
          .slice(i + 1)
          .filter(
            (b) => a.node !== b.node && !friendships.some((f) => (f.a === a && f.b === b) || (f.a === b && f.b === a)),
          )
          .map((b) => ({ a, b, oneWay: true as const })),
      )[0];
      if (admirer !== undefined) friendships.push(admirer);
    }
    const nodes: Topology['nodes'] = {};
    for (const host of hosts) {
      const local = users.filter((user) => user.node === host);
      nodes[host] = {
        config: {
          retryMsBase: 200,
          retryMsMax: 2_000,
          requestTimeoutMs: 2_000,
          users: local.map((user) => ({
            name: user.address,
            friends: friendships.flatMap(({ a, b, oneWay }) => {
              const other = a === user ? b : b === user && oneWay !== true ? a : undefined;
              if (other === undefined) return [];
              const [out, into] = a === user ? ['ab', 'ba'] : ['ba', 'ab'];
              const tag = `${a.address}-${b.address}`;
              return [
                {
                  user: other.address,
                  host: other.node,
                  outbound: { challenge: `c-${out}-${tag}`, response: `r-${out}-${tag}` },
                  inbound: { challenge: `c-${into}-${tag}`, response: `r-${into}-${tag}` },
                },
              ];
            }),
          })),
        },
      };
    }
    return { nodes, dns: [], network, users, hosts, crashable: hosts };
  });

/**
 * Groups (spec.md §1): in half of the default campaign's topologies, every user with a friend has
 * a group `g1` of some of its friends (drawn; the first friend when none is), so that a group send
 * both reaches friends and passes some by.
 */
const topology: fc.Arbitrary<Topology> = fc
  .tuple(plainTopology, fc.boolean(), fc.array(fc.boolean(), { minLength: 15, maxLength: 15 }))
  .map(([plain, withGroups, memberBits]) => {
    if (!withGroups) return plain;
    let bit = 0;
    const nodes: Topology['nodes'] = {};
    for (const [id, node] of Object.entries(plain.nodes)) {
      const config = node.config as { users: { name: string; friends: { user: string }[] }[] };
      const users = config.users.map((user) => {
        if (user.friends.length === 0) return user;
        const members = user.friends.map((friend) => friend.user).filter(() => memberBits[bit++ % 15] === true);
        return { ...user, groups: { g1: members.length > 0 ? members : [user.friends[0]?.user ?? ''] } };
      });
      nodes[id] = { ...node, config: { ...config, users } };
    }
    return { ...plain, nodes };
  });

// ---------------------------------------------------------------------------------------------------
// Profile variants (spec.md §8): the replay-and-redirect attacker.

/** The attacker's node and user; the node is no fault host, so faults never touch it. */
const attackerNode = 'm';
const attacker: FuzzUser = { address: 'mallory@m', node: attackerNode };

interface FriendEntry {
  readonly user: string;
  readonly inbound: { readonly challenge: string };
}
interface UserEntry {
  readonly name: string;
  readonly friends: readonly FriendEntry[];
}

function usersOf(topology: Topology, node: string): readonly UserEntry[] {
  return (topology.nodes[node]?.config as { users?: UserEntry[] } | undefined)?.users ?? [];
}

/**
 * The topology under `profile`, with mallory's node: it passes for every user, with the pairs it saw
 * in the clear (spec.md §8), announces nothing, and its user is the attacker.
 */
function withAttacker(base: Topology, profile: 'seed' | 'bound'): Topology {
  const nodes: Topology['nodes'] = {};
  for (const [id, node] of Object.entries(base.nodes)) {
    nodes[id] = { ...node, config: { ...(node.config as object), profile } };
  }
  nodes[attackerNode] = {
    config: {
      profile,
      announce: false,
      retryMsBase: 200,
      retryMsMax: 2_000,
      requestTimeoutMs: 2_000,
      users: Object.keys(base.nodes).flatMap((id) => usersOf(base, id)),
    },
  };
  return { ...base, nodes, users: [...base.users, attacker] };
}

/**
 * What mallory does when the plan has her "send" to `to`: she replays the PING she saw `to`'s first
 * friend send it (its static challenge), with her own `reply_to`. Under `seed` it is accepted and
 * re-points that friend to her node; under `bound` it has no nonce or proof and is refused.
 */
function replayStep(topology: Topology, to: FuzzUser, atMs: number): Step {
  const friend = usersOf(topology, to.node).find((user) => user.name === to.address)?.friends[0];
  const body = encodeForm([
    ['command', 'PING'],
    ['from_user', friend?.user ?? attacker.address],
    ['challenge', friend?.inbound.challenge ?? 'guess'],
    ['to_user', to.address],
    ['reply_to', `${attackerNode}:8140`],
  ]);
  const request = `POST /f140 HTTP/1.1\r\nHost: ${to.node}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`;
  return { atMs, do: 'command', node: attackerNode, command: { type: 'raw', host: to.node, request } };
}

function variant(base: FuzzProfile, profile: 'seed' | 'bound'): FuzzProfile {
  return {
    ...base,
    variant: profile,
    topology: plainTopology.map((topology) => withAttacker(topology, profile)),
    send: (topology, from, to, body, atMs) =>
      from.node === attackerNode ? replayStep(topology, to, atMs) : base.send(topology, from, to, body, atMs),
    links: (topology, from, to) =>
      from.node === attackerNode || to.node === attackerNode ? [] : base.links(topology, from, to),
    invariants: [...base.invariants, 'f140.no-redirect-by-replay'],
  };
}

/**
 * The send and broadcast commands whose messages a damaged PING may have stranded (spec.md §4.2,
 * §5; `Readdressed`): every command on a node naming a friend the damage re-pointed there, up to the
 * PING that restored the friend's address (or to the end), is not owed.
 */
export function strandedByDamage(events: readonly TraceEvent[]): Set<string> {
  const stranded = new Set<string>();
  /** Commands so far: node, key, and the friend a send names (a broadcast may reach any). */
  const commands: { readonly node: string; readonly key: string; readonly to: string | undefined }[] = [];
  const readdressed = new Readdressed();
  const strand = (pair: string) => {
    const [node, friend] = pair.split('|');
    for (const command of commands)
      if (command.node === node && (command.to === undefined || command.to === friend)) stranded.add(command.key);
  };
  for (const event of events) {
    if (event.kind === 'command') {
      const command = event.command as { readonly type?: string; readonly to?: string };
      if (command.type !== 'send' && command.type !== 'broadcast') continue;
      const to = command.type === 'send' ? (command.to ?? '').toLowerCase() : undefined;
      commands.push({ node: event.node, key: `${event.node} ${JSON.stringify(event.command)}`, to });
      continue;
    }
    const restored = readdressed.observe(event);
    if (restored !== undefined) strand(restored);
  }
  for (const pair of readdressed.wrong) strand(pair);
  return stranded;
}

const baseProfile: FuzzProfile = {
  protocol: 'f140',
  topology,
  send: (_topology, from, to, body, atMs) => ({
    atMs,
    do: 'command',
    node: from.node,
    command: { type: 'send', from: from.address, to: to.address, text: body },
  }),
  // A broadcast to the sender's group (spec.md §1): one message queued per member, each owed as a
  // send to that member (members are friends) and to no one else (`f140.authentic`).
  groupSend: (topology, from, group, body, atMs) => {
    const groups = groupsOf(topology, from);
    const chosen = groups[group % Math.max(1, groups.length)];
    if (chosen === undefined) return undefined;
    const [name, addresses] = chosen;
    const members = addresses.flatMap((address) => topology.users.filter((user) => user.address === address));
    return {
      step: {
        atMs,
        do: 'command',
        node: from.node,
        command: { type: 'broadcast', from: from.address, group: name, text: body },
      },
      members,
    };
  },
  // A message to a friend on another node is one exchange between the two nodes (both ways); a
  // stranger's message is refused at the sender, and a local one never leaves the node.
  links: (topology, from, to) =>
    from.node === to.node || !friendsOf(topology, from).has(to.address)
      ? []
      : [
          [from.node, to.node],
          [to.node, from.node],
        ],
  // Structure-aware corruption edits these fields of its frames (wire.ts `wireFields`).
  wireFields: ['status', 'Content-Length', 'command', 'msg_id', 'from_user', 'to_user', 'challenge', 'response'],
  // Friends both ways: an admirer's messages are refused by the one it admires (spec.md §4.1).
  promises: (topology, from, to) =>
    friendsOf(topology, from).has(to.address) && friendsOf(topology, to).has(from.address),
  // A send is a PING and then the MSG, each on a connection of its own (connect, request,
  // answer): the MSG connection's SYN-ACK leaves the recipient 5 one-way delays after the send,
  // the MSG's answer 7. The sender gives up on it after requestTimeoutMs (the topology's 2 s).
  lostAnswer: { quiet: [5, 7], timeoutMs: 2_000 },
  // Two damaged exchanges in a row read as a confirmed refusal (spec.md §5): not owed then.
  // A damaged PING's `reply_to` strands what is queued for its sender (spec.md §5): not owed then.
  delivery: { durable: true, settleMs: 6_000, withinMs: 3_000, refusalCodes: ['f140.refused'], strandedByDamage },
  startMs: 100,
  invariants: ['f140.friendsOnly', 'f140.authentic', 'f140.inOrder', 'f140.settled'],
  sometimes: [
    { name: 'retry backoff', state: 'f140.peer backingOff' },
    { name: 'dedup hit', note: 'f140.msg.duplicate' },
    { name: 'refusal asked again', note: 'f140.refusal.unconfirmed' },
  ],
};

export const f140Profile: FuzzProfile = {
  ...baseProfile,
  variants: { seed: variant(baseProfile, 'seed'), bound: variant(baseProfile, 'bound') },
};
