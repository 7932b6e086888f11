/**
 * The gateway's server-to-server streams (spec.md §3 "s2s"): one outgoing stream per remote domain,
 * found through DNS (MX, then A) and run by its statechart (../machines/s2s.ts), and the incoming
 * streams other servers open, whose stanzas go to the services registered for `(domain, server)`.
 * Streams are one-way (RFC 6120 §4.1). No s2s authentication (ours, a known gap): a stanza's `from`
 * domain must be the one its stream's header named.
 *
 * Must not: crash on peer input (bad XML gets the stream error, through the gateway's `fail`).
 */
import { IdSequence } from '../../../core/ids.js';
import { startActor, type MachineActor } from '../../../engine/actor.js';
import type { NodeHost, NodeInput } from '../../protocol.js';
import type { GatewayConfig } from '../config.js';
import { s2sMachine } from '../machines/s2s.js';
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
}

export interface S2sHandlers {
  /** A stanza that came over s2s for `domain`: to a service registered for `(domain, server)`. */
  readonly toService: (domain: string, stanza: XmlElement) => void;
  /** Ends a stream with a stream error (reported first; the stream itself is ended by `failIncoming`). */
  readonly fail: (conn: string, condition: StreamCondition, reason: string) => void;
}

export class S2sStreams {
  private readonly incoming = new Map<string, S2sIn>();
  private readonly out = new Map<string, S2sOut>();
  private readonly byConn = new Map<string, S2sOut>();
  private readonly ids = new IdSequence('s2s');

  constructor(
    private readonly host: NodeHost,
    private readonly config: GatewayConfig,
    private readonly handlers: S2sHandlers,
  ) {}

  stop(): void {
    for (const s of this.out.values()) s.actor.stop();
  }

  view(): unknown {
    return [...this.out.values()].map((s) => ({ domain: s.domain, state: s.actor.getSnapshot().value }));
  }

  /** Another server connected to the s2s port. */
  accepted(conn: string): void {
    this.incoming.set(conn, { parser: new XmlStreamParser(), from: '', headerSent: false, tls: 'none' });
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
    if (this.incoming.delete(conn)) return true;
    const out = this.byConn.get(conn);
    if (out) out.actor.send({ type: 'conn.closed' });
    return out !== undefined;
  }

  /** The stream error on an incoming stream (after our header if none went out, RFC 6120 §4.9.1.1), then close. */
  failIncoming(conn: string, condition: StreamCondition): void {
    const incoming = this.incoming.get(conn);
    if (!incoming || !this.incoming.delete(conn)) return;
    const header = incoming.headerSent
      ? ''
      : writeStreamHeader(streamHeaderAttrs(ns.server, { from: this.host.hostName }));
    const text = header + writeElement(streamErrorElement(condition)) + streamClose;
    this.host.emit({ kind: 'write', conn, bytes: toBytes(text), decoded: text });
    this.host.emit({ kind: 'close', conn });
  }

  /** A stanza for `domain`, on its outgoing stream (a new one if there is none, or it ended). */
  send(domain: string, stanza: XmlElement): void {
    let out = this.out.get(domain);
    const status = out?.actor.getSnapshot().status;
    if (!out || status !== 'active') {
      const conn = this.ids.next();
      const from = parseJid(stanza.attrs.from)?.domain ?? this.host.hostName;
      const actor = startActor(s2sMachine, this.host, {
        name: `ambrosia.s2s ${domain}`,
        input: { conn, localDomain: from, remoteDomain: domain, port: this.config.ports.s2s, tls: this.config.tls },
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
      this.out.set(domain, out);
      this.byConn.set(conn, out);
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

  dnsAnswer(answer: Extract<NodeInput, { kind: 'dns.answer' }>): void {
    const conn = answer.query.replace(/:(mx|a)$/, '');
    const out = this.byConn.get(conn);
    if (!out) return;
    if (answer.type === 'MX') {
      const best = answer.status === 'ok' ? bestMx(answer.records) : undefined;
      out.actor.send({ type: 'dns.mx', host: best });
    } else if (answer.type === 'A') {
      out.actor.send({ type: 'dns.a', found: answer.status === 'ok' && answer.records.length > 0 });
    }
  }

  private outEvent(conn: string, event: StreamEvent): void {
    const out = this.byConn.get(conn);
    if (!out) return;
    if (event.type === 'open') out.actor.send({ type: 's2s.header' });
    if (event.type === 'close') this.host.emit({ kind: 'close', conn });
    if (event.type !== 'element') return;
    const element = event.element;
    // The receiver's features and its STARTTLS answers (RFC 6120 §4.3.2, §5.4.2); a TLS-off stream ignores them.
    if (element.ns === ns.stream && localName(element) === 'features') {
      out.actor.send({ type: 's2s.features', starttls: child(element, 'starttls')?.ns === ns.tls });
    } else if (element.ns === ns.tls && localName(element) === 'proceed') out.actor.send({ type: 's2s.proceed' });
    else if (element.ns === ns.tls && localName(element) === 'failure') out.actor.send({ type: 's2s.tls-refused' });
    // The receiving server sends nothing else on our outgoing stream (RFC 6120 §4.1: streams are unidirectional).
  }

  private inEvent(conn: string, event: StreamEvent): void {
    const s = this.incoming.get(conn);
    if (!s) return;
    if (event.type === 'open') {
      if (event.header.attrs.xmlns !== ns.server)
        return this.handlers.fail(conn, 'invalid-namespace', 's2s streams use jabber:server');
      s.from = event.header.attrs.from ?? '';
      const to = event.header.attrs.to ?? this.host.hostName;
      const text =
        writeStreamHeader(
          streamHeaderAttrs(ns.server, {
            from: to,
            to: s.from,
            id: `${this.host.id}.${this.host.random.uint32().toString(16)}`,
          }),
        ) + writeElement(el('stream:features', {}, this.tlsFeature(s)));
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
    if (!stanzaNames.has(stanza.name))
      return this.handlers.fail(conn, 'unsupported-stanza-type', `<${stanza.name}> on s2s`);
    const from = parseJid(stanza.attrs.from);
    const to = parseJid(stanza.attrs.to);
    // Ours: with no s2s authentication, the stream's `from` is the only claim we can hold a stanza to.
    if (!from || from.domain !== s.from)
      return this.handlers.fail(conn, 'invalid-from', `stanza from ${stanza.attrs.from} on a stream from ${s.from}`);
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
