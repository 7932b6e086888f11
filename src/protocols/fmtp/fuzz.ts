/**
 * FMTP topologies: two or three domains, each served by its own node (MX to itself), with one or
 * two users each. Users send across domains (spec.md §10 `send`; a user's server relays to the
 * recipient's MX) and within their own (the home server delivers itself, spec.md §8). A relay
 * retries in memory but FMTP keeps no durable outbox (spec.md §8.1), so delivery is promised for
 * messages sent on a quiet network only.
 */
import fc from 'fast-check';
import type { FuzzProfile, FuzzUser, Topology } from '../../fuzz/profile.js';
import { hostNames, networkArbitrary } from '../../fuzz/profiles/network.js';
import { healedAfter, retryDeadlineMs, touches, type FaultedSend } from '../../fuzz/faults.js';

/** The relay's backoff and the per-attempt limits (spec.md §2, §8.1 defaults; connect timeout from the network). */
const retryMsBase = 1_000;
const retryMsMax = 30_000;
const handshakeMs = 1_000;
const answerMs = 1_000;

/**
 * Under faults (spec.md §8.1): a relay retries every transient failure (a partition, a clog, the
 * recipient's server down, a connection reset) with backoff until `relayMsMax` (5 min, longer than
 * any generated plan), and the recipient's server accepts a repeated MESSAGE once (its accepted
 * set is durable). So a message is owed after any fault but a crash of the sender's own server
 * before it is accepted there (FMTP keeps no durable outbox, §8.1): by the relay's next try after
 * the last heal, plus one attempt (connect, greeting, answer) and the quiet-network delay.
 */
function underFaults(send: FaultedSend): number | undefined {
  const { atMs, from, spans, topology } = send;
  const healMs = healedAfter(spans, atMs);
  const attemptMs = (topology.network.connectTimeoutMs ?? 1_000) + handshakeMs + answerMs;
  const byMs = retryDeadlineMs(atMs, healMs, retryMsBase, retryMsMax) + attemptMs + 3_000;
  const lost = spans.some((span) => span.kind === 'crash' && touches(span, from.node, atMs, byMs));
  return lost ? undefined : byMs;
}

const topology: fc.Arbitrary<Topology> = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 2, maxLength: 3 }), networkArbitrary)
  .map(([usersPerDomain, network]) => {
    const domains = hostNames('d', usersPerDomain.length);
    const users: FuzzUser[] = [];
    const nodes: Topology['nodes'] = {};
    domains.forEach((domain, i) => {
      const addresses = Array.from({ length: usersPerDomain[i] ?? 1 }, (_, k) => `u${k + 1}@${domain}`);
      nodes[domain] = { config: { users: addresses.map((address) => ({ address })) } };
      users.push(...addresses.map((address) => ({ address, node: domain })));
    });
    return {
      nodes,
      dns: domains.map((domain) => ({ name: domain, type: 'MX' as const, value: `10 ${domain}` })),
      network,
      users,
      hosts: domains,
      crashable: domains,
    };
  });

const baseProfile: FuzzProfile = {
  protocol: 'fmtp',
  topology,
  send: (_topology, from, to, body, atMs) => ({
    atMs,
    do: 'command',
    node: from.node,
    command: { type: 'send', from: from.address, to: to.address, body },
  }),
  // Across domains, the sender's server relays to the recipient's on one connection (handshake,
  // MESSAGE and answer: both ways); within a domain the home server delivers itself (spec.md §8).
  links: (_topology, from, to) =>
    from.node === to.node
      ? []
      : [
          [from.node, to.node],
          [to.node, from.node],
        ],
  // Structure-aware corruption edits these fields of its frames (wire.ts `wireFields`).
  wireFields: ['TYPE', 'TRANSACTION', 'HOPS', 'ID', 'FROM', 'TO', 'OBJECT', 'CODE', 'NONCE', 'HASH'],
  promises: () => true,
  delivery: { durable: false, settleMs: 6_000, withinMs: 3_000, underFaults, drainMs: 5_000 },
  startMs: 100,
  invariants: ['fmtp.authentic'],
  sometimes: [
    { name: 'relay retry', note: 'fmtp.relay.retry' },
    { name: 'dedup hit', note: 'fmtp.message.duplicate' },
  ],
};

// ---------------------------------------------------------------------------------------------------
// Profile variants (spec.md §5.3, §11): two proxies that route to each other.

type FmtpProfile = 'seed' | 'fixed';

/** poe.test's user looks up an object no one has, through its gateway p1.test. */
const poe: FuzzUser = { address: 'poe@poe.test', node: 'poe.test' };
const loopNodes = new Set([poe.node, 'p1.test', 'p2.test']);

/**
 * The topology under `profile`, with two proxies, p1.test routing every address to p2.test and
 * p2.test back to p1.test, and poe.test, whose gateway is p1.test (as flaw-proxy-loop-seed.yaml).
 */
function withProxyLoop(base: Topology, profile: FmtpProfile): Topology {
  const nodes: Topology['nodes'] = {};
  for (const [id, node] of Object.entries(base.nodes))
    nodes[id] = { ...node, config: { ...(node.config as object), profile } };
  nodes['p1.test'] = { config: { profile, proxy: true, routes: [{ pattern: '*@*', gateway: 'p2.test' }] } };
  nodes['p2.test'] = { config: { profile, proxy: true, routes: [{ pattern: '*@*', gateway: 'p1.test' }] } };
  nodes[poe.node] = {
    config: { profile, users: [{ address: poe.address }], routes: [{ pattern: '*@*', gateway: 'p1.test' }] },
  };
  return { ...base, nodes, users: [...base.users, poe] };
}

function variant(base: FuzzProfile, profile: FmtpProfile): FuzzProfile {
  return {
    ...base,
    variant: profile,
    topology: base.topology.map((topology) => withProxyLoop(topology, profile)),
    send: (topology, from, to, body, atMs) =>
      from.node === poe.node
        ? { atMs, do: 'command', node: poe.node, command: { type: 'lookup', object: `${body}@nowhere.test` } }
        : base.send(topology, from, to, body, atMs),
    links: (topology, from, to) =>
      loopNodes.has(from.node) || loopNodes.has(to.node) ? [] : base.links(topology, from, to),
    promises: (_topology, from, to) => from.node !== poe.node && to.node !== poe.node,
    invariants: [...base.invariants, 'fmtp.proxy-bounded'],
  };
}

export const fmtpProfile: FuzzProfile = {
  ...baseProfile,
  variants: { seed: variant(baseProfile, 'seed'), fixed: variant(baseProfile, 'fixed') },
};
