/**
 * The FMTP conformance suite (src/protocols/fmtp/spec.md): cases that greet the target as another
 * server (HELLO), ask it for objects (REQUEST), send it MESSAGEs and bad bytes, log in to it as one of
 * its users, and serve it as the owner, MX server and gateways it dials while it looks objects up.
 * Every case quotes the rule it checks with its section; frames are built and read with FMTP's own
 * wire.ts, and hashes made and checked with its keys.ts.
 *
 * The target must be configured like `fixtures.main`: domain b.test on port 7465, proxying, with the
 * users, cache and routes below, and its key published at `fmtpkey.b.test`. Its DNS zone must hold
 * `peerRecords` (the peer's key under every domain it plays, the key of the user's node lost@b.test,
 * and the MX records of own.test and far.test), and `peer.test` must reach the peer, which listens on
 * 127.0.0.1 ports 7465 (MX), 7466 (owner, direct route), 7467 and 7468 (gateways). An external server
 * also sets `secretKeyHex: targetSecretKeyHex` (the key the seed gives b.test). The suite's
 * `builtin` is FMTP with those records added to what the node publishes, so the simulator and
 * RealHost targets get them. Cases that send as the target (a `send` command) or read its notes need
 * its control channel: an external server gives UNIMPLEMENTED there.
 *
 * Must not: read a clock (waits go through the Peer), or judge by anything but the wire and the
 * target's outputs.
 */
import { fmtp, type FmtpConfig } from '../index.js';
import {
  formatKeyRecord,
  helloText,
  parseKeyRecord,
  publicKeyOf,
  secretKeyFor,
  sign,
  toBase64,
  toHex,
  verifyByAny,
  welcomeText,
} from '../keys.js';
import { requirements } from '../requirements.js';
import { streamFor } from '../../../core/prng.js';
import { blockLinesMax, decodeFrame, encodeFrame, lineBytesMax, type Frame, type FrameOf } from '../wire.js';
import type { DnsRecord, Protocol } from '../../protocol.js';
import type { Conn, Listener, Peer, Reader } from '../../../conformance/peer.js';
import { concatBytes } from '../../../core/bytes.js';
import { fail, unimplemented, type Case, type Suite } from '../../../conformance/types.js';

const seed = 7465;
const target = 'b.test';
const peerHost = 'peer.test';
/** Where the peer listens (the fixture's cache, routes and MX records point here). */
const ports = { mx: 7465, owner: 7466, split: 7467, other: 7468 } as const;
/** Short, so that a real-socket run of the whole suite takes seconds. */
const lookingMs = 1_500;
/** How long a case waits to be sure something does not happen. */
const quietMs = 300;

/** The peer plays every other server with one key, published under each domain it plays. */
const peerSecret = secretKeyFor(seed, peerHost);
/** The user's node of lost@b.test (logs in to the target); its key is published at fmtpkey.b.test. */
const lostSecret = secretKeyFor(seed, 'lost.b.test');
/** A key nobody publishes: a forger's. */
const forgerSecret = secretKeyFor(seed, 'forger.test');
const peerDomains = [peerHost, 'own.test', 'far.test', 'gw1.test', 'gw2.test'];

const mainFixture = {
  port: 7465,
  users: [
    { address: 'bob@b.test' },
    { address: 'dave@b.test', status: 'ONLINE', route: { host: 'dave.b.test', port: 8000, transport: 'tcp' } },
    { address: 'carol@b.test', blacklist: ['pat@peer.test'] },
    { address: 'dora@b.test', blacklist: ['*@peer.test'], whitelist: ['pat@peer.test'] },
    { address: 'erin@b.test', policy: 'REJECT' },
    { address: 'lost@b.test' },
  ],
  cache: [
    { address: 'cal@cached.test', givenName: 'Cal' },
    { address: 'calin@own.test', route: { host: peerHost, port: ports.owner, transport: 'tcp' } },
  ],
  routes: [
    { pattern: '*@split.test', gateway: peerHost, port: ports.split, domain: 'gw1.test' },
    { pattern: '*@*', gateway: peerHost, port: ports.other, domain: 'gw2.test' },
  ],
  proxy: true,
  keepOpenMs: 0,
  lookingMs,
};

/**
 * The target's secret key: the one the run's seed gives node b.test (stream `fmtp-key:b.test`). An
 * external server runs with `secretKeyHex` set to this, so that its hashes verify against the key
 * the cases expect at fmtpkey.b.test.
 */
export const targetSecretKeyHex = toHex(secretKeyFor(seed, target));

/** What the target's DNS zone must hold besides its own key (docs in the header). */
export const peerRecords: readonly DnsRecord[] = [
  ...peerDomains.map((domain) => ({
    name: `fmtpkey.${domain}`,
    type: 'TXT' as const,
    value: formatKeyRecord(publicKeyOf(peerSecret)),
  })),
  { name: 'fmtpkey.b.test', type: 'TXT', value: formatKeyRecord(publicKeyOf(lostSecret)) },
  { name: 'own.test', type: 'MX', value: `10 ${peerHost}` },
  { name: 'far.test', type: 'MX', value: `10 ${peerHost}` },
];

/** FMTP whose published records include the fixture's zone: any FMTP built the same way (a broken fixture) can reuse it. */
export function withPeerRecords<K>(protocol: Protocol<FmtpConfig, K>): Protocol<FmtpConfig, K> {
  return { ...protocol, dnsRecords: (node) => [...(protocol.dnsRecords?.(node) ?? []), ...peerRecords] };
}

let publishedKeys: string[] | undefined;

/** The target's keys as it publishes them at fmtpkey.b.test (without the user node's key). */
function targetKeys(): string[] {
  publishedKeys ??= (
    fmtp.dnsRecords?.({ id: target, hostName: target, config: fmtp.configSchema.parse(mainFixture), seed }) ?? []
  )
    .map((record) => parseKeyRecord(record.value))
    .filter((key): key is string => key !== undefined);
  return publishedKeys;
}

// ---------------------------------------------------------------------------------------------------
// Wire helpers.

/** Bytes past which no block can be complete (every line at its limit). */
const blockBytesMax = (lineBytesMax + 1) * (blockLinesMax + 1);

/** Reads one block (up to its empty line) and decodes it with wire.ts. */
const readFrame: Reader<Frame> = (bytes) => {
  let end = -1;
  for (let i = 1; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i - 1] === 0x0a) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) return bytes.length > blockBytesMax ? { kind: 'error', message: 'no block end' } : { kind: 'more' };
  const decoded = decodeFrame(bytes.subarray(0, end));
  if (!decoded.ok) return { kind: 'error', message: `${decoded.error.code}: ${decoded.error.message}` };
  return { kind: 'value', value: decoded.value, used: end };
};

function show(frame: Frame): string {
  return JSON.stringify(frame);
}

function frames(...list: Frame[]): Uint8Array {
  return concatBytes(...list.map(encodeFrame));
}

/** Fixed nonces: the peer needs none fresh (the WELCOME it checks signs its own nonce). */
function nonceOf(n: number): string {
  return n.toString(16).padStart(32, '0');
}

function hello(from: string, secret: Uint8Array, n = 1, to = target): FrameOf<'HELLO'> {
  const nonce = nonceOf(n);
  return { type: 'HELLO', from, to, nonce, hash: sign(helloText(from, to, nonce), secret) };
}

/** Waits for the next frame and fails the case unless `check` accepts it. */
async function expectFrame<T extends Frame['type']>(
  conn: Conn,
  timeoutMs: number,
  type: T,
  what: string,
  check: (frame: FrameOf<T>) => boolean = () => true,
  expected: string = type,
): Promise<FrameOf<T>> {
  const got = await conn.expect(readFrame, { timeoutMs });
  if (!got.ok) fail(what, expected, `${got.reason}: ${got.message}`);
  if (got.value.type !== type || !check(got.value as FrameOf<T>)) fail(what, expected, show(got.value));
  return got.value as FrameOf<T>;
}

/** Expects REFUSED with `code` and then the close, with nothing else. */
async function expectRefused(conn: Conn, peer: Peer, code: string, what: string): Promise<void> {
  await expectFrame(conn, peer.answerMs, 'REFUSED', what, (f) => f.code === code, `REFUSED ${code}`);
  const after = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
  if (after.ok) fail(`${what}: a frame after REFUSED`, 'the close', show(after.value));
  if (after.reason !== 'closed') fail(`${what}: the connection stayed open`, 'the close', after.message);
}

async function connect(peer: Peer): Promise<Conn> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', 'a TCP connection', 'refused or timed out');
  return conn;
}

/** Connects and greets the target as `from`; checks its WELCOME against the key at fmtpkey.b.test. */
async function greet(peer: Peer, from = peerHost, secret = peerSecret, n = 1): Promise<Conn> {
  const conn = await connect(peer);
  const sent = hello(from, secret, n);
  await conn.send(encodeFrame(sent));
  const welcome = await expectFrame(conn, peer.answerMs, 'WELCOME', `the HELLO of ${from} was not welcomed`);
  checkWelcome(welcome, from, sent.nonce);
  return conn;
}

function checkWelcome(welcome: FrameOf<'WELCOME'>, to: string, helloNonce: string): void {
  if (welcome.from !== target || welcome.to !== to)
    fail('the WELCOME is misaddressed', `FROM ${target} TO ${to}`, show(welcome));
  const text = welcomeText(welcome.from, welcome.to, welcome.nonce, helloNonce);
  if (!verifyByAny(text, welcome.hash, targetKeys()))
    fail('the WELCOME hash does not verify against fmtpkey.b.test', 'a valid Ed25519 hash', show(welcome));
}

/** Transaction ids count per case (per Peer), so that the same case twice sends the same bytes. */
const transactions = new WeakMap<Peer, number>();
function transaction(peer: Peer): string {
  const n = (transactions.get(peer) ?? 0) + 1;
  transactions.set(peer, n);
  return `${n}.${peerHost}`;
}

function request(peer: Peer, object: string, hops?: number): FrameOf<'REQUEST'> {
  const txn = transaction(peer);
  return { type: 'REQUEST', from: peerHost, object, transaction: txn, ...(hops === undefined ? {} : { hops }) };
}

function message(peer: Peer, from: string, to: string, body: string): FrameOf<'MESSAGE'> {
  return { type: 'MESSAGE', from, to, transaction: transaction(peer), body };
}

/** Sends a MESSAGE and returns the target's answer on the same transaction. */
async function deliver(peer: Peer, conn: Conn, sent: FrameOf<'MESSAGE'>) {
  await conn.send(encodeFrame(sent));
  const got = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
  if (!got.ok) fail(`no answer to a MESSAGE to ${sent.to}`, 'ACCEPTED or REJECTED', got.message);
  const answer = got.value;
  if ((answer.type !== 'ACCEPTED' && answer.type !== 'REJECTED') || answer.transaction !== sent.transaction)
    fail('the answer to a MESSAGE is not ACCEPTED / REJECTED on its transaction', sent.transaction, show(answer));
  return answer;
}

/**
 * Plays a server the target dials: accepts, checks its HELLO (addressed to `domain`, signed with the
 * key at fmtpkey.b.test), answers WELCOME as `domain` and reads the first frame after it.
 */
async function serve(
  peer: Peer,
  listener: Listener,
  domain: string,
  options: { timeoutMs?: number; secret?: Uint8Array } = {},
): Promise<{ conn: Conn; first: Frame }> {
  const timeoutMs = options.timeoutMs ?? peer.answerMs;
  const conn = await listener.accept({ timeoutMs });
  if (!conn) fail(`the target did not dial ${domain} at ${listener.address}`, `a connection to ${domain}`, 'none');
  const got = await expectFrame(conn, peer.answerMs, 'HELLO', 'no HELLO from the target');
  if (got.to !== domain || got.from !== target)
    fail('the HELLO is not addressed to the domain dialled', `FROM ${target} TO ${domain}`, show(got));
  if (!verifyByAny(helloText(got.from, got.to, got.nonce), got.hash, targetKeys()))
    fail('the HELLO hash does not verify against fmtpkey.b.test', 'a valid Ed25519 hash', show(got));
  const nonce = nonceOf(2);
  const secret = options.secret ?? peerSecret;
  await conn.send(
    encodeFrame({
      type: 'WELCOME',
      from: domain,
      to: got.from,
      nonce,
      hash: sign(welcomeText(domain, got.from, nonce, got.nonce), secret),
    }),
  );
  const first = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
  if (!first.ok) fail('nothing after our WELCOME', 'a REQUEST or MESSAGE', `${first.reason}: ${first.message}`);
  return { conn, first: first.value };
}

/** `serve`, expecting a REQUEST for `object`. */
async function serveRequest(peer: Peer, listener: Listener, domain: string, object: string) {
  const { conn, first } = await serve(peer, listener, domain);
  if (first.type !== 'REQUEST' || first.object !== object)
    fail(`the target did not ask ${domain} for ${object}`, `REQUEST ${object}`, show(first));
  return { conn, request: first };
}

/** Accepts a connection the target makes and reads its HELLO, then closes it: a step that fails. */
async function refuseDial(peer: Peer, listener: Listener, domain: string): Promise<void> {
  const conn = await listener.accept({ timeoutMs: peer.answerMs });
  if (!conn) fail(`the target did not dial ${domain} at ${listener.address}`, `a connection to ${domain}`, 'none');
  await expectFrame(conn, peer.answerMs, 'HELLO', `no HELLO to ${domain}`, (f) => f.to === domain);
  await conn.close();
}

async function expectNoDial(listener: Listener, ms: number, what: string): Promise<void> {
  const conn = await listener.accept({ timeoutMs: ms });
  if (conn) fail(what, `no connection within ${ms} ms`, `a connection at ${listener.address}`);
}

function control(peer: Peer) {
  return peer.control ?? unimplemented('needs the control channel of a target the testbed runs');
}

function outputNames(peer: Peer): string {
  return (peer.control?.outputs() ?? []).map((o) => o.name).join(', ');
}

/** The OBJECT of lost@far.test, ONLINE, recommending a ROUTE to the peer's `port` over tcp. */
function lostOnlineAt(port: number, txn: string): FrameOf<'OBJECT'> {
  return {
    type: 'OBJECT',
    object: 'lost@far.test',
    transaction: txn,
    properties: { address: 'lost@far.test', status: 'ONLINE', route: { host: peerHost, port, transport: 'tcp' } },
  };
}

const isObjectFor = (object: string, txn: string) => (f: FrameOf<'OBJECT'>) =>
  f.object === object && f.transaction === txn;

// ---------------------------------------------------------------------------------------------------
// Cases.

const cases: Case<Peer>[] = [
  {
    id: 'fmtp/4/hello-welcome',
    title: 'A HELLO signed with the key at fmtpkey.peer.test gets a WELCOME signed with the key at fmtpkey.b.test',
    section: '4',
    quote:
      "Poe: Hi, I'm poe.net. Here's my hash. Lenore verifies the hash. Lenore: I am lenore.org. Here's my hash. Poe verifies the hash.",
    requirements: ['FMTP-mutual-hash'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      await conn.send(encodeFrame(request(peer, 'bob@b.test')));
      await expectFrame(conn, peer.answerMs, 'OBJECT', 'a verified peer was not answered');
    },
  },
  {
    id: 'fmtp/4/misaddressed-hello',
    title: 'A HELLO addressed to another domain is refused (hello.misaddressed) and closed',
    section: '4',
    quote: 'A HELLO must be addressed (TO) to the server’s domain, a WELCOME must come FROM the domain dialled.',
    requirements: ['FMTP-mutual-hash'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(encodeFrame(hello(peerHost, peerSecret, 1, 'other.test')));
      await expectRefused(conn, peer, 'hello.misaddressed', 'a HELLO for another domain was not refused');
    },
  },
  {
    id: 'fmtp/4/bad-hash',
    title: 'A HELLO whose hash fails gets REFUSED hash.failed and a close',
    section: '4',
    quote:
      'A hash that fails verification (or no key) gets `REFUSED hash.failed`, a `reject` output and a close. Nothing from a refused peer is used.',
    requirements: ['FMTP-bad-hash-refused'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(encodeFrame(hello(peerHost, forgerSecret)));
      await expectRefused(conn, peer, 'hash.failed', 'a forged hash was not refused');
    },
  },
  {
    id: 'fmtp/4/bad-welcome',
    title: 'A WELCOME whose hash fails is refused by the target, and the OBJECT after it is not used',
    section: '4, 5.2',
    quote:
      'A hash that fails verification (or no key) gets `REFUSED hash.failed`, a `reject` output and a close. Nothing from a refused peer is used.',
    requirements: ['FMTP-bad-hash-refused', 'FMTP-outcome-failure'],
    level: 'MUST',
    async run(peer) {
      const mx = await peer.listen(ports.mx);
      const conn = await greet(peer);
      const asked = request(peer, 'forged@far.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      const dial = await mx.accept({ timeoutMs: peer.answerMs });
      if (!dial) fail('the target did not dial the MX of far.test', 'a connection', 'none');
      const got = await expectFrame(dial, peer.answerMs, 'HELLO', 'no HELLO from the target');
      const nonce = nonceOf(3);
      await dial.send(
        frames(
          {
            type: 'WELCOME',
            from: 'far.test',
            to: got.from,
            nonce,
            hash: sign(welcomeText('far.test', got.from, nonce, got.nonce), forgerSecret),
          },
          {
            type: 'OBJECT',
            object: 'forged@far.test',
            transaction: '1.b.test',
            properties: { address: 'forged@far.test', status: 'ONLINE' },
          },
        ),
      );
      await expectRefused(dial, peer, 'hash.failed', 'the target did not refuse a forged WELCOME');
      // Step 4 (the *@* gateway, where nobody listens) fails too: the outcome is failure, not the forged OBJECT.
      await expectFrame(
        conn,
        peer.answerMs + lookingMs,
        'FAILED',
        'the lookup did not end in failure',
        (f) => f.transaction === asked.transaction,
      );
    },
  },
  {
    id: 'fmtp/4/key-dns',
    title: 'The target looks up fmtpkey.peer.test once and verifies the next HELLO from its cache',
    section: '4',
    quote: 'Poe.net looks up fmtpkey.lenore.org, and caches the public key.',
    requirements: ['FMTP-key-dns'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      const ctl = control(peer);
      for (let n = 1; n <= 2; n++) {
        const conn = await greet(peer, peerHost, peerSecret, n);
        await conn.close();
      }
      const cached = ctl.outputs().filter((o) => o.kind === 'note' && o.name === 'fmtp.key.cached');
      if (cached.length !== 1)
        fail('the key was not looked up exactly once', 'one fmtp.key.cached note', outputNames(peer));
    },
  },
  {
    id: 'fmtp/3/garbage',
    title: 'Bytes that are not KEY: value lines get REFUSED and a close; the target keeps serving others',
    section: '3',
    quote: 'Any bytes give a frame or a typed wire error, never a throw; lines and blocks are bounded.',
    requirements: ['FMTP-wire-strict'],
    level: 'MUST',
    async run(peer) {
      const bad = await connect(peer);
      await bad.send('not a frame\n\n');
      await expectRefused(bad, peer, 'line.syntax', 'garbage was not refused');
      const unknown = await connect(peer);
      const text = new TextDecoder().decode(encodeFrame(hello(peerHost, peerSecret)));
      await unknown.send(`${text.slice(0, -1)}COLOUR: blue\n\n`);
      await expectRefused(unknown, peer, 'field.unknown', 'an unknown field was not refused');
      await greet(peer);
    },
  },
  {
    id: 'fmtp/3/long-line',
    title: 'A line past 4096 bytes is refused before it ends',
    section: '3',
    quote: 'Limits: 4096 bytes a line, 32 lines a block.',
    requirements: ['FMTP-wire-strict'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(`TYPE: HELLO\nFROM: ${'x'.repeat(lineBytesMax + 100)}`);
      await expectRefused(conn, peer, 'line.too-long', 'an endless line was not refused');
    },
  },
  {
    id: 'fmtp/3/before-handshake',
    title: 'A REQUEST before the HELLO is refused (handshake.order) and closed',
    section: '3, 4',
    quote: 'Nothing from a refused peer is used.',
    requirements: ['FMTP-wire-strict', 'FMTP-mutual-hash'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(encodeFrame(request(peer, 'bob@b.test')));
      await expectRefused(conn, peer, 'handshake.order', 'a REQUEST before the handshake was not refused');
    },
  },
  {
    id: 'fmtp/3.2/request-fields',
    title:
      'A REQUEST of TYPE, FROM, OBJECT, TRANSACTION is answered on its transaction; one without TRANSACTION is refused',
    section: '3.2',
    quote: 'A request looks like this: TYPE (REQUEST), FROM, OBJECT, TRANSACTION.',
    requirements: ['FMTP-request-fields', 'FMTP-wire-strict'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const asked = request(peer, 'bob@b.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the owner did not answer with the object',
        (f) => isObjectFor('bob@b.test', asked.transaction)(f) && f.properties.address === 'bob@b.test',
        `OBJECT bob@b.test on ${asked.transaction}`,
      );
      await conn.send('TYPE: REQUEST\nFROM: peer.test\nOBJECT: bob@b.test\n\n');
      await expectRefused(conn, peer, 'field.missing', 'a REQUEST without TRANSACTION was not refused');
    },
  },
  {
    id: 'fmtp/5/cache-first',
    title: 'A cached object is answered at once, without asking anyone',
    section: '5',
    quote: 'When you want an object, you should look for it in this order: 1. Local cache …',
    requirements: ['FMTP-lookup-order'],
    level: 'MUST',
    async run(peer) {
      const other = await peer.listen(ports.other);
      const conn = await greet(peer);
      const asked = request(peer, 'cal@cached.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'a cached object was not answered from the cache',
        isObjectFor('cal@cached.test', asked.transaction),
      );
      await expectNoDial(other, quietMs, 'the target asked a gateway for a cached object');
    },
  },
  {
    id: 'fmtp/5/lookup-order',
    title: 'Owner, then MX, then gateway: each failing step moves on, and the gateway’s OBJECT is forwarded',
    section: '5, 5.2',
    quote:
      'When you want an object, you should look for it in this order: 1. Local cache 2. Object owner 3. MX server for object 4. gateway for object',
    requirements: ['FMTP-lookup-order', 'FMTP-outcome-failure-next-step', 'FMTP-outcome-looking'],
    level: 'MUST',
    async run(peer) {
      const owner = await peer.listen(ports.owner);
      const mx = await peer.listen(ports.mx);
      const gateway = await peer.listen(ports.other);
      const conn = await greet(peer);
      const object = '1812.calin@own.test/photo';
      const asked = request(peer, object);
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      await refuseDial(peer, owner, 'own.test'); // Step 2: the owner calin@own.test, at its cached route.
      await refuseDial(peer, mx, 'own.test'); // Step 3: the MX of own.test.
      const step4 = await serveRequest(peer, gateway, 'gw2.test', object); // Step 4: the *@* gateway.
      await step4.conn.send(
        encodeFrame({
          type: 'OBJECT',
          object,
          transaction: step4.request.transaction,
          properties: { address: '1812.calin@own.test', status: 'ONLINE' },
        }),
      );
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the gateway’s OBJECT was not forwarded',
        isObjectFor(object, asked.transaction),
      );
    },
  },
  {
    id: 'fmtp/5.2/found-cache',
    title: 'An OBJECT from the MX is forwarded and cached: the same REQUEST again is answered without a lookup',
    section: '5.2',
    quote: 'I have object: Store object in local cache, and stop looking.',
    requirements: ['FMTP-outcome-found-cache', 'FMTP-outcome-looking', 'FMTP-mutual-hash'],
    level: 'MUST',
    async run(peer) {
      const mx = await peer.listen(ports.mx);
      const gateway = await peer.listen(ports.other);
      const conn = await greet(peer);
      const first = request(peer, 'ann@far.test');
      await conn.send(encodeFrame(first));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      const step3 = await serveRequest(peer, mx, 'far.test', 'ann@far.test');
      await step3.conn.send(
        encodeFrame({
          type: 'OBJECT',
          object: 'ann@far.test',
          transaction: step3.request.transaction,
          properties: { address: 'ann@far.test', status: 'AWAY', givenName: 'Ann' },
        }),
      );
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the MX’s OBJECT was not forwarded',
        isObjectFor('ann@far.test', first.transaction),
      );
      await expectNoDial(gateway, quietMs, 'the target looked further after "I have object"');
      const again = request(peer, 'ann@far.test');
      await conn.send(encodeFrame(again));
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the found object was not answered from the cache',
        (f) => isObjectFor('ann@far.test', again.transaction)(f) && f.properties.givenName === 'Ann',
      );
      await expectNoDial(mx, quietMs, 'the target asked the MX again for an object it had cached');
    },
  },
  {
    id: 'fmtp/5.2/not-found-authoritative',
    title: 'An unknown object of the target’s own domain gets NOT-FOUND at once',
    section: '5.2',
    quote: 'A node answers a REQUEST … NOT-FOUND if the object is in its own domain or it does not proxy.',
    requirements: ['FMTP-outcome-not-found'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const asked = request(peer, 'nobody@b.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(
        conn,
        peer.answerMs,
        'NOT-FOUND',
        'an unknown user of b.test was not answered NOT-FOUND',
        (f) => f.transaction === asked.transaction && f.object === 'nobody@b.test',
      );
    },
  },
  {
    id: 'fmtp/5.2/not-found-gives-up',
    title: 'NOT-FOUND from the MX ends the lookup: forwarded, and no gateway is asked',
    section: '5.2',
    quote: 'Object does not exist: For 1, proceed to 2. For 2, 3, or 4, give up.',
    requirements: ['FMTP-outcome-not-found'],
    level: 'MUST',
    async run(peer) {
      const mx = await peer.listen(ports.mx);
      const gateway = await peer.listen(ports.other);
      const conn = await greet(peer);
      const asked = request(peer, 'zed@far.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      const step3 = await serveRequest(peer, mx, 'far.test', 'zed@far.test');
      await step3.conn.send(
        encodeFrame({ type: 'NOT-FOUND', object: 'zed@far.test', transaction: step3.request.transaction }),
      );
      await expectFrame(
        conn,
        peer.answerMs,
        'NOT-FOUND',
        'NOT-FOUND was not forwarded',
        (f) => f.transaction === asked.transaction,
      );
      await expectNoDial(gateway, quietMs, 'the target asked the gateway after NOT-FOUND');
    },
  },
  {
    id: 'fmtp/5.2/failure',
    title: 'No MX and an unreachable gateway: the outcome is failure (FAILED to the requester)',
    section: '5.2',
    quote: 'Failure: Could not connect to node. Applies to 2, 3, and 4.',
    requirements: ['FMTP-outcome-failure'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const asked = request(peer, 'x@nowhere.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      await expectFrame(
        conn,
        peer.answerMs + lookingMs,
        'FAILED',
        'an unreachable gateway did not end in failure',
        (f) => f.transaction === asked.transaction && f.object === 'x@nowhere.test',
      );
    },
  },
  {
    id: 'fmtp/5.2/looking-wait',
    title: 'A gateway’s LOOKING is waited on: nothing else is asked, and its later OBJECT is forwarded',
    section: '5.2',
    quote:
      'I will look for the object: Applies to 3 and 4. Wait for a response, and do not look further. If you are asking by proxy, you may consider the request closed.',
    requirements: ['FMTP-outcome-looking'],
    level: 'MUST',
    async run(peer) {
      const gateway = await peer.listen(ports.split);
      const other = await peer.listen(ports.other);
      const conn = await greet(peer);
      const asked = request(peer, 'kim@split.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      const step4 = await serveRequest(peer, gateway, 'gw1.test', 'kim@split.test');
      const txn = step4.request.transaction;
      await step4.conn.send(encodeFrame({ type: 'LOOKING', object: 'kim@split.test', transaction: txn }));
      await expectNoDial(other, quietMs, 'the target looked further after "I will look"');
      await step4.conn.send(
        encodeFrame({
          type: 'OBJECT',
          object: 'kim@split.test',
          transaction: txn,
          properties: { address: 'kim@split.test' },
        }),
      );
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the final answer after LOOKING was not forwarded',
        isObjectFor('kim@split.test', asked.transaction),
      );
    },
  },
  {
    id: 'fmtp/5.3/hops',
    title:
      'HOPS 0 gets FAILED hops.exhausted (own users still answered); HOPS 3 is asked onward with 2; 256 is refused',
    section: '5.3',
    quote:
      'A proxy that looks on behalf of a REQUEST with HOPS h sends its own REQUESTs with h - 1. A REQUEST that would be proxied but has HOPS 0 gets FAILED hops.exhausted instead of LOOKING.',
    requirements: ['FMTP-proxy-hops'],
    level: 'MUST',
    async run(peer) {
      const gateway = await peer.listen(ports.split);
      const conn = await greet(peer);
      const stopped = request(peer, 'x@split.test', 0);
      await conn.send(encodeFrame(stopped));
      await expectFrame(
        conn,
        peer.answerMs,
        'FAILED',
        'HOPS 0 was not answered FAILED hops.exhausted',
        (f) => f.transaction === stopped.transaction && f.reason === 'hops.exhausted',
        'FAILED hops.exhausted',
      );
      await expectNoDial(gateway, quietMs, 'the target looked further for a REQUEST with HOPS 0');
      const own = request(peer, 'bob@b.test', 0);
      await conn.send(encodeFrame(own));
      await expectFrame(conn, peer.answerMs, 'OBJECT', 'HOPS 0 stopped an answer about its own user');
      await conn.send(encodeFrame(request(peer, 'y@split.test', 3)));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'HOPS 3 was not proxied');
      const onward = await serveRequest(peer, gateway, 'gw1.test', 'y@split.test');
      if (onward.request.hops !== 2)
        fail('the onward REQUEST does not carry one HOPS less', 'HOPS: 2', show(onward.request));
      await conn.send(
        `TYPE: REQUEST\nFROM: peer.test\nOBJECT: z@split.test\nTRANSACTION: ${transaction(peer)}\nHOPS: 256\n\n`,
      );
      await expectRefused(conn, peer, 'field.invalid', 'HOPS 256 was not refused');
    },
  },
  {
    id: 'fmtp/6/route-patterns',
    title: 'The first matching route picks the gateway: *@split.test before *@*',
    section: '6',
    quote: 'users that match *@splitreflection.com might go through one gateway, while *@* will go through another.',
    requirements: ['FMTP-routing-patterns'],
    level: 'MUST',
    async run(peer) {
      const split = await peer.listen(ports.split);
      const other = await peer.listen(ports.other);
      const conn = await greet(peer);
      for (const [object, listener, domain, wrong] of [
        ['ann@split.test', split, 'gw1.test', other],
        ['bea@other.test', other, 'gw2.test', split],
      ] as const) {
        const asked = request(peer, object);
        await conn.send(encodeFrame(asked));
        await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
        const step4 = await serveRequest(peer, listener, domain, object);
        await step4.conn.send(encodeFrame({ type: 'NOT-FOUND', object, transaction: step4.request.transaction }));
        await expectFrame(conn, peer.answerMs, 'NOT-FOUND', 'NOT-FOUND was not forwarded');
        await expectNoDial(wrong, 0, `${object} also went to the other gateway`);
      }
    },
  },
  {
    id: 'fmtp/8/redirect-object',
    title: 'The OBJECT of a user with a route says where to connect: ROUTE dave.b.test 8000 tcp',
    section: '8',
    quote: 'Lenore: This is lost@lenore.org. Connect to lost.lenore.org, port 8000 tcp',
    requirements: ['FMTP-redirect'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      await conn.send(encodeFrame(request(peer, 'dave@b.test')));
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the OBJECT does not carry the user’s route',
        (f) =>
          f.properties.route?.host === 'dave.b.test' &&
          f.properties.route.port === 8000 &&
          f.properties.route.transport === 'tcp',
        'OBJECT with ROUTE: dave.b.test 8000 tcp',
      );
    },
  },
  {
    id: 'fmtp/8/redirect-send',
    title: 'A message is carried as the recipient’s OBJECT recommends: to its ROUTE',
    section: '8',
    quote: 'Lenore: This is lost@lenore.org. Connect to lost.lenore.org, port 8000 tcp',
    requirements: ['FMTP-redirect'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      const mx = await peer.listen(ports.mx);
      const direct = await peer.listen(ports.owner);
      control(peer).command({ type: 'send', from: 'bob@b.test', to: 'lost@far.test', body: 'direct' });
      const step3 = await serveRequest(peer, mx, 'far.test', 'lost@far.test');
      await step3.conn.send(encodeFrame(lostOnlineAt(ports.owner, step3.request.transaction)));
      const carried = await serve(peer, direct, 'far.test');
      const sent = carried.first;
      if (sent.type !== 'MESSAGE' || sent.body !== 'direct' || sent.to !== 'lost@far.test')
        fail('the MESSAGE did not come to the recommended route', 'MESSAGE to lost@far.test', show(sent));
      await carried.conn.send(encodeFrame({ type: 'ACCEPTED', transaction: sent.transaction }));
      const ctl = control(peer);
      const accepted = await peer.waitUntil(() => ctl.outputs().some((o) => o.name === 'fmtp.message.accepted'), {
        timeoutMs: peer.answerMs,
      });
      if (!accepted) fail('the target did not take the ACCEPTED', 'note fmtp.message.accepted', outputNames(peer));
    },
  },
  {
    id: 'fmtp/8/reconnect-mx',
    title: 'When the recommended route is unreachable, the message goes to the MX server of the domain',
    section: '8',
    quote: 'Poe cannot reach lost.lenore.org, so reconnects to mail.lenore.org',
    requirements: ['FMTP-reconnect-mx'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      const mx = await peer.listen(ports.mx);
      control(peer).command({ type: 'send', from: 'bob@b.test', to: 'lost@far.test', body: 'via mx' });
      const step3 = await serveRequest(peer, mx, 'far.test', 'lost@far.test');
      // Nobody listens at the recommended route in this case.
      await step3.conn.send(encodeFrame(lostOnlineAt(ports.owner, step3.request.transaction)));
      // The MESSAGE may come over the lookup's connection if the target keeps it open, else on a new one.
      const reused = await step3.conn.expect(readFrame, { timeoutMs: quietMs });
      const carried = reused.ok ? { conn: step3.conn, first: reused.value } : await serve(peer, mx, 'far.test');
      const sent = carried.first;
      if (sent.type !== 'MESSAGE' || sent.body !== 'via mx')
        fail('the MESSAGE did not come to the MX server', 'MESSAGE via mx', show(sent));
      await carried.conn.send(encodeFrame({ type: 'ACCEPTED', transaction: sent.transaction }));
    },
  },
  {
    id: 'fmtp/8/relay-logged-in',
    title: 'A message for a logged-in user is relayed over that user’s connection',
    section: '8',
    quote: 'Lenore uses an existing logged-in connection from lost@lenore.org',
    requirements: ['FMTP-relay-logged-in'],
    level: 'MUST',
    async run(peer) {
      const login = await greet(peer, 'lost@b.test', lostSecret);
      const conn = await greet(peer, peerHost, peerSecret, 2);
      const sent = message(peer, 'pat@peer.test', 'lost@b.test', 'to your logged-in node');
      const answer = await deliver(peer, conn, sent);
      if (answer.type !== 'ACCEPTED') fail('the message was not accepted', 'ACCEPTED', show(answer));
      const relayed = await expectFrame(
        login,
        peer.answerMs,
        'MESSAGE',
        'the message was not relayed over the logged-in connection',
        (f) => f.body === sent.body && f.from === sent.from && f.to === sent.to,
      );
      await login.send(encodeFrame({ type: 'ACCEPTED', transaction: relayed.transaction }));
    },
  },
  {
    id: 'fmtp/7/blacklist',
    title: 'A sender on the recipient’s BLACKLIST gets REJECTED sender-blacklisted',
    section: '7',
    quote: 'BLACKLIST: space-separated address patterns.',
    requirements: ['FMTP-refusal'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const answer = await deliver(peer, conn, message(peer, 'pat@peer.test', 'carol@b.test', 'blocked'));
      if (answer.type !== 'REJECTED' || answer.code !== 'sender-blacklisted')
        fail('a blacklisted sender was not refused', 'REJECTED sender-blacklisted', show(answer));
    },
  },
  {
    id: 'fmtp/7/whitelist-policy',
    title: 'WHITELIST overrides the BLACKLIST; POLICY REJECT refuses unlisted senders',
    section: '7',
    quote: 'WHITELIST overrides the blacklist; POLICY: Accept / Reject / confirm for unlisted senders.',
    requirements: ['FMTP-refusal'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const listed = await deliver(peer, conn, message(peer, 'pat@peer.test', 'dora@b.test', 'whitelisted'));
      if (listed.type !== 'ACCEPTED') fail('a whitelisted sender was refused', 'ACCEPTED', show(listed));
      const other = await deliver(peer, conn, message(peer, 'mia@peer.test', 'dora@b.test', 'not listed'));
      if (other.type !== 'REJECTED' || other.code !== 'sender-blacklisted')
        fail('the blacklist did not apply to an unlisted sender', 'REJECTED sender-blacklisted', show(other));
      const policy = await deliver(peer, conn, message(peer, 'pat@peer.test', 'erin@b.test', 'policy'));
      if (policy.type !== 'REJECTED' || policy.code !== 'policy-reject')
        fail('POLICY REJECT was not applied', 'REJECTED policy-reject', show(policy));
    },
  },
  {
    id: 'fmtp/7/sender-authentic',
    title: 'A verified peer may send only for its own domain: another sender gets REJECTED sender-unauthenticated',
    section: '7',
    quote:
      'For a MESSAGE to a local user: the peer’s verified domain must be the sender’s domain, or the peer is our own home server (`sender-unauthenticated`).',
    requirements: ['FMTP-sender-authentic'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const forged = await deliver(peer, conn, message(peer, 'mallory@evil.test', 'bob@b.test', 'forged'));
      if (forged.type !== 'REJECTED' || forged.code !== 'sender-unauthenticated')
        fail('a sender of another domain was accepted', 'REJECTED sender-unauthenticated', show(forged));
      const own = await deliver(peer, conn, message(peer, 'pat@peer.test', 'bob@b.test', 'authentic'));
      if (own.type !== 'ACCEPTED') fail('a sender of the peer’s own domain was refused', 'ACCEPTED', show(own));
      if (peer.control) {
        const bodies = peer.control
          .outputs()
          .filter((o) => o.kind === 'deliver')
          .map((o) => o.body);
        if (bodies.join() !== 'authentic')
          fail('the deliveries are not just the authentic message', '["authentic"]', JSON.stringify(bodies));
      }
    },
  },
  {
    id: 'fmtp/9/deterministic',
    title: 'The target’s key and nonces come from the run seed',
    section: '9',
    quote: 'Keys and nonces come from the run seed: the same seed gives the same outputs.',
    requirements: ['FMTP-deterministic'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      const sent = hello(peerHost, peerSecret);
      await conn.send(encodeFrame(sent));
      const welcome = await expectFrame(conn, peer.answerMs, 'WELCOME', 'no WELCOME');
      // An external server has its own seed (or none): what it drew is only reported.
      if (!peer.control) return { verdict: 'INFORMATIONAL', message: `WELCOME nonce ${welcome.nonce}` };
      const seedKey = toBase64(publicKeyOf(secretKeyFor(seed, target)));
      if (!verifyByAny(welcomeText(target, peerHost, welcome.nonce, sent.nonce), welcome.hash, [seedKey]))
        fail('the WELCOME is not signed with the key of stream fmtp-key:b.test', seedKey, show(welcome));
      // The node's stream `node:b.test` gives its nonces; a few draws of slack for other uses of it.
      const stream = streamFor(seed, `node:${target}`);
      const draws = Array.from({ length: 8 }, () => toHex(stream.bytes(16)));
      if (!draws.includes(welcome.nonce))
        fail('the WELCOME nonce is not drawn from the seeded stream node:b.test', draws.join(' or '), welcome.nonce);
    },
  },
];

export const fmtpSuite: Suite<Peer> = {
  protocol: 'fmtp',
  title: 'FMTP',
  requirements,
  builtin: withPeerRecords(fmtp),
  scheme: 'tcp',
  target: { id: target, port: 7465 },
  peerHost,
  fixtures: { main: mainFixture },
  seed,
  cases,
};
