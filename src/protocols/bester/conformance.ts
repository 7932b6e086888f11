/**
 * The Bester conformance suite (src/protocols/bester/spec.md): cases that log in to the target as its
 * clients, send it bad frames, play its handler processes on their local sockets, connect to it as
 * another server, serve it as the server it forwards to, and ask its informer. Every case quotes the
 * rule it checks with its section; frames are built and read with Bester's own wire.ts.
 *
 * The target must be configured like `fixtures.main` (docs/conformance.md): server b.test on port 2223,
 * profile fixed, handlers `relay`, `echo` and `absent` on the local paths below, and the informer on
 * its path. Cases that play a handler or the informer's client need the target host's local sockets
 * (local-peer.ts): the simulator and RealHost targets have them, an external server does not
 * (UNIMPLEMENTED). The `besterd-2020` variant is the same server under the faithful profile.
 *
 * Must not: read a clock (waits go through the Peer).
 */
import { bester } from './index.js';
import { hopsMax } from './server.js';
import { requirements } from './requirements.js';
import {
  FrameDecoder,
  authMessage,
  clientMessage,
  encodeFrame,
  forwardedMessage,
  frameBytesMax,
  handlerReply,
  jsonDepthMax,
  lengthPrefixBytes,
  parseJson,
  parseServerToClient,
  statusReport,
  type ServerToClient,
} from './wire.js';
import { openLocal, type LocalAccess } from '../../conformance/local-peer.js';
import type { Conn, Listener, Peer, Reader } from '../../conformance/peer.js';
import { fail, unimplemented, type Case, type Suite } from '../../conformance/types.js';

const seed = 7;
const target = 'b.test';
const port = 2223;
const peerServer = 'peer.test';
const peerPort = 2223;

/** Local socket paths of the fixture's handlers and informer (under a RealHost's socketDir). */
const paths = {
  relay: 'conformance-bester/relay.sock',
  echo: 'conformance-bester/echo.sock',
  /** Nothing ever listens here: the handler that is down. */
  absent: 'conformance-bester/absent.sock',
  informer: 'conformance-bester/informer.sock',
};

/** Short, so that a slow-handler case takes about a second on real sockets. */
const handlerTimeoutMs = 1_000;
/** How long "nothing arrives" is watched for. */
const quietMs = 300;

const mainFixture = {
  role: 'server',
  profile: 'fixed',
  port,
  handlers: { relay: { path: paths.relay }, echo: { path: paths.echo }, absent: { path: paths.absent } },
  informerPath: paths.informer,
  handlerTimeoutMs,
  adminInfo: { operator: 'conformance' },
};

const faithfulFixture = { ...mainFixture, profile: 'besterd-2020' };

// ---------------------------------------------------------------------------------------------------
// Wire helpers.

/** Reads one frame and parses its JSON, with wire.ts's own decoders (length limits included). */
const readFrame: Reader<unknown> = (bytes) => {
  const bodies = new FrameDecoder().push(bytes);
  if (!bodies.ok) return { kind: 'error', message: `${bodies.error.code}: ${bodies.error.message}` };
  const body = bodies.value[0];
  if (body === undefined) return { kind: 'more' };
  const json = parseJson(body);
  if (!json.ok) return { kind: 'error', message: `${json.error.code}: ${json.error.message}` };
  return { kind: 'value', value: json.value, used: lengthPrefixBytes + body.length };
};

/** Reads one frame the server sends a client: a status report, a received message or a dummy reply. */
const readServerMessage: Reader<ServerToClient> = (bytes, closed) => {
  const frame = readFrame(bytes, closed);
  if (frame.kind !== 'value') return frame;
  const message = parseServerToClient(frame.value);
  if (!message.ok) return { kind: 'error', message: `${message.error.code}: ${show(frame.value)}` };
  return { kind: 'value', value: message.value, used: frame.used };
};

/** JSON with sorted keys, so that two values compare by content. */
function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

const same = (a: unknown, b: unknown) => show(a) === show(b);

function message(type: string, id: string, data: unknown): Uint8Array {
  return encodeFrame(clientMessage({ type, id, data }));
}

async function connect(peer: Peer): Promise<Conn> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', 'a TCP connection', 'refused or timed out');
  return conn;
}

/** Waits for the next frame to a client and fails the case unless `check` accepts it. */
async function expectMessage(
  conn: Conn,
  timeoutMs: number,
  expected: string,
  check: (message: ServerToClient) => boolean,
  what: string,
): Promise<ServerToClient> {
  const got = await conn.expect(readServerMessage, { timeoutMs });
  if (!got.ok) fail(what, expected, `${got.reason}: ${got.message}`);
  if (!check(got.value)) fail(what, expected, show(got.value));
  return got.value;
}

const isStatus = (status: 'good' | 'bad', id: string) => (m: ServerToClient) =>
  m.kind === 'statusReport' && m.status === status && m.id === id;

const isReceived = (type: string, data: unknown) => (m: ServerToClient) =>
  m.kind === 'receivedMessage' && m.type === type && same(m.data, data);

async function expectStatus(peer: Peer, conn: Conn, status: 'good' | 'bad', id: string, what: string, waitMs = 0) {
  await expectMessage(conn, peer.answerMs + waitMs, show(statusReport(status, id)), isStatus(status, id), what);
}

/** Logs in as a client (spec.md §3) and waits for the auth_special status report. */
async function login(peer: Peer, username: string): Promise<Conn> {
  const conn = await connect(peer);
  await conn.send(encodeFrame(authMessage(username, `pw-${username}`)));
  await expectStatus(peer, conn, 'good', 'auth_special', `${username} could not log in`);
  return conn;
}

/** Fails the case if a frame arrives within `ms`. */
async function expectNothing(conn: Conn, ms: number, what: string): Promise<void> {
  const got = await conn.expect(readFrame, { timeoutMs: ms });
  if (got.ok) fail(what, `nothing within ${ms} ms`, show(got.value));
}

/** Fails the case unless the target closes the connection without sending a frame (spec.md §2, §3). */
async function expectSilentClose(conn: Conn, timeoutMs: number, what: string): Promise<void> {
  const got = await conn.expect(readFrame, { timeoutMs });
  if (got.ok) fail(what, 'the connection closed without a frame', show(got.value));
  if (got.reason !== 'closed') fail(what, 'the connection closed without a frame', `${got.reason}: ${got.message}`);
}

/** Runs `body` with the target host's local sockets, or ends the case UNIMPLEMENTED without them. */
async function withLocal<T>(peer: Peer, body: (local: LocalAccess) => Promise<T>): Promise<T> {
  const local = openLocal(peer, besterSuite);
  if (!local) unimplemented('needs the target host’s local sockets (handlers, informer): sim or RealHost only');
  try {
    return await body(local);
  } finally {
    await local.close();
  }
}

/** Waits for the target to connect to a handler and read what it sends: only `payload.data` (spec.md §4). */
async function acceptHandler(peer: Peer, listener: Listener, name: string): Promise<{ conn: Conn; data: unknown }> {
  const conn = await listener.accept({ timeoutMs: peer.answerMs });
  if (!conn) fail(`the target did not connect to handler ${name}`, `a connection to ${listener.address}`, 'none');
  const got = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
  if (!got.ok) fail(`handler ${name} got no frame`, 'one frame holding payload.data', `${got.reason}: ${got.message}`);
  return { conn, data: got.value };
}

/** Plays a handler for one message: checks the data it gets, answers `reply`, and expects the server to close. */
async function serveHandler(
  peer: Peer,
  listener: Listener,
  name: string,
  data: unknown,
  reply: unknown,
): Promise<void> {
  const handler = await acceptHandler(peer, listener, name);
  if (!same(handler.data, data)) fail(`handler ${name} got something else`, show(data), show(handler.data));
  await handler.conn.send(encodeFrame(reply));
  if (!(await handler.conn.expectClosed({ timeoutMs: peer.answerMs })))
    fail(`the server kept handler ${name}’s connection open`, 'it closes after one reply', 'still open');
}

/** Asks the informer one request and returns its reply (spec.md §6). */
async function ask(peer: Peer, informer: Conn, type: string, data?: unknown): Promise<unknown> {
  await informer.send(encodeFrame({ command: data === undefined ? { type } : { type, data } }));
  const got = await informer.expect(readFrame, { timeoutMs: peer.answerMs });
  if (!got.ok) fail(`the informer did not answer ${type}`, 'a reply {status, data}', `${got.reason}: ${got.message}`);
  return got.value;
}

async function expectReply(peer: Peer, informer: Conn, type: string, data: unknown, expected: unknown) {
  const reply = await ask(peer, informer, type, data);
  if (!same(reply, expected)) fail(`the informer’s ${type} ${show(data) ?? ''} is wrong`, show(expected), show(reply));
}

// ---------------------------------------------------------------------------------------------------
// Cases.

const sendClientsQuote =
  'sendClients, data = list of usernames: every locally connected, authenticated client whose username is listed (each connection once) gets {"header":{"messageType":"receivedMessage"},"payload":{"data":D,"type":<handler name>}}; the originator gets good (also when nobody matched).';

const refuseQuote = 'Refused credentials: silent close. … Any other scope, no header, not an object: silent close.';

const cases: Case<Peer>[] = [
  {
    id: 'bester/2/frame',
    title: 'Every frame is a 4-byte little-endian byte count and UTF-8 JSON, both ways',
    section: '2',
    quote: '[int32 little-endian byte count][UTF-8 JSON], no terminator (bformat 1.0.8).',
    requirements: ['BESTER-2-frame'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(encodeFrame(authMessage('alice', 'pw')));
      const raw: Reader<{ length: number; body: Uint8Array }> = (bytes) => {
        if (bytes.length < lengthPrefixBytes) return { kind: 'more' };
        const length = new DataView(bytes.buffer, bytes.byteOffset, lengthPrefixBytes).getInt32(0, true);
        if (length < 0 || length > frameBytesMax) return { kind: 'error', message: `length ${length}` };
        if (bytes.length < lengthPrefixBytes + length) return { kind: 'more' };
        const body = bytes.slice(lengthPrefixBytes, lengthPrefixBytes + length);
        return { kind: 'value', value: { length, body }, used: lengthPrefixBytes + length };
      };
      const got = await conn.expect(raw, { timeoutMs: peer.answerMs });
      if (!got.ok) fail('no frame came back', 'a length-prefixed frame', `${got.reason}: ${got.message}`);
      const json = parseJson(got.value.body);
      if (!json.ok) fail('the frame body is not UTF-8 JSON', 'UTF-8 JSON', json.error.message);
      const expected = statusReport('good', 'auth_special');
      if (!same(json.value, expected)) fail('the frame holds something else', show(expected), show(json.value));
    },
  },
  {
    id: 'bester/3/auth',
    title: 'A client first message gets good auth_special, and its payload is not dispatched',
    section: '3',
    quote:
      'The server accepts any username that is non-empty after trimming whitespace and any non-empty password …, answers {"header":{"status":"good","messageType":"statusReport"},"payload":{"id":"auth_special"}}, registers the connection under the trimmed username, and does not dispatch the first payload.',
    requirements: ['BESTER-3-auth'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      const first = {
        header: { scope: 'client', authentication: { username: '  alice ', password: 'pw' } },
        payload: { type: 'dummy', id: 'first', data: null },
      };
      await conn.send(encodeFrame(first));
      await expectStatus(peer, conn, 'good', 'auth_special', 'a good first message was not answered auth_special');
      await expectNothing(conn, quietMs, 'the first message’s payload was dispatched');
      await conn.send(message('dummy', 'second', null));
      await expectMessage(
        conn,
        peer.answerMs,
        'the dummy reply for "second"',
        (m) => m.kind === 'dummy' && m.id === 'second',
        'the connection is not usable after the login',
      );
    },
  },
  {
    id: 'bester/3/refused-credentials',
    title: 'A blank username or an empty password closes the connection without a frame',
    section: '3',
    quote: refuseQuote,
    requirements: ['BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      for (const [username, password] of [
        ['   ', 'pw'],
        ['alice', ''],
      ] as const) {
        const conn = await connect(peer);
        await conn.send(encodeFrame(authMessage(username, password)));
        await expectSilentClose(conn, peer.answerMs, `credentials ${show({ username, password })} were not refused`);
      }
    },
  },
  {
    id: 'bester/3/refused-first-message',
    title: 'An unknown scope, a message without header, or one that is not an object is closed silently',
    section: '3',
    quote: refuseQuote,
    requirements: ['BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      const firsts: unknown[] = [
        { header: { scope: 'admin' }, payload: { type: 'dummy', id: 'x', data: null } },
        { payload: { type: 'dummy', id: 'x', data: null } },
        ['not', 'an', 'object'],
        { header: { scope: 'client' }, payload: { type: 'dummy', id: 'x', data: null } },
      ];
      for (const first of firsts) {
        const conn = await connect(peer);
        await conn.send(encodeFrame(first));
        await expectSilentClose(conn, peer.answerMs, `the first message ${show(first)} was not refused`);
      }
    },
  },
  {
    id: 'bester/3/refused-later-message',
    title: 'A later message without header, type, id or data is closed silently',
    section: '3',
    quote:
      'The header key must be present (its contents are ignored); type and id must be strings and data present (besterd cc359a1). Otherwise: silent close.',
    requirements: ['BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      const laters: unknown[] = [
        { payload: { type: 'dummy', id: 'x', data: null } },
        { header: {}, payload: { id: 'x', data: null } },
        { header: {}, payload: { type: 'dummy', data: null } },
        { header: {}, payload: { type: 'dummy', id: 7, data: null } },
        { header: {}, payload: { type: 'dummy', id: 'x' } },
      ];
      for (const later of laters) {
        const conn = await login(peer, 'alice');
        await conn.send(encodeFrame(later));
        await expectSilentClose(conn, peer.answerMs, `the message ${show(later)} was not refused`);
      }
    },
  },
  {
    id: 'bester/2/bad-json',
    title: 'Bad JSON, bad UTF-8 and JSON nested too deep close that connection; others are still served',
    section: '2',
    quote:
      'JSON nested deeper than jsonDepthMax = 64 is a wire error …; bad UTF-8 or bad JSON is a wire error. On a wire error the server closes the connection without any error frame, as the original does.',
    requirements: ['BESTER-2-decoder-total', 'BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      const carol = await login(peer, 'carol');
      const deep = `${'['.repeat(jsonDepthMax + 1)}${']'.repeat(jsonDepthMax + 1)}`;
      const bodies: [string, Uint8Array][] = [
        ['bad JSON', new TextEncoder().encode('{"header":')],
        ['bad UTF-8', new Uint8Array([0x22, 0xff, 0xfe, 0x22])],
        [`JSON ${jsonDepthMax + 1} deep`, new TextEncoder().encode(deep)],
      ];
      for (const [what, body] of bodies) {
        const frame = new Uint8Array(lengthPrefixBytes + body.length);
        new DataView(frame.buffer).setInt32(0, body.length, true);
        frame.set(body, lengthPrefixBytes);
        const first = await connect(peer);
        await first.send(frame);
        await expectSilentClose(first, peer.answerMs, `${what} as a first message was not refused`);
        const later = await login(peer, 'alice');
        await later.send(frame);
        await expectSilentClose(later, peer.answerMs, `${what} after the login was not refused`);
      }
      await carol.send(message('dummy', 'still-here', null));
      await expectMessage(
        carol,
        peer.answerMs,
        'the dummy reply',
        (m) => m.kind === 'dummy' && m.id === 'still-here',
        'the server stopped serving other connections',
      );
    },
  },
  {
    id: 'bester/2/bad-length',
    title: 'A negative length or one over frameBytesMax closes the connection at once, without a frame',
    section: '2',
    quote: 'A negative length or one over frameBytesMax = 1 MiB is a wire error.',
    requirements: ['BESTER-2-decoder-total'],
    level: 'MUST',
    async run(peer) {
      for (const length of [-1, frameBytesMax + 1]) {
        const header = new Uint8Array(lengthPrefixBytes);
        new DataView(header.buffer).setInt32(0, length, true);
        const conn = await login(peer, 'alice');
        // Only the header: the server must refuse it from the length alone, not wait for the body.
        await conn.send(header);
        await expectSilentClose(conn, peer.answerMs, `a frame of length ${length} was not refused`);
      }
    },
  },
  {
    id: 'bester/3/dummy',
    title: 'type "dummy" gets the dummy reply with the message id',
    section: '3',
    quote: 'dummy: reply {"header":{"status":"0"},"payload":{"data":null,"type":"dummy","id":ID}}.',
    requirements: ['BESTER-3-builtins'],
    level: 'MUST',
    async run(peer) {
      const conn = await login(peer, 'alice');
      for (const id of ['d-1', 'd-2']) {
        await conn.send(message('dummy', id, { ignored: true }));
        const got = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
        if (!got.ok) fail('no dummy reply', `the dummy reply for ${id}`, `${got.reason}: ${got.message}`);
        const expected = { header: { status: '0' }, payload: { data: null, type: 'dummy', id } };
        if (!same(got.value, expected)) fail('the dummy reply is wrong', show(expected), show(got.value));
      }
    },
  },
  {
    id: 'bester/3/builtin',
    title: 'type "builtin": command close ends the connection; any other command gets no reply',
    section: '3',
    quote: 'builtin: data.command.type == "close" closes the connection; anything else gets no reply (a note output).',
    requirements: ['BESTER-3-builtins'],
    level: 'MUST',
    async run(peer) {
      const conn = await login(peer, 'alice');
      await conn.send(message('builtin', 'b-1', { command: { type: 'reload' } }));
      await expectNothing(conn, quietMs, 'a builtin other than close was answered');
      await conn.send(message('dummy', 'd-after', null));
      await expectMessage(
        conn,
        peer.answerMs,
        'the dummy reply',
        (m) => m.kind === 'dummy' && m.id === 'd-after',
        'the connection did not survive a builtin other than close',
      );
      await conn.send(message('builtin', 'b-2', { command: { type: 'close' } }));
      await expectSilentClose(conn, peer.answerMs, 'builtin close did not close the connection');
    },
  },
  {
    id: 'bester/3/unknown-type',
    title: 'A message whose type has no handler gets a status report bad',
    section: '3',
    quote: 'anything else gets status report bad for id.',
    requirements: ['BESTER-3-unknown-type'],
    level: 'MUST',
    async run(peer) {
      const conn = await login(peer, 'alice');
      await conn.send(message('no-such-handler', 'u-1', 'hello?'));
      await expectStatus(peer, conn, 'bad', 'u-1', 'a message of an unknown type was not answered bad');
      await conn.send(message('dummy', 'u-2', null));
      await expectMessage(
        conn,
        peer.answerMs,
        'the dummy reply',
        (m) => m.kind === 'dummy' && m.id === 'u-2',
        'the connection did not survive an unknown type',
      );
    },
  },
  {
    id: 'bester/4/handler-dispatch',
    title: 'Each message opens a new local connection to its handler carrying only payload.data',
    section: '4',
    quote:
      'For each message the server opens a new local connection to the handler’s path, writes one frame holding only payload.data, reads one frame back and closes.',
    requirements: ['BESTER-4-handler-dispatch'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        for (const [id, data] of [
          ['m-1', { text: 'hallo', n: 1, list: [true, null] }],
          ['m-2', 'tweede'],
        ] as const) {
          await alice.send(message('relay', id, data));
          await serveHandler(peer, relay, 'relay', data, handlerReply('0', 'sendClients', [], null));
          await expectStatus(peer, alice, 'good', id, `the handler’s sendClients [] was not answered good`);
        }
      });
    },
  },
  {
    id: 'bester/4/send-clients',
    title: 'sendClients reaches exactly the listed clients, each connection once; the sender hears good',
    section: '4',
    quote: sendClientsQuote,
    requirements: ['BESTER-4-sendClients', 'BESTER-4-delivery'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        const bobs = [await login(peer, 'bob'), await login(peer, 'bob')];
        const carol = await login(peer, 'carol');
        await alice.send(message('relay', 'm-3', 'hi bob'));
        await serveHandler(peer, relay, 'relay', 'hi bob', handlerReply('0', 'sendClients', ['bob'], 'hoi bob'));
        await expectStatus(peer, alice, 'good', 'm-3', 'the sender did not hear good');
        for (const bob of bobs) {
          await expectMessage(
            bob,
            peer.answerMs,
            show({ header: { messageType: 'receivedMessage' }, payload: { data: 'hoi bob', type: 'relay' } }),
            isReceived('relay', 'hoi bob'),
            `bob’s connection ${bob.id} did not get the message`,
          );
          await expectNothing(bob, quietMs, `bob’s connection ${bob.id} got it twice`);
        }
        await expectNothing(carol, 0, 'carol, not listed, got a frame');
        await expectNothing(alice, 0, 'alice, not listed, got a frame');
      });
    },
  },
  {
    id: 'bester/4/send-servers',
    title: 'sendServers opens one scope "server" connection per host:port, sends one message with its id, closes',
    section: '4, 7',
    quote:
      'sendServers, data = list of "host:port": for each, a new TCP connection, one frame {"header":{"scope":"server"},"payload":{"data":D,"type":<handler name>,"id":ID}}, then close without reading. The originator gets good.',
    requirements: ['BESTER-4-sendServers', 'BESTER-7-bug1-forward-id'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const listener = await peer.listen(peerPort);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'm-4', 'to the world'));
        await serveHandler(
          peer,
          relay,
          'relay',
          'to the world',
          handlerReply('0', 'sendServers', [`${peerServer}:${peerPort}`], 'naar buite'),
        );
        const link = await listener.accept({ timeoutMs: peer.answerMs });
        if (!link) fail('the target did not connect to the listed server', `a connection to ${peerServer}`, 'none');
        const got = await link.expect(readFrame, { timeoutMs: peer.answerMs });
        const expected = forwardedMessage('relay', 'naar buite', 'm-4');
        if (!got.ok) fail('nothing was forwarded', show(expected), `${got.reason}: ${got.message}`);
        if (!same(got.value, expected)) fail('the forwarded message is wrong', show(expected), show(got.value));
        if (!(await link.expectClosed({ timeoutMs: peer.answerMs })))
          fail('the forwarding connection stayed open', 'closed after one message', 'still open');
        await expectStatus(peer, alice, 'good', 'm-4', 'the sender did not hear good');
      });
    },
  },
  {
    id: 'bester/4/server-scope',
    title: 'A scope "server" message goes to the handler of its type; the connection is closed after it',
    section: '3, 4',
    quote:
      '{"header":{"scope":"server"},"payload":{"type","id","data"}}: no authentication … The payload goes to the local handler of the same type; the connection is closed when that dispatch is done.',
    requirements: ['BESTER-4-sendServers', 'BESTER-4-delivery'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const bob = await login(peer, 'bob');
        const carol = await login(peer, 'carol');
        const link = await connect(peer);
        await link.send(encodeFrame(forwardedMessage('relay', 'van ver', 's-1')));
        await serveHandler(peer, relay, 'relay', 'van ver', handlerReply('0', 'sendClients', ['bob'], 'van ver'));
        await expectMessage(bob, peer.answerMs, 'the message', isReceived('relay', 'van ver'), 'bob did not get it');
        await expectSilentClose(link, peer.answerMs, 'the server connection was not closed after its dispatch');
        await expectNothing(carol, 0, 'carol, not listed, got a frame');
      });
    },
  },
  {
    id: 'bester/4/send-handler',
    title: 'sendHandler passes the reply data to the named handler and runs its reply, same message id',
    section: '4',
    quote:
      'sendHandler, data = another handler’s name: the server passes D to that handler and runs its reply the same way, with the same message id (Part 2: "Portuguese gadget" -> "English gadget").',
    requirements: ['BESTER-4-sendHandler', 'BESTER-4-delivery'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const echo = await local.listen(paths.echo);
        const alice = await login(peer, 'alice');
        const bob = await login(peer, 'bob');
        await alice.send(message('relay', 'm-5', 'Portuguese gadget'));
        await serveHandler(
          peer,
          relay,
          'relay',
          'Portuguese gadget',
          handlerReply('0', 'sendHandler', 'echo', 'English gadget'),
        );
        await serveHandler(peer, echo, 'echo', 'English gadget', handlerReply('0', 'sendClients', ['bob'], 'done'));
        await expectMessage(
          bob,
          peer.answerMs,
          'the message from handler echo',
          isReceived('echo', 'done'),
          'the chained handler’s sendClients did not reach bob',
        );
        await expectStatus(peer, alice, 'good', 'm-5', 'the sender did not hear good for the same id');
      });
    },
  },
  {
    id: 'bester/4/handler-down',
    title: 'A handler that is down gives a bad status report',
    section: '4',
    quote:
      'Failure cases, each a bad status report and never a hung server: the handler socket refuses (conn.failed: a handler that is down) …',
    requirements: ['BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async () => {
        const alice = await login(peer, 'alice');
        await alice.send(message('absent', 'h-1', 'anyone?'));
        await expectStatus(peer, alice, 'bad', 'h-1', 'a message for a handler that is down was not answered bad');
      });
    },
  },
  {
    id: 'bester/4/handler-slow',
    title: 'A handler that never answers gives bad after handlerTimeoutMs, and the next message is served',
    section: '4',
    quote:
      'the handler does not answer within handlerTimeoutMs (default 5000; the original hangs, issue #10) … each a bad status report and never a hung server.',
    requirements: ['BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'h-2', 'are you there'));
        const silent = await acceptHandler(peer, relay, 'relay');
        await expectStatus(
          peer,
          alice,
          'bad',
          'h-2',
          'a handler that never answers hung the message',
          handlerTimeoutMs,
        );
        if (!(await silent.conn.expectClosed({ timeoutMs: peer.answerMs })))
          fail('the server kept the silent handler’s connection', 'closed at the timeout', 'still open');
        await alice.send(message('relay', 'h-3', 'and now'));
        await serveHandler(peer, relay, 'relay', 'and now', handlerReply('0', 'sendClients', [], null));
        await expectStatus(peer, alice, 'good', 'h-3', 'the next message was not served');
      });
    },
  },
  {
    id: 'bester/4/handler-bad-replies',
    title: 'A handler closing early, or replying garbage, non-zero status, or a bad command, gives bad',
    section: '4',
    quote:
      'the handler closes without a reply, the reply is not JSON or lacks header.status / header.command, the command’s data has the wrong type, sendHandler names an unconfigured handler … each a bad status report and never a hung server.',
    requirements: ['BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        const replies: [string, Uint8Array | undefined][] = [
          ['closing without a reply', undefined],
          ['a reply that is not JSON', new Uint8Array([4, 0, 0, 0, 0x6e, 0x6f, 0x70, 0x65])],
          ['status "1"', encodeFrame(handlerReply('1', 'sendClients', ['alice'], 'x'))],
          ['no header.command', encodeFrame({ header: { status: '0' }, data: 'x' })],
          ['no header.status', encodeFrame({ header: { command: { type: 'sendClients', data: [] } }, data: 'x' })],
          ['sendClients data that is not a list', encodeFrame(handlerReply('0', 'sendClients', 'alice', 'x'))],
          ['sendHandler to an unconfigured handler', encodeFrame(handlerReply('0', 'sendHandler', 'nobody', 'x'))],
          ['sendServers to "not-an-address"', encodeFrame(handlerReply('0', 'sendServers', ['not-an-address'], 'x'))],
        ];
        let n = 0;
        for (const [what, reply] of replies) {
          const id = `r-${++n}`;
          await alice.send(message('relay', id, what));
          const handler = await acceptHandler(peer, relay, 'relay');
          if (reply === undefined) await handler.conn.close();
          else await handler.conn.send(reply);
          await expectStatus(peer, alice, 'bad', id, `a handler ${what} was not answered bad`);
        }
        await expectNothing(alice, 0, 'a bad reply still delivered something');
      });
    },
  },
  {
    id: 'bester/4/handler-cycle',
    title: `A sendHandler cycle ends with bad after at most hopsMax (${hopsMax}) handlers`,
    section: '4',
    quote:
      'or the chain visits more than hopsMax = 8 handlers (a cycle recursed without end in the original) … each a bad status report and never a hung server.',
    requirements: ['BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      return withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'c-1', 'round'));
        let visits = 0;
        // Far past hopsMax: a server without the bound keeps connecting, and the case stops it here.
        while (visits <= hopsMax * 2) {
          const conn = await relay.accept({ timeoutMs: Math.min(peer.answerMs, handlerTimeoutMs) });
          if (!conn) break;
          visits += 1;
          const got = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
          if (!got.ok) fail('the handler got no frame', 'the data', `${got.reason}: ${got.message}`);
          await conn.send(encodeFrame(handlerReply('0', 'sendHandler', 'relay', 'round')));
        }
        if (visits > hopsMax) fail('the cycle was not cut', `at most ${hopsMax} handler visits`, `${visits} visits`);
        await expectStatus(peer, alice, 'bad', 'c-1', 'a sendHandler cycle did not end with bad', handlerTimeoutMs);
        return { verdict: 'OK' as const, message: `cut after ${visits} handler visits` };
      });
    },
  },
  {
    id: 'bester/6/informer',
    title: 'The informer answers listClients, isClient, serverInfo, status 1 for unknown requests; quit ends it',
    section: '6, 7',
    quote:
      'Request {"command":{"type","data"}}, reply {"status":"0","data":...}: listClients (usernames, each once), isClient (data = username; bool), serverInfo …, quit (the server closes the session).',
    requirements: ['BESTER-6-informer', 'BESTER-7-bug3-isclient'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        await login(peer, 'alice');
        await login(peer, 'bob');
        await login(peer, 'bob');
        const informer = await local.connect(paths.informer, { timeoutMs: peer.answerMs });
        if (!informer) fail('the informer refused', `a connection to ${paths.informer}`, 'refused');
        const list = await ask(peer, informer, 'listClients');
        const names =
          typeof list === 'object' && list !== null && 'data' in list && Array.isArray(list.data)
            ? [...(list.data as unknown[])].sort()
            : list;
        if (!same(names, ['alice', 'bob']) || !same((list as { status?: unknown }).status, '0'))
          fail('listClients is wrong', '{"status":"0","data":["alice","bob"]} in any order', show(list));
        await expectReply(peer, informer, 'isClient', 'alice', { status: '0', data: true });
        await expectReply(peer, informer, 'isClient', 'zed', { status: '0', data: false });
        await expectReply(peer, informer, 'serverInfo', undefined, {
          status: '0',
          data: {
            clientCount: '3',
            adminInfo: { operator: 'conformance' },
            listeners: { listener0: { address: `tcp4://${target}:${port}` } },
          },
        });
        await expectReply(peer, informer, 'reboot', undefined, { status: '1', data: null });
        await informer.send(encodeFrame({ command: { type: 'quit' } }));
        await expectSilentClose(informer, peer.answerMs, 'quit did not end the informer session');
      });
    },
  },
  {
    id: 'bester/7/bug1-receiver-drops',
    title: 'A scope "server" message without id is closed and never reaches a handler',
    section: '3, 7',
    quote:
      'id is required, as for client messages. … forwarded message has no id; the receiving server (either profile) closes it.',
    requirements: ['BESTER-7-bug1-forward-id', 'BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const link = await connect(peer);
        await link.send(encodeFrame(forwardedMessage('relay', 'no id', undefined)));
        await expectSilentClose(link, peer.answerMs, 'a scope-server message without id was not refused');
        const reached = await relay.accept({ timeoutMs: quietMs });
        if (reached) fail('a message without id reached the handler', 'no handler connection', 'one');
      });
    },
  },
  {
    id: 'bester/7/bug1-besterd-2020',
    title: 'besterd-2020 forwards sendServers without the id, yet tells the sender good (faithful bug 1)',
    section: '7',
    quote:
      'sendServers forwards without id, but every receiver requires id: forwarded message has no id; … Part 2 federation never delivers, yet the originator hears good.',
    requirements: ['BESTER-7-bug1-forward-id'],
    level: 'MUST',
    variant: 'besterd-2020',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const listener = await peer.listen(peerPort);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'm-6', 'lost'));
        const reply = handlerReply('0', 'sendServers', [`${peerServer}:${peerPort}`], 'lost');
        await serveHandler(peer, relay, 'relay', 'lost', reply);
        const link = await listener.accept({ timeoutMs: peer.answerMs });
        if (!link) fail('the target did not connect to the listed server', `a connection to ${peerServer}`, 'none');
        const got = await link.expect(readFrame, { timeoutMs: peer.answerMs });
        const expected = forwardedMessage('relay', 'lost', undefined);
        if (!got.ok) fail('nothing was forwarded', show(expected), `${got.reason}: ${got.message}`);
        if (!same(got.value, expected))
          fail('the forwarded message is not the faithful one', show(expected), show(got.value));
        await expectStatus(peer, alice, 'good', 'm-6', 'the sender did not hear good');
      });
      return { verdict: 'OK', message: 'forwarded without id, as besterd-2020 does (use profile: fixed)' };
    },
  },
  {
    id: 'bester/7/bug2-fixed',
    title: 'An unknown handler command (the old spec’s sendClient) gets bad and delivers nothing',
    section: '7',
    quote: 'an unknown handler command leaves the D enum at its default: … fixed (default, ours): status report bad.',
    requirements: ['BESTER-7-bug2-unknown-command', 'BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        const bob = await login(peer, 'bob');
        await alice.send(message('relay', 'm-7', 'old spec'));
        await serveHandler(peer, relay, 'relay', 'old spec', handlerReply('0', 'sendClient', ['bob'], 'old spec'));
        await expectStatus(peer, alice, 'bad', 'm-7', 'an unknown handler command was not answered bad');
        await expectNothing(bob, quietMs, 'an unknown handler command delivered the message');
      });
    },
  },
  {
    id: 'bester/7/bug2-besterd-2020',
    title: 'besterd-2020 runs an unknown handler command as sendClients (faithful bug 2)',
    section: '7',
    quote:
      'an unknown handler command leaves the D enum at its default: treated as sendClients (e.g. the old spec’s sendClient).',
    requirements: ['BESTER-7-bug2-unknown-command'],
    level: 'MUST',
    variant: 'besterd-2020',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        const bob = await login(peer, 'bob');
        await alice.send(message('relay', 'm-8', 'old spec'));
        await serveHandler(peer, relay, 'relay', 'old spec', handlerReply('0', 'sendClient', ['bob'], 'old spec'));
        await expectStatus(peer, alice, 'good', 'm-8', 'the sender did not hear good');
        await expectMessage(bob, peer.answerMs, 'the message', isReceived('relay', 'old spec'), 'bob did not get it');
      });
      return { verdict: 'OK', message: 'run as sendClients, as besterd-2020 does (use profile: fixed)' };
    },
  },
  {
    id: 'bester/7/bug3-besterd-2020',
    title: 'besterd-2020 isClient answers the wrong way round (faithful bug 3)',
    section: '7',
    quote: 'isClient compares with cmp(...) the wrong way round: true when some other client is connected.',
    requirements: ['BESTER-7-bug3-isclient', 'BESTER-6-informer'],
    level: 'MUST',
    variant: 'besterd-2020',
    async run(peer) {
      await withLocal(peer, async (local) => {
        await login(peer, 'alice');
        const informer = await local.connect(paths.informer, { timeoutMs: peer.answerMs });
        if (!informer) fail('the informer refused', `a connection to ${paths.informer}`, 'refused');
        await expectReply(peer, informer, 'isClient', 'alice', { status: '0', data: false });
        await expectReply(peer, informer, 'isClient', 'zed', { status: '0', data: true });
      });
      return { verdict: 'OK', message: 'the wrong way round, as besterd-2020 does (use profile: fixed)' };
    },
  },
];

export const besterSuite: Suite<Peer> = {
  protocol: 'bester',
  title: 'Bester',
  requirements,
  builtin: bester,
  scheme: 'tcp',
  target: { id: target, port },
  peerHost: peerServer,
  fixtures: { main: mainFixture, 'besterd-2020': faithfulFixture },
  seed,
  cases,
};
