/**
 * The Ambrosia conformance suite (src/protocols/ambrosia/spec.md): cases that log in to the gateway as
 * XMPP clients (c2s), connect to it as a remote server (s2s) and as IM services (the service channel),
 * send it bad XML, and serve it as the remote domain it connects out to. Every case quotes the rule it
 * checks with its section; streams are read with Ambrosia's own wire.ts parser and the channel's chunk
 * helpers (channel.ts), and stanzas are written with its writer.
 *
 * The target must be configured like `fixtures.main` (docs/conformance.md): gateway b.test with accounts
 * bob@b.test (pb) and carol@b.test (pc), service secret `ambrosia`, chunkCharsMax 64, ackTimeoutMs 300,
 * seeOtherHostTimeoutMs 1000; `peer.test` resolves to the peer (A), `far.test` has MX 10 peer.test.
 * The testbed's targets run the gateway behind a one-port wrapper (ambrosia-target.ts), so that every
 * stream reaches it through the Peer's one connection port; against an external server only that port
 * (c2s) is reachable, and the cases that need the service or s2s port are UNIMPLEMENTED there.
 *
 * Must not: read a clock (waits go through the Peer).
 */
import { chunkElements, parseStanzaText, readChunk, type Chunk } from './channel.js';
import { serviceProof } from './machine.js';
import { requirements } from './requirements.js';
import {
  child,
  el,
  localName,
  ns,
  streamHeaderAttrs,
  textOf,
  writeElement,
  writeStreamHeader,
  XmlStreamParser,
  type StreamEvent,
  validJid,
  type XmlElement,
} from './wire.js';
import { ambrosiaTarget } from '../../conformance/ambrosia-target.js';
import type { Conn, Peer, Reader } from '../../conformance/peer.js';
import { fail, unimplemented, type Case, type Suite } from '../../conformance/types.js';

const seed = 11;
const target = 'b.test';
const peerHost = 'peer.test';
const secret = 'ambrosia';
/** The fixture's channel timers and chunk size: short and small, so that cases see them in seconds. */
const ackTimeoutMs = 300;
const chunkCharsMax = 64;
const seeOtherHostTimeoutMs = 1_000;

const mainFixture = {
  role: 'gateway',
  accounts: [
    { jid: 'bob@b.test', password: 'pb' },
    { jid: 'carol@b.test', password: 'pc' },
  ],
  serviceSecret: secret,
  seeOtherHostTimeoutMs,
  chunkCharsMax,
  ackTimeoutMs,
  retransmitsMax: 5,
  ports: { c2s: 5222, s2s: 5269, service: 5347 },
};

/** The gateway with no configuration at all (seed: "it needs no configuration"). */
const bareFixture = { role: 'gateway' };

/** How long a case waits to be sure that nothing (more) comes. */
const quietMs = 400;

// ---------------------------------------------------------------------------------------------------
// Streams.

type Next = { readonly ok: true; readonly event: StreamEvent } | { readonly ok: false; readonly actual: string };

function show(event: StreamEvent): string {
  if (event.type === 'open') return writeStreamHeader(event.header.attrs).replace(/^<\?xml[^>]*>/, '');
  if (event.type === 'close') return '</stream:stream>';
  return writeElement(event.element);
}

/**
 * One XML stream the peer reads from the target, parsed incrementally by wire.ts. The Reader it hands to
 * `Conn.expect` feeds the parser only bytes it has not fed yet, and shows each event as XML in the exchange.
 */
class XmlConn {
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
    if (headerFirst) await this.header(`${what}: no stream header before the stream error`, ns.client);
    const error = await this.element(
      what,
      `<stream:error><${condition}/></stream:error>`,
      (e) => e.name === 'stream:error' && child(e, condition)?.ns === ns.streams,
    );
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

async function connect(peer: Peer): Promise<XmlConn> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', 'a TCP connection', 'refused or timed out');
  return new XmlConn(conn, peer);
}

/** The service and s2s streams reach the gateway only through the testbed's one-port wrapper (ambrosia-target.ts). */
function needsAllPorts(peer: Peer): void {
  if (!peer.control)
    unimplemented('needs the gateway’s service or s2s port; an external target is reached on its c2s port only');
}

const header = (xmlns: string, fields: { from?: string; to?: string; id?: string }) =>
  writeStreamHeader(streamHeaderAttrs(xmlns, fields));

const plain = (user: string, password: string) =>
  Buffer.from(`\u0000${user}\u0000${password}`, 'utf8').toString('base64');

const auth = (user: string, password: string) =>
  writeElement(el('auth', { xmlns: ns.sasl, mechanism: 'PLAIN' }, [plain(user, password)]));

const isSuccess = (e: XmlElement) => localName(e) === 'success' && e.ns === ns.sasl;
const isNotAuthorized = (e: XmlElement) =>
  localName(e) === 'failure' && e.ns === ns.sasl && child(e, 'not-authorized') !== undefined;

function message(to: string, body: string, attrs: Record<string, string> = {}): XmlElement {
  return el('message', { to, type: 'chat', ...attrs }, [el('body', {}, [body])]);
}

const bodyOf = (e: XmlElement) => textOf(child(e, 'body'));

/** Opens a c2s stream to `domain`; returns it after the header and the features. */
async function openClient(peer: Peer, domain = target): Promise<{ x: XmlConn; features: XmlElement }> {
  const x = await connect(peer);
  await x.send(header(ns.client, { to: domain }));
  await x.header('no c2s stream header', ns.client);
  const features = await x.element('no stream features', '<stream:features>', (e) => e.name === 'stream:features');
  return { x, features };
}

const offersPlain = (features: XmlElement) =>
  (child(features, 'mechanisms')?.children ?? []).some((m) => typeof m !== 'string' && textOf(m) === 'PLAIN');

/** Logs in with SASL PLAIN, restarts the stream and binds `resource` (RFC 6120 §6, §7); returns the bound stream. */
async function login(peer: Peer, user: string, password: string, resource = 'conf'): Promise<XmlConn> {
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
interface Received {
  readonly seq: number;
  readonly stanza: XmlElement;
  readonly chunks: readonly Chunk[];
}

/** The peer as an IM service on the gateway's service channel (spec.md §4). */
class Service {
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
async function openService(
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
async function openServer(peer: Peer, from = peerHost): Promise<XmlConn> {
  needsAllPorts(peer);
  const x = await connect(peer);
  await x.send(header(ns.server, { from, to: target }));
  await x.header('no s2s stream header', ns.server);
  await x.element('no stream features', '<stream:features/>', (e) => e.name === 'stream:features');
  return x;
}

/** The next stanza on a c2s stream must be a message with `body`; returns it. */
function expectMessage(x: XmlConn, body: string, what: string): Promise<XmlElement> {
  return x.element(what, `<message><body>${body}</body></message>`, (e) => e.name === 'message' && bodyOf(e) === body);
}

// ---------------------------------------------------------------------------------------------------
// Cases.

const cases: Case<Peer>[] = [
  {
    id: 'ambrosia/3/no-config',
    title: 'A gateway with no configuration answers c2s, s2s and services, and a service can give it a domain',
    section: '3',
    quote: 'launch the gateway process. it needs no configuration.',
    requirements: ['AMB-3-no-config'],
    level: 'MUST',
    variant: 'bare',
    async run(peer) {
      const unknown = await connect(peer);
      await unknown.send(header(ns.client, { to: 'x.test' }));
      await unknown.streamError('host-unknown', 'a domain nobody serves was not refused', true);
      const service = await openService(peer, 'svc.x.test', [['x.test', 'client']]);
      const { features } = await openClient(peer, 'x.test');
      if (!offersPlain(features))
        fail('a registered domain is not served', 'features offering PLAIN', writeElement(features));
      await openServer(peer);
      await service.x.quiet(100, 'the service got something it did not ask for');
    },
  },
  {
    id: 'ambrosia/3/c2s-login',
    title: 'SASL PLAIN, stream restart and resource binding give the full JID',
    section: '3',
    quote: 'a client connects to the gateway, the gateway authenticates it (RFC 6120 §6 SASL, §7 resource binding).',
    requirements: ['AMB-3-c2s-sasl-bind'],
    level: 'MUST',
    async run(peer) {
      const { features, x } = await openClient(peer);
      if (!offersPlain(features)) fail('PLAIN is not offered', 'SASL mechanism PLAIN', writeElement(features));
      await x.conn.close();
      await login(peer, 'bob', 'pb');
    },
  },
  {
    id: 'ambrosia/3/c2s-wrong-password',
    title: 'A wrong password gets <failure><not-authorized/>, and the client may try again',
    section: '3',
    quote: 'Wrong password: <failure><not-authorized/> and the client may retry.',
    requirements: ['AMB-3-c2s-sasl-bind'],
    level: 'MUST',
    async run(peer) {
      const { x } = await openClient(peer);
      await x.send(auth('bob', 'wrong'));
      await x.element('a wrong password was not refused', '<failure><not-authorized/></failure>', isNotAuthorized);
      await x.send(auth('bob', 'pb'));
      await x.element('the retry with the right password failed', '<success/>', isSuccess);
    },
  },
  {
    id: 'ambrosia/3/bind-conflict',
    title: 'A second bind of the same full JID ends the older session',
    section: '3',
    quote: 'A second bind of the same full JID ends the older session.',
    requirements: ['AMB-3-c2s-sasl-bind'],
    level: 'MUST',
    async run(peer) {
      const first = await login(peer, 'bob', 'pb', 'same');
      await login(peer, 'bob', 'pb', 'same');
      const next = await first.next();
      if (!next.ok || next.event.type !== 'element' || next.event.element.name !== 'stream:error')
        fail(
          'the older session was not ended',
          'a stream error on the older stream',
          next.ok ? show(next.event) : next.actual,
        );
    },
  },
  {
    id: 'ambrosia/3/stamp-from',
    title: 'The gateway stamps the sender’s full JID on a stanza, over a forged from',
    section: '3',
    quote: 'the server MUST stamp the full JID of the sender in the from attribute (RFC 6120 §8.1.2.1).',
    requirements: ['AMB-3-stamp-from'],
    level: 'MUST',
    async run(peer) {
      const carol = await login(peer, 'carol', 'pc');
      const bob = await login(peer, 'bob', 'pb');
      await bob.send(writeElement(message('carol@b.test/conf', 'who am I', { from: 'mallory@evil.test/x' })));
      const got = await expectMessage(carol, 'who am I', 'the message did not reach carol');
      if (got.attrs.from !== 'bob@b.test/conf')
        fail('the sender’s full JID was not stamped', "from='bob@b.test/conf'", writeElement(got));
    },
  },
  {
    id: 'ambrosia/6/valid-from',
    title:
      'A message a client gets carries a valid full user JID in from, the sender’s as bound, over a bad or no from',
    section: '6',
    quote:
      'A message is delivered only when its from is a valid full user JID, local@domain/resource … the gateway stamps the sender’s full JID (§3); the server MUST stamp the full JID of the sender in the from attribute (RFC 6120 §8.1.2.1).',
    requirements: ['AMB-6-valid-from', 'AMB-3-stamp-from'],
    level: 'MUST',
    async run(peer) {
      const carol = await login(peer, 'carol', 'pc');
      const bob = await login(peer, 'bob', 'pb', 'desk');
      const bound = 'bob@b.test/desk';
      const sent: readonly (readonly [string, Record<string, string>])[] = [
        ['a broken from', { from: 'bob@@b.test/desk' }],
        ['no from', {}],
      ];
      for (const [how, attrs] of sent) {
        await bob.send(writeElement(message('carol@b.test/conf', `with ${how}`, attrs)));
        const got = await expectMessage(carol, `with ${how}`, `the message with ${how} did not reach carol`);
        const from = validJid(got.attrs.from);
        if (!from || from.local === '' || from.resource === '' || got.attrs.from !== bound)
          fail(
            `the message sent with ${how} does not carry the sender’s valid full JID`,
            `from='${bound}'`,
            writeElement(got),
          );
      }
    },
  },
  {
    id: 'ambrosia/3/header-first',
    title: 'Garbage before any header gets the gateway’s header, then <not-well-formed/>',
    section: '3',
    quote:
      'the gateway sends <stream:error> with it (after its own header if none was sent yet, §4.9.1.1), </stream:stream>, and closes.',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      const x = await connect(peer);
      await x.send('this is not XML at all');
      await x.streamError('not-well-formed', 'garbage was not answered with the stream error', true);
    },
  },
  {
    id: 'ambrosia/3/not-well-formed',
    title: 'Mismatched tags get <not-well-formed/>; the gateway keeps serving other streams',
    section: '3',
    quote: 'bad XML gets the stream error RFC 6120 §4.9.3 names, never a crash.',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      const bob = await login(peer, 'bob', 'pb');
      await bob.send("<message to='carol@b.test'><body>x</message>");
      await bob.streamError('not-well-formed', 'mismatched tags were not refused');
      await login(peer, 'carol', 'pc');
    },
  },
  {
    id: 'ambrosia/3/restricted-xml',
    title: 'A comment gets <restricted-xml/>; invalid UTF-8 gets <unsupported-encoding/>',
    section: '3',
    quote: 'Conditions used: … restricted-xml (comments, PIs, DTDs; §11.1), … unsupported-encoding (invalid UTF-8).',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      const comment = await openClient(peer);
      await comment.x.send('<!-- hello -->');
      await comment.x.streamError('restricted-xml', 'a comment was not refused');
      const bytes = await openClient(peer);
      await bytes.x.send(new Uint8Array([0x3c, 0x61, 0xff, 0xfe, 0x2f, 0x3e]));
      await bytes.x.streamError('unsupported-encoding', 'invalid UTF-8 was not refused');
    },
  },
  {
    id: 'ambrosia/3/invalid-namespace',
    title: 'A stream header in an unknown namespace gets the header, then <invalid-namespace/>',
    section: '3',
    quote: 'Conditions used: not-well-formed, restricted-xml …, invalid-namespace, bad-format, …',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      const x = await connect(peer);
      await x.send(header('urn:example:nothing', { to: target }));
      await x.streamError('invalid-namespace', 'a stream in an unknown namespace was not refused', true);
    },
  },
  {
    id: 'ambrosia/3/not-authorized',
    title: 'A stanza before authentication gets <not-authorized/>',
    section: '3',
    quote: 'Conditions used: … host-unknown, not-authorized, unsupported-stanza-type, invalid-from, see-other-host.',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      const { x } = await openClient(peer);
      await x.send(writeElement(message('carol@b.test', 'too early')));
      await x.streamError('not-authorized', 'a stanza before authentication was not refused');
    },
  },
  {
    id: 'ambrosia/3/s2s-invalid-from',
    title: 'An s2s stanza from another domain than its stream’s gets <invalid-from/>',
    section: '3',
    quote:
      'the receiver only checks that each stanza’s from domain equals the stream header’s from (<invalid-from/> otherwise).',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      const bob = await login(peer, 'bob', 'pb');
      const s2s = await openServer(peer);
      await s2s.send(writeElement(message('bob@b.test', 'forged', { from: 'mallory@evil.test' })));
      await s2s.streamError('invalid-from', 'a stanza from another domain was not refused');
      await bob.quiet(quietMs, 'the forged stanza was delivered');
    },
  },
  {
    id: 'ambrosia/3/see-other-host',
    title: 'SASL for an unknown user asks the service; its answer becomes <see-other-host>',
    section: '3',
    quote: 'if a user is unknown, ask a service for a see-other-host value',
    requirements: ['AMB-3-see-other-host'],
    level: 'MUST',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const { x } = await openClient(peer);
      await x.send(auth('zoe', 'pz'));
      const request = await service.control(
        'the service was not asked about the unknown user',
        "<see-other-host-request id user='zoe@b.test'/>",
        (e) => localName(e) === 'see-other-host-request' && e.attrs.user === 'zoe@b.test',
      );
      await service.x.send(
        writeElement(
          el('see-other-host-response', { id: request.attrs.id ?? '', user: 'zoe@b.test' }, ['other.test:5222']),
        ),
      );
      const error = await x.streamError('see-other-host', 'the service’s answer was not passed on');
      const host = textOf(child(error, 'see-other-host'));
      if (host !== 'other.test:5222')
        fail('the see-other-host value is not the service’s', 'other.test:5222', writeElement(error));
    },
  },
  {
    id: 'ambrosia/3/see-other-host-none',
    title: 'An empty answer, or none in seeOtherHostTimeoutMs, gives <failure><not-authorized/>',
    section: '3',
    quote:
      'An empty response, no service, or no answer in seeOtherHostTimeoutMs gives <failure><not-authorized/> (ours: timeout and empty answer).',
    requirements: ['AMB-3-see-other-host'],
    level: 'MUST',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const { x } = await openClient(peer);
      await x.send(auth('zoe', 'pz'));
      const request = await service.control(
        'the service was not asked',
        '<see-other-host-request/>',
        (e) => localName(e) === 'see-other-host-request',
      );
      await service.x.send(
        writeElement(el('see-other-host-response', { id: request.attrs.id ?? '', user: 'zoe@b.test' })),
      );
      await x.element('an empty answer did not fail the login', '<failure><not-authorized/>', isNotAuthorized);
      await x.send(auth('yan', 'py'));
      await service.control(
        'the service was not asked again',
        '<see-other-host-request/>',
        (e) => localName(e) === 'see-other-host-request',
      );
      const late = await x.next(seeOtherHostTimeoutMs + peer.answerMs);
      if (!late.ok || late.event.type !== 'element' || !isNotAuthorized(late.event.element))
        fail(
          'no answer did not fail the login in time',
          '<failure><not-authorized/>',
          late.ok ? show(late.event) : late.actual,
        );
    },
  },
  {
    id: 'ambrosia/3/route-to-service/client',
    title: 'A stanza from a bound client goes to the service registered for (its domain, client)',
    section: '3',
    quote: 'packets received from a remote client or domain is delivered to the service',
    requirements: ['AMB-3-route-to-service', 'AMB-3-stamp-from'],
    level: 'MUST',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const carol = await login(peer, 'carol', 'pc');
      const bob = await login(peer, 'bob', 'pb');
      await bob.send(writeElement(message('carol@b.test/conf', 'via the service', { id: 'm1' })));
      const got = await service.take('the stanza did not reach the service');
      if (bodyOf(got.stanza) !== 'via the service' || got.stanza.attrs.from !== 'bob@b.test/conf')
        fail('the service got another stanza', "the message, from='bob@b.test/conf'", writeElement(got.stanza));
      await carol.quiet(quietMs, 'the gateway delivered the stanza itself instead of handing it to the service');
    },
  },
  {
    id: 'ambrosia/3/route-to-service/server',
    title: 'A stanza arriving over s2s goes to the service registered for (its domain, server)',
    section: '3',
    quote: 'packets received from a remote client or domain is delivered to the service',
    requirements: ['AMB-3-route-to-service'],
    level: 'MUST',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'server']]);
      const s2s = await openServer(peer);
      await s2s.send(writeElement(message('bob@b.test', 'from afar', { from: 'pat@peer.test/home' })));
      const got = await service.take('the s2s stanza did not reach the service');
      if (bodyOf(got.stanza) !== 'from afar' || got.stanza.attrs.from !== 'pat@peer.test/home')
        fail('the service got another stanza', 'the message from pat@peer.test/home', writeElement(got.stanza));
    },
  },
  {
    id: 'ambrosia/3/route-out',
    title: 'A stanza a service sends is delivered out to the addressee’s session',
    section: '3',
    quote: 'packets sent from the service are routed out the gateway',
    requirements: ['AMB-3-route-out'],
    level: 'MUST',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const bob = await login(peer, 'bob', 'pb');
      await service.send(message('bob@b.test/conf', 'from the service', { from: 'carol@b.test/x' }));
      await service.ackOf('the gateway did not ack the service’s stanza', 1);
      const got = await expectMessage(bob, 'from the service', 'the service’s stanza did not reach bob');
      if (got.attrs.from !== 'carol@b.test/x')
        fail('the routed stanza changed', "from='carol@b.test/x'", writeElement(got));
    },
  },
  {
    id: 'ambrosia/3/round-robin',
    title: 'Two services registered for one key share its stanzas round robin, each stanza to one',
    section: '3',
    quote:
      'if there are multiple services registered with the same domain name, the gateway picks one (round robin load balance, or whatever)',
    requirements: ['AMB-3-round-robin', 'AMB-4-register'],
    level: 'MUST',
    async run(peer) {
      const first = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const second = await openService(peer, 'svc2.peer.test', [[target, 'client']]);
      const bob = await login(peer, 'bob', 'pb');
      for (let i = 1; i <= 4; i++) await bob.send(writeElement(message('carol@b.test', `m${i}`)));
      const bodies: string[] = [];
      for (const service of [first, second, first, second])
        bodies.push(bodyOf((await service.take('a service did not get its share')).stanza));
      await first.x.quiet(quietMs, 'a stanza reached more than one service');
      await second.x.quiet(0, 'a stanza reached more than one service');
      if ([...bodies].sort().join(' ') !== 'm1 m2 m3 m4')
        fail('the stanzas were not shared one each', 'm1..m4, two per service', bodies.join(' '));
    },
  },
  {
    id: 'ambrosia/3/failover',
    title: 'When a service disconnects, its unacked stanza goes to another service; acked ones are not resent',
    section: '3',
    quote: 'when a service disconnects, every stanza it had not acked is routed again; acked stanzas are never resent.',
    requirements: ['AMB-3-failover', 'AMB-3-round-robin'],
    level: 'MUST',
    async run(peer) {
      const first = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const second = await openService(peer, 'svc2.peer.test', [[target, 'client']]);
      const bob = await login(peer, 'bob', 'pb');
      await bob.send(writeElement(message('carol@b.test', 'acked')));
      await bob.send(writeElement(message('carol@b.test', 'unacked')));
      const acked = await first.take('the first stanza did not reach a service');
      const unacked = await second.stanza('the second stanza did not reach the other service');
      await second.x.conn.close();
      const again = await first.take('the unacked stanza was not routed again');
      if (bodyOf(again.stanza) !== bodyOf(unacked.stanza))
        fail('another stanza came instead of the unacked one', bodyOf(unacked.stanza), writeElement(again.stanza));
      await first.x.quiet(quietMs, 'a stanza came again after failover');
      if (bodyOf(acked.stanza) === bodyOf(again.stanza))
        fail('an acked stanza was resent', 'only the unacked stanza again', bodyOf(again.stanza));
    },
  },
  {
    id: 'ambrosia/3/s2s-dns',
    title: 'A stanza for another domain goes out over s2s to its MX host (lowest preference), or its A record',
    section: '3',
    quote: 'make outgoing xmpp-server connections if necessary (found by MX, then A; our DNS has no SRV).',
    requirements: ['AMB-3-s2s-dns', 'AMB-3-route-out'],
    level: 'MUST',
    async run(peer) {
      const listener = await peer.listen(5269);
      const bob = await login(peer, 'bob', 'pb');
      for (const domain of ['peer.test', 'far.test']) {
        await bob.send(writeElement(message(`pat@${domain}`, `to ${domain}`)));
        const conn = await listener.accept({ timeoutMs: peer.answerMs });
        if (!conn) fail(`the gateway did not connect for ${domain}`, `an s2s connection to ${peerHost}:5269`, 'none');
        const x = new XmlConn(conn, peer);
        const attrs = await x.header('no s2s stream header', ns.server);
        if (attrs.to !== domain || attrs.from !== target)
          fail('the s2s stream names the wrong domains', `from='${target}' to='${domain}'`, JSON.stringify(attrs));
        await x.send(header(ns.server, { from: domain, to: target, id: `s-${domain}` }) + '<stream:features/>');
        const got = await expectMessage(x, `to ${domain}`, `the stanza for ${domain} was not sent`);
        if (got.attrs.from !== 'bob@b.test/conf' || got.attrs.to !== `pat@${domain}`)
          fail('the stanza changed on its way out', `from bob@b.test/conf to pat@${domain}`, writeElement(got));
      }
    },
  },
  {
    id: 'ambrosia/4.2/mutual-auth',
    title: 'The gateway checks the service’s handshake proof and proves the secret back',
    section: '4.2',
    quote:
      'mutual-auth encrypted channel from service to gateway (handshake proofs both ways; encryption left to the transport).',
    requirements: ['AMB-4-mutual-auth'],
    level: 'MUST',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', []);
      if (service.streamId === '') fail('the service stream has no id', 'a stream id', 'none');
    },
  },
  {
    id: 'ambrosia/4.2/bad-handshake',
    title: 'A wrong handshake proof, or a register before the handshake, gets <not-authorized/>',
    section: '4.2',
    quote: 'The gateway checks it (else <not-authorized/> and close).',
    requirements: ['AMB-4-mutual-auth'],
    level: 'MUST',
    async run(peer) {
      needsAllPorts(peer);
      for (const attempt of ['wrong proof', 'register first']) {
        const x = await connect(peer);
        await x.send(header(ns.service, { from: 'svc1.peer.test', to: target }));
        const attrs = await x.header('no service stream header', ns.service);
        await x.element('no stream features', '<stream:features/>', (e) => e.name === 'stream:features');
        const proof = serviceProof('service', attrs.id ?? '', 'n1', 'not the secret');
        await x.send(
          attempt === 'wrong proof'
            ? writeElement(el('handshake', { nonce: 'n1' }, [proof]))
            : writeElement(el('register', { domain: target, type: 'client' })),
        );
        await x.streamError('not-authorized', `a service was let in (${attempt})`);
      }
    },
  },
  {
    id: 'ambrosia/4.3/register',
    title: 'A service registers any number of pairs; a bad type gets <register-error><bad-request/>',
    section: '4.3',
    quote: 'register any number of domain/type pairs to handle',
    requirements: ['AMB-4-register'],
    level: 'MUST',
    async run(peer) {
      needsAllPorts(peer);
      const before = await connect(peer);
      await before.send(header(ns.client, { to: 'c.test' }));
      await before.streamError('host-unknown', 'c.test was served before any registration', true);
      const service = await openService(peer, 'svc1.peer.test', [
        [target, 'client'],
        [target, 'server'],
        ['c.test', 'client'],
      ]);
      await service.x.send(writeElement(el('register', { domain: 'c.test', type: 'carrier-pigeon' })));
      await service.control(
        'a bad registration type was not refused',
        '<register-error><bad-request/></register-error>',
        (e) => localName(e) === 'register-error' && child(e, 'bad-request') !== undefined,
      );
      const { features } = await openClient(peer, 'c.test');
      if (!offersPlain(features)) fail('the registered domain is not served', 'PLAIN offered', writeElement(features));
    },
  },
  {
    id: 'ambrosia/4.4/chunking',
    title: 'A stanza longer than chunkCharsMax travels as several chunks, both ways',
    section: '4.4',
    quote: "stanzas should be chunked so that large stanzas don't block the channel",
    requirements: ['AMB-4-chunking'],
    level: 'SHOULD',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const bob = await login(peer, 'bob', 'pb');
      const body = 'a long body '.repeat(25);
      await bob.send(writeElement(message('carol@b.test', body)));
      const got = await service.take('the long stanza did not reach the service');
      const sizes = got.chunks.map((c) => c.text.length);
      if (got.chunks.length < 2 || sizes.some((n) => n > chunkCharsMax))
        fail(
          'the stanza was not cut at chunkCharsMax',
          `chunks of at most ${chunkCharsMax} characters`,
          sizes.join(', '),
        );
      if (got.chunks.some((c, i) => c.last !== (i === got.chunks.length - 1)))
        fail('last is not set on the final chunk only', "last='true' on the final chunk", JSON.stringify(got.chunks));
      if (bodyOf(got.stanza) !== body) fail('the chunks do not join into the stanza', body, bodyOf(got.stanza));
      await service.send(message('bob@b.test/conf', body.toUpperCase()));
      await expectMessage(bob, body.toUpperCase(), 'a chunked stanza from the service did not reach bob');
    },
  },
  {
    id: 'ambrosia/4.5/acks',
    title: 'The gateway acks each stanza, answers <r/>, drops duplicates and gaps and re-acks h',
    section: '4.5',
    quote:
      'acking of all stanzas (XEP-0198 counters; unacked stanzas retransmitted after ackTimeoutMs, duplicates dropped)',
    requirements: ['AMB-4-acks'],
    level: 'MUST',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const bob = await login(peer, 'bob', 'pb');
      await service.send(message('bob@b.test/conf', 'one'), 1);
      await service.ackOf('stanza 1 was not acked', 1);
      await expectMessage(bob, 'one', 'stanza 1 was not delivered');
      await service.x.send(writeElement(el('r', { xmlns: ns.sm })));
      await service.ackOf('<r/> was not answered', 1);
      await service.send(message('bob@b.test/conf', 'one'), 1);
      await service.acksUntilQuiet('a duplicate was not re-acked with h', 1, quietMs);
      await service.send(message('bob@b.test/conf', 'three'), 3);
      await service.acksUntilQuiet('a stanza after a gap was not re-acked with h', 1, quietMs);
      await bob.quiet(0, 'a duplicate or a stanza after a gap was delivered');
      await service.send(message('bob@b.test/conf', 'two'), 2);
      await service.ackOf('stanza 2 was not acked', 2);
      await expectMessage(bob, 'two', 'stanza 2 was not delivered');
    },
  },
  {
    id: 'ambrosia/4.5/retransmit',
    title: 'A stanza not acked in ackTimeoutMs is sent again with <r/>; once acked, never again',
    section: '4.5',
    quote:
      'The sender keeps unacked stanzas … and, when ackTimeoutMs passes without progress, retransmits them all with an <r/> (go-back-N).',
    requirements: ['AMB-4-acks'],
    level: 'MUST',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const bob = await login(peer, 'bob', 'pb');
      await bob.send(writeElement(message('carol@b.test', 'ack me')));
      const first = await service.stanza('the stanza did not reach the service');
      const again = await service.stanza('the unacked stanza was not sent again', ackTimeoutMs + peer.answerMs);
      if (again.seq !== first.seq || bodyOf(again.stanza) !== 'ack me')
        fail('the retransmission is not the same stanza', `seq ${first.seq} again`, writeElement(again.stanza));
      await service.control('no <r/> after the retransmission', `<r xmlns='${ns.sm}'/>`, (e) => localName(e) === 'r');
      await service.ack(first.seq);
      await service.x.quiet(ackTimeoutMs * 2 + 100, 'an acked stanza was sent again');
    },
  },
  {
    id: 'ambrosia/W/round-trip',
    title: 'Markup characters in text and attributes survive the gateway’s writer, on c2s and the channel',
    section: '3',
    quote: 'the writer escapes so that any element tree parses back to itself.',
    requirements: ['AMB-W-round-trip'],
    level: 'MUST',
    async run(peer) {
      const tricky = `a < b && c > d; 'single' "double" ]]> tab\there\r\nnew line ✓ 🎉`;
      const id = `x'y"z<&>\t1`;
      const carol = await login(peer, 'carol', 'pc');
      const bob = await login(peer, 'bob', 'pb');
      await bob.send(writeElement(message('carol@b.test/conf', tricky, { id })));
      const direct = await carol.element('the message did not arrive', 'the message', (e) => e.name === 'message');
      if (bodyOf(direct) !== tricky || direct.attrs.id !== id)
        fail('text or attributes changed on c2s', JSON.stringify({ body: tricky, id }), writeElement(direct));
      if (!peer.control) return;
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      await bob.send(writeElement(message('carol@b.test/conf', tricky, { id })));
      const got = await service.take('the message did not reach the service');
      if (bodyOf(got.stanza) !== tricky || got.stanza.attrs.id !== id)
        fail(
          'text or attributes changed in the chunks',
          JSON.stringify({ body: tricky, id }),
          writeElement(got.stanza),
        );
    },
  },
];

export const ambrosiaSuite: Suite<Peer> = {
  protocol: 'ambrosia',
  title: 'Ambrosia',
  requirements,
  builtin: ambrosiaTarget,
  scheme: 'tcp',
  target: { id: target, port: 5222 },
  peerHost,
  fixtures: { main: mainFixture, bare: bareFixture },
  seed,
  cases,
};
