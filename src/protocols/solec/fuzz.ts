/**
 * SOLEC topologies: one or two servers, each knowing the other, with one to three client nodes
 * each (user `u<k>@s<i>.test`, its own host). Clients send to any user, on their server or
 * across (server-to-server relay, spec.md §5). A client logs in at start and again after a
 * restart; delivery is promised on a quiet network only.
 */
import fc from 'fast-check';
import type { FuzzProfile, FuzzUser, Topology } from '../../fuzz/profile.js';
import { hostNames, networkArbitrary } from '../../fuzz/profiles/network.js';
import { healedAfter, resetMs, retryDeadlineMs, touches, type FaultedSend } from '../../fuzz/faults.js';

/**
 * Reconnect and relay backoff in generated topologies: 200 ms doubling, 12 attempts (about 800 s
 * in all), so that retries outlast any generated fault plan (as test/protocols/solec/sim.test.ts);
 * `withGiveUp` gives s1.test's relays 1 or 2 in a fraction of the topologies.
 */
const retryMs = 200;
const attemptsMax = 12;
/** How long a client or relay waits for an answer (spec.md §2.3, the default). */
const responseTimeoutMs = 10_000;

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
          retryMs,
          attemptsMax,
        },
      };
      for (const name of names) {
        const id = `${name}-${server}`;
        nodes[id] = {
          config: { role: 'client', server, username: name, password: `pw-${name}`, retryMs, attemptsMax },
        };
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

/**
 * Under faults (spec.md §4.1, §5): a logged-in client that loses its connection reconnects and
 * resends its unanswered Message with its id; a relay retries within its attempts; the recipient's
 * server drops an id it already took. A push has no answer, so one written into a connection a
 * fault later resets is lost (§4.1): nothing is owed to a recipient whose client had a fault from
 * a reset before the send until the deadline, nor from a sender whose client crashed (its
 * unanswered Message is volatile), except a recipient whose client was down (and its server had
 * noticed) when the message came: the server holds it for the offline user and pushes it at the
 * next login. Owed by the next reconnect after the last heal, plus one
 * answer's wait and the quiet delay. `solec.exactlyOnce` checks the rest: what was answered is
 * taken exactly once.
 */
function underFaults(send: FaultedSend): number | undefined {
  const { atMs, from, to, spans, topology } = send;
  const healMs = healedAfter(spans, atMs);
  let byMs = retryDeadlineMs(atMs, healMs, retryMs, Number.MAX_SAFE_INTEGER) + responseTimeoutMs + 2_000;
  const reset = resetMs(topology);
  // A relay that gives up (spec.md §5.3) owes its queue a report, not a delivery: a Message across
  // a server-to-server hop that a partition or clog cut while it could be queued on a relay of a
  // small `attemptsMax` is owed nothing here; `solec.exactlyOnce` still wants it taken or reported
  // by the sender's server (`solec.unreachable`), and `solec.relay-attempts` wants the budget kept.
  if (givesUpAcross(send, atMs - reset, byMs)) return undefined;
  const senderLost = () => spans.some((span) => span.kind === 'crash' && touches(span, from.node, atMs, byMs));
  const onRecipient = () =>
    spans.filter(
      (span) => span.kind !== 'skew' && span.kind !== 'damage' && touches(span, to.node, atMs - reset, byMs),
    );
  if (senderLost()) return undefined;
  // A restarted client logs in once, and a login that fails is final (§4.1: it logs in again only
  // when told, at the heal): what it was given right after the restart is lost if a fault touched
  // its link while it connected and authenticated (fuzz seeds 1756, 2771 of a 5,000-run campaign).
  const loginMs = (topology.network.connectTimeoutMs ?? 1_000) + responseTimeoutMs;
  const loginHit = spans.some(
    (crash) =>
      crash.kind === 'crash' &&
      crash.hosts.includes(from.node) &&
      crash.endMs <= atMs &&
      atMs <= crash.endMs + loginMs &&
      spans.some(
        (span) =>
          span !== crash && span.kind !== 'skew' && touches(span, from.node, crash.endMs, crash.endMs + loginMs),
      ),
  );
  if (loginHit) return undefined;
  const hits = onRecipient();
  if (hits.length === 0) return byMs;
  // The recipient's client was down, and its server had seen its connection reset, before the
  // message could reach that server: it is held for the offline user and goes out when the
  // restarted client logs in (spec.md §4, the mailbox), on a connection no fault touches after.
  const [crash] = hits;
  if (hits.length !== 1 || crash === undefined || crash.kind !== 'crash' || crash.beginMs + reset + 500 > atMs)
    return undefined;
  byMs = Math.max(byMs, crash.endMs + responseTimeoutMs + 2_000);
  return onRecipient().length === 1 && !senderLost() ? byMs : undefined;
}

function attemptsOf(topology: Topology, node: string): number {
  return (topology.nodes[node]?.config as { attemptsMax?: number } | undefined)?.attemptsMax ?? attemptsMax;
}

/**
 * Whether `send` crosses from a server whose relays give up within the faults (`withGiveUp`) and
 * a partition or clog between the two servers overlaps [fromMs, toMs): its relay may have given up.
 */
function givesUpAcross(send: FaultedSend, fromMs: number, toMs: number): boolean {
  const source = serverOf(send.from);
  const target = serverOf(send.to);
  if (source === target || attemptsOf(send.topology, source) >= attemptsMax) return false;
  return send.spans.some(
    (span) =>
      (span.kind === 'partition' || span.kind === 'clog') &&
      span.hosts.includes(source) &&
      span.hosts.includes(target) &&
      span.endMs >= fromMs &&
      span.beginMs < toMs,
  );
}

const baseProfile: FuzzProfile = {
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
  // Structure-aware corruption edits these fields of its frames (wire.ts `wireFields`).
  wireFields: ['type', 'length', 'idLength', 'id', 'from', 'to', 'time', 'code'],
  promises: () => true,
  afterHeal: (topology, atMs) =>
    topology.users.map((user) => ({ atMs, do: 'command', node: user.node, command: { type: 'login' } })),
  delivery: {
    durable: false,
    settleMs: 6_000,
    // A client (or relay) that lost its link backs off, doubling, for as long as the faults last:
    // its next attempt after the heal is at most the time it spent failing plus one first delay.
    settleAfterMs: (run) =>
      retryDeadlineMs(run.beginMs, run.endMs, retryMs, Number.MAX_SAFE_INTEGER) - run.endMs + 2_000,
    withinMs: 2_000,
    underFaults,
    drainMs: 30_000,
  },
  startMs: 500,
  invariants: [
    'solec.authentic',
    'solec.exactlyOnce',
    'solec.one-in-flight',
    'solec.relay-attempts',
    'solec.mailbox-flushed',
  ],
  // A server takes a repeat once by `from` and `id` and the wire has no integrity check (spec.md
  // §4.1, §5.3): a Message whose `from` a damage rewrote is pushed, then its unchanged resend too
  // (fuzz seed 3679 of a 5,000-run soak); any other second copy fails.
  noDuplicate: 'solec.no-duplicate-delivery',
  sometimes: [
    { name: 'client reconnect', note: 'solec.reconnecting' },
    { name: 'relay retry', state: 'solec.relay backingOff' },
    { name: 'dedup hit', note: 'solec.duplicate' },
    { name: 'held for an offline user', note: 'solec.stored' },
  ],
};

// ---------------------------------------------------------------------------------------------------
// Profile variants (spec.md §5, §8): the impersonating server.

type SolecProfile = 'seed' | 'signed';

/** evil.test claims to be s1.test in ServerAuth; its user is the attacker. */
const evilNode = 'evil.test';
const evil: FuzzUser = { address: 'mallory@evil.test', node: evilNode };

function isServer(config: unknown): boolean {
  return (config as { role?: string }).role === 'server';
}

/** The topology under `profile`, with evil.test, a server that knows every server and presents itself as s1.test. */
function withImpersonator(base: Topology, profile: SolecProfile): Topology {
  const nodes: Topology['nodes'] = {};
  const servers: string[] = [];
  for (const [id, node] of Object.entries(base.nodes)) {
    const config = node.config as { role?: string };
    if (config.role === 'server') servers.push(id);
    nodes[id] = config.role === 'server' ? { ...node, config: { ...config, profile } } : node;
  }
  nodes[evilNode] = {
    config: {
      role: 'server',
      profile,
      claimName: 's1.test',
      knownServers: servers.map((name) => ({ name })),
      retryMs,
      attemptsMax: 1,
    },
  };
  return { ...base, nodes, users: [...base.users, evil] };
}

function variant(base: FuzzProfile, profile: SolecProfile): FuzzProfile {
  return {
    ...base,
    variant: profile,
    // Two servers always: evil.test claims s1.test to s2.test (a server never knows its own name).
    topology: base.topology
      .filter((topology) => Object.values(topology.nodes).filter((node) => isServer(node.config)).length === 2)
      .map((topology) => withImpersonator(topology, profile)),
    // evil.test submits a Message "from" s1's first user to the recipient's server, as s1.test.
    send: (topology, from, to, body, atMs) =>
      from.node === evilNode
        ? { atMs, do: 'command', node: evilNode, command: { type: 'submit', from: 'u1@s1.test', to: to.address, body } }
        : base.send(topology, from, to, body, atMs),
    links: (topology, from, to) =>
      from.node === evilNode || to.node === evilNode ? [] : base.links(topology, from, to),
    promises: (_topology, from, to) => from.node !== evilNode && to.node !== evilNode,
    afterHeal: (topology, atMs) =>
      (base.afterHeal?.(topology, atMs) ?? []).filter((step) => !('node' in step) || step.node !== evilNode),
    invariants: [...base.invariants, 'solec.server-auth-bound'],
  };
}

/**
 * In one default topology of three, x.test: a server no other server knows (it is in none of
 * their `knownServers`; it knows them), with one user. Its relays present ServerAuth under its own
 * name and are refused with Error 0x03, which is final (spec.md §5): nothing its user sends to
 * another server is ever delivered, and the honest servers must go on as before. Messages to or
 * from its user are owed to no one (`promises`). It is no fault host. The flaw campaigns keep the
 * plain topologies.
 */
const stranger = 'x.test';
const strangerUser: FuzzUser = { address: `u1@${stranger}`, node: `u1-${stranger}` };

function withStranger(base: Topology): Topology {
  const servers = Object.entries(base.nodes)
    .filter(([, node]) => isServer(node.config))
    .map(([id]) => id);
  const nodes: Topology['nodes'] = {
    ...base.nodes,
    [stranger]: {
      config: {
        role: 'server',
        accounts: { u1: 'pw-u1' },
        knownServers: servers.map((name) => ({ name })),
        retryMs,
        attemptsMax,
      },
    },
    [strangerUser.node]: {
      config: { role: 'client', server: stranger, username: 'u1', password: 'pw-u1', retryMs, attemptsMax },
    },
  };
  return { ...base, nodes, users: [...base.users, strangerUser] };
}

/**
 * In one default topology of two, the servers wait `relayAnswerMs` (2 s) for a relayed Message's
 * answer (`responseTimeoutMs`, spec.md §5.3) instead of the default 10 s, shorter than the network's
 * reset (3 s or 10 s). With the default, a partition that holds the relayed Message resets the
 * connection no later than the answer timeout fires (at 10 s both, and the reset goes first), so the
 * relay only ever retries after a reset; here the answer timeout notices first, and the relay must
 * send the Message again (§5.3) although its connection was never reset: the Message it wrote is
 * dropped with the connection when the reset comes. What is owed does not change: a shorter wait
 * only makes the relay retry sooner, and the recipient's server takes a repeat once.
 */
const relayAnswerMs = 2_000;

function withRelayAnswerMs(base: Topology): Topology {
  const nodes: Topology['nodes'] = {};
  for (const [id, node] of Object.entries(base.nodes))
    nodes[id] = isServer(node.config)
      ? { ...node, config: { ...(node.config as object), responseTimeoutMs: relayAnswerMs } }
      : node;
  return { ...base, nodes };
}

/**
 * Every server of `base` under the signed profile (spec.md §5.2): a relay link answers the
 * Challenge with a Proof before it is authenticated. The honest servers' promises are the same
 * under both profiles, so the default campaign draws both handshakes (half the topologies each).
 */
function signedServers(base: Topology): Topology {
  const nodes: Topology['nodes'] = {};
  for (const [id, node] of Object.entries(base.nodes))
    nodes[id] = isServer(node.config) ? { ...node, config: { ...(node.config as object), profile: 'signed' } } : node;
  return { ...base, nodes };
}

/**
 * In every topology with two servers, `nobody@s2.test`: an address on s2.test with no account.
 * s2.test answers a relayed Message for it with Error 0x02, and the relay reports it
 * (`solec.relay-refused`, spec.md §5.3): the client already had its Success, so a Message refused
 * so and not reported is lost silently (`solec.exactlyOnce`). Nothing is owed to it; drawn as a
 * sender it is s2.test itself, which refuses a client's command.
 */
const nobody: FuzzUser = { address: 'nobody@s2.test', node: 's2.test' };

function withNobody(base: Topology): Topology {
  return base.nodes[nobody.node] === undefined ? base : { ...base, users: [...base.users, nobody] };
}

/**
 * In one two-server topology of two, s1.test gives up soon: its relay links make 1 or 2 attempts in
 * a row (`attempts`) before they report their queue (`solec.unreachable`, spec.md §5.3) and end,
 * where the other servers' 12 outlast any fault plan. So a partition or a `loseMessage` cut of the
 * s1.test to s2.test hop outlasts them: with 1 a lost connection ends the link at once, with 2 a
 * link that authenticated after a failure starts counting anew. What it queued is then owed a
 * report to the sender's server, not a delivery (`underFaults`, `solec.exactlyOnce`), and the
 * give-up must come after exactly that many failed attempts (`solec.relay-attempts`). Its clients
 * keep their 12.
 */
function withGiveUp(base: Topology, attempts: number): Topology {
  const server = 's1.test';
  const node = base.nodes[server];
  if (node === undefined || base.nodes['s2.test'] === undefined) return base;
  const config = node.config as { knownServers: readonly { name: string }[] };
  return {
    ...base,
    nodes: {
      ...base.nodes,
      [server]: {
        ...node,
        config: { ...config, attemptsMax: attempts, knownServers: [...config.knownServers, { name: ghostServer }] },
      },
    },
    users: [...base.users, ghost],
  };
}

/**
 * With s1.test giving up (`withGiveUp`), `u1@s3.test`: a user of a server s1.test knows and that
 * never answers (no node, no DNS: every attempt fails at once), the fault that outlasts any budget.
 * s1.test answers its client's Message to it with Success and relays it; the link fails its
 * attempts, gives up and must report the Message (`solec.unreachable` naming its id, spec.md §5.3;
 * `solec.exactlyOnce` counts an unreported one as lost). Nothing is owed to it; drawn as a sender it
 * is s1.test itself, which refuses a client's command. s2.test does not know s3.test and refuses
 * its users' Messages to it with Error 0x02.
 */
const ghostServer = 's3.test';
const ghost: FuzzUser = { address: `u1@${ghostServer}`, node: 's1.test' };

export const solecProfile: FuzzProfile = {
  ...baseProfile,
  // One draw for x.test (one run in three) and the signed handshake (one in two), then the relay's
  // short answer wait (one in two), then s1.test giving up soon (one in two); each shrinks to without.
  topology: fc
    .tuple(
      topology,
      fc.constantFrom<readonly [boolean, boolean]>(
        [false, false],
        [false, true],
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ),
      fc.boolean(),
      fc.constantFrom<number | undefined>(undefined, undefined, 2, 1),
    )
    .map(([base, [strange, signed], quickAnswer, giveUp]) => {
      const drawn = withNobody(strange ? withStranger(base) : base);
      const handshake = signed ? signedServers(drawn) : drawn;
      const answered = quickAnswer ? withRelayAnswerMs(handshake) : handshake;
      return giveUp === undefined ? answered : withGiveUp(answered, giveUp);
    }),
  // A relayed Message held on the relay hop past the relay's answer timeout and the reset (none
  // within one server, nor for x.test, whose relays are refused).
  lostMessage: {
    hop: (_topology, from, to) =>
      serverOf(from) === serverOf(to) ||
      from.node === strangerUser.node ||
      to.node === strangerUser.node ||
      from.address === ghost.address ||
      to.address === ghost.address
        ? undefined
        : [serverOf(from), serverOf(to)],
    timeoutMs: (topology) =>
      Object.values(topology.nodes).some(
        (node) =>
          isServer(node.config) && (node.config as { responseTimeoutMs?: number }).responseTimeoutMs !== undefined,
      )
        ? relayAnswerMs
        : responseTimeoutMs,
  },
  promises: (_topology, from, to) =>
    from.node !== strangerUser.node &&
    to.node !== strangerUser.node &&
    from.address !== nobody.address &&
    to.address !== nobody.address &&
    from.address !== ghost.address &&
    to.address !== ghost.address,
  // No login for nobody@s2.test nor u1@s3.test: they have no client.
  afterHeal: (topology, atMs) =>
    (baseProfile.afterHeal?.(topology, atMs) ?? []).filter(
      (step) => !('node' in step) || (step.node !== nobody.node && step.node !== ghost.node),
    ),
  sometimes: [
    ...(baseProfile.sometimes ?? []),
    { name: 'signed ServerAuth', state: 'solec.session awaitingProof' },
    { name: 'relay gives up', state: 'solec.relay failed' },
  ],
  // None for x.test's user: its relays end at the refused ServerAuth, and no server relays to it.
  links: (topology, from, to) =>
    from.node === strangerUser.node ||
    to.node === strangerUser.node ||
    from.address === ghost.address ||
    to.address === ghost.address
      ? []
      : baseProfile.links(topology, from, to).filter(([a, b]) => a !== b),
  variants: { seed: variant(baseProfile, 'seed'), signed: variant(baseProfile, 'signed') },
};
