/**
 * The gateway's side of one service connection until it is authenticated (spec.md §4.1–4.2): the
 * stream header, then the mutual handshake. The chunk/ack layer after it is ./channel.ts.
 */
import { emit, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import {
  el,
  ns,
  streamClose,
  streamErrorElement,
  streamHeaderAttrs,
  writeElement,
  writeStreamHeader,
  type StreamCondition,
} from '../wire.js';
import { write, writeElements } from './outputs.js';

export interface ServiceSessionInput {
  readonly conn: string;
  readonly streamId: string;
  readonly localDomain: string;
}

export type ServiceSessionEvent =
  | { type: 'svc.header' }
  | { type: 'svc.handshake'; valid: boolean; proof: string }
  | { type: 'svc.fail'; condition: StreamCondition }
  | { type: 'conn.closed' };

export const serviceSessionMachine = setup({
  types: { context: {} as ServiceSessionInput, input: {} as ServiceSessionInput, events: {} as ServiceSessionEvent },
  guards: { isValidHandshake: ({ event }) => event.type === 'svc.handshake' && event.valid },
  actions: {
    sendHeader: emit(({ context }) =>
      output(
        write(
          context.conn,
          writeStreamHeader(streamHeaderAttrs(ns.service, { from: context.localDomain, id: context.streamId })) +
            writeElement(el('stream:features')),
        ),
      ),
    ),
    sendHandshake: emit(({ context, event }) =>
      output(writeElements(context.conn, [el('handshake', {}, [event.type === 'svc.handshake' ? event.proof : ''])])),
    ),
    sendNotAuthorized: emit(({ context }) =>
      output(write(context.conn, writeElement(streamErrorElement('not-authorized')) + streamClose)),
    ),
    sendStreamError: emit(({ context, event }) =>
      output(
        write(
          context.conn,
          writeElement(streamErrorElement(event.type === 'svc.fail' ? event.condition : 'bad-format')) + streamClose,
        ),
      ),
    ),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: context.conn })),
  },
}).createMachine({
  id: 'ambrosia.service-session',
  initial: 'opening',
  context: ({ input }) => input,
  on: {
    'svc.fail': { target: '.closed', actions: ['sendStreamError', 'closeConn'] },
    'conn.closed': { target: '.closed' },
  },
  states: {
    opening: { on: { 'svc.header': { target: 'authenticating', actions: 'sendHeader' } } },
    authenticating: {
      on: {
        'svc.handshake': [
          { guard: 'isValidHandshake', target: 'established', actions: 'sendHandshake' },
          { target: 'closed', actions: ['sendNotAuthorized', 'closeConn'] },
        ],
      },
    },
    established: {},
    closed: { type: 'final' },
  },
});
