/**
 * SOLEC relay link: one server's outbound connection to another server, opened to deliver
 * messages to that server's users (seed §2.6). Server-Server connection initialisation
 * (Handshake with connection type 0x02, ServerAuth, and under the signed profile a Challenge
 * answered by a Proof), then Messages one at a time, each answered by Success or Error.
 *
 * Messages handed over while the link connects or authenticates are held and sent once it is
 * established (a multi-round operation is never interrupted). A lost connection is retried with
 * backoff; the message in flight is sent again and the receiver drops the duplicate by id. A
 * refused ServerAuth (Error 0x03) is final: nothing queued is ever sent to that server.
 *
 * No I/O here: the machine emits `output` events and its timers run on the host's clock.
 */
import { assign, emit, enqueueActions, not, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import { retryDelayMs, unexpectedReject, write, type LinkEvent } from '../link-outputs.js';
import type { NodeOutput } from '../../protocol.js';
import { challengeText, signChallenge } from '../keys.js';
import { connType, errorCode, type Payload } from '../wire.js';

type MessagePayload = Extract<Payload, { type: 'message' }>;

export interface RelayInput {
  readonly link: string;
  readonly peerName: string;
  readonly host: string;
  readonly port: number;
  /** The name presented in ServerAuth (this server's own, unless it is configured to impersonate). */
  readonly claimName: string;
  readonly profile: 'seed' | 'signed';
  /** This server's Ed25519 secret key (signed profile). */
  readonly secretKey: Uint8Array;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly authTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly retryMs: number;
  readonly attemptsMax: number;
}

interface RelayContext extends RelayInput {
  readonly queue: readonly MessagePayload[];
  /** Connection attempts made so far; each gets its own connection id `<link>#<n>`. */
  readonly connSeq: number;
  /** Failed attempts since the link was last established. */
  readonly failures: number;
}

export type RelayEvent =
  { type: 'relay.send'; payload: MessagePayload } | { type: 'wire.challenge'; nonce: Uint8Array } | LinkEvent;

/**
 * Messages one link holds for its peer. A peer that stays unreachable for long should not make a
 * server grow without bound; past this the home server answers its client with Error 0x02.
 */
export const relayQueueMessagesMax = 10_000;

/** The connection id of the link's current attempt. */
export function relayConnId(context: { link: string; connSeq: number }): string {
  return `${context.link}#${context.connSeq}`;
}

export const relayMachine = setup({
  // Stryker disable next-line ObjectLiteral: xstate's `types` is read by TypeScript only, never at run time
  types: {
    context: {} as RelayContext,
    input: {} as RelayInput,
    events: {} as RelayEvent,
    emitted: {} as { type: 'output'; output: NodeOutput },
  },
  guards: {
    hasQueued: ({ context }) => context.queue.length > 0,
    hasAttemptsLeft: ({ context }) => context.failures < context.attemptsMax,
    isSignedProfile: ({ context }) => context.profile === 'signed',
  },
  actions: {
    connect: emit(({ context }) =>
      output({ kind: 'connect', conn: relayConnId(context), target: { host: context.host, port: context.port } }),
    ),
    nextAttempt: assign({ connSeq: ({ context }) => context.connSeq + 1 }),
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
    resetFailures: assign({ failures: 0 }),
    queueMessage: assign({
      queue: ({ context, event }) => (event.type === 'relay.send' ? [...context.queue, event.payload] : context.queue),
    }),
    writeHandshakeAndServerAuth: emit(({ context }) =>
      write(relayConnId(context), [
        {
          type: 'handshake',
          verMajor: context.versionMajor,
          verMinor: context.versionMinor,
          connType: connType.serverToServer,
        },
        { type: 'serverAuth', name: context.claimName },
      ]),
    ),
    writeProof: emit(({ context, event }) => {
      const nonce = event.type === 'wire.challenge' ? event.nonce : new Uint8Array(0);
      const signature = signChallenge(context.secretKey, challengeText(nonce, context.claimName, context.peerName));
      return write(relayConnId(context), [{ type: 'proof', signature }]);
    }),
    writeHead: emit(({ context }) => write(relayConnId(context), context.queue.slice(0, 1))),
    noteAuthenticated: emit(({ context }) =>
      output({
        kind: 'note',
        what: 'solec.link-authenticated',
        detail: { peer: context.peerName, as: context.claimName, conn: relayConnId(context) },
      }),
    ),
    noteRelayed: emit(({ context }) =>
      output({
        kind: 'note',
        what: 'solec.relayed',
        detail: { id: context.queue[0]?.id, to: context.queue[0]?.to, peer: context.peerName },
      }),
    ),
    rejectHead: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: 'solec.relay-refused',
        reason: `${context.peerName} answered Error 0x0${event.type === 'wire.error' ? event.code : '?'}`,
        detail: { id: context.queue[0]?.id, from: context.queue[0]?.from, to: context.queue[0]?.to },
      }),
    ),
    dropHead: assign({ queue: ({ context }) => context.queue.slice(1) }),
    rejectQueued: enqueueActions(({ context, event, enqueue }) => {
      if (context.queue.length === 0) return;
      const refused = event.type === 'wire.error' && event.code === errorCode.serverAuthFailed;
      enqueue.emit(
        output({
          kind: 'reject',
          code: refused ? 'solec.server-auth-failed' : 'solec.unreachable',
          reason: refused
            ? `${context.peerName} refused ServerAuth as ${JSON.stringify(context.claimName)} (Error 0x03)`
            : `gave up on ${context.peerName} after ${context.failures} failed attempts`,
          detail: { ids: context.queue.map((message) => message.id) },
        }),
      );
      // Stryker disable next-line ObjectLiteral,ArrayDeclaration: rejectQueued runs only on the way into a final state (refused, failed), where the queue is never read again
      enqueue.assign({ queue: [] });
    }),
    rejectUnexpected: emit(({ context, event }) => output(unexpectedReject(event, relayConnId(context)))),
    closeConnection: emit(({ context }) => output({ kind: 'close', conn: relayConnId(context) })),
  },
  delays: {
    retryDelay: ({ context }) => retryDelayMs(context.retryMs, context.failures),
    authTimeout: ({ context }) => context.authTimeoutMs,
    responseTimeout: ({ context }) => context.responseTimeoutMs,
  },
}).createMachine({
  id: 'solec.relay',
  initial: 'connecting',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) => Object.assign({}, input, { queue: [], connSeq: 1, failures: 0 }),
  on: {
    'relay.send': { actions: 'queueMessage' },
  },
  states: {
    connecting: {
      entry: 'connect',
      on: {
        'conn.opened': { target: 'authenticating' },
        'conn.failed': { target: 'retrying', actions: 'countFailure' },
        'conn.closed': { target: 'retrying', actions: 'countFailure' },
      },
    },
    authenticating: {
      entry: 'writeHandshakeAndServerAuth',
      after: { authTimeout: { target: 'retrying', actions: ['closeConnection', 'countFailure'] } },
      on: {
        'wire.challenge': [
          { guard: 'isSignedProfile', actions: 'writeProof' },
          { target: 'retrying', actions: ['rejectUnexpected', 'closeConnection', 'countFailure'] },
        ],
        'wire.success': { target: 'established', actions: ['resetFailures', 'noteAuthenticated'] },
        'wire.error': { target: 'refused', actions: ['rejectQueued', 'closeConnection'] },
        'conn.closed': { target: 'retrying', actions: 'countFailure' },
        'wire.invalid': { target: 'retrying', actions: ['rejectUnexpected', 'closeConnection', 'countFailure'] },
        'wire.unexpected': { target: 'retrying', actions: ['rejectUnexpected', 'closeConnection', 'countFailure'] },
      },
    },
    established: {
      initial: 'ready',
      on: {
        'conn.closed': { target: 'retrying', actions: 'countFailure' },
        'wire.invalid': { target: 'retrying', actions: ['rejectUnexpected', 'closeConnection', 'countFailure'] },
        'wire.unexpected': { target: 'retrying', actions: ['rejectUnexpected', 'closeConnection', 'countFailure'] },
        'wire.challenge': { target: 'retrying', actions: ['rejectUnexpected', 'closeConnection', 'countFailure'] },
      },
      states: {
        ready: {
          always: { guard: 'hasQueued', target: 'sending' },
          on: {
            'relay.send': { actions: 'queueMessage', target: 'sending' },
            'wire.success': { target: '#relay-retrying', actions: ['closeConnection', 'countFailure'] },
            'wire.error': { target: '#relay-retrying', actions: ['closeConnection', 'countFailure'] },
          },
        },
        sending: {
          entry: 'writeHead',
          after: { responseTimeout: { target: '#relay-retrying', actions: ['closeConnection', 'countFailure'] } },
          on: {
            'wire.success': { target: 'ready', actions: ['noteRelayed', 'dropHead'] },
            'wire.error': { target: 'ready', actions: ['rejectHead', 'dropHead'] },
          },
        },
      },
    },
    // Decides between another attempt and giving up; transient.
    retrying: {
      id: 'relay-retrying',
      always: [
        // Ours: a link with nothing to send ends instead of reconnecting; the next message opens a new one.
        { guard: not('hasQueued'), target: 'ended' },
        { guard: 'hasAttemptsLeft', target: 'backingOff' },
        { target: 'failed' },
      ],
    },
    backingOff: {
      after: { retryDelay: { target: 'connecting', actions: 'nextAttempt' } },
    },
    refused: { type: 'final' },
    ended: { type: 'final' },
    failed: { type: 'final', entry: 'rejectQueued' },
  },
});
