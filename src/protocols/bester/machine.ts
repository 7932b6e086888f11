/**
 * Bester statecharts (see ./spec.md): a server's accepted connection and its scope
 * (`bester.connection`), one message's handler round trip with its sendHandler chain and
 * sendServers fan-out (`bester.dispatch`), one handler session (`bester.handler.session`) and a
 * client's link to its server (`bester.client`).
 *
 * No I/O here: machines emit `output` events (and a few named events the node routes between
 * machines); their timers run on the host's clock through named `after` delays. Bytes are decoded
 * by the node; machines see parsed JSON values and typed wire events.
 *
 * Local API misuse: a `user.send` before authentication is queued, not refused; after the link has
 * closed the node refuses it with a `reject` output.
 */
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import { output, type OutputEvent } from '../../engine/actor.js';
import type { ConnectFailure, Endpoint } from '../protocol.js';
import {
  authMessage,
  clientMessage,
  dummyReply,
  encodeFrame,
  forwardedMessage,
  handlerReply,
  parseClientMessage,
  parseFirstMessage,
  statusReport,
  type HandlerReply,
  type Payload,
} from './wire.js';

/** `fixed` (ours, the default) or `besterd-2020`, which keeps the original's three bugs (spec.md §7). */
export type Profile = 'fixed' | 'besterd-2020';

/** The id of the status report that answers a client's first (authentication) message. */
export const authReportId = 'auth_special';

function write(conn: string, value: unknown): OutputEvent {
  return output({ kind: 'write', conn, bytes: encodeFrame(value), decoded: value });
}

function close(conn: string): OutputEvent {
  return output({ kind: 'close', conn });
}

function note(what: string, detail?: unknown): OutputEvent {
  return output({ kind: 'note', what, ...(detail === undefined ? {} : { detail }) });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

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

// ---------------------------------------------------------------------------------------------
// bester.connection: one accepted TCP connection on the server.

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

// ---------------------------------------------------------------------------------------------
// bester.dispatch: one message's handler round trip (and its chain), run by the server.

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

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
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
      after: { handlerTimeout: { target: 'failed', actions: ['noteTimeout', 'closeHandlerConn'] } },
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
      after: { handlerTimeout: { target: 'failed', actions: ['noteTimeout', 'closeHandlerConn'] } },
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
      after: { handlerTimeout: { target: 'failed', actions: ['noteTimeout', 'abandonServers'] } },
    },
    succeeded: { type: 'final', entry: 'finishGood' },
    failed: { type: 'final', entry: 'finishBad' },
  },
});

// ---------------------------------------------------------------------------------------------
// bester.handler.session: one connection from the server to a handler process.

/** What a handler answers (spec.md §8, ours: the original's handlers are arbitrary programs). */
export type HandlerRule =
  | {
      readonly command: 'sendClients';
      readonly usernames?: readonly string[];
      readonly usernamesField?: string;
      readonly tag?: string;
    }
  | { readonly command: 'sendServers'; readonly servers: readonly string[]; readonly tag?: string }
  | { readonly command: 'sendHandler'; readonly handler: string }
  /** A command string the server does not know, such as the old spec's `sendClient`. */
  | { readonly command: 'other'; readonly type: string; readonly data: unknown }
  /** A reply with a non-zero status. */
  | { readonly command: 'error'; readonly status: string }
  /** A frame that is not JSON. */
  | { readonly command: 'garbage' };

/**
 * What a handler with a `tag` makes of the data (spec.md §8): an object gains the tag at the end of
 * its `via` list, so a server that forwards the request's data instead of the reply's shows.
 */
function transformed(data: unknown, tag: string | undefined): unknown {
  if (tag === undefined || !isObject(data)) return data;
  const via = isStringList(data['via']) ? data['via'] : [];
  return { ...data, via: [...via, tag] };
}

/** The handler's reply to `data`: `data` unchanged, or with its `tag` added. Returns the bytes to write and what they mean. */
export function buildHandlerReply(rule: HandlerRule, data: unknown): { bytes: Uint8Array; decoded: unknown } {
  let value: unknown;
  switch (rule.command) {
    case 'sendClients': {
      const field = rule.usernamesField === undefined || !isObject(data) ? undefined : data[rule.usernamesField];
      const fromField = typeof field === 'string' ? [field] : isStringList(field) ? field : [];
      value = handlerReply('0', 'sendClients', [...(rule.usernames ?? []), ...fromField], transformed(data, rule.tag));
      break;
    }
    case 'sendServers':
      value = handlerReply('0', 'sendServers', [...rule.servers], transformed(data, rule.tag));
      break;
    case 'sendHandler':
      value = handlerReply('0', 'sendHandler', rule.handler, data);
      break;
    case 'other':
      value = handlerReply('0', rule.type, rule.data, data);
      break;
    case 'error':
      value = { header: { status: rule.status }, data };
      break;
    case 'garbage': {
      const body = new TextEncoder().encode('{not json');
      const bytes = new Uint8Array(4 + body.length);
      new DataView(bytes.buffer).setInt32(0, body.length, true);
      bytes.set(body, 4);
      return { bytes, decoded: '{not json' };
    }
  }
  return { bytes: encodeFrame(value), decoded: value };
}

export interface SessionInput {
  readonly conn: string;
  readonly rule: HandlerRule;
  readonly delayMs: number;
}

interface SessionContext extends SessionInput {
  readonly data: unknown;
}

export type SessionEvent =
  { type: 'wire.frame'; value: unknown } | { type: 'wire.malformed'; code: string } | { type: 'conn.closed' };

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
    emitted: {} as OutputEvent,
  },
  guards: {
    isPrompt: ({ context }) => context.delayMs <= 0,
  },
  actions: {
    rememberData: assign({ data: ({ context, event }) => (event.type === 'wire.frame' ? event.value : context.data) }),
    writeReply: emit(({ context }) => {
      const reply = buildHandlerReply(context.rule, context.data);
      return output({ kind: 'write', conn: context.conn, bytes: reply.bytes, decoded: reply.decoded });
    }),
    closeConn: emit(({ context }) => close(context.conn)),
  },
  delays: {
    replyDelay: ({ context }) => context.delayMs,
  },
}).createMachine({
  id: 'bester.handler.session',
  initial: 'reading',
  context: ({ input }) => ({ conn: input.conn, rule: input.rule, delayMs: input.delayMs, data: null }),
  states: {
    reading: {
      on: {
        'wire.frame': { target: 'working', actions: 'rememberData' },
        'wire.malformed': { target: 'closed', actions: 'closeConn' },
        'conn.closed': { target: 'closed' },
      },
    },
    working: {
      always: { guard: 'isPrompt', target: 'replied' },
      after: { replyDelay: { target: 'replied' } },
      on: { 'conn.closed': { target: 'closed' } },
    },
    replied: {
      entry: 'writeReply',
      on: { 'conn.closed': { target: 'closed' } },
    },
    closed: { type: 'final' },
  },
});

// ---------------------------------------------------------------------------------------------
// bester.client: a client's connection to its server.

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
