/**
 * SOLEC client: one user's connection to its home server. Client-Server connection
 * initialisation (Handshake, UserAuth, then Success or Error 0x01), then sending Messages one at a
 * time (each answered by Success or Error 0x02) and taking the Messages the server pushes.
 *
 * Sequential operations (seed §2.5): a Message pushed while the client waits for the answer to
 * its own Message, or before its login finished, is held and delivered after the operation ends.
 *
 * Reconnecting (spec.md §4.1, ours): once logged in, a connection the user did not close (closed
 * by the server, a bad frame, no answer in time) is opened again with backoff and the login
 * repeated; the Message in flight is sent again with its id (the server drops a duplicate), so a
 * corrupted segment costs a reconnect, not a message. A first login that fails stays failed.
 *
 * No I/O here: the machine emits `output` events; its timers run on the host's clock; message ids
 * and times arrive inside `user.send`. Local API misuse (sending after a failed login) gives a
 * `reject` output. A misbehaving server gets a `reject` and a close, never a throw.
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import { retryDelayMs, unexpectedReject, write, type LinkEvent } from '../link-outputs.js';
import type { NodeOutput } from '../../protocol.js';
import { connType, type ErrorCode, type Payload } from '../wire.js';

type MessagePayload = Extract<Payload, { type: 'message' }>;

export interface ClientInput {
  readonly conn: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** `username@server`. */
  readonly address: string;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly authTimeoutMs: number;
  readonly responseTimeoutMs: number;
  /** First backoff before reconnecting; it doubles with each failure in a row. */
  readonly retryMs: number;
  /** Connections lost in a row (without a Message confirmed in between) before the client gives up. */
  readonly attemptsMax: number;
}

interface ClientContext extends ClientInput {
  /** Connection attempts made so far; attempt n > 1 uses connection id `<conn>#<n>`. */
  readonly connSeq: number;
  /** Connections lost in a row since a Message was last confirmed (or a login found nothing unsent). */
  readonly failures: number;
  /** Messages waiting to be sent, oldest first. */
  readonly queue: readonly MessagePayload[];
  /** The Message whose answer the client is waiting for. */
  readonly inflight: MessagePayload | undefined;
  /** Pushed Messages held until the current operation ends. */
  readonly held: readonly MessagePayload[];
}

export type ClientEvent =
  | { type: 'user.send'; payload: MessagePayload }
  | { type: 'user.logout' }
  | { type: 'wire.message'; payload: MessagePayload }
  | LinkEvent;

/**
 * Messages a client holds (queued plus held) before it refuses more: a client that cannot reach
 * its server should fail loudly, not grow without bound. 1000 is far above any scenario's need.
 */
export const clientQueueMessagesMax = 1_000;

/** The connection id of the client's current attempt: the first keeps the plain id. */
export function clientConnId(context: { conn: string; connSeq: number }): string {
  return context.connSeq === 1 ? context.conn : `${context.conn}#${context.connSeq}`;
}

const errorNames: Record<ErrorCode, string> = { 1: 'client auth failed', 2: 'not found', 3: 'server auth failed' };

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    input: {} as ClientInput,
    events: {} as ClientEvent,
    emitted: {} as { type: 'output'; output: NodeOutput },
  },
  guards: {
    hasQueued: ({ context }) => context.queue.length > 0,
    hasRoom: ({ context }) => context.queue.length + context.held.length < clientQueueMessagesMax,
    hasAttemptsLeft: ({ context }) => context.failures < context.attemptsMax,
    isReconnecting: ({ context }) => context.connSeq > 1,
  },
  actions: {
    connect: emit(({ context }) =>
      output({ kind: 'connect', conn: clientConnId(context), target: { host: context.host, port: context.port } }),
    ),
    writeHandshakeAndAuth: emit(({ context }) =>
      write(clientConnId(context), [
        {
          type: 'handshake',
          verMajor: context.versionMajor,
          verMinor: context.versionMinor,
          connType: connType.userToServer,
        },
        { type: 'userAuth', username: context.username, password: context.password },
      ]),
    ),
    nextAttempt: assign({ connSeq: ({ context }) => context.connSeq + 1 }),
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
    resetFailures: assign({ failures: 0 }),
    resetFailuresIfIdle: assign({
      failures: ({ context }) => (context.inflight === undefined && context.queue.length === 0 ? 0 : context.failures),
    }),
    // The unanswered Message goes first again, with its id: the server drops it if it had it.
    requeueInflight: assign({
      queue: ({ context }) => (context.inflight ? [context.inflight, ...context.queue] : context.queue),
      inflight: undefined,
    }),
    noteReconnecting: emit(({ context }) =>
      output({
        kind: 'note',
        what: 'solec.reconnecting',
        detail: {
          conn: clientConnId(context),
          failures: context.failures,
          unsent: [...(context.inflight ? [context.inflight] : []), ...context.queue].map((message) => message.id),
        },
      }),
    ),
    queueMessage: assign({
      queue: ({ context, event }) => (event.type === 'user.send' ? [...context.queue, event.payload] : context.queue),
    }),
    rejectFull: emit(({ context }) =>
      output({
        kind: 'reject',
        code: 'solec.queue-full',
        reason: `${clientQueueMessagesMax} messages already waiting`,
        detail: { conn: clientConnId(context) },
      }),
    ),
    writeHead: enqueueActions(({ context, enqueue }) => {
      const [head, ...rest] = context.queue;
      if (!head) return;
      enqueue.assign({ inflight: head, queue: rest });
      enqueue.emit(write(clientConnId(context), [head]));
    }),
    noteSent: emit(({ context }) =>
      output({ kind: 'note', what: 'solec.sent', detail: { id: context.inflight?.id, to: context.inflight?.to } }),
    ),
    rejectInflight: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: 'solec.not-delivered',
        reason: `server answered Error 0x0${event.type === 'wire.error' ? event.code : '?'} (${event.type === 'wire.error' ? errorNames[event.code] : '?'})`,
        detail: { id: context.inflight?.id, to: context.inflight?.to },
      }),
    ),
    clearInflight: assign({ inflight: undefined }),
    holdMessage: assign({
      held: ({ context, event }) => (event.type === 'wire.message' ? [...context.held, event.payload] : context.held),
    }),
    noteHeld: emit(({ context, event }) =>
      output({
        kind: 'note',
        what: 'solec.held',
        detail: { id: event.type === 'wire.message' ? event.payload.id : undefined, conn: clientConnId(context) },
      }),
    ),
    deliverMessage: emit(({ context, event }) => {
      const message = event.type === 'wire.message' ? event.payload : undefined;
      return output({
        kind: 'deliver',
        user: context.address,
        from: message?.from ?? '',
        body: message?.body ?? '',
        id: message?.id ?? '',
      });
    }),
    deliverHeld: enqueueActions(({ context, enqueue }) => {
      for (const message of context.held) {
        enqueue.emit(
          output({ kind: 'deliver', user: context.address, from: message.from, body: message.body, id: message.id }),
        );
      }
      enqueue.assign({ held: [] });
    }),
    rejectLogin: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: event.type === 'wire.error' ? 'solec.client-auth-failed' : 'solec.login-failed',
        reason:
          event.type === 'wire.error'
            ? `server answered Error 0x0${event.code} (${errorNames[event.code]})`
            : event.type === 'conn.closed'
              ? 'the server closed the connection during initialisation (ver_major mismatch?)'
              : event.type === 'conn.failed'
                ? `cannot connect: ${event.reason}`
                : 'connection initialisation did not finish in time',
        detail: { conn: clientConnId(context) },
      }),
    ),
    rejectUnsent: enqueueActions(({ context, enqueue }) => {
      const unsent = [...(context.inflight ? [context.inflight] : []), ...context.queue];
      if (unsent.length === 0) return;
      enqueue.emit(
        output({
          kind: 'reject',
          code: 'solec.unsent',
          reason: `${unsent.length} message(s) not confirmed by the server`,
          detail: { ids: unsent.map((message) => message.id) },
        }),
      );
    }),
    rejectUnexpected: emit(({ context, event }) => output(unexpectedReject(event, clientConnId(context)))),
    closeConnection: emit(({ context }) => output({ kind: 'close', conn: clientConnId(context) })),
  },
  delays: {
    retryDelay: ({ context }) => retryDelayMs(context.retryMs, context.failures),
    authTimeout: ({ context }) => context.authTimeoutMs,
    responseTimeout: ({ context }) => context.responseTimeoutMs,
  },
}).createMachine({
  id: 'solec.client',
  initial: 'connecting',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }): ClientContext =>
    Object.assign({}, input, { connSeq: 1, failures: 0, queue: [], inflight: undefined, held: [] }),
  on: {
    'user.send': [{ guard: 'hasRoom', actions: 'queueMessage' }, { actions: 'rejectFull' }],
    'wire.invalid': { target: '.closed', actions: ['rejectUnexpected', 'rejectUnsent', 'closeConnection'] },
    'wire.unexpected': { target: '.closed', actions: ['rejectUnexpected', 'rejectUnsent', 'closeConnection'] },
    'user.logout': { target: '.closed', actions: ['rejectUnsent', 'closeConnection'] },
  },
  states: {
    connecting: {
      entry: 'connect',
      on: {
        'conn.opened': { target: 'authenticating' },
        'conn.failed': [
          { guard: 'isReconnecting', target: 'retrying', actions: 'countFailure' },
          { target: 'failed', actions: ['rejectLogin', 'rejectUnsent'] },
        ],
        'conn.closed': [
          { guard: 'isReconnecting', target: 'retrying', actions: 'countFailure' },
          { target: 'failed', actions: ['rejectLogin', 'rejectUnsent'] },
        ],
      },
    },
    authenticating: {
      entry: 'writeHandshakeAndAuth',
      after: {
        authTimeout: [
          { guard: 'isReconnecting', target: 'retrying', actions: ['closeConnection', 'countFailure'] },
          { target: 'failed', actions: ['rejectLogin', 'rejectUnsent', 'closeConnection'] },
        ],
      },
      on: {
        'wire.success': { target: 'established', actions: 'resetFailuresIfIdle' },
        // Error 0x01 is an answer, not a fault: the credentials are wrong, and trying again will not help.
        'wire.error': { target: 'failed', actions: ['rejectLogin', 'rejectUnsent', 'closeConnection'] },
        'wire.message': { actions: ['holdMessage', 'noteHeld'] },
        'conn.closed': [
          { guard: 'isReconnecting', target: 'retrying', actions: 'countFailure' },
          { target: 'failed', actions: ['rejectLogin', 'rejectUnsent'] },
        ],
        'wire.invalid': [
          {
            guard: 'isReconnecting',
            target: 'retrying',
            actions: ['rejectUnexpected', 'closeConnection', 'countFailure'],
          },
          { target: 'closed', actions: ['rejectUnexpected', 'rejectUnsent', 'closeConnection'] },
        ],
      },
    },
    // Once logged in, a connection lost without the user asking is opened again (ours, spec.md §4.1).
    established: {
      initial: 'ready',
      entry: 'deliverHeld',
      on: {
        'conn.closed': { target: 'retrying', actions: 'countFailure' },
        'wire.invalid': { target: 'retrying', actions: ['rejectUnexpected', 'closeConnection', 'countFailure'] },
        'wire.unexpected': { target: 'retrying', actions: ['rejectUnexpected', 'closeConnection', 'countFailure'] },
      },
      states: {
        ready: {
          always: { guard: 'hasQueued', target: 'sending' },
          on: {
            'wire.message': { actions: 'deliverMessage' },
            'wire.success': {
              target: '#client-retrying',
              actions: ['rejectUnexpected', 'closeConnection', 'countFailure'],
            },
            'wire.error': {
              target: '#client-retrying',
              actions: ['rejectUnexpected', 'closeConnection', 'countFailure'],
            },
          },
        },
        sending: {
          entry: 'writeHead',
          exit: 'deliverHeld',
          after: { responseTimeout: { target: '#client-retrying', actions: ['closeConnection', 'countFailure'] } },
          on: {
            'wire.message': { actions: ['holdMessage', 'noteHeld'] },
            'wire.success': { target: 'ready', actions: ['noteSent', 'clearInflight', 'resetFailures'] },
            'wire.error': { target: 'ready', actions: ['rejectInflight', 'clearInflight'] },
          },
        },
      },
    },
    // Decides between another attempt and giving up; transient.
    retrying: {
      id: 'client-retrying',
      always: [
        { guard: 'hasAttemptsLeft', target: 'backingOff', actions: ['requeueInflight', 'noteReconnecting'] },
        { target: 'closed', actions: 'rejectUnsent' },
      ],
    },
    backingOff: {
      after: { retryDelay: { target: 'connecting', actions: 'nextAttempt' } },
    },
    failed: { type: 'final' },
    closed: { id: 'client-closed', type: 'final' },
  },
});
