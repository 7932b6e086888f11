/**
 * The SOLEC conformance suite (src/protocols/solec/spec.md): cases that log in to the target as its
 * users, connect to it as another server, send it bad frames, and serve it as the remote server it
 * relays to. Every case quotes the rule it checks with its section; frames are built and read with
 * SOLEC's own wire.ts (and keys.ts for the signed profile).
 *
 * The target must be configured like `fixtures.main` (docs/conformance.md): server b.test with users
 * bob (password pb) and carol (pc), knowing server peer.test at port 7000. The `signed` variant is the
 * same server under `profile: signed`; only the testbed's own targets run it.
 *
 * Must not: read a clock (waits go through the Peer).
 */
import { solec } from '../index.js';
import { challengeText, serverKeys, signChallenge } from '../keys.js';
import { requirements } from '../requirements.js';
import { connType, decodeFrame, encodeFrame, headerBytes, toHex, type Payload } from '../wire.js';
import type { Conn, Peer, Reader } from '../../../conformance/peer.js';
import { concatBytes } from '../../../core/bytes.js';
import { fail, type Case, type Suite } from '../../../conformance/types.js';

const seed = 7;
const target = 'b.test';
const peerServer = 'peer.test';
const peerPort = 7000;
/** The fixture's timers, short so that real-socket runs take seconds. */
const retryMs = 300;

const mainFixture = {
  role: 'server',
  port: 7000,
  profile: 'seed',
  accounts: { bob: 'pb', carol: 'pc' },
  knownServers: [{ name: peerServer, host: peerServer, port: peerPort }],
  authTimeoutMs: 2_000,
  responseTimeoutMs: 2_000,
  retryMs,
  attemptsMax: 3,
};

const peerKeys = serverKeys(seed, peerServer);

const signedFixture = {
  ...mainFixture,
  profile: 'signed',
  knownServers: [{ name: peerServer, host: peerServer, port: peerPort, publicKey: toHex(peerKeys.publicKey) }],
};

// ---------------------------------------------------------------------------------------------------
// Wire helpers.

/** Reads one frame the target sent (it is a server on every connection). */
const readFrame: Reader<Payload> = (bytes) => {
  if (bytes.length < headerBytes) return { kind: 'more' };
  const length = ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
  if (bytes.length < headerBytes + length) return { kind: 'more' };
  const decoded = decodeFrame(bytes.subarray(0, headerBytes + length), 'server');
  if (!decoded.ok) return { kind: 'error', message: `${decoded.error.code}: ${decoded.error.message}` };
  return { kind: 'value', value: decoded.value, used: headerBytes + length };
};

function frames(...payloads: Payload[]): Uint8Array {
  return concatBytes(...payloads.map(encodeFrame));
}

const handshake = (type: 1 | 2, verMajor = 0): Payload => ({
  type: 'handshake',
  verMajor,
  verMinor: 4,
  connType: type === 1 ? connType.userToServer : connType.serverToServer,
});

const message = (id: string, from: string, to: string, body: string, timeMs = 1_000): Payload => ({
  type: 'message',
  id,
  from,
  to,
  timeMs,
  body,
});

function show(payload: Payload): string {
  return JSON.stringify(payload, (_key, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
}

/** Waits for the next frame and fails the case unless `check` accepts it. */
async function expectFrame(
  conn: Conn,
  timeoutMs: number,
  expected: string,
  check: (payload: Payload) => boolean,
  what: string,
): Promise<Payload> {
  const got = await conn.expect(readFrame, { timeoutMs });
  if (!got.ok) fail(what, expected, `${got.reason}: ${got.message}`);
  if (!check(got.value)) fail(what, expected, show(got.value));
  return got.value;
}

const isSuccess = (p: Payload) => p.type === 'success';
const isError = (code: number) => (p: Payload) => p.type === 'error' && p.code === code;

async function connect(peer: Peer): Promise<Conn> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', 'a TCP connection', 'refused or timed out');
  return conn;
}

async function login(peer: Peer, username: string, password: string): Promise<Conn> {
  const conn = await connect(peer);
  await conn.send(frames(handshake(1), { type: 'userAuth', username, password }));
  await expectFrame(conn, peer.answerMs, 'Success', isSuccess, `${username} could not log in`);
  return conn;
}

async function serverLogin(peer: Peer, name: string): Promise<Conn> {
  const conn = await connect(peer);
  await conn.send(frames(handshake(2), { type: 'serverAuth', name }));
  await expectFrame(conn, peer.answerMs, 'Success', isSuccess, `ServerAuth as ${name} was not accepted`);
  return conn;
}

/** Fails the case if a frame arrives within `ms`. */
async function expectNothing(conn: Conn, ms: number, what: string): Promise<void> {
  const got = await conn.expect(readFrame, { timeoutMs: ms });
  if (got.ok) fail(what, `nothing within ${ms} ms`, show(got.value));
}

/** Fails the case unless the target closes the connection without another frame. */
async function expectClosedOnly(conn: Conn, timeoutMs: number, what: string): Promise<void> {
  const got = await conn.expect(readFrame, { timeoutMs });
  if (got.ok) fail(what, 'the connection closed', show(got.value));
  if (got.reason !== 'closed') fail(what, 'the connection closed', `${got.reason}: ${got.message}`);
}

// ---------------------------------------------------------------------------------------------------
// Cases.

const cases: Case<Peer>[] = [
  {
    id: 'solec/4/login',
    title: 'Handshake and UserAuth with good credentials get Success: frame 01 00 00',
    section: '2.1, 2.2, 4',
    quote: 'Send [Handshake] … Send [UserAuth] … Send [Sucesss].',
    requirements: ['SOLEC-C2S-INIT', 'SOLEC-WIRE-FRAME', 'SOLEC-WIRE-SUCCESS-EMPTY'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(frames(handshake(1), { type: 'userAuth', username: 'bob', password: 'pb' }));
      const raw: Reader<Uint8Array> = (bytes) =>
        bytes.length >= headerBytes
          ? { kind: 'value', value: bytes.slice(0, headerBytes), used: headerBytes }
          : { kind: 'more' };
      const got = await conn.expect(raw, { timeoutMs: peer.answerMs });
      if (!got.ok) fail('no answer to a good login', 'bytes 01 00 00', got.message);
      const hex = toHex(got.value);
      if (hex !== '010000') fail('the answer is not an empty Success frame', '01 00 00', hex);
    },
  },
  {
    id: 'solec/4/version-mismatch',
    title: 'A Handshake with another ver_major is closed, without Success',
    section: '4',
    quote: 'If [ver_major] does not match server protocol version close the connection.',
    requirements: ['SOLEC-VERSION-CLOSE'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(frames(handshake(1, 1), { type: 'userAuth', username: 'bob', password: 'pb' }));
      await expectClosedOnly(conn, peer.answerMs, 'a ver_major mismatch was not closed');
    },
  },
  {
    id: 'solec/4/bad-password',
    title: 'A wrong password gets Error 0x01, then the connection closes',
    section: '4',
    quote: 'Send [Error 0x01] … Client auth failed. Invalid username or password.',
    requirements: ['SOLEC-USERAUTH-ERROR'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(frames(handshake(1), { type: 'userAuth', username: 'bob', password: 'wrong' }));
      await expectFrame(conn, peer.answerMs, 'Error 0x01', isError(0x01), 'a wrong password was not refused');
      await expectClosedOnly(conn, peer.answerMs, 'the connection stayed open after a failed login (ours)');
    },
  },
  {
    id: 'solec/2.2/direction',
    title: 'A client sending a server-only payload (Error) is closed',
    section: '2.2, 2.3',
    quote: 'S - Server: can be send only by a server; C - Client: can be send only by a client.',
    requirements: ['SOLEC-WIRE-ATTRIBUTES', 'SOLEC-BAD-INPUT-CLOSE'],
    level: 'MUST',
    async run(peer) {
      const conn = await login(peer, 'bob', 'pb');
      await conn.send(new Uint8Array([0x02, 0x00, 0x01, 0x01]));
      await expectClosedOnly(conn, peer.answerMs, 'a wrong-direction payload was not refused');
    },
  },
  {
    id: 'solec/2.2/reserved',
    title: 'Reserved types 0x00 and 0xFF are refused and the connection closed',
    section: '2.2',
    quote: 'Types 0x00 and 0xFF (Test) are marked R, reserved.',
    requirements: ['SOLEC-WIRE-RESERVED'],
    level: 'MUST',
    async run(peer) {
      for (const type of [0x00, 0xff]) {
        const conn = await login(peer, 'bob', 'pb');
        await conn.send(new Uint8Array([type, 0x00, 0x00]));
        await expectClosedOnly(conn, peer.answerMs, `reserved type 0x${type.toString(16)} was not refused`);
      }
    },
  },
  {
    id: 'solec/2.2/time-zero',
    title: 'A Message with time_ms 0 (a clock before the epoch) gets Success and reaches its recipient',
    section: '2.2',
    quote:
      'A clock that reads before the epoch writes 0: the field is unsigned, the time is informational, and refusing the Message (or closing on it) would lose it for a sender whose only fault is its clock.',
    requirements: ['SOLEC-MESSAGE-TIME'],
    level: 'MUST',
    async run(peer) {
      const bob = await login(peer, 'bob', 'pb');
      const carol = await login(peer, 'carol', 'pc');
      await carol.send(frames(message('0000000000000501', 'carol@b.test', 'bob@b.test', 'before the epoch', 0)));
      await expectFrame(carol, peer.answerMs, 'Success', isSuccess, 'a Message with time_ms 0 was not accepted');
      await expectFrame(
        bob,
        peer.answerMs,
        'the Message',
        (p) => p.type === 'message' && p.body === 'before the epoch',
        'the Message with time_ms 0 did not reach bob',
      );
    },
  },
  {
    id: 'solec/2.3/garbage',
    title: 'Garbage bytes close that connection; the server keeps serving others',
    section: '2.3',
    quote:
      'Unknown types, wrong-direction payloads, malformed or unexpected payloads: reject and close that connection; the node keeps serving others.',
    requirements: ['SOLEC-WIRE-TOTAL', 'SOLEC-BAD-INPUT-CLOSE'],
    level: 'MUST',
    async run(peer) {
      const carol = await login(peer, 'carol', 'pc');
      const bad = await connect(peer);
      await bad.send(new Uint8Array([0x42, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef]));
      await expectClosedOnly(bad, peer.answerMs, 'an unknown payload type was not refused');
      const truncated = await connect(peer);
      await truncated.send(frames(handshake(1)));
      await truncated.send(new Uint8Array([0x04, 0x00, 0x03, 0x00, 0x09, 0x61]));
      await expectClosedOnly(truncated, peer.answerMs, 'a truncated UserAuth was not refused');
      await carol.send(frames(message('00000000000000c1', 'carol@b.test', 'bob@b.test', 'still here')));
      await expectFrame(carol, peer.answerMs, 'Success', isSuccess, 'the server stopped serving other connections');
    },
  },
  {
    id: 'solec/2.3/oversize',
    title: 'A header announcing more than payloadBytesMax is refused at once',
    section: '2.3',
    quote: 'A frame announcing a payload over payloadBytesMax is refused from its header, and the connection closed.',
    requirements: ['SOLEC-WIRE-OVERSIZE'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(new Uint8Array([0x05, 0xff, 0xff]));
      await expectClosedOnly(conn, peer.answerMs, 'an oversize header was not refused before its payload');
    },
  },
  {
    id: 'solec/5.1/server-auth',
    title: 'Handshake (server to server) and ServerAuth naming a known server get Success',
    section: '5.1',
    quote: 'Send [Handshake] … Send [ServerAuth] … Send [Sucesss].',
    requirements: ['SOLEC-S2S-INIT'],
    level: 'MUST',
    async run(peer) {
      await serverLogin(peer, peerServer);
    },
  },
  {
    id: 'solec/5.1/version-mismatch',
    title: 'A server Handshake with another ver_major is closed, without Success',
    section: '5.1',
    quote:
      'Server-Server connection initialisation … If [ver_major] does not match server protocol version close the connection.',
    requirements: ['SOLEC-VERSION-CLOSE'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(frames(handshake(2, 1), { type: 'serverAuth', name: peerServer }));
      await expectClosedOnly(conn, peer.answerMs, 'a server ver_major mismatch was not closed');
    },
  },
  {
    id: 'solec/5.1/unknown-server',
    title: 'ServerAuth naming an unknown server gets Error 0x03; nothing it sends is delivered',
    section: '5.1, 5.3',
    quote: 'Send [Error 0x03] … If [name] is not present in known public keys list.',
    requirements: ['SOLEC-SERVERAUTH-UNKNOWN', 'SOLEC-NO-DELIVERY-UNAUTHENTICATED'],
    level: 'MUST',
    async run(peer) {
      const bob = await login(peer, 'bob', 'pb');
      const conn = await connect(peer);
      await conn.send(
        frames(
          handshake(2),
          { type: 'serverAuth', name: 'nobody.test' },
          message('00000000000000d1', 'eve@nobody.test', 'bob@b.test', 'from nowhere'),
        ),
      );
      await expectFrame(conn, peer.answerMs, 'Error 0x03', isError(0x03), 'an unknown server was not refused');
      await expectClosedOnly(conn, peer.answerMs, 'the connection stayed open after a failed ServerAuth (ours)');
      await expectNothing(bob, 500, 'a message from an unauthenticated server was delivered');
    },
  },
  {
    id: 'solec/5.1/flaw',
    title: 'Seed profile: any peer naming a known server is accepted as that server (the flaw, faithfully)',
    section: '5.1',
    quote:
      'Under the seed profile any peer naming a known server is accepted as that server (faithful flaw, demonstrated).',
    requirements: ['SOLEC-SERVERAUTH-FLAW'],
    level: 'MUST',
    async run(peer) {
      const bob = await login(peer, 'bob', 'pb');
      const conn = await serverLogin(peer, peerServer);
      await conn.send(frames(message('00000000000000e1', `pat@${peerServer}`, 'bob@b.test', 'claimed, not proven')));
      await expectFrame(conn, peer.answerMs, 'Success', isSuccess, 'the claimed server’s message was refused');
      await expectFrame(
        bob,
        peer.answerMs,
        'the Message',
        (p) => p.type === 'message' && p.body === 'claimed, not proven',
        'the message did not reach bob',
      );
      return { verdict: 'OK', message: 'accepted on a name alone, as the seed profile says (use profile: signed)' };
    },
  },
  {
    id: 'solec/5.2/signed-good-proof',
    title: 'Signed profile: a valid Proof of the Challenge gets Success',
    section: '5.2',
    quote:
      "Under the signed profile the connecting server signs the verifier's nonce with the key of the name it claims; anything else gets Error 0x03.",
    requirements: ['SOLEC-SIGNED-SERVERAUTH'],
    level: 'MUST',
    variant: 'signed',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(frames(handshake(2), { type: 'serverAuth', name: peerServer }));
      const challenge = await expectFrame(
        conn,
        peer.answerMs,
        'Challenge',
        (p) => p.type === 'challenge',
        'no Challenge',
      );
      if (challenge.type !== 'challenge') return;
      const signature = signChallenge(peerKeys.secretKey, challengeText(challenge.nonce, peerServer, target));
      await conn.send(frames({ type: 'proof', signature }));
      await expectFrame(conn, peer.answerMs, 'Success', isSuccess, 'a valid proof was refused');
    },
  },
  {
    id: 'solec/5.2/signed-bad-proof',
    title: 'Signed profile: a Proof signed for another verifier gets Error 0x03',
    section: '5.2',
    quote:
      "Under the signed profile the connecting server signs the verifier's nonce with the key of the name it claims; anything else gets Error 0x03.",
    requirements: ['SOLEC-SIGNED-SERVERAUTH', 'SOLEC-NO-DELIVERY-UNAUTHENTICATED'],
    level: 'MUST',
    variant: 'signed',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(frames(handshake(2), { type: 'serverAuth', name: peerServer }));
      const challenge = await expectFrame(
        conn,
        peer.answerMs,
        'Challenge',
        (p) => p.type === 'challenge',
        'no Challenge',
      );
      if (challenge.type !== 'challenge') return;
      const signature = signChallenge(peerKeys.secretKey, challengeText(challenge.nonce, peerServer, 'other.test'));
      await conn.send(frames({ type: 'proof', signature }));
      await expectFrame(
        conn,
        peer.answerMs,
        'Error 0x03',
        isError(0x03),
        'a proof made for another server was accepted',
      );
    },
  },
  {
    id: 'solec/3/hold-during-login',
    title: 'A Message for a user whose login is running is held until after its Success',
    section: '3',
    quote:
      'Payload that is not part of this specific operation (for example incoming message) cannot interrupt this process.',
    requirements: ['SOLEC-SEQ-HOLD'],
    level: 'MUST',
    async run(peer) {
      const carol = await login(peer, 'carol', 'pc');
      const bob = await connect(peer);
      await bob.send(frames(handshake(1)));
      await peer.sleep(50);
      await carol.send(frames(message('00000000000000f1', 'carol@b.test', 'bob@b.test', 'during your login')));
      await expectFrame(carol, peer.answerMs, 'Success', isSuccess, 'carol’s message was not accepted');
      await expectNothing(bob, 300, 'a Message interrupted a login in progress');
      await bob.send(frames({ type: 'userAuth', username: 'bob', password: 'pb' }));
      await expectFrame(bob, peer.answerMs, 'Success first', isSuccess, 'the login’s Success was not first');
      await expectFrame(
        bob,
        peer.answerMs,
        'the held Message',
        (p) => p.type === 'message' && p.body === 'during your login',
        'the held Message was not pushed after the Success',
      );
    },
  },
  {
    id: 'solec/5.3/relay',
    title: 'A message to a user of another server is relayed over a server-to-server connection',
    section: '5.3',
    quote:
      'Sending message to user residing on a different server require estabilishing a connection between both servers.',
    requirements: ['SOLEC-S2S-RELAY'],
    level: 'MUST',
    async run(peer) {
      const listener = await peer.listen(peerPort);
      const carol = await login(peer, 'carol', 'pc');
      await carol.send(frames(message('0000000000000101', 'carol@b.test', `pat@${peerServer}`, 'over there')));
      await expectFrame(carol, peer.answerMs, 'Success', isSuccess, 'the message for another server was not accepted');
      const link = await listener.accept({ timeoutMs: peer.answerMs });
      if (!link) fail('the target did not connect to the recipient’s server', 'a connection to peer.test', 'none');
      await expectFrame(
        link,
        peer.answerMs,
        'Handshake (server to server)',
        (p) => p.type === 'handshake' && p.connType === connType.serverToServer,
        'no server Handshake',
      );
      await expectFrame(
        link,
        peer.answerMs,
        `ServerAuth ${target}`,
        (p) => p.type === 'serverAuth' && p.name === target,
        'no ServerAuth with the target’s name',
      );
      await link.send(frames({ type: 'success' }));
      await expectFrame(
        link,
        peer.answerMs,
        'the Message',
        (p) => p.type === 'message' && p.body === 'over there' && p.to === `pat@${peerServer}`,
        'the message was not relayed',
      );
      await link.send(frames({ type: 'success' }));
    },
  },
  {
    id: 'solec/5.3/relay-resend',
    title: 'A relay whose connection drops before the answer sends the same Message again',
    section: '5.3',
    quote:
      'While both servers stay authenticated, a message accepted by its home server reaches its recipient exactly once, across connection resets.',
    requirements: ['SOLEC-EXACTLY-ONCE', 'SOLEC-S2S-RELAY'],
    level: 'MUST',
    async run(peer) {
      const listener = await peer.listen(peerPort);
      const carol = await login(peer, 'carol', 'pc');
      await carol.send(frames(message('0000000000000201', 'carol@b.test', `pat@${peerServer}`, 'again')));
      await expectFrame(carol, peer.answerMs, 'Success', isSuccess, 'the message was not accepted');
      const ids: string[] = [];
      for (let attempt = 1; attempt <= 2; attempt++) {
        const link = await listener.accept({ timeoutMs: retryMs * 4 + peer.answerMs });
        if (!link) fail(`no connection for attempt ${attempt}`, 'the relay connects again', 'none');
        await expectFrame(link, peer.answerMs, 'Handshake', (p) => p.type === 'handshake', 'no Handshake');
        await expectFrame(link, peer.answerMs, 'ServerAuth', (p) => p.type === 'serverAuth', 'no ServerAuth');
        await link.send(frames({ type: 'success' }));
        const sent = await expectFrame(link, peer.answerMs, 'the Message', (p) => p.type === 'message', 'no Message');
        if (sent.type === 'message') ids.push(`${sent.from}/${sent.id}`);
        if (attempt === 1) await link.close();
        else await link.send(frames({ type: 'success' }));
      }
      if (ids[0] !== ids[1])
        fail('the resent Message is not the same one', 'the same from and id twice', ids.join(' then '));
    },
  },
  {
    id: 'solec/5.3/duplicate',
    title: 'A Message relayed twice (same from and id) is answered Success twice and pushed once',
    section: '5.3',
    quote:
      'While both servers stay authenticated, a message accepted by its home server reaches its recipient exactly once, across connection resets.',
    requirements: ['SOLEC-EXACTLY-ONCE'],
    level: 'MUST',
    async run(peer) {
      const bob = await login(peer, 'bob', 'pb');
      const link = await serverLogin(peer, peerServer);
      for (let i = 0; i < 2; i++) {
        await link.send(frames(message('0000000000000301', `pat@${peerServer}`, 'bob@b.test', 'only once')));
        await expectFrame(link, peer.answerMs, 'Success', isSuccess, `copy ${i + 1} was not answered Success`);
      }
      await expectFrame(
        bob,
        peer.answerMs,
        'the Message',
        (p) => p.type === 'message',
        'the message did not reach bob',
      );
      await expectNothing(bob, 500, 'the duplicate was pushed again');
    },
  },
  {
    id: 'solec/4.1/reconnect-resend',
    title: 'A client that resends its unanswered Message (same id) after reconnecting gets Success; it is pushed once',
    section: '4.1',
    quote:
      'The Message in flight is sent again, first, with its `id`; the server drops a duplicate (same `from` and `id`) but answers Success, as for relays (§5.3).',
    requirements: ['SOLEC-CLIENT-RECONNECT'],
    level: 'MUST',
    async run(peer) {
      const bob = await login(peer, 'bob', 'pb');
      const resent = message('0000000000000601', 'carol@b.test', 'bob@b.test', 'sent twice, pushed once');
      const first = await login(peer, 'carol', 'pc');
      await first.send(frames(resent));
      // Bob's push shows the server took the first copy; carol never reads its answer.
      await expectFrame(
        bob,
        peer.answerMs,
        'the Message',
        (p) => p.type === 'message' && p.body === 'sent twice, pushed once',
        'the first copy did not reach bob',
      );
      await first.close();
      const again = await login(peer, 'carol', 'pc');
      await again.send(frames(resent));
      await expectFrame(again, peer.answerMs, 'Success', isSuccess, 'the resent Message was not answered Success');
      await expectNothing(bob, 500, 'the resent Message was pushed again');
    },
  },
  {
    id: 'solec/4/from-check',
    title: 'A client may send only as itself (Error 0x01); a server only for its own users (Error 0x03)',
    section: '4, 5.3',
    quote: 'A client may send only as itself (else Error 0x01); a server only for its own users (else Error 0x03).',
    requirements: ['SOLEC-FROM-CHECK'],
    level: 'MUST',
    async run(peer) {
      const carol = await login(peer, 'carol', 'pc');
      await carol.send(frames(message('0000000000000401', 'bob@b.test', 'bob@b.test', 'forged')));
      await expectFrame(
        carol,
        peer.answerMs,
        'Error 0x01',
        isError(0x01),
        'a client sending as another user was not refused',
      );
      const link = await serverLogin(peer, peerServer);
      await link.send(frames(message('0000000000000402', 'x@other.test', 'bob@b.test', 'not yours')));
      await expectFrame(
        link,
        peer.answerMs,
        'Error 0x03',
        isError(0x03),
        'a server sending for another server’s user was not refused',
      );
    },
  },
];

export const solecSuite: Suite<Peer> = {
  protocol: 'solec',
  title: 'SOLEC',
  requirements,
  builtin: solec,
  scheme: 'tcp',
  target: { id: target, port: 7000 },
  peerHost: peerServer,
  fixtures: { main: mainFixture, signed: signedFixture },
  seed,
  cases,
};
