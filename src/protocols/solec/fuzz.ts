/**
 * SOLEC topologies: one or two servers, each knowing the other, with one to three client nodes
 * each (user `u<k>@s<i>.test`, its own host). Clients send to any user, on their server or
 * across (server-to-server relay, spec.md §5). A client logs in at start and again after a
 * restart; delivery is promised on a quiet network only.
 */
import fc from 'fast-check';
import type { FuzzProfile, FuzzUser, Topology } from '../../fuzz/profile.js';
import { hostNames, networkArbitrary } from '../../fuzz/profiles/network.js';

const topology: fc.Arbitrary<Topology> = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }), networkArbitrary)
  .map(([clientsPerServer, network]) => {
    const servers = hostNames('s', clientsPerServer.length);
    const nodes: Topology['nodes'] = {};
    const users: FuzzUser[] = [];
    servers.forEach((server, i) => {
      const names = Array.from({ length: clientsPerServer[i] ?? 1 }, (_, k) => `u${k + 1}`);
      nodes[server] = {
        config: {
          role: 'server',
          accounts: Object.fromEntries(names.map((name) => [name, `pw-${name}`])),
          knownServers: servers.filter((other) => other !== server).map((other) => ({ name: other })),
        },
      };
      for (const name of names) {
        const id = `${name}-${server}`;
        nodes[id] = { config: { role: 'client', server, username: name, password: `pw-${name}` } };
        users.push({ address: `${name}@${server}`, node: id });
      }
    });
    const clients = users.map((user) => user.node);
    return { nodes, dns: [], network, users, hosts: [...servers, ...clients], crashable: clients };
  });

/** The server a SOLEC user belongs to: the domain of `u<k>@s<i>.test`. */
function serverOf(user: FuzzUser): string {
  return user.address.slice(user.address.indexOf('@') + 1);
}

export const solecProfile: FuzzProfile = {
  protocol: 'solec',
  topology,
  send: (_topology, from, to, body, atMs) => ({
    atMs,
    do: 'command',
    node: from.node,
    command: { type: 'send', to: to.address, body },
  }),
  // The client's Message to its server and the Success back; across servers the relay and its
  // answer (spec.md §5); then the push to the recipient's client, which sends nothing back.
  links: (_topology, from, to) => {
    const source = serverOf(from);
    const target = serverOf(to);
    const links: [string, string][] = [
      [from.node, source],
      [source, from.node],
    ];
    if (source !== target) links.push([source, target], [target, source]);
    links.push([target, to.node]);
    return links;
  },
  promises: () => true,
  afterHeal: (topology, atMs) =>
    topology.users.map((user) => ({ atMs, do: 'command', node: user.node, command: { type: 'login' } })),
  delivery: { durable: false, settleMs: 6_000, withinMs: 2_000 },
  startMs: 500,
  invariants: ['solec.authentic'],
};
