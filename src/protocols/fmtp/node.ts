/**
 * The FMTP node: an object cache and router (seed: "the primary tasks of an FMTP system will be
 * to cache objects and to answer requests for objects"). It runs three kinds of machines:
 * one `fmtp.connection` per stream connection (mutual key verification), one `fmtp.lookup` per
 * object lookup (cache, owner, MX, gateway) and one `fmtp.relay` per message sent. The node
 * itself only glues them: it decodes frames, routes DNS answers and answers by transaction,
 * keeps the object and key caches, answers REQUESTs and MESSAGEs as a server, and keeps
 * logged-in user connections for relaying (seed step 7).
 *
 * Rules: nothing here knows whether it runs in the simulator or on sockets; everything comes
 * through `NodeHost`. Peer input never throws: decode errors and protocol errors get REFUSED /
 * REJECTED and, for the connection-level ones, a close. Local API misuse (a command the node
 * cannot carry out) gets a `reject` output with a `fmtp.command.*` code.
 */
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import { DurableWindow } from '../durable-window.js';
import type { NodeHost, NodeInput, NodeOutput, ProtocolNode } from '../protocol.js';
import { connectionMachine, type ConnectionTarget } from './machines/connection.js';
import { parseKeyRecord, secretKeyFor, toHex } from './keys.js';
import { lookupMachine, pickMx, type LookupDone } from './machines/lookup.js';
import { relayMachine } from './machines/relay.js';
import {
  BlockBuffer,
  domainOf,
  encodeFrame,
  matchesPattern,
  ownerOf,
  type Frame,
  type FrameOf,
  type ObjectProperties,
  type Route,
} from './wire.js';

/** A user this node is the home server of: the user object's properties (rev 5 table). */
export interface FmtpUserConfig {
  readonly address: string;
  readonly status?: 'ONLINE' | 'OFFLINE' | 'AWAY';
  readonly route?: Route;
  readonly policy?: 'ACCEPT' | 'REJECT' | 'CONFIRM';
  readonly blacklist?: readonly string[];
  readonly whitelist?: readonly string[];
  readonly encryptPolicy?: 'REQUIRED' | 'OPTIONAL' | 'NONE';
}

/** A route-table entry: objects matching `pattern` go through `gateway`. */
export interface FmtpRouteConfig {
  readonly pattern: string;
  readonly gateway: string;
  readonly port?: number;
  /** The domain whose key the gateway signs with; defaults to the gateway host name. */
  readonly domain?: string;
}

export interface FmtpConfig {
  /** The domain this node speaks for ("I am lenore.org"); defaults to the host name. */
  readonly domain?: string;
  readonly port: number;
  readonly users: readonly FmtpUserConfig[];
  /** Set on a user's own node: it logs in to its home server and keeps that connection open. */
  readonly login?: { readonly user: string; readonly server: string; readonly port?: number };
  /** Objects known before the run (never expire). */
  readonly cache: readonly ObjectProperties[];
  /** The route table, first match wins: list `*@splitreflection.com` before `*@*`. */
  readonly routes: readonly FmtpRouteConfig[];
  /** Answer "I will look" and look up on the requester's behalf. */
  readonly proxy: boolean;
  /** Close an idle outbound connection after this long; null keeps it open. */
  readonly keepOpenMs: number | null;
  /** End a connection whose greeting (HELLO, WELCOME, key lookup) is not over after this long (spec.md §2). */
  readonly handshakeMs: number;
  /** Close an established connection whose peer leaves a REQUEST or MESSAGE unanswered this long (spec.md §2). */
  readonly answerMs: number;
  readonly cacheTtlMs: number;
  /** How long a lookup waits for the final answer after "I will look". */
  readonly lookingMs: number;
  /** A user's node retries its login this long after losing it. */
  readonly reloginMs: number;
  /** A relay retries a transient failure after this long, doubling each time up to `retryMsMax` (spec.md §8.1). */
  readonly retryMsBase: number;
  readonly retryMsMax: number;
  /** A relay gives up once its retry delays would pass this in sum; 0 never retries (spec.md §8.1). */
  readonly relayMsMax: number;
  /** 64 hex digits: overrides the key derived from the run's seed (forged-key scenarios). */
  readonly secretKeyHex?: string;
  /** Whether the descriptor publishes this node's key at `fmtpkey.<domain>`. */
  readonly publishKey: boolean;
}

export type FmtpCommand =
  | { readonly type: 'lookup'; readonly object: string }
  | { readonly type: 'send'; readonly from: string; readonly to: string; readonly body: string };

/** The port FMTP listens on unless configured (ours: unassigned by IANA as far as we know). */
export const fmtpPortDefault = 7465;
/** Connections one node holds; past this new outbound work fails at once (a runaway loop, not load). */
export const connectionsMax = 1024;
/** Lookups and relays in progress at once; proxied requests past this get FAILED. */
export const jobsMax = 512;
/** Objects in the cache; the oldest entry is evicted first. */
export const cacheEntriesMax = 4096;
/** Jobs queued on a connection that is still handshaking. */
export const queuedPerConnMax = 64;
/**
 * Accepted MESSAGEs a node remembers (durably) by sender and TRANSACTION, to accept a relay's
 * retry again without delivering it twice (spec.md §8.1). A relay retries for `relayMsMax`
 * (5 min by default), so this needs to outlast the messages one node accepts in that time; 1024
 * is far above what a simulated federation sends, and keeps the stored list small.
 */
export const acceptedRememberedMax = 1024;
/** The durable store's keys (they survive a crash and restart; spec.md §8.1, §3). */
const transactionsKey = 'fmtp/transactions';
const acceptedKey = 'fmtp/accepted';
/**
 * Proxies that may look on one requester's behalf, one after another (ours, spec.md §5.3): the
 * HOPS our REQUESTs start with. Each proxy forwards with one less and a proxy that gets HOPS 0
 * answers FAILED `hops.exhausted` instead of LOOKING, so two proxies whose routes point at each
 * other stop after this many lookups instead of passing "I will look" back and forth forever.
 * Why 8: the seed's longest chain is one proxy (the requester's gateway asks the object's MX);
 * gateways in front of gateways (a site's, its provider's, a regional one) rarely pass 3. 8 leaves
 * room for that, yet a loop costs at most 8 handshakes, and at default delays its FAILED reaches
 * the requester well inside `lookingMs`. (IP's TTL is 64 and SMTP allows 100 Received lines, but
 * an FMTP hop is a whole verified connection, not a packet.)
 */
export const hopsMax = 8;

type Job =
  /** `hops`: the HOPS the REQUEST carries (how many more proxies may look). */
  | { readonly kind: 'ask'; readonly lookup: string; readonly object: string; readonly hops: number }
  | { readonly kind: 'send'; readonly relay: string; readonly message: FrameOf<'MESSAGE'> }
  /** An answer to pass on downstream (a proxied request we considered closed at "I will look"). */
  | { readonly kind: 'forward'; readonly conn: string; readonly transaction: string }
  /** A MESSAGE relayed to a logged-in user; its ACCEPTED is only consumed. */
  | { readonly kind: 'relayed' };

interface Conn {
  readonly id: string;
  readonly role: 'client' | 'server';
  readonly actor: MachineActor<typeof connectionMachine>;
  readonly buffer: BlockBuffer;
  readonly poolKey?: string;
  readonly target?: ConnectionTarget;
  peer?: string;
  established: boolean;
  ended: boolean;
  readonly queued: Job[];
  /** The user logged in over this connection (server side), if any. */
  loginUser?: string;
}

interface Downstream {
  readonly conn: string;
  readonly transaction: string;
}

interface LookupJob {
  readonly actor: MachineActor<typeof lookupMachine>;
  readonly downstream?: Downstream;
  readonly relay?: string;
  readonly fromCache: boolean;
  /** The pending key (`conn transaction`) of its current REQUEST. */
  pendingKey?: string;
}

interface Cached<T> {
  readonly value: T;
  /** Undefined: never expires (configured). */
  readonly expiresAtMs?: number;
}

function pendingKey(conn: string, transaction: string): string {
  return `${conn} ${transaction}`;
}

/** Whether `user` refuses a message from `sender`; the REJECTED code if so (spec.md §7). */
export function refusalOf(user: FmtpUserConfig, sender: string): string | undefined {
  if (user.whitelist?.some((pattern) => matchesPattern(pattern, sender))) return undefined;
  if (user.blacklist?.some((pattern) => matchesPattern(pattern, sender))) return 'sender-blacklisted';
  if (user.policy === 'REJECT') return 'policy-reject';
  if (user.policy === 'CONFIRM') return 'policy-confirm';
  if (user.encryptPolicy === 'REQUIRED') return 'encryption-required';
  return undefined;
}

/** The first route-table entry whose pattern matches the object's address. */
export function routeFor(routes: readonly FmtpRouteConfig[], object: string, portDefault: number) {
  const address = object.split('/')[0] ?? object;
  const route = routes.find((entry) => matchesPattern(entry.pattern, address));
  if (!route) return undefined;
  return { host: route.gateway, port: route.port ?? portDefault, domain: route.domain ?? route.gateway };
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export class FmtpNode implements ProtocolNode {
  readonly domain: string;
  /** FROM in our HELLOs and REQUESTs: the domain, or the logged-in user on a user's node. */
  readonly identity: string;
  private readonly secretKey: Uint8Array;
  private readonly conns = new Map<string, Conn>();
  /** Outbound connections by `host:port/domain`, reused while open (seed step 6 note). */
  private readonly pool = new Map<string, string>();
  private readonly pending = new Map<string, Job>();
  /** Pending keys whose REQUEST or MESSAGE has had no answer yet (LOOKING is one): see `answerMs`. */
  private readonly unanswered = new Set<string>();
  private readonly lookups = new Map<string, LookupJob>();
  private readonly relays = new Map<string, MachineActor<typeof relayMachine>>();
  private readonly objects = new Map<string, Cached<ObjectProperties>>();
  private readonly keys = new Map<string, Cached<readonly string[]>>();
  private readonly mx = new Map<string, Cached<string>>();
  private readonly logins = new Map<string, string>();
  private readonly users = new Map<string, FmtpUserConfig>();
  private readonly outIds = new IdSequence('out');
  private readonly lookupIds = new IdSequence('lookup');
  private readonly relayIds = new IdSequence('relay');
  private transactions = 0;
  /** Accepted messages (`<from> <transaction>`), most recent `acceptedRememberedMax`, in the store. */
  private readonly accepted: DurableWindow;
  private loginConn: string | undefined;
  private reloginTimer: unknown;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: FmtpConfig,
  ) {
    this.domain = config.domain ?? host.hostName;
    this.identity = config.login?.user ?? this.domain;
    this.secretKey = config.secretKeyHex ? hexToBytes(config.secretKeyHex) : secretKeyFor(host.random.seed, host.id);
    for (const user of config.users) this.users.set(user.address, user);
    for (const object of config.cache) this.objects.set(object.address, { value: object });
    // Transaction ids continue after a restart (spec.md §3): a new message never reuses an old id.
    const transactions = host.store.get(transactionsKey);
    this.transactions = typeof transactions === 'number' ? transactions : 0;
    this.accepted = new DurableWindow(host.store, acceptedKey, acceptedRememberedMax);
  }

  start(): void {
    this.host.emit({ kind: 'listen', endpoint: { host: this.host.hostName, port: this.config.port } });
    this.login();
  }

  stop(): void {
    this.stopped = true;
    if (this.reloginTimer !== undefined) this.host.clock.clearTimeout(this.reloginTimer);
    for (const conn of this.conns.values()) conn.actor.stop();
    for (const job of this.lookups.values()) job.actor.stop();
    for (const relay of this.relays.values()) relay.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'command':
        return this.command(input.command as FmtpCommand);
      case 'conn.accepted':
        return this.accept(input.conn);
      case 'conn.opened':
        this.conns.get(input.conn)?.actor.send({ type: 'conn.opened' });
        return;
      case 'conn.failed':
        this.conns.get(input.conn)?.actor.send({ type: 'conn.failed', reason: input.reason });
        return;
      case 'conn.closed':
        this.conns.get(input.conn)?.actor.send({ type: 'conn.closed', reason: input.reason });
        return;
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'dns.answer':
        return this.dnsAnswer(input);
      case 'datagram':
        // FMTP runs over streams here (ours); a datagram is noted and dropped.
        this.host.emit({ kind: 'reject', code: 'fmtp.datagram.unsupported', reason: 'FMTP uses stream connections' });
        return;
    }
  }

  view(): unknown {
    return {
      domain: this.domain,
      identity: this.identity,
      objects: [...this.objects.keys()],
      keys: [...this.keys.keys()],
      logins: Object.fromEntries(this.logins),
      conns: [...this.conns.values()].map((conn) => ({
        id: conn.id,
        role: conn.role,
        peer: conn.peer,
        state: conn.actor.getSnapshot().value,
      })),
      lookups: [...this.lookups.keys()],
      relays: [...this.relays.keys()],
    };
  }

  // ---- commands ---------------------------------------------------------------------------------

  private command(command: FmtpCommand): void {
    if (command.type === 'lookup') {
      this.startLookup(command.object, { hops: hopsMax });
      return;
    }
    const local = this.config.login ? command.from === this.config.login.user : domainOf(command.from) === this.domain;
    if (!local) {
      return this.reject('fmtp.command.from-not-local', `${command.from} is not a user of ${this.identity}`);
    }
    if (this.relays.size >= jobsMax) return this.reject('fmtp.command.busy', `over ${jobsMax} messages in flight`);
    if (!this.config.login && (this.users.has(command.to) || domainOf(command.to) === this.domain)) {
      // Within our own domain we are the recipient's home server: no lookup, no relay (spec.md §8).
      return this.sendLocal({
        type: 'MESSAGE',
        from: command.from,
        to: command.to,
        transaction: this.nextTransaction(),
        body: command.body,
      });
    }
    const id = this.relayIds.next();
    const message: FrameOf<'MESSAGE'> = {
      type: 'MESSAGE',
      from: command.from,
      to: command.to,
      transaction: this.nextTransaction(),
      body: command.body,
    };
    const { port, retryMsBase, retryMsMax, relayMsMax } = this.config;
    const actor = startActor(relayMachine, this.host, {
      name: `fmtp.relay ${id}`,
      input: { id, message, port, retryMsBase, retryMsMax, relayMsMax },
    });
    this.relays.set(id, actor);
    actor.on('fmtp.resolve', (event) => this.startLookup(event.object, { relay: id, hops: hopsMax }));
    actor.on('fmtp.send', (event) => this.carry(event.target, { kind: 'send', relay: id, message: event.message }));
    actor.on('fmtp.relay.done', () => {
      this.relays.delete(id);
    });
    actor.send({ type: 'relay.start' });
  }

  /** A message from one of our users to another user of our domain (ours, spec.md §8). */
  private sendLocal(message: FrameOf<'MESSAGE'>): void {
    const detail = { transaction: message.transaction, to: message.to };
    const answer = this.acceptMessage(message);
    if (answer.type === 'REJECTED') return this.reject(`fmtp.message.${answer.code}`, answer.reason, detail);
    this.host.emit({
      kind: 'note',
      what: 'fmtp.message.accepted',
      detail: { ...detail, by: this.domain, local: true },
    });
  }

  private reject(code: string, reason: string, detail?: unknown): void {
    this.host.emit({ kind: 'reject', code, reason, ...(detail === undefined ? {} : { detail }) });
  }

  private nextTransaction(): string {
    this.transactions += 1;
    this.host.store.put(transactionsKey, this.transactions);
    return `${this.transactions}.${this.identity}`;
  }

  // ---- lookups ----------------------------------------------------------------------------------

  private cachedObject(object: string): ObjectProperties | undefined {
    const entry = this.objects.get(object);
    if (!entry) return undefined;
    if (entry.expiresAtMs !== undefined && entry.expiresAtMs <= this.host.now()) {
      this.objects.delete(object);
      return undefined;
    }
    return entry.value;
  }

  private cachedKeys(domain: string): readonly string[] | undefined {
    const entry = this.keys.get(domain);
    if (!entry) return undefined;
    if (entry.expiresAtMs !== undefined && entry.expiresAtMs <= this.host.now()) {
      this.keys.delete(domain);
      return undefined;
    }
    return entry.value;
  }

  private cacheObject(properties: ObjectProperties): void {
    if (this.objects.size >= cacheEntriesMax) {
      const oldest = this.objects.keys().next().value;
      if (oldest !== undefined) this.objects.delete(oldest);
    }
    this.objects.delete(properties.address);
    this.objects.set(properties.address, { value: properties, expiresAtMs: this.host.now() + this.config.cacheTtlMs });
  }

  /** Where the object's owner is, when the owner is another object we have with a TCP route. */
  private ownerTarget(object: string): ConnectionTarget | undefined {
    const owner = ownerOf(object);
    if (owner === object) return undefined;
    const route = this.cachedObject(owner)?.route;
    if (!route || route.transport !== 'tcp') return undefined;
    return { host: route.host, port: route.port, domain: domainOf(owner) };
  }

  /** `parent.hops`: the HOPS this lookup's REQUESTs carry (spec.md §5.3). */
  private startLookup(object: string, parent: { relay?: string; downstream?: Downstream; hops: number }): void {
    if (this.lookups.size >= jobsMax) {
      if (parent.downstream)
        this.answerDownstream(parent.downstream, {
          type: 'FAILED',
          object,
          transaction: parent.downstream.transaction,
          reason: 'busy',
        });
      if (parent.relay) {
        this.relays
          .get(parent.relay)
          ?.send({ type: 'fmtp.lookup.done', lookup: '', object, outcome: 'failure', step: 'cache', reason: 'busy' });
      }
      if (!parent.relay && !parent.downstream) this.reject('fmtp.command.busy', `over ${jobsMax} lookups in flight`);
      return;
    }
    const id = this.lookupIds.next();
    const cached = this.cachedObject(object);
    this.host.emit({
      kind: 'note',
      what: cached ? 'fmtp.cache.hit' : 'fmtp.cache.miss',
      detail: { lookup: id, object },
    });
    const owner = this.ownerTarget(object);
    const gateway = routeFor(this.config.routes, object, this.config.port);
    const actor = startActor(lookupMachine, this.host, {
      name: `fmtp.lookup ${id}`,
      input: {
        id,
        object,
        ...(cached ? { cached } : {}),
        ...(owner ? { owner } : {}),
        ...(gateway ? { gateway } : {}),
        keysCached: this.cachedKeys(domainOf(object)) !== undefined,
        port: this.config.port,
        byProxy: parent.downstream !== undefined,
        lookingMs: this.config.lookingMs,
      },
    });
    const job: LookupJob = {
      actor,
      fromCache: cached !== undefined,
      ...(parent.relay ? { relay: parent.relay } : {}),
      ...(parent.downstream ? { downstream: parent.downstream } : {}),
    };
    this.lookups.set(id, job);
    actor.on('fmtp.ask', (event) =>
      this.carry(event.target, { kind: 'ask', lookup: id, object: event.object, hops: parent.hops }),
    );
    actor.on('fmtp.lookup.done', (event) => this.lookupDone(id, job, event));
    actor.send({ type: 'lookup.start' });
  }

  private lookupDone(id: string, job: LookupJob, done: LookupDone): void {
    this.lookups.delete(id);
    if (done.mxHost)
      this.mx.set(domainOf(done.object), { value: done.mxHost, expiresAtMs: this.host.now() + this.config.cacheTtlMs });
    if (done.outcome === 'found' && done.properties && !job.fromCache) this.cacheObject(done.properties);
    const key = job.pendingKey;
    if (key !== undefined && this.pending.has(key)) {
      const conn = key.split(' ')[0] ?? '';
      if (done.outcome === 'looking' && job.downstream) {
        // "If you are asking by proxy, you may consider the request closed": later answers pass through.
        this.pending.set(key, { kind: 'forward', conn: job.downstream.conn, transaction: job.downstream.transaction });
      } else {
        this.pending.delete(key);
        this.settle(key, conn);
        this.conns.get(conn)?.actor.send({ type: 'txn.closed' });
      }
    }
    if (job.relay) {
      const mxHost = done.mxHost ?? this.cachedMx(domainOf(done.object));
      this.relays.get(job.relay)?.send({ ...done, ...(mxHost ? { mxHost } : {}) });
    }
    if (job.downstream) {
      const { transaction } = job.downstream;
      const object = done.object;
      if (done.outcome === 'found' && done.properties) {
        this.answerDownstream(job.downstream, { type: 'OBJECT', object, transaction, properties: done.properties });
      } else if (done.outcome === 'notFound') {
        this.answerDownstream(job.downstream, { type: 'NOT-FOUND', object, transaction });
      } else if (done.outcome === 'failure') {
        this.answerDownstream(job.downstream, {
          type: 'FAILED',
          object,
          transaction,
          reason: done.reason || 'failure',
        });
      }
    }
  }

  private cachedMx(domain: string): string | undefined {
    const entry = this.mx.get(domain);
    return entry && (entry.expiresAtMs === undefined || entry.expiresAtMs > this.host.now()) ? entry.value : undefined;
  }

  private answerDownstream(downstream: Downstream, frame: Frame): void {
    const conn = this.conns.get(downstream.conn);
    if (!conn || conn.ended) return;
    this.write(downstream.conn, frame);
  }

  // ---- connections ------------------------------------------------------------------------------

  /** Carries a REQUEST or MESSAGE to `target` over a verified connection, opening one if needed. */
  private carry(target: ConnectionTarget, job: Job): void {
    if (target.host === this.host.hostName) return this.failJob(job, 'target.self');
    const poolKey = `${target.host}:${target.port}/${target.domain}`;
    const existing = this.conns.get(this.pool.get(poolKey) ?? '');
    if (existing && !existing.ended) {
      if (existing.established) return this.dispatch(existing, job);
      if (existing.queued.length >= queuedPerConnMax) return this.failJob(job, 'queue.full');
      existing.queued.push(job);
      return;
    }
    if (this.conns.size >= connectionsMax) return this.failJob(job, 'connections.full');
    const conn = this.open(target, poolKey, this.config.keepOpenMs);
    conn.queued.push(job);
    conn.actor.send({ type: 'conn.start' });
  }

  private open(target: ConnectionTarget, poolKey: string, keepOpenMs: number | null): Conn {
    const id = this.outIds.next();
    const actor = startActor(connectionMachine, this.host, {
      name: `fmtp.connection ${id}`,
      input: {
        conn: id,
        role: 'client',
        identity: this.identity,
        secretKey: this.secretKey,
        nonce: toHex(this.host.random.bytes(16)),
        target,
        keepOpenMs,
        handshakeMs: this.config.handshakeMs,
        answerMs: this.config.answerMs,
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
    this.track(conn);
    this.pool.set(poolKey, id);
    return conn;
  }

  private accept(id: string): void {
    if (this.conns.size >= connectionsMax) {
      this.host.emit({ kind: 'close', conn: id });
      return this.reject('fmtp.connections.full', `over ${connectionsMax} connections`, { conn: id });
    }
    const actor = startActor(connectionMachine, this.host, {
      name: `fmtp.connection ${id}`,
      input: {
        conn: id,
        role: 'server',
        identity: this.domain,
        secretKey: this.secretKey,
        nonce: toHex(this.host.random.bytes(16)),
        keepOpenMs: null,
        handshakeMs: this.config.handshakeMs,
        answerMs: this.config.answerMs,
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
    this.track(conn);
    actor.send({ type: 'conn.start' });
  }

  private track(conn: Conn): void {
    this.conns.set(conn.id, conn);
    conn.actor.on('fmtp.established', (event) => this.established(conn, event.peer));
    conn.actor.on('fmtp.ended', (event) => this.ended(conn, event.reason));
  }

  private established(conn: Conn, peer: string): void {
    conn.established = true;
    conn.peer = peer;
    if (conn.role === 'server' && this.users.has(peer)) {
      // A user of ours greeted us with its own key: this is its logged-in connection.
      conn.loginUser = peer;
      this.logins.set(peer, conn.id);
      this.host.emit({ kind: 'note', what: 'fmtp.login', detail: { user: peer, conn: conn.id } });
    }
    if (conn.id === this.loginConn) {
      this.host.emit({
        kind: 'note',
        what: 'fmtp.logged-in',
        detail: { user: this.identity, server: peer, conn: conn.id },
      });
    }
    const queued = conn.queued.splice(0, conn.queued.length);
    for (const job of queued) this.dispatch(conn, job);
  }

  private ended(conn: Conn, reason: string): void {
    conn.ended = true;
    this.conns.delete(conn.id);
    if (conn.poolKey !== undefined && this.pool.get(conn.poolKey) === conn.id) this.pool.delete(conn.poolKey);
    if (conn.loginUser !== undefined && this.logins.get(conn.loginUser) === conn.id) this.logins.delete(conn.loginUser);
    for (const job of conn.queued.splice(0, conn.queued.length)) this.failJob(job, reason);
    for (const [key, job] of [...this.pending]) {
      if (!key.startsWith(`${conn.id} `)) continue;
      this.pending.delete(key);
      this.unanswered.delete(key);
      this.failJob(job, reason);
    }
    if (conn.id === this.loginConn) {
      this.loginConn = undefined;
      this.reloginTimer = this.host.clock.setTimeout(() => {
        this.reloginTimer = undefined;
        if (!this.stopped) this.login();
      }, this.config.reloginMs);
    }
  }

  private failJob(job: Job, reason: string): void {
    if (job.kind === 'ask') this.lookups.get(job.lookup)?.actor.send({ type: 'peer.failed', reason });
    else if (job.kind === 'send') this.relays.get(job.relay)?.send({ type: 'peer.failed', reason });
  }

  private dispatch(conn: Conn, job: Job): void {
    if (job.kind === 'ask') {
      const transaction = this.nextTransaction();
      const key = pendingKey(conn.id, transaction);
      this.pending.set(key, job);
      const lookup = this.lookups.get(job.lookup);
      if (lookup) lookup.pendingKey = key;
      this.unanswered.add(key);
      conn.actor.send({ type: 'txn.opened' });
      this.write(conn.id, { type: 'REQUEST', from: this.identity, object: job.object, transaction, hops: job.hops });
    } else if (job.kind === 'send') {
      const key = pendingKey(conn.id, job.message.transaction);
      this.pending.set(key, job);
      this.unanswered.add(key);
      conn.actor.send({ type: 'txn.opened' });
      this.write(conn.id, job.message);
    }
  }

  /** The transaction `key` on `conn` no longer awaits its first answer (the answer timer, spec.md §2). */
  private settle(key: string, conn: string): void {
    if (this.unanswered.delete(key)) this.conns.get(conn)?.actor.send({ type: 'txn.answered' });
  }

  private write(conn: string, frame: Frame): void {
    this.host.emit({ kind: 'write', conn, bytes: encodeFrame(frame), decoded: frame });
  }

  private login(): void {
    const login = this.config.login;
    if (!login || this.stopped) return;
    const target = { host: login.server, port: login.port ?? this.config.port, domain: domainOf(login.user) };
    // The logged-in connection stays open (keepOpenMs null): the server relays to us over it.
    const conn = this.open(target, `login:${login.server}`, null);
    this.loginConn = conn.id;
    conn.actor.send({ type: 'conn.start' });
  }

  // ---- frames -----------------------------------------------------------------------------------

  private data(id: string, bytes: Uint8Array): void {
    const conn = this.conns.get(id);
    if (!conn || conn.ended) return;
    const frames = conn.buffer.push(bytes);
    if (!frames.ok) {
      conn.actor.send({ type: 'wire.invalid', code: frames.error.code, reason: frames.error.message });
      return;
    }
    for (const frame of frames.value) {
      if (conn.ended) return;
      this.frame(conn, frame);
    }
  }

  private frame(conn: Conn, frame: Frame): void {
    if (frame.type === 'HELLO' && conn.role === 'server' && !conn.established) {
      const keys = this.cachedKeys(domainOf(frame.from));
      conn.actor.send({ type: 'wire.hello', frame, ...(keys ? { keys } : {}) });
      return;
    }
    if (frame.type === 'WELCOME' && conn.role === 'client' && !conn.established) {
      const keys = this.cachedKeys(domainOf(frame.from));
      conn.actor.send({ type: 'wire.welcome', frame, ...(keys ? { keys } : {}) });
      return;
    }
    if (frame.type === 'REFUSED') {
      conn.actor.send({ type: 'wire.refused', frame });
      return;
    }
    if (!conn.established || frame.type === 'HELLO' || frame.type === 'WELCOME') {
      conn.actor.send({ type: 'wire.invalid', code: 'handshake.order', reason: `${frame.type} out of order` });
      return;
    }
    switch (frame.type) {
      case 'REQUEST':
        return this.serveRequest(conn, frame);
      case 'MESSAGE':
        return this.serveMessage(conn, frame);
      case 'OBJECT':
      case 'NOT-FOUND':
      case 'LOOKING':
      case 'FAILED':
      case 'ACCEPTED':
      case 'REJECTED':
        return this.answer(conn, frame);
    }
  }

  private answer(
    conn: Conn,
    frame: FrameOf<'OBJECT' | 'NOT-FOUND' | 'LOOKING' | 'FAILED' | 'ACCEPTED' | 'REJECTED'>,
  ): void {
    const key = pendingKey(conn.id, frame.transaction);
    const job = this.pending.get(key);
    if (!job) {
      return this.reject('fmtp.answer.unexpected', `no open transaction ${frame.transaction} on ${conn.id}`, {
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
          this.lookups
            .get(job.lookup)
            ?.actor.send({ type: 'peer.failed', reason: `answer.${frame.type.toLowerCase()}` });
        } else {
          this.lookups.get(job.lookup)?.actor.send({ type: 'peer.answer', frame, peer });
        }
        return;
      case 'send': {
        const relay = this.relays.get(job.relay);
        if (frame.type === 'ACCEPTED') relay?.send({ type: 'peer.accepted', peer });
        else if (frame.type === 'REJECTED')
          relay?.send({ type: 'peer.rejected', code: frame.code, reason: frame.reason });
        else relay?.send({ type: 'peer.failed', reason: `answer.${frame.type.toLowerCase()}` });
        return;
      }
      case 'forward':
        if (frame.type !== 'ACCEPTED' && frame.type !== 'REJECTED') {
          this.answerDownstream(job, { ...frame, transaction: job.transaction });
        }
        return;
      case 'relayed':
        return;
    }
  }

  /** "Do you know lost@lenore.org?" */
  private serveRequest(conn: Conn, frame: FrameOf<'REQUEST'>): void {
    const { object, transaction } = frame;
    // A peer that sends no HOPS, or more than we allow, gets our own budget (spec.md §5.3).
    const hops = Math.min(frame.hops ?? hopsMax, hopsMax);
    const here = this.objectHere(object);
    if (here) {
      this.write(conn.id, { type: 'OBJECT', object, transaction, properties: here });
    } else if (domainOf(object) === this.domain || !this.config.proxy) {
      // Authoritative for our domain; a node that does not proxy does not look further.
      this.write(conn.id, { type: 'NOT-FOUND', object, transaction });
    } else if (hops === 0) {
      // Ours, §5.3: no proxy may look any further for this request (a route loop, or a chain too long).
      this.host.emit({
        kind: 'note',
        what: 'fmtp.request.hops-exhausted',
        detail: { conn: conn.id, from: frame.from, object, transaction },
      });
      this.write(conn.id, { type: 'FAILED', object, transaction, reason: 'hops.exhausted' });
    } else {
      this.write(conn.id, { type: 'LOOKING', object, transaction });
      this.startLookup(object, { downstream: { conn: conn.id, transaction }, hops: hops - 1 });
    }
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
    return this.cachedObject(object);
  }

  private serveMessage(conn: Conn, frame: FrameOf<'MESSAGE'>): void {
    const { transaction } = frame;
    const rejected = (code: string, reason: string) => {
      this.write(conn.id, { type: 'REJECTED', transaction, code, reason });
      this.reject(`fmtp.message.${code}`, reason, { conn: conn.id, from: frame.from, to: frame.to, transaction });
    };
    const peer = conn.peer ?? '';
    // Authenticity: the verified peer speaks for the sender's domain, or is our own home server relaying.
    const fromLoginServer = conn.id === this.loginConn;
    if (domainOf(frame.from) !== domainOf(peer) && !fromLoginServer) {
      return rejected('sender-unauthenticated', `${peer} cannot send for ${frame.from}`);
    }
    const answer = this.acceptMessage(frame);
    if (answer.type === 'REJECTED') return rejected(answer.code, answer.reason);
    this.write(conn.id, answer);
  }

  /**
   * Takes a MESSAGE for a user of ours (its sender already authenticated): delivers it, relays it
   * over the user's logged-in connection, or refuses it. One already accepted (same sender and
   * TRANSACTION: a relay's retry whose ACCEPTED was lost) is accepted again and not delivered twice.
   */
  private acceptMessage(frame: FrameOf<'MESSAGE'>): FrameOf<'ACCEPTED'> | FrameOf<'REJECTED'> {
    const { transaction } = frame;
    const refused = (code: string, reason: string): FrameOf<'REJECTED'> => ({
      type: 'REJECTED',
      transaction,
      code,
      reason,
    });
    const toLoginUser = this.config.login !== undefined && frame.to === this.config.login.user;
    const user = this.users.get(frame.to);
    if (!toLoginUser) {
      if (!user) return refused('recipient-unknown', `${frame.to} is not a user of ${this.domain}`);
      const refusal = refusalOf(user, frame.from);
      if (refusal) return refused(refusal, `${frame.to} refuses messages from ${frame.from}`);
    }
    if (!this.rememberAccepted(frame)) {
      this.host.emit({
        kind: 'note',
        what: 'fmtp.message.duplicate',
        detail: { from: frame.from, to: frame.to, transaction },
      });
      return { type: 'ACCEPTED', transaction };
    }
    const login = toLoginUser ? undefined : this.logins.get(frame.to);
    const loginConn = login === undefined ? undefined : this.conns.get(login);
    if (loginConn && loginConn.established && !loginConn.ended) {
      // Seed step 7: "Lenore uses an existing logged-in connection from lost@lenore.org".
      this.host.emit({
        kind: 'note',
        what: 'fmtp.relay.logged-in',
        detail: { to: frame.to, conn: loginConn.id, transaction },
      });
      const key = pendingKey(loginConn.id, transaction);
      this.pending.set(key, { kind: 'relayed' });
      this.unanswered.add(key);
      loginConn.actor.send({ type: 'txn.opened' });
      this.write(loginConn.id, frame);
    } else {
      // To us as a user's node, or not logged in: the home server keeps it in the user's mailbox (ours).
      this.deliver(frame);
    }
    return { type: 'ACCEPTED', transaction };
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
    this.host.emit(output);
  }

  // ---- DNS --------------------------------------------------------------------------------------

  private dnsAnswer(answer: Extract<NodeInput, { kind: 'dns.answer' }>): void {
    const keys =
      answer.type === 'TXT' && answer.status === 'ok'
        ? answer.records.map(parseKeyRecord).filter((key): key is string => key !== undefined)
        : [];
    if (answer.type === 'TXT' && answer.name.startsWith('fmtpkey.') && keys.length > 0) {
      // Seed step 3: "looks up fmtpkey.lenore.org, and caches the public key".
      this.keys.set(answer.name.slice('fmtpkey.'.length), {
        value: keys,
        expiresAtMs: this.host.now() + this.config.cacheTtlMs,
      });
      this.host.emit({ kind: 'note', what: 'fmtp.key.cached', detail: { name: answer.name, keys: keys.length } });
    }
    if (answer.type === 'MX' && answer.status === 'ok') {
      const host = pickMx(answer.records);
      if (host) this.mx.set(answer.name, { value: host, expiresAtMs: this.host.now() + this.config.cacheTtlMs });
    }
    if (answer.query.startsWith('key:')) {
      const conn = this.conns.get(answer.query.slice('key:'.length));
      conn?.actor.send({ type: 'dns.keys', status: answer.status, keys });
      return;
    }
    const owner = answer.query.slice(0, answer.query.lastIndexOf(':'));
    const event = {
      type: 'dns.answer' as const,
      name: answer.name,
      rtype: answer.type,
      status: answer.status,
      records: answer.records,
    };
    if (owner.startsWith('lookup:')) this.lookups.get(owner)?.actor.send(event);
    else if (owner.startsWith('relay:')) this.relays.get(owner)?.send(event);
  }
}
