/**
 * FMTP conformance cases for the greeting (spec.md §4: HELLO, WELCOME, keys at `fmtpkey.<domain>`)
 * and the framing of blocks (§3).
 */
import { sign, welcomeText } from '../keys.js';
import { encodeFrame, lineBytesMax } from '../wire.js';
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { peerHost, ports, lookingMs, peerSecret, forgerSecret } from './fixture.js';
import {
  frames,
  nonceOf,
  hello,
  expectFrame,
  expectRefused,
  connect,
  greet,
  request,
  control,
  outputNames,
} from './exchange.js';

export const handshakeCases: Case<Peer>[] = [
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
];
