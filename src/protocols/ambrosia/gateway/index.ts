/**
 * The Ambrosia gateway node (spec.md §3): accepts c2s streams (SASL SCRAM and PLAIN, resource binding),
 * s2s streams and service connections; routes stanzas to services by (domain, type) with round
 * robin, fails over unacked stanzas when a service disconnects, asks a service for see-other-host
 * when a user is unknown, and delivers over s2s to other domains found through DNS (SRV, then MX,
 * then A) and authenticated with Server Dialback (XEP-0220).
 * Offers XEP-0198 on c2s: a client's session outlives a broken stream and is resumed with what the
 * client never acked (../machines/sm.ts); s2s streams are in ./s2s.ts; a service stream stuck inside a damaged element is given up (§4.8).
 *
 * Must not: crash on peer input (bad XML gets the RFC 6120 stream error and a close), keep
 * unbounded buffers, or read a clock or random source other than the host's.
 */
import { AuthThrottle, peerAddressOf } from '../../../core/auth-throttle.js';
import { IdSequence } from '../../../core/ids.js';
import { startActor, type MachineActor } from '../../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../../protocol.js';
import { queueCountMax, type GatewayConfig, type RegistrationType } from '../config.js';
import { nonceOf } from '../scram.js';
import { c2sMachine, type C2sEffect, type C2sEffectEvent, type C2sEvent } from '../machines/c2s.js';
import { channelMachine, ChunkWriter, StallWatch } from '../machines/channel.js';
import {
  serviceSessionMachine,
  type ServiceSessionEffect,
  type ServiceSessionEffectEvent,
  type ServiceSessionEvent,
} from '../machines/service-session.js';
import { SmSession } from '../machines/sm.js';
import { S2sStreams } from './s2s.js';
import {
  bareJid,
  bareStanza,
  localName,
  el,
  ns,
  parseJid,
  stanzaNames,
  textOf,
  toBytes,
  writeElement,
  XmlStreamParser,
  type StreamCondition,
  type StreamEvent,
  type XmlElement,
} from '../wire.js';

interface C2sConn {
  readonly actor: MachineActor<typeof c2sMachine>;
  readonly parser: XmlStreamParser;
  /** What the machine asked for while it processed the last event, done in order right after it. */
  readonly effects: C2sEffect[];
  /** The peer's address (the host's `remote` without a port), for the per-address SASL throttle. */
  readonly address: string;
  jid?: string;
}

/** A bound resource. With stream management it outlives its connection until resumed or expired. */
interface Session {
  readonly jid: string;
  /** The attached c2s connection; undefined while a resumable session waits for its client. */
  conn: string | undefined;
  sm?: SmSession;
}

interface ServiceConn {
  readonly session: MachineActor<typeof serviceSessionMachine>;
  readonly parser: XmlStreamParser;
  readonly stall: StallWatch;
  /** What the session machine asked for while it processed the last event, done in order right after it. */
  readonly effects: ServiceSessionEffect[];
  channel?: MachineActor<typeof channelMachine>;
  /** Writes the channel's chunks under flow control (spec.md §4.4). */
  writer?: ChunkWriter;
  name: string;
  readonly registrations: string[];
}

/** Outstanding see-other-host requests the gateway keeps at once; each lives at most `seeOtherHostTimeoutMs`. */
const seeOtherHostPendingMax = 1024;

export function registrationKey(domain: string, type: string): string {
  return `${domain} ${type}`;
}

/** Routing decisions `view()` lists (the first ones, as the service's processed log); later ones are only counted. */
const routedLogMax = 10_000;

export class GatewayNode implements ProtocolNode {
  private readonly c2s = new Map<string, C2sConn>();
  private readonly services = new Map<string, ServiceConn>();
  /** Registration key -> service connections, in registration order. */
  private readonly registry = new Map<string, string[]>();
  private readonly roundRobin = new Map<string, number>();
  /** Bound sessions by full JID. */
  private readonly sessions = new Map<string, Session>();
  /** Where each stanza in flight to a service belongs (object identity), for failover. */
  private readonly inFlight = new Map<XmlElement, string>();
  private readonly seeOtherHost = new Map<string, string>();
  private readonly requestIds = new IdSequence('soh');
  /** The first `routedLogMax` routing decisions, for `view()`, and how many there were in all. */
  private readonly routed: { key: string; service: string; id: string }[] = [];
  private routedTotal = 0;
  private stopped = false;
  private readonly s2s: S2sStreams;
  /** Services with a secret of their own (`services` in the config), by name. */
  private readonly serviceSecrets: Readonly<Record<string, string>>;
  /** Issue 22: SASL failures per peer address; an address that fails too often is shut out for a while. */
  private readonly saslThrottle: AuthThrottle;

  constructor(
    private readonly host: NodeHost,
    private readonly config: GatewayConfig,
  ) {
    this.serviceSecrets = Object.fromEntries(
      Object.entries(config.services).flatMap(([name, entry]) =>
        entry.secret === undefined ? [] : [[name, entry.secret]],
      ),
    );
    this.saslThrottle = new AuthThrottle({
      failuresFree: config.saslFailuresPerAddressFree,
      blockMs: config.saslBlockMs,
      blockMsMax: config.saslBlockMsMax,
      windowMs: config.saslFailureWindowMs,
    });
    this.s2s = new S2sStreams(host, config, {
      toService: (domain, stanza) => this.toService(registrationKey(domain, 'server'), stanza),
      fail: (conn, condition, reason) => this.fail(conn, condition, reason),
      // Ours: a domain is ours for dialback when it is served (c2s) or a service takes its s2s traffic.
      hosts: (domain) =>
        domain === this.host.hostName || this.isHosted(domain) || this.registry.has(registrationKey(domain, 'server')),
    });
  }

  start(): void {
    for (const port of [this.config.ports.c2s, this.config.ports.s2s, this.config.ports.service]) {
      this.host.emit({ kind: 'listen', endpoint: { host: this.host.hostName, port } });
    }
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.c2s.values()) c.actor.stop();
    for (const s of this.services.values()) {
      s.session.stop();
      s.channel?.stop();
    }
    this.s2s.stop();
    for (const session of this.sessions.values()) session.sm?.stop();
  }

  view(): unknown {
    return {
      sessions: [...this.sessions.keys()],
      registry: Object.fromEntries(
        [...this.registry].map(([key, conns]) => [key, conns.map((c) => this.services.get(c)?.name ?? c)]),
      ),
      services: [...this.services.values()].map((s) => ({
        name: s.name,
        state: s.session.getSnapshot().value,
        registrations: s.registrations,
      })),
      routed: this.routed,
      routedTotal: this.routedTotal,
      s2s: this.s2s.view(),
    };
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'conn.accepted':
        return this.accepted(input.conn, 'port' in input.local ? input.local.port : 0, input.remote);
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'conn.closed':
        return this.closed(input.conn);
      case 'conn.drain':
        // Flow control: only a service channel writes more than the mark at once (spec.md §4.4).
        return this.services.get(input.conn)?.writer?.pump();
      case 'conn.tls':
        return this.tlsDone(input.conn, input.ok, input.reason);
      case 'conn.opened':
        return this.s2s.connEvent(input.conn, 'conn.opened');
      case 'conn.failed':
        return this.s2s.connEvent(input.conn, 'conn.failed');
      case 'dns.answer':
        return this.s2s.dnsAnswer(input);
      case 'command':
        this.host.emit({
          kind: 'reject',
          code: 'ambrosia.command.unsupported',
          reason: 'the gateway takes no commands',
        });
        return;
      case 'datagram':
        return;
    }
  }

  // ---- connections ----

  private accepted(conn: string, port: number, remote: string): void {
    const streamId = `${this.host.id}.${this.host.random.uint32().toString(16)}`;
    if (port === this.config.ports.c2s) {
      const effects: C2sEffect[] = [];
      const actor = startActor(c2sMachine, this.host, {
        name: `ambrosia.c2s ${conn}`,
        input: {
          conn,
          streamId,
          seeOtherHostTimeoutMs: this.config.seeOtherHostTimeoutMs,
          accounts: this.config.accounts,
          plainWithoutTls: this.config.plainWithoutTls,
          tls: this.config.tls,
          nonce: nonceOf([this.host.random.uint32(), this.host.random.uint32(), this.host.random.uint32()]),
          saslFailuresMax: this.config.saslFailuresPerStreamMax,
        },
        on: { effect: (event) => effects.push((event as C2sEffectEvent).effect) },
      });
      this.c2s.set(conn, { actor, parser: new XmlStreamParser(), effects, address: peerAddressOf(remote) });
    } else if (port === this.config.ports.service) {
      const effects: ServiceSessionEffect[] = [];
      const session = startActor(serviceSessionMachine, this.host, {
        name: `ambrosia.service-session ${conn}`,
        input: {
          conn,
          streamId,
          localDomain: this.host.hostName,
          secret: this.config.serviceSecret,
          secrets: this.serviceSecrets,
        },
        on: { effect: (event) => effects.push((event as ServiceSessionEffectEvent).effect) },
      });
      this.services.set(conn, {
        session,
        parser: new XmlStreamParser(),
        stall: new StallWatch(this.config.ackTimeoutMs / 2),
        effects,
        name: conn,
        registrations: [],
      });
    } else {
      this.s2s.accepted(conn);
    }
  }

  /** The TLS handshake a c2s or s2s stream asked for is over (RFC 6120 §5.4.3.3: on success, the stream restarts). */
  private tlsDone(conn: string, ok: boolean, reason: string | undefined): void {
    const c = this.c2s.get(conn);
    if (!c) return this.s2s.tlsDone(conn, ok, reason);
    if (ok) c.parser.restart();
    this.toC2s(conn, c, { type: 'tls.done', ok, ...(reason === undefined ? {} : { reason }) });
  }

  private closed(conn: string): void {
    const c = this.c2s.get(conn);
    if (c) {
      c.actor.send({ type: 'conn.closed' });
      return this.dropC2s(conn, 'detach');
    }
    if (this.services.has(conn)) return this.dropService(conn);
    this.s2s.closed(conn);
  }

  /**
   * A c2s connection is gone. Its session, if stream management is on, is kept for resumption
   * (`detach`: the stream broke) or ended (`end`: the client closed it, or another bind replaced it).
   */
  private dropC2s(conn: string, how: 'detach' | 'end'): void {
    const c = this.c2s.get(conn);
    if (!c) return;
    c.actor.stop();
    this.c2s.delete(conn);
    const session = c.jid === undefined ? undefined : this.sessions.get(c.jid);
    if (!session || session.conn !== conn) return;
    session.conn = undefined;
    if (session.sm && how === 'detach') session.sm.detach();
    else this.endSession(session);
  }

  /** Ends a session for good; stanzas it never got acked are reported undelivered (`sm.ended`). */
  private endSession(session: Session): void {
    if (this.sessions.get(session.jid) === session) this.sessions.delete(session.jid);
    session.sm?.end();
  }

  /** A service is gone: unregister it, and hand each stanza it had not acked to another service (failover). */
  private dropService(conn: string): void {
    const s = this.services.get(conn);
    if (!s) return;
    this.services.delete(conn);
    for (const key of s.registrations) {
      const list = (this.registry.get(key) ?? []).filter((c) => c !== conn);
      if (list.length === 0) this.registry.delete(key);
      else this.registry.set(key, list);
    }
    const unacked = s.channel ? s.channel.getSnapshot().context.unacked : [];
    s.channel?.stop();
    s.session.stop();
    for (const [requestId, c2sConn] of this.seeOtherHost) {
      if (requestId.startsWith(`${conn}|`)) {
        this.seeOtherHost.delete(requestId);
        this.c2s.get(c2sConn)?.actor.send({ type: 'soh.none' });
      }
    }
    for (const { stanza } of unacked) {
      const key = this.inFlight.get(stanza);
      this.inFlight.delete(stanza);
      if (key === undefined) continue;
      this.host.emit({ kind: 'note', what: 'ambrosia.failover', detail: { from: s.name, key, id: stanza.attrs.id } });
      this.toService(key, stanza);
    }
  }

  private fail(conn: string, condition: StreamCondition, reason: string, how: 'detach' | 'end' = 'detach'): void {
    this.host.emit({ kind: 'reject', code: `ambrosia.stream.${condition}`, reason, detail: { conn } });
    const c = this.c2s.get(conn);
    if (c) {
      c.actor.send({ type: 'c2s.fail', condition });
      return this.dropC2s(conn, how);
    }
    const s = this.services.get(conn);
    if (s) {
      s.session.send({ type: 'svc.fail', condition });
      return this.dropService(conn);
    }
    this.s2s.failIncoming(conn, condition);
  }

  private data(conn: string, bytes: Uint8Array): void {
    const parser = this.c2s.get(conn)?.parser ?? this.services.get(conn)?.parser ?? this.s2s.parserOf(conn);
    if (!parser) return;
    const events = parser.push(bytes);
    if (!events.ok) return this.fail(conn, events.error.condition, events.error.message);
    for (const event of events.value) {
      if (this.stopped) return;
      if (this.c2s.has(conn)) this.c2sEvent(conn, event);
      else if (this.services.has(conn)) this.serviceEvent(conn, event);
      else this.s2s.event(conn, event);
    }
    // spec.md §4.8: a service channel element that never completes means a damaged segment.
    const service = this.services.get(conn);
    if (!this.stopped && service?.parser === parser) {
      const completed = events.value.some((e) => e.type === 'element');
      if (service.stall.stalled(completed, parser.pendingChars > 0, this.host.now())) {
        this.fail(conn, 'bad-format', 'an element from the service never completes (a damaged segment)');
      }
    }
  }

  // ---- c2s ----

  private isHosted(domain: string): boolean {
    return (
      this.config.accounts.some((a) => parseJid(a.jid)?.domain === domain) ||
      this.registry.has(registrationKey(domain, 'client'))
    );
  }

  /** Every stream event goes to the c2s machine, which holds the rules of what is legal when (machines/c2s.ts). */
  private c2sEvent(conn: string, event: StreamEvent): void {
    const c = this.c2s.get(conn);
    if (!c) return;
    if (event.type === 'close') return this.toC2s(conn, c, { type: 'xml.close' }, 'end');
    if (event.type === 'open') {
      const domain = event.header.attrs.to ?? '';
      const xmlns = event.header.attrs.xmlns;
      return this.toC2s(conn, c, { type: 'xml.open', xmlns, domain, hosted: this.isHosted(domain) });
    }
    const session = this.sessionOf(conn, c);
    const fact = !session ? 'none' : session.sm ? 'sm' : 'plain';
    const element = event.element;
    const attempt = element.ns === ns.sasl && ['auth', 'response'].includes(localName(element));
    const authBlocked = attempt && this.saslThrottle.blockedMs(c.address, this.host.now()) > 0;
    this.toC2s(conn, c, { type: 'xml.element', element, session: fact, ...(authBlocked ? { authBlocked } : {}) });
  }

  /**
   * Sends the c2s machine an event, then does what it asked for, in order. A stream the machine
   * ended is dropped: `end` when the client closed it (its session ends too, XEP-0198 §5),
   * `detach` otherwise (a session with stream management waits to be resumed).
   */
  private toC2s(conn: string, c: C2sConn, event: C2sEvent, how: 'detach' | 'end' = 'detach'): void {
    c.actor.send(event);
    for (let next = c.effects.shift(); next; next = c.effects.shift()) this.c2sEffect(conn, c, next);
    if (c.actor.getSnapshot().status === 'done') this.dropC2s(conn, how);
  }

  private c2sEffect(conn: string, c: C2sConn, effect: C2sEffect): void {
    switch (effect.type) {
      case 'starttls':
        this.host.emit({ kind: 'tls.start', conn, role: 'server' });
        return;
      case 'authenticated':
        c.jid = effect.jid;
        c.parser.restart();
        return;
      case 'lookup':
        return this.lookUpUser(conn, c, effect.jid, effect.domain);
      case 'bind':
        return this.bind(conn, c, effect.resource, effect.id);
      case 'resume':
        return this.resume(conn, c, effect.previd, effect.h);
      case 'enable': {
        const session = this.sessionOf(conn, c);
        if (session) this.enableSm(conn, session);
        return;
      }
      case 'stanza':
        // XEP-0198: every stanza from the client counts in `h` once the session has stream management.
        this.sessionOf(conn, c)?.sm?.received();
        return this.fromClient(c, effect.stanza);
      case 'sm.request':
        return this.sessionOf(conn, c)?.sm?.request();
      case 'sm.ack':
        return this.sessionOf(conn, c)?.sm?.ack(effect.h);
      case 'sasl.failed': {
        const blockedMs = this.saslThrottle.failed(c.address, this.host.now());
        if (blockedMs > 0) {
          this.host.emit({
            kind: 'note',
            what: 'ambrosia.sasl.throttled',
            detail: { address: c.address, blockedMs },
          });
        }
        return;
      }
    }
  }

  /** An unknown user: ask a service that handles the domain where the user lives (seed: "ask a service for a see-other-host value"). */
  private lookUpUser(conn: string, c: C2sConn, jid: string, domain: string): void {
    const serviceConn = this.pickService(registrationKey(domain, 'client'));
    if (!serviceConn || this.seeOtherHost.size >= seeOtherHostPendingMax) {
      return c.actor.send({ type: 'lookup.unavailable' });
    }
    const requestId = `${serviceConn}|${this.requestIds.next()}`;
    this.seeOtherHost.set(requestId, conn);
    c.actor.send({ type: 'lookup.sent' });
    this.writeTo(serviceConn, [el('see-other-host-request', { id: requestId, user: jid })]);
  }

  private bind(conn: string, c: C2sConn, requested: string, id: string): void {
    const resource = requested === '' ? `r${this.host.random.uint32().toString(16)}` : requested;
    const full = `${c.jid}/${resource}`;
    const previous = this.sessions.get(full);
    // RFC 6120 §7.7.2.2: a new session for the same full JID terminates the old one (conflict),
    // attached or waiting to be resumed.
    if (previous) {
      this.endSession(previous);
      if (previous.conn !== undefined && previous.conn !== conn) {
        this.fail(previous.conn, 'not-authorized', `${full} bound again elsewhere`, 'end');
      }
    }
    c.jid = full;
    this.sessions.set(full, { jid: full, conn });
    c.actor.send({ type: 'bind.done', jid: full, id });
  }

  private sessionOf(conn: string, c: C2sConn): Session | undefined {
    const session = c.jid === undefined ? undefined : this.sessions.get(c.jid);
    return session?.conn === conn ? session : undefined;
  }

  private enableSm(conn: string, session: Session): void {
    const id = `${this.host.id}.sm.${this.host.random.uint32().toString(16)}`;
    const input = {
      id,
      jid: session.jid,
      conn,
      ackTimeoutMs: this.config.c2sAckTimeoutMs,
      resumeMs: this.config.c2sResumeMs,
    };
    session.sm = new SmSession(this.host, input, {
      timeout: (timedOut) => {
        this.host.emit({ kind: 'note', what: 'ambrosia.sm.timeout', detail: { jid: session.jid, conn: timedOut } });
        const c = this.c2s.get(timedOut);
        if (!c) return;
        // RFC 6120 §4.9.3.4: the client seems to have lost the ability to read the stream.
        c.actor.send({ type: 'c2s.fail', condition: 'connection-timeout' });
        this.dropC2s(timedOut, 'detach');
      },
      overflow: (stanza) =>
        this.host.emit({
          kind: 'reject',
          code: 'ambrosia.sm.queue-full',
          reason: `${session.jid} has ${queueCountMax} stanzas unacked`,
          detail: { id: stanza.attrs.id },
        }),
      ended: (stanzas, reason) => {
        if (this.sessions.get(session.jid) === session) this.sessions.delete(session.jid);
        for (const stanza of stanzas) {
          this.host.emit({
            kind: 'reject',
            code: 'ambrosia.sm.undelivered',
            reason: `${reason} before ${session.jid} acked it`,
            detail: { id: stanza.attrs.id, to: session.jid },
          });
        }
      },
    });
    const seconds = String(Math.max(1, Math.round(this.config.c2sResumeMs / 1000)));
    this.writeTo(conn, [el('enabled', { xmlns: ns.sm, id, resume: 'true', max: seconds })]);
  }

  /** XEP-0198 §5: the authenticated client takes back its session on this new stream. */
  private resume(conn: string, c: C2sConn, previd: string, h: number): void {
    const session = [...this.sessions.values()].find((s) => s.sm?.id === previd);
    const bare = c.jid ?? '';
    if (!session?.sm || !session.sm.active || !session.jid.startsWith(`${bare}/`)) {
      return c.actor.send({ type: 'resume.unknown', previd });
    }
    // The old stream may not have broken on our side yet: the client has left it, so close it.
    if (session.conn !== undefined) {
      const old = session.conn;
      this.c2s.get(old)?.actor.send({ type: 'c2s.fail', condition: 'connection-timeout' });
      this.dropC2s(old, 'detach');
    }
    c.jid = session.jid;
    session.conn = conn;
    c.actor.send({ type: 'c2s.resumed', jid: session.jid });
    this.host.emit({ kind: 'note', what: 'ambrosia.sm.resumed', detail: { jid: session.jid, h } });
    session.sm.resume(conn, h);
  }

  private fromClient(c: C2sConn, stanza: XmlElement): void {
    const from = parseJid(c.jid);
    if (!from) return;
    // RFC 6120 §8.1.2.1: the server stamps the sender's full JID.
    const stamped: XmlElement = bareStanza(stanza, c.jid ?? '');
    this.toService(registrationKey(from.domain, 'client'), stamped);
  }

  // ---- services ----

  /** Every stream event goes to the service session machine, which holds the rules of what is legal when. */
  private serviceEvent(conn: string, event: StreamEvent): void {
    const s = this.services.get(conn);
    if (!s) return;
    if (event.type === 'close') {
      s.session.send({ type: 'conn.closed' });
      this.host.emit({ kind: 'close', conn });
      return this.dropService(conn);
    }
    if (event.type === 'open') {
      const { xmlns, from } = event.header.attrs;
      return this.toServiceSession(conn, s, { type: 'xml.open', xmlns, from });
    }
    this.toServiceSession(conn, s, { type: 'xml.element', element: event.element });
  }

  /** Sends the service session machine an event, then does what it asked for; a stream it ended is dropped. */
  private toServiceSession(conn: string, s: ServiceConn, event: ServiceSessionEvent): void {
    s.session.send(event);
    for (let next = s.effects.shift(); next; next = s.effects.shift()) this.serviceEffect(conn, s, next);
    if (s.session.getSnapshot().status === 'done') this.dropService(conn);
  }

  private serviceEffect(conn: string, s: ServiceConn, effect: ServiceSessionEffect): void {
    switch (effect.type) {
      case 'opened':
        s.name = effect.name ?? conn;
        return;
      case 'authenticated':
        return this.openChannel(conn, s);
      case 'unauthenticated':
        this.host.emit({
          kind: 'reject',
          code: 'ambrosia.service.unauthenticated',
          reason: `service ${s.name} failed the handshake`,
        });
        return this.dropService(conn);
      case 'register':
        return this.register(conn, s, effect.domain, effect.registration);
      case 'see-other-host':
        return this.seeOtherHostAnswer(conn, effect.response);
      case 'chunk':
        s.channel?.send({ type: 'wire.chunk', chunk: effect.chunk });
        return;
      case 'ack':
        s.channel?.send({ type: 'wire.ack', h: effect.h });
        return;
      case 'request':
        s.channel?.send({ type: 'wire.request' });
        return;
    }
  }

  private openChannel(conn: string, s: ServiceConn): void {
    const writer = new ChunkWriter(this.host, conn, this.config.chunkCharsMax);
    const channel = startActor(channelMachine, this.host, {
      name: `ambrosia.channel ${conn}`,
      input: {
        conn,
        chunkCharsMax: this.config.chunkCharsMax,
        ackTimeoutMs: this.config.ackTimeoutMs,
        retransmitsMax: this.config.retransmitsMax,
        writing: () => writer.writing,
      },
    });
    channel.on('channel.transmit', (e) => writer.stanza(e.seq, e.stanza));
    channel.on('channel.retransmit', (e) => writer.retransmit(e.stanzas));
    channel.on('channel.stanza', (e) => this.fromService(conn, e.stanza));
    channel.on('channel.acked', (e) => {
      for (const stanza of e.stanzas) this.inFlight.delete(stanza);
    });
    channel.on('channel.malformed', (e) => this.fail(conn, 'bad-format', e.reason));
    channel.on('channel.failed', (e) => {
      this.host.emit({ kind: 'note', what: 'ambrosia.channel.failed', detail: { service: s.name, reason: e.reason } });
      this.host.emit({ kind: 'close', conn });
      this.dropService(conn);
    });
    s.channel = channel;
    s.writer = writer;
  }

  /**
   * Registration (spec.md §4.3). Under the `assigned` profile a service registers only the domains
   * its `services` entry lists (`<forbidden/>` otherwise); under `seed` any service may take any
   * domain (the flaw of spec.md "Profiles": a share of that domain's traffic goes to it).
   */
  private register(conn: string, s: ServiceConn, domain: string, type: RegistrationType): void {
    if (this.config.profile === 'assigned' && !this.isAssigned(s.name, domain)) {
      this.writeTo(conn, [el('register-error', { domain, type }, [el('forbidden', { xmlns: ns.stanzas })])]);
      this.host.emit({
        kind: 'reject',
        code: 'ambrosia.register.not-assigned',
        reason: `service ${s.name} may not register ${domain}: it is not among its assigned domains`,
        detail: { service: s.name, domain, type },
      });
      return;
    }
    const key = registrationKey(domain, type);
    if (!s.registrations.includes(key)) {
      s.registrations.push(key);
      this.registry.set(key, [...(this.registry.get(key) ?? []), conn]);
    }
    this.writeTo(conn, [el('registered', { domain, type })]);
    this.host.emit({ kind: 'note', what: 'ambrosia.registered', detail: { service: s.name, domain, type } });
  }

  private isAssigned(service: string, domain: string): boolean {
    const entry = Object.hasOwn(this.config.services, service) ? this.config.services[service] : undefined;
    return entry?.domains.includes(domain) ?? false;
  }

  private seeOtherHostAnswer(conn: string, element: XmlElement): void {
    const requestId = element.attrs.id ?? '';
    const c2sConn = this.seeOtherHost.get(requestId);
    if (!c2sConn || !requestId.startsWith(`${conn}|`)) return;
    this.seeOtherHost.delete(requestId);
    const c = this.c2s.get(c2sConn);
    if (!c) return;
    // The machine takes an answer only while it is checking the user (not after its own timeout).
    const target = textOf(element).trim();
    this.toC2s(c2sConn, c, target === '' ? { type: 'soh.none' } : { type: 'soh.found', host: target }, 'end');
  }

  /** Round robin over the live services registered for `key` (seed: "round robin load balance"). */
  private pickService(key: string): string | undefined {
    const list = this.registry.get(key);
    if (!list || list.length === 0) return undefined;
    const turn = this.roundRobin.get(key) ?? 0;
    this.roundRobin.set(key, turn + 1);
    return list[turn % list.length];
  }

  /** Sends a stanza to a service registered for `key`, or routes it out directly when none is (ours). */
  private toService(key: string, stanza: XmlElement): void {
    const conn = this.pickService(key);
    const s = conn === undefined ? undefined : this.services.get(conn);
    if (conn === undefined || !s?.channel) return this.routeOut(stanza);
    this.inFlight.set(stanza, key);
    this.routedTotal += 1;
    // Bounded, so that a long run does not keep every stanza's decision.
    if (this.routed.length < routedLogMax) this.routed.push({ key, service: s.name, id: stanza.attrs.id ?? '' });
    s.channel.send({ type: 'channel.send', stanza });
  }

  private fromService(_conn: string, stanza: XmlElement): void {
    if (!stanzaNames.has(stanza.name)) return;
    this.routeOut(stanza);
  }

  private writeTo(conn: string, elements: readonly XmlElement[]): void {
    const text = elements.map(writeElement).join('');
    this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
  }

  // ---- routing out ----

  /** Delivers to local sessions when the domain is hosted here, otherwise over s2s. */
  private routeOut(stanza: XmlElement): void {
    const to = parseJid(stanza.attrs.to);
    if (!to) {
      this.host.emit({
        kind: 'reject',
        code: 'ambrosia.route.no-to',
        reason: `a routed <${stanza.name}> has no valid to`,
      });
      return;
    }
    if (this.isHosted(to.domain)) {
      const targets =
        to.resource === ''
          ? [...this.sessions.values()].filter((s) => s.jid.startsWith(`${bareJid(to)}/`))
          : [this.sessions.get(stanza.attrs.to ?? '')].filter((s): s is Session => s !== undefined);
      if (targets.length === 0) {
        this.host.emit({
          kind: 'reject',
          code: 'ambrosia.route.offline',
          reason: `${stanza.attrs.to} has no session here`,
          detail: { id: stanza.attrs.id },
        });
        return;
      }
      for (const target of targets) {
        // With stream management the session writes (or, detached, keeps) it until the client acks.
        if (target.sm) target.sm.send(stanza);
        else if (target.conn !== undefined) this.writeTo(target.conn, [stanza]);
      }
      return;
    }
    this.s2s.send(to.domain, stanza);
  }
}
