/**
 * Ambrosia invariants (src/protocols/ambrosia/spec.md). `ambrosia.authentic`: a client receives
 * only what a client sent, from the JID that client logged in as (the gateway stamps `from` from
 * the authenticated stream, so a client can never speak for another). `ambrosia.registration-owned`:
 * a gateway accepts a service's registration only for a domain that service owns (spec.md
 * "Profiles"); under the faithful `seed` profile a rogue service breaks it.
 * `ambrosia.no-duplicate-delivery`: `noDuplicateDelivery` with the one second copy XEP-0198 allows
 * (spec.md §3): a message the sender's client resent on a new session because its old one was lost
 * (`<failed/>` to its `<resume/>`, or no `<enabled/>` heard to resume with) while the message was unacked,
 * and two different messages whose ids a damage made equal (`orDamagedIds`).
 */
import { authenticDelivery, damageWriter, type SentMessage } from '../../check/delivery.js';
import { field, list, text, type InvariantFactory, type InvariantNode } from '../../check/context.js';
import { noDuplicateDelivery, type DuplicateExcuse } from '../../check/invariants.js';
import type { TraceEvent } from '../../trace/events.js';

function sentBy(command: unknown, node: InvariantNode | undefined): SentMessage[] {
  const body = text(field(command, 'body'));
  if (field(command, 'type') !== 'send' || body === undefined) return [];
  return [{ from: text(field(node?.config, 'jid')), to: text(field(command, 'to')), body }];
}

/**
 * Whether `service` owns `domain` at the gateway configured with `gatewayConfig`: the domain is
 * assigned to it in the gateway's `services`, or, where the gateway assigns nothing (the seed's
 * zero configuration), the service's name lies in the domain (`im.a.test` owns `a.test`: seed step 2,
 * "the IM service connects and registers its domain").
 */
export function ownsDomain(gatewayConfig: unknown, service: string, domain: string): boolean {
  const services = field(gatewayConfig, 'services');
  const assigned = services !== null && typeof services === 'object' && Object.keys(services).length > 0;
  if (assigned) return list(field(field(services, service), 'domains')).includes(domain);
  return service === domain || service.endsWith(`.${domain}`);
}

const registrationOwned: InvariantFactory = (context) => {
  const gateways = new Map(
    context.nodes
      .filter((node) => node.protocol === 'ambrosia' && field(node.config, 'role') === 'gateway')
      .map((node) => [node.id, node.config] as const),
  );
  // Under `seed` any service name may register any domain (the flaw): one a corruption wrote into
  // an honest service's stream header is no attacker's (fuzz seeds 1700, 1930, 3404, 3751, 3752
  // and 4183 of a 5,000-run campaign: `im1.a.test` arrived as `im1.a.tes+`).
  const damage = damageWriter();
  return {
    name: 'ambrosia.registration-owned',
    kinds: ['note', 'send', 'receive'],
    observe(event) {
      damage.observe(event);
      if (event.kind !== 'note' || event.what !== 'ambrosia.registered' || !gateways.has(event.node)) return undefined;
      const service = text(field(event.detail, 'service')) ?? '';
      const domain = text(field(event.detail, 'domain')) ?? '';
      if (ownsDomain(gateways.get(event.node), service, domain) || damage.written(service)) return undefined;
      return `${event.node} registered ${service} for ${domain} (${text(field(event.detail, 'type')) ?? '?'}), a domain it does not own: it now gets a share of ${domain}'s traffic`;
    },
  };
};

/** Top-level elements of a stream's text that matter to stream management, in order. */
const smElement = /<(stream:stream|message|presence|iq|enabled|enable|resume|resumed|failed|a)\b([^>]*)>/g;

/** The expressions `attr` uses, by attribute name (no `g` flag: they keep no state between calls). */
const attrPatterns = new Map<string, RegExp>();

function attr(attrs: string, name: string): string | undefined {
  let pattern = attrPatterns.get(name);
  if (pattern === undefined) {
    pattern = new RegExp(`\\s${name}=(?:'([^']*)'|"([^"]*)")`);
    attrPatterns.set(name, pattern);
  }
  const found = pattern.exec(attrs);
  return found === null ? undefined : (found[1] ?? found[2]);
}

function bareJid(jid: string): string {
  const slash = jid.indexOf('/');
  return slash < 0 ? jid : jid.slice(0, slash);
}

/** One client's stream management, as read off the wire it sends and receives. */
interface ClientSm {
  readonly jid: string;
  /** The connection of its last stream header: what comes on other connections is stale. */
  conn: string | undefined;
  /** Counting stanzas: after `<enable/>`, or after `<resumed/>` on a resumed stream. */
  counting: boolean;
  /** What its last `<enable/>` or `<resume/>` asked for, until the answer. */
  asked: 'enable' | 'resume' | undefined;
  /** The session may be resumed: `<enabled resume='true' id/>` came back for it. */
  resumable: boolean;
  /** Its `<resume/>` got `<failed/>`: the session is gone. */
  resumeFailed: boolean;
  /** The stanzas of its session since `<enable/>`, in order: a message's id, or '' (XEP-0198 counts all). */
  sent: string[];
  /** How many of them the gateway acked (`h` of its last `<a/>` or `<resumed/>`). */
  acked: number;
  /** Messages unacked when the session was lost: a send of one again is the resend XEP-0198 allows. */
  readonly lost: Map<string, number>;
}

/**
 * XEP-0198 §5: a client whose session cannot be resumed (the server answered `<resume/>` with
 * `<failed/>`, or the client never heard `<enabled/>` and so has no id to resume with) starts a new
 * session and sends again what the old one left unacked; the server may have handled it before: at
 * least once, not exactly once (spec.md §3; the gateway's sessions are volatile, so a gateway crash
 * is the usual cause). Derived from the wire only: the sender's client sent the message on a
 * session, the gateway's `h` did not ack it, the session was lost so, the client sent `<enable/>`
 * for a new one and the same message again. Each such resend excuses one extra copy of that message
 * (its sender and id). A copy for any other reason (after a successful `<resumed/>`, a new session
 * while the old one could have been resumed, a message acked before, a gateway or service that
 * delivers twice) is still a violation.
 */
export function lostSessionResends(nodes: readonly InvariantNode[]): DuplicateExcuse {
  const clients = new Map<string, ClientSm>();
  for (const node of nodes) {
    const jid = text(field(node.config, 'jid'));
    if (node.protocol !== 'ambrosia' || field(node.config, 'role') !== 'client' || jid === undefined) continue;
    clients.set(node.id, {
      jid: bareJid(jid),
      conn: undefined,
      counting: false,
      asked: undefined,
      resumable: false,
      resumeFailed: false,
      sent: [],
      acked: 0,
      lost: new Map(),
    });
  }
  /** Per sender and message id (`jid id`): copies allowed beyond the first. */
  const allowed = new Map<string, number>();
  const textOf = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');
  const newSession = (sm: ClientSm) => {
    if (!sm.resumable || sm.resumeFailed) {
      for (const id of sm.sent.slice(sm.acked)) if (id !== '') sm.lost.set(id, (sm.lost.get(id) ?? 0) + 1);
    }
    Object.assign(sm, { counting: true, resumable: false, resumeFailed: false, sent: [], acked: 0 });
  };
  const sent = (sm: ClientSm, name: string, attrs: string) => {
    if (name === 'stream:stream') {
      sm.counting = false;
      return;
    }
    if (name === 'enable' || name === 'resume') {
      sm.asked = name;
      if (name === 'enable') newSession(sm);
      return;
    }
    if (name !== 'message' && name !== 'presence' && name !== 'iq') return;
    const id = name === 'message' ? (attr(attrs, 'id') ?? '') : '';
    const lost = sm.lost.get(id) ?? 0;
    if (id !== '' && lost > 0) {
      sm.lost.set(id, lost - 1);
      const key = `${sm.jid} ${id}`;
      allowed.set(key, (allowed.get(key) ?? 0) + 1);
    }
    if (sm.counting) sm.sent.push(id);
  };
  const received = (sm: ClientSm, name: string, attrs: string) => {
    // Only `<a/>` and `<resumed/>` carry a count: the stanzas a client receives are not searched for one.
    const h = name === 'a' || name === 'resumed' ? Number(attr(attrs, 'h')) : Number.NaN;
    if (name === 'a' && sm.counting && Number.isSafeInteger(h)) sm.acked = Math.max(sm.acked, h);
    if (name === 'enabled') sm.resumable = attr(attrs, 'resume') === 'true' && attr(attrs, 'id') !== undefined;
    if (name === 'resumed' && Number.isSafeInteger(h)) {
      // The stanzas past `h` go again with the same numbers: they are counted anew as they are sent.
      Object.assign(sm, { counting: true, asked: undefined, acked: h, sent: sm.sent.slice(0, h) });
    }
    if (name === 'failed') {
      if (sm.asked === 'resume') sm.resumeFailed = true;
      else Object.assign(sm, { counting: false, sent: [], acked: 0 });
      sm.asked = undefined;
    }
  };
  return {
    kinds: ['send', 'receive'],
    observe(event: TraceEvent) {
      if (event.kind !== 'send' && event.kind !== 'receive') return;
      const sm = clients.get(event.node);
      if (sm === undefined || event.transport !== 'stream') return;
      // Only what it sends can make a connection its current one.
      if (event.kind === 'receive' && event.conn !== sm.conn) return;
      const stream = textOf(event.payload.base64);
      if (event.kind === 'send' && stream.includes('<stream:stream')) sm.conn = event.conn;
      if (event.conn !== sm.conn) return;
      for (const [, name = '', attrs = ''] of stream.matchAll(smElement)) {
        if (event.kind === 'send') sent(sm, name, attrs);
        else received(sm, name, attrs);
      }
    },
    excuses(event) {
      if (event.id === undefined || event.from === undefined) return false;
      const key = `${bareJid(event.from)} ${event.id}`;
      const left = allowed.get(key) ?? 0;
      if (left === 0) return false;
      allowed.set(key, left - 1);
      return true;
    },
  };
}

/**
 * `excuse`, and also a delivery whose id repeats an earlier one's to that user but whose body none of
 * them had, once a corruption acted: two messages whose ids a damage made equal (the fuzzer's
 * structure-aware corruption edits `id`; a stanza that stays valid after a damage is not caught,
 * integrity being the transport's, spec.md §3), not a second copy of either (fuzz seed 448 of a
 * 2,000-run soak: m1's and m2's ids both edited to `m-` on the two services' links).
 */
export function orDamagedIds(excuse: DuplicateExcuse): DuplicateExcuse {
  const bodies = new Map<string, Set<string>>();
  let damaged = false;
  let newBody = false;
  return {
    kinds: [...new Set<TraceEvent['kind']>([...excuse.kinds, 'deliver', 'fault'])],
    observe(event) {
      if (excuse.kinds.includes(event.kind)) excuse.observe(event);
      if (event.kind === 'fault') {
        const acted = event.phase === 'end' && event.detail['disarmed'] !== true;
        if (acted && (event.fault === 'corrupt' || event.fault === 'truncate')) damaged = true;
      }
      if (event.kind !== 'deliver' || event.id === undefined) return;
      // Read by `excuses`, which the check asks right after this, for this delivery.
      const key = JSON.stringify([event.node, event.user, event.id]);
      const seen = bodies.get(key) ?? new Set<string>();
      newBody = !seen.has(event.body);
      seen.add(event.body);
      bodies.set(key, seen);
    },
    excuses(event) {
      if (damaged && newBody) return true;
      return excuse.excuses(event);
    },
  };
}

export const ambrosiaInvariants: Readonly<Record<string, InvariantFactory>> = {
  'ambrosia.authentic': (context) => authenticDelivery('ambrosia.authentic', sentBy, context),
  'ambrosia.registration-owned': registrationOwned,
  'ambrosia.no-duplicate-delivery': (context) =>
    noDuplicateDelivery(orDamagedIds(lostSessionResends(context.nodes)), 'ambrosia.no-duplicate-delivery'),
};
