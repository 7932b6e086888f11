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

export const fmtpProfile: FuzzProfile = {
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
