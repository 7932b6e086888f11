/**
 * `bester.dispatch` (spec.md §4): one message's handler round trip, run by the server: it connects to
 * the handler for the message's type, writes the data, and carries out the handler's command, a
 * sendClients delivery, a sendHandler chain (bounded by `hopsMax`) or a sendServers fan-out, until it
 * finishes good or bad.
 *
 * No I/O here: the machine emits `output` events, and `clients.send` and `dispatch.finished`, which the
 * server role acts on; its one timer, `handlerTimeout`, runs on the host's clock. The server role decodes
 * the handler's reply: the machine sees typed wire events.
 */
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import { output, type OutputEvent } from '../../../engine/actor.js';
import type { ConnectFailure, Endpoint } from '../../protocol.js';
import type { Profile } from '../config.js';
import { close, note, write } from '../outputs.js';
import { forwardedMessage, isStringList, type HandlerReply } from '../wire.js';

export interface DispatchInput {
  readonly dispatchId: string;
  readonly profile: Profile;
  /** The handler the message goes to first (the message's `type`). */
  readonly handlerName: string;
  readonly id: string;
  readonly data: unknown;
  readonly handlerPaths: Readonly<Record<string, string>>;
  readonly handlerTimeoutMs: number;
  /** Handlers one message may visit through sendHandler (ours; a cycle in the original recursed forever). */
  readonly hopsMax: number;
  /** Servers one sendServers command may name (ours). */
  readonly serversMax: number;
}

interface DispatchContext extends DispatchInput {
  readonly hop: number;
  readonly outstanding: readonly string[];
  readonly serversFailed: boolean;
  readonly servers: readonly string[];
}

export type DispatchEvent =
  | { type: 'conn.opened'; conn: string }
  | { type: 'conn.failed'; conn: string; reason: ConnectFailure }
  | { type: 'conn.closed'; conn: string }
  | { type: 'handler.reply'; conn: string; reply: HandlerReply }
  | { type: 'handler.malformed'; conn: string; code: string };

/** Asks the node to send `data` to every local client called one of `usernames`. */
export interface ClientsSend {
  readonly type: 'clients.send';
  readonly usernames: readonly string[];
  readonly messageType: string;
  readonly data: unknown;
}

export interface DispatchFinished {
  readonly type: 'dispatch.finished';
  readonly status: 'good' | 'bad';
}

/** Parses `"host:port"` (sendServers); undefined if it is not one. */
export function parseServerAddress(text: string): { host: string; port: number } | undefined {
  const at = text.lastIndexOf(':');
  if (at <= 0) return undefined;
  const portText = text.slice(at + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  return { host: text.slice(0, at), port };
}

function handlerConn(context: { dispatchId: string; hop: number }): string {
  return `${context.dispatchId}/h${context.hop}`;
}

const knownCommands = ['sendClients', 'sendServers', 'sendHandler'];

/** The command the server will run for a reply, after the profile's reading of unknown commands. */
function effectiveCommand(profile: Profile, reply: HandlerReply): string | undefined {
  const type = reply.command?.type;
  if (type === undefined) return undefined;
  // besterd-2020 (bug 2): an unknown command string leaves the enum at its default, SEND_CLIENTS.
  if (profile === 'besterd-2020' && !knownCommands.includes(type)) return 'sendClients';
  return type;
}

function replyOf(event: DispatchEvent): HandlerReply | undefined {
  return event.type === 'handler.reply' ? event.reply : undefined;
}

export const dispatchMachine = setup({
  types: {
    context: {} as DispatchContext,
    input: {} as DispatchInput,
    events: {} as DispatchEvent,
    emitted: {} as OutputEvent | ClientsSend | DispatchFinished,
  },
  guards: {
    // besterd-2020 (issue #10) waits on a handler or a peer server for ever; the fixed profile gives up.
    timesOut: ({ context }) => context.profile !== 'besterd-2020',
    isHandlerConn: ({ context, event }) => event.conn === handlerConn(context),
    isStaleConn: ({ context, event }) => event.conn !== handlerConn(context),
    isOutstanding: ({ context, event }) => context.outstanding.includes(event.conn),
    replyIsError: ({ event }) => (replyOf(event)?.statusCode ?? 1) !== 0,
    isSendClients: ({ context, event }) => {
      const reply = replyOf(event);
      return (
        reply !== undefined &&
        effectiveCommand(context.profile, reply) === 'sendClients' &&
        isStringList(reply.command?.data)
      );
    },
    isSendHandler: ({ context, event }) => {
      const reply = replyOf(event);
      const next = reply?.command?.data;
      return (
        reply !== undefined &&
        effectiveCommand(context.profile, reply) === 'sendHandler' &&
        typeof next === 'string' &&
        Object.hasOwn(context.handlerPaths, next) &&
        context.hop < context.hopsMax
      );
    },
    isSendServers: ({ context, event }) => {
      const reply = replyOf(event);
      return (
        reply !== undefined &&
        effectiveCommand(context.profile, reply) === 'sendServers' &&
        isStringList(reply.command?.data) &&
        reply.command.data.length <= context.serversMax
      );
    },
    hasNoneOutstanding: ({ context }) => context.outstanding.length === 0,
    hasServersFailed: ({ context }) => context.serversFailed,
  },
  actions: {
    connectHandler: emit(({ context }) =>
      output({
        kind: 'connect',
        conn: handlerConn(context),
        target: { path: context.handlerPaths[context.handlerName] ?? '' },
      }),
    ),
    // The server sends the handler only `payload.data` (handler.d handleMessage).
    writeData: emit(({ context }) => write(handlerConn(context), context.data)),
    closeHandlerConn: emit(({ context }) => close(handlerConn(context))),
    // The two notes below only say in the trace why a forward failed (spec.md §9's vocabulary): no
    // node reads them, and what the dispatch does next is decided by the transitions, not by them.
    // Stryker disable ArrowFunction,ObjectLiteral,ConditionalExpression,EqualityOperator,OptionalChaining: a note's detail changes only the trace's wording
    noteFailure: emit(({ context, event }) =>
      note('bester.dispatch.failed', {
        dispatch: context.dispatchId,
        handler: context.handlerName,
        hop: context.hop,
        reason:
          event.type === 'handler.malformed'
            ? event.code
            : event.type === 'handler.reply'
              ? event.reply.statusCode !== 0
                ? `status ${event.reply.statusCode}`
                : `command ${JSON.stringify(event.reply.command?.type)} refused`
              : event.type === 'conn.failed'
                ? `handler ${event.reason}`
                : event.type,
      }),
    ),
    noteTimeout: emit(({ context }) =>
      note('bester.dispatch.failed', {
        dispatch: context.dispatchId,
        handler: context.handlerName,
        hop: context.hop,
        reason: 'timeout',
      }),
    ),
    // Stryker restore all
    sendClients: emit(({ context, event }) => {
      const reply = replyOf(event);
      return {
        type: 'clients.send',
        usernames: isStringList(reply?.command?.data) ? reply.command.data : [],
        messageType: context.handlerName,
        data: reply?.data ?? null,
      } as ClientsSend;
    }),
    chainToHandler: assign(({ context, event }) => {
      const reply = replyOf(event);
      return {
        handlerName: typeof reply?.command?.data === 'string' ? reply.command.data : context.handlerName,
        data: reply?.data ?? null,
        hop: context.hop + 1,
      };
    }),
    rememberServers: assign(({ context, event }) => {
      const reply = replyOf(event);
      return {
        servers: isStringList(reply?.command?.data) ? reply.command.data : [],
        data: reply?.data ?? context.data,
      };
    }),
    connectServers: enqueueActions(({ context, enqueue }) => {
      const outstanding: string[] = [];
      let failed = false;
      context.servers.forEach((text, index) => {
        const address = parseServerAddress(text);
        if (!address) {
          failed = true;
          return;
        }
        const conn = `${context.dispatchId}/s${index}`;
        outstanding.push(conn);
        const target: Endpoint = address;
        enqueue.emit(output({ kind: 'connect', conn, target }));
      });
      enqueue.assign({ outstanding, serversFailed: failed });
    }),
    // besterd-2020 (bug 1) leaves out the message id that every receiver requires.
    forwardAndClose: enqueueActions(({ context, event, enqueue }) => {
      const id = context.profile === 'besterd-2020' ? undefined : context.id;
      enqueue.emit(write(event.conn, forwardedMessage(context.handlerName, context.data, id)));
      enqueue.emit(close(event.conn));
      enqueue.assign({ outstanding: context.outstanding.filter((conn) => conn !== event.conn) });
    }),
    markServerFailed: assign({
      serversFailed: true,
      outstanding: ({ context, event }) => context.outstanding.filter((conn) => conn !== event.conn),
    }),
    abandonServers: enqueueActions(({ context, enqueue }) => {
      for (const conn of context.outstanding) enqueue.emit(close(conn));
      enqueue.assign({ outstanding: [], serversFailed: true });
    }),
    finishGood: emit({ type: 'dispatch.finished', status: 'good' } as DispatchFinished),
    finishBad: emit({ type: 'dispatch.finished', status: 'bad' } as DispatchFinished),
  },
  delays: {
    handlerTimeout: ({ context }) => context.handlerTimeoutMs,
  },
}).createMachine({
  id: 'bester.dispatch',
  initial: 'connecting',
  context: ({ input }) => ({
    dispatchId: input.dispatchId,
    profile: input.profile,
    handlerName: input.handlerName,
    id: input.id,
    data: input.data,
    handlerPaths: input.handlerPaths,
    handlerTimeoutMs: input.handlerTimeoutMs,
    hopsMax: input.hopsMax,
    serversMax: input.serversMax,
    hop: 1,
    outstanding: [],
    serversFailed: false,
    servers: [],
  }),
  states: {
    connecting: {
      entry: 'connectHandler',
      on: {
        'conn.opened': { guard: 'isHandlerConn', target: 'awaitingReply', actions: 'writeData' },
        'conn.failed': { guard: 'isHandlerConn', target: 'failed', actions: 'noteFailure' },
      },
      after: { handlerTimeout: { guard: 'timesOut', target: 'failed', actions: ['noteTimeout', 'closeHandlerConn'] } },
    },
    awaitingReply: {
      on: {
        'handler.reply': [
          { guard: 'isStaleConn' },
          { guard: 'replyIsError', target: 'failed', actions: ['closeHandlerConn', 'noteFailure'] },
          { guard: 'isSendClients', target: 'succeeded', actions: ['closeHandlerConn', 'sendClients'] },
          { guard: 'isSendHandler', target: 'connecting', actions: ['closeHandlerConn', 'chainToHandler'] },
          { guard: 'isSendServers', target: 'forwarding', actions: ['closeHandlerConn', 'rememberServers'] },
          { target: 'failed', actions: ['closeHandlerConn', 'noteFailure'] },
        ],
        'handler.malformed': { guard: 'isHandlerConn', target: 'failed', actions: ['closeHandlerConn', 'noteFailure'] },
        'conn.closed': { guard: 'isHandlerConn', target: 'failed', actions: 'noteFailure' },
      },
      after: { handlerTimeout: { guard: 'timesOut', target: 'failed', actions: ['noteTimeout', 'closeHandlerConn'] } },
    },
    forwarding: {
      entry: 'connectServers',
      always: [
        { guard: and(['hasNoneOutstanding', 'hasServersFailed']), target: 'failed' },
        { guard: 'hasNoneOutstanding', target: 'succeeded' },
      ],
      on: {
        'conn.opened': { guard: 'isOutstanding', actions: 'forwardAndClose' },
        'conn.failed': { guard: 'isOutstanding', actions: 'markServerFailed' },
      },
      after: { handlerTimeout: { guard: 'timesOut', target: 'failed', actions: ['noteTimeout', 'abandonServers'] } },
    },
    succeeded: { type: 'final', entry: 'finishGood' },
    failed: { type: 'final', entry: 'finishBad' },
  },
});
