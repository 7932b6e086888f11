/**
 * The Ambrosia gateway node (spec.md §3): accepts c2s streams (SASL PLAIN, resource binding),
 * s2s streams and service connections; routes stanzas to services by (domain, type) with round
 * robin, fails over unacked stanzas when a service disconnects, asks a service for see-other-host
 * when a user is unknown, and delivers over s2s to other domains found through DNS (MX, then A).
 * Offers XEP-0198 on c2s: a client's session outlives a broken stream and is resumed with what the
 * client never acked (./sm.ts); a service stream stuck inside a damaged element is given up (§4.8).
 *
 * Must not: crash on peer input (bad XML gets the RFC 6120 stream error and a close), keep
 * unbounded buffers, or read a clock or random source other than the host's.
 */
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import { channelMachine, readChunk, StallWatch } from './channel.js';
import { c2sMachine, queueCountMax, s2sMachine, serviceProof, serviceSessionMachine } from './machine.js';
import { peerAddress, SaslThrottle, type SaslThrottleConfig } from './sasl-throttle.js';
import { SmSession } from './sm.js';
import {
  bareJid,
  bareStanza,
  child,
  el,
  localName,
  ns,
  parseJid,
  stanzaErrorReply,
  stanzaNames,
  streamClose,
  streamErrorElement,
  streamHeaderAttrs,
  textOf,
  toBytes,
  writeElement,
  writeStreamHeader,
  XmlStreamParser,
  type StreamCondition,
  type StreamEvent,
  type XmlElement,
} from './wire.js';

export type RegistrationType = 'client' | 'server';

export interface GatewayConfig extends SaslThrottleConfig {
  readonly role: 'gateway';
  /** The "local SASL system configuration" (seed): accounts the gateway authenticates. */
  readonly accounts: readonly { readonly jid: string; readonly password: string }[];
  readonly serviceSecret: string;
  readonly seeOtherHostTimeoutMs: number;
  readonly chunkCharsMax: number;
  readonly ackTimeoutMs: number;
  readonly retransmitsMax: number;
  /** XEP-0198 on c2s: how long stanzas sent to a client may wait for its `<a/>`. */
  readonly c2sAckTimeoutMs: number;
  /** XEP-0198 on c2s: how long a broken session waits to be resumed (`max` in `<enabled/>`, in seconds). */
  readonly c2sResumeMs: number;
  readonly ports: { readonly c2s: number; readonly s2s: number; readonly service: number };
  /**
   * Ours: the services allowed to connect, each with the domains it may register (and its own secret,
   * else `serviceSecret`). Absent: any service with the secret may register any domain (the seed).
   */
  readonly services?: readonly {
    readonly name: string;
    readonly secret?: string;
    readonly domains: readonly string[];
  }[];
}

interface C2sConn {
  readonly actor: MachineActor<typeof c2sMachine>;
  readonly parser: XmlStreamParser;
  jid?: string;
  domain: string;
  /** The peer's address, for the SASL throttle. */
  readonly address: string;
  /** A SASL attempt waits out the throttle's delay. */
  authWaiting?: boolean;
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
  channel?: MachineActor<typeof channelMachine>;
  name: string;
  readonly registrations: string[];
}

interface S2sOut {
  readonly actor: MachineActor<typeof s2sMachine>;
  readonly parser: XmlStreamParser;
  readonly domain: string;
}

interface S2sIn {
  /** Our stream header went out (RFC 6120 §4.9.1.1: a stream error repeats it only if not). */
  headerSent: boolean;
  readonly parser: XmlStreamParser;
  from: string;
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
  private readonly s2sIn = new Map<string, S2sIn>();
  private readonly s2sOut = new Map<string, S2sOut>();
  private readonly s2sByConn = new Map<string, S2sOut>();
  /** Registration key -> service connections, in registration order. */
  private readonly registry = new Map<string, string[]>();
  private readonly roundRobin = new Map<string, number>();
  /** Bound sessions by full JID. */
  private readonly sessions = new Map<string, Session>();
  /** Where each stanza in flight to a service belongs (object identity), for failover. */
  private readonly inFlight = new Map<XmlElement, string>();
  private readonly seeOtherHost = new Map<string, string>();
  private readonly s2sIds = new IdSequence('s2s');
  private readonly requestIds = new IdSequence('soh');
  /** The first `routedLogMax` routing decisions, for `view()`, and how many there were in all. */
  private readonly routed: { key: string; service: string; id: string }[] = [];
  private routedTotal = 0;
  private stopped = false;
  private readonly throttle: SaslThrottle;

  constructor(
    private readonly host: NodeHost,
    private readonly config: GatewayConfig,
  ) {
    this.throttle = new SaslThrottle(config, () => host.now());
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
    for (const s of this.s2sOut.values()) s.actor.stop();
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
      s2s: [...this.s2sOut.values()].map((s) => ({ domain: s.domain, state: s.actor.getSnapshot().value })),
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
      case 'conn.opened':
        this.s2sByConn.get(input.conn)?.actor.send({ type: 'conn.opened' });
        return;
      case 'conn.failed':
        this.s2sByConn.get(input.conn)?.actor.send({ type: 'conn.failed' });
        return;
      case 'dns.answer':
        return this.dnsAnswer(input);
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
      const actor = startActor(c2sMachine, this.host, {
        name: `ambrosia.c2s ${conn}`,
        input: { conn, streamId, seeOtherHostTimeoutMs: this.config.seeOtherHostTimeoutMs },
      });
      this.c2s.set(conn, { actor, parser: new XmlStreamParser(), domain: '', address: peerAddress(remote) });
    } else if (port === this.config.ports.service) {
      const session = startActor(serviceSessionMachine, this.host, {
        name: `ambrosia.service-session ${conn}`,
        input: { conn, streamId, localDomain: this.host.hostName },
      });
      this.services.set(conn, {
        session,
        parser: new XmlStreamParser(),
        stall: new StallWatch(this.config.ackTimeoutMs / 2),
        name: conn,
        registrations: [],
      });
    } else {
      this.s2sIn.set(conn, { parser: new XmlStreamParser(), from: '', headerSent: false });
    }
  }

  private closed(conn: string): void {
    const c = this.c2s.get(conn);
    if (c) {
      c.actor.send({ type: 'conn.closed' });
      return this.dropC2s(conn, 'detach');
    }
    if (this.services.has(conn)) return this.dropService(conn);
    if (this.s2sIn.delete(conn)) return;
    const out = this.s2sByConn.get(conn);
    if (out) out.actor.send({ type: 'conn.closed' });
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
    this.throttle.forget(conn);
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
    const incoming = this.s2sIn.get(conn);
    if (incoming && this.s2sIn.delete(conn)) {
      const header = incoming.headerSent
        ? ''
        : writeStreamHeader(streamHeaderAttrs(ns.server, { from: this.host.hostName }));
      const text = header + writeElement(streamErrorElement(condition)) + streamClose;
      this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
      this.host.emit({ kind: 'close', conn });
    }
  }

  private data(conn: string, bytes: Uint8Array): void {
    const parser =
      this.c2s.get(conn)?.parser ??
      this.services.get(conn)?.parser ??
      this.s2sIn.get(conn)?.parser ??
      this.s2sByConn.get(conn)?.parser;
    if (!parser) return;
    const events = parser.push(bytes);
    if (!events.ok) return this.fail(conn, events.error.condition, events.error.message);
    for (const event of events.value) {
      if (this.stopped) return;
      if (this.c2s.has(conn)) this.c2sEvent(conn, event);
      else if (this.services.has(conn)) this.serviceEvent(conn, event);
      else if (this.s2sIn.has(conn)) this.s2sInEvent(conn, event);
      else if (this.s2sByConn.has(conn)) this.s2sOutEvent(conn, event);
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

  private c2sEvent(conn: string, event: StreamEvent): void {
    const c = this.c2s.get(conn);
    if (!c) return;
    const state = c.actor.getSnapshot().value;
    if (event.type === 'close') {
      // XEP-0198 §5: a stream the client closes cleanly ends its session (no resumption).
      c.actor.send({ type: 'c2s.end' });
      return this.dropC2s(conn, 'end');
    }
    if (event.type === 'open') {
      if (event.header.attrs.xmlns !== ns.client)
        return this.fail(conn, 'invalid-namespace', 'c2s streams use jabber:client');
      const domain = event.header.attrs.to ?? '';
      if (state === 'opening') {
        c.domain = domain;
        const hosted = this.isHosted(domain);
        c.actor.send({ type: 'c2s.header', domain, hosted });
        if (!hosted) this.dropC2s(conn, 'end');
        return;
      }
      if (state === 'restarting') {
        c.actor.send({ type: 'c2s.header', domain, hosted: true });
        return;
      }
      return this.fail(conn, 'bad-format', 'unexpected stream header');
    }
    const element = event.element;
    if (state === 'authenticating' && localName(element) === 'auth' && element.ns === ns.sasl)
      return this.auth(conn, c, element);
    if (state === 'binding' && element.name === 'iq' && child(element, 'bind')) return this.bind(conn, c, element);
    if (element.ns === ns.sm && (state === 'binding' || state === 'bound')) {
      return this.streamManagement(conn, c, state, element);
    }
    if (state === 'bound' && stanzaNames.has(element.name)) {
      // XEP-0198: every stanza from the client counts in `h` once the session has stream management.
      this.sessionOf(conn, c)?.sm?.received();
      return this.fromClient(c, element);
    }
    if (stanzaNames.has(element.name) || localName(element) === 'auth') {
      return this.fail(conn, 'not-authorized', `<${element.name}> before the stream is authenticated and bound`);
    }
    return this.fail(conn, 'unsupported-stanza-type', `<${element.name}> is not supported here`);
  }

  /** A SASL attempt, judged at once or after the throttle's delay (sasl-throttle.ts). */
  private auth(conn: string, c: C2sConn, element: XmlElement): void {
    if (c.authWaiting) return this.fail(conn, 'policy-violation', 'a second SASL attempt while one waits');
    const delay = this.throttle.delayFor(c.address);
    if (delay === 'refuse') return this.fail(conn, 'policy-violation', `too many SASL attempts from ${c.address}`);
    if (delay === 0) return this.judge(conn, c, element);
    c.authWaiting = true;
    this.throttle.waiting(c.address, 1);
    // Said out loud: the attempt was read and is waiting, not lost (a host watching for stalled input sees it).
    this.host.emit({
      kind: 'note',
      what: 'ambrosia.sasl.delayed',
      detail: { conn, address: c.address, delayMs: delay },
    });
    this.host.clock.setTimeout(() => {
      this.throttle.waiting(c.address, -1);
      c.authWaiting = false;
      if (!this.stopped && this.c2s.get(conn) === c) this.judge(conn, c, element);
    }, delay);
  }

  /** A SASL failure: counted, and the connection closed once it has used up its tries. */
  private saslFailed(conn: string, c: C2sConn, condition: string): void {
    c.actor.send({ type: 'sasl.reject', condition });
    if (this.throttle.failed(conn, c.address))
      this.fail(conn, 'policy-violation', `${this.config.saslFailuresPerConnMax} failed SASL attempts`);
  }

  private judge(conn: string, c: C2sConn, element: XmlElement): void {
    if (element.attrs.mechanism !== 'PLAIN')
      return c.actor.send({ type: 'sasl.reject', condition: 'invalid-mechanism' });
    const decoded = decodePlain(textOf(element));
    if (!decoded) return c.actor.send({ type: 'sasl.reject', condition: 'malformed-request' });
    const jid = `${decoded.authcid}@${c.domain}`;
    const account = this.config.accounts.find((a) => a.jid === jid);
    if (account) {
      if (account.password === decoded.password) {
        c.jid = jid;
        c.actor.send({ type: 'sasl.accept', jid });
        c.parser.restart();
      } else {
        this.saslFailed(conn, c, 'not-authorized');
      }
      return;
    }
    // Unknown user: ask a service that handles the domain where the user lives instead (seed: "ask a service for a see-other-host value").
    const serviceConn = this.pickService(registrationKey(c.domain, 'client'));
    if (!serviceConn || this.seeOtherHost.size >= seeOtherHostPendingMax) {
      return this.saslFailed(conn, c, 'not-authorized');
    }
    const requestId = `${serviceConn}|${this.requestIds.next()}`;
    this.seeOtherHost.set(requestId, conn);
    c.actor.send({ type: 'sasl.lookup' });
    this.writeTo(serviceConn, [el('see-other-host-request', { id: requestId, user: jid })]);
  }

  private bind(conn: string, c: C2sConn, element: XmlElement): void {
    const requested = textOf(child(child(element, 'bind') ?? el('bind'), 'resource')).trim();
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
    c.actor.send({ type: 'bind.done', jid: full, id: element.attrs.id ?? '' });
  }

  private sessionOf(conn: string, c: C2sConn): Session | undefined {
    const session = c.jid === undefined ? undefined : this.sessions.get(c.jid);
    return session?.conn === conn ? session : undefined;
  }

  /** XEP-0198 on c2s: `<enable/>` and `<r/>`/`<a/>` once bound, `<resume/>` in place of binding. */
  private streamManagement(conn: string, c: C2sConn, state: unknown, element: XmlElement): void {
    const name = localName(element);
    const session = this.sessionOf(conn, c);
    const refuse = (condition: string) =>
      this.writeTo(conn, [el('failed', { xmlns: ns.sm }, [el(condition, { xmlns: ns.stanzas })])]);
    if (name === 'resume') {
      if (state !== 'binding') return refuse('unexpected-request');
      return this.resume(conn, c, element);
    }
    if (name === 'enable') {
      if (!session || session.sm) return refuse('unexpected-request');
      return this.enableSm(conn, session);
    }
    if (!session?.sm) return this.fail(conn, 'unsupported-stanza-type', `<${element.name}> without stream management`);
    if (name === 'r') return session.sm.request();
    if (name === 'a') {
      const h = Number(element.attrs.h);
      if (!Number.isSafeInteger(h) || h < 0 || h >= 0x1_0000_0000) {
        return this.fail(conn, 'bad-format', '<a/> needs a counter h');
      }
      return session.sm.ack(h);
    }
    return this.fail(conn, 'unsupported-stanza-type', `<${element.name}> is not supported here`);
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
  private resume(conn: string, c: C2sConn, element: XmlElement): void {
    const previd = element.attrs.previd ?? '';
    const h = Number(element.attrs.h);
    const session = [...this.sessions.values()].find((s) => s.sm?.id === previd);
    const bare = c.jid ?? '';
    if (
      !session?.sm ||
      !session.sm.active ||
      !session.jid.startsWith(`${bare}/`) ||
      !Number.isSafeInteger(h) ||
      h < 0 ||
      h >= 0x1_0000_0000
    ) {
      this.host.emit({ kind: 'note', what: 'ambrosia.sm.resume-failed', detail: { previd } });
      this.writeTo(conn, [el('failed', { xmlns: ns.sm }, [el('item-not-found', { xmlns: ns.stanzas })])]);
      return;
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
    const stamped: XmlElement = { ...bareStanza(stanza), attrs: { ...bareStanza(stanza).attrs, from: c.jid ?? '' } };
    this.toService(registrationKey(from.domain, 'client'), stamped);
  }

  // ---- services ----

  private serviceEvent(conn: string, event: StreamEvent): void {
    const s = this.services.get(conn);
    if (!s) return;
    const state = s.session.getSnapshot().value;
    if (event.type === 'close') {
      s.session.send({ type: 'conn.closed' });
      this.host.emit({ kind: 'close', conn });
      return this.dropService(conn);
    }
    if (event.type === 'open') {
      if (state !== 'opening' || event.header.attrs.xmlns !== ns.service) {
        return this.fail(conn, 'invalid-namespace', `service streams use ${ns.service}`);
      }
      s.name = event.header.attrs.from ?? conn;
      s.session.send({ type: 'svc.header' });
      return;
    }
    const element = event.element;
    const name = localName(element);
    if (state === 'authenticating' && name === 'handshake') {
      const streamId = s.session.getSnapshot().context.streamId;
      const nonce = element.attrs.nonce ?? '';
      // With `services` configured, only a listed service may connect, with its own secret if it has one.
      const listed = this.config.services?.find((service) => service.name === s.name);
      const secret = listed?.secret ?? this.config.serviceSecret;
      const valid =
        (this.config.services === undefined || listed !== undefined) &&
        nonce !== '' &&
        textOf(element) === serviceProof('service', streamId, nonce, secret);
      s.session.send({
        type: 'svc.handshake',
        valid,
        proof: serviceProof('gateway', streamId, nonce, secret),
      });
      if (!valid) {
        this.host.emit({
          kind: 'reject',
          code: 'ambrosia.service.unauthenticated',
          reason: `service ${s.name} failed the handshake`,
        });
        return this.dropService(conn);
      }
      this.openChannel(conn, s);
      return;
    }
    if (state !== 'established') return this.fail(conn, 'not-authorized', `<${element.name}> before the handshake`);
    if (name === 'register') return this.register(conn, s, element);
    if (name === 'see-other-host-response') return this.seeOtherHostAnswer(conn, element);
    if (name === 'chunk') {
      const chunk = readChunk(element);
      if (!chunk) return this.fail(conn, 'bad-format', 'a <chunk> needs seq, index and last');
      s.channel?.send({ type: 'wire.chunk', chunk });
      return;
    }
    if (name === 'a' && element.ns === ns.sm) {
      const h = Number(element.attrs.h);
      if (!Number.isSafeInteger(h) || h < 0) return this.fail(conn, 'bad-format', '<a/> needs a counter h');
      s.channel?.send({ type: 'wire.ack', h });
      return;
    }
    if (name === 'r' && element.ns === ns.sm) {
      s.channel?.send({ type: 'wire.request' });
      return;
    }
    return this.fail(conn, 'unsupported-stanza-type', `<${element.name}> on a service channel`);
  }

  private openChannel(conn: string, s: ServiceConn): void {
    const channel = startActor(channelMachine, this.host, {
      name: `ambrosia.channel ${conn}`,
      input: {
        conn,
        chunkCharsMax: this.config.chunkCharsMax,
        ackTimeoutMs: this.config.ackTimeoutMs,
        retransmitsMax: this.config.retransmitsMax,
      },
    });
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
  }

  private register(conn: string, s: ServiceConn, element: XmlElement): void {
    const domain = element.attrs.domain ?? '';
    const type = element.attrs.type ?? '';
    if (domain === '' || (type !== 'client' && type !== 'server')) {
      this.writeTo(conn, [el('register-error', { domain, type }, [el('bad-request', { xmlns: ns.stanzas })])]);
      return;
    }
    const allowed = this.config.services?.find((service) => service.name === s.name)?.domains;
    if (this.config.services !== undefined && !allowed?.includes(domain)) {
      this.writeTo(conn, [el('register-error', { domain, type }, [el('not-allowed', { xmlns: ns.stanzas })])]);
      this.host.emit({
        kind: 'reject',
        code: 'ambrosia.service.domain-not-assigned',
        reason: `service ${s.name} may not register ${domain}`,
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

  private seeOtherHostAnswer(conn: string, element: XmlElement): void {
    const requestId = element.attrs.id ?? '';
    const c2sConn = this.seeOtherHost.get(requestId);
    if (!c2sConn || !requestId.startsWith(`${conn}|`)) return;
    this.seeOtherHost.delete(requestId);
    const c = this.c2s.get(c2sConn);
    if (!c || c.actor.getSnapshot().value !== 'checkingUser') return;
    const target = textOf(element).trim();
    if (target === '') return c.actor.send({ type: 'soh.none' });
    c.actor.send({ type: 'soh.found', host: target });
    this.dropC2s(c2sConn, 'end');
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
    this.s2sFor(to.domain, stanza);
  }

  private s2sFor(domain: string, stanza: XmlElement): void {
    let out = this.s2sOut.get(domain);
    const status = out?.actor.getSnapshot().status;
    if (!out || status !== 'active') {
      const conn = this.s2sIds.next();
      const from = parseJid(stanza.attrs.from)?.domain ?? this.host.hostName;
      const actor = startActor(s2sMachine, this.host, {
        name: `ambrosia.s2s ${domain}`,
        input: { conn, localDomain: from, remoteDomain: domain, port: this.config.ports.s2s },
      });
      actor.on('s2s.undelivered', (e) => {
        for (const s of e.stanzas) {
          this.host.emit({
            kind: 'reject',
            code: 'ambrosia.s2s.remote-server-not-found',
            reason: `${domain} is unreachable`,
            detail: { id: s.attrs.id, to: s.attrs.to },
          });
        }
      });
      out = { actor, parser: new XmlStreamParser(), domain };
      this.s2sOut.set(domain, out);
      this.s2sByConn.set(conn, out);
    }
    out.actor.send({ type: 's2s.send', stanza });
  }

  private dnsAnswer(answer: Extract<NodeInput, { kind: 'dns.answer' }>): void {
    const conn = answer.query.replace(/:(mx|a)$/, '');
    const out = this.s2sByConn.get(conn);
    if (!out) return;
    if (answer.type === 'MX') {
      const best = answer.status === 'ok' ? bestMx(answer.records) : undefined;
      out.actor.send({ type: 'dns.mx', host: best });
    } else if (answer.type === 'A') {
      out.actor.send({ type: 'dns.a', found: answer.status === 'ok' && answer.records.length > 0 });
    }
  }

  private s2sOutEvent(conn: string, event: StreamEvent): void {
    const out = this.s2sByConn.get(conn);
    if (!out) return;
    if (event.type === 'open') out.actor.send({ type: 's2s.header' });
    if (event.type === 'close') this.host.emit({ kind: 'close', conn });
    // The receiving server sends nothing else on our outgoing stream (RFC 6120 §4.1: streams are unidirectional).
  }

  private s2sInEvent(conn: string, event: StreamEvent): void {
    const s = this.s2sIn.get(conn);
    if (!s) return;
    if (event.type === 'open') {
      if (event.header.attrs.xmlns !== ns.server)
        return this.fail(conn, 'invalid-namespace', 's2s streams use jabber:server');
      s.from = event.header.attrs.from ?? '';
      const to = event.header.attrs.to ?? this.host.hostName;
      const text =
        writeStreamHeader(
          streamHeaderAttrs(ns.server, {
            from: to,
            to: s.from,
            id: `${this.host.id}.${this.host.random.uint32().toString(16)}`,
          }),
        ) + writeElement(el('stream:features'));
      s.headerSent = true;
      this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
      return;
    }
    if (event.type === 'close') {
      this.host.emit({ kind: 'write', conn, bytes: toBytes(streamClose), decoded: streamClose });
      this.host.emit({ kind: 'close', conn });
      this.s2sIn.delete(conn);
      return;
    }
    const stanza = event.element;
    if (!stanzaNames.has(stanza.name)) return this.fail(conn, 'unsupported-stanza-type', `<${stanza.name}> on s2s`);
    const from = parseJid(stanza.attrs.from);
    const to = parseJid(stanza.attrs.to);
    // Ours: with no s2s authentication, the stream's `from` is the only claim we can hold a stanza to.
    if (!from || from.domain !== s.from)
      return this.fail(conn, 'invalid-from', `stanza from ${stanza.attrs.from} on a stream from ${s.from}`);
    if (!to) {
      if (stanza.name === 'iq' && stanza.attrs.type !== 'error' && stanza.attrs.type !== 'result') {
        this.s2sFor(from.domain, stanzaErrorReply(bareStanza(stanza), 'service-unavailable'));
      }
      return;
    }
    this.toService(registrationKey(to.domain, 'server'), bareStanza(stanza));
  }
}

/** The host of the MX record with the lowest preference (RFC 5321 §5.1 order; ties keep answer order). */
export function bestMx(records: readonly string[]): string | undefined {
  let best: { pref: number; host: string } | undefined;
  for (const record of records) {
    const [prefText, host] = record.trim().split(/\s+/);
    const pref = Number(prefText);
    if (!host || !Number.isFinite(pref)) continue;
    if (!best || pref < best.pref) best = { pref, host: host.replace(/\.$/, '') };
  }
  return best?.host;
}

/** Decodes a SASL PLAIN message (RFC 4616): `[authzid] NUL authcid NUL passwd`, base64 per RFC 6120 §6.4.2. */
export function decodePlain(base64: string): { authzid: string; authcid: string; password: string } | undefined {
  const text = base64.trim();
  if (text === '' || text === '=' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'base64'));
  } catch {
    return undefined;
  }
  const parts = decoded.split('\u0000');
  if (parts.length !== 3) return undefined;
  const [authzid = '', authcidRaw = '', password = ''] = parts;
  // Clients such as @xmpp/client may put a bare JID as authcid; keep the local part.
  const authcid = authcidRaw.includes('@') ? (authcidRaw.split('@')[0] ?? '') : authcidRaw;
  if (authcid === '' || password === '') return undefined;
  return { authzid, authcid, password };
}
