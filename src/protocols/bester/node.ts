/**
 * Bester nodes (see ./spec.md): the server, a handler process and a client. One protocol, three
 * roles chosen by `config.role`; the server and its handlers are separate nodes on the same host
 * that talk over local sockets (`{ path }` endpoints).
 *
 * This module owns bytes and routing: it decodes frames per connection, hands parsed JSON to the
 * statecharts in ./machine.ts and carries their named events between them (a connection asks for a
 * dispatch, a dispatch finishes or sends to clients). It must not decide protocol outcomes itself,
 * and it must never throw on peer input: bad bytes end in a close, a `note` or a `reject` output.
 */
import { utf8Bytes } from '../../core/bytes.js';
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { Endpoint, NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import {
  clientMachine,
  connectionMachine,
  dispatchMachine,
  sessionMachine,
  type ClientEvent,
  type HandlerRule,
  type Profile,
} from './machine.js';
import {
  describe,
  encodeFrame,
  FrameDecoder,
  lengthPrefixBytes,
  parseHandlerReply,
  parseInformerRequest,
  parseJson,
  parseServerToClient,
  receivedMessage,
  type InformerRequest,
} from './wire.js';

export interface ServerConfig {
  readonly role: 'server';
  readonly profile: Profile;
  readonly port: number;
  /** Message type -> the local socket path its handler listens on (server.conf `handlers.typeMap`). */
  readonly handlers: Readonly<Record<string, { readonly path: string }>>;
  readonly informerPath: string;
  readonly handlerTimeoutMs: number;
  readonly adminInfo: Readonly<Record<string, string>>;
}

export interface HandlerConfig {
  readonly role: 'handler';
  readonly path: string;
  readonly rule: HandlerRule;
  /** How long the handler works before it answers (a slow handler). */
  readonly delayMs: number;
  /** Starts without listening (a handler that is down until `handler.up`). */
  readonly down: boolean;
}

export interface ClientConfig {
  readonly role: 'client';
  readonly server: { readonly host: string; readonly port: number };
  readonly username: string;
  readonly password: string;
}

/** A local program on the server's host that asks its informer socket (spec.md §6). */
export interface InformerClientConfig {
  readonly role: 'informerClient';
  readonly path: string;
}

export type BesterConfig = ServerConfig | HandlerConfig | ClientConfig | InformerClientConfig;

export type BesterCommand =
  | { readonly type: 'send'; readonly messageType: string; readonly data: unknown; readonly id?: string }
  | { readonly type: 'dummy'; readonly id?: string }
  | { readonly type: 'close' }
  /** Client: writes `body` as one correctly framed frame, or the bytes `hex` as they are (tests of bad input). */
  | { readonly type: 'raw'; readonly body?: string; readonly hex?: string }
  /** Informer client: one informer request (`listClients`, `isClient`, `serverInfo`, `quit`). */
  | { readonly type: 'ask'; readonly request: { readonly type: string; readonly data?: unknown } }
  | { readonly type: 'handler.down' }
  | { readonly type: 'handler.up' };

/** Messages a client may have queued behind the one being dispatched (ours): a flood closes the connection. */
export const pendingMessagesMax = 64;
/** Handlers one message may visit through sendHandler (ours): a cycle ends with a bad status report. */
export const hopsMax = 8;
/** Servers one sendServers command may name (ours). */
export const serversMax = 32;

function isPath(endpoint: Endpoint): endpoint is { readonly path: string } {
  return 'path' in endpoint;
}

/** The bytes of a `raw` command: `body` framed with its true length, or `hex` unframed. */
function rawBytes(command: { readonly body?: string; readonly hex?: string }): Uint8Array {
  if (command.body !== undefined) {
    const body = utf8Bytes(command.body);
    const frame = new Uint8Array(lengthPrefixBytes + body.length);
    new DataView(frame.buffer).setInt32(0, body.length, true);
    frame.set(body, lengthPrefixBytes);
    return frame;
  }
  const hex = command.hex ?? '';
  const bytes = new Uint8Array(hex.length >> 1);
  for (let at = 0; at < bytes.length; at++) bytes[at] = parseInt(hex.slice(at * 2, at * 2 + 2), 16);
  return bytes;
}

/** What the trace shows for a `raw` command: the frame's JSON (or its text if not JSON), or the hex and how it reads. */
function rawDecoded(command: { readonly body?: string; readonly hex?: string }, bytes: Uint8Array): unknown {
  if (command.body === undefined) return { rawHex: command.hex, reads: describe(bytes) };
  const json = parseJson(bytes.subarray(lengthPrefixBytes));
  return json.ok ? json.value : { rawFrame: command.body };
}

function refuseCommand(host: NodeHost, role: string, command: unknown): void {
  host.emit({
    kind: 'reject',
    code: 'bester.command.unsupported',
    reason: `a ${role} does not take this command`,
    detail: { command },
  });
}

export function createBesterNode(host: NodeHost, config: BesterConfig): ProtocolNode {
  switch (config.role) {
    case 'server':
      return new BesterServerNode(host, config);
    case 'handler':
      return new BesterHandlerNode(host, config);
    case 'client':
      return new BesterClientNode(host, config);
    case 'informerClient':
      return new BesterInformerClientNode(host, config);
  }
}

// ---------------------------------------------------------------------------------------------

interface Inbound {
  readonly actor: MachineActor<typeof connectionMachine>;
  readonly decoder: FrameDecoder;
}

interface Dispatch {
  readonly actor: MachineActor<typeof dispatchMachine>;
  readonly origin: string;
  /** Frame decoders of the dispatch's connections that have sent data, made on the first bytes. */
  decoders: Map<string, FrameDecoder> | undefined;
}

export class BesterServerNode implements ProtocolNode {
  private readonly inbound = new Map<string, Inbound>();
  private readonly informers = new Map<string, FrameDecoder>();
  /** Authenticated client connections and their usernames, in the order they authenticated. */
  private readonly clients = new Map<string, string>();
  private readonly dispatches = new Map<string, Dispatch>();
  private readonly dispatchIds = new IdSequence('out:d');
  private stopped = false;
  /** The configured message types, and each one's socket path: worked out once, not per connection or dispatch. */
  private readonly handlerTypes: readonly string[];
  private readonly handlerPaths: Readonly<Record<string, string>>;

  constructor(
    private readonly host: NodeHost,
    private readonly config: ServerConfig,
  ) {
    this.handlerTypes = Object.keys(config.handlers);
    const handlerPaths: Record<string, string> = {};
    for (const [type, handler] of Object.entries(config.handlers)) handlerPaths[type] = handler.path;
    this.handlerPaths = handlerPaths;
  }

  start(): void {
    this.stopped = false;
    this.host.emit({ kind: 'listen', endpoint: { host: this.host.hostName, port: this.config.port } });
    this.host.emit({ kind: 'listen', endpoint: { path: this.config.informerPath } });
  }

  stop(): void {
    this.stopped = true;
    for (const inbound of this.inbound.values()) inbound.actor.stop();
    for (const dispatch of this.dispatches.values()) dispatch.actor.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'conn.accepted':
        if (isPath(input.local) && input.local.path === this.config.informerPath) {
          this.informers.set(input.conn, new FrameDecoder());
        } else {
          this.accept(input.conn);
        }
        return;
      case 'conn.data':
        if (this.inbound.has(input.conn)) return this.inboundData(input.conn, input.bytes);
        if (this.informers.has(input.conn)) return this.informerData(input.conn, input.bytes);
        return this.dispatchData(input.conn, input.bytes);
      case 'conn.closed': {
        const inbound = this.inbound.get(input.conn);
        if (inbound) {
          inbound.actor.send({ type: 'conn.closed' });
          return this.forget(input.conn);
        }
        if (this.informers.delete(input.conn)) return;
        return this.toDispatch(input.conn, { type: 'conn.closed', conn: input.conn });
      }
      case 'conn.opened':
        return this.toDispatch(input.conn, { type: 'conn.opened', conn: input.conn });
      case 'conn.failed':
        return this.toDispatch(input.conn, { type: 'conn.failed', conn: input.conn, reason: input.reason });
      case 'command':
        return refuseCommand(this.host, 'server', input.command);
      case 'datagram':
      case 'dns.answer':
        return;
    }
  }

  view(): unknown {
    return {
      role: 'server',
      profile: this.config.profile,
      clients: [...this.clients].map(([conn, username]) => ({ conn, username })),
      connections: [...this.inbound].map(([conn, inbound]) => ({ conn, state: inbound.actor.getSnapshot().value })),
      dispatches: [...this.dispatches].map(([id, dispatch]) => ({ id, state: dispatch.actor.getSnapshot().value })),
      informers: this.informers.size,
    };
  }

  private accept(conn: string): void {
    const actor = startActor(connectionMachine, this.host, {
      name: `bester.connection ${conn}`,
      input: { conn, handlerTypes: this.handlerTypes, pendingMessagesMax },
    });
    this.inbound.set(conn, { actor, decoder: new FrameDecoder() });
    actor.on('client.authenticated', (event) => this.clients.set(event.conn, event.username));
    actor.on('dispatch.request', (event) => this.startDispatch(event.conn, event.payload));
  }

  private forget(conn: string): void {
    const inbound = this.inbound.get(conn);
    inbound?.actor.stop();
    this.inbound.delete(conn);
    this.clients.delete(conn);
  }

  private inboundData(conn: string, bytes: Uint8Array): void {
    const inbound = this.inbound.get(conn);
    if (!inbound) return;
    const bodies = inbound.decoder.push(bytes);
    if (!bodies.ok) {
      inbound.actor.send({ type: 'wire.malformed', code: bodies.error.code, reason: bodies.error.message });
    } else {
      for (const body of bodies.value) {
        if (inbound.actor.getSnapshot().status !== 'active') break;
        const json = parseJson(body);
        inbound.actor.send(
          json.ok
            ? { type: 'wire.frame', value: json.value }
            : { type: 'wire.malformed', code: json.error.code, reason: json.error.message },
        );
      }
    }
    // The connection machine closed the connection itself (bad input, builtin close).
    if (inbound.actor.getSnapshot().status !== 'active') this.forget(conn);
  }

  private startDispatch(origin: string, payload: { type: string; id: string; data: unknown }): void {
    const dispatchId = this.dispatchIds.next();
    const actor = startActor(dispatchMachine, this.host, {
      name: `bester.dispatch ${dispatchId}`,
      input: {
        dispatchId,
        profile: this.config.profile,
        handlerName: payload.type,
        id: payload.id,
        data: payload.data,
        handlerPaths: this.handlerPaths,
        handlerTimeoutMs: this.config.handlerTimeoutMs,
        hopsMax,
        serversMax,
      },
    });
    const dispatch: Dispatch = { actor, origin, decoders: undefined };
    this.dispatches.set(dispatchId, dispatch);
    actor.on('clients.send', (event) => {
      const message = receivedMessage(event.messageType, event.data);
      for (const [conn, username] of this.clients) {
        if (!event.usernames.includes(username)) continue;
        this.host.emit({ kind: 'write', conn, bytes: encodeFrame(message), decoded: message });
      }
    });
    actor.on('dispatch.finished', (event) => {
      this.dispatches.delete(dispatchId);
      // The originator may have gone; then its status report has nowhere to go.
      this.inbound.get(origin)?.actor.send({ type: 'dispatch.done', status: event.status });
      const after = this.inbound.get(origin);
      if (after && after.actor.getSnapshot().status !== 'active') this.forget(origin);
    });
  }

  /** The dispatch a connection belongs to: its id is the connection name up to the first `/`. */
  private dispatchOf(conn: string): Dispatch | undefined {
    const slash = conn.indexOf('/');
    return this.dispatches.get(slash < 0 ? conn : conn.slice(0, slash));
  }

  private toDispatch(conn: string, event: Parameters<MachineActor<typeof dispatchMachine>['send']>[0]): void {
    const dispatch = this.dispatchOf(conn);
    if (!dispatch) {
      // A connection that outlived its dispatch (it timed out): nobody wants it now.
      if (event.type === 'conn.opened') this.host.emit({ kind: 'close', conn });
      return;
    }
    dispatch.actor.send(event);
  }

  private dispatchData(conn: string, bytes: Uint8Array): void {
    const dispatch = this.dispatchOf(conn);
    if (!dispatch) return;
    dispatch.decoders ??= new Map();
    let decoder = dispatch.decoders.get(conn);
    if (!decoder) {
      decoder = new FrameDecoder();
      dispatch.decoders.set(conn, decoder);
    }
    const bodies = decoder.push(bytes);
    if (!bodies.ok) return this.toDispatch(conn, { type: 'handler.malformed', conn, code: bodies.error.code });
    // The server reads one frame back from a handler; anything after it is ignored.
    const body = bodies.value[0];
    if (body === undefined) return;
    const json = parseJson(body);
    if (!json.ok) return this.toDispatch(conn, { type: 'handler.malformed', conn, code: json.error.code });
    const reply = parseHandlerReply(json.value);
    if (!reply.ok) return this.toDispatch(conn, { type: 'handler.malformed', conn, code: reply.error.code });
    this.toDispatch(conn, { type: 'handler.reply', conn, reply: reply.value });
  }

  private informerData(conn: string, bytes: Uint8Array): void {
    const decoder = this.informers.get(conn);
    if (!decoder) return;
    const bodies = decoder.push(bytes);
    if (!bodies.ok) return this.closeInformer(conn);
    for (const body of bodies.value) {
      const json = parseJson(body);
      if (!json.ok) return this.closeInformer(conn);
      const request = parseInformerRequest(json.value);
      if (request.ok && request.value.type === 'quit') return this.closeInformer(conn);
      const reply = request.ok ? this.informerReply(request.value) : { status: '1', data: null };
      this.host.emit({ kind: 'write', conn, bytes: encodeFrame(reply), decoded: reply });
    }
  }

  private closeInformer(conn: string): void {
    this.informers.delete(conn);
    this.host.emit({ kind: 'close', conn });
  }

  /** The informer's answers (spec.md §6). */
  private informerReply(request: InformerRequest): { status: string; data: unknown } {
    const usernames = [...new Set(this.clients.values())];
    switch (request.type) {
      case 'listClients':
        return { status: '0', data: usernames };
      case 'isClient': {
        if (typeof request.data !== 'string') return { status: '1', data: null };
        const name = request.data;
        // besterd-2020 (bug 3): `cmp(...)` is non-zero for different names, so any other client makes it true.
        const answer =
          this.config.profile === 'besterd-2020' ? usernames.some((u) => u !== name) : usernames.includes(name);
        return { status: '0', data: answer };
      }
      case 'serverInfo':
        return {
          status: '0',
          data: {
            clientCount: String(this.clients.size),
            adminInfo: { ...this.config.adminInfo },
            listeners: { listener0: { address: `tcp4://${this.host.hostName}:${this.config.port}` } },
          },
        };
      default:
        return { status: '1', data: null };
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface Session {
  readonly actor: MachineActor<typeof sessionMachine>;
  readonly decoder: FrameDecoder;
}

export class BesterHandlerNode implements ProtocolNode {
  private readonly sessions = new Map<string, Session>();
  private listening = false;
  private served = 0;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: HandlerConfig,
  ) {}

  start(): void {
    this.stopped = false;
    if (!this.config.down) this.listen();
  }

  stop(): void {
    this.stopped = true;
    for (const session of this.sessions.values()) session.actor.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'conn.accepted': {
        const actor = startActor(sessionMachine, this.host, {
          name: `bester.handler.session ${input.conn}`,
          input: { conn: input.conn, rule: this.config.rule, delayMs: this.config.delayMs },
        });
        this.sessions.set(input.conn, { actor, decoder: new FrameDecoder() });
        return;
      }
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'conn.closed': {
        const session = this.sessions.get(input.conn);
        session?.actor.send({ type: 'conn.closed' });
        session?.actor.stop();
        this.sessions.delete(input.conn);
        return;
      }
      case 'command':
        return this.command(input.command as BesterCommand);
      default:
        return;
    }
  }

  view(): unknown {
    return {
      role: 'handler',
      path: this.config.path,
      listening: this.listening,
      served: this.served,
      sessions: [...this.sessions].map(([conn, session]) => ({ conn, state: session.actor.getSnapshot().value })),
    };
  }

  private listen(): void {
    this.listening = true;
    this.host.emit({ kind: 'listen', endpoint: { path: this.config.path } });
  }

  private command(command: BesterCommand): void {
    if (command.type === 'handler.down') {
      if (!this.listening) return;
      this.listening = false;
      this.host.emit({ kind: 'unlisten', endpoint: { path: this.config.path } });
      return;
    }
    if (command.type === 'handler.up') {
      if (!this.listening) this.listen();
      return;
    }
    refuseCommand(this.host, 'handler', command);
  }

  private data(conn: string, bytes: Uint8Array): void {
    const session = this.sessions.get(conn);
    if (!session) return;
    const bodies = session.decoder.push(bytes);
    if (!bodies.ok) return void session.actor.send({ type: 'wire.malformed', code: bodies.error.code });
    const body = bodies.value[0];
    if (body === undefined || session.actor.getSnapshot().value !== 'reading') return;
    const json = parseJson(body);
    if (!json.ok) return void session.actor.send({ type: 'wire.malformed', code: json.error.code });
    this.served += 1;
    session.actor.send({ type: 'wire.frame', value: json.value });
  }
}

// ---------------------------------------------------------------------------------------------

export class BesterClientNode implements ProtocolNode {
  private actor: MachineActor<typeof clientMachine> | undefined;
  private conn = '';
  private decoder = new FrameDecoder();
  private readonly connIds = new IdSequence('out:c');
  private readonly messageIds: IdSequence;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: ClientConfig,
  ) {
    this.messageIds = new IdSequence(config.username);
  }

  start(): void {
    this.stopped = false;
    this.conn = this.connIds.next();
    this.decoder = new FrameDecoder();
    this.actor = startActor(clientMachine, this.host, {
      name: 'bester.client',
      input: {
        conn: this.conn,
        server: this.config.server,
        username: this.config.username,
        password: this.config.password,
      },
    });
  }

  stop(): void {
    this.stopped = true;
    this.actor?.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'conn.opened':
        return this.send(input.conn, { type: 'conn.opened' });
      case 'conn.failed':
        return this.send(input.conn, { type: 'conn.failed', reason: input.reason });
      case 'conn.closed':
        return this.send(input.conn, { type: 'conn.closed' });
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'command':
        return this.command(input.command as BesterCommand);
      default:
        return;
    }
  }

  view(): unknown {
    return { role: 'client', username: this.config.username, state: this.actor?.getSnapshot().value ?? null };
  }

  private send(conn: string, event: ClientEvent): void {
    if (conn !== this.conn || this.actor?.getSnapshot().status !== 'active') return;
    this.actor.send(event);
  }

  private command(command: BesterCommand): void {
    if (command.type === 'handler.down' || command.type === 'handler.up' || command.type === 'ask') {
      return refuseCommand(this.host, 'client', command);
    }
    if (this.actor?.getSnapshot().status !== 'active') {
      this.host.emit({
        kind: 'reject',
        code: 'bester.not-connected',
        reason: `${this.config.username} has no open connection to its server`,
        detail: { command },
      });
      return;
    }
    if (command.type === 'close') return void this.actor.send({ type: 'user.close' });
    if (command.type === 'raw') {
      const bytes = rawBytes(command);
      return void this.actor.send({ type: 'user.raw', bytes, decoded: rawDecoded(command, bytes) });
    }
    const id = command.id ?? this.messageIds.next();
    const payload =
      command.type === 'dummy'
        ? { type: 'dummy', id, data: null }
        : { type: command.messageType, id, data: command.data };
    this.actor.send({ type: 'user.send', payload });
  }

  private data(conn: string, bytes: Uint8Array): void {
    if (conn !== this.conn) return;
    const bodies = this.decoder.push(bytes);
    if (!bodies.ok) return this.send(conn, { type: 'wire.malformed', code: bodies.error.code });
    for (const body of bodies.value) {
      const json = parseJson(body);
      if (!json.ok) return this.send(conn, { type: 'wire.malformed', code: json.error.code });
      const message = parseServerToClient(json.value);
      if (!message.ok) return this.send(conn, { type: 'wire.malformed', code: message.error.code });
      const value = message.value;
      this.send(
        conn,
        value.kind === 'statusReport'
          ? { type: 'wire.status', status: value.status, id: value.id }
          : value.kind === 'receivedMessage'
            ? { type: 'wire.received', messageType: value.type, data: value.data }
            : { type: 'wire.dummy', id: value.id },
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * A local program that asks the server's informer (spec.md §6): one connection, opened at start;
 * each `ask` writes `{command: {type, data}}` and each reply frame becomes a
 * `note bester.informer.reply` naming the request it answers (replies come in request order).
 * It has no protocol decisions to make, so it has no statechart.
 */
export class BesterInformerClientNode implements ProtocolNode {
  private readonly connIds = new IdSequence('out:i');
  private conn = '';
  private state: 'connecting' | 'open' | 'closed' = 'connecting';
  private decoder = new FrameDecoder();
  /** Requests written and not yet answered, oldest first. */
  private asked: { readonly type: string; readonly data?: unknown }[] = [];
  /** Requests made while connecting, written once the connection opens. */
  private early: { readonly type: string; readonly data?: unknown }[] = [];
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: InformerClientConfig,
  ) {}

  start(): void {
    this.stopped = false;
    this.conn = this.connIds.next();
    this.state = 'connecting';
    this.decoder = new FrameDecoder();
    this.asked = [];
    this.early = [];
    this.host.emit({ kind: 'connect', conn: this.conn, target: { path: this.config.path } });
  }

  stop(): void {
    this.stopped = true;
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'conn.opened':
        if (input.conn !== this.conn) return;
        this.state = 'open';
        for (const request of this.early.splice(0)) this.write(request);
        return;
      case 'conn.failed':
      case 'conn.closed':
        if (input.conn !== this.conn || this.state === 'closed') return;
        this.state = 'closed';
        this.host.emit({
          kind: 'note',
          what: 'bester.informer.closed',
          detail: { unanswered: this.asked.map((request) => request.type) },
        });
        return;
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'command': {
        const command = input.command as BesterCommand;
        if (command.type !== 'ask') return refuseCommand(this.host, 'informer client', command);
        if (this.state === 'closed') {
          this.host.emit({
            kind: 'reject',
            code: 'bester.not-connected',
            reason: `the informer at ${this.config.path} is not connected`,
            detail: { command },
          });
          return;
        }
        if (this.state === 'connecting') return void this.early.push(command.request);
        return this.write(command.request);
      }
      default:
        return;
    }
  }

  view(): unknown {
    return { role: 'informerClient', path: this.config.path, state: this.state, unanswered: this.asked.length };
  }

  private write(request: { readonly type: string; readonly data?: unknown }): void {
    const value = { command: { type: request.type, data: request.data ?? null } };
    this.asked.push(request);
    this.host.emit({ kind: 'write', conn: this.conn, bytes: encodeFrame(value), decoded: value });
  }

  private data(conn: string, bytes: Uint8Array): void {
    if (conn !== this.conn) return;
    const bodies = this.decoder.push(bytes);
    if (!bodies.ok) return this.host.emit({ kind: 'close', conn });
    for (const body of bodies.value) {
      const json = parseJson(body);
      const request = this.asked.shift() ?? null;
      this.host.emit({
        kind: 'note',
        what: 'bester.informer.reply',
        detail: { request, reply: json.ok ? json.value : { error: json.error.code } },
      });
    }
  }
}
