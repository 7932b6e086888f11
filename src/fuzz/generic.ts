/**
 * The generic fuzz profile, derived from a protocol plugin that gives none of its own
 * (src/protocols/plugin.ts, `GenericFuzzOptions`): two to `nodesMax` nodes, one per host, each
 * with the config `options.config` gives (by default its schema's defaults), one user per node
 * named after its host, and sends as `{ type: 'send', to: <host>, body }` commands (or what
 * `options.send` builds). Every fault may hit every host and node.
 *
 * Nothing is promised about delivery unless `options.delivery` says so: the runs then check that
 * no node throws, that nothing is delivered twice, and the plugin's own invariants.
 */
import fc from 'fast-check';
import type { AnyPlugin, GenericFuzzOptions } from '../protocols/plugin.js';
import type { FuzzProfile, FuzzUser, Topology } from './profile.js';
import { hostNames, networkArbitrary } from './profiles/network.js';

const nodesMaxDefault = 3;

export function genericProfile(plugin: AnyPlugin, options: GenericFuzzOptions = {}): FuzzProfile {
  const name = plugin.protocol.name;
  const nodesMax = Math.max(2, options.nodesMax ?? nodesMaxDefault);
  const topology: fc.Arbitrary<Topology> = fc
    .tuple(fc.integer({ min: 2, max: nodesMax }), networkArbitrary)
    .map(([count, network]) => {
      const hosts = hostNames(`${name}-`, count);
      const nodes: Topology['nodes'] = {};
      const users: FuzzUser[] = [];
      hosts.forEach((host, index) => {
        const config = options.config?.(index, hosts);
        nodes[host] = config === undefined ? {} : { config };
        users.push({ address: host, node: host });
      });
      return { nodes, dns: [], network, users, hosts, crashable: hosts };
    });
  const delivery = options.delivery;
  return {
    protocol: name,
    topology,
    send: (_topology, from, to, body, atMs) => ({
      atMs,
      do: 'command',
      node: from.node,
      command: options.send?.(from.node, to.node, body) ?? { type: 'send', to: to.node, body },
    }),
    links: (_topology, from, to) =>
      from.node === to.node
        ? []
        : [
            [from.node, to.node],
            [to.node, from.node],
          ],
    promises: (_topology, from, to) => delivery !== undefined && from.node !== to.node,
    delivery: delivery ?? { durable: false, settleMs: 2_000, withinMs: 2_000 },
    startMs: options.startMs ?? 0,
    invariants: ['nodeNeverThrows', ...Object.keys(plugin.invariants ?? {})],
  };
}
