/**
 * The gateway's server-to-server streams (spec.md §3 "s2s"): one outgoing stream per remote domain,
 * found through DNS (SRV, then MX, then A) and run by its statechart (../machines/s2s.ts), and the
 * incoming streams other servers open, whose stanzas go to the services registered for
 * `(domain, server)`. Streams are one-way (RFC 6120 §4.1).
 *
 * Server Dialback (XEP-0220) both ways: our outgoing streams send `<db:result>` with a key
 * (../dialback.ts) and wait for `type='valid'`; on an incoming stream a `<db:result>` key is checked
 * with the claimed domain's authoritative server over a verification stream (the same chart), and
 * only stanzas from domains verified on that stream are accepted; a `<db:verify>` that reaches us is
 * answered as the authoritative server.
 *
 * Must not: crash on peer input (bad XML gets the stream error, through the gateway's `fail`).
 */
import { IdSequence } from '../../../core/ids.js';
import { startActor, type MachineActor } from '../../../engine/actor.js';
import type { NodeHost, NodeInput } from '../../protocol.js';
import { ports, type GatewayConfig } from '../config.js';
import {
  dbResultError,
  dbResultType,
  dbVerifyType,
  derivedDialbackSecret,
  dialbackFeature,
  dialbackKeyValid,
  isDialback,
  srvTargets,
} from '../dialback.js';
import { s2sMachine, type DialbackOutcome } from '../machines/s2s.js';
import {
  bareStanza,
  child,
  el,
  localName,
  ns,
  parseJid,
  stanzaErrorReply,
  stanzaNames,
  streamClose,
  textOf,
  streamErrorElement,
  streamHeaderAttrs,
  toBytes,
  writeElement,
  writeStreamHeader,
  XmlStreamParser,
  type StreamCondition,
  type StreamEvent,
  type XmlElement,
} from '../wire.js';

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
  /** STARTTLS (RFC 6120 §5): `<proceed/>` is out and the handshake runs, or TLS is up. */
  tls: 'none' | 'handshaking' | 'up';
  /** The id of our response stream header, which the originating server's dialback key covers. */
  streamId: string;
  /** Domains dialback verified on this stream (XEP-0220 §2.4; several may share one stream). */
  readonly verified: Set<string>;
  /** Runs while the stream is inside an element and no byte came since (`progress`). */
  stallTimer?: unknown;
}

export interface S2sHandlers {
  /** A stanza that came over s2s for `domain`: to a service registered for `(domain, server)`. */
  readonly toService: (domain: string, stanza: XmlElement) => void;
  /** Ends a stream with a stream error (reported first; the stream itself is ended by `failIncoming`). */
  readonly fail: (conn: string, condition: StreamCondition, reason: string) => void;
  /** Whether this gateway serves `domain` (a dialback claim or verification for another one is refused). */
  readonly hosts: (domain: string) => boolean;
}

export class S2sStreams {
  private readonly incoming = new Map<string, S2sIn>();
  private readonly out = new Map<string, S2sOut>();
  private readonly byConn = new Map<string, S2sOut>();
  private readonly ids = new IdSequence('s2s');
  /** XEP-0185's secret: configured, or derived (../dialback.ts). */
  private readonly secret: string;

  constructor(
    private readonly host: NodeHost,
    private readonly config: GatewayConfig,
    private readonly handlers: S2sHandlers,
  ) {
    this.secret = this.config.dialbackSecret ?? derivedDialbackSecret(host.hostName, this.config.serviceSecret);
  }

  stop(): void {
    for (const s of this.out.values()) s.actor.stop();
    for (const s of this.incoming.values()) this.clearStall(s);
  }

  /**
   * After data on an incoming stream: one left inside an element with no further byte for
   * `s2sAnswerMs` is stuck on a damaged segment (a cut element swallows every later stanza, and
   * s2s has no acks to tell the sender), so it ends with `<bad-format/>` and the sender opens a new
   * stream for its next stanza (spec.md §3, ours, as the service channel's stall watch of §4.8).
   */
  progress(conn: string, pending: boolean): void {
    const s = this.incoming.get(conn);
    if (!s) return;
    this.clearStall(s);
    if (!pending) return;
    s.stallTimer = this.host.clock.setTimeout(() => {
      s.stallTimer = undefined;
      if (this.incoming.get(conn) !== s) return;
      this.handlers.fail(conn, 'bad-format', 'an element on the s2s stream never completes (a damaged segment)');
    }, this.config.s2sAnswerMs);
  }

  private clearStall(s: S2sIn): void {
    if (s.stallTimer !== undefined) this.host.clock.clearTimeout(s.stallTimer);
    s.stallTimer = undefined;
  }

  view(): unknown {
    return [...this.out.values()].map((s) => ({ domain: s.domain, state: s.actor.getSnapshot().value }));
  }

  /** Another server connected to the s2s port. */
  accepted(conn: string): void {
    this.incoming.set(conn, {
      parser: new XmlStreamParser(),
      from: '',
      headerSent: false,
      streamId: '',
      verified: new Set(),
      tls: 'none',
    });
  }

  parserOf(conn: string): XmlStreamParser | undefined {
    return this.incoming.get(conn)?.parser ?? this.byConn.get(conn)?.parser;
  }

  /** A parsed event on one of our s2s connections; false when `conn` is not one. */
  event(conn: string, event: StreamEvent): boolean {
    if (this.incoming.has(conn)) this.inEvent(conn, event);
    else if (this.byConn.has(conn)) this.outEvent(conn, event);
    else return false;
    return true;
  }

  /** A connection event for an outgoing stream (the machine ignores what does not concern it). */
  connEvent(conn: string, type: 'conn.opened' | 'conn.failed' | 'conn.closed'): void {
    this.byConn.get(conn)?.actor.send({ type });
  }

  /** The connection closed; true when it was one of ours. */
  closed(conn: string): boolean {
    const incoming = this.incoming.get(conn);
    if (incoming) {
      this.clearStall(incoming);
      this.incoming.delete(conn);
      return true;
    }
    const out = this.byConn.get(conn);
    if (out) out.actor.send({ type: 'conn.closed' });
    return out !== undefined;
  }

  /**
   * The stream error on an incoming stream (after our header if none went out, RFC 6120 §4.9.1.1),
   * then close. On an outgoing one (what the receiver sent us did not parse) the stream closes and
   * its chart ends, so that the next stanza for that domain opens a new stream.
   */
  failIncoming(conn: string, condition: StreamCondition): void {
    const out = this.byConn.get(conn);
    if (out) {
      const text = writeElement(streamErrorElement(condition)) + streamClose;
      this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
      this.host.emit({ kind: 'close', conn });
      out.actor.send({ type: 'conn.closed' });
      return;
    }
    const incoming = this.incoming.get(conn);
    if (!incoming || !this.incoming.delete(conn)) return;
    this.clearStall(incoming);
    const header = incoming.headerSent ? '' : writeStreamHeader(s2sHeaderAttrs({ from: this.host.hostName }));
    const text = header + writeElement(streamErrorElement(condition)) + streamClose;
    this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
    this.host.emit({ kind: 'close', conn });
  }

  /** A stanza for `domain`, on its outgoing stream (a new one if there is none, or it ended). */
  send(domain: string, stanza: XmlElement): void {
    let out = this.out.get(domain);
    const status = out?.actor.getSnapshot().status;
    if (!out || status !== 'active') {
      const from = parseJid(stanza.attrs.from)?.domain ?? this.host.hostName;
      out = this.startOut(domain, from);
      out.actor.on('s2s.undelivered', (e) => {
        for (const s of e.stanzas) {
          this.host.emit({
            kind: 'reject',
            code: 'ambrosia.s2s.remote-server-not-found',
            reason: e.reason,
            detail: { id: s.attrs.id, to: s.attrs.to },
          });
        }
      });
      this.out.set(domain, out);
    }
    out.actor.send({ type: 's2s.send', stanza });
  }

  /** The TLS handshake on an s2s connection is over: on success its stream restarts (RFC 6120 §5.4.3.3). */
  tlsDone(conn: string, ok: boolean, reason: string | undefined): void {
    const incoming = this.incoming.get(conn);
    const out = this.byConn.get(conn);
    if (!ok) {
      this.host.emit({
        kind: 'reject',
        code: 'ambrosia.tls.failed',
        reason: `TLS handshake failed: ${reason ?? 'unknown'}`,
        detail: { conn },
      });
    }
    if (incoming) {
      if (!ok) {
        this.incoming.delete(conn);
        return;
      }
      incoming.parser.restart();
      incoming.tls = 'up';
      incoming.headerSent = false;
    }
    if (out) {
      if (ok) out.parser.restart();
      out.actor.send({ type: 'tls.done', ok });
    }
  }

  /** An outgoing stream's chart: to send stanzas, or (with `verify`) to ask an authoritative server. */
  private startOut(domain: string, from: string, verify?: { id: string; key: string }): S2sOut {
    const conn = this.ids.next();
    const actor = startActor(s2sMachine, this.host, {
      // A verification stream is named apart from the outgoing stream to the same domain, which
      // may run at the same time: the trace and statechart coverage tell the two charts apart.
      name: `ambrosia.s2s ${domain}${verify ? ' verify' : ''}`,
      input: {
        conn,
        localDomain: from,
        remoteDomain: domain,
        // RFC 6120 §3.2.2: without SRV, the registered port (not our own listener's, which may differ).
        port: ports.s2s,
        secret: this.secret,
        tls: this.config.tls,
        answerMs: this.config.s2sAnswerMs,
        ...(verify ? { verify } : {}),
      },
    });
    const out: S2sOut = { actor, parser: new XmlStreamParser(), domain };
    this.byConn.set(conn, out);
    // A further SRV target is a new connection of the same stream (RFC 6120 §3.2.1).
    actor.on('s2s.conn', (e) => this.byConn.set(e.conn, { ...out, parser: new XmlStreamParser() }));
    return out;
  }

  dnsAnswer(answer: Extract<NodeInput, { kind: 'dns.answer' }>): void {
    const conn = answer.query.replace(/:(srv|mx|a)$/, '');
    const out = this.byConn.get(conn);
    if (!out) return;
    const ok = answer.status === 'ok';
    if (answer.type === 'SRV') {
      out.actor.send({ type: 'dns.srv', targets: ok ? srvTargets(answer.records) : [] });
    } else if (answer.type === 'MX') {
      out.actor.send({ type: 'dns.mx', host: ok ? bestMx(answer.records) : undefined });
    } else if (answer.type === 'A') {
      out.actor.send({ type: 'dns.a', found: ok && answer.records.length > 0 });
    }
  }

  private outEvent(conn: string, event: StreamEvent): void {
    const out = this.byConn.get(conn);
    if (!out) return;
    if (event.type === 'open') return out.actor.send({ type: 's2s.header', id: event.header.attrs.id ?? '' });
    // The receiving server closed the stream (after a stream error, say): our side closes too, and
    // the stream's chart ends, so that the next stanza for the domain opens a new stream (before,
    // the chart waited on a connection that was gone and held every later stanza for good).
    if (event.type === 'close') {
      this.host.emit({ kind: 'close', conn });
      out.actor.send({ type: 'conn.closed' });
      return;
    }
    // The receiving server sends only stream-level elements on our outgoing stream (RFC 6120 §4.1: streams
    // are one-way): its features, its STARTTLS answers (§5.4.2), the dialback answers, a stream error (then the close).
    const element = event.element;
    if (element.ns === ns.stream && localName(element) === 'features')
      return out.actor.send({ type: 's2s.features', starttls: child(element, 'starttls')?.ns === ns.tls });
    if (element.ns === ns.tls && localName(element) === 'proceed') return out.actor.send({ type: 's2s.proceed' });
    if (element.ns === ns.tls && localName(element) === 'failure') return out.actor.send({ type: 's2s.tls-refused' });
    if (isDialback(element, 'result')) {
      const type = element.attrs.type;
      const outcome: DialbackOutcome = type === 'valid' ? 'valid' : type === 'invalid' ? 'invalid' : 'error';
      return out.actor.send({ type: 'db.result', outcome });
    }
    if (isDialback(element, 'verify') && (element.attrs.type === 'valid' || element.attrs.type === 'invalid'))
      return out.actor.send({ type: 'db.verify', outcome: element.attrs.type });
  }

  private inEvent(conn: string, event: StreamEvent): void {
    const s = this.incoming.get(conn);
    if (!s) return;
    if (event.type === 'open') {
      if (event.header.attrs.xmlns !== ns.server)
        return this.handlers.fail(conn, 'invalid-namespace', 's2s streams use jabber:server');
      s.from = event.header.attrs.from ?? '';
      s.streamId = `${this.host.id}.${this.host.random.uint32().toString(16)}`;
      const to = event.header.attrs.to ?? this.host.hostName;
      const text =
        writeStreamHeader(s2sHeaderAttrs({ from: to, to: s.from, id: s.streamId })) +
        writeElement(el('stream:features', {}, [...this.tlsFeature(s), dialbackFeature()]));
      s.headerSent = true;
      this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
      return;
    }
    if (event.type === 'close') {
      this.host.emit({ kind: 'write', conn, bytes: toBytes(streamClose), decoded: streamClose });
      this.host.emit({ kind: 'close', conn });
      this.incoming.delete(conn);
      return;
    }
    const stanza = event.element;
    if (stanza.ns === ns.tls && localName(stanza) === 'starttls') return this.startTls(conn, s);
    // RFC 6120 §5.3.1: where TLS is mandatory, nothing goes over the stream before it.
    if (this.config.tls === 'required' && s.tls !== 'up')
      return this.handlers.fail(conn, 'policy-violation', `<${stanza.name}> before STARTTLS on s2s`);
    if (isDialback(stanza, 'result')) return this.dialbackResult(conn, s, stanza);
    if (isDialback(stanza, 'verify')) return this.dialbackVerify(conn, stanza);
    if (!stanzaNames.has(stanza.name))
      return this.handlers.fail(conn, 'unsupported-stanza-type', `<${stanza.name}> on s2s`);
    // XEP-0220 §2.4: only stanzas from a domain dialback verified on this stream.
    if (s.verified.size === 0)
      return this.handlers.fail(conn, 'not-authorized', `a stanza on an s2s stream no domain has verified yet`);
    const from = parseJid(stanza.attrs.from);
    const to = parseJid(stanza.attrs.to);
    if (!from || !s.verified.has(from.domain))
      return this.handlers.fail(
        conn,
        'invalid-from',
        `stanza from ${stanza.attrs.from} on a stream verified for ${[...s.verified].join(', ')}`,
      );
    if (!to) {
      if (stanza.name === 'iq' && stanza.attrs.type !== 'error' && stanza.attrs.type !== 'result') {
        this.send(from.domain, stanzaErrorReply(bareStanza(stanza), 'service-unavailable'));
      }
      return;
    }
    this.handlers.toService(to.domain, bareStanza(stanza));
  }

  /** STARTTLS in an incoming stream's features, where TLS is on and not up yet (RFC 6120 §5.3.1). */
  private tlsFeature(s: S2sIn): XmlElement[] {
    if (this.config.tls === 'off' || s.tls === 'up') return [];
    return [el('starttls', { xmlns: ns.tls }, this.config.tls === 'required' ? [el('required')] : [])];
  }

  /** `<starttls/>`: `<proceed/>` and the handshake where offered, else `<failure/>` and the end (RFC 6120 §5.4.2). */
  private startTls(conn: string, s: S2sIn): void {
    if (this.config.tls === 'off' || s.tls !== 'none') {
      const text = writeElement(el('failure', { xmlns: ns.tls })) + streamClose;
      this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
      this.host.emit({ kind: 'close', conn });
      this.incoming.delete(conn);
      return;
    }
    const text = writeElement(el('proceed', { xmlns: ns.tls }));
    this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
    s.tls = 'handshaking';
    this.host.emit({ kind: 'tls.start', conn, role: 'server' });
  }

  /**
   * XEP-0220 §2.1-2.4, as the receiving server: an originating server claims `from` with a key; its
   * authoritative server (found through DNS like any s2s peer) says whether the key is its own.
   */
  private dialbackResult(conn: string, s: S2sIn, element: XmlElement): void {
    const from = element.attrs.from ?? '';
    const to = element.attrs.to ?? '';
    if (element.attrs.type !== undefined) return; // An answer is never sent to a receiving server.
    if (!this.handlers.hosts(to))
      return this.handlers.fail(conn, 'host-unknown', `dialback for ${to}, not served here`);
    if (parseJid(from)?.domain !== from || from === '')
      return this.handlers.fail(conn, 'invalid-from', `dialback claims '${from}', not a domain`);
    const verifier = this.startOut(from, to, { id: s.streamId, key: textOf(element) });
    verifier.actor.on('s2s.verified', (e) => {
      if (this.incoming.get(conn) !== s) return;
      if (e.outcome === 'error') {
        this.host.emit({ kind: 'note', what: 'ambrosia.dialback.error', detail: { from, to } });
        return this.writeIn(conn, [dbResultError(to, from)]);
      }
      this.writeIn(conn, [dbResultType(to, from, e.outcome)]);
      this.host.emit({ kind: 'note', what: `ambrosia.dialback.${e.outcome}`, detail: { from, to } });
      if (e.outcome === 'valid') {
        s.verified.add(from);
        return;
      }
      this.handlers.fail(conn, 'not-authorized', `${from}'s authoritative server refused the dialback key`);
    });
  }

  /** XEP-0220 §2.3, as the authoritative server: is this the key we gave for that stream? */
  private dialbackVerify(conn: string, element: XmlElement): void {
    const from = element.attrs.from ?? '';
    const to = element.attrs.to ?? '';
    const id = element.attrs.id ?? '';
    if (element.attrs.type !== undefined) return;
    const valid = this.handlers.hosts(to) && dialbackKeyValid(this.secret, from, to, id, textOf(element));
    this.writeIn(conn, [dbVerifyType(to, from, id, valid ? 'valid' : 'invalid')]);
  }

  private writeIn(conn: string, elements: readonly XmlElement[]): void {
    const text = elements.map(writeElement).join('');
    this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
  }
}

/** An s2s stream header: jabber:server, with the dialback prefix declared (XEP-0220 §2.1). */
export function s2sHeaderAttrs(fields: { from?: string; to?: string; id?: string }): Record<string, string> {
  return { ...streamHeaderAttrs(ns.server, fields), 'xmlns:db': ns.dialback };
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
