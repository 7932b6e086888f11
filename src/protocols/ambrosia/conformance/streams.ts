/**
 * What the Ambrosia cases speak with: an XML stream over a Peer connection (`XmlConn`, read with
 * Ambrosia's own parser), an IM service on the service channel (`Service`, with the channel's chunk
 * helpers), and the login and stream openings the cases share.
 *
 * Must not: read a clock (waits go through the Peer).
 */
import { type Conn, type Listener, type Peer, type Reader } from '../../../conformance/peer.js';
import { CaseVerdict, fail, unimplemented } from '../../../conformance/types.js';
import {
  child,
  type Chunk,
  chunkElements,
  el,
  localName,
  ns,
  parseStanzaText,
  readChunk,
  serviceProof,
  type StreamEvent,
  streamHeaderAttrs,
  textOf,
  writeElement,
  writeStreamHeader,
  type XmlElement,
  XmlStreamParser,
} from '../wire.js';
import { chunkCharsMax, peerHost, secret, target } from './fixture.js';

// ---------------------------------------------------------------------------------------------------
// Streams.

export type Next = { readonly ok: true; readonly event: StreamEvent } | { readonly ok: false; readonly actual: string };

export function show(event: StreamEvent): string {
  if (event.type === 'open') return writeStreamHeader(event.header.attrs).replace(/^<\?xml[^>]*>/, '');
  if (event.type === 'close') return '</stream:stream>';
  return writeElement(event.element);
}

/**
 * One XML stream the peer reads from the target, parsed incrementally by wire.ts. The Reader it hands to
 * `Conn.expect` feeds the parser only bytes it has not fed yet, and shows each event as XML in the exchange.
 */
export class XmlConn {
  private readonly parser = new XmlStreamParser();
  private readonly queue: StreamEvent[] = [];
  private fed = 0;
  private current: StreamEvent | undefined;

  constructor(
    readonly conn: Conn,
    private readonly peer: Peer,
  ) {}

  get answerMs(): number {
    return this.peer.answerMs;
  }

  private readonly reader: Reader<string> = (bytes) => {
    if (this.queue.length === 0 && bytes.length > this.fed) {
      const pushed = this.parser.push(bytes.subarray(this.fed));
      this.fed = bytes.length;
      if (!pushed.ok) {
        const text = new TextDecoder().decode(bytes).slice(0, 300);
        return { kind: 'error', message: `not XML the peer can read (${pushed.error.message}): ${text}` };
      }
      this.queue.push(...pushed.value);
    }
    const next = this.queue.shift();
    if (!next) return { kind: 'more' };
    const used = this.fed;
    this.fed = 0;
    this.current = next;
    return { kind: 'value', value: show(next), used };
  };

  send(data: string | Uint8Array): Promise<void> {
    return this.conn.send(data);
  }

  /** After `<success/>` (RFC 6120 §4.3.3) the target's next bytes are a new stream document. */
  restart(): void {
    this.parser.restart();
  }

  async next(timeoutMs: number = this.peer.answerMs): Promise<Next> {
    const got = await this.conn.expect(this.reader, { timeoutMs });
    if (got.ok && this.current) return { ok: true, event: this.current };
    return { ok: false, actual: got.ok ? 'nothing' : `${got.reason}: ${got.message}` };
  }

  /** The next event must be an element `check` accepts; fails the case otherwise. */
  async element(what: string, expected: string, check: (e: XmlElement) => boolean): Promise<XmlElement> {
    const next = await this.next();
    if (!next.ok) fail(what, expected, next.actual);
    if (next.event.type !== 'element' || !check(next.event.element)) fail(what, expected, show(next.event));
    return next.event.element;
  }

  /** The next event must be a stream header (of `xmlns`); returns its attributes. */
  async header(what: string, xmlns: string): Promise<Readonly<Record<string, string>>> {
    const next = await this.next();
    const expected = `a stream header in ${xmlns}`;
    if (!next.ok) fail(what, expected, next.actual);
    if (next.event.type !== 'open' || next.event.header.attrs.xmlns !== xmlns) fail(what, expected, show(next.event));
    return next.event.header.attrs;
  }

  /** A stream error with `condition` (RFC 6120 §4.9), the stream's end, and the connection closed. */
  async streamError(condition: string, what: string, headerFirst = false): Promise<XmlElement> {
    return this.streamErrorOf(
      what,
      `<stream:error><${condition}/></stream:error>`,
      (e) => child(e, condition)?.ns === ns.streams,
      headerFirst,
    );
  }

  /** A stream error whose condition `check` accepts, the stream's end, and the connection closed. */
  async streamErrorOf(
    what: string,
    expected: string,
    check: (error: XmlElement) => boolean,
    headerFirst = false,
  ): Promise<XmlElement> {
    if (headerFirst) await this.header(`${what}: no stream header before the stream error`, ns.client);
    const error = await this.element(what, expected, (e) => e.name === 'stream:error' && check(e));
    const end = await this.next();
    if (!end.ok || end.event.type !== 'close')
      fail(`${what}: the stream did not end`, '</stream:stream>', end.ok ? show(end.event) : end.actual);
    if (!(await this.conn.expectClosed({ timeoutMs: this.peer.answerMs })))
      fail(`${what}: the connection stayed open`, 'the target closes', 'still open');
    return error;
  }

  /** Nothing may arrive for `ms` (a timeout is the pass). */
  async quiet(ms: number, what: string): Promise<void> {
    const next = await this.next(ms);
    if (next.ok) fail(what, `nothing within ${ms} ms`, show(next.event));
  }
}

export async function connect(peer: Peer): Promise<XmlConn> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', 'a TCP connection', 'refused or timed out');
  return new XmlConn(conn, peer);
}

/** The service and s2s streams reach the gateway only through the testbed's one-port wrapper (./target.ts). */
export function needsAllPorts(peer: Peer): void {
  if (!peer.control)
    unimplemented('needs the gateway’s service or s2s port; an external target is reached on its c2s port only');
}

export const header = (xmlns: string, fields: { from?: string; to?: string; id?: string }) =>
  writeStreamHeader(streamHeaderAttrs(xmlns, fields));

/** The defined condition of a `<stream:error>` (RFC 6120 §4.9.3), or undefined. */
export function streamCondition(error: XmlElement): string | undefined {
  const condition = error.children.find((c): c is XmlElement => typeof c !== 'string' && c.ns === ns.streams);
  return condition === undefined ? undefined : localName(condition);
}

/** Ends the case NON-STRICT: the target keeps the rule's MUST but not its SHOULD. */
export function missedShould(message: string, expected: string, actual: string): never {
  throw new CaseVerdict('NON-STRICT', message, expected, actual);
}

export const plain = (user: string, password: string) =>
  Buffer.from(`\u0000${user}\u0000${password}`, 'utf8').toString('base64');

export const auth = (user: string, password: string) =>
  writeElement(el('auth', { xmlns: ns.sasl, mechanism: 'PLAIN' }, [plain(user, password)]));

export const isSuccess = (e: XmlElement) => localName(e) === 'success' && e.ns === ns.sasl;
export const isNotAuthorized = (e: XmlElement) =>
  localName(e) === 'failure' && e.ns === ns.sasl && child(e, 'not-authorized') !== undefined;

export function message(to: string, body: string, attrs: Record<string, string> = {}): XmlElement {
  return el('message', { to, type: 'chat', ...attrs }, [el('body', {}, [body])]);
}

export const bodyOf = (e: XmlElement) => textOf(child(e, 'body'));

/** Opens a c2s stream to `domain`; returns it after the header and the features. */
export async function openClient(peer: Peer, domain = target): Promise<{ x: XmlConn; features: XmlElement }> {
  const x = await connect(peer);
  await x.send(header(ns.client, { to: domain }));
  await x.header('no c2s stream header', ns.client);
  const features = await x.element('no stream features', '<stream:features>', (e) => e.name === 'stream:features');
  return { x, features };
}

/** Features that offer any SASL mechanism: the domain is served (RFC 6120 §6.3.3). */
export const offersSasl = (features: XmlElement) =>
  (child(features, 'mechanisms')?.children ?? []).some((m) => typeof m !== 'string');

export const offersPlain = (features: XmlElement) =>
  (child(features, 'mechanisms')?.children ?? []).some((m) => typeof m !== 'string' && textOf(m) === 'PLAIN');

/** Logs in with SASL PLAIN, restarts the stream and binds `resource` (RFC 6120 §6, §7); returns the bound stream. */
export async function login(peer: Peer, user: string, password: string, resource = 'conf'): Promise<XmlConn> {
  const { x } = await openClient(peer);
  await x.send(auth(user, password));
  await x.element(`${user} could not log in`, '<success/>', isSuccess);
  x.restart();
  await x.send(header(ns.client, { to: target }));
  await x.header('no stream header after the restart', ns.client);
  await x.element('no bind feature after the restart', '<stream:features><bind/>', (e) => !!child(e, 'bind'));
  await x.send(
    writeElement(
      el('iq', { type: 'set', id: 'b1' }, [el('bind', { xmlns: ns.bind }, [el('resource', {}, [resource])])]),
    ),
  );
  const jid = `${user}@${target}/${resource}`;
  await x.element(
    'the bind was not answered with the full JID',
    `<iq type='result' id='b1'><bind><jid>${jid}</jid></bind></iq>`,
    (e) => e.name === 'iq' && e.attrs.type === 'result' && textOf(child(child(e, 'bind') ?? el('x'), 'jid')) === jid,
  );
  return x;
}

/** A received stanza of the service channel, with the chunks it came in. */
export interface Received {
  readonly seq: number;
  readonly stanza: XmlElement;
  readonly chunks: readonly Chunk[];
}

/** The peer as an IM service on the gateway's service channel (spec.md §4). */
export class Service {
  /** The seq of the last stanza the service sent. */
  outSeq = 0;
  /** Acks the gateway sent (`h` values), in order. */
  readonly acks: number[] = [];

  constructor(
    readonly x: XmlConn,
    readonly streamId: string,
  ) {}

  /** Sends `stanza` as seq `seq` (default: the next one), chunked as spec.md §4.4 says. */
  async send(stanza: XmlElement, seq = ++this.outSeq): Promise<void> {
    await this.x.send(chunkElements(seq, stanza, chunkCharsMax).map(writeElement).join(''));
  }

  ack(h: number): Promise<void> {
    return this.x.send(writeElement(el('a', { xmlns: ns.sm, h: String(h) })));
  }

  /** The next control element (not a chunk, not an ack). */
  async control(what: string, expected: string, check: (e: XmlElement) => boolean): Promise<XmlElement> {
    for (;;) {
      const e = await this.x.element(what, expected, () => true);
      if (localName(e) === 'a' && e.ns === ns.sm) {
        this.acks.push(Number(e.attrs.h));
        continue;
      }
      if (!check(e)) fail(what, expected, writeElement(e));
      return e;
    }
  }

  /** The next ack `<a h/>`, skipping nothing else. */
  async ackOf(what: string, h: number): Promise<void> {
    const e = await this.x.element(what, `<a xmlns='${ns.sm}' h='${h}'/>`, (a) => localName(a) === 'a');
    this.acks.push(Number(e.attrs.h));
    if (Number(e.attrs.h) !== h) fail(what, `h='${h}'`, writeElement(e));
  }

  /** Every ack that comes until `ms` pass without one (a re-ack comes for each chunk dropped); each must be `h`. */
  async acksUntilQuiet(what: string, h: number, ms: number): Promise<void> {
    const seen: string[] = [];
    for (;;) {
      const next = await this.x.next(seen.length === 0 ? this.x.answerMs : ms);
      if (!next.ok) break;
      const e = next.event.type === 'element' ? next.event.element : undefined;
      if (!e || localName(e) !== 'a' || e.ns !== ns.sm) fail(what, `<a h='${h}'/> only`, show(next.event));
      seen.push(e.attrs.h ?? '');
      this.acks.push(Number(e.attrs.h));
    }
    if (seen.length === 0 || seen.some((v) => v !== String(h))) fail(what, `<a h='${h}'/>`, seen.join(', ') || 'none');
  }

  /** Reads the chunks of the next stanza (acks and `<r/>` in between are noted and skipped). */
  async stanza(what: string, timeoutMs?: number): Promise<Received> {
    const chunks: Chunk[] = [];
    for (;;) {
      const next = await this.x.next(timeoutMs);
      if (!next.ok) fail(what, 'a <chunk> of a stanza', next.actual);
      if (next.event.type !== 'element') fail(what, 'a <chunk> of a stanza', show(next.event));
      const e = next.event.element;
      if (localName(e) === 'a' && e.ns === ns.sm) {
        this.acks.push(Number(e.attrs.h));
        continue;
      }
      if (localName(e) === 'r' && e.ns === ns.sm) continue;
      const chunk = localName(e) === 'chunk' ? readChunk(e) : undefined;
      if (!chunk) fail(what, 'a <chunk seq index last>', writeElement(e));
      chunks.push(chunk);
      if (!chunk.last) continue;
      const seq = chunks[0]?.seq ?? 0;
      const text = chunks.map((c) => c.text).join('');
      if (chunks.some((c, i) => c.seq !== seq || c.index !== i))
        fail(`${what}: the chunks are not one stanza in order`, 'one seq, index 0, 1, …', JSON.stringify(chunks));
      const stanza = parseStanzaText(text);
      if (!stanza) fail(`${what}: the chunks do not join into one stanza`, 'one stanza', text);
      return { seq, stanza, chunks };
    }
  }

  /** Reads the next stanza and acks it. */
  async take(what: string): Promise<Received> {
    const got = await this.stanza(what);
    await this.ack(got.seq);
    return got;
  }
}

/** Opens the service channel as `name` (spec.md §4.1–4.2) and registers each pair (§4.3). */
export async function openService(
  peer: Peer,
  name: string,
  registrations: readonly (readonly [string, 'client' | 'server'])[],
): Promise<Service> {
  needsAllPorts(peer);
  const x = await connect(peer);
  await x.send(header(ns.service, { from: name, to: target }));
  const attrs = await x.header('no service stream header', ns.service);
  const streamId = attrs.id ?? '';
  await x.element('no stream features', '<stream:features/>', (e) => e.name === 'stream:features');
  const nonce = `n-${name}`;
  await x.send(writeElement(el('handshake', { nonce }, [serviceProof('service', streamId, nonce, secret)])));
  const proof = serviceProof('gateway', streamId, nonce, secret);
  await x.element(
    'the gateway did not prove that it knows the secret',
    `<handshake>${proof}</handshake>`,
    (e) => localName(e) === 'handshake' && textOf(e) === proof,
  );
  const service = new Service(x, streamId);
  for (const [domain, type] of registrations) {
    await x.send(writeElement(el('register', { domain, type })));
    await service.control(
      `the registration of (${domain}, ${type}) was not confirmed`,
      `<registered domain='${domain}' type='${type}'/>`,
      (e) => localName(e) === 'registered' && e.attrs.domain === domain && e.attrs.type === type,
    );
  }
  return service;
}

/** Opens an s2s stream from `from` (RFC 6120 §4; spec.md §3 s2s). */
/** An s2s stream header that declares the dialback prefix (XEP-0220 §2.1). */
export const s2sHeader = (fields: { from?: string; to?: string; id?: string }) =>
  writeStreamHeader({ ...streamHeaderAttrs(ns.server, fields), 'xmlns:db': ns.dialback });

/** The key the peer claims peer.test with; its authoritative server (the peer again) says it is valid. */
const peerKey = 'peer-dialback-key';

/** The peer's listener on peer.test:5269, one per case (the gateway's dialback verifications come here). */
const authoritative = new WeakMap<Peer, Promise<Listener>>();

function authoritativeListener(peer: Peer): Promise<Listener> {
  let listener = authoritative.get(peer);
  if (!listener) {
    listener = peer.listen(5269);
    authoritative.set(peer, listener);
  }
  return listener;
}

/**
 * An s2s stream to the gateway from peer.test, authenticated with Server Dialback (XEP-0220): the
 * peer sends `<db:result>` with its key, answers the gateway's `<db:verify>` on peer.test:5269 as the
 * authoritative server, and returns the stream once the gateway says `type='valid'`.
 */
export async function openServer(peer: Peer): Promise<XmlConn> {
  needsAllPorts(peer);
  const listener = await authoritativeListener(peer);
  const x = await connect(peer);
  await x.send(s2sHeader({ from: peerHost, to: target }));
  const attrs = await x.header('no s2s stream header', ns.server);
  const features = await x.element('no stream features', '<stream:features>', (e) => e.name === 'stream:features');
  if (!child(features, 'dialback'))
    fail(
      'the s2s features do not offer dialback',
      "<dialback xmlns='urn:xmpp:features:dialback'/>",
      show({ type: 'element', element: features }),
    );
  await x.send(writeElement(el('db:result', { from: peerHost, to: target }, [peerKey])));
  const conn = await listener.accept({ timeoutMs: peer.answerMs });
  if (!conn) fail('the gateway did not verify the dialback key', `a connection to ${peerHost}:5269`, 'none');
  const verifier = new XmlConn(conn, peer);
  await verifier.header('no stream header on the verification stream', ns.server);
  await verifier.send(s2sHeader({ from: peerHost, to: target, id: 'verify-1' }) + '<stream:features/>');
  const verify = await verifier.element('no <db:verify> on the verification stream', '<db:verify>', (e) =>
    isDialbackElement(e, 'verify'),
  );
  if (verify.attrs.id !== attrs.id || textOf(verify) !== peerKey || verify.attrs.to !== peerHost)
    fail(
      '<db:verify> does not carry the stream id and key',
      `<db:verify from='${target}' to='${peerHost}' id='${attrs.id}'>${peerKey}</db:verify>`,
      writeElement(verify),
    );
  await verifier.send(writeElement(el('db:verify', { from: peerHost, to: target, id: attrs.id ?? '', type: 'valid' })));
  await x.element(
    'dialback was not accepted',
    `<db:result from='${target}' to='${peerHost}' type='valid'/>`,
    (e) => isDialbackElement(e, 'result') && e.attrs.type === 'valid',
  );
  return x;
}

export const isDialbackElement = (e: XmlElement, local: 'result' | 'verify') =>
  e.ns === ns.dialback && localName(e) === local;

/** The next stanza on a c2s stream must be a message with `body`; returns it. */
export function expectMessage(x: XmlConn, body: string, what: string): Promise<XmlElement> {
  return x.element(what, `<message><body>${body}</body></message>`, (e) => e.name === 'message' && bodyOf(e) === body);
}
