/**
 * The IM service's link to one gateway (spec.md §4.1–4.3, §5): connect, stream header, mutual
 * handshake, registrations; exponential backoff on failure or loss. Nonces come in events, drawn
 * by the node from the host's seeded stream.
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { NodeOutput } from '../../protocol.js';
import { el, ns, serviceProof, streamHeaderAttrs, writeStreamHeader } from '../wire.js';
import { write, writeElements } from './outputs.js';

export interface ServiceLinkInput {
  readonly link: string;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly registrations: readonly { readonly domain: string; readonly type: string }[];
  readonly retryMs: number;
  readonly retryMsMax: number;
  /** Nonces for each connection attempt come from the node's seeded stream, drawn by the node. */
  readonly nonce: string;
}

interface ServiceLinkContext extends ServiceLinkInput {
  readonly attempt: number;
  readonly streamId: string;
}

export type ServiceLinkEvent =
  | { type: 'conn.opened' }
  | { type: 'conn.failed' }
  | { type: 'conn.closed' }
  | { type: 'svc.header'; streamId: string }
  /** The gateway's `<handshake>` text: its proof (spec.md §4.2). */
  | { type: 'svc.handshake'; proof: string }
  | { type: 'svc.nonce'; nonce: string }
  | { type: 'svc.stop' };

export function serviceLinkConn(context: { link: string; attempt: number }): string {
  return `${context.link}#${context.attempt}`;
}

export const serviceLinkMachine = setup({
  types: {
    context: {} as ServiceLinkContext,
    input: {} as ServiceLinkInput,
    events: {} as ServiceLinkEvent,
    emitted: {} as { type: 'output'; output: NodeOutput } | { type: 'link.ready' } | { type: 'link.down' },
  },
  guards: {
    /** The gateway proved it holds the secret for this stream id and our nonce (spec.md §4.2). */
    isValidHandshake: ({ context, event }) =>
      event.type === 'svc.handshake' &&
      event.proof === serviceProof('gateway', context.streamId, context.nonce, context.secret),
  },
  actions: {
    connect: emit(({ context }) =>
      output({ kind: 'connect', conn: serviceLinkConn(context), target: { host: context.host, port: context.port } }),
    ),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    takeNonce: assign({ nonce: ({ context, event }) => (event.type === 'svc.nonce' ? event.nonce : context.nonce) }),
    sendHeader: emit(({ context }) =>
      output(
        write(
          serviceLinkConn(context),
          writeStreamHeader(streamHeaderAttrs(ns.service, { from: context.name, to: context.host })),
        ),
      ),
    ),
    sendHandshake: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'svc.header') return;
      const proof = serviceProof('service', event.streamId, context.nonce, context.secret);
      enqueue.assign({ streamId: event.streamId });
      enqueue.emit(
        output(writeElements(serviceLinkConn(context), [el('handshake', { nonce: context.nonce }, [proof])])),
      );
    }),
    sendRegistrations: emit(({ context }) =>
      output(
        writeElements(
          serviceLinkConn(context),
          context.registrations.map((r) => el('register', { domain: r.domain, type: r.type })),
        ),
      ),
    ),
    reportReady: emit({ type: 'link.ready' as const }),
    reportDown: emit({ type: 'link.down' as const }),
    rejectGateway: emit(({ context }) =>
      output({
        kind: 'reject',
        code: 'ambrosia.gateway.unauthenticated',
        reason: `gateway ${context.host} failed the mutual handshake`,
      }),
    ),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: serviceLinkConn(context) })),
  },
  delays: {
    retryDelay: ({ context }) => Math.min(context.retryMsMax, context.retryMs * 2 ** Math.min(16, context.attempt - 1)),
  },
}).createMachine({
  id: 'ambrosia.service-link',
  initial: 'connecting',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) => Object.assign({}, input, { attempt: 1, streamId: '' }),
  entry: 'connect',
  on: {
    'svc.stop': { target: '.stopped', actions: 'closeConn' },
    'svc.nonce': { actions: 'takeNonce' },
  },
  states: {
    connecting: {
      on: {
        'conn.opened': { target: 'opening', actions: 'sendHeader' },
        'conn.failed': { target: 'backingOff' },
      },
    },
    opening: {
      on: {
        'svc.header': { target: 'handshaking', actions: 'sendHandshake' },
        'conn.closed': { target: 'backingOff' },
      },
    },
    handshaking: {
      on: {
        'svc.handshake': [
          { guard: 'isValidHandshake', target: 'ready', actions: ['sendRegistrations', 'reportReady'] },
          { target: 'backingOff', actions: ['rejectGateway', 'closeConn'] },
        ],
        'conn.closed': { target: 'backingOff' },
      },
    },
    ready: {
      on: { 'conn.closed': { target: 'backingOff', actions: 'reportDown' } },
    },
    backingOff: {
      after: { retryDelay: { target: 'connecting', actions: ['countAttempt', 'connect'] } },
    },
    stopped: { type: 'final' },
  },
});
