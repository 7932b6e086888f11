/**
 * `f140.peer` (spec.md §5): one per remote user this node friends. It owns that user's outbound queue
 * (kept in the durable store), announces this node with PING on start, preflights with PING before a
 * run of MSGs, pushes queued messages one HTTP exchange at a time, retries transient failures with
 * doubling backoff, drops refused (once a second call confirms the refusal) and expired messages, and
 * pushes at once when the peer PINGs us.
 *
 * No I/O here: outputs are emitted (`output(...)`), timers are `after` on the host's clock, and the
 * only effects are on the store-backed Outbox the node passes in. Local API misuse cannot reach this
 * machine: the client role checks user commands before it queues anything.
 */
import { utf8Bytes } from '../../../core/bytes.js';
import { assign, emit, enqueueActions, setup } from 'xstate';
import type { Ms } from '../../../core/time.js';
import { output } from '../../../engine/actor.js';
import type { Endpoint } from '../../protocol.js';
import type { ChallengePair, Directory } from '../directory.js';
import type { Outbox, QueuedMessage } from '../store.js';
import { encodeBasicMessage, encodeForm, encodeRequest } from '../wire.js';

export interface PeerTiming {
  readonly retryMsBase: Ms;
  readonly retryMsMax: Ms;
  readonly requestTimeoutMs: Ms;
  readonly queueExpiryMs: Ms;
}

export interface PeerInput {
  /** Prefix of this peer's connection ids: exchange n uses `<name>#<n>`. */
  readonly name: string;
  readonly remote: string;
  readonly outbox: Outbox;
  readonly directory: Directory;
  /** The remote user's current address (learned from its last PING, else configured). */
  readonly address: () => Endpoint;
  /** Our own `host:port`, sent as PING's `reply_to`. */
  readonly replyTo: string;
  readonly now: () => Ms;
  readonly timing: PeerTiming;
  /** PING the remote user on start even with nothing queued (F140: a node announces itself). */
  readonly announce: boolean;
  /**
   * Profile `bound` (spec.md §8): turns a call's fields, made with the static pair, into the fields
   * sent (the nonce, and a proof as `challenge`) and the `response` a friend must answer. A pure
   * function. Unset: the seed's static pair travels as it is.
   */
  readonly bind?: (fields: Fields, pair: ChallengePair, nonce: string) => { fields: Fields; expected: string };
  /** Profile `bound`: drawn once per start; a call's nonce is this and the exchange's number. */
  readonly nonceSalt?: string;
}

type Fields = readonly (readonly [string, string])[];

/** The fields and expected answer of a call with the pair `pair` (bound when the profile says so). */
function sealed(context: PeerContext, fields: Fields, pair: ChallengePair): { fields: Fields; expected: string } {
  return context.bind
    ? context.bind(fields, pair, `${context.nonceSalt ?? ''}-${context.exchange}`)
    : { fields, expected: pair.response };
}

/** One HTTP call in flight: what was asked and what a friend must answer. */
export interface Exchange {
  readonly command: 'PING' | 'MSG';
  readonly from: string;
  readonly to: string;
  readonly expected: string;
  readonly fields: readonly (readonly [string, string])[];
  readonly message?: QueuedMessage;
}

interface PeerContext extends PeerInput {
  readonly exchange: number;
  readonly attempt: number;
  readonly pending: Exchange | undefined;
  /**
   * The local user whose call the remote last refused (an error answer or a wrong `response`), until
   * a MSG from that user is accepted. A second refusal confirms the first (spec.md §5): one damaged
   * segment can look like a refusal, two in a row are the friend's word.
   */
  readonly refusedFrom: string | undefined;
}

export type PeerEvent =
  | { type: 'queue.added' }
  | { type: 'user.ping' }
  | { type: 'peer.pinged' }
  | { type: 'conn.opened' }
  | { type: 'conn.failed'; reason: string }
  | { type: 'conn.closed' }
  | { type: 'http.response'; status: number; fields: ReadonlyMap<string, string> }
  | { type: 'http.invalid'; reason: string };

/** The path our client posts to (ours: F140's example path is deployment-specific; servers ignore it). */
export const servicePath = '/f140';

export function peerConnId(context: { name: string; exchange: number }): string {
  return `${context.name}#${context.exchange}`;
}

/** Doubling backoff from `retryMsBase`, capped at `retryMsMax`; `attempt` counts from 1. */
export function backoffMs(attempt: number, timing: PeerTiming): Ms {
  return Math.min(timing.retryMsMax, timing.retryMsBase * 2 ** Math.min(30, Math.max(0, attempt - 1)));
}

/** The first queued message that can still go (the outbox knows expiry and friendship: `Outbox.head`). */
function headDeliverable(context: PeerContext): QueuedMessage | undefined {
  return context.outbox.head(context.now(), context.timing.queueExpiryMs);
}

/**
 * What an answer to the exchange in flight says (spec.md §2.3, §4.4). An answer that has neither
 * shape (a 200 without `response`, an error status without `error` or with `response`) is malformed:
 * a damaged answer, never a refusal, so it is retried like any transient failure.
 */
export type AnswerKind = 'accepted' | 'mismatch' | 'transient' | 'malformed' | 'error';

export function answerKind(
  status: number,
  fields: ReadonlyMap<string, string>,
  expected: string | undefined,
): AnswerKind {
  const response = fields.get('response');
  if (status === 200) {
    if (response === undefined) return 'malformed';
    return expected !== undefined && response === expected ? 'accepted' : 'mismatch';
  }
  // Worth a retry: the server or a proxy is in trouble (5xx), timed out (408) or throttles us (429).
  if (status >= 500 || status === 408 || status === 429) return 'transient';
  return fields.has('error') && response === undefined ? 'error' : 'malformed';
}

/** The queued message a refusal of the exchange in flight would drop, if any (spec.md §5). */
function messageAtStake(context: PeerContext): QueuedMessage | undefined {
  const pending = context.pending;
  // A PING preflight speaks for the head message (same from:to pair).
  const message = pending?.message ?? (pending?.command === 'PING' ? headDeliverable(context) : undefined);
  return message && message.from === pending?.from ? message : undefined;
}

function pingExchange(context: PeerContext): Exchange | undefined {
  const head = headDeliverable(context);
  const pair = head
    ? { local: head.from, friend: context.directory.friendOf(head.from, context.remote) }
    : context.directory.firstFriendship(context.remote);
  if (!pair?.friend) return undefined;
  const call = sealed(
    context,
    [
      ['command', 'PING'],
      ['from_user', pair.local],
      ['challenge', pair.friend.outbound.challenge],
      ['to_user', context.remote],
      ['reply_to', context.replyTo],
    ],
    pair.friend.outbound,
  );
  return { command: 'PING', from: pair.local, to: context.remote, fields: call.fields, expected: call.expected };
}

function msgExchange(context: PeerContext): Exchange | undefined {
  const message = headDeliverable(context);
  const friend = message && context.directory.friendOf(message.from, message.to);
  if (!message || !friend) return undefined;
  const head: Fields = [
    ['command', 'MSG'],
    ['from_user', message.from],
    ['challenge', friend.outbound.challenge],
    ['to_user', message.to],
    ['msg_id', message.id],
  ];
  const tail: Fields =
    message.group === undefined
      ? [['message', encodeBasicMessage(message.text)]]
      : [
          ['group', message.group],
          ['message', encodeBasicMessage(message.text)],
        ];
  // Joined by `concat`, at their exact size: the context keeps the exchange until the next one,
  // and a spread into a literal leaves the list room for 17 (a big federation has one per node).
  const call = sealed(context, head.concat(tail), friend.outbound);
  return {
    command: 'MSG',
    from: message.from,
    to: message.to,
    message,
    fields: call.fields,
    expected: call.expected,
  };
}

export const peerMachine = setup({
  types: {
    context: {} as PeerContext,
    input: {} as PeerInput,
    events: {} as PeerEvent,
  },
  guards: {
    shouldAnnounce: ({ context }) => context.announce || headDeliverable(context) !== undefined,
    hasDeliverable: ({ context }) => headDeliverable(context) !== undefined,
    isAccepted: ({ context, event }) =>
      event.type === 'http.response' &&
      answerKind(event.status, event.fields, context.pending?.expected) === 'accepted',
    isTransient: ({ context, event }) => {
      if (event.type !== 'http.response') return false;
      const kind = answerKind(event.status, event.fields, context.pending?.expected);
      return kind === 'transient' || kind === 'malformed';
    },
    // A refusal that would drop a message is asked again once before it counts (spec.md §5): one
    // damaged request draws an honest 403, one damaged answer reads as a wrong `response`.
    isUnconfirmedRefusal: ({ context, event }) => {
      if (event.type !== 'http.response') return false;
      const kind = answerKind(event.status, event.fields, context.pending?.expected);
      return (
        (kind === 'error' || kind === 'mismatch') &&
        messageAtStake(context) !== undefined &&
        context.refusedFrom !== context.pending?.from
      );
    },
  },
  actions: {
    beginPing: assign({
      exchange: ({ context }) => context.exchange + 1,
      pending: ({ context }) => pingExchange(context),
    }),
    beginMsg: assign({
      exchange: ({ context }) => context.exchange + 1,
      pending: ({ context }) => msgExchange(context),
    }),
    connect: emit(({ context }) => output({ kind: 'connect', conn: peerConnId(context), target: context.address() })),
    writeRequest: enqueueActions(({ context, enqueue }) => {
      const pending = context.pending;
      if (!pending) return;
      const address = context.address();
      const host = 'path' in address ? address.path : `${address.host}:${address.port}`;
      const body = utf8Bytes(encodeForm(pending.fields));
      const bytes = encodeRequest({
        method: 'POST',
        target: servicePath,
        headers: [
          ['Host', host],
          ['Content-Type', 'application/x-www-form-urlencoded'],
          ['Connection', 'close'],
        ],
        body,
      });
      enqueue.emit(
        output({ kind: 'write', conn: peerConnId(context), bytes, decoded: Object.fromEntries(pending.fields) }),
      );
    }),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: peerConnId(context) })),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    noteRefusal: enqueueActions(({ context, event, enqueue }) => {
      const message = messageAtStake(context);
      enqueue.assign({ refusedFrom: context.pending?.from });
      enqueue.emit(
        output({
          kind: 'note',
          what: 'f140.refusal.unconfirmed',
          detail: {
            command: context.pending?.command,
            id: message?.id,
            from: context.pending?.from,
            to: context.remote,
            status: event.type === 'http.response' ? event.status : undefined,
            error: event.type === 'http.response' ? event.fields.get('error') : undefined,
          },
        }),
      );
    }),
    resetAttempts: assign({ attempt: 0 }),
    // Only `pinging` and `pushing` read the exchange, and both begin one of their own: an idle peer
    // need not keep the last (its fields and message, about 0.7 KiB; a big federation's peers are idle).
    forgetExchange: assign({ pending: undefined }),
    settleAccepted: enqueueActions(({ context, enqueue }) => {
      const message = context.pending?.message;
      if (!message) return;
      if (context.refusedFrom === message.from) enqueue.assign({ refusedFrom: undefined });
      enqueue(() => context.outbox.remove(message.seq));
      enqueue.emit(
        output({
          kind: 'note',
          what: 'f140.msg.accepted',
          detail: { id: message.id, from: message.from, to: message.to },
        }),
      );
    }),
    settleRefused: enqueueActions(({ context, event, enqueue }) => {
      const pending = context.pending;
      const status = event.type === 'http.response' ? event.status : undefined;
      const error = event.type === 'http.response' ? event.fields.get('error') : undefined;
      const message = messageAtStake(context);
      if (message && pending) {
        enqueue(() => context.outbox.remove(message.seq));
        enqueue.emit(
          output({
            kind: 'reject',
            code: 'f140.refused',
            reason: `${context.remote} refused ${pending.command} from ${pending.from}`,
            detail: { id: message.id, from: message.from, to: message.to, status, error },
          }),
        );
        return;
      }
      enqueue.emit(
        output({
          kind: 'reject',
          code: 'f140.ping.refused',
          reason: `${context.remote} refused PING from ${pending?.from ?? '?'}`,
          detail: { status, error },
        }),
      );
    }),
    dropStale: enqueueActions(({ context, enqueue }) => {
      for (const { message, expired } of context.outbox.stale(context.now(), context.timing.queueExpiryMs)) {
        enqueue(() => context.outbox.remove(message.seq));
        enqueue.emit(
          output({
            kind: 'reject',
            code: expired ? 'f140.expired' : 'f140.unfriended',
            reason: expired
              ? `queued for ${context.timing.queueExpiryMs} ms without delivery`
              : `${message.from} no longer friends ${message.to}`,
            detail: { id: message.id, from: message.from, to: message.to },
          }),
        );
      }
    }),
  },
  delays: {
    retryDelay: ({ context }) => backoffMs(context.attempt, context.timing),
    requestTimeout: ({ context }) => context.timing.requestTimeoutMs,
  },
}).createMachine({
  id: 'f140.peer',
  initial: 'starting',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) =>
    Object.assign({}, input, { exchange: 0, attempt: 0, pending: undefined, refusedFrom: undefined }),
  states: {
    starting: {
      always: [{ guard: 'shouldAnnounce', target: 'pinging' }, { target: 'idle' }],
    },
    idle: {
      entry: 'dropStale',
      on: {
        'queue.added': { target: 'pinging' },
        'user.ping': { target: 'pinging' },
        'peer.pinged': { target: 'settling' },
      },
    },
    pinging: {
      entry: ['beginPing', 'connect'],
      initial: 'connecting',
      states: {
        connecting: { on: { 'conn.opened': { target: 'waiting', actions: 'writeRequest' } } },
        waiting: {},
      },
      on: {
        'http.response': [
          { guard: 'isAccepted', target: 'settling', actions: ['closeConn', 'resetAttempts'] },
          { guard: 'isTransient', target: 'failing', actions: 'closeConn' },
          { guard: 'isUnconfirmedRefusal', target: 'failing', actions: ['closeConn', 'noteRefusal'] },
          { target: 'settling', actions: ['closeConn', 'settleRefused'] },
        ],
        'http.invalid': { target: 'failing', actions: 'closeConn' },
        'conn.failed': { target: 'failing' },
        'conn.closed': { target: 'failing' },
      },
      after: { requestTimeout: { target: 'failing', actions: 'closeConn' } },
    },
    pushing: {
      entry: ['dropStale', 'beginMsg', 'connect'],
      initial: 'connecting',
      states: {
        connecting: { on: { 'conn.opened': { target: 'waiting', actions: 'writeRequest' } } },
        waiting: {},
      },
      on: {
        'http.response': [
          { guard: 'isAccepted', target: 'settling', actions: ['closeConn', 'resetAttempts', 'settleAccepted'] },
          { guard: 'isTransient', target: 'failing', actions: 'closeConn' },
          { guard: 'isUnconfirmedRefusal', target: 'failing', actions: ['closeConn', 'noteRefusal'] },
          { target: 'settling', actions: ['closeConn', 'settleRefused'] },
        ],
        'http.invalid': { target: 'failing', actions: 'closeConn' },
        'conn.failed': { target: 'failing' },
        'conn.closed': { target: 'failing' },
      },
      after: { requestTimeout: { target: 'failing', actions: 'closeConn' } },
    },
    settling: {
      always: [
        { guard: 'hasDeliverable', target: 'pushing' },
        { target: 'idle', actions: 'forgetExchange' },
      ],
    },
    failing: {
      always: [
        { guard: 'hasDeliverable', target: 'backingOff' },
        { target: 'idle', actions: 'forgetExchange' },
      ],
    },
    backingOff: {
      entry: 'countAttempt',
      on: {
        'peer.pinged': { target: 'settling', actions: 'resetAttempts' },
        'user.ping': { target: 'pinging' },
      },
      after: { retryDelay: { target: 'pinging' } },
    },
  },
});
