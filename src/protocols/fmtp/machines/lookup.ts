/**
 * FMTP lookup: finds one object in the seed's order (1 local cache, 2 object owner, 3 MX server
 * for the object's domain, 4 gateway for the object) and ends in exactly one of the seed's four
 * outcomes: `failed` (could not connect), `notFound` (object does not exist), `found` (I have
 * object), `looking` (I will look for the object, when we ask by proxy). See spec.md §5.
 *
 * The step rules, quoted from the seed: "Object does not exist: for 1, proceed to 2. For 2, 3,
 * or 4, give up." "I have object: store object in local cache, and stop looking." "I will look
 * for the object: wait for a response, and do not look further. If you are asking by proxy, you
 * may consider the request closed." Ours: a failure to connect at step 2 or 3 moves to the next
 * step; at step 4 it is the outcome.
 *
 * No I/O here: it emits DNS queries as outputs, and asks the node (`fmtp.ask`) to carry a REQUEST
 * to a target over a verified connection. It never opens connections or touches the cache.
 */
import { and, assign, emit, not, setup } from 'xstate';
import { output, type OutputEvent } from '../../../engine/actor.js';
import type { DnsRecordType, DnsStatus } from '../../protocol.js';
import type { ConnectionTarget } from './connection.js';
import { keyRecordName } from '../keys.js';
import { domainOf, isDomain, type Answer, type ObjectProperties } from '../wire.js';

export type LookupOutcome = 'failure' | 'notFound' | 'found' | 'looking';
export type LookupStep = 'cache' | 'owner' | 'mx' | 'gateway';

export interface LookupInput {
  readonly id: string;
  readonly object: string;
  /** Step 1: the object from the local cache, if there. */
  readonly cached?: ObjectProperties;
  /** Step 2: where the object's owner can be reached (from the owner's cached route), if known. */
  readonly owner?: ConnectionTarget;
  /** Step 3: whether `fmtpkey.<domain>` is cached already (then the key lookup is skipped). */
  readonly keysCached: boolean;
  /** Step 4: the gateway the route table picks for the object, if any pattern matches. */
  readonly gateway?: ConnectionTarget;
  /** The FMTP port of an MX server. */
  readonly port: number;
  /** A proxied lookup may stop at "I will look". */
  readonly byProxy: boolean;
  /** How long to wait for the final answer after "I will look". */
  readonly lookingMs: number;
  /**
   * How long to wait for a DNS answer (the node's `handshakeMs`, spec.md §5.1): a query left
   * unanswered counts as failed, as a SERVFAIL does.
   */
  readonly dnsMs: number;
}

interface LookupContext extends LookupInput {
  readonly step: LookupStep;
  readonly properties?: ObjectProperties;
  readonly mxHost?: string;
  readonly reason: string;
  /** The node that gave the outcome (or last failed). */
  readonly peer?: string;
}

export type LookupEvent =
  | { type: 'lookup.start' }
  | {
      type: 'dns.answer';
      name: string;
      rtype: DnsRecordType;
      status: DnsStatus;
      records: readonly string[];
    }
  /** An answer to our REQUEST from a verified peer. */
  | { type: 'peer.answer'; frame: Answer; peer: string }
  /** The REQUEST could not be carried: connect failed, the hash failed, or the connection ended. */
  | { type: 'peer.failed'; reason: string };

export interface LookupDone {
  readonly type: 'fmtp.lookup.done';
  readonly lookup: string;
  readonly object: string;
  readonly outcome: LookupOutcome;
  readonly step: LookupStep;
  readonly properties?: ObjectProperties;
  readonly reason: string;
  readonly mxHost?: string;
}

export type LookupEmitted =
  OutputEvent | { type: 'fmtp.ask'; lookup: string; target: ConnectionTarget; object: string } | LookupDone;

/** The lowest-preference host of an MX answer (`"10 mail.lenore.org"`), or undefined. */
export function pickMx(records: readonly string[]): string | undefined {
  let best: { preference: number; host: string } | undefined;
  for (const record of records) {
    const match = /^(\d{1,5}) (\S+?)\.?$/.exec(record.trim());
    if (!match || !isDomain(match[2] ?? '')) continue;
    const preference = Number(match[1]);
    if (!best || preference < best.preference) best = { preference, host: match[2] ?? '' };
  }
  return best?.host;
}

function answerIs(type: Answer['type']) {
  return ({ event }: { event: LookupEvent }) => event.type === 'peer.answer' && event.frame.type === type;
}

export const lookupMachine = setup({
  types: {
    context: {} as LookupContext,
    input: {} as LookupInput,
    events: {} as LookupEvent,
    emitted: {} as LookupEmitted,
  },
  guards: {
    hasCachedObject: ({ context }) => context.cached !== undefined,
    hasOwnerRoute: ({ context }) => context.owner !== undefined,
    hasGateway: ({ context }) => context.gateway !== undefined,
    hasKeysCached: ({ context }) => context.keysCached,
    isByProxy: ({ context }) => context.byProxy,
    isMxAnswerUsable: ({ event }) =>
      event.type === 'dns.answer' && event.status === 'ok' && pickMx(event.records) !== undefined,
    /** An answer about some other object is a peer error: the lookup ends in failure. */
    isForeignAnswer: ({ context, event }) => event.type === 'peer.answer' && event.frame.object !== context.object,
    isObjectAnswer: answerIs('OBJECT'),
    isNotFoundAnswer: answerIs('NOT-FOUND'),
    isLookingAnswer: answerIs('LOOKING'),
    isFailedAnswer: answerIs('FAILED'),
  },
  actions: {
    enterStep: assign((_, params: { step: LookupStep }) => ({ step: params.step })),
    queryMx: emit(({ context }) =>
      output({ kind: 'dns.query', query: `${context.id}:mx`, name: domainOf(context.object), type: 'MX' }),
    ),
    storeMx: assign(({ event }) => (event.type === 'dns.answer' ? { mxHost: pickMx(event.records) ?? '' } : {})),
    queryKey: emit(({ context }) =>
      output({
        kind: 'dns.query',
        query: `${context.id}:key`,
        name: keyRecordName(domainOf(context.object)),
        type: 'TXT',
      }),
    ),
    askOwner: emit(({ context }) => ({
      type: 'fmtp.ask' as const,
      lookup: context.id,
      target: context.owner ?? { host: '', port: 0, domain: '' },
      object: context.object,
    })),
    askMx: emit(({ context }) => ({
      type: 'fmtp.ask' as const,
      lookup: context.id,
      target: { host: context.mxHost ?? '', port: context.port, domain: domainOf(context.object) },
      object: context.object,
    })),
    askGateway: emit(({ context }) => ({
      type: 'fmtp.ask' as const,
      lookup: context.id,
      target: context.gateway ?? { host: '', port: 0, domain: '' },
      object: context.object,
    })),
    storeAnswer: assign(({ event }) => {
      if (event.type === 'peer.failed') return { reason: event.reason, peer: undefined };
      if (event.type !== 'peer.answer') return {};
      const frame = event.frame;
      if (frame.type === 'OBJECT') return { properties: frame.properties, peer: event.peer, reason: 'object' };
      if (frame.type === 'FAILED') {
        // A FAILED passed back through several proxies keeps one prefix: `peer.failed: hops.exhausted`.
        const reason = frame.reason.startsWith('peer.failed: ') ? frame.reason : `peer.failed: ${frame.reason}`;
        return { reason, peer: event.peer };
      }
      return { reason: frame.type.toLowerCase(), peer: event.peer };
    }),
    storeForeign: assign(({ event }) => ({
      reason: 'answer.mismatch',
      peer: event.type === 'peer.answer' ? event.peer : undefined,
    })),
    setReason: assign((_, params: { reason: string }) => ({ reason: params.reason })),
    useCached: assign(({ context }) => ({ properties: context.cached, reason: 'cache' })),
    announce: emit(({ context }, params: { outcome: LookupOutcome }) => ({
      type: 'fmtp.lookup.done' as const,
      lookup: context.id,
      object: context.object,
      outcome: params.outcome,
      step: context.step,
      reason: context.reason,
      ...(context.properties ? { properties: context.properties } : {}),
      ...(context.mxHost ? { mxHost: context.mxHost } : {}),
    })),
    noteOutcome: emit(({ context }, params: { outcome: LookupOutcome }) =>
      output({
        kind: 'note',
        what: 'fmtp.lookup.outcome',
        detail: {
          lookup: context.id,
          object: context.object,
          outcome: params.outcome,
          step: context.step,
          reason: context.reason,
          ...(context.peer ? { peer: context.peer } : {}),
        },
      }),
    ),
  },
  delays: {
    lookingDelay: ({ context }) => context.lookingMs,
    dnsDelay: ({ context }) => context.dnsMs,
  },
}).createMachine({
  id: 'fmtp.lookup',
  initial: 'idle',
  // Input fields named one by one: on Node 20, an object literal that spreads `input` and then adds
  // properties takes a slow path in V8 (microseconds per actor, and one starts per message).
  context: ({ input }) => ({
    id: input.id,
    object: input.object,
    cached: input.cached,
    owner: input.owner,
    keysCached: input.keysCached,
    gateway: input.gateway,
    port: input.port,
    byProxy: input.byProxy,
    lookingMs: input.lookingMs,
    dnsMs: input.dnsMs,
    step: 'cache',
    reason: '',
  }),
  states: {
    idle: { on: { 'lookup.start': { target: 'cache' } } },
    /** Step 1. A miss is "object does not exist" at step 1: proceed to step 2. */
    cache: {
      always: [{ guard: 'hasCachedObject', target: 'found', actions: 'useCached' }, { target: 'owner' }],
    },
    /** Step 2: only when we know where the owner is (its object, with a route, is cached). */
    owner: {
      entry: { type: 'enterStep', params: { step: 'owner' } },
      initial: 'choosing',
      states: {
        choosing: {
          always: [
            { guard: 'hasOwnerRoute', target: 'asking' },
            { target: '#lookup-mx', actions: { type: 'setReason', params: { reason: 'owner.unknown' } } },
          ],
        },
        asking: {
          entry: 'askOwner',
          on: {
            'peer.failed': { target: '#lookup-mx', actions: 'storeAnswer' },
          },
        },
      },
    },
    /** Step 3: MX record, then `fmtpkey.<domain>` (cached for the handshake), then ask the MX host. */
    mx: {
      id: 'lookup-mx',
      entry: { type: 'enterStep', params: { step: 'mx' } },
      initial: 'querying',
      states: {
        querying: {
          entry: 'queryMx',
          on: {
            'dns.answer': [
              { guard: and(['isMxAnswerUsable', 'hasKeysCached']), target: 'asking', actions: 'storeMx' },
              { guard: 'isMxAnswerUsable', target: 'fetchingKey', actions: 'storeMx' },
              { target: '#lookup-gateway', actions: { type: 'setReason', params: { reason: 'mx.none' } } },
            ],
          },
          // No answer at all (a resolver that times out): as a failed answer (spec.md §5.1).
          after: {
            dnsDelay: { target: '#lookup-gateway', actions: { type: 'setReason', params: { reason: 'mx.timeout' } } },
          },
        },
        fetchingKey: {
          entry: 'queryKey',
          // Whatever the answer, the handshake verifies (and refuses) the peer; the node caches the key.
          on: { 'dns.answer': { target: 'asking' } },
          after: { dnsDelay: { target: 'asking' } },
        },
        asking: {
          entry: 'askMx',
          on: {
            'peer.failed': { target: '#lookup-gateway', actions: 'storeAnswer' },
          },
        },
      },
    },
    /** Step 4: the first route-table pattern that matches the object picks the gateway. */
    gateway: {
      id: 'lookup-gateway',
      entry: { type: 'enterStep', params: { step: 'gateway' } },
      initial: 'choosing',
      states: {
        choosing: {
          always: [
            { guard: 'hasGateway', target: 'asking' },
            { target: '#lookup-failed', actions: { type: 'setReason', params: { reason: 'route.none' } } },
          ],
        },
        asking: {
          entry: 'askGateway',
          on: {
            'peer.failed': { target: '#lookup-failed', actions: 'storeAnswer' },
          },
        },
      },
    },
    /** "I will look for the object": wait for the final answer and look no further. */
    waiting: {
      on: {
        'peer.answer': [
          { guard: 'isForeignAnswer', target: 'failed', actions: 'storeForeign' },
          // A second "I will look" changes nothing (and must not restart the wait).
          { guard: 'isLookingAnswer' },
          { guard: 'isObjectAnswer', target: 'found', actions: 'storeAnswer' },
          { guard: 'isNotFoundAnswer', target: 'notFound', actions: 'storeAnswer' },
          { guard: 'isFailedAnswer', target: 'failed', actions: 'storeAnswer' },
        ],
        'peer.failed': { target: 'failed', actions: 'storeAnswer' },
      },
      after: {
        lookingDelay: { target: 'failed', actions: { type: 'setReason', params: { reason: 'looking.timeout' } } },
      },
    },
    found: {
      type: 'final',
      entry: [
        { type: 'noteOutcome', params: { outcome: 'found' } },
        { type: 'announce', params: { outcome: 'found' } },
      ],
    },
    notFound: {
      type: 'final',
      entry: [
        { type: 'noteOutcome', params: { outcome: 'notFound' } },
        { type: 'announce', params: { outcome: 'notFound' } },
      ],
    },
    failed: {
      id: 'lookup-failed',
      type: 'final',
      entry: [
        { type: 'noteOutcome', params: { outcome: 'failure' } },
        { type: 'announce', params: { outcome: 'failure' } },
      ],
    },
    looking: {
      type: 'final',
      entry: [
        { type: 'noteOutcome', params: { outcome: 'looking' } },
        { type: 'announce', params: { outcome: 'looking' } },
      ],
    },
  },
  // An answer while asking at steps 2-4 is handled the same way at every step.
  on: {
    'peer.answer': [
      { guard: 'isForeignAnswer', target: '.failed', actions: 'storeForeign' },
      { guard: 'isObjectAnswer', target: '.found', actions: 'storeAnswer' },
      { guard: 'isNotFoundAnswer', target: '.notFound', actions: 'storeAnswer' },
      { guard: and(['isLookingAnswer', 'isByProxy']), target: '.looking', actions: 'storeAnswer' },
      { guard: and(['isLookingAnswer', not('isByProxy')]), target: '.waiting', actions: 'storeAnswer' },
      { guard: 'isFailedAnswer', target: '.failed', actions: 'storeAnswer' },
    ],
  },
});
