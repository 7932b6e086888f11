/**
 * SOLEC server session: the server's side of one accepted connection, through Client-Server
 * connection initialisation (Handshake, UserAuth) or Server-Server connection initialisation
 * (Handshake, ServerAuth, and under the signed profile Challenge and Proof), then message exchange.
 *
 * No I/O and no routing here: the session emits `output` events (writes, closes, rejects) and
 * `session.*` events the node acts on (a user or server is authenticated, a Message arrived); the
 * node answers a routed Message with `session.reply`. Randomness (the challenge nonce) arrives
 * inside `wire.serverAuth`. Peer misbehaviour (an unexpected or malformed payload) closes the
 * connection with a `reject` output; it never throws.
 */
import { assign, emit, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { NodeOutput } from '../../protocol.js';
import { challengeText, verifyChallenge, type KnownKeys } from '../keys.js';
import { connType, encodeFrame, errorCode, fromHex, describePayload, type Payload } from '../wire.js';

export type Peer =
  { readonly kind: 'user'; readonly name: string } | { readonly kind: 'server'; readonly name: string };

export type SessionMessage = Extract<Payload, { type: 'message' }>;

export interface SessionInput {
  readonly conn: string;
  /** The peer host as the transport names it; shown beside the name a peer claims, so an impersonation is visible in a trace. */
  readonly remote: string;
  readonly selfName: string;
  readonly profile: 'seed' | 'signed';
  readonly versionMajor: number;
  readonly accounts: Readonly<Record<string, string>>;
  /** The known public keys list: server name -> hex Ed25519 public key. */
  readonly knownKeys: KnownKeys;
  readonly authTimeoutMs: number;
}

interface SessionContext extends SessionInput {
  readonly peer: Peer | undefined;
  /** Under the signed profile: the name claimed in ServerAuth and the nonce it must sign. */
  readonly claimed: { readonly name: string; readonly nonce: Uint8Array } | undefined;
}

export type SessionEvent =
  | { type: 'wire.handshake'; payload: Extract<Payload, { type: 'handshake' }> }
  /** `blocked`: the peer's address is shut out by the server's per-address throttle just now (issue 22). */
  | { type: 'wire.userAuth'; payload: Extract<Payload, { type: 'userAuth' }>; blocked?: boolean }
  | { type: 'wire.serverAuth'; payload: Extract<Payload, { type: 'serverAuth' }>; nonce: Uint8Array }
  | { type: 'wire.proof'; payload: Extract<Payload, { type: 'proof' }> }
  | { type: 'wire.message'; payload: SessionMessage }
  | { type: 'wire.unexpected'; payload: Payload }
  | { type: 'wire.invalid'; code: string; reason: string }
  | { type: 'conn.closed' }
  /** The node's answer to a routed Message (Success or Error). */
  | { type: 'session.reply'; payload: Payload }
  /** The node hands this user's session a Message to push. */
  | { type: 'session.push'; payload: SessionMessage };

export type SessionEmitted =
  | { type: 'output'; output: NodeOutput }
  | { type: 'session.authenticated'; conn: string; peer: Peer }
  /** A UserAuth's password was checked and failed: counted against the peer's address. */
  | { type: 'session.authFailed'; conn: string }
  | { type: 'session.message'; conn: string; peer: Peer; message: SessionMessage };

function write(conn: string, payload: Payload) {
  return output({ kind: 'write', conn, bytes: encodeFrame(payload), decoded: describePayload(payload) });
}

/** The payload type an event carries, or the event type, for reject reasons. */
function eventName(event: SessionEvent): string {
  return 'payload' in event ? event.payload.type : event.type;
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
    emitted: {} as SessionEmitted,
  },
  guards: {
    isVersionMismatch: ({ context, event }) =>
      event.type === 'wire.handshake' && event.payload.verMajor !== context.versionMajor,
    isServerConnection: ({ event }) =>
      event.type === 'wire.handshake' && event.payload.connType === connType.serverToServer,
    hasValidCredentials: ({ context, event }) =>
      event.type === 'wire.userAuth' &&
      Object.hasOwn(context.accounts, event.payload.username) &&
      context.accounts[event.payload.username] === event.payload.password,
    isBlocked: ({ event }) => event.type === 'wire.userAuth' && event.blocked === true,
    isKnownServer: ({ context, event }) =>
      event.type === 'wire.serverAuth' && context.knownKeys.has(event.payload.name),
    isSignedProfile: ({ context }) => context.profile === 'signed',
    hasValidProof: ({ context, event }) => {
      if (event.type !== 'wire.proof' || !context.claimed) return false;
      const publicKey = fromHex(context.knownKeys.hexOf(context.claimed.name) ?? '');
      if (!publicKey) return false;
      const text = challengeText(context.claimed.nonce, context.claimed.name, context.selfName);
      return verifyChallenge(publicKey, text, event.payload.signature);
    },
  },
  actions: {
    rejectVersion: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: 'solec.version-mismatch',
        reason: `ver_major ${event.type === 'wire.handshake' ? event.payload.verMajor : '?'} is not ${context.versionMajor}; closing`,
        detail: { conn: context.conn },
      }),
    ),
    closeConnection: emit(({ context }) => output({ kind: 'close', conn: context.conn })),
    acceptUser: assign({
      peer: ({ event }): Peer | undefined =>
        event.type === 'wire.userAuth' ? { kind: 'user', name: event.payload.username } : undefined,
    }),
    acceptServer: assign({
      peer: ({ context }): Peer | undefined =>
        context.claimed ? { kind: 'server', name: context.claimed.name } : undefined,
    }),
    rememberClaim: assign({
      claimed: ({ event }) =>
        event.type === 'wire.serverAuth' ? { name: event.payload.name, nonce: event.nonce } : undefined,
    }),
    writeSuccess: emit(({ context }) => write(context.conn, { type: 'success' })),
    writeChallenge: emit(({ context }) =>
      write(context.conn, { type: 'challenge', nonce: context.claimed?.nonce ?? new Uint8Array(0) }),
    ),
    writeClientAuthFailed: emit(({ context }) =>
      write(context.conn, { type: 'error', code: errorCode.clientAuthFailed }),
    ),
    writeServerAuthFailed: emit(({ context }) =>
      write(context.conn, { type: 'error', code: errorCode.serverAuthFailed }),
    ),
    rejectUserAuth: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: 'solec.client-auth-failed',
        reason: `invalid username or password for ${event.type === 'wire.userAuth' ? JSON.stringify(event.payload.username) : '?'}`,
        detail: { conn: context.conn },
      }),
    ),
    rejectThrottled: emit(({ context }) =>
      output({
        kind: 'reject',
        code: 'solec.auth-throttled',
        reason: 'too many failed logins from this address lately; UserAuth refused unchecked',
        detail: { conn: context.conn, remote: context.remote },
      }),
    ),
    announceAuthFailed: emit(({ context }) => ({ type: 'session.authFailed' as const, conn: context.conn })),
    rejectServerAuth: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: 'solec.server-auth-failed',
        reason:
          event.type === 'wire.serverAuth'
            ? `${JSON.stringify(event.payload.name)} is not in the known public keys list`
            : `bad signature for ${JSON.stringify(context.claimed?.name ?? '?')}`,
        detail: { conn: context.conn },
      }),
    ),
    announcePeer: emit(({ context }) => ({
      type: 'session.authenticated' as const,
      conn: context.conn,
      peer: context.peer ?? { kind: 'user' as const, name: '' },
    })),
    noteAuthenticated: emit(({ context }) =>
      output({
        kind: 'note',
        what: 'solec.authenticated',
        detail: { conn: context.conn, remote: context.remote, peer: context.peer, profile: context.profile },
      }),
    ),
    forwardMessage: emit(({ context, event }) => ({
      type: 'session.message' as const,
      conn: context.conn,
      peer: context.peer ?? { kind: 'user' as const, name: '' },
      message: event.type === 'wire.message' ? event.payload : ({} as SessionMessage),
    })),
    writeReply: emit(({ context, event }) =>
      write(context.conn, event.type === 'session.reply' ? event.payload : { type: 'success' }),
    ),
    writePush: emit(({ context, event }) =>
      write(context.conn, event.type === 'session.push' ? event.payload : { type: 'success' }),
    ),
    rejectUnexpected: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: event.type === 'wire.invalid' ? event.code : 'solec.unexpected',
        reason: event.type === 'wire.invalid' ? event.reason : `${eventName(event)} is not expected here; closing`,
        detail: { conn: context.conn },
      }),
    ),
    rejectTimeout: emit(({ context }) =>
      output({
        kind: 'reject',
        code: 'solec.auth-timeout',
        reason: 'connection initialisation did not finish in time',
        detail: { conn: context.conn },
      }),
    ),
  },
  delays: {
    authTimeout: ({ context }) => context.authTimeoutMs,
  },
}).createMachine({
  id: 'solec.session',
  initial: 'awaitingHandshake',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) => Object.assign({}, input, { peer: undefined, claimed: undefined }),
  on: {
    'wire.invalid': { target: '.closed', actions: ['rejectUnexpected', 'closeConnection'] },
    'wire.unexpected': { target: '.closed', actions: ['rejectUnexpected', 'closeConnection'] },
    'conn.closed': { target: '.closed' },
  },
  states: {
    awaitingHandshake: {
      after: { authTimeout: { target: 'closed', actions: ['rejectTimeout', 'closeConnection'] } },
      on: {
        'wire.handshake': [
          { guard: 'isVersionMismatch', target: 'closed', actions: ['rejectVersion', 'closeConnection'] },
          { guard: 'isServerConnection', target: 'awaitingServerAuth' },
          { target: 'awaitingUserAuth' },
        ],
        'wire.userAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.serverAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.proof': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.message': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
      },
    },
    awaitingUserAuth: {
      after: { authTimeout: { target: 'closed', actions: ['rejectTimeout', 'closeConnection'] } },
      on: {
        'wire.userAuth': [
          // Ours (issue 22): an address that failed too often is shut out for a while; nothing is checked.
          {
            guard: 'isBlocked',
            target: 'closed',
            actions: ['rejectThrottled', 'writeClientAuthFailed', 'closeConnection'],
          },
          {
            guard: 'hasValidCredentials',
            target: 'userEstablished',
            actions: ['acceptUser', 'writeSuccess', 'noteAuthenticated', 'announcePeer'],
          },
          // Ours: one attempt per connection; the client starts over with a new Handshake.
          {
            target: 'closed',
            actions: ['rejectUserAuth', 'writeClientAuthFailed', 'announceAuthFailed', 'closeConnection'],
          },
        ],
        'wire.handshake': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.serverAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.proof': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.message': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
      },
    },
    awaitingServerAuth: {
      after: { authTimeout: { target: 'closed', actions: ['rejectTimeout', 'closeConnection'] } },
      on: {
        'wire.serverAuth': [
          { guard: 'isKnownServer', target: 'authorisedClaim', actions: 'rememberClaim' },
          { target: 'closed', actions: ['rejectServerAuth', 'writeServerAuthFailed', 'closeConnection'] },
        ],
        'wire.handshake': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.userAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.proof': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.message': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
      },
    },
    // A transient state: the name is known; the profile decides whether a signature is needed.
    authorisedClaim: {
      always: [
        { guard: 'isSignedProfile', target: 'awaitingProof' },
        { target: 'serverEstablished', actions: ['acceptServer', 'writeSuccess', 'noteAuthenticated', 'announcePeer'] },
      ],
    },
    awaitingProof: {
      entry: 'writeChallenge',
      after: { authTimeout: { target: 'closed', actions: ['rejectTimeout', 'closeConnection'] } },
      on: {
        'wire.proof': [
          {
            guard: 'hasValidProof',
            target: 'serverEstablished',
            actions: ['acceptServer', 'writeSuccess', 'noteAuthenticated', 'announcePeer'],
          },
          { target: 'closed', actions: ['rejectServerAuth', 'writeServerAuthFailed', 'closeConnection'] },
        ],
        'wire.handshake': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.userAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.serverAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.message': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
      },
    },
    userEstablished: {
      on: {
        'wire.message': { actions: 'forwardMessage' },
        'session.reply': { actions: 'writeReply' },
        'session.push': { actions: 'writePush' },
        'wire.handshake': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.userAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.serverAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.proof': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
      },
    },
    serverEstablished: {
      on: {
        'wire.message': { actions: 'forwardMessage' },
        'session.reply': { actions: 'writeReply' },
        'wire.handshake': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.userAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.serverAuth': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
        'wire.proof': { target: 'closed', actions: ['rejectUnexpected', 'closeConnection'] },
      },
    },
    closed: { type: 'final' },
  },
});
