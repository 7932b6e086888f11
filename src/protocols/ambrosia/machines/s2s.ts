/**
 * The gateway's outgoing s2s stream to one remote domain (spec.md §3 "s2s"): MX, then A lookup,
 * connect, stream header, then the queued stanzas. Streams are one-way (RFC 6120 §4.1). With TLS
 * on, the stream's features are read first: STARTTLS where the receiver offers it (RFC 6120 §5),
 * then a new stream over TLS.
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { NodeOutput } from '../../protocol.js';
import { queueCountMax, type TlsMode } from '../config.js';
import { el, ns, streamClose, streamHeaderAttrs, writeStreamHeader, type XmlElement } from '../wire.js';
import { write, writeElements } from './outputs.js';

export interface S2sInput {
  readonly conn: string;
  readonly localDomain: string;
  readonly remoteDomain: string;
  readonly port: number;
  /** STARTTLS toward a receiver that offers it (`optional`), or no stream without it (`required`). */
  readonly tls: TlsMode;
}

interface S2sContext extends S2sInput {
  readonly queue: readonly XmlElement[];
  readonly target: string;
  /** TLS is up on the connection (RFC 6120 §5.4.3.3). */
  readonly secure: boolean;
}

export type S2sEvent =
  | { type: 's2s.send'; stanza: XmlElement }
  | { type: 'dns.mx'; host: string | undefined }
  | { type: 'dns.a'; found: boolean }
  | { type: 'conn.opened' }
  | { type: 'conn.failed' }
  | { type: 's2s.header' }
  /** The receiver's `<stream:features/>`, and whether it offers STARTTLS. */
  | { type: 's2s.features'; starttls: boolean }
  /** `<proceed/>` (RFC 6120 §5.4.2.3) or `<failure/>` (§5.4.2.2) in the TLS namespace. */
  | { type: 's2s.proceed' }
  | { type: 's2s.tls-refused' }
  | { type: 'tls.done'; ok: boolean }
  | { type: 'conn.closed' };

export const s2sMachine = setup({
  types: {
    context: {} as S2sContext,
    input: {} as S2sInput,
    events: {} as S2sEvent,
    emitted: {} as { type: 'output'; output: NodeOutput } | { type: 's2s.undelivered'; stanzas: readonly XmlElement[] },
  },
  guards: {
    hasMx: ({ event }) => event.type === 'dns.mx' && event.host !== undefined,
    hasA: ({ event }) => event.type === 'dns.a' && event.found,
    isQueueFull: ({ context }) => context.queue.length >= queueCountMax,
    usesTls: ({ context }) => context.tls !== 'off',
    offersTls: ({ context, event }) => event.type === 's2s.features' && event.starttls && !context.secure,
    mayGoOn: ({ context }) => context.secure || context.tls !== 'required',
    isTlsUp: ({ event }) => event.type === 'tls.done' && event.ok,
  },
  actions: {
    queueStanza: assign({
      queue: ({ context, event }) => (event.type === 's2s.send' ? [...context.queue, event.stanza] : context.queue),
    }),
    writeStanza: emit(({ context, event }) =>
      output(writeElements(context.conn, event.type === 's2s.send' ? [event.stanza] : [])),
    ),
    queryMx: emit(({ context }) =>
      output({ kind: 'dns.query', query: `${context.conn}:mx`, name: context.remoteDomain, type: 'MX' }),
    ),
    queryA: emit(({ context }) =>
      output({ kind: 'dns.query', query: `${context.conn}:a`, name: context.remoteDomain, type: 'A' }),
    ),
    useMxHost: assign({
      target: ({ context, event }) => (event.type === 'dns.mx' && event.host ? event.host : context.target),
    }),
    connect: emit(({ context }) =>
      output({ kind: 'connect', conn: context.conn, target: { host: context.target, port: context.port } }),
    ),
    sendHeader: emit(({ context }) =>
      output(
        write(
          context.conn,
          writeStreamHeader(streamHeaderAttrs(ns.server, { from: context.localDomain, to: context.remoteDomain })),
        ),
      ),
    ),
    flushQueue: enqueueActions(({ context, enqueue }) => {
      if (context.queue.length > 0) enqueue.emit(output(writeElements(context.conn, context.queue)));
      enqueue.assign({ queue: [] });
    }),
    writeStartTls: emit(({ context }) => output(writeElements(context.conn, [el('starttls', { xmlns: ns.tls })]))),
    startTls: emit(({ context }) => output({ kind: 'tls.start', conn: context.conn, role: 'client' })),
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
      enqueue.emit(output(write(context.conn, streamClose)));
      enqueue.emit(output({ kind: 'close', conn: context.conn }));
    }),
    reportUndelivered: emit(({ context }) => ({ type: 's2s.undelivered' as const, stanzas: context.queue })),
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
  initial: 'resolvingMx',
  context: ({ input }) => ({ ...input, queue: [], target: input.remoteDomain, secure: false }),
  entry: 'queryMx',
  on: {
    's2s.send': [{ guard: 'isQueueFull', actions: 'rejectFull' }, { actions: 'queueStanza' }],
  },
  states: {
    resolvingMx: {
      on: {
        'dns.mx': [
          { guard: 'hasMx', target: 'connecting', actions: ['useMxHost', 'connect'] },
          { target: 'resolvingA', actions: 'queryA' },
        ],
      },
    },
    resolvingA: {
      on: {
        'dns.a': [
          { guard: 'hasA', target: 'connecting', actions: 'connect' },
          { target: 'failed', actions: 'reportUndelivered' },
        ],
      },
    },
    connecting: {
      on: {
        'conn.opened': { target: 'opening', actions: 'sendHeader' },
        'conn.failed': { target: 'failed', actions: 'reportUndelivered' },
      },
    },
    opening: {
      on: {
        's2s.header': [
          { guard: 'usesTls', target: 'negotiating' },
          { target: 'established', actions: 'flushQueue' },
        ],
        'conn.closed': { target: 'failed', actions: 'reportUndelivered' },
      },
    },
    /** RFC 6120 §4.3.2: the receiver's features say whether STARTTLS is on offer. */
    negotiating: {
      on: {
        's2s.features': [
          { guard: 'offersTls', target: 'securing', actions: 'writeStartTls' },
          { guard: 'mayGoOn', target: 'established', actions: 'flushQueue' },
          { target: 'failed', actions: ['closeWithoutTls', 'reportUndelivered'] },
        ],
        'conn.closed': { target: 'failed', actions: 'reportUndelivered' },
      },
    },
    /** `<starttls/>` is out (RFC 6120 §5.4.2.1): `<proceed/>`, then the handshake, then a new stream. */
    securing: {
      on: {
        's2s.proceed': { target: 'handshaking', actions: 'startTls' },
        's2s.tls-refused': { target: 'failed', actions: ['closeWithoutTls', 'reportUndelivered'] },
        'conn.closed': { target: 'failed', actions: 'reportUndelivered' },
      },
    },
    handshaking: {
      on: {
        'tls.done': [
          { guard: 'isTlsUp', target: 'opening', actions: ['markSecure', 'sendHeader'] },
          { target: 'failed', actions: 'reportUndelivered' },
        ],
        'conn.closed': { target: 'failed', actions: 'reportUndelivered' },
      },
    },
    established: {
      on: {
        's2s.send': { actions: 'writeStanza' },
        'conn.closed': { target: 'closed' },
      },
    },
    failed: { type: 'final' },
    closed: { type: 'final' },
  },
});
