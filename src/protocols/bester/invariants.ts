/**
 * Bester invariants (src/protocols/bester/spec.md). `bester.authentic`: a client receives only
 * the data some client sent (the body is the message's `data` as JSON, less the `via` list the
 * handlers' tags add, spec.md §8), and only from the server it is connected to (a delivery names
 * the server as its `from`; Bester has no user-level sender, and the handler picks the
 * recipients, so the body and that server are what is compared).
 */
import { authenticDelivery, type SentMessage } from '../../check/delivery.js';
import { field, text, type InvariantContext, type InvariantFactory, type InvariantNode } from '../../check/context.js';
import type { Invariant } from '../../check/invariants.js';

function sentBy(command: unknown): SentMessage[] {
  if (field(command, 'type') !== 'send') return [];
  return [{ from: undefined, to: undefined, body: JSON.stringify(field(command, 'data')) }];
}

/** The delivered body without the handlers' `via` tags: the data as its sender wrote it. */
function untagged(body: string): string {
  try {
    const value: unknown = JSON.parse(body);
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !('via' in value)) return body;
    const { via: _via, ...rest } = value as Record<string, unknown>;
    return JSON.stringify(rest);
  } catch {
    return body;
  }
}

/**
 * The data a decoded segment carries, as `sentBy` reads it (without `via`): a message's
 * `payload.data` (client to server, server to server, server to client), a handler's reply `data`,
 * or a handler's request, which is the data itself (no header).
 */
function carried(decoded: unknown): SentMessage[] {
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) return [];
  const header = field(decoded, 'header');
  const data = header === undefined ? decoded : (field(field(decoded, 'payload'), 'data') ?? field(decoded, 'data'));
  return data === undefined ? [] : [{ from: undefined, to: undefined, body: untagged(JSON.stringify(data)) }];
}

/**
 * Bester has no integrity check over a message (spec.md §10): a damage that still decodes is
 * delivered as it was damaged, the handlers passing the altered data on. `authenticDelivery`
 * excuses such a delivery when a damaged segment carried it altered from data a client sent
 * (`carried`); data no damaged segment carried is still a forgery.
 */
export function besterAuthentic(context: InvariantContext): Invariant {
  const inner = authenticDelivery('bester.authentic', sentBy, context, carried);
  const serverOf = new Map(
    context.nodes.flatMap((node) => {
      const host = text(field(field(node.config, 'server'), 'host'));
      return field(node.config, 'role') === 'client' && host !== undefined ? [[node.id, host] as const] : [];
    }),
  );
  return {
    ...inner,
    observe(event) {
      if (event.kind !== 'deliver') return inner.observe(event);
      const server = serverOf.get(event.node);
      if (server !== undefined && event.from !== server) {
        return `${event.user} at ${event.node} received ${JSON.stringify(event.body)} from ${event.from}, not from its server ${server}`;
      }
      return inner.observe({ ...event, body: untagged(event.body) });
    },
  };
}

/**
 * `bester.addressedOnly`: a client receives only data addressed to it, when the data names its
 * recipient in `to` (the fuzz topologies' handlers route by it: sendClients with usernamesField
 * `to`, spec.md §8). A server that writes to every client, or to the wrong one, breaks it.
 */
export function addressedOnly(): Invariant {
  return {
    name: 'bester.addressedOnly',
    kinds: ['deliver'],
    observe(event) {
      if (event.kind !== 'deliver') return undefined;
      let to: unknown;
      try {
        to = field(JSON.parse(event.body) as unknown, 'to');
      } catch {
        return undefined;
      }
      return typeof to === 'string' && to !== event.user
        ? `${event.user} at ${event.node} received data addressed to ${to}`
        : undefined;
    },
  };
}

/** Dispatch states that wait on a handler or a peer server (spec.md §4), bounded by handlerTimeoutMs. */
const waitingStates = new Set(['connecting', 'awaitingReply', 'forwarding']);
/** Slack past handlerTimeoutMs before a wait counts as a hang: the timer's own event and a round trip. */
const hangGraceMs = 1_000;

/**
 * `bester.no-hang` (spec.md §11, the original's issue #10): no server dispatch waits on a handler or
 * a peer server longer than its handlerTimeoutMs (plus a second), so no client message goes without
 * its status report for ever, nor the messages queued behind it on that connection. Judged at every
 * later event of the run and at its end; a crashed server's waits end with it.
 */
export function noHang(context: InvariantContext): Invariant {
  const timeoutOf = new Map(
    context.nodes.flatMap((node) => {
      if (node.protocol !== 'bester' || field(node.config, 'role') !== 'server') return [];
      const ms = field(node.config, 'handlerTimeoutMs');
      return [[node.id, typeof ms === 'number' ? ms : 5_000] as const];
    }),
  );
  /** By `node machine`: when the dispatch began its current wait. */
  const waiting = new Map<string, { node: string; machine: string; value: string; sinceMs: number }>();
  let lastMs = 0;
  const judge = (): string | undefined => {
    for (const wait of waiting.values()) {
      const limitMs = (timeoutOf.get(wait.node) ?? 5_000) + hangGraceMs;
      if (lastMs - wait.sinceMs > limitMs) {
        return `${wait.machine} at ${wait.node} has been ${wait.value} since ${wait.sinceMs}ms (${lastMs - wait.sinceMs}ms, over handlerTimeoutMs + ${hangGraceMs}ms): its client's message hangs`;
      }
    }
    return undefined;
  };
  return {
    name: 'bester.no-hang',
    observe(event) {
      lastMs = Math.max(lastMs, event.atMs);
      if (event.kind === 'state' && timeoutOf.has(event.node) && event.machine.startsWith('bester.dispatch ')) {
        const key = `${event.node} ${event.machine}`;
        if (waitingStates.has(event.value))
          waiting.set(key, { node: event.node, machine: event.machine, value: event.value, sinceMs: event.atMs });
        else waiting.delete(key);
      } else if (event.kind === 'fault' && event.fault === 'crash' && event.phase === 'begin') {
        const crashed = field(event.detail, 'node');
        for (const [key, wait] of waiting) if (wait.node === crashed) waiting.delete(key);
      }
      return judge();
    },
    finish: judge,
  };
}

/**
 * `bester.forward-has-id` (spec.md §7 bug 1): every message a server forwards to another server
 * (scope `server`) carries the message `id` that every receiver requires.
 */
export function forwardHasId(context: InvariantContext): Invariant {
  const servers = new Set(
    context.nodes.flatMap((node) =>
      node.protocol === 'bester' && field(node.config, 'role') === 'server' ? [node.id] : [],
    ),
  );
  return {
    name: 'bester.forward-has-id',
    kinds: ['send'],
    observe(event) {
      if (event.kind !== 'send' || !servers.has(event.node)) return undefined;
      const decoded = event.payload.decoded;
      if (field(field(decoded, 'header'), 'scope') !== 'server') return undefined;
      const payload = field(decoded, 'payload');
      return text(field(payload, 'id')) === undefined
        ? `${event.node} forwarded a ${JSON.stringify(field(payload, 'type'))} message to ${event.to} without its id`
        : undefined;
    },
  };
}

/** The handler commands a server knows (spec.md §4). */
const knownCommands = new Set(['sendClients', 'sendServers', 'sendHandler']);

/**
 * `bester.known-commands-only` (spec.md §7 bug 2): a dispatch whose handler answered with a command
 * the server does not know never ends well: it is refused, not run as sendClients.
 */
export function knownCommandsOnly(context: InvariantContext): Invariant {
  const servers = new Set(
    context.nodes.flatMap((node) =>
      node.protocol === 'bester' && field(node.config, 'role') === 'server' ? [node.id] : [],
    ),
  );
  /** `node dispatch` to the unknown command its handler answered. */
  const unknown = new Map<string, string>();
  return {
    name: 'bester.known-commands-only',
    kinds: ['receive', 'state'],
    observe(event) {
      if (!servers.has(event.node)) return undefined;
      if (event.kind === 'receive') {
        const match = /^(out:d:\d+)\/h\d+$/.exec(event.conn ?? '');
        const header = field(event.payload.decoded, 'header');
        const type = field(field(header, 'command'), 'type');
        if (match && field(header, 'status') === '0' && typeof type === 'string' && !knownCommands.has(type))
          unknown.set(`${event.node} ${match[1]}`, type);
        return undefined;
      }
      if (event.kind !== 'state' || !event.machine.startsWith('bester.dispatch ')) return undefined;
      const key = `${event.node} ${event.machine.slice('bester.dispatch '.length)}`;
      const command = unknown.get(key);
      if (command === undefined || event.value !== 'succeeded') return undefined;
      return `${event.machine} at ${event.node} ran the unknown handler command ${JSON.stringify(command)} and succeeded`;
    },
  };
}

/**
 * `bester.informer-truthful` (spec.md §7 bug 3): the informer's isClient is false for a username no
 * client of the run uses (the usernames the run's client nodes log in with).
 */
export function informerTruthful(context: InvariantContext): Invariant {
  const usernames = new Set(
    context.nodes.flatMap((node) => {
      const username = text(field(node.config, 'username'));
      return node.protocol === 'bester' && username !== undefined ? [username] : [];
    }),
  );
  return {
    name: 'bester.informer-truthful',
    kinds: ['note'],
    observe(event) {
      if (event.kind !== 'note' || event.what !== 'bester.informer.reply') return undefined;
      const request = field(event.detail, 'request');
      const name = field(request, 'data');
      if (field(request, 'type') !== 'isClient' || typeof name !== 'string' || usernames.has(name)) return undefined;
      return field(field(event.detail, 'reply'), 'data') === true
        ? `the informer says ${JSON.stringify(name)} is a client, but no client uses that name`
        : undefined;
    },
  };
}

/** Handlers one message may visit through sendHandler (server.ts `hopsMax`). */
const hopsMax = 8;
/** Slack for the status report's trip back and the queue ahead of it, per message. */
const statusGraceMs = 1_000;

interface Expected {
  readonly status: 'good' | 'bad';
  /** By when, after the dispatch began, the report is sure to have been sent. */
  readonly withinMs: number;
}

/**
 * What a client's message of `type` is answered, by the rules of the handlers its server reaches
 * (spec.md §4): `good` once a sendClients runs (also when nobody matched); `bad` for a non-zero
 * status, an unknown command, a reply that is not JSON, a chain past `hopsMax`, or a handler slower
 * than `handlerTimeoutMs` (the fixed profile gives up on it). Undefined where the outcome depends on
 * the network (sendServers), on a handler that is down or on a delay near the timeout, or the
 * server is not `fixed`.
 */
function expectedStatus(context: InvariantContext, client: InvariantNode, type: string): Expected | undefined {
  const host = text(field(field(client.config, 'server'), 'host'));
  const server = context.nodes.find((node) => field(node.config, 'role') === 'server' && node.host === host);
  if (server === undefined || field(server.config, 'profile') !== 'fixed') return undefined;
  const timeoutMs = field(server.config, 'handlerTimeoutMs');
  if (typeof timeoutMs !== 'number') return undefined;
  let name = type;
  let tookMs = 0;
  for (let hop = 1; hop <= hopsMax + 1; hop += 1) {
    if (hop > hopsMax) return { status: 'bad', withinMs: tookMs + statusGraceMs };
    const path = text(field(field(field(server.config, 'handlers'), name), 'path'));
    const handler = context.nodes.find(
      (node) => field(node.config, 'role') === 'handler' && node.host === host && field(node.config, 'path') === path,
    );
    if (path === undefined || handler === undefined || field(handler.config, 'down') === true) return undefined;
    const delayMs = field(handler.config, 'delayMs');
    if (typeof delayMs !== 'number') return undefined;
    if (delayMs >= timeoutMs + statusGraceMs) return { status: 'bad', withinMs: tookMs + timeoutMs + statusGraceMs };
    if (delayMs + statusGraceMs > timeoutMs) return undefined;
    tookMs += delayMs;
    const rule = field(handler.config, 'rule');
    const command = field(rule, 'command');
    if (command === 'sendClients') return { status: 'good', withinMs: tookMs + statusGraceMs };
    if (command === 'sendHandler') {
      const next = text(field(rule, 'handler'));
      if (next === undefined) return undefined;
      name = next;
      continue;
    }
    if (command === 'error') {
      const status = text(field(rule, 'status')) ?? '';
      return /^\d+$/.test(status) && Number(status) !== 0
        ? { status: 'bad', withinMs: tookMs + statusGraceMs }
        : undefined;
    }
    return command === 'other' || command === 'garbage'
      ? { status: 'bad', withinMs: tookMs + statusGraceMs }
      : undefined;
  }
  return undefined;
}

/**
 * `bester.status-reported` (spec.md §4): the status report a client gets for its message is the one
 * its server's handlers make: a chain's end decides it (`good` once its sendClients ran), a handler's
 * non-zero status is passed on as `bad`, and a handler slower than `handlerTimeoutMs` gives `bad`
 * (the fixed profile's timeout, §7 bug 4). Messages whose outcome the network decides (sendServers)
 * are not judged. A client that never crashed and sent only judged messages is told about each, in
 * order: at the end of the run, no message is still untold past its bound, counted from when the
 * one ahead of it was told (or from its send): the handlers' delays, or the timeout, and a second.
 */
export function statusReported(context: InvariantContext): Invariant {
  const clients = new Map(
    context.nodes.flatMap((node) =>
      node.protocol === 'bester' && field(node.config, 'role') === 'client' ? [[node.id, node] as const] : [],
    ),
  );
  /** By client node: its judged messages not yet told, in the order sent. */
  const untold = new Map<string, { id: string; type: string; atMs: number; expected: Expected }[]>();
  /** Clients that crashed, or sent a message whose outcome is not judged (it may hold up the rest). */
  const unbounded = new Set<string>();
  /** By client node: when it was last told a status it was owed. */
  const toldMs = new Map<string, number>();
  let lastMs = 0;
  return {
    name: 'bester.status-reported',
    kinds: ['command', 'note', 'node.crash'],
    observe(event) {
      lastMs = Math.max(lastMs, event.atMs);
      const client = clients.get(event.node);
      if (client === undefined) return undefined;
      if (event.kind === 'node.crash') {
        unbounded.add(event.node);
        untold.delete(event.node);
        return undefined;
      }
      if (event.kind === 'command') {
        const type = text(field(event.command, 'messageType'));
        const id = text(field(event.command, 'id'));
        if (field(event.command, 'type') !== 'send' || type === undefined || id === undefined) return undefined;
        const expected = expectedStatus(context, client, type);
        if (expected === undefined) unbounded.add(event.node);
        if (expected === undefined) return undefined;
        untold.set(event.node, [...(untold.get(event.node) ?? []), { id, type, atMs: event.atMs, expected }]);
        return undefined;
      }
      if (event.kind !== 'note' || event.what !== 'bester.status') return undefined;
      const id = text(field(event.detail, 'id'));
      const queue = untold.get(event.node) ?? [];
      const at = queue.findIndex((message) => message.id === id);
      const message = queue[at];
      if (message === undefined) return undefined;
      queue.splice(at, 1);
      toldMs.set(event.node, event.atMs);
      const status = field(event.detail, 'status');
      return status === message.expected.status
        ? undefined
        : `${event.node} was told ${JSON.stringify(status)} for its message ${message.id} of type ${message.type}, where its server's handlers answer ${message.expected.status}`;
    },
    finish() {
      for (const [node, queue] of untold) {
        if (unbounded.has(node)) continue;
        // Each message is dispatched once the one ahead of it was answered, and told within its bound.
        let dueMs = toldMs.get(node) ?? 0;
        for (const message of queue) {
          dueMs = Math.max(dueMs, message.atMs) + message.expected.withinMs;
          if (lastMs > dueMs)
            return `${node} was never told the status of its message ${message.id} of type ${message.type} (sent at ${message.atMs}ms, ${message.expected.status} due by ${dueMs}ms)`;
        }
      }
      return undefined;
    },
  };
}

export const besterInvariants: Readonly<Record<string, InvariantFactory>> = {
  'bester.status-reported': statusReported,
  'bester.authentic': besterAuthentic,
  'bester.addressedOnly': () => addressedOnly(),
  'bester.no-hang': noHang,
  'bester.forward-has-id': forwardHasId,
  'bester.known-commands-only': knownCommandsOnly,
  'bester.informer-truthful': informerTruthful,
};
