/**
 * The FMTP server role: the answering side of a node. It accepts connections (one
 * `fmtp.connection` machine each, `role: 'server'`), answers REQUESTs from its users and its cache
 * (or looks further as a proxy, spec.md §5), and takes MESSAGEs for its users: it delivers them,
 * relays them over the user's logged-in connection (seed step 7), or refuses them by the user's
 * policy (spec.md §7). An accepted MESSAGE is remembered durably, so a relay's retry is accepted
 * again without being delivered twice (spec.md §8.1).
 */
import { startActor } from '../../engine/actor.js';
import { DurableWindow } from '../durable-window.js';
import type { NodeOutput } from '../protocol.js';
import { acceptedRememberedMax, hopsMax, type FmtpUserConfig } from './config.js';
import { toHex } from './keys.js';
import { connectionMachine } from './machines/connection.js';
import { pendingKey, type Conn, type FmtpShared } from './shared.js';
import { BlockBuffer, domainOf, matchesPattern, type FrameOf, type ObjectProperties } from './wire.js';

/** The durable store's key of the accepted MESSAGEs (they survive a crash and restart; spec.md §8.1). */
const acceptedKey = 'fmtp/accepted';

/** Whether `user` refuses a message from `sender`; the REJECTED code if so (spec.md §7). */
export function refusalOf(user: FmtpUserConfig, sender: string): string | undefined {
  if (user.whitelist?.some((pattern) => matchesPattern(pattern, sender))) return undefined;
  if (user.blacklist?.some((pattern) => matchesPattern(pattern, sender))) return 'sender-blacklisted';
  if (user.policy === 'REJECT') return 'policy-reject';
  if (user.policy === 'CONFIRM') return 'policy-confirm';
  if (user.encryptPolicy === 'REQUIRED') return 'encryption-required';
  return undefined;
}

export class FmtpServer {
  private readonly users = new Map<string, FmtpUserConfig>();
  /** Logged-in users: address -> the connection they greeted us on with their own key. */
  private readonly logins = new Map<string, string>();
  /** Accepted messages (`<from> <transaction>`), most recent `acceptedRememberedMax`, in the store. */
  private readonly accepted: DurableWindow;

  constructor(private readonly node: FmtpShared) {
    for (const user of node.config.users) this.users.set(user.address, user);
    this.accepted = new DurableWindow(node.host.store, acceptedKey, acceptedRememberedMax);
  }

  /** Whether this node is the home server of `address`. */
  hasUser(address: string): boolean {
    return this.users.has(address);
  }

  /** What the node's view lists: user -> logged-in connection. */
  view(): Record<string, string> {
    return Object.fromEntries(this.logins);
  }

  accept(id: string): void {
    const { host, config } = this.node;
    if (this.node.conns.size >= config.connectionsMax) {
      host.emit({ kind: 'close', conn: id });
      return this.node.reject('fmtp.connections.full', `over ${config.connectionsMax} connections`, { conn: id });
    }
    const actor = startActor(connectionMachine, host, {
      name: `fmtp.connection ${id}`,
      input: {
        conn: id,
        role: 'server',
        identity: this.node.domain,
        secretKey: this.node.secretKey,
        nonce: toHex(host.random.bytes(16)),
        keepOpenMs: null,
        handshakeMs: config.handshakeMs,
        answerMs: config.answerMs,
      },
    });
    const conn: Conn = {
      id,
      role: 'server',
      actor,
      buffer: new BlockBuffer(),
      established: false,
      ended: false,
      queued: [],
    };
    this.node.track(conn);
    actor.send({ type: 'conn.start' });
  }

  /** A peer finished its greeting; a user of ours greeting with its own key has logged in. */
  established(conn: Conn, peer: string): void {
    if (conn.role === 'server' && this.users.has(peer)) {
      // A user of ours greeted us with its own key: this is its logged-in connection.
      conn.loginUser = peer;
      this.logins.set(peer, conn.id);
      this.node.host.emit({ kind: 'note', what: 'fmtp.login', detail: { user: peer, conn: conn.id } });
    }
  }

  ended(conn: Conn): void {
    if (conn.loginUser !== undefined && this.logins.get(conn.loginUser) === conn.id) this.logins.delete(conn.loginUser);
  }

  /** "Do you know lost@lenore.org?" */
  serveRequest(conn: Conn, frame: FrameOf<'REQUEST'>): void {
    const { object, transaction } = frame;
    // A peer that sends no HOPS, or more than we allow, gets our own budget (spec.md §5.3).
    const hops = Math.min(frame.hops ?? hopsMax, hopsMax);
    const here = this.objectHere(object);
    if (here) {
      this.node.write(conn.id, { type: 'OBJECT', object, transaction, properties: here });
    } else if (domainOf(object) === this.node.domain || !this.node.config.proxy) {
      // Authoritative for our domain; a node that does not proxy does not look further.
      this.node.write(conn.id, { type: 'NOT-FOUND', object, transaction });
    } else if (hops === 0 && this.node.config.profile === 'fixed') {
      // Ours, §5.3: no proxy may look any further for this request (a route loop, or a chain too long).
      this.node.host.emit({
        kind: 'note',
        what: 'fmtp.request.hops-exhausted',
        detail: { conn: conn.id, from: frame.from, object, transaction },
      });
      this.node.write(conn.id, { type: 'FAILED', object, transaction, reason: 'hops.exhausted' });
    } else {
      this.node.write(conn.id, { type: 'LOOKING', object, transaction });
      // The seed profile has no hop limit: every proxy looks with the full budget again.
      const onward = this.node.config.profile === 'seed' ? hopsMax : hops - 1;
      this.node.lookups.start(object, { downstream: { conn: conn.id, transaction }, hops: onward });
    }
  }

  serveMessage(conn: Conn, frame: FrameOf<'MESSAGE'>): void {
    const { transaction } = frame;
    const rejected = (code: string, reason: string) => {
      this.node.write(conn.id, { type: 'REJECTED', transaction, code, reason });
      this.node.reject(`fmtp.message.${code}`, reason, { conn: conn.id, from: frame.from, to: frame.to, transaction });
    };
    const peer = conn.peer ?? '';
    // Authenticity: the verified peer speaks for the sender's domain, or is our own home server relaying.
    const fromLoginServer = this.node.client.isLoginConn(conn.id);
    if (domainOf(frame.from) !== domainOf(peer) && !fromLoginServer) {
      return rejected('sender-unauthenticated', `${peer} cannot send for ${frame.from}`);
    }
    const answer = this.acceptMessage(frame);
    if (answer.type === 'REJECTED') return rejected(answer.code, answer.reason);
    this.node.write(conn.id, answer);
  }

  /**
   * Takes a MESSAGE for a user of ours (its sender already authenticated): delivers it, relays it
   * over the user's logged-in connection, or refuses it. One already accepted (same sender and
   * TRANSACTION: a relay's retry whose ACCEPTED was lost) is accepted again and not delivered twice.
   */
  acceptMessage(frame: FrameOf<'MESSAGE'>): FrameOf<'ACCEPTED'> | FrameOf<'REJECTED'> {
    const { transaction } = frame;
    const refused = (code: string, reason: string): FrameOf<'REJECTED'> => ({
      type: 'REJECTED',
      transaction,
      code,
      reason,
    });
    const { config, host } = this.node;
    const toLoginUser = config.login !== undefined && frame.to === config.login.user;
    const user = this.users.get(frame.to);
    if (!toLoginUser) {
      if (!user) return refused('recipient-unknown', `${frame.to} is not a user of ${this.node.domain}`);
      const refusal = refusalOf(user, frame.from);
      if (refusal) return refused(refusal, `${frame.to} refuses messages from ${frame.from}`);
    }
    if (!this.rememberAccepted(frame)) {
      host.emit({
        kind: 'note',
        what: 'fmtp.message.duplicate',
        detail: { from: frame.from, to: frame.to, transaction },
      });
      return { type: 'ACCEPTED', transaction };
    }
    const login = toLoginUser ? undefined : this.logins.get(frame.to);
    const loginConn = login === undefined ? undefined : this.node.conns.get(login);
    if (loginConn && loginConn.established && !loginConn.ended) {
      // Seed step 7: "Lenore uses an existing logged-in connection from lost@lenore.org".
      host.emit({
        kind: 'note',
        what: 'fmtp.relay.logged-in',
        detail: { to: frame.to, conn: loginConn.id, transaction },
      });
      this.node.client.awaitAnswer(loginConn, pendingKey(loginConn.id, transaction), { kind: 'relayed' });
      this.node.write(loginConn.id, frame);
    } else {
      // To us as a user's node, or not logged in: the home server keeps it in the user's mailbox (ours).
      this.deliver(frame);
    }
    return { type: 'ACCEPTED', transaction };
  }

  /** An object we own (a user of ours) or have in the cache. */
  private objectHere(object: string): ObjectProperties | undefined {
    const user = this.users.get(object);
    if (user) {
      const online = this.logins.has(object);
      return {
        address: user.address,
        status: online ? 'ONLINE' : (user.status ?? 'OFFLINE'),
        ...(user.route ? { route: user.route } : {}),
        ...(user.policy ? { policy: user.policy } : {}),
        ...(user.encryptPolicy ? { encryptPolicy: user.encryptPolicy } : {}),
      };
    }
    return this.node.cache.object(object);
  }

  /** Records an accepted MESSAGE durably; false if it was accepted before (spec.md §8.1). */
  private rememberAccepted(frame: FrameOf<'MESSAGE'>): boolean {
    const key = `${frame.from} ${frame.transaction}`;
    if (this.accepted.has(key)) return false;
    this.accepted.add(key);
    return true;
  }

  private deliver(frame: FrameOf<'MESSAGE'>): void {
    const output: NodeOutput = {
      kind: 'deliver',
      user: frame.to,
      from: frame.from,
      body: frame.body,
      id: frame.transaction,
    };
    this.node.host.emit(output);
  }
}
