/**
 * The SOLEC server role: accepts client and server connections (one `solec.session` machine
 * each), keeps its users' accounts, routes Messages to its own users (pushing to a logged-in user,
 * holding for one who is not) and relays Messages for users of other servers over one outbound
 * `solec.relay` link per known server. The client role is `client.ts`.
 *
 * This module owns the wiring only: byte streams to frames (FrameReader), frames to machine
 * events, machine events to routing. It must not do I/O, read a clock or draw randomness except
 * through its NodeHost, and it must not throw on peer input: a bad frame becomes `wire.invalid`,
 * which the connection's machine answers with a `reject` and a close.
 */
import { AuthThrottle, peerAddressOf } from '../../core/auth-throttle.js';
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import type { ServerConfig, SolecCommand } from './config.js';
import { draftMessage } from './draft.js';
import { FrameReader, invalid } from './frame-reader.js';
import { KnownKeys, nonceBytes, serverKeys, type ServerKeys } from './keys.js';
import { relayConnId, relayMachine, relayQueueMessagesMax, type RelayEvent } from './machines/relay.js';
import { sessionMachine, type Peer, type SessionEvent, type SessionMessage } from './machines/session.js';
import {
  connType,
  errorCode,
  decodePayload,
  parseAddress,
  toHex,
  type ErrorCode,
  type Payload,
  type Sender,
} from './wire.js';

/**
 * Message ids a server remembers to drop duplicates (a relay resends the message in flight after
 * a lost connection). 100,000 ids of ~40 bytes is a few MB, and covers any retry window in a run.
 */
export const seenIdsMax = 100_000;

function relayEvent(payload: Payload): RelayEvent {
  switch (payload.type) {
    case 'success':
      return { type: 'wire.success' };
    case 'error':
      return { type: 'wire.error', code: payload.code };
    case 'challenge':
      return { type: 'wire.challenge', nonce: payload.nonce };
    default:
      return { type: 'wire.unexpected', payload };
  }
}

interface Session {
  readonly actor: MachineActor<typeof sessionMachine>;
  readonly reader: FrameReader;
  /** How frames on this connection are read: as from a client until a Handshake says server. */
  sender: Sender;
  peer: Peer | undefined;
  /** The peer's address (the host's `remote` without a port), for the per-address login throttle. */
  readonly address: string;
}

interface Link {
  readonly id: string;
  readonly peerName: string;
  readonly actor: MachineActor<typeof relayMachine>;
  /** The reader of the link's current connection attempt. */
  reader: FrameReader;
}

/** A SOLEC server: sessions for accepted connections, relay links to other servers. */
export class SolecServerNode implements ProtocolNode {
  private readonly name: string;
  private readonly keys: ServerKeys;
  /** The known public keys list: server name -> hex Ed25519 public key. */
  private readonly knownKeys: KnownKeys;
  private readonly sessions = new Map<string, Session>();
  /** Issue 22: failed UserAuths per peer address; an address that fails too often is shut out for a while. */
  private readonly authThrottle: AuthThrottle;
  private readonly links = new Map<string, Link>();
  private readonly linksById = new Map<string, Link>();
  private readonly linkIds = new IdSequence('s2s');
  /** Logged-in users: username -> connection of their latest login. */
  private readonly online = new Map<string, string>();
  private readonly mailbox = new Map<string, SessionMessage[]>();
  private readonly seen = new Set<string>();
  /**
   * The connection whose Message is being routed right now, and pushes meant for it meanwhile.
   * Seed §2.5: a push must not come between a client's Message and its answer, so a Message a
   * user sends to itself is pushed after the Success.
   */
  private answering: { readonly conn: string; readonly pushes: SessionMessage[] } | undefined;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: ServerConfig,
  ) {
    this.name = host.id;
    this.authThrottle = new AuthThrottle({
      failuresFree: config.authFailuresPerAddressFree,
      blockMs: config.authBlockMs,
      blockMsMax: config.authBlockMsMax,
      windowMs: config.authFailureWindowMs,
    });
    this.keys = serverKeys(host.random.seed, this.name);
    // Ours: without a configured key, the list holds the key the `dnsRecords` hook publishes.
    this.knownKeys = new KnownKeys(host.random.seed, config.knownServers);
  }

  start(): void {
    this.host.emit({ kind: 'listen', endpoint: { host: this.host.hostName, port: this.config.port } });
  }

  stop(): void {
    this.stopped = true;
    for (const session of this.sessions.values()) {
      session.reader.close();
      session.actor.stop();
    }
    for (const link of this.links.values()) {
      link.reader.close();
      link.actor.stop();
    }
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'command':
        return this.command(input.command as SolecCommand);
      case 'conn.accepted':
        return this.accept(input.conn, input.remote);
      case 'conn.opened':
        return this.toLink(input.conn, { type: 'conn.opened' }, true);
      case 'conn.failed':
        return this.toLink(input.conn, { type: 'conn.failed', reason: input.reason });
      case 'conn.closed': {
        const session = this.sessions.get(input.conn);
        if (session) return session.actor.send({ type: 'conn.closed' });
        return this.toLink(input.conn, { type: 'conn.closed' });
      }
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'datagram':
      case 'dns.answer':
        return;
    }
  }

  view(): unknown {
    return {
      role: 'server',
      name: this.name,
      profile: this.config.profile,
      publicKey: toHex(this.keys.publicKey),
      sessions: [...this.sessions.entries()].map(([conn, session]) => ({
        conn,
        state: session.actor.getSnapshot().value,
        peer: session.peer,
      })),
      online: [...this.online.keys()],
      mailbox: Object.fromEntries([...this.mailbox.entries()].map(([user, messages]) => [user, messages.length])),
      links: [...this.links.values()].map((link) => ({
        peer: link.peerName,
        state: link.actor.getSnapshot().value,
        queued: link.actor.getSnapshot().context.queue.length,
      })),
    };
  }

  private command(command: SolecCommand): void {
    if (command.type !== 'submit') {
      this.host.emit({ kind: 'reject', code: 'solec.command-role', reason: `a server does not take ${command.type}` });
      return;
    }
    const message = draftMessage(this.host, command, this.config.payloadBytesMax);
    if (!message) return;
    const code = this.route(message, undefined);
    if (code !== undefined) {
      this.host.emit({
        kind: 'reject',
        code: 'solec.not-routed',
        reason: `Error 0x0${code}`,
        detail: { id: message.id, to: message.to },
      });
    }
  }

  private accept(conn: string, remote: string): void {
    const actor = startActor(sessionMachine, this.host, {
      name: `solec.session ${conn}`,
      input: {
        conn,
        remote,
        selfName: this.name,
        profile: this.config.profile,
        versionMajor: this.config.versionMajor,
        accounts: this.config.accounts,
        knownKeys: this.knownKeys,
        authTimeoutMs: this.config.authTimeoutMs,
      },
    });
    const session: Session = {
      actor,
      reader: new FrameReader(conn, this.host.clock, this.config.payloadBytesMax, this.config.frameTimeoutMs),
      sender: 'client',
      peer: undefined,
      address: peerAddressOf(remote),
    };
    this.sessions.set(conn, session);
    actor.on('session.authenticated', (event) => this.authenticated(event.conn, event.peer));
    actor.on('session.authFailed', () => {
      const blockedMs = this.authThrottle.failed(session.address, this.host.now());
      if (blockedMs > 0)
        this.host.emit({ kind: 'note', what: 'solec.auth-blocked', detail: { address: session.address, blockedMs } });
    });
    actor.on('session.message', (event) => {
      const answering = { conn, pushes: [] as SessionMessage[] };
      this.answering = answering;
      const code = this.route(event.message, event.peer);
      this.answering = undefined;
      actor.send({
        type: 'session.reply',
        payload: code === undefined ? { type: 'success' } : { type: 'error', code },
      });
      for (const message of answering.pushes) this.push(conn, message);
    });
    actor.subscribe({ complete: () => this.ended(conn) });
  }

  private authenticated(conn: string, peer: Peer): void {
    const session = this.sessions.get(conn);
    if (session) session.peer = peer;
    if (peer.kind !== 'user') return;
    this.online.set(peer.name, conn);
    // Messages held while the user was offline, or arrived during its login, go out now that
    // the initialisation sequence is over.
    const held = this.mailbox.get(peer.name) ?? [];
    this.mailbox.delete(peer.name);
    for (const message of held) this.push(conn, message);
  }

  private ended(conn: string): void {
    const session = this.sessions.get(conn);
    session?.reader.close();
    this.sessions.delete(conn);
    if (session?.peer?.kind === 'user' && this.online.get(session.peer.name) === conn)
      this.online.delete(session.peer.name);
  }

  /**
   * Routes one Message. `peer` is who sent it (undefined: a `submit` command). Returns the Error
   * code to answer with, or undefined for Success.
   */
  private route(message: SessionMessage, peer: Peer | undefined): ErrorCode | undefined {
    const source = parseAddress(message.from);
    const target = parseAddress(message.to);
    // Ours: a client may only send as itself, a server only for its own users.
    if (peer?.kind === 'user' && message.from !== `${peer.name}@${this.name}`)
      return this.refuse(message, errorCode.clientAuthFailed, 'from is not the logged-in user');
    if (peer?.kind === 'server' && source?.server !== peer.name)
      return this.refuse(message, errorCode.serverAuthFailed, `from is not a user of ${peer.name}`);
    if (!target) return this.refuse(message, errorCode.notFound, 'bad recipient address');
    if (target.server === this.name) return this.deliverLocal(message, target.user, peer);
    // Ours: servers relay only their own users' messages, never a third server's.
    if (peer?.kind === 'server') return this.refuse(message, errorCode.notFound, `${target.server} is not this server`);
    if (!this.knownKeys.has(target.server))
      return this.refuse(message, errorCode.notFound, `${target.server} is not a known server`);
    const link = this.linkTo(target.server);
    if (link.actor.getSnapshot().context.queue.length >= relayQueueMessagesMax)
      return this.refuse(message, errorCode.notFound, 'relay queue full');
    link.actor.send({ type: 'relay.send', payload: message });
    return undefined;
  }

  private refuse(message: SessionMessage, code: ErrorCode, reason: string): ErrorCode {
    this.host.emit({
      kind: 'reject',
      code: 'solec.message-refused',
      reason,
      detail: { id: message.id, from: message.from, to: message.to, error: code },
    });
    return code;
  }

  private deliverLocal(message: SessionMessage, user: string, peer: Peer | undefined): ErrorCode | undefined {
    if (!Object.hasOwn(this.config.accounts, user)) return this.refuse(message, errorCode.notFound, `no user ${user}`);
    const key = `${message.from}\n${message.id}`;
    if (this.seen.has(key)) {
      this.host.emit({ kind: 'note', what: 'solec.duplicate', detail: { id: message.id, from: message.from } });
      return undefined;
    }
    const conn = this.online.get(user);
    if (conn === undefined) {
      const box = this.mailbox.get(user) ?? [];
      if (box.length >= this.config.mailboxMessagesMax)
        return this.refuse(message, errorCode.notFound, `mailbox of ${user} is full`);
      box.push(message);
      this.mailbox.set(user, box);
      this.host.emit({
        kind: 'note',
        what: 'solec.stored',
        detail: { id: message.id, from: message.from, to: message.to, via: peer },
      });
    } else {
      this.host.emit({
        kind: 'note',
        what: 'solec.accepted',
        detail: { id: message.id, from: message.from, to: message.to, via: peer },
      });
      this.push(conn, message);
    }
    this.remember(key);
    return undefined;
  }

  private remember(key: string): void {
    this.seen.add(key);
    if (this.seen.size > seenIdsMax) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  private push(conn: string, message: SessionMessage): void {
    if (this.answering?.conn === conn) {
      this.answering.pushes.push(message);
      return;
    }
    this.host.emit({ kind: 'note', what: 'solec.pushed', detail: { id: message.id, to: message.to, conn } });
    this.sessions.get(conn)?.actor.send({ type: 'session.push', payload: message });
  }

  private linkTo(peerName: string): Link {
    const existing = this.links.get(peerName);
    if (existing && existing.actor.getSnapshot().status === 'active') return existing;
    const id = this.linkIds.next();
    const known = this.config.knownServers.find((server) => server.name === peerName);
    const actor = startActor(relayMachine, this.host, {
      name: `solec.relay ${id}`,
      input: {
        link: id,
        peerName,
        host: known?.host ?? peerName,
        port: known?.port ?? this.config.port,
        claimName: this.config.claimName ?? this.name,
        profile: this.config.profile,
        secretKey: this.keys.secretKey,
        versionMajor: this.config.versionMajor,
        versionMinor: this.config.versionMinor,
        authTimeoutMs: this.config.authTimeoutMs,
        responseTimeoutMs: this.config.responseTimeoutMs,
        retryMs: this.config.retryMs,
        attemptsMax: this.config.attemptsMax,
      },
    });
    const link: Link = { id, peerName, actor, reader: this.frameReader(relayConnId(actor.getSnapshot().context)) };
    this.links.set(peerName, link);
    this.linksById.set(id, link);
    // A connection the link closes itself is read no further.
    actor.on('output', (event) => {
      if (event.output.kind === 'close' && event.output.conn === link.reader.conn) link.reader.close();
    });
    actor.subscribe({
      complete: () => {
        link.reader.close();
        this.linksById.delete(id);
        if (this.links.get(peerName) === link) this.links.delete(peerName);
      },
    });
    return link;
  }

  /** The link whose current attempt is `conn`, if any (late events of earlier attempts are dropped). */
  private linkFor(conn: string): Link | undefined {
    const link = this.linksById.get(conn.split('#')[0] ?? '');
    if (!link || relayConnId(link.actor.getSnapshot().context) !== conn) return undefined;
    return link;
  }

  private frameReader(conn: string): FrameReader {
    return new FrameReader(conn, this.host.clock, this.config.payloadBytesMax, this.config.frameTimeoutMs);
  }

  private toLink(conn: string, event: RelayEvent, fresh = false): void {
    const link = this.linkFor(conn);
    if (!link) return;
    if (fresh) {
      link.reader.close();
      link.reader = this.frameReader(conn);
    }
    if (event.type === 'conn.closed') link.reader.close();
    link.actor.send(event);
  }

  private data(conn: string, bytes: Uint8Array): void {
    const session = this.sessions.get(conn);
    if (session) return this.sessionData(session, bytes);
    const link = this.linkFor(conn);
    if (!link) return;
    const reader = link.reader;
    const frames = reader.push(bytes);
    if (!frames.ok) return link.actor.send(invalid(frames.error));
    for (const frame of frames.value) {
      if (this.linkFor(conn) !== link || reader.isClosed) return;
      const payload = decodePayload(frame, 'server');
      link.actor.send(payload.ok ? relayEvent(payload.value) : invalid(payload.error));
    }
    if (this.linkFor(conn) !== link || link.reader !== reader) return;
    const refused = reader.settle('server', (error) => {
      if (this.linkFor(conn) === link && link.reader === reader) link.actor.send(invalid(error));
    });
    if (refused) link.actor.send(invalid(refused));
  }

  private sessionData(session: Session, bytes: Uint8Array): void {
    const frames = session.reader.push(bytes);
    if (!frames.ok) return session.actor.send(invalid(frames.error));
    for (const frame of frames.value) {
      // Frames after the one that closed the session are not read.
      if (session.actor.getSnapshot().status !== 'active') return;
      const payload = decodePayload(frame, session.sender);
      if (!payload.ok) return session.actor.send(invalid(payload.error));
      session.actor.send(this.sessionEvent(session, payload.value));
    }
    if (session.actor.getSnapshot().status !== 'active') return;
    // An unfinished frame: refused from its header if that is enough, else given frameTimeoutMs to complete.
    const refused = session.reader.settle(session.sender, (error) => {
      if (session.actor.getSnapshot().status === 'active') session.actor.send(invalid(error));
    });
    if (refused) session.actor.send(invalid(refused));
  }

  private sessionEvent(session: Session, payload: Payload): SessionEvent {
    switch (payload.type) {
      case 'handshake':
        if (payload.connType === connType.serverToServer) session.sender = 'server';
        return { type: 'wire.handshake', payload };
      case 'userAuth':
        return this.authThrottle.blockedMs(session.address, this.host.now()) > 0
          ? { type: 'wire.userAuth', payload, blocked: true }
          : { type: 'wire.userAuth', payload };
      case 'serverAuth':
        // The nonce is drawn only under the signed profile, so the seed profile draws nothing.
        return {
          type: 'wire.serverAuth',
          payload,
          nonce: this.config.profile === 'signed' ? this.host.random.bytes(nonceBytes) : new Uint8Array(0),
        };
      case 'proof':
        return { type: 'wire.proof', payload };
      case 'message':
        return { type: 'wire.message', payload };
      default:
        return { type: 'wire.unexpected', payload };
    }
  }
}
