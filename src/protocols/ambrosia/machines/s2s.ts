/**
 * The gateway's outgoing s2s stream to one remote domain (spec.md §3 "s2s"): MX, then A lookup,
 * connect, stream header, then the queued stanzas. Streams are one-way (RFC 6120 §4.1).
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { NodeOutput } from '../../protocol.js';
import { queueCountMax } from '../config.js';
import { ns, streamHeaderAttrs, writeStreamHeader, type XmlElement } from '../wire.js';
import { write, writeElements } from './outputs.js';

export interface S2sInput {
  readonly conn: string;
  readonly localDomain: string;
  readonly remoteDomain: string;
  readonly port: number;
}

interface S2sContext extends S2sInput {
  readonly queue: readonly XmlElement[];
  readonly target: string;
}

export type S2sEvent =
  | { type: 's2s.send'; stanza: XmlElement }
  | { type: 'dns.mx'; host: string | undefined }
  | { type: 'dns.a'; found: boolean }
  | { type: 'conn.opened' }
  | { type: 'conn.failed' }
  | { type: 's2s.header' }
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
  context: ({ input }) => ({ ...input, queue: [], target: input.remoteDomain }),
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
        's2s.header': { target: 'established', actions: 'flushQueue' },
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
