/**
 * Ambrosia topologies, two shapes (`topology`):
 * - one gateway for domain a.test with two or three client accounts, and one or two services
 *   registered for (a.test, client) and (a.test, server), taking turns (round robin, spec.md §3);
 * - a federation: two or three gateways, gw-a.test for a.test, gw-b.test for b.test (and gw-c.test
 *   for c.test), each with one or two users and none or one service of its own domain, found
 *   through MX records. Users write across domains, so stanzas cross real s2s streams with Server
 *   Dialback (spec.md §3 "s2s"), and faults cut, clog and crash gateways too.
 * Clients send to each other through the gateways and services. Delivery is promised on a quiet
 * network, and through the faults stream management and failover carry a message over
 * (`underFaults`); s2s has no acks, so a fault on a message's s2s hop voids its promise (spec.md §3).
 */
import fc from 'fast-check';
import type { FuzzProfile, FuzzUser, Topology } from '../../fuzz/profile.js';
import { networkArbitrary } from '../../fuzz/profiles/network.js';
import { healedAfter, resetMs, retryDeadlineMs, touches, type FaultedSend, type FaultSpan } from '../../fuzz/faults.js';
import type { TraceEvent } from '../../trace/events.js';

/** Client defaults (spec.md §6, the config table): reconnect backoff, answer wait, ack timeout. */
const clientRetryMs = 100;
const clientRetryMsMax = 30_000;
const responseTimeoutMs = 3_000;
const ackTimeoutMs = 1_000;
/** How long the gateway's component channel retransmits before it gives up (spec.md §4: 6 s by default). */
const channelGiveUpMs = 6 * ackTimeoutMs;
/** How long the gateway keeps a detached session for its client to resume (spec.md §3). */
const c2sResumeMs = 60_000;
/** A service's reconnect backoff (spec.md §7 config: `retryMs`, doubling up to `retryMsMax`). */
const serviceRetryMs = 500;

/**
 * Under faults (spec.md §3, §4.8): a client stream that breaks or stalls is resumed, and the
 * gateway resends what the client did not ack, in order, once; a client reconnects with backoff.
 * So a message survives faults on the clients' own links (partitions, clogs, a reset) shorter
 * than `c2sResumeMs`. It is not owed when the sender or recipient client crashed (the session is
 * volatile on the client: a restarted client binds afresh and the gateway's unacked stanzas are
 * reported undelivered). A fault on a service (a crash, a cut or clogged component stream) is
 * survived when another service of the same registrations had none meanwhile: the gateway fails
 * what the faulted one had not acked over to it once its stream resets or its channel gives up
 * after `retransmitsMax` tries (spec.md §4, failover), so the message is owed that much later;
 * with every service faulted it is not owed (what a service had sent and not got acked is lost
 * with its link). Owed by the client's next reconnect after the last heal, plus a login's answer,
 * an ack timeout and the quiet delay.
 */
function underFaults(send: FaultedSend): number | undefined {
  const { atMs, from, to, spans, topology } = send;
  const healMs = healedAfter(spans, atMs);
  let byMs = retryDeadlineMs(atMs, healMs, clientRetryMs, clientRetryMsMax) + responseTimeoutMs + ackTimeoutMs + 2_000;
  const sinceMs = atMs - resetMs(topology);
  // The services on the message's way: those of the sender's domain (client traffic) and, across
  // domains, those of the recipient's (server traffic, spec.md §3 routing).
  const services = [...new Set([...servicesOf(topology, from), ...servicesOf(topology, to)])];
  const gateways = [...new Set([gatewayOf(topology, from), gatewayOf(topology, to)])];
  const faulted = new Set<string>();
  let failoverMs = 0;
  for (const span of spans) {
    if (span.kind === 'crash' && [from.node, to.node].some((node) => crashTouches(spans, span, node, sinceMs, byMs)))
      return undefined;
    if (span.kind === 'skew' || span.endMs < sinceMs || span.beginMs >= byMs) continue;
    // A gateway on the way crashed: its sessions, queues and s2s streams are volatile (spec.md §3).
    if (span.kind === 'crash' && gateways.some((gateway) => span.hosts.includes(gateway))) return undefined;
    // The s2s hop: no acks and no resumption, so nothing is promised about a stanza on an s2s
    // stream that a fault cuts or holds (spec.md §3, XEP-0198 is c2s only here).
    if (gateways.length > 1 && gateways.every((gateway) => span.hosts.includes(gateway))) return undefined;
    const hit = services.filter((service) => span.hosts.includes(service));
    if (hit.length > 0) {
      for (const service of hit) faulted.add(service);
      failoverMs = Math.max(failoverMs, span.endMs + resetMs(topology) + channelGiveUpMs);
      continue;
    }
    if (span.endMs - span.beginMs >= c2sResumeMs - responseTimeoutMs) return undefined;
  }
  if (faulted.size === 0) return byMs;
  // Failover is among the services of one domain: each domain on the way needs one unfaulted.
  const domains = [from, to].map((user) => servicesOf(topology, user));
  if (domains.some((own) => own.length > 0 && own.every((service) => faulted.has(service)))) return undefined;
  // The failover, then the healthy service's answer and the recipient's stream; the healthy ones
  // must stay so until then.
  byMs = Math.max(byMs, failoverMs + ackTimeoutMs + 2_000);
  const healthy = services.filter((service) => !faulted.has(service));
  const hit = spans.some(
    (span) => span.kind !== 'skew' && healthy.some((service) => touches(span, service, sinceMs, byMs)),
  );
  return hit ? undefined : byMs;
}

/**
 * Whether a crash of `node` bears on [fromMs, toMs): a restarted client binds afresh only once it
 * logs in again, so the crash lasts, for the gateway's old session (which queues what is sent to
 * the user meanwhile and reports it undelivered at the new bind), until that login: the end of the
 * faults on that client that follow it before it could log in, then, when there were any, its
 * backoff after them (doubling from the restart, `retryDeadlineMs`) and a login's answer (fuzz
 * seed 714 of a 5,000-run soak: a partition from the restart, a send 3 s after its heal, the
 * client's next attempt 7.4 s after it).
 */
function crashTouches(
  spans: readonly FaultSpan[],
  crash: FaultSpan,
  node: string,
  fromMs: number,
  toMs: number,
): boolean {
  if (!crash.hosts.includes(node)) return false;
  const loginMs = (endMs: number) =>
    endMs === crash.endMs
      ? endMs
      : retryDeadlineMs(crash.endMs, endMs, clientRetryMs, clientRetryMsMax) + responseTimeoutMs;
  let endMs = crash.endMs;
  for (const span of [...spans].sort((a, b) => a.beginMs - b.beginMs)) {
    const quietMs = Math.max(endMs + 6_000, loginMs(endMs));
    if (span.kind !== 'skew' && span.hosts.includes(node) && span.beginMs <= quietMs && span.endMs > endMs)
      endMs = span.endMs;
  }
  return loginMs(endMs) >= fromMs && crash.beginMs < toMs;
}

/**
 * The send commands whose messages a damaged login stranded (spec.md §3 "Under faults"): a byte
 * changed in a reconnecting client's stream header (its `to`, say) draws a stream error such as
 * <host-unknown/>, and the client takes a failed login as final (`ambrosia.login.failed`, its
 * state `failed`) until its node restarts. After a corruption or truncation acted, such a failure
 * strands what the client had queued (its sends since its node started) and what is sent to its
 * user until its node starts again (fuzz seed 1203 of a 5,000-run soak). Its user is read from the
 * reject's reason (`login of <jid> failed: ...`, machines/client.ts).
 */
export function strandedByDamage(events: readonly TraceEvent[]): Set<string> {
  const stranded = new Set<string>();
  let damaged = false;
  const commands: { readonly atMs: number; readonly node: string; readonly key: string; readonly to: string }[] = [];
  /** Per node: when it last started, and the user of its failed login with when that failed. */
  const started = new Map<string, number>();
  const failed: { readonly node: string; readonly jid: string; readonly sinceMs: number; untilMs: number }[] = [];
  for (const event of events) {
    if (event.kind === 'fault' && event.phase === 'end' && (event.fault === 'corrupt' || event.fault === 'truncate')) {
      if (event.detail['disarmed'] !== true) damaged = true;
    } else if (event.kind === 'node.start') {
      started.set(event.node, event.atMs);
      for (const failure of failed)
        if (failure.node === event.node && failure.untilMs === Infinity) failure.untilMs = event.atMs;
    } else if (event.kind === 'command') {
      const command = event.command as { readonly type?: string; readonly to?: string };
      if (command.type !== 'send') continue;
      const key = `${event.node} ${JSON.stringify(event.command)}`;
      commands.push({ atMs: event.atMs, node: event.node, key, to: (command.to ?? '').toLowerCase() });
    } else if (event.kind === 'reject' && event.code === 'ambrosia.login.failed' && damaged) {
      const jid = /^login of (\S+) failed/.exec(event.reason)?.[1]?.toLowerCase();
      if (jid === undefined) continue;
      failed.push({ node: event.node, jid, sinceMs: started.get(event.node) ?? 0, untilMs: Infinity });
    }
  }
  for (const failure of failed) {
    for (const command of commands) {
      const bare = command.to.split('/')[0];
      const queued = command.node === failure.node && command.atMs >= failure.sinceMs && command.atMs < failure.untilMs;
      if (queued || (bare === failure.jid && command.atMs < failure.untilMs)) stranded.add(command.key);
    }
  }
  return stranded;
}

/** The services of the topology, or those registered for `user`'s domain. */
function servicesOf(topology: Topology, user?: FuzzUser): string[] {
  const domain = user?.address.split('@')[1];
  return Object.entries(topology.nodes)
    .filter(([, node]) => {
      const config = node.config as { role?: string; registrations?: { domain: string }[] };
      if (config.role !== 'service') return false;
      return domain === undefined || (config.registrations ?? []).some((r) => r.domain === domain);
    })
    .map(([id]) => id);
}

/** The gateway `user`'s client logs in to. */
function gatewayOf(topology: Topology, user: FuzzUser): string {
  const config = topology.nodes[user.node]?.config as { gateway?: { host?: string } } | undefined;
  return config?.gateway?.host ?? gateway;
}

/**
 * The attacker role (issue 25): a service of another domain, `rogue.b.test`, that reaches the
 * gateway's service port with the shared secret and registers its own domain and, as drawn, a.test
 * for client and/or server traffic. `gateway` is the gateway's profile: under `seed` (faithful) it
 * takes the registration and the rogue gets a round-robin share of a.test's traffic, which
 * `ambrosia.registration-owned` reports; under `assigned` it answers `<forbidden/>`.
 */
interface Attacker {
  readonly gateway: 'seed' | 'assigned';
  readonly takes: readonly ('client' | 'server')[];
}

const rogue = 'rogue.b.test';

/** The service channel's namespace (spec.md §4.1), in a service's stream header. */
const serviceNs = 'urn:fedsim:ambrosia:service:0';

/** A recipient at a domain with no DNS records at all (a federation's first user writes to it). */
const ghost = 'ghost@gone.test';
/** The user on a slow link (`withFailedLogins`), one per topology at most. */
const slowUser = (address: string) => address.startsWith('slow@');
/**
 * A far domain's gateway (a federation of four has one): its links to the other gateways take 10
 * to 2,500 ms one way, so an s2s answer (`s2sAnswerMs`, 3 s) is often late, both on its streams
 * and on the verification streams the others open to it for Server Dialback.
 */
const farGateway = 'gw-far.test';
const farUser: FuzzUser = { address: 'u1@far.test', node: 'u1.far.test' };
/**
 * Nothing is owed to or from these users: the ghost has no server; the slow user's link, and the
 * far domain's, outlast the answer timeouts.
 */
const unowed = (user: FuzzUser) => user.address === ghost || user.address === farUser.address || slowUser(user.address);

function topologyArbitrary(attacker: fc.Arbitrary<Attacker | undefined>): fc.Arbitrary<Topology> {
  return fc
    .tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 2 }), networkArbitrary, attacker)
    .map(([userCount, serviceCount, network, attack]) => {
      const names = Array.from({ length: userCount }, (_, k) => `u${k + 1}`);
      const nodes: Topology['nodes'] = {
        'gw.test': {
          config: {
            role: 'gateway',
            accounts: names.map((name) => ({ jid: `${name}@a.test`, password: `pw-${name}` })),
          },
        },
      };
      const services = Array.from({ length: serviceCount }, (_, k) => `im${k + 1}.a.test`);
      for (const service of services) {
        nodes[service] = {
          config: {
            role: 'service',
            name: service,
            gateways: [{ host: 'gw.test', port: 5347 }],
            registrations: [
              { domain: 'a.test', type: 'client' },
              { domain: 'a.test', type: 'server' },
            ],
          },
        };
      }
      if (attack) {
        nodes[rogue] = {
          config: {
            role: 'service',
            name: rogue,
            gateways: [{ host: 'gw.test', port: 5347 }],
            registrations: [
              { domain: 'b.test', type: 'client' },
              ...attack.takes.map((type) => ({ domain: 'a.test', type })),
            ],
          },
        };
        const gatewayNode = nodes['gw.test'];
        if (gatewayNode && attack.gateway === 'assigned') {
          gatewayNode.config = {
            ...(gatewayNode.config as Record<string, unknown>),
            profile: 'assigned',
            services: {
              ...Object.fromEntries(services.map((service) => [service, { domains: ['a.test'] }])),
              [rogue]: { domains: ['b.test'] },
            },
          };
        }
      }
      const users: FuzzUser[] = names.map((name) => ({ address: `${name}@a.test`, node: `${name}.a.test` }));
      for (const user of users) {
        nodes[user.node] = {
          config: {
            role: 'client',
            jid: user.address,
            password: `pw-${user.address.split('@')[0] ?? ''}`,
            gateway: { host: 'gw.test', port: 5222 },
          },
        };
      }
      const clients = users.map((user) => user.node);
      return {
        nodes,
        dns: [],
        network,
        users,
        hosts: ['gw.test', ...services, ...(attack ? [rogue] : []), ...clients],
        crashable: [...services, ...clients],
      };
    });
}

/**
 * A federation: gateways gw-a.test, gw-b.test (and gw-c.test) for a.test, b.test (and c.test), each
 * with its domain's accounts, one or two users, and none or one service registered for its domain
 * (with none, the gateway routes itself, spec.md §3). MX records name each domain's gateway, so a
 * stanza for another domain opens an s2s stream with Server Dialback both ways; a domain after the
 * first has, in one draw of three, no MX record but an A record naming its gateway, so it is
 * reached by the A fallback (RFC 6120 §3.2.2: SRV, then MX, then A). Gateways are fault hosts and
 * may crash (their sessions are volatile: clients bind afresh). In one federation of four, the
 * first user also writes to `ghost@gone.test`, a domain with no DNS at all: the s2s stream fails
 * after its A query, and nothing to or from the ghost is owed (`unowed`). In another of four, a far
 * domain, far.test, on slow links (`farGateway`) with one user, nothing to or from whom is owed.
 */
const federation: fc.Arbitrary<Topology> = fc
  .tuple(
    fc.array(fc.tuple(fc.integer({ min: 1, max: 2 }), fc.boolean(), fc.nat({ max: 2 })), {
      minLength: 2,
      maxLength: 3,
    }),
    networkArbitrary,
    fc.nat({ max: 3 }),
    fc.nat({ max: 3 }),
  )
  .map(([domains, network, ghostDraw, farDraw]) => {
    const nodes: Topology['nodes'] = {};
    const dns: Topology['dns'][number][] = [];
    const users: FuzzUser[] = [];
    const gateways: string[] = [];
    const services: string[] = [];
    domains.forEach(([userCount, hasService, aDraw], i) => {
      const letter = String.fromCharCode(97 + i);
      const domain = `${letter}.test`;
      const gw = `gw-${letter}.test`;
      const names = Array.from({ length: userCount }, (_, k) => `u${k + 1}`);
      gateways.push(gw);
      if (i > 0 && aDraw === 0) dns.push({ name: domain, type: 'A', value: gw });
      else dns.push({ name: domain, type: 'MX', value: `10 ${gw}` });
      nodes[gw] = {
        config: {
          role: 'gateway',
          accounts: names.map((name) => ({ jid: `${name}@${domain}`, password: `pw-${name}` })),
        },
      };
      if (hasService) {
        const service = `im1.${domain}`;
        services.push(service);
        nodes[service] = {
          config: {
            role: 'service',
            name: service,
            gateways: [{ host: gw, port: 5347 }],
            registrations: [
              { domain, type: 'client' },
              { domain, type: 'server' },
            ],
          },
        };
      }
      for (const name of names) {
        const user: FuzzUser = { address: `${name}@${domain}`, node: `${name}.${domain}` };
        users.push(user);
        nodes[user.node] = {
          config: { role: 'client', jid: user.address, password: `pw-${name}`, gateway: { host: gw, port: 5222 } },
        };
      }
    });
    const clients = users.map((user) => user.node);
    const first = users[0];
    if (ghostDraw === 0 && first !== undefined) users.push({ address: ghost, node: first.node });
    if (farDraw === 0) {
      nodes[farGateway] = { config: { role: 'gateway', accounts: [{ jid: farUser.address, password: 'pw-far' }] } };
      nodes[farUser.node] = {
        config: {
          role: 'client',
          jid: farUser.address,
          password: 'pw-far',
          gateway: { host: farGateway, port: 5222 },
        },
      };
      dns.push({ name: 'far.test', type: 'MX', value: `10 ${farGateway}` });
      users.push(farUser);
      network = {
        ...network,
        links: gateways.map((gw) => ({ between: [farGateway, gw], delayMsMin: 10, delayMsMax: 2_500 })),
      };
    }
    return {
      nodes,
      dns,
      network,
      users,
      hosts: [...gateways, ...services, ...clients],
      crashable: [...services, ...clients, ...gateways],
    };
  });

/**
 * In one default topology of three, clients that are no users of the campaign try to log in to
 * the first gateway and fail (RFC 6120 §6.5.10 not-authorized, final for the client, spec.md §6):
 * one with an account's wrong password (its SCRAM proof is wrong), one as a user the gateway has no
 * account for, whom it asks a client-registered service about (see-other-host) when it has one,
 * one the service knows moved: it names a host that does not answer, which the client follows
 * and fails to reach, and one of a domain the gateway does not serve (`<host-unknown/>` to its
 * stream header, RFC 6120 §4.9.3.6, final). A service with a wrong handshake secret is refused
 * (`<not-authorized/>`, XEP-0114 §3) and tries again with backoff.
 * They send nothing and are sent nothing, so nothing is owed to them, and they are neither fault
 * hosts nor crashable.
 * And a user, `slow@`, logs in over a slow link (10 to 1,000 ms one way, each segment drawn): its
 * answer wait (1,500 ms) and ack wait (1,000 ms) run out in every phase of a login and of a
 * resumption, so it backs off and tries again, and its gateway sees streams end at each step
 * (spec.md §6, the client's timeouts). It sends and is sent like any user; nothing to or from it is
 * owed (`unowed`), but nothing may arrive twice. The attacker campaigns keep the plain topologies.
 */
function withFailedLogins(base: Topology): Topology {
  const entry = Object.entries(base.nodes).find(([, node]) => (node.config as { role?: string }).role === 'gateway');
  if (entry === undefined) return base;
  const [gw, node] = entry;
  const account = (node.config as { accounts?: readonly { jid: string }[] }).accounts?.[0]?.jid ?? 'u1@a.test';
  const domain = account.slice(account.indexOf('@') + 1);
  const client = (jid: string, password: string) => ({
    config: { role: 'client', jid, password, gateway: { host: gw, port: 5222 } },
  });
  // The domain's client-registered services know where `moved` went (not `nobody`): see-other-host to a host
  // that does not answer (RFC 6120 §4.9.3.19), which the client follows and fails to reach.
  const nodes: Topology['nodes'] = { ...base.nodes };
  for (const [id, service] of Object.entries(base.nodes)) {
    const config = service.config as {
      role?: string;
      registrations?: readonly { domain: string; type: string }[];
    };
    if (config.role !== 'service' || !config.registrations?.some((r) => r.domain === domain && r.type === 'client'))
      continue;
    nodes[id] = { ...service, config: { ...config, seeOtherHost: { [`moved@${domain}`]: `gw-moved.${domain}` } } };
  }
  const slow = { address: `slow@${domain}`, node: `slow.${domain}` };
  const gatewayConfig = node.config as { accounts?: readonly { jid: string; password: string }[] };
  nodes[gw] = {
    ...node,
    config: {
      ...gatewayConfig,
      accounts: [...(gatewayConfig.accounts ?? []), { jid: slow.address, password: 'pw-slow' }],
    },
  };
  return {
    ...base,
    nodes: {
      ...nodes,
      [`wrong.${domain}`]: client(account, 'not-the-password'),
      [`nobody.${domain}`]: client(`nobody@${domain}`, 'pw-nobody'),
      [`moved.${domain}`]: client(`moved@${domain}`, 'pw-moved'),
      'stranger.elsewhere.test': client('stranger@elsewhere.test', 'pw-stranger'),
      [`imx.${domain}`]: {
        config: {
          role: 'service',
          name: `imx.${domain}`,
          secret: 'not-the-secret',
          gateways: [{ host: gw, port: 5347 }],
          registrations: [{ domain, type: 'client' }],
        },
      },
      [slow.node]: {
        config: {
          ...client(slow.address, 'pw-slow').config,
          responseTimeoutMs: 1_500,
          retryMsMax: 5_000,
        },
      },
    },
    network: {
      ...base.network,
      links: [...(base.network.links ?? []), { between: [slow.node, gw], delayMsMin: 10, delayMsMax: 1_000 }],
    },
    users: [...base.users, slow],
  };
}

const takes = fc.constantFrom<readonly ('client' | 'server')[]>([], ['client'], ['server'], ['client', 'server']);
/** The default campaign: mostly one gateway, a federation in two runs of five. */
const topology = fc.oneof(
  { weight: 3, arbitrary: topologyArbitrary(fc.constant(undefined)) },
  { weight: 2, arbitrary: federation },
);

const gateway = 'gw.test';

const baseProfile: FuzzProfile = {
  protocol: 'ambrosia',
  topology,
  send: (_topology, from, to, body, atMs) => ({
    atMs,
    do: 'command',
    node: from.node,
    command: { type: 'send', to: to.address, body, id: body },
  }),
  // The attacker: a client that writes a `from` of its own into its stanza, naming another user's
  // full JID (as that user's client binds it) or a user of a domain the gateway does not serve.
  // The gateway stamps the sender's full JID over it (spec.md §3), so under any profile the
  // recipient sees the attacker's own JID (`ambrosia.authentic`).
  attack: (topology, from, to, body, atMs, variant) => {
    const forged = [
      ...topology.users.filter((user) => user.address !== from.address).map((user) => `${user.address}/fedsim`),
      'admin@elsewhere.test/fedsim',
    ];
    return {
      atMs,
      do: 'command',
      node: from.node,
      command: { type: 'send', to: to.address, body, id: body, from: forged[variant % forged.length] },
    };
  },
  // The sender's stream to the gateway, the component stream of whichever service takes the
  // stanza (round robin, so any of them), and the recipient's stream; stream management acks
  // flow back on each (spec.md §3, §4.8).
  // Across domains (a federation), also the s2s hop between the two gateways: the stanza one
  // way, the receiving server's stream header, features and dialback answers the other (spec.md §3).
  links: (topology, from, to) => {
    const fromGateway = gatewayOf(topology, from);
    const toGateway = gatewayOf(topology, to);
    const sides: (readonly [string, readonly string[]])[] = [
      [fromGateway, [from.node, ...servicesOf(topology, from)]],
      ...(toGateway === fromGateway ? [] : [[toGateway, servicesOf(topology, to)] as const]),
      [toGateway, [to.node]],
    ];
    const links = new Map<string, [string, string]>();
    const add = (a: string, b: string) => links.set(`${a}>${b}`, [a, b]);
    for (const [gw, hosts] of sides) {
      for (const host of hosts) {
        add(host, gw);
        add(gw, host);
      }
    }
    if (toGateway !== fromGateway) {
      add(fromGateway, toGateway);
      add(toGateway, fromGateway);
    }
    return [...links.values()];
  },
  // A message lost behind an ack (`ackRace`, src/fuzz/commands/ack-race.ts): the recipient's own
  // c2s stream, where the gateway keeps each stanza until an `<a h/>` counts it and resends the
  // rest on resumption (XEP-0198 §4, §5; spec.md §3). The segment carrying a message is the one
  // with its id (the gateway writes each stanza, and its `<r/>`, on its own).
  ackRace: {
    hop: (topology, from, to) => (unowed(from) || unowed(to) ? undefined : [gatewayOf(topology, to), to.node]),
    marker: (body) => `id='${body}'`,
    // The gateway's `c2sAckTimeoutMs` (1000 ms, spec.md §3), the same as the client's.
    ackTimeoutMs,
  },
  // Structure-aware corruption edits these fields of its frames (wire.ts `wireFields`).
  // Not `h`. A count past the stanzas sent now ends the stream with <handled-count-too-high/>
  // (XEP-0198 §4, both ends of c2s) and nothing is dropped, but an edit that stays within the
  // unacked window cannot be told from a true count: a <resumed h/> one too high makes the client
  // drop a stanza the gateway never had and the two counts disagree from then on, so the next
  // resumption sends one again (fuzz seed 376, `h` alone, of --runs 600); an ack lost to an edit on a
  // service channel whose link then fails is failed over, at least once by spec.md §4 (seed 400).
  // Neither is detectable without integrity on the stream, and both break `noDuplicateDelivery`.
  // Nor `to`: edited in a reconnecting client's stream header it draws <host-unknown/>, and the
  // client takes a failed login as final (fuzz seed 653 of --runs 1000): no promise then.
  wireFields: ['seq', 'id', 'from'],
  promises: (_topology, from, to) => !unowed(from) && !unowed(to),
  // A service that restarts registers again on a new stream, but the gateway goes on routing to
  // its old one until that resets (the network's reset timeout after the crash) or the channel
  // gives up after `retransmitsMax` tries: what it sends there fails over only then (spec.md §4,
  // fuzz seed 284), so the quiet-network promise starts once the peers noticed the crash.
  delivery: {
    durable: false,
    settleMs: 6_000,
    // A client that lost its stream reconnects with doubling backoff for as long as the faults
    // last: its next attempt after the heal is at most the time it spent failing plus one first
    // delay (capped), then a login's answer.
    // A service that lost its gateway reconnects the same way, from a longer first delay.
    settleAfterMs: (run) =>
      retryDeadlineMs(run.beginMs, run.endMs, serviceRetryMs, clientRetryMsMax) - run.endMs + responseTimeoutMs + 2_000,
    withinMs: 2_000,
    underFaults,
    strandedByDamage,
    drainMs: 5_000,
    crashNoticedMs: (topology) => resetMs(topology),
  },
  startMs: 500,
  invariants: ['ambrosia.authentic', 'ambrosia.registration-owned'],
  // At least once after a failed resumption (XEP-0198 §5, spec.md §3): a message the sender's
  // client resent on a new session because the gateway lost the old one (a crash: its sessions are
  // volatile) may arrive twice (fuzz seed 4351 of a 5,000-run soak); any other second copy fails.
  noDuplicate: 'ambrosia.no-duplicate-delivery',
  sometimes: [
    { name: 'client reconnect', note: 'ambrosia.client.reconnect' },
    { name: 'resume', note: 'ambrosia.sm.resumed' },
    { name: 'failover', note: 'ambrosia.failover' },
  ],
};

/**
 * The attacker's campaigns (`fedsim fuzz ambrosia:seed`, `ambrosia:assigned`): the topologies above
 * plus the rogue service. Under `seed` the campaign must find the hijack by itself
 * (`ambrosia.registration-owned`; the finding's seed is in src/scenario/findings.ts); under
 * `assigned` it must find nothing. The default campaign has no attacker, so its runs are unchanged.
 */
const withAttacker = (gateway: Attacker['gateway']): FuzzProfile => ({
  ...baseProfile,
  variant: gateway,
  topology: topologyArbitrary(takes.map((t): Attacker => ({ gateway, takes: t }))),
});

/**
 * The slow user's client and its gateway (`withFailedLogins`), as the link from the gateway to it,
 * or none in a topology without one.
 */
function slowLink(topology: Topology): readonly [string, string] | undefined {
  const slow = topology.users.find((user) => slowUser(user.address));
  if (slow === undefined) return undefined;
  return [gatewayOf(topology, slow), slow.node];
}

/**
 * A service's own link to its gateway (the first service's, none in a topology without one): the
 * `xmlns` aim changes the namespace of its stream header, the service restarted so that it writes
 * one at once. The gateway ends that stream with <invalid-namespace/> while it opens (spec.md §4.1,
 * the service session's `opening` to `closed`), the service sees it close while opening and backs
 * off (its `opening` to `backingOff`), then connects again (`serviceRetryMs`). A restarted service
 * is a service fault like a crash (`underFaults`: failover), the damage one on its link.
 */
function serviceLink(topology: Topology): readonly [string, string] | undefined {
  const [service] = servicesOf(topology);
  if (service === undefined) return undefined;
  const config = topology.nodes[service]?.config as { gateways?: readonly { host: string }[] } | undefined;
  const gw = config?.gateways?.[0]?.host;
  return gw === undefined ? undefined : [service, gw];
}

/**
 * The link from one gateway of a federation to another, between two domains none of whose users
 * wrote to the other's yet (in the topology's order), so that the next stanza between them opens
 * an s2s stream (none opened before: a stream either way opens a verification stream the other way):
 * the `features` aim puts the receiving gateway's `<stream:features/>` in a namespace of its own,
 * so the opening gateway finds no features and gives the stream up after its answer wait
 * (spec.md §3, the s2s chart's `features` to `failed`); the aim's trigger is a stanza from the
 * first domain to the second. A damage on the s2s hop voids the promise of what it carries
 * (`underFaults`); the next stanza opens a new stream.
 */
function freshS2sLink(
  topology: Topology,
  sent: readonly { readonly from: FuzzUser; readonly to: FuzzUser }[],
): readonly [string, string] | undefined {
  const talked = new Set(
    sent.map(({ from, to }) => [gatewayOf(topology, from), gatewayOf(topology, to)].sort().join(' ')),
  );
  const gateways = [...new Set(topology.users.map((user) => gatewayOf(topology, user)))];
  for (const from of gateways)
    for (const to of gateways) if (from !== to && !talked.has([from, to].sort().join(' '))) return [to, from];
  return undefined;
}

/** A user of the link's far end (the opening gateway) and one of its near end, for `freshS2sLink`. */
function acrossS2sLink(topology: Topology, link: readonly [string, string]): readonly [FuzzUser, FuzzUser] | undefined {
  const of = (gw: string) => topology.users.find((user) => user.address !== ghost && gatewayOf(topology, user) === gw);
  const [from, to] = [of(link[1]), of(link[0])];
  return from === undefined || to === undefined ? undefined : [from, to];
}

/**
 * The default campaign: the topologies above, one in three with the failing logins. Its
 * structure-aware corruption also edits the `<bind/>` a gateway offers after SASL, aimed at the
 * slow user's link only, and restarts that user's client so that it logs in afresh (no session to
 * resume), then waits 30 s for that login (over the slow link it often takes that long): a restarted stream whose features lack bind ends its login for good (RFC 6120 §7.2,
 * spec.md §6: the client's `restarting` to `failed`). Nothing is owed to or from it (`unowed`), and it sends
 * nothing more; on any other user's link the edit would end a login that is owed.
 */
export const ambrosiaProfile: FuzzProfile = {
  ...baseProfile,
  wireFields: [...(baseProfile.wireFields ?? []), 'bind', 'xmlns', 'features'],
  fieldAims: {
    bind: { link: slowLink, op: 'dec', relogin: true, holdMs: 30_000 },
    xmlns: {
      link: serviceLink,
      op: 'inc',
      edit: { find: `'${serviceNs}'`, replace: `'${serviceNs}-damaged'` },
      relogin: 'sender',
      holdMs: 2_000,
    },
    features: {
      link: freshS2sLink,
      op: 'inc',
      edit: { find: '<stream:features>', replace: "<stream:features xmlns:stream='urn:fedsim:damaged'>" },
      trigger: acrossS2sLink,
      holdMs: 4_000,
    },
  },
  topology: fc
    .tuple(topology, fc.constantFrom(false, false, true))
    .map(([base, failing]) => (failing ? withFailedLogins(base) : base)),
  variants: { seed: withAttacker('seed'), assigned: withAttacker('assigned') },
};
