/**
 * FMTP conformance cases for MESSAGEs (spec.md §7, §8: relaying, redirects, logged-in users,
 * refusals) and for the seeded draws (§9).
 */
import { publicKeyOf, secretKeyFor, toBase64, toHex, verifyByAny, welcomeText } from '../keys.js';
import { encodeFrame } from '../wire.js';
import { streamFor } from '../../../core/prng.js';
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { seed, target, peerHost, ports, quietMs, peerSecret, lostSecret } from './fixture.js';
import {
  readFrame,
  show,
  hello,
  expectFrame,
  connect,
  greet,
  request,
  message,
  deliver,
  serve,
  serveRequest,
  control,
  outputNames,
  lostOnlineAt,
} from './exchange.js';

export const messageCases: Case<Peer>[] = [
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
