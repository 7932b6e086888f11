/**
 * Bester topologies: one or two servers on their own hosts, each with handler processes on the
 * same host (local sockets): `M` delivers to local clients (sendClients by the `to` field), and
 * with two servers `X` / `Y` carry a message to the other server (sendServers), where the same
 * type delivers to its clients. Every handler transforms the data (its `tag` joins the data's
 * `via` list), so the data a client gets shows which replies the servers forwarded. One to three clients per server. Bester keeps nothing for a
 * client that is not connected, and reports a failed forward as a bad status: delivery is
 * promised on a quiet network only (spec.md §4).
 */
import fc from 'fast-check';
import type { FuzzProfile, FuzzUser, Topology } from '../../fuzz/profile.js';
import { hostNames, networkArbitrary } from '../../fuzz/profiles/network.js';

const crossType = ['X', 'Y'] as const;

const topology: fc.Arbitrary<Topology> = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }), networkArbitrary)
  .map(([clientsPerServer, network]) => {
    const servers = hostNames('s', clientsPerServer.length);
    const nodes: Topology['nodes'] = {};
    const users: FuzzUser[] = [];
    servers.forEach((server, i) => {
      const id = server.replace('.test', '');
      const handlers: Record<string, { path: string }> = { M: { path: '/m.sock' } };
      nodes[`${id}-m`] = {
        host: server,
        config: {
          role: 'handler',
          path: '/m.sock',
          rule: { command: 'sendClients', usernamesField: 'to', tag: `${id}-m` },
        },
      };
      if (servers.length === 2) {
        const other = servers[1 - i] ?? server;
        // Type X goes from s1 to s2 and Y from s2 to s1: the sender's handler forwards, the
        // receiver's handler of the same type delivers.
        const outbound = crossType[i] ?? 'X';
        const inbound = crossType[1 - i] ?? 'Y';
        handlers[outbound] = { path: '/out.sock' };
        handlers[inbound] = { path: '/in.sock' };
        nodes[`${id}-out`] = {
          host: server,
          config: {
            role: 'handler',
            path: '/out.sock',
            rule: { command: 'sendServers', servers: [`${other}:2223`], tag: `${id}-out` },
          },
        };
        nodes[`${id}-in`] = {
          host: server,
          config: {
            role: 'handler',
            path: '/in.sock',
            rule: { command: 'sendClients', usernamesField: 'to', tag: `${id}-in` },
          },
        };
      }
      nodes[id] = { host: server, config: { role: 'server', handlers } };
      for (let k = 1; k <= (clientsPerServer[i] ?? 1); k += 1) {
        const name = `${id}u${k}`;
        nodes[name] = {
          host: `${name}.test`,
          config: { role: 'client', server: { host: server }, username: name, password: 'pw' },
        };
        users.push({ address: name, node: name });
      }
    });
    const clients = users.map((user) => user.node);
    return {
      nodes,
      dns: [],
      network,
      users,
      // Faults cut servers apart, never a client from its server: a Bester client has no way to
      // reconnect (spec.md §9 has no login command), so a lost client session is lost for good
      // and no delivery could be promised after it. Clients crash and restart instead.
      hosts: servers.length > 1 ? servers : [...servers, ...clients.map((client) => `${client}.test`)].slice(0, 1),
      crashable: clients,
    };
  });

function serverOf(user: FuzzUser): string {
  return user.address.slice(0, user.address.indexOf('u'));
}

const baseProfile: FuzzProfile = {
  protocol: 'bester',
  topology,
  send: (_topology, from, to, body, atMs) => {
    const source = serverOf(from);
    const messageType = source === serverOf(to) ? 'M' : source === 's1' ? 'X' : 'Y';
    return {
      atMs,
      do: 'command',
      node: from.node,
      command: { type: 'send', messageType, id: body, data: { to: to.address, text: body } },
    };
  },
  // Client links are not fault hosts (see `hosts`), so only the forward between servers counts:
  // one frame from the sender's server to the recipient's, with no answer (spec.md §4).
  links: (_topology, from, to) =>
    serverOf(from) === serverOf(to) ? [] : [[`${serverOf(from)}.test`, `${serverOf(to)}.test`]],
  // Structure-aware corruption edits these fields of its frames (wire.ts `wireFields`).
  wireFields: ['length', 'type', 'id', 'messageType', 'username', 'to'],
  promises: () => true,
  // Each handler on the way adds its tag (spec.md §8): the local `M` handler, or the sender's
  // `out` handler and the recipient's `in` handler.
  deliveredBody: (to, body, from) => {
    const source = serverOf(from);
    const target = serverOf(to);
    const via = source === target ? [`${source}-m`] : [`${source}-out`, `${target}-in`];
    return JSON.stringify({ to: to.address, text: body, via });
  },
  delivery: { durable: false, settleMs: 6_000, withinMs: 2_000 },
  startMs: 500,
  invariants: ['bester.authentic', 'bester.addressedOnly'],
  // A forward that failed: its dispatch ends `failed` (a failed connect to the other server notes nothing).
  sometimes: [{ name: 'forward failed', state: 'bester.dispatch failed' }],
};

// ---------------------------------------------------------------------------------------------------
// Profile variants (spec.md §7, §11): the original's four bugs, each with its invariant.

type BesterProfile = 'fixed' | 'besterd-2020';

/** Server s1's extra handlers and the users that reach them (all on s1: every topology has it). */
const hangUser: FuzzUser = { address: 's1uh', node: 's1uh' };
const unknownUser: FuzzUser = { address: 's1uk', node: 's1uk' };
const informer: FuzzUser = { address: 's1ui', node: 's1ui' };
const attackers = new Set([hangUser.node, unknownUser.node, informer.node]);
/** Every server's handler timeout in the variants: a hang shows within a few seconds of a run. */
const variantHandlerTimeoutMs = 2_000;

/**
 * The topology under `profile`, with what each bug needs: on s1, a handler `H` that never answers
 * (bug 4) and a handler `K` that answers the unknown command `sendClient` naming no one (bug 2); a
 * client for each, whose every message is of that type; and an informer client on s1's host that
 * asks whether `nobody` is a client (bug 3). Bug 1 needs only the two-server topologies' forwards.
 */
function withBugs(base: Topology, profile: BesterProfile): Topology {
  const nodes: Topology['nodes'] = {};
  for (const [id, node] of Object.entries(base.nodes)) {
    const config = node.config as { role?: string; handlers?: Record<string, { path: string }> };
    nodes[id] =
      config.role === 'server'
        ? {
            ...node,
            config: {
              ...config,
              profile,
              handlerTimeoutMs: variantHandlerTimeoutMs,
              ...(id === 's1'
                ? { handlers: { ...config.handlers, H: { path: '/h.sock' }, K: { path: '/k.sock' } } }
                : {}),
            },
          }
        : node;
  }
  const host = 's1.test';
  nodes['s1-h'] = {
    host,
    config: {
      role: 'handler',
      path: '/h.sock',
      rule: { command: 'sendClients', usernames: [] },
      delayMs: 1_000_000_000,
    },
  };
  nodes['s1-k'] = {
    host,
    config: { role: 'handler', path: '/k.sock', rule: { command: 'other', type: 'sendClient', data: [] } },
  };
  for (const user of [hangUser, unknownUser]) {
    nodes[user.node] = {
      host: `${user.node}.test`,
      config: { role: 'client', server: { host }, username: user.address, password: 'pw' },
    };
  }
  nodes[informer.node] = { host, config: { role: 'informerClient' } };
  return { ...base, nodes, users: [...base.users, hangUser, unknownUser, informer] };
}

function variant(base: FuzzProfile, profile: BesterProfile): FuzzProfile {
  return {
    ...base,
    variant: profile,
    topology: base.topology.map((topology) => withBugs(topology, profile)),
    send: (topology, from, to, body, atMs) => {
      if (from.node === informer.node)
        return {
          atMs,
          do: 'command',
          node: from.node,
          command: { type: 'ask', request: { type: 'isClient', data: 'nobody' } },
        };
      if (from.node === hangUser.node || from.node === unknownUser.node) {
        const messageType = from.node === hangUser.node ? 'H' : 'K';
        return {
          atMs,
          do: 'command',
          node: from.node,
          command: { type: 'send', messageType, id: body, data: { text: body } },
        };
      }
      // Nothing is addressed to the informer, which is no client: a send to it goes to its server's
      // handler M all the same, addressed to a name no client uses.
      return base.send(
        topology,
        from,
        to.node === informer.node ? { address: 's1unobody', node: 's1' } : to,
        body,
        atMs,
      );
    },
    links: (topology, from, to) =>
      attackers.has(from.node) || attackers.has(to.node) ? [] : base.links(topology, from, to),
    promises: (_topology, from, to) => !attackers.has(from.node) && to.node !== informer.node,
    invariants: [
      ...base.invariants,
      'bester.forward-has-id',
      'bester.known-commands-only',
      'bester.informer-truthful',
      'bester.no-hang',
    ],
  };
}

// ---------------------------------------------------------------------------------------------------
// The default campaign's handler roles (spec.md §4): a chain, an error reply, a stall.

type Role = 'chain' | 'error' | 'stall';

/**
 * In one topology of four each (`withRole`), s1 gains a client whose every message is of a type of
 * its own, and the handlers for it:
 * - `chain`: `s1uc`'s type `C` goes to handler `s1-c`, which answers sendHandler `M` and tags the
 *   data; s1's `M` handler then delivers it. Owed to s1's users as any message, with both tags
 *   (the chain's reply reaches the client: `C`'s data, not the request's, goes to `M`).
 * - `error`: `s1ue`'s type `E` goes to handler `s1-e`, which answers status `2`: nothing is
 *   delivered and the client is told `bad`.
 * - `stall`: `s1us`'s type `S` goes to handler `s1-s`, which answers (a sendClients) only after
 *   `stallMs`, past s1's `handlerTimeoutMs`: the dispatch gives up at the timeout, nothing is
 *   delivered and the client is told `bad`.
 * `bester.status-reported` checks every status a client is told against what its handlers answer.
 */
const roleUsers: Readonly<Record<Role, FuzzUser>> = {
  chain: { address: 's1uc', node: 's1uc' },
  error: { address: 's1ue', node: 's1ue' },
  stall: { address: 's1us', node: 's1us' },
};
const roleTypes: Readonly<Record<Role, string>> = { chain: 'C', error: 'E', stall: 'S' };
/** s1's wait for a handler in the stall role, and how long that handler takes. */
const stallTimeoutMs = 2_000;
const stallMs = 3_000;

function roleOf(user: FuzzUser): Role | undefined {
  for (const role of ['chain', 'error', 'stall'] as const) if (roleUsers[role].node === user.node) return role;
  return undefined;
}

function withRole(base: Topology, role: Role | undefined): Topology {
  const server = base.nodes['s1'];
  if (role === undefined || server === undefined) return base;
  const config = server.config as { handlers: Record<string, { path: string }> };
  const type = roleTypes[role];
  const path = `/${type.toLowerCase()}.sock`;
  const rule =
    role === 'chain'
      ? { command: 'sendHandler', handler: 'M', tag: 's1-c' }
      : role === 'error'
        ? { command: 'error', status: '2' }
        : { command: 'sendClients', usernamesField: 'to', tag: 's1-s' };
  const user = roleUsers[role];
  return {
    ...base,
    nodes: {
      ...base.nodes,
      s1: {
        ...server,
        config: {
          ...config,
          handlers: { ...config.handlers, [type]: { path } },
          ...(role === 'stall' ? { handlerTimeoutMs: stallTimeoutMs } : {}),
        },
      },
      [`s1-${type.toLowerCase()}`]: {
        host: 's1.test',
        config: { role: 'handler', path, rule, ...(role === 'stall' ? { delayMs: stallMs } : {}) },
      },
      [user.node]: {
        host: `${user.node}.test`,
        config: { role: 'client', server: { host: 's1.test' }, username: user.address, password: 'pw' },
      },
    },
    users: [...base.users, user],
    crashable: [...base.crashable, user.node],
  };
}

export const besterProfile: FuzzProfile = {
  ...baseProfile,
  // One draw: no role (one topology in four), or the chain, the error or the stall on s1; shrinks to none.
  topology: fc
    .tuple(baseProfile.topology, fc.constantFrom<Role | undefined>(undefined, 'chain', 'error', 'stall'))
    .map(([base, role]) => withRole(base, role)),
  send: (topology, from, to, body, atMs) => {
    const role = roleOf(from);
    if (role === undefined) return baseProfile.send(topology, from, to, body, atMs);
    return {
      atMs,
      do: 'command',
      node: from.node,
      command: { type: 'send', messageType: roleTypes[role], id: body, data: { to: to.address, text: body } },
    };
  },
  // The chain delivers on s1 only (`M` is s1's), through both tags; the error and the stall deliver nothing.
  promises: (_topology, from, to) => {
    const role = roleOf(from);
    return role === undefined || (role === 'chain' && serverOf(to) === 's1');
  },
  links: (topology, from, to) => (roleOf(from) === undefined ? baseProfile.links(topology, from, to) : []),
  deliveredBody: (to, body, from) =>
    roleOf(from) === 'chain'
      ? JSON.stringify({ to: to.address, text: body, via: ['s1-c', 's1-m'] })
      : (baseProfile.deliveredBody?.(to, body, from) ?? body),
  invariants: [...baseProfile.invariants, 'bester.status-reported'],
  // The forward between servers (`loseMessage`, src/fuzz/commands/lose-message.ts): held past the
  // reset, or, in its burst form, cut while a client's burst is dispatched and the client crashes,
  // so that its server's session closes while a message is in flight (`client.busy>closed`). A
  // forward's wait is the connect timeout (sendServers writes on a new connection and reads
  // nothing back, spec.md §4). Nothing is owed around it: Bester promises the quiet network only.
  // The flaw campaigns (below) draw as before.
  lostMessage: {
    hop: (_topology, from, to) =>
      serverOf(from) === serverOf(to) ? undefined : [`${serverOf(from)}.test`, `${serverOf(to)}.test`],
    timeoutMs: (topology) => topology.network.connectTimeoutMs ?? 1_000,
  },
  variants: { 'besterd-2020': variant(baseProfile, 'besterd-2020'), fixed: variant(baseProfile, 'fixed') },
};
