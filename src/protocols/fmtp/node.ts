/**
 * The FMTP node: an object cache and router (seed: "the primary tasks of an FMTP system will be
 * to cache objects and to answer requests for objects"). One node plays four roles, each its own
 * module: `client.ts` (verified outbound connections, the REQUESTs and MESSAGEs carried over them,
 * a user's node's login), `server.ts` (accepted connections, answers to REQUESTs and MESSAGEs, the
 * users it is home server of), `lookups.ts` (one `fmtp.lookup` per object lookup: cache, owner,
 * MX, gateway) and `relays.ts` (one `fmtp.relay` per message sent). The roles share what
 * `shared.ts` lists; this module builds them and routes the host's input to them: it decodes
 * frames, routes DNS answers, and keeps the connection table and the transaction counter.
 *
 * Rules: nothing here knows whether it runs in the simulator or on sockets; everything comes
 * through `NodeHost`. Peer input never throws: decode errors and protocol errors get REFUSED /
 * REJECTED and, for the connection-level ones, a close. Local API misuse (a command the node
 * cannot carry out) gets a `reject` output with a `fmtp.command.*` code.
 */
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import { FmtpCache } from './cache.js';
import { FmtpClient } from './client.js';
import { hopsMax, type FmtpCommand, type FmtpConfig } from './config.js';
import { parseKeyRecord, secretKeyFor } from './keys.js';
import { FmtpLookups } from './lookups.js';
import { pickMx } from './machines/lookup.js';
import { FmtpRelays } from './relays.js';
import { FmtpServer } from './server.js';
import type { Conn, FmtpShared } from './shared.js';
import { domainOf, encodeFrame, type Frame } from './wire.js';

/** The durable store's key of the transaction counter (it survives a crash and restart; spec.md §3). */
const transactionsKey = 'fmtp/transactions';

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export class FmtpNode implements ProtocolNode, FmtpShared {
  readonly domain: string;
  readonly identity: string;
  readonly secretKey: Uint8Array;
  readonly conns = new Map<string, Conn>();
  readonly cache: FmtpCache;
  readonly client: FmtpClient;
  readonly server: FmtpServer;
  readonly lookups: FmtpLookups;
  readonly relays: FmtpRelays;
  private transactions = 0;
  private stopped = false;

  constructor(
    readonly host: NodeHost,
    readonly config: FmtpConfig,
  ) {
    this.domain = config.domain ?? host.hostName;
    this.identity = config.login?.user ?? this.domain;
    this.secretKey = config.secretKeyHex ? hexToBytes(config.secretKeyHex) : secretKeyFor(host.random.seed, host.id);
    this.cache = new FmtpCache(host, config.cacheTtlMs, config.cache);
    // Transaction ids continue after a restart (spec.md §3): a new message never reuses an old id.
    const transactions = host.store.get(transactionsKey);
    this.transactions = typeof transactions === 'number' ? transactions : 0;
    this.client = new FmtpClient(this);
    this.server = new FmtpServer(this);
    this.lookups = new FmtpLookups(this);
    this.relays = new FmtpRelays(this);
  }

  start(): void {
    this.host.emit({ kind: 'listen', endpoint: { host: this.host.hostName, port: this.config.port } });
    this.client.login();
  }

  stop(): void {
    this.stopped = true;
    this.client.stop();
    for (const conn of this.conns.values()) conn.actor.stop();
    this.lookups.stop();
    this.relays.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'command':
        return this.command(input.command as FmtpCommand);
      case 'conn.accepted':
        return this.server.accept(input.conn);
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
    const cached = this.cache.view();
    return {
      domain: this.domain,
      identity: this.identity,
      objects: cached.objects,
      keys: cached.keys,
      logins: this.server.view(),
      conns: [...this.conns.values()].map((conn) => ({
        id: conn.id,
        role: conn.role,
        peer: conn.peer,
        state: conn.actor.getSnapshot().value,
      })),
      lookups: this.lookups.ids(),
      relays: this.relays.ids(),
    };
  }

  track(conn: Conn): void {
    this.conns.set(conn.id, conn);
    conn.actor.on('fmtp.established', (event) => this.established(conn, event.peer));
    conn.actor.on('fmtp.ended', (event) => this.ended(conn, event.reason));
  }

  write(conn: string, frame: Frame): void {
    this.host.emit({ kind: 'write', conn, bytes: encodeFrame(frame), decoded: frame });
  }

  reject(code: string, reason: string, detail?: unknown): void {
    this.host.emit({ kind: 'reject', code, reason, ...(detail === undefined ? {} : { detail }) });
  }

  nextTransaction(): string {
    this.transactions += 1;
    this.host.store.put(transactionsKey, this.transactions);
    return `${this.transactions}.${this.identity}`;
  }

  private command(command: FmtpCommand): void {
    if (command.type === 'lookup') return this.lookups.start(command.object, { hops: hopsMax });
    this.relays.send(command);
  }

  private established(conn: Conn, peer: string): void {
    conn.established = true;
    conn.peer = peer;
    this.server.established(conn, peer);
    this.client.established(conn, peer);
  }

  private ended(conn: Conn, reason: string): void {
    conn.ended = true;
    this.conns.delete(conn.id);
    this.server.ended(conn);
    this.client.ended(conn, reason);
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
      const keys = this.cache.keysOf(domainOf(frame.from));
      conn.actor.send({ type: 'wire.hello', frame, ...(keys ? { keys } : {}) });
      return;
    }
    if (frame.type === 'WELCOME' && conn.role === 'client' && !conn.established) {
      const keys = this.cache.keysOf(domainOf(frame.from));
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
        return this.server.serveRequest(conn, frame);
      case 'MESSAGE':
        return this.server.serveMessage(conn, frame);
      case 'OBJECT':
      case 'NOT-FOUND':
      case 'LOOKING':
      case 'FAILED':
      case 'ACCEPTED':
      case 'REJECTED':
        return this.client.answer(conn, frame);
    }
  }

  // ---- DNS --------------------------------------------------------------------------------------

  /** Caches the keys and MX hosts a DNS answer brings, and passes it to the machine that asked. */
  private dnsAnswer(answer: Extract<NodeInput, { kind: 'dns.answer' }>): void {
    const keys =
      answer.type === 'TXT' && answer.status === 'ok'
        ? answer.records.map(parseKeyRecord).filter((key): key is string => key !== undefined)
        : [];
    if (answer.type === 'TXT' && answer.name.startsWith('fmtpkey.') && keys.length > 0) {
      // Seed step 3: "looks up fmtpkey.lenore.org, and caches the public key".
      this.cache.putKeys(answer.name.slice('fmtpkey.'.length), keys);
      this.host.emit({ kind: 'note', what: 'fmtp.key.cached', detail: { name: answer.name, keys: keys.length } });
    }
    if (answer.type === 'MX' && answer.status === 'ok') {
      const host = pickMx(answer.records);
      if (host) this.cache.putMx(answer.name, host);
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
    if (owner.startsWith('lookup:')) this.lookups.tell(owner, event);
    else if (owner.startsWith('relay:')) this.relays.tell(owner, event);
  }
}
