/**
 * SOLEC invariants (src/protocols/solec/spec.md). `solec.authentic`: a user receives only what a
 * user sent, under the sender's own address `username@server`. Under the `seed` profile a server
 * that lies in ServerAuth can break it (the seed's flaw, shown by scenarios/solec/impersonation-seed);
 * a `submit` names its sender itself, so it counts as sent by that sender.
 */
import { authenticDelivery, damageWriter, type SentMessage } from '../../check/delivery.js';
import {
  field,
  list,
  text,
  type InvariantContext,
  type InvariantFactory,
  type InvariantNode,
} from '../../check/context.js';
import { noDuplicateDelivery, type DuplicateExcuse, type Invariant } from '../../check/invariants.js';
import type { TraceEvent } from '../../trace/events.js';
import { parseAddress } from './wire.js';

function sentBy(command: unknown, node: InvariantNode | undefined): SentMessage[] {
  const body = text(field(command, 'body'));
  const type = field(command, 'type');
  if (body === undefined) return [];
  const to = text(field(command, 'to'));
  if (type === 'submit') return [{ from: text(field(command, 'from')), to, body }];
  if (type !== 'send') return [];
  const username = text(field(node?.config, 'username'));
  const server = text(field(node?.config, 'server'));
  const from = username !== undefined && server !== undefined ? `${username}@${server}` : undefined;
  return [{ from, to, body }];
}

function noteId(event: TraceEvent): string | undefined {
  if (event.kind !== 'note') return undefined;
  return text(field(event.detail, 'id'));
}

/**
 * `solec.exactlyOnce` (spec.md §4.1, §5.3): a Message the sender's client heard Success for
 * (`solec.sent`) is taken for delivery (`solec.accepted` or `solec.stored`) exactly once, by the
 * recipient's server, whatever faults happened: the client resends an unanswered Message with its
 * id after a lost connection, a relay retries within its attempts, and a server drops an id it
 * already took. Taken twice is a violation at once; taken never, at the end of the run (after
 * every fault healed and the retries ran out). Nothing is promised for a Message that was never
 * answered (at most once), nor for one a node reported it could not deliver (a `reject` naming
 * its id: a relay refused in ServerAuth, which is final, out of attempts, or answered Error, spec.md §5)
 * by the sender's client or its server (the one that answered Success). A server drops a repeat by
 * `from` and `id` (spec.md §4.1, §5.3), and the wire carries no integrity check (§2): a copy whose
 * `from` a damage rewrote is another Message to it, so the unchanged resend is taken too. A take
 * under a `from` no earlier take of the id had is excused when a damage wrote that `from` or every
 * earlier one (fuzz seed 3679 of a 5,000-run soak); the same `from` twice never is. The same
 * promise as test/protocols/solec/sim.test.ts, on any run.
 */
export function exactlyOnce(context: InvariantContext): Invariant {
  const clients = new Set(
    context.nodes.filter((node) => field(node.config, 'role') === 'client').map((node) => node.id),
  );
  const sent = new Map<string, string>();
  /** Per id, the `from` of each take. */
  const taken = new Map<string, string[]>();
  const damage = damageWriter();
  /** Ids of Messages some client wrote on the wire (a damaged id was never written). */
  const written = new Set<string>();
  /** Each client's server (where its Messages are answered, and relayed from). */
  const homeOf = new Map(
    context.nodes.flatMap((node) => {
      const server = text(field(node.config, 'server'));
      return field(node.config, 'role') === 'client' && server !== undefined ? [[node.id, server] as const] : [];
    }),
  );
  /** Ids a node reported it could not deliver (a `reject` naming them), with the nodes that did. */
  const reported = new Map<string, Set<string>>();
  const report = (id: string, node: string) => reported.set(id, (reported.get(id) ?? new Set()).add(node));
  return {
    name: 'solec.exactlyOnce',
    kinds: ['note', 'send', 'receive', 'reject'],
    observe(event) {
      if (event.kind === 'send' || event.kind === 'receive') damage.observe(event);
      if (event.kind === 'reject') {
        const detail = event.detail;
        for (const id of [field(detail, 'id'), ...list(field(detail, 'ids'))])
          if (typeof id === 'string') report(id, event.node);
        return undefined;
      }
      if (event.kind === 'send') {
        if (!clients.has(event.node)) return undefined;
        const decoded: unknown = event.payload.decoded;
        for (const frame of Array.isArray(decoded) ? decoded : [decoded]) {
          const id = field(frame, 'type') === 'message' ? text(field(frame, 'id')) : undefined;
          if (id !== undefined) written.add(id);
        }
        return undefined;
      }
      if (event.kind !== 'note') return undefined;
      const id = noteId(event);
      if (id === undefined) return undefined;
      if (event.what === 'solec.sent') sent.set(id, event.node);
      if (event.what !== 'solec.accepted' && event.what !== 'solec.stored') return undefined;
      const from = text(field(event.detail, 'from')) ?? '';
      const before = taken.get(id) ?? [];
      taken.set(id, [...before, from]);
      if (before.length === 0 || damagedCopy(from, before, damage.written)) return undefined;
      return `message ${id} taken for delivery ${before.length + 1} times (at ${event.node})`;
    },
    finish() {
      // The sender is told by its own server (or client): the recipient's server refusing a
      // relayed Message is not that (the relay reports its Error, spec.md §5.3).
      const told = (id: string, client: string) => {
        const by = reported.get(id);
        return by !== undefined && (by.has(client) || by.has(homeOf.get(client) ?? client));
      };
      const missing = [...sent].filter(([id, client]) => !taken.has(id) && !told(id, client));
      // A corrupted id is taken (or reported undeliverable: a relay refused in a signed ServerAuth
      // whose Challenge a damage changed) under the id the damage wrote, and the Success carries no
      // id (spec.md §2.2): the sender cannot tell. Excused, one for one, by ids nobody wrote.
      const rewritten = [...new Set([...taken.keys(), ...reported.keys()])].filter((id) => !written.has(id)).length;
      if (missing.length <= rewritten) return undefined;
      const [id, node] = missing[0] ?? ['', ''];
      return `message ${id} answered Success to ${node} but never taken for delivery`;
    },
  };
}

/**
 * Whether a copy under `from` of a message already seen under `before` is another Message by the
 * spec's key (`from` and `id`, spec.md §4.1, §5.3) only because a damage rewrote a `from`: no
 * earlier copy had this `from`, and a damage wrote it or every earlier one.
 */
function damagedCopy(from: string, before: readonly string[], written: (value: string) => boolean): boolean {
  if (before.includes(from)) return false;
  return written(from) || before.every((earlier) => written(earlier));
}

/**
 * `solec.no-duplicate-delivery`: `noDuplicateDelivery` with the one kind of second copy SOLEC's wire
 * allows: a server takes a repeat once by `from` and `id` (spec.md §4.1, §5.3), and nothing checks
 * a frame's integrity (§2), so a Message whose `from` a damage rewrote is pushed, and its unchanged
 * resend is pushed too (fuzz seed 3679 of a 5,000-run soak). Each copy under a `from` no earlier copy
 * of the id had, when a damage wrote that `from` or every earlier one, is excused; any other copy is
 * a violation.
 */
export function damagedSenderCopies(): DuplicateExcuse {
  const damage = damageWriter();
  /** Per `<node> <user> <id>`: the `from` of each copy delivered. */
  const copies = new Map<string, string[]>();
  const keyOf = (event: TraceEvent & { readonly kind: 'deliver' }) =>
    JSON.stringify([event.node, event.user, event.id ?? null]);
  return {
    kinds: ['send', 'receive', 'deliver'],
    observe(event) {
      if (event.kind === 'send' || event.kind === 'receive') damage.observe(event);
      if (event.kind !== 'deliver' || event.id === undefined) return;
      const key = keyOf(event);
      copies.set(key, [...(copies.get(key) ?? []), event.from]);
    },
    excuses(event) {
      if (event.id === undefined) return false;
      const before = (copies.get(keyOf(event)) ?? []).slice(0, -1);
      return before.length > 0 && damagedCopy(event.from, before, damage.written);
    },
  };
}

/** The frames of a stream payload as the trace decoded them (one frame, or an array of them). */
function framesOf(decoded: unknown): readonly unknown[] {
  return Array.isArray(decoded) ? decoded : [decoded];
}

/**
 * `solec.one-in-flight` (spec.md §3, §5.3): on a connection it opened (a client's to its server, a
 * relay link's to another server), a node writes a Message only once every Message it wrote
 * before on it was answered by Success or Error. The answers the node received on that connection
 * are counted against the Messages it wrote; the Success of a login or ServerAuth comes while none
 * is outstanding and counts for nothing. A damaged answer is never one more answer than was sent.
 */
export function oneInFlight(): Invariant {
  /**
   * Per node, per connection it opened: its Messages written and not yet answered (two lookups
   * rather than a key string made for every send and receive).
   */
  const outstanding = new Map<string, Map<string, number>>();
  return {
    name: 'solec.one-in-flight',
    kinds: ['conn.connect', 'send', 'receive'],
    observe(event) {
      if (event.kind === 'conn.connect') {
        const opened = outstanding.get(event.node) ?? new Map<string, number>();
        outstanding.set(event.node, opened.set(event.conn, 0));
        return undefined;
      }
      if ((event.kind !== 'send' && event.kind !== 'receive') || event.conn === undefined) return undefined;
      const opened = outstanding.get(event.node);
      let count = opened?.get(event.conn);
      if (opened === undefined || count === undefined) return undefined;
      for (const frame of framesOf(event.payload.decoded)) {
        const type = field(frame, 'type');
        if (event.kind === 'receive' && (type === 'success' || type === 'error')) count = Math.max(0, count - 1);
        if (event.kind === 'send' && type === 'message') count += 1;
      }
      opened.set(event.conn, count);
      return count > 1
        ? `${event.node} wrote a Message on ${event.conn} while ${count - 1} it wrote before were unanswered`
        : undefined;
    },
  };
}

/** A relay link's attempt (`s2s:<n>#<k>`, server.ts `relayConnId`): the link it belongs to. */
function relayLinkOf(conn: string): string | undefined {
  // Most connections a server sees are accepted ones (`in:<n>`): no pattern run for them.
  if (!conn.startsWith('s2s:')) return undefined;
  return /^(s2s:\d+)#\d+$/.exec(conn)?.[1];
}

/**
 * `solec.relay-attempts` (spec.md §5.3): a server's relay link retries a lost connection with
 * backoff within its budget, one connection at a time. Its attempts are counted from the trace
 * (each `conn.connect` of `s2s:<n>#<k>`), anew from the one that authenticated
 * (`solec.link-authenticated`); the link
 * - opens no attempt while one it opened before is still open (it closes a failed attempt's
 *   connection first: a connection left open on each retry is a leak);
 * - opens no attempt once `attemptsMax` attempts in a row have failed;
 * - waits at least `retryMs`, doubling per failure in a row, from one attempt to the next (the wait
 *   runs from the failure, which comes after the attempt began);
 * - gives up (its chart enters `failed`) only after exactly `attemptsMax` attempts in a row failed;
 * - reports what it queued, when it gives up, as `solec.unreachable`, and when its ServerAuth is
 *   refused with Error 0x03 (`refused`) as `solec.server-auth-failed` (another Error code there, a
 *   damaged one say, also ends the link, reported as `solec.unreachable`); the reject comes just
 *   before the chart enters its final state, and a link with nothing queued reports nothing.
 */
export function relayAttempts(context: InvariantContext): Invariant {
  const budgets = new Map(
    context.nodes.flatMap((node) => {
      const attemptsMax = field(node.config, 'attemptsMax');
      const retryMs = field(node.config, 'retryMs');
      return field(node.config, 'role') === 'server' && typeof attemptsMax === 'number' && typeof retryMs === 'number'
        ? [[node.id, { attemptsMax, retryMs }] as const]
        : [];
    }),
  );
  /** Per `<node> <link>`: attempts since the last one that authenticated (it included), when the last began, which is open. */
  const links = new Map<string, { attempts: number; lastMs: number; open: string | undefined }>();
  /** Per server: the code of the queue-reporting reject it emitted last, until its next relay state. */
  const reported = new Map<string, string>();
  /** Per `<node> <link>`: the code of the last Error the link received (a refusal reports 0x03 as such). */
  const lastError = new Map<string, unknown>();
  const forget = (node: string) => {
    for (const key of [...links.keys()]) if (key.startsWith(`${node} `)) links.delete(key);
  };
  return {
    name: 'solec.relay-attempts',
    kinds: [
      'conn.connect',
      'conn.close',
      'conn.refuse',
      'note',
      'receive',
      'reject',
      'state',
      'node.crash',
      'node.start',
    ],
    observe(event) {
      const budget = budgets.get(event.node);
      if (budget === undefined) return undefined;
      if (event.kind === 'node.crash' || event.kind === 'node.start') {
        forget(event.node);
        return undefined;
      }
      if (event.kind === 'conn.close' || event.kind === 'conn.refuse') {
        const link = links.get(`${event.node} ${relayLinkOf(event.conn) ?? ''}`);
        if (link?.open === event.conn) link.open = undefined;
        return undefined;
      }
      if (event.kind === 'note') {
        const conn = event.what === 'solec.link-authenticated' ? text(field(event.detail, 'conn')) : undefined;
        const link = links.get(`${event.node} ${relayLinkOf(conn ?? '') ?? ''}`);
        if (link !== undefined) link.attempts = 1;
        return undefined;
      }
      if (event.kind === 'receive') {
        const id = relayLinkOf(event.conn ?? '');
        if (id === undefined) return undefined;
        for (const frame of framesOf(event.payload.decoded))
          if (field(frame, 'type') === 'error') lastError.set(`${event.node} ${id}`, field(frame, 'code'));
        return undefined;
      }
      if (event.kind === 'reject') {
        // A relay's report names the queued ids; an accepted session's refusal names its connection.
        const queued = Array.isArray(field(event.detail, 'ids'));
        if (queued && (event.code === 'solec.unreachable' || event.code === 'solec.server-auth-failed'))
          reported.set(event.node, event.code);
        return undefined;
      }
      if (event.kind === 'state') {
        if (!event.machine.startsWith('solec.relay ')) return undefined;
        const code = reported.get(event.node);
        reported.delete(event.node);
        const id = event.machine.slice('solec.relay '.length);
        const owed =
          event.value === 'failed'
            ? 'solec.unreachable'
            : event.value === 'refused'
              ? lastError.get(`${event.node} ${id}`) === 3
                ? 'solec.server-auth-failed'
                : 'solec.unreachable'
              : undefined;
        if (code !== undefined && code !== owed)
          return `${event.node}'s relay ${id} reported its queue as ${code} on entering ${event.value}${owed === undefined ? '' : ` (owed ${owed})`}`;
        if (event.value !== 'failed') return undefined;
        const attempts = links.get(`${event.node} ${id}`)?.attempts ?? 0;
        return attempts === budget.attemptsMax
          ? undefined
          : `${event.node}'s relay ${id} gave up after ${attempts} failed attempts in a row (attemptsMax ${budget.attemptsMax})`;
      }
      if (event.kind !== 'conn.connect') return undefined;
      const id = relayLinkOf(event.conn);
      if (id === undefined) return undefined;
      const key = `${event.node} ${id}`;
      const link = links.get(key) ?? { attempts: 0, lastMs: event.atMs, open: undefined };
      links.set(key, link);
      const { attempts, lastMs, open } = link;
      Object.assign(link, { attempts: attempts + 1, lastMs: event.atMs, open: event.conn });
      if (open !== undefined)
        return `${event.node} opened ${event.conn} while ${open} of the same relay was still open`;
      if (attempts >= budget.attemptsMax)
        return `${event.node} opened ${event.conn} after ${attempts} failed attempts in a row (attemptsMax ${budget.attemptsMax})`;
      const waitMs = attempts === 0 ? 0 : budget.retryMs * 2 ** (attempts - 1);
      return event.atMs - lastMs < waitMs
        ? `${event.node} opened ${event.conn} ${event.atMs - lastMs} ms after the attempt before, under its backoff of ${waitMs} ms`
        : undefined;
    },
  };
}

/**
 * `solec.mailbox-flushed` (spec.md §4): Messages a server stored for a user who was not logged in
 * (`solec.stored`) are pushed at that user's next login. A login is the server's
 * `solec.authenticated` naming the user; the server pushes the held Messages (`solec.pushed`
 * naming the id, to the user) right after it. So a Message stored before a login of its recipient
 * on that server and not pushed by the recipient's next login there (or the end of the run) is a
 * violation. Whether the push then reaches the client is another matter (a push has no answer,
 * §4.1), and what the recipient is owed is the delivery promise's; this one holds under any fault.
 * A server that crashes loses its mailbox (it is volatile) and owes nothing stored before.
 */
export function mailboxFlushed(): Invariant {
  /** Per `<server> <user>`: the ids stored for the user and not pushed yet, with whether a login is past since. */
  const held = new Map<string, Map<string, boolean>>();
  const keyOf = (server: string, address: string | undefined) => {
    const user = parseAddress(address ?? '')?.user;
    return user === undefined ? undefined : `${server} ${user}`;
  };
  const overdue = (key: string): string | undefined => {
    const box = held.get(key);
    const [id] = [...(box?.entries() ?? [])].find(([, due]) => due) ?? [];
    if (id === undefined) return undefined;
    const [server, user] = key.split(' ');
    return `message ${id} stored on ${server} for ${user} was not pushed at ${user}'s login`;
  };
  return {
    name: 'solec.mailbox-flushed',
    kinds: ['note', 'node.crash'],
    observe(event) {
      if (event.kind === 'node.crash') {
        for (const key of [...held.keys()]) if (key.startsWith(`${event.node} `)) held.delete(key);
        return undefined;
      }
      if (event.kind !== 'note') return undefined;
      if (event.what === 'solec.stored' || event.what === 'solec.pushed') {
        const id = noteId(event);
        const key = keyOf(event.node, text(field(event.detail, 'to')));
        if (id === undefined || key === undefined) return undefined;
        const box = held.get(key) ?? new Map<string, boolean>();
        held.set(key, box);
        if (event.what === 'solec.stored') box.set(id, false);
        else box.delete(id);
        return undefined;
      }
      if (event.what !== 'solec.authenticated') return undefined;
      const peer = field(event.detail, 'peer');
      const name = text(field(peer, 'name'));
      if (field(peer, 'kind') !== 'user' || name === undefined) return undefined;
      const key = `${event.node} ${name}`;
      // The login before this one had to flush what was stored before it (reported once).
      const late = overdue(key);
      const box = held.get(key);
      if (box !== undefined) for (const [id, due] of [...box]) if (due) box.delete(id);
      if (box !== undefined) for (const id of box.keys()) box.set(id, true);
      return late;
    },
    finish() {
      for (const key of held.keys()) {
        const late = overdue(key);
        if (late !== undefined) return late;
      }
      return undefined;
    },
  };
}

/**
 * `solec.server-auth-bound` (spec.md §5, the seed's flaw): a server authenticates a peer as server
 * N only on a connection from N's own host (a server's name is its node id). Under `seed` a server
 * that names another in ServerAuth breaks it; `signed` refuses such a peer.
 */
export function serverAuthBound(context: InvariantContext): Invariant {
  const hostOf = new Map(
    context.nodes.flatMap((node) =>
      node.protocol === 'solec' && field(node.config, 'role') === 'server'
        ? [[node.id.toLowerCase(), node.host.toLowerCase()] as const]
        : [],
    ),
  );
  return {
    name: 'solec.server-auth-bound',
    kinds: ['note'],
    observe(event) {
      if (event.kind !== 'note' || event.what !== 'solec.authenticated') return undefined;
      const peer = field(event.detail, 'peer');
      const name = text(field(peer, 'name'));
      const remote = text(field(event.detail, 'remote'));
      if (field(peer, 'kind') !== 'server' || name === undefined || remote === undefined) return undefined;
      const host = hostOf.get(name.toLowerCase());
      return host === undefined || host === remote.toLowerCase()
        ? undefined
        : `${event.node} authenticated a connection from ${remote} as server ${name}, whose host is ${host}`;
    },
  };
}

export const solecInvariants: Readonly<Record<string, InvariantFactory>> = {
  'solec.authentic': (context) => authenticDelivery('solec.authentic', sentBy, context),
  'solec.exactlyOnce': (context) => exactlyOnce(context),
  'solec.server-auth-bound': serverAuthBound,
  'solec.mailbox-flushed': () => mailboxFlushed(),
  'solec.one-in-flight': () => oneInFlight(),
  'solec.relay-attempts': relayAttempts,
  'solec.no-duplicate-delivery': () => noDuplicateDelivery(damagedSenderCopies(), 'solec.no-duplicate-delivery'),
};
