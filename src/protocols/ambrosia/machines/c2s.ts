/**
 * The gateway's side of one c2s stream (spec.md §3 "c2s"): stream header, SASL PLAIN, the restart,
 * resource binding. No I/O and no XML parsing: the gateway parses, sends dotted semantic events
 * (`c2s.header`, `sasl.accept`, ...), and this machine keeps the state, runs the see-other-host
 * timer on the host clock, and emits the writes.
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
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

const saslFeatures = el('stream:features', {}, [
  el('mechanisms', { xmlns: ns.sasl }, [el('mechanism', {}, ['PLAIN'])]),
]);
// XEP-0198: stream management is offered after authentication, beside resource binding.
const bindFeatures = el('stream:features', {}, [el('bind', { xmlns: ns.bind }), el('sm', { xmlns: ns.sm })]);

// ---- gateway: one client stream ----

export interface C2sInput {
  readonly conn: string;
  readonly streamId: string;
  readonly seeOtherHostTimeoutMs: number;
}

interface C2sContext extends C2sInput {
  readonly domain: string;
  readonly jid: string;
  readonly headerSent: boolean;
}

export type C2sEvent =
  | { type: 'c2s.header'; domain: string; hosted: boolean }
  | { type: 'sasl.accept'; jid: string }
  | { type: 'sasl.reject'; condition: string }
  | { type: 'sasl.lookup' }
  | { type: 'soh.found'; host: string }
  | { type: 'soh.none' }
  | { type: 'bind.done'; jid: string; id: string }
  | { type: 'c2s.resumed'; jid: string }
  | { type: 'c2s.fail'; condition: StreamCondition; text?: string }
  | { type: 'c2s.end' }
  | { type: 'conn.closed' };

export const c2sMachine = setup({
  types: { context: {} as C2sContext, input: {} as C2sInput, events: {} as C2sEvent },
  guards: {
    isHosted: ({ event }) => event.type === 'c2s.header' && event.hosted,
  },
  actions: {
    rememberDomain: assign({
      domain: ({ context, event }) => (event.type === 'c2s.header' ? event.domain : context.domain),
    }),
    sendHeaderAndSaslFeatures: enqueueActions(({ context, enqueue }) => {
      const header = writeStreamHeader(streamHeaderAttrs(ns.client, { from: context.domain, id: context.streamId }));
      enqueue.emit(output(write(context.conn, header + writeElement(saslFeatures))));
      enqueue.assign({ headerSent: true });
    }),
    sendHeaderAndBindFeatures: emit(({ context }) =>
      output(
        write(
          context.conn,
          writeStreamHeader(streamHeaderAttrs(ns.client, { from: context.domain, id: `${context.streamId}.2` })) +
            writeElement(bindFeatures),
        ),
      ),
    ),
    sendSuccess: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'sasl.accept') return;
      enqueue.assign({ jid: event.jid });
    }),
    writeSuccess: emit(({ context }) => output(writeElements(context.conn, [el('success', { xmlns: ns.sasl })]))),
    sendFailure: emit(({ context, event }) =>
      output(
        writeElements(context.conn, [
          el('failure', { xmlns: ns.sasl }, [el(event.type === 'sasl.reject' ? event.condition : 'not-authorized')]),
        ]),
      ),
    ),
    sendBound: emit(({ context, event }) => {
      const jid = event.type === 'bind.done' ? event.jid : context.jid;
      const id = event.type === 'bind.done' ? event.id : '';
      return output(
        writeElements(context.conn, [
          el('iq', { type: 'result', id }, [el('bind', { xmlns: ns.bind }, [el('jid', {}, [jid])])]),
        ]),
      );
    }),
    rememberBound: assign({
      jid: ({ context, event }) =>
        event.type === 'bind.done' || event.type === 'c2s.resumed' ? event.jid : context.jid,
    }),
    sendSeeOtherHost: emit(({ context, event }) =>
      output(
        write(
          context.conn,
          writeElement(streamErrorElement('see-other-host', event.type === 'soh.found' ? event.host : '')) +
            streamClose,
        ),
      ),
    ),
    sendStreamError: emit(({ context, event }) => {
      const condition: StreamCondition = event.type === 'c2s.fail' ? event.condition : 'host-unknown';
      const header = context.headerSent
        ? ''
        : writeStreamHeader(streamHeaderAttrs(ns.client, { from: context.domain || undefined, id: context.streamId }));
      return output(write(context.conn, header + writeElement(streamErrorElement(condition)) + streamClose));
    }),
    sendStreamClose: emit(({ context }) => output(write(context.conn, streamClose))),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: context.conn })),
  },
  delays: {
    seeOtherHostDelay: ({ context }) => context.seeOtherHostTimeoutMs,
  },
}).createMachine({
  id: 'ambrosia.c2s',
  initial: 'opening',
  context: ({ input }) => ({ ...input, domain: '', jid: '', headerSent: false }),
  on: {
    'c2s.fail': { target: '.closed', actions: ['sendStreamError', 'closeConn'] },
    'c2s.end': { target: '.closed', actions: ['sendStreamClose', 'closeConn'] },
    'conn.closed': { target: '.closed' },
  },
  states: {
    opening: {
      on: {
        'c2s.header': [
          { guard: 'isHosted', target: 'authenticating', actions: ['rememberDomain', 'sendHeaderAndSaslFeatures'] },
          { target: 'closed', actions: ['rememberDomain', 'sendStreamError', 'closeConn'] },
        ],
      },
    },
    authenticating: {
      on: {
        'sasl.accept': { target: 'restarting', actions: ['sendSuccess', 'writeSuccess'] },
        'sasl.reject': { actions: 'sendFailure' },
        'sasl.lookup': { target: 'checkingUser' },
      },
    },
    checkingUser: {
      on: {
        'soh.found': { target: 'closed', actions: ['sendSeeOtherHost', 'closeConn'] },
        'soh.none': { target: 'authenticating', actions: 'sendFailure' },
      },
      after: { seeOtherHostDelay: { target: 'authenticating', actions: 'sendFailure' } },
    },
    restarting: {
      on: { 'c2s.header': { target: 'binding', actions: 'sendHeaderAndBindFeatures' } },
    },
    binding: {
      on: {
        'bind.done': { target: 'bound', actions: ['rememberBound', 'sendBound'] },
        // XEP-0198 §5: a resumed session is bound already; the stream management session writes <resumed/>.
        'c2s.resumed': { target: 'bound', actions: 'rememberBound' },
      },
    },
    bound: {},
    closed: { type: 'final' },
  },
});
