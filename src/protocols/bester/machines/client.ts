/**
 * `bester.client` (spec.md §3): a client's connection to its server. It authenticates, queues what
 * its user sends until the server accepts it, then writes each message and delivers what the server
 * sends. Local API misuse: a `user.send` before authentication is queued, not refused; after the
 * link has closed the client role refuses it with a `reject` output.
 *
 * No I/O here and no timers: the machine emits `output` events. The client role decodes the bytes: the
 * machine sees typed wire events.
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { output, type OutputEvent } from '../../../engine/actor.js';
import type { ConnectFailure } from '../../protocol.js';
import { close, note, write } from '../outputs.js';
import { authMessage, authReportId, clientMessage, type Payload } from '../wire.js';

export interface ClientInput {
  readonly conn: string;
  readonly server: { readonly host: string; readonly port: number };
  readonly username: string;
  readonly password: string;
}

interface ClientContext extends ClientInput {
  readonly queue: readonly Payload[];
}

export type ClientEvent =
  | { type: 'conn.opened' }
  | { type: 'conn.failed'; reason: ConnectFailure }
  | { type: 'conn.closed' }
  | { type: 'user.send'; payload: Payload }
  | { type: 'user.close' }
  /** Bytes written as they are (tests of bad input), once the connection is open. */
  | { type: 'user.raw'; bytes: Uint8Array; decoded: unknown }
  | { type: 'wire.status'; status: 'good' | 'bad'; id: string }
  | { type: 'wire.received'; messageType: string; data: unknown }
  | { type: 'wire.dummy'; id: string }
  | { type: 'wire.malformed'; code: string };

/** What a client's user sees as the message body: strings as they are, anything else as JSON. */
export function bodyOf(data: unknown): string {
  return typeof data === 'string' ? data : JSON.stringify(data);
}

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    input: {} as ClientInput,
    events: {} as ClientEvent,
    emitted: {} as OutputEvent,
  },
  guards: {
    isAuthGood: ({ event }) => event.type === 'wire.status' && event.id === authReportId && event.status === 'good',
  },
  actions: {
    connect: emit(({ context }) => output({ kind: 'connect', conn: context.conn, target: context.server })),
    writeAuth: emit(({ context }) => write(context.conn, authMessage(context.username, context.password))),
    queueMessage: assign({
      queue: ({ context, event }) => (event.type === 'user.send' ? [...context.queue, event.payload] : context.queue),
    }),
    flushQueue: enqueueActions(({ context, enqueue }) => {
      for (const payload of context.queue) enqueue.emit(write(context.conn, clientMessage(payload)));
      enqueue.assign({ queue: [] });
    }),
    writeMessage: emit(({ context, event }) =>
      write(
        context.conn,
        clientMessage(event.type === 'user.send' ? event.payload : { type: 'dummy', id: '', data: null }),
      ),
    ),
    writeRaw: emit(({ context, event }) => {
      const raw = event.type === 'user.raw' ? event : { bytes: new Uint8Array(0), decoded: null };
      return output({ kind: 'write', conn: context.conn, bytes: raw.bytes, decoded: raw.decoded });
    }),
    rejectRawEarly: emit(({ context }) =>
      output({
        kind: 'reject',
        code: 'bester.not-connected',
        reason: `${context.username} has no open connection for raw bytes yet`,
      }),
    ),
    writeClose: emit(({ context }) =>
      write(context.conn, clientMessage({ type: 'builtin', id: 'close', data: { command: { type: 'close' } } })),
    ),
    deliverMessage: emit(({ context, event }) => {
      const received = event.type === 'wire.received' ? event : { messageType: '', data: null };
      return output({
        kind: 'deliver',
        user: context.username,
        from: context.server.host,
        body: bodyOf(received.data),
        detail: { type: received.messageType, data: received.data },
      });
    }),
    noteStatus: emit(({ event }) =>
      note('bester.status', event.type === 'wire.status' ? { id: event.id, status: event.status } : { id: '' }),
    ),
    noteDummy: emit(({ event }) => note('bester.dummy', { id: event.type === 'wire.dummy' ? event.id : '' })),
    closeConn: emit(({ context }) => close(context.conn)),
    rejectAuth: emit(({ context }) =>
      output({
        kind: 'reject',
        code: 'bester.auth-failed',
        reason: `${context.server.host}:${context.server.port} did not accept ${context.username}`,
        detail: { unsent: context.queue.map((payload) => payload.id) },
      }),
    ),
    rejectUnreachable: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: 'bester.unreachable',
        reason: `${context.server.host}:${context.server.port} ${event.type === 'conn.failed' ? event.reason : 'unreachable'}`,
        detail: { unsent: context.queue.map((payload) => payload.id) },
      }),
    ),
    rejectMalformed: emit(({ event }) =>
      output({
        kind: 'reject',
        code: 'bester.server-message.refused',
        reason: event.type === 'wire.malformed' ? event.code : event.type,
      }),
    ),
  },
}).createMachine({
  id: 'bester.client',
  initial: 'connecting',
  context: ({ input }) => ({
    conn: input.conn,
    server: input.server,
    username: input.username,
    password: input.password,
    queue: [],
  }),
  entry: 'connect',
  states: {
    connecting: {
      on: {
        'user.send': { actions: 'queueMessage' },
        'user.raw': { actions: 'rejectRawEarly' },
        'conn.opened': { target: 'authenticating' },
        'conn.failed': { target: 'failed', actions: 'rejectUnreachable' },
      },
    },
    authenticating: {
      entry: 'writeAuth',
      on: {
        'user.send': { actions: 'queueMessage' },
        'user.raw': { actions: 'writeRaw' },
        'wire.status': [
          { guard: 'isAuthGood', target: 'ready' },
          { target: 'failed', actions: ['rejectAuth', 'closeConn'] },
        ],
        'wire.malformed': { target: 'failed', actions: ['rejectMalformed', 'closeConn'] },
        'conn.closed': { target: 'failed', actions: 'rejectAuth' },
      },
    },
    ready: {
      entry: 'flushQueue',
      on: {
        'user.send': { actions: 'writeMessage' },
        'user.close': { actions: 'writeClose' },
        'user.raw': { actions: 'writeRaw' },
        'wire.status': { actions: 'noteStatus' },
        'wire.received': { actions: 'deliverMessage' },
        'wire.dummy': { actions: 'noteDummy' },
        'wire.malformed': { target: 'closed', actions: ['rejectMalformed', 'closeConn'] },
        'conn.closed': { target: 'closed' },
      },
    },
    failed: { type: 'final' },
    closed: { type: 'final' },
  },
});
