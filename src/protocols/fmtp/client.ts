/**
 * The FMTP client role: the calling side of a node. It opens verified outbound connections (one
 * `fmtp.connection` machine each, `role: 'client'`), pools them by `host:port/domain` while they
 * stay open (seed step 6 note), carries REQUESTs and MESSAGEs over them, and matches each answer to
 * the lookup or relay that waits for it by TRANSACTION. On a user's node it also keeps the
 * logged-in connection to the home server, and logs in again after losing it (seed step 7).
 */
import { IdSequence } from '../../core/ids.js';
import { startActor } from '../../engine/actor.js';
import { queuedPerConnMax } from './config.js';
import { toHex } from './keys.js';
import { connectionMachine, type ConnectionTarget } from './machines/connection.js';
import { pendingKey, type Conn, type Downstream, type FmtpShared, type Job } from './shared.js';
import { BlockBuffer, domainOf, type FrameOf } from './wire.js';

/** An answer to a REQUEST or MESSAGE of ours. */
export type TransactionAnswer = FrameOf<'OBJECT' | 'NOT-FOUND' | 'LOOKING' | 'FAILED' | 'ACCEPTED' | 'REJECTED'>;

export class FmtpClient {
  /** Outbound connections by `host:port/domain`, reused while open (seed step 6 note). */
  private readonly pool = new Map<string, string>();
  private readonly pending = new Map<string, Job>();
  /** Pending keys whose REQUEST or MESSAGE has had no answer yet (LOOKING is one): see `answerMs`. */
  private readonly unanswered = new Set<string>();
  private readonly outIds = new IdSequence('out');
  private loginConn: string | undefined;
  private reloginTimer: unknown;
  private stopped = false;

  constructor(private readonly node: FmtpShared) {}

  stop(): void {
    this.stopped = true;
    if (this.reloginTimer !== undefined) this.node.host.clock.clearTimeout(this.reloginTimer);
  }

  /** Whether `conn` is a user's node's logged-in connection to its home server. */
  isLoginConn(conn: string): boolean {
    return conn === this.loginConn;
  }

  /** Carries a REQUEST or MESSAGE to `target` over a verified connection, opening one if needed. */
  carry(target: ConnectionTarget, job: Job): void {
    const { host, conns, config } = this.node;
    if (target.host === host.hostName) return this.failJob(job, 'target.self');
    const poolKey = `${target.host}:${target.port}/${target.domain}`;
    const existing = conns.get(this.pool.get(poolKey) ?? '');
    if (existing && !existing.ended) {
      if (existing.established) return this.dispatch(existing, job);
      if (existing.queued.length >= queuedPerConnMax) return this.failJob(job, 'queue.full');
      existing.queued.push(job);
      return;
    }
    if (conns.size >= config.connectionsMax) return this.failJob(job, 'connections.full');
    const conn = this.open(target, poolKey, config.keepOpenMs);
    conn.queued.push(job);
    conn.actor.send({ type: 'conn.start' });
  }

  /** A user's node logs in to its home server: a connection that stays open for relays to it. */
  login(): void {
    const login = this.node.config.login;
    if (!login || this.stopped) return;
    const target = { host: login.server, port: login.port ?? this.node.config.port, domain: domainOf(login.user) };
    // The logged-in connection stays open (keepOpenMs null): the server relays to us over it.
    const conn = this.open(target, `login:${login.server}`, null);
    this.loginConn = conn.id;
    conn.actor.send({ type: 'conn.start' });
  }

  /** `conn` finished its greeting: note a login, then send what waited for it. */
  established(conn: Conn, peer: string): void {
    if (conn.id === this.loginConn) {
      this.node.host.emit({
        kind: 'note',
        what: 'fmtp.logged-in',
        detail: { user: this.node.identity, server: peer, conn: conn.id },
      });
    }
    const queued = conn.queued.splice(0, conn.queued.length);
    for (const job of queued) this.dispatch(conn, job);
  }

  /** `conn` is gone: what waited on it fails (a relay retries), and a lost login is retried. */
  ended(conn: Conn, reason: string): void {
    if (conn.poolKey !== undefined && this.pool.get(conn.poolKey) === conn.id) this.pool.delete(conn.poolKey);
    for (const job of conn.queued.splice(0, conn.queued.length)) this.failJob(job, reason);
    for (const [key, job] of [...this.pending]) {
      if (!key.startsWith(`${conn.id} `)) continue;
      this.pending.delete(key);
      this.unanswered.delete(key);
      this.failJob(job, reason);
    }
    if (conn.id === this.loginConn) {
      this.loginConn = undefined;
      this.reloginTimer = this.node.host.clock.setTimeout(() => {
        this.reloginTimer = undefined;
        if (!this.stopped) this.login();
      }, this.node.config.reloginMs);
    }
  }

  /** `job` waits on `conn` for the answer to the frame about to go out under `key`. */
  awaitAnswer(conn: Conn, key: string, job: Job): void {
    this.pending.set(key, job);
    this.unanswered.add(key);
    conn.actor.send({ type: 'txn.opened' });
  }

  /**
   * A lookup whose REQUEST is `key` ended. Still open, the transaction closes, unless the lookup
   * stopped at "I will look" for a requester downstream: then later answers pass through to it.
   */
  lookupEnded(key: string, looking: boolean, downstream: Downstream | undefined): void {
    if (!this.pending.has(key)) return;
    const conn = key.split(' ')[0] ?? '';
    if (looking && downstream) {
      // "If you are asking by proxy, you may consider the request closed": later answers pass through.
      this.pending.set(key, { kind: 'forward', conn: downstream.conn, transaction: downstream.transaction });
    } else {
      this.pending.delete(key);
      this.settle(key, conn);
      this.node.conns.get(conn)?.actor.send({ type: 'txn.closed' });
    }
  }

  /** An answer on `conn`: to the lookup or relay waiting for it, or downstream for a proxied one. */
  answer(conn: Conn, frame: TransactionAnswer): void {
    const key = pendingKey(conn.id, frame.transaction);
    const job = this.pending.get(key);
    if (!job) {
      return this.node.reject('fmtp.answer.unexpected', `no open transaction ${frame.transaction} on ${conn.id}`, {
        conn: conn.id,
      });
    }
    this.settle(key, conn.id);
    const final = frame.type !== 'LOOKING';
    if (final) {
      this.pending.delete(key);
      conn.actor.send({ type: 'txn.closed' });
    }
    const peer = conn.peer ?? '';
    switch (job.kind) {
      case 'ask':
        if (frame.type === 'ACCEPTED' || frame.type === 'REJECTED') {
          this.node.lookups.tell(job.lookup, { type: 'peer.failed', reason: `answer.${frame.type.toLowerCase()}` });
        } else {
          this.node.lookups.tell(job.lookup, { type: 'peer.answer', frame, peer });
        }
        return;
      case 'send':
        if (frame.type === 'ACCEPTED') this.node.relays.tell(job.relay, { type: 'peer.accepted', peer });
        else if (frame.type === 'REJECTED')
          this.node.relays.tell(job.relay, { type: 'peer.rejected', code: frame.code, reason: frame.reason });
        else this.node.relays.tell(job.relay, { type: 'peer.failed', reason: `answer.${frame.type.toLowerCase()}` });
        return;
      case 'forward':
        if (frame.type !== 'ACCEPTED' && frame.type !== 'REJECTED') {
          this.node.lookups.answerDownstream(job, { ...frame, transaction: job.transaction });
        }
        return;
      case 'relayed':
        return;
    }
  }

  private open(target: ConnectionTarget, poolKey: string, keepOpenMs: number | null): Conn {
    const { host, config } = this.node;
    const id = this.outIds.next();
    const actor = startActor(connectionMachine, host, {
      name: `fmtp.connection ${id}`,
      input: {
        conn: id,
        role: 'client',
        identity: this.node.identity,
        secretKey: this.node.secretKey,
        nonce: toHex(host.random.bytes(16)),
        target,
        keepOpenMs,
        handshakeMs: config.handshakeMs,
        answerMs: config.answerMs,
      },
    });
    const conn: Conn = {
      id,
      role: 'client',
      actor,
      buffer: new BlockBuffer(),
      poolKey,
      target,
      established: false,
      ended: false,
      queued: [],
    };
    this.node.track(conn);
    this.pool.set(poolKey, id);
    return conn;
  }

  private dispatch(conn: Conn, job: Job): void {
    if (job.kind === 'ask') {
      const transaction = this.node.nextTransaction();
      const key = pendingKey(conn.id, transaction);
      this.node.lookups.requestSent(job.lookup, key);
      this.awaitAnswer(conn, key, job);
      this.node.write(conn.id, {
        type: 'REQUEST',
        from: this.node.identity,
        object: job.object,
        transaction,
        // The seed profile's REQUEST has no HOPS (spec.md §11).
        ...(this.node.config.profile === 'seed' ? {} : { hops: job.hops }),
      });
    } else if (job.kind === 'send') {
      this.awaitAnswer(conn, pendingKey(conn.id, job.message.transaction), job);
      this.node.write(conn.id, job.message);
    }
  }

  private failJob(job: Job, reason: string): void {
    if (job.kind === 'ask') this.node.lookups.tell(job.lookup, { type: 'peer.failed', reason });
    else if (job.kind === 'send') this.node.relays.tell(job.relay, { type: 'peer.failed', reason });
  }

  /** The transaction `key` on `conn` no longer awaits its first answer (the answer timer, spec.md §2). */
  private settle(key: string, conn: string): void {
    if (this.unanswered.delete(key)) this.node.conns.get(conn)?.actor.send({ type: 'txn.answered' });
  }
}
