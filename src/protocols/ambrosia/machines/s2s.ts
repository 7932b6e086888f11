/**
 * The gateway's outgoing s2s stream to one remote domain (spec.md §3 "s2s"): SRV (`_xmpp-server._tcp`,
 * RFC 6120 §3.2.1), then MX (ours), then A (§3.2.2) lookup; connect, trying the SRV targets in order;
 * stream header; then Server Dialback (XEP-0220): `<db:result>` with the key, and the queued stanzas
 * once the receiving server answers `type='valid'`. Streams are one-way (RFC 6120 §4.1). With TLS
 * on, the receiver's features are read first: STARTTLS where it offers it (RFC 6120 §5), then a new
 * stream over TLS, whose features lead to dialback.
 *
 * The same chart runs a receiving server's verification stream to an authoritative server (`verify`
 * in the input): after the header it sends `<db:verify>` and reports the answer (`s2s.verified`).
 */
import { assign, emit, enqueueActions, not, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { NodeOutput } from '../../protocol.js';
import { queueCountMax, type TlsMode } from '../config.js';
import { dbResultKey, dbVerifyKey, dialbackKey, type SrvTarget } from '../dialback.js';
import { el, ns, streamClose, streamHeaderAttrs, writeStreamHeader, type XmlElement } from '../wire.js';
import { write, writeElements } from './outputs.js';

export interface S2sInput {
  readonly conn: string;
  readonly localDomain: string;
  readonly remoteDomain: string;
  /** The port when DNS gives none (MX, A): 5269 by default (RFC 6120 §3.2.2). */
  readonly port: number;
  /** Our dialback secret (XEP-0185), for the key of `<db:result>`. */
  readonly secret: string;
  /** A verification stream: the stream id and key an originating server claimed on our incoming stream. */
  readonly verify?: { readonly id: string; readonly key: string };
  /** STARTTLS toward a receiver that offers it (`optional`), or no stream without it (`required`). */
  readonly tls: TlsMode;
  /**
   * How long each step of setting the stream up (header, features, STARTTLS, dialback) waits for
   * the receiver's answer; then the stream fails and closes (a damaged segment can leave the
   * receiver waiting inside an element, answering nothing). Ours: RFC 6120 names no such limit.
   */
  readonly answerMs: number;
}

interface S2sContext extends S2sInput {
  /** The connection now tried: `conn`, then `conn.2`, `conn.3`... for further SRV targets. */
  readonly current: string;
  readonly attempt: number;
  readonly queue: readonly XmlElement[];
  readonly targets: readonly SrvTarget[];
  /** The receiving server's stream id (its header's `id`), which the dialback key covers. */
  readonly streamId: string;
  /** TLS is up on the connection (RFC 6120 §5.4.3.3). */
  readonly secure: boolean;
}

export type DialbackOutcome = 'valid' | 'invalid' | 'error';

export type S2sEvent =
  | { type: 's2s.send'; stanza: XmlElement }
  | { type: 'dns.srv'; targets: readonly SrvTarget[] | 'none' }
  | { type: 'dns.mx'; host: string | undefined }
  | { type: 'dns.a'; found: boolean }
  | { type: 'conn.opened' }
  | { type: 'conn.failed' }
  | { type: 's2s.header'; id: string }
  /** The receiver's `<stream:features/>`, and whether it offers STARTTLS. */
  | { type: 's2s.features'; starttls: boolean }
  /** `<proceed/>` (RFC 6120 §5.4.2.3) or `<failure/>` (§5.4.2.2) in the TLS namespace. */
  | { type: 's2s.proceed' }
  | { type: 's2s.tls-refused' }
  | { type: 'tls.done'; ok: boolean }
  | { type: 'db.result'; outcome: DialbackOutcome }
  | { type: 'db.verify'; outcome: 'valid' | 'invalid' }
  | { type: 'conn.closed' };

export type S2sEmitted =
  | { type: 'output'; output: NodeOutput }
  | { type: 's2s.undelivered'; stanzas: readonly XmlElement[]; reason: string }
  | { type: 's2s.conn'; conn: string }
  | { type: 's2s.verified'; outcome: DialbackOutcome };

export const s2sMachine = setup({
  types: {
    context: {} as S2sContext,
    input: {} as S2sInput,
    events: {} as S2sEvent,
    emitted: {} as S2sEmitted,
  },
  delays: {
    answerDelay: ({ context }) => context.answerMs,
  },
  guards: {
    hasSrv: ({ event }) => event.type === 'dns.srv' && event.targets !== 'none' && event.targets.length > 0,
    srvNone: ({ event }) => event.type === 'dns.srv' && event.targets === 'none',
    hasMx: ({ event }) => event.type === 'dns.mx' && event.host !== undefined,
    hasA: ({ event }) => event.type === 'dns.a' && event.found,
    hasMoreTargets: ({ context }) => context.targets.length > 1,
    isVerify: ({ context }) => context.verify !== undefined,
    isValid: ({ event }) => event.type === 'db.result' && event.outcome === 'valid',
    isQueueFull: ({ context }) => context.queue.length >= queueCountMax,
    offersTls: ({ context, event }) =>
      context.tls !== 'off' && event.type === 's2s.features' && event.starttls && !context.secure,
    mayGoOn: ({ context }) => context.secure || context.tls !== 'required',
    isTlsUp: ({ event }) => event.type === 'tls.done' && event.ok,
  },
  actions: {
    queueStanza: assign({
      queue: ({ context, event }) => (event.type === 's2s.send' ? [...context.queue, event.stanza] : context.queue),
    }),
    writeStanza: emit(({ context, event }) =>
      output(writeElements(context.current, event.type === 's2s.send' ? [event.stanza] : [])),
    ),
    querySrv: emit(({ context }) =>
      output({
        kind: 'dns.query',
        query: `${context.conn}:srv`,
        name: `_xmpp-server._tcp.${context.remoteDomain}`,
        type: 'SRV',
      }),
    ),
    queryMx: emit(({ context }) =>
      output({ kind: 'dns.query', query: `${context.conn}:mx`, name: context.remoteDomain, type: 'MX' }),
    ),
    queryA: emit(({ context }) =>
      output({ kind: 'dns.query', query: `${context.conn}:a`, name: context.remoteDomain, type: 'A' }),
    ),
    useSrv: assign({
      targets: ({ context, event }) =>
        event.type === 'dns.srv' && event.targets !== 'none' ? event.targets : context.targets,
    }),
    useMx: assign({
      targets: ({ context, event }) =>
        event.type === 'dns.mx' && event.host ? [{ host: event.host, port: context.port }] : context.targets,
    }),
    useA: assign({ targets: ({ context }) => [{ host: context.remoteDomain, port: context.port }] }),
    nextTarget: enqueueActions(({ context, enqueue }) => {
      const attempt = context.attempt + 1;
      const current = `${context.conn}.${attempt}`;
      enqueue.assign({ targets: context.targets.slice(1), attempt, current });
      enqueue.emit({ type: 's2s.conn' as const, conn: current });
    }),
    connect: emit(({ context }) => {
      const target = context.targets[0] ?? { host: context.remoteDomain, port: context.port };
      return output({ kind: 'connect', conn: context.current, target: { host: target.host, port: target.port } });
    }),
    sendHeader: emit(({ context }) =>
      output(
        write(
          context.current,
          writeStreamHeader({
            ...streamHeaderAttrs(ns.server, { from: context.localDomain, to: context.remoteDomain }),
            'xmlns:db': ns.dialback,
          }),
        ),
      ),
    ),
    useStreamId: assign({
      streamId: ({ context, event }) => (event.type === 's2s.header' ? event.id : context.streamId),
    }),
    sendResult: emit(({ context }) =>
      output(
        writeElements(context.current, [
          dbResultKey(
            context.localDomain,
            context.remoteDomain,
            dialbackKey(context.secret, context.remoteDomain, context.localDomain, context.streamId),
          ),
        ]),
      ),
    ),
    sendVerify: emit(({ context }) =>
      output(
        writeElements(context.current, [
          dbVerifyKey(context.localDomain, context.remoteDomain, context.verify?.id ?? '', context.verify?.key ?? ''),
        ]),
      ),
    ),
    reportVerified: emit(({ event }) => ({
      type: 's2s.verified' as const,
      outcome: event.type === 'db.verify' ? event.outcome : ('error' as const),
    })),
    closeStream: enqueueActions(({ context, enqueue }) => {
      enqueue.emit(output(write(context.current, streamClose)));
      enqueue.emit(output({ kind: 'close', conn: context.current }));
    }),
    noteAuthenticated: emit(({ context }) =>
      output({
        kind: 'note',
        what: 'ambrosia.s2s.authenticated',
        detail: { from: context.localDomain, to: context.remoteDomain },
      }),
    ),
    flushQueue: enqueueActions(({ context, enqueue }) => {
      if (context.queue.length > 0) enqueue.emit(output(writeElements(context.current, context.queue)));
      enqueue.assign({ queue: [] });
    }),
    reportFailure: enqueueActions(({ context, event, enqueue }) => {
      if (context.verify) {
        enqueue.emit({ type: 's2s.verified' as const, outcome: 'error' as const });
        return;
      }
      const reason =
        event.type === 'db.result'
          ? `${context.remoteDomain} refused our dialback (${event.outcome})`
          : event.type === 'tls.done' || event.type === 's2s.features' || event.type === 's2s.tls-refused'
            ? `no TLS with ${context.remoteDomain}`
            : `${context.remoteDomain} is unreachable`;
      enqueue.emit({ type: 's2s.undelivered' as const, stanzas: context.queue, reason });
    }),
    writeStartTls: emit(({ context }) => output(writeElements(context.current, [el('starttls', { xmlns: ns.tls })]))),
    startTls: emit(({ context }) => output({ kind: 'tls.start', conn: context.current, role: 'client' })),
    markSecure: assign({ secure: true }),
    /** No TLS where this side demands it (RFC 6120 §5.3.1): the stream ends unused. */
    closeWithoutTls: enqueueActions(({ context, enqueue }) => {
      enqueue.emit(
        output({
          kind: 'reject',
          code: 'ambrosia.s2s.tls-unavailable',
          reason: `${context.remoteDomain} offers no usable STARTTLS and this gateway requires it`,
        }),
      );
      enqueue.emit(output(write(context.current, streamClose)));
      enqueue.emit(output({ kind: 'close', conn: context.current }));
    }),
    rejectFull: emit(() =>
      output({
        kind: 'reject',
        code: 'ambrosia.s2s.queue-full',
        reason: `over ${queueCountMax} stanzas wait for one remote domain`,
      }),
    ),
  },
}).createMachine({
  id: 'ambrosia.s2s',
  initial: 'resolvingSrv',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) =>
    Object.assign({}, input, {
      current: input.conn,
      attempt: 1,
      queue: [],
      targets: [],
      streamId: '',
      secure: false,
    }),
  entry: 'querySrv',
  on: {
    's2s.send': [{ guard: 'isQueueFull', actions: 'rejectFull' }, { actions: 'queueStanza' }],
  },
  states: {
    resolvingSrv: {
      on: {
        'dns.srv': [
          { guard: 'hasSrv', target: 'connecting', actions: ['useSrv', 'connect'] },
          { guard: 'srvNone', target: 'failed' },
          { target: 'resolvingMx', actions: 'queryMx' },
        ],
      },
    },
    resolvingMx: {
      on: {
        'dns.mx': [
          { guard: 'hasMx', target: 'connecting', actions: ['useMx', 'connect'] },
          { target: 'resolvingA', actions: 'queryA' },
        ],
      },
    },
    resolvingA: {
      on: {
        'dns.a': [{ guard: 'hasA', target: 'connecting', actions: ['useA', 'connect'] }, { target: 'failed' }],
      },
    },
    connecting: {
      on: {
        'conn.opened': { target: 'opening', actions: 'sendHeader' },
        'conn.failed': [
          // RFC 6120 §3.2.1: on failure, the next SRV target in order.
          { guard: 'hasMoreTargets', target: 'connecting', actions: ['nextTarget', 'connect'] },
          { target: 'failed' },
        ],
      },
    },
    opening: {
      after: { answerDelay: { target: 'failed', actions: 'closeStream' } },
      on: {
        's2s.header': { target: 'features', actions: 'useStreamId' },
        'conn.closed': { target: 'failed' },
      },
    },
    features: {
      after: { answerDelay: { target: 'failed', actions: 'closeStream' } },
      on: {
        's2s.features': [
          { guard: 'offersTls', target: 'securing', actions: 'writeStartTls' },
          { guard: not('mayGoOn'), target: 'failed', actions: 'closeWithoutTls' },
          { guard: 'isVerify', target: 'verifying', actions: 'sendVerify' },
          { target: 'authenticating', actions: 'sendResult' },
        ],
        'conn.closed': { target: 'failed' },
      },
    },
    /** `<starttls/>` is out (RFC 6120 §5.4.2.1): `<proceed/>`, then the handshake, then a new stream. */
    securing: {
      after: { answerDelay: { target: 'failed', actions: 'closeStream' } },
      on: {
        's2s.proceed': { target: 'handshaking', actions: 'startTls' },
        's2s.tls-refused': { target: 'failed', actions: 'closeWithoutTls' },
        'conn.closed': { target: 'failed' },
      },
    },
    handshaking: {
      on: {
        'tls.done': [
          { guard: 'isTlsUp', target: 'opening', actions: ['markSecure', 'sendHeader'] },
          { target: 'failed' },
        ],
        'conn.closed': { target: 'failed' },
      },
    },
    authenticating: {
      after: { answerDelay: { target: 'failed', actions: 'closeStream' } },
      on: {
        'db.result': [
          { guard: 'isValid', target: 'established', actions: ['noteAuthenticated', 'flushQueue'] },
          { target: 'failed', actions: 'closeStream' },
        ],
        'conn.closed': { target: 'failed' },
      },
    },
    verifying: {
      after: { answerDelay: { target: 'failed', actions: 'closeStream' } },
      on: {
        'db.verify': { target: 'verified', actions: ['reportVerified', 'closeStream'] },
        'conn.closed': { target: 'failed' },
      },
    },
    established: {
      on: {
        's2s.send': { actions: 'writeStanza' },
        'conn.closed': { target: 'closed' },
      },
    },
    verified: { type: 'final' },
    failed: { type: 'final', entry: 'reportFailure' },
    closed: { type: 'final' },
  },
});
