/**
 * `bester.connection` (spec.md §2, §3): one accepted TCP connection on the server and its scope. The
 * first message decides it: a client that authenticates, or another server forwarding one message
 * (sendServers). A client's messages wait in a bounded queue while one is being dispatched.
 *
 * No I/O here and no timers: the machine emits `output` events, and `dispatch.request` and
 * `client.authenticated`, which the server role routes. The server role decodes the bytes: the machine
 * sees parsed JSON values and typed wire events.
 */
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import type { OutputEvent } from '../../../engine/actor.js';
import { close, note, write } from '../outputs.js';
import {
  authReportId,
  dummyReply,
  isObject,
  parseClientMessage,
  parseFirstMessage,
  statusReport,
  type Payload,
} from '../wire.js';

/** `builtin` messages carry `data.command.type`; only `close` does anything. */
function builtinCommand(data: unknown): string | undefined {
  if (!isObject(data) || !isObject(data['command'])) return undefined;
  const type = data['command']['type'];
  return typeof type === 'string' ? type : undefined;
}

/** besterd strips whitespace from the username and accepts any non-empty username and password. */
export function credentialsAccepted(username: string, password: string): boolean {
  return username.trim().length > 0 && password.length > 0;
}

export interface ConnectionInput {
  readonly conn: string;
  readonly handlerTypes: readonly string[];
  /** Messages a client may have waiting behind the one being dispatched. */
  readonly pendingMessagesMax: number;
}

interface ConnectionContext extends ConnectionInput {
  readonly username: string | undefined;
  readonly queue: readonly Payload[];
  /** The id of the message whose dispatch is running (its status report carries it). */
  readonly dispatched: string | undefined;
}

export type ConnectionEvent =
  | { type: 'wire.frame'; value: unknown }
  | { type: 'wire.malformed'; code: string; reason: string }
  | { type: 'dispatch.done'; status: 'good' | 'bad' }
  | { type: 'conn.closed' };

/** Asks the node to start a handler round trip for a message from this connection. */
export interface DispatchRequest {
  readonly type: 'dispatch.request';
  readonly conn: string;
  readonly origin: 'client' | 'server';
  readonly payload: { readonly type: string; readonly id: string; readonly data: unknown };
}

/** Tells the node that this connection is an authenticated client (so sendClients can find it). */
export interface ClientAuthenticated {
  readonly type: 'client.authenticated';
  readonly conn: string;
  readonly username: string;
}

function dispatchedId(context: { dispatched?: string | undefined }): string {
  return context.dispatched ?? '';
}

function firstOf(event: ConnectionEvent) {
  return event.type === 'wire.frame' ? parseFirstMessage(event.value) : undefined;
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionEvent,
    emitted: {} as OutputEvent | DispatchRequest | ClientAuthenticated,
  },
  guards: {
    isClientAuthAccepted: ({ event }) => {
      const first = firstOf(event);
      return (
        first?.ok === true &&
        first.value.scope === 'client' &&
        credentialsAccepted(first.value.username, first.value.password)
      );
    },
    // The receiver requires `id` in both profiles, as besterd does: that is what drops
    // besterd-2020's forwarded messages (spec.md §7, bug 1).
    isServerForwardAccepted: ({ context, event }) => {
      const first = firstOf(event);
      return (
        first?.ok === true &&
        first.value.scope === 'server' &&
        first.value.payload.id !== undefined &&
        context.handlerTypes.includes(first.value.payload.type)
      );
    },
    isClientMessageValid: ({ event }) => event.type === 'wire.frame' && parseClientMessage(event.value).ok,
    hasQueueRoom: ({ context }) => context.queue.length < context.pendingMessagesMax,
    hasHead: ({ context }) => context.queue.length > 0,
    headIsDummy: ({ context }) => context.queue[0]?.type === 'dummy',
    headIsBuiltinClose: ({ context }) =>
      context.queue[0]?.type === 'builtin' && builtinCommand(context.queue[0].data) === 'close',
    headIsBuiltin: ({ context }) => context.queue[0]?.type === 'builtin',
    headIsHandled: ({ context }) =>
      context.queue[0] !== undefined && context.handlerTypes.includes(context.queue[0].type),
  },
  actions: {
    registerClient: enqueueActions(({ context, event, enqueue }) => {
      const first = firstOf(event);
      if (first?.ok !== true || first.value.scope !== 'client') return;
      const username = first.value.username.trim();
      enqueue.assign({ username });
      enqueue.emit({ type: 'client.authenticated', conn: context.conn, username });
      enqueue.emit(write(context.conn, statusReport('good', authReportId)));
    }),
    requestForwardDispatch: enqueueActions(({ context, event, enqueue }) => {
      const first = firstOf(event);
      if (first?.ok !== true || first.value.scope !== 'server' || first.value.payload.id === undefined) return;
      const { type, id, data } = first.value.payload;
      enqueue.emit({ type: 'dispatch.request', conn: context.conn, origin: 'server', payload: { type, id, data } });
    }),
    noteRefusedFirst: emit(({ context, event }) => {
      const first = firstOf(event);
      const reason =
        first === undefined ? event.type : first.ok ? `${first.value.scope} scope refused` : first.error.code;
      return note('bester.first-message.refused', { conn: context.conn, reason });
    }),
    noteMalformed: emit(({ context, event }) =>
      note('bester.message.refused', {
        conn: context.conn,
        reason:
          event.type === 'wire.malformed'
            ? event.code
            : event.type === 'wire.frame'
              ? (() => {
                  const parsed = parseClientMessage(event.value);
                  return parsed.ok ? 'queue.full' : parsed.error.code;
                })()
              : event.type,
      }),
    ),
    enqueueMessage: assign({
      queue: ({ context, event }) => {
        if (event.type !== 'wire.frame') return context.queue;
        const parsed = parseClientMessage(event.value);
        return parsed.ok ? [...context.queue, parsed.value] : context.queue;
      },
    }),
    dequeue: assign({ queue: ({ context }) => context.queue.slice(1) }),
    closeConn: emit(({ context }) => close(context.conn)),
    requestClientDispatch: emit(({ context }) => {
      const head = context.queue[0] as Payload;
      return { type: 'dispatch.request', conn: context.conn, origin: 'client', payload: head } as DispatchRequest;
    }),
    replyDummy: emit(({ context }) => write(context.conn, dummyReply((context.queue[0] as Payload).id))),
    noteBuiltinIgnored: emit(({ context }) =>
      note('bester.builtin.ignored', { conn: context.conn, command: builtinCommand(context.queue[0]?.data) ?? null }),
    ),
    reportUnknownType: emit(({ context }) =>
      write(context.conn, statusReport('bad', (context.queue[0] as Payload).id)),
    ),
    reportDispatchStatus: emit(({ context, event }) =>
      write(context.conn, statusReport(event.type === 'dispatch.done' ? event.status : 'bad', dispatchedId(context))),
    ),
    rememberDispatched: assign({ dispatched: ({ context }) => context.queue[0]?.id }),
  },
}).createMachine({
  id: 'bester.connection',
  initial: 'awaitingFirst',
  // Fields named one by one (here and in the other machines): on Node 20, an object literal that
  // spreads `input` and then adds properties takes a slow path in V8, about 1.5 to 7 µs against
  // 0.05 for this, and an actor is started for each connection, dispatch and handler session.
  context: ({ input }) => ({
    conn: input.conn,
    handlerTypes: input.handlerTypes,
    pendingMessagesMax: input.pendingMessagesMax,
    username: undefined,
    queue: [],
    dispatched: undefined,
  }),
  states: {
    awaitingFirst: {
      on: {
        'wire.frame': [
          { guard: 'isClientAuthAccepted', target: 'client', actions: 'registerClient' },
          { guard: 'isServerForwardAccepted', target: 'server', actions: 'requestForwardDispatch' },
          { target: 'closed', actions: ['noteRefusedFirst', 'closeConn'] },
        ],
        'wire.malformed': { target: 'closed', actions: ['noteMalformed', 'closeConn'] },
        'conn.closed': { target: 'closed' },
      },
    },
    client: {
      initial: 'idle',
      on: {
        'wire.frame': [
          { guard: and(['isClientMessageValid', 'hasQueueRoom']), actions: 'enqueueMessage' },
          { target: 'closed', actions: ['noteMalformed', 'closeConn'] },
        ],
        'wire.malformed': { target: 'closed', actions: ['noteMalformed', 'closeConn'] },
        'conn.closed': { target: 'closed' },
      },
      states: {
        idle: {
          always: [
            { guard: 'headIsDummy', actions: ['replyDummy', 'dequeue'] },
            { guard: 'headIsBuiltinClose', target: '#connectionClosed', actions: 'closeConn' },
            { guard: 'headIsBuiltin', actions: ['noteBuiltinIgnored', 'dequeue'] },
            {
              guard: 'headIsHandled',
              target: 'busy',
              actions: ['requestClientDispatch', 'rememberDispatched', 'dequeue'],
            },
            { guard: 'hasHead', actions: ['reportUnknownType', 'dequeue'] },
          ],
        },
        busy: {
          on: { 'dispatch.done': { target: 'idle', actions: 'reportDispatchStatus' } },
        },
      },
    },
    server: {
      // One message per inbound server connection: close once its dispatch is done.
      on: {
        'dispatch.done': { target: 'closed', actions: 'closeConn' },
        'conn.closed': { target: 'closed' },
      },
    },
    // The id lets `client.idle` leave the `client` state (the machine id has dots, so no `#id.path`).
    closed: { id: 'connectionClosed', type: 'final' },
  },
});
