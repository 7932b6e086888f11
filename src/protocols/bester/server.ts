/**
 * The Bester server role (spec.md §2–§7): accepts client and server connections (one
 * `bester.connection` machine each), runs one `bester.dispatch` machine per message that goes to a
 * handler, delivers sendClients results to its authenticated clients, and answers its informer socket.
 *
 * This module owns bytes and routing: it decodes frames per connection, hands parsed JSON to the
 * machines and carries their named events between them (a connection asks for a dispatch, a dispatch
 * finishes or sends to clients). It must not decide protocol outcomes itself, and it must never throw
 * on peer input: bad bytes end in a close, a `note` or a bad status report.
 */
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { Endpoint, NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import type { ServerConfig } from './config.js';
import { connectionMachine } from './machines/connection.js';
import { dispatchMachine } from './machines/dispatch.js';
import { refuseCommand } from './outputs.js';
import {
  encodeFrame,
  FrameDecoder,
  parseHandlerReply,
  parseInformerRequest,
  parseJson,
  receivedMessage,
  type InformerRequest,
} from './wire.js';

/** Messages a client may have queued behind the one being dispatched (ours): a flood closes the connection. */
export const pendingMessagesMax = 64;
/** Handlers one message may visit through sendHandler (ours): a cycle ends with a bad status report. */
export const hopsMax = 8;
/** Servers one sendServers command may name (ours). */
export const serversMax = 32;

function isPath(endpoint: Endpoint): endpoint is { readonly path: string } {
  return 'path' in endpoint;
}

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
