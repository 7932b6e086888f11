/**
 * FMTP connection: one stream connection with mutual key verification (seed step 4).
 * The client says "I'm X, here's my hash" (HELLO); the server checks its key cache for X's
 * domain, else looks up `fmtpkey.<domain>` (TXT), verifies the hash, and answers "I am Y, here's
 * my hash" (WELCOME); the client verifies that in turn. A bad hash gets REFUSED and a close.
 * Once established, the connection only counts open transactions so an idle client connection
 * closes after `keepOpenMs` (seed step 6: "connections could be left open for a time period"),
 * and closes when a REQUEST or MESSAGE of ours has waited `answerMs` for its answer (ours, spec.md §2).
 *
 * No I/O here: it emits `output` events (connect, write, close, dns.query) and tells the node
 * `fmtp.established` / `fmtp.ended`. It does not route requests or answers: the node does.
 * Local API misuse: none possible (only the node sends it events).
 */
import { and, assign, emit, enqueueActions, not, setup } from 'xstate';
import { output, type OutputEvent } from '../../../engine/actor.js';
import type { DnsStatus } from '../../protocol.js';
import { helloText, keyRecordName, sign, verifyByAny, welcomeText } from '../keys.js';
import { domainOf, encodeFrame, type Frame, type FrameOf } from '../wire.js';

export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  /** The domain we expect to reach there; its key must sign the WELCOME. */
  readonly domain: string;
}

export interface ConnectionInput {
  readonly conn: string;
  readonly role: 'client' | 'server';
  /** What we say in FROM: our domain (a server) or our user address (a user's node). */
  readonly identity: string;
  readonly secretKey: Uint8Array;
  /** 32 hex digits drawn by the node from its stream. */
  readonly nonce: string;
  readonly target?: ConnectionTarget;
  /** Close an idle client connection after this long (0: as soon as idle); null keeps it open (servers, logged-in users). */
  readonly keepOpenMs: number | null;
  /**
   * End the connection if the greeting is not over this long after it began (ours, spec.md §2): a
   * truncated HELLO or WELCOME leaves both sides waiting for the rest of a block forever.
   */
  readonly handshakeMs: number;
  /**
   * Close an established connection on which a REQUEST or MESSAGE has had no answer (LOOKING
   * counts) for this long (ours, spec.md §2): a truncated frame on a pooled connection leaves the
   * peer waiting for the rest of a block and us for an answer that never comes.
   */
  readonly answerMs: number;
}

interface ConnectionContext extends ConnectionInput {
  readonly peer?: string;
  readonly peerNonce?: string;
  readonly peerHash?: string;
  readonly inFlight: number;
  /** REQUESTs and MESSAGEs we sent that have had no answer yet (LOOKING counts as one). */
  readonly unanswered: number;
  readonly ending: string;
  /** Whether the peer passed verification on this connection. */
  readonly verified: boolean;
}

export type ConnectionEvent =
  | { type: 'conn.start' }
  | { type: 'conn.opened' }
  | { type: 'conn.failed'; reason: string }
  | { type: 'conn.closed'; reason: string }
  /** `keys`: public keys the node has cached for the peer's domain (absent on a cache miss). */
  | { type: 'wire.hello'; frame: FrameOf<'HELLO'>; keys?: readonly string[] }
  | { type: 'wire.welcome'; frame: FrameOf<'WELCOME'>; keys?: readonly string[] }
  | { type: 'wire.refused'; frame: FrameOf<'REFUSED'> }
  /** A frame that breaks the handshake order, or bytes that do not decode. */
  | { type: 'wire.invalid'; code: string; reason: string }
  | { type: 'dns.keys'; status: DnsStatus; keys: readonly string[] }
  /** We sent a REQUEST or MESSAGE: it awaits an answer. */
  | { type: 'txn.opened' }
  /** The first answer to one we sent came (or it no longer awaits one). */
  | { type: 'txn.answered' }
  /** Raised `answerMs` after the oldest unanswered REQUEST or MESSAGE, or the last answer. */
  | { type: 'answer.timeout' }
  | { type: 'txn.closed' };

export type ConnectionEmitted =
  | OutputEvent
  | { type: 'fmtp.established'; conn: string; peer: string }
  /** `verified`: whether the peer ever passed verification on this connection. */
  | { type: 'fmtp.ended'; conn: string; reason: string; verified: boolean };

/** The id of the delayed `answer.timeout` (one per connection: it tracks the oldest unanswered frame). */
const answerTimerId = 'answer';

export function keyQueryId(conn: string): string {
  return `key:${conn}`;
}

function write(conn: string, frame: Frame): OutputEvent {
  return output({ kind: 'write', conn, bytes: encodeFrame(frame), decoded: frame });
}

function isHelloSigned(frame: FrameOf<'HELLO'>, keys: readonly string[]): boolean {
  return verifyByAny(helloText(frame.from, frame.to, frame.nonce), frame.hash, keys);
}

function isWelcomeSigned(frame: FrameOf<'WELCOME'>, helloNonce: string, keys: readonly string[]): boolean {
  return verifyByAny(welcomeText(frame.from, frame.to, frame.nonce, helloNonce), frame.hash, keys);
}

function storedHello(context: ConnectionContext): FrameOf<'HELLO'> {
  return {
    type: 'HELLO',
    from: context.peer ?? '',
    to: domainOf(context.identity),
    nonce: context.peerNonce ?? '',
    hash: context.peerHash ?? '',
  };
}

function storedWelcome(context: ConnectionContext): FrameOf<'WELCOME'> {
  return {
    type: 'WELCOME',
    from: context.peer ?? '',
    to: context.identity,
    nonce: context.peerNonce ?? '',
    hash: context.peerHash ?? '',
  };
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionEvent,
    emitted: {} as ConnectionEmitted,
  },
  guards: {
    isClient: ({ context }) => context.role === 'client',
    /** A HELLO must be meant for our domain. */
    isHelloMisaddressed: ({ context, event }) =>
      event.type === 'wire.hello' && event.frame.to !== domainOf(context.identity),
    hasCachedKeys: ({ event }) =>
      (event.type === 'wire.hello' || event.type === 'wire.welcome') && (event.keys?.length ?? 0) > 0,
    isHelloSignedByCachedKey: ({ event }) =>
      event.type === 'wire.hello' && isHelloSigned(event.frame, event.keys ?? []),
    /** The WELCOME must come from the domain we dialled and be addressed to us. */
    isWelcomeMisaddressed: ({ context, event }) =>
      event.type === 'wire.welcome' &&
      (event.frame.from !== context.target?.domain || event.frame.to !== context.identity),
    isWelcomeSignedByCachedKey: ({ context, event }) =>
      event.type === 'wire.welcome' && isWelcomeSigned(event.frame, context.nonce, event.keys ?? []),
    isStoredHelloSignedByDnsKey: ({ context, event }) =>
      event.type === 'dns.keys' && isHelloSigned(storedHello(context), event.keys),
    isStoredWelcomeSignedByDnsKey: ({ context, event }) =>
      event.type === 'dns.keys' && isWelcomeSigned(storedWelcome(context), context.nonce, event.keys),
    staysOpen: ({ context }) => context.keepOpenMs === null,
    closesAtOnce: ({ context }) => context.keepOpenMs === 0,
    isLastTransaction: ({ context }) => context.inFlight <= 1,
    awaitsAnswer: ({ context }) => context.unanswered > 0,
  },
  actions: {
    connect: emit(({ context }) =>
      output({
        kind: 'connect',
        conn: context.conn,
        target: { host: context.target?.host ?? '', port: context.target?.port ?? 0 },
      }),
    ),
    sendHello: emit(({ context }) => {
      const to = context.target?.domain ?? '';
      return write(context.conn, {
        type: 'HELLO',
        from: context.identity,
        to,
        nonce: context.nonce,
        hash: sign(helloText(context.identity, to, context.nonce), context.secretKey),
      });
    }),
    /** Server only: "I am lenore.org. Here's my hash." */
    welcomeIfServer: enqueueActions(({ context, enqueue }) => {
      if (context.role !== 'server') return;
      const from = domainOf(context.identity);
      const to = context.peer ?? '';
      enqueue.emit(
        write(context.conn, {
          type: 'WELCOME',
          from,
          to,
          nonce: context.nonce,
          hash: sign(welcomeText(from, to, context.nonce, context.peerNonce ?? ''), context.secretKey),
        }),
      );
    }),
    storePeerGreeting: assign(({ event }) =>
      event.type === 'wire.hello' || event.type === 'wire.welcome'
        ? { peer: event.frame.from, peerNonce: event.frame.nonce, peerHash: event.frame.hash }
        : {},
    ),
    queryPeerKey: emit(({ context }) =>
      output({
        kind: 'dns.query',
        query: keyQueryId(context.conn),
        name: keyRecordName(domainOf(context.peer ?? '')),
        type: 'TXT',
      }),
    ),
    noteVerified: emit(({ context }) =>
      output({ kind: 'note', what: 'fmtp.peer.verified', detail: { conn: context.conn, peer: context.peer } }),
    ),
    refuse: emit(({ context }, params: { code: string }) =>
      write(context.conn, { type: 'REFUSED', code: params.code, reason: refusalReason(params.code, context.peer) }),
    ),
    rejectPeer: emit(({ context }, params: { code: string }) =>
      output({
        kind: 'reject',
        code: `fmtp.${params.code}`,
        reason: refusalReason(params.code, context.peer),
        detail: { conn: context.conn, peer: context.peer },
      }),
    ),
    close: emit(({ context }) => output({ kind: 'close', conn: context.conn })),
    setEnding: assign((_, params: { reason: string }) => ({ ending: params.reason })),
    setEndingFromEvent: assign(({ event }) => {
      if (event.type === 'conn.failed') return { ending: `connect.${event.reason}` };
      if (event.type === 'conn.closed') return { ending: `closed.${event.reason}` };
      if (event.type === 'wire.refused') return { ending: `refused.${event.frame.code}` };
      if (event.type === 'wire.invalid') return { ending: event.code };
      return {};
    }),
    announceEstablished: emit(({ context }) => ({
      type: 'fmtp.established' as const,
      conn: context.conn,
      peer: context.peer ?? '',
    })),
    markVerified: assign({ verified: true }),
    announceEnded: emit(({ context }) => ({
      type: 'fmtp.ended' as const,
      conn: context.conn,
      reason: context.ending,
      verified: context.verified,
    })),
    countTransaction: assign({ inFlight: ({ context }) => context.inFlight + 1 }),
    uncountTransaction: assign({ inFlight: ({ context }) => Math.max(0, context.inFlight - 1) }),
    /**
     * A REQUEST or MESSAGE of ours now awaits an answer: start the answer timer if nothing else
     * was waiting (a timer only runs while an answer is due, so an idle connection has none).
     */
    awaitAnswer: enqueueActions(({ context, enqueue }) => {
      if (context.unanswered === 0)
        enqueue.raise({ type: 'answer.timeout' }, { id: answerTimerId, delay: 'answerDelay' });
      enqueue.assign({ unanswered: context.unanswered + 1 });
    }),
    /** An answer came: the peer answers in order, so the next one (if any) is due `answerMs` from now. */
    answerCame: enqueueActions(({ context, enqueue }) => {
      const unanswered = Math.max(0, context.unanswered - 1);
      enqueue.cancel(answerTimerId);
      if (unanswered > 0) enqueue.raise({ type: 'answer.timeout' }, { id: answerTimerId, delay: 'answerDelay' });
      enqueue.assign({ unanswered });
    }),
  },
  delays: {
    keepOpenDelay: ({ context }) => context.keepOpenMs ?? 0,
    handshakeDelay: ({ context }) => context.handshakeMs,
    answerDelay: ({ context }) => context.answerMs,
  },
}).createMachine({
  id: 'fmtp.connection',
  initial: 'idle',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) => Object.assign({}, input, { inFlight: 0, unanswered: 0, ending: '', verified: false }),
  on: {
    'conn.closed': { target: '.closed', actions: 'setEndingFromEvent' },
  },
  states: {
    idle: {
      on: {
        'conn.start': [{ guard: 'isClient', target: 'connecting' }, { target: 'awaitingHello' }],
      },
    },
    connecting: {
      entry: 'connect',
      on: {
        'conn.opened': { target: 'greeting' },
        'conn.failed': { target: 'failed', actions: 'setEndingFromEvent' },
      },
    },
    /** Client: HELLO sent, waiting for WELCOME. */
    greeting: {
      entry: 'sendHello',
      after: {
        handshakeDelay: {
          target: '#connection-closed',
          actions: [{ type: 'setEnding', params: { reason: 'handshake.timeout' } }, 'close'],
        },
      },
      on: {
        'wire.welcome': [
          {
            guard: 'isWelcomeMisaddressed',
            target: 'refused',
            actions: [{ type: 'setEnding', params: { reason: 'welcome.misaddressed' } }, 'storePeerGreeting'],
          },
          { guard: 'isWelcomeSignedByCachedKey', target: 'established', actions: 'storePeerGreeting' },
          {
            guard: 'hasCachedKeys',
            target: 'refused',
            actions: [{ type: 'setEnding', params: { reason: 'hash.failed' } }, 'storePeerGreeting'],
          },
          { target: 'verifyingPeer', actions: ['storePeerGreeting', 'queryPeerKey'] },
        ],
        'wire.refused': { target: 'failed', actions: 'setEndingFromEvent' },
        'wire.invalid': { target: 'refused', actions: 'setEndingFromEvent' },
      },
    },
    /** Server: waiting for "I'm X, here's my hash". */
    awaitingHello: {
      after: {
        handshakeDelay: {
          target: '#connection-closed',
          actions: [{ type: 'setEnding', params: { reason: 'handshake.timeout' } }, 'close'],
        },
      },
      on: {
        'wire.hello': [
          {
            guard: 'isHelloMisaddressed',
            target: 'refused',
            actions: [{ type: 'setEnding', params: { reason: 'hello.misaddressed' } }, 'storePeerGreeting'],
          },
          {
            guard: 'isHelloSignedByCachedKey',
            target: 'established',
            actions: 'storePeerGreeting',
          },
          {
            guard: 'hasCachedKeys',
            target: 'refused',
            actions: [{ type: 'setEnding', params: { reason: 'hash.failed' } }, 'storePeerGreeting'],
          },
          { target: 'verifyingPeer', actions: ['storePeerGreeting', 'queryPeerKey'] },
        ],
        'wire.invalid': { target: 'refused', actions: 'setEndingFromEvent' },
      },
    },
    /** Either side: the peer's key was not cached; waiting for `fmtpkey.<domain>`. */
    verifyingPeer: {
      after: {
        handshakeDelay: {
          target: '#connection-closed',
          actions: [{ type: 'setEnding', params: { reason: 'handshake.timeout' } }, 'close'],
        },
      },
      on: {
        'dns.keys': [
          {
            guard: and(['isClient', 'isStoredWelcomeSignedByDnsKey']),
            target: 'established',
          },
          {
            guard: and([not('isClient'), 'isStoredHelloSignedByDnsKey']),
            target: 'established',
          },
          { target: 'refused', actions: { type: 'setEnding', params: { reason: 'hash.failed' } } },
        ],
        'wire.invalid': { target: 'refused', actions: 'setEndingFromEvent' },
      },
    },
    established: {
      // Seed order: "Lenore verifies the hash", then "I am lenore.org. Here's my hash." The note
      // comes first so that a trace reads in that order.
      entry: ['markVerified', 'noteVerified', 'welcomeIfServer', 'announceEstablished'],
      initial: 'routing',
      on: {
        'wire.invalid': { target: 'refused', actions: 'setEndingFromEvent' },
        'txn.answered': { actions: 'answerCame' },
        // A REQUEST or MESSAGE of ours went unanswered for `answerMs` (spec.md §2, ours): the stream
        // is broken (a truncated frame leaves the peer waiting for the rest of a block), so close it;
        // its transactions fail and a relay retries on a new connection (§8.1). A peer answers at
        // once (LOOKING if it must look), so this is one round trip; after LOOKING, `lookingMs` rules.
        'answer.timeout': {
          guard: 'awaitsAnswer',
          target: '#connection-closed',
          actions: [{ type: 'setEnding', params: { reason: 'answer.timeout' } }, 'close'],
        },
      },
      states: {
        // A client connection is only opened for work, so it starts busy; the node opens a transaction at once.
        routing: { always: [{ guard: 'staysOpen', target: 'held' }, { target: 'busy' }] },
        /** Never closed for idleness: a server's side, or a user's logged-in connection. */
        held: { on: { 'txn.opened': { actions: 'awaitAnswer' } } },
        idle: {
          always: {
            guard: 'closesAtOnce',
            target: '#connection-closed',
            actions: [{ type: 'setEnding', params: { reason: 'idle' } }, 'close'],
          },
          on: { 'txn.opened': { target: 'busy', actions: ['countTransaction', 'awaitAnswer'] } },
          after: {
            keepOpenDelay: {
              target: '#connection-closed',
              actions: [{ type: 'setEnding', params: { reason: 'idle' } }, 'close'],
            },
          },
        },
        busy: {
          on: {
            'txn.opened': { actions: ['countTransaction', 'awaitAnswer'] },
            'txn.closed': [
              { guard: 'isLastTransaction', target: 'idle', actions: 'uncountTransaction' },
              { actions: 'uncountTransaction' },
            ],
          },
        },
      },
    },
    refused: {
      type: 'final',
      entry: [
        { type: 'refuse', params: ({ context }) => ({ code: context.ending }) },
        { type: 'rejectPeer', params: ({ context }) => ({ code: context.ending }) },
        'close',
        'announceEnded',
      ],
    },
    failed: { type: 'final', entry: 'announceEnded' },
    closed: { id: 'connection-closed', type: 'final', entry: 'announceEnded' },
  },
});

function refusalReason(code: string, peer: string | undefined): string {
  const who = peer ?? 'peer';
  switch (code) {
    case 'hash.failed':
      return `the hash of ${who} does not verify against the key at fmtpkey.${domainOf(who)}`;
    case 'hello.misaddressed':
      return `${who} greeted a different domain`;
    case 'welcome.misaddressed':
      return `${who} is not the domain we dialled`;
    default:
      return `protocol error: ${code}`;
  }
}
