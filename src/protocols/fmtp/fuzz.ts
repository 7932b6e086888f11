/**
 * FMTP topologies: two or three domains, each served by its own node (MX to itself), with one or
 * two users each. Users send across domains (spec.md §10 `send`; a user's server relays to the
 * recipient's MX) and within their own (the home server delivers itself, spec.md §8). In two
 * topologies of five a further domain, hid.test, has no MX record: its users' objects are found
 * only through the route table (spec.md §5 step 4, §6), by a gateway that caches them, a proxy
 * that looks them up itself, or a chain of two proxies (§5.2 "looking"), and the object's ROUTE
 * takes the MESSAGE straight to hid.test (§8 "Recommended"). A relay retries in memory but FMTP
 * keeps no durable outbox (spec.md §8.1), so what is owed under faults is stated in `underFaults`.
 */
import fc from 'fast-check';
import type { FuzzProfile, FuzzUser, Topology } from '../../fuzz/profile.js';
import { hostNames, networkArbitrary } from '../../fuzz/profiles/network.js';
import { healedAfter, resetMs, retryDeadlineMs, touches, type FaultedSend } from '../../fuzz/faults.js';

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
 *
 * A DNS fault (the `dnsFault` command: the recipient's MX, or the key record of either domain,
 * answered SERVFAIL or NXDOMAIN, or not at all) fails a lookup or a greeting, and both are transient
 * failures the relay retries (§5.1: a query unanswered for `handshakeMs` counts as failed; §8.1):
 * the message is owed as after any other fault, by the first retry after the name is restored, plus
 * the DNS waits an attempt under way then may still spend. To hid.test, a greeting on the direct hop
 * that fails for a key record is that hop failing, and the relay's fallback on the domain's MX ends
 * it (§8): a DNS fault on either key record may lose the message.
 */
function underFaults(send: FaultedSend): number | undefined {
  const { atMs, from, to, spans, topology } = send;
  const healMs = healedAfter(spans, atMs);
  const route = to.node === hidden && from.node !== hidden ? routeOf(topology) : [];
  // One attempt: connect, greeting and answer, on each hop of a lookup through the route table too.
  const attemptMs = ((topology.network.connectTimeoutMs ?? 1_000) + handshakeMs + answerMs) * (1 + route.length);
  let byMs = retryDeadlineMs(atMs, healMs, retryMsBase, retryMsMax) + attemptMs + 3_000;
  const lost = spans.some((span) => span.kind === 'crash' && touches(span, from.node, atMs, byMs));
  if (lost) return undefined;
  const dns = spans.filter((span) => span.kind === 'dns' && span.endMs >= atMs && span.beginMs < byMs);
  // An attempt under way at the restore may still wait out an unanswered MX and key query (§5.1).
  if (dns.length > 0) byMs += 2 * handshakeMs;
  if (route.length === 0) return byMs;
  if (dns.some((span) => span.dns?.name.startsWith('fmtpkey.') === true)) return undefined;
  // To hid.test: a relay that found the object goes to its ROUTE, and when that connection fails
  // it falls back on the domain's MX, which hid.test has none of: an answer, so the relay gives up
  // (spec.md §8, §8.1). A fault on that hop (or hid.test down) may lose the message.
  const sinceMs = atMs - resetMs(topology);
  const direct = spans.some(
    (span) =>
      span.kind !== 'skew' &&
      span.endMs >= sinceMs &&
      span.beginMs < byMs &&
      (span.kind === 'crash'
        ? span.hosts.includes(hidden)
        : span.hosts.includes(from.node) && span.hosts.includes(hidden)),
  );
  if (direct) return undefined;
  // A fault on a gateway or proxy fails the lookup, retried like any (§8.1); a proxy that went
  // away after its LOOKING leaves the asker waiting `lookingMs` first (§5.2).
  if (spans.some((span) => span.kind !== 'skew' && route.some((node) => touches(span, node, sinceMs, byMs))))
    byMs += lookingMs;
  return byMs;
}

/** The domain reached through the route table only, and its node. */
const hidden = 'hid.test';
/** How long an asker waits for the answer a proxy promised with LOOKING (spec.md §5.2 default). */
const lookingMs = 30_000;

/** The gateways and proxies a lookup for a hid.test user goes through, in order (none without hid.test). */
function routeOf(topology: Topology): string[] {
  return ['gw.test', 'p1.test', 'p2.test'].filter((node) => topology.nodes[node] !== undefined);
}

type RouteKind = 'gateway' | 'proxy' | 'chain';

/**
 * `base` with hid.test: its users (ONLINE, with a TCP ROUTE to hid.test), no MX record, and every
 * other domain's route table sending `*@hid.test` to the first node of the route: gw.test, which has
 * the objects in its cache (`gateway`), or p1.test, a proxy that asks hid.test (`proxy`) or p2.test,
 * a proxy that asks hid.test (`chain`).
 */
function withHiddenDomain(base: Topology, kind: RouteKind, userCount: number): Topology {
  const objects = Array.from({ length: userCount }, (_, k) => ({
    address: `u${k + 1}@${hidden}`,
    status: 'ONLINE' as const,
    route: { host: hidden, port: 7465, transport: 'tcp' as const },
  }));
  const first = kind === 'gateway' ? 'gw.test' : 'p1.test';
  const nodes: Topology['nodes'] = {};
  for (const [id, node] of Object.entries(base.nodes)) {
    nodes[id] = {
      ...node,
      config: { ...(node.config as object), routes: [{ pattern: `*@${hidden}`, gateway: first }] },
    };
  }
  nodes[hidden] = { config: { users: objects } };
  if (kind === 'gateway') nodes['gw.test'] = { config: { cache: objects } };
  else {
    const next = kind === 'chain' ? 'p2.test' : hidden;
    nodes['p1.test'] = { config: { proxy: true, routes: [{ pattern: `*@${hidden}`, gateway: next }] } };
    if (kind === 'chain')
      nodes['p2.test'] = { config: { proxy: true, routes: [{ pattern: `*@${hidden}`, gateway: hidden }] } };
  }
  const route = routeOf({ ...base, nodes });
  const users = objects.map((object): FuzzUser => ({ address: object.address, node: hidden }));
  return {
    ...base,
    nodes,
    users: [...base.users, ...users],
    hosts: [...base.hosts, hidden, ...route],
    crashable: [...base.crashable, hidden, ...route],
  };
}

const domainsOnly: fc.Arbitrary<Topology> = fc
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

/**
 * A recipient no delivery is owed to, in two topologies of three (spec.md §5, §7): an address of
 * the first domain that has no account (`nobody@d1.test`: its MX answers NOT-FOUND and the relay
 * gives up, `recipient-unknown`), or a user whose policy is REJECT (`closed@d1.test`: found, and
 * its MESSAGE answered REJECTED). With hid.test, also an address hid.test no longer has
 * (`gone@hid.test`), which gw.test still holds in its cache (a stale entry: found, with its ROUTE,
 * and REJECTED by hid.test) and which the proxies look for in vain (LOOKING, then NOT-FOUND).
 * Sends to them are drawn like any; none is owed (`promises`). Only the default campaign has them.
 */
type Unowed = 'none' | 'unknown' | 'refusing';

const unowed = new Set(['nobody@d1.test', 'closed@d1.test', `gone@${hidden}`]);

/**
 * What the sender is told instead (spec.md §8, "an answer ends the relay at once, with a reject"):
 * `recipient-unknown` for the address d1.test has no account for (NOT-FOUND at the MX, or its own
 * server's refusal for a local send), `policy-reject` for the user whose policy is REJECT (its
 * MESSAGE answered REJECTED). `gone@hid.test` is left out: its answer depends on the route taken.
 */
const refusals: Readonly<Record<string, string>> = {
  'nobody@d1.test': 'fmtp.message.recipient-unknown',
  'closed@d1.test': 'fmtp.message.policy-reject',
};

function withUnowed(base: Topology, kind: Unowed): Topology {
  const nodes: Topology['nodes'] = { ...base.nodes };
  const users: FuzzUser[] = [...base.users];
  const first = nodes['d1.test'];
  if (kind === 'unknown') users.push({ address: 'nobody@d1.test', node: 'd1.test' });
  if (kind === 'refusing' && first !== undefined) {
    const config = first.config as { users: readonly object[] };
    nodes['d1.test'] = {
      ...first,
      config: { ...config, users: [...config.users, { address: 'closed@d1.test', policy: 'REJECT' }] },
    };
    users.push({ address: 'closed@d1.test', node: 'd1.test' });
  }
  const gateway = nodes['gw.test'];
  if (nodes[hidden] !== undefined) {
    if (gateway !== undefined) {
      const config = gateway.config as { cache: readonly object[] };
      const stale = {
        address: `gone@${hidden}`,
        status: 'ONLINE',
        route: { host: hidden, port: 7465, transport: 'tcp' },
      };
      nodes['gw.test'] = { ...gateway, config: { ...config, cache: [...config.cache, stale] } };
    }
    users.push({ address: `gone@${hidden}`, node: hidden });
  }
  return { ...base, nodes, users };
}

/** The default campaign: MX-only domains in three topologies of five, a domain behind the route table in two. */
const topology: fc.Arbitrary<Topology> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: domainsOnly },
      {
        weight: 2,
        arbitrary: fc
          .tuple(domainsOnly, fc.constantFrom<RouteKind>('gateway', 'proxy', 'chain'), fc.integer({ min: 1, max: 2 }))
          .map(([base, kind, users]) => withHiddenDomain(base, kind, users)),
      },
    ),
    fc.constantFrom<Unowed>('none', 'unknown', 'refusing'),
  )
  .map(([base, kind]) => withUnowed(base, kind));

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
  // To hid.test, the MESSAGE goes to the object's ROUTE, hid.test itself; the lookup through the
  // route table carries bytes only until the object is cached (spec.md §5.1), so a corruption armed
  // there would mostly never act: it is left to the partitions, clogs and crashes.
  // None to a recipient nothing is owed to: its lookup may end before any MESSAGE (NOT-FOUND).
  links: (_topology, from, to) =>
    from.node === to.node || unowed.has(to.address)
      ? []
      : [
          [from.node, to.node],
          [to.node, from.node],
        ],
  // Structure-aware corruption edits these fields of its frames (wire.ts `wireFields`).
  wireFields: ['TYPE', 'TRANSACTION', 'HOPS', 'ID', 'FROM', 'TO', 'OBJECT', 'CODE', 'NONCE', 'HASH'],
  promises: (_topology, _from, to) => !unowed.has(to.address),
  refusal: (_topology, _from, to) => refusals[to.address],
  delivery: {
    durable: false,
    settleMs: 6_000,
    withinMs: 3_000,
    underFaults,
    // With hid.test, a crash is in force until its peers notice (the reset): a pooled connection to
    // a crashed and restarted hid.test goes unanswered until then, the relay's direct hop fails, and
    // its fallback on the domain's MX, which hid.test has none of, ends it (§8; fuzz seed 1443 of a
    // 5,000-run soak: hid.test down for 1 ms, m2 sent 6 s later on the old connection). Messages
    // sent then are judged by `underFaults`, which owes them but to hid.test after its crash.
    crashNoticedMs: (topology) => (topology.nodes[hidden] === undefined ? undefined : resetMs(topology)),
    drainMs: 5_000,
  },
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
  // The flaw campaigns owe no refusals: their expectations, and so their flaws' seeds, stay as they were.
  const { refusal: _refusal, ...rest } = base;
  return {
    ...rest,
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

/**
 * The names a message across domains is resolved through: the recipient's MX (a lookup's step 3,
 * spec.md §5.1), the key record of the recipient's domain (fetched by the lookup, checked in the
 * greeting) and of the sender's (checked by the recipient's server in the greeting, §4). None
 * within a domain (the home server delivers itself, §8), and no MX for hid.test, which has none.
 */
function dnsNames(topology: Topology, from: FuzzUser, to: FuzzUser): readonly string[] {
  if (from.node === to.node) return [];
  const domain = to.address.slice(to.address.indexOf('@') + 1);
  const hasMx = topology.dns.some((record) => record.type === 'MX' && record.name === domain);
  return [...(hasMx ? [domain] : []), `fmtpkey.${domain}`, `fmtpkey.${from.node}`];
}

export const fmtpProfile: FuzzProfile = {
  ...baseProfile,
  // The default campaign draws DNS faults; the flaw campaigns (below) draw as before.
  dnsNames,
  // The flaw campaigns keep the MX-only domains: their proxies p1.test and p2.test are the loop.
  variants: {
    seed: variant({ ...baseProfile, topology: domainsOnly }, 'seed'),
    fixed: variant({ ...baseProfile, topology: domainsOnly }, 'fixed'),
  },
};
