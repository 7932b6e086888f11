/** Ambrosia conformance cases. The service channel (spec.md §4): mutual handshake, registration, chunks, acks, retransmission. */
import { type Peer } from '../../../conformance/peer.js';
import { type Case, fail } from '../../../conformance/types.js';
import { child, chunkElements, el, localName, ns, serviceProof, writeElement } from '../wire.js';
import { ackTimeoutMs, chunkCharsMax, quietMs, target } from './fixture.js';
import {
  bodyOf,
  connect,
  expectMessage,
  header,
  login,
  message,
  needsAllPorts,
  offersSasl,
  openClient,
  openService,
} from './streams.js';

export const channelCases: Case<Peer>[] = [
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
      if (!offersSasl(features)) fail('the registered domain is not served', 'SASL offered', writeElement(features));
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
    id: 'ambrosia/4.4/interleaved',
    title:
      'Chunks of stanzas may interleave: a small stanza inside a large one is handled at once, and h moves once the large one is whole',
    section: '4.4',
    quote: "stanzas should be chunked so that large stanzas don't block the channel",
    requirements: ['AMB-4-chunking', 'AMB-4-acks'],
    level: 'SHOULD',
    async run(peer) {
      const service = await openService(peer, 'svc1.peer.test', [[target, 'client']]);
      const bob = await login(peer, 'bob', 'pb');
      const long = 'a large stanza '.repeat(20);
      const big = chunkElements(1, message('bob@b.test/conf', long), chunkCharsMax).map(writeElement);
      const small = chunkElements(2, message('bob@b.test/conf', 'small'), chunkCharsMax).map(writeElement);
      await service.x.send([...big.slice(0, 2), ...small].join(''));
      await expectMessage(bob, 'small', 'a stanza whose chunks came between a larger one’s was not delivered at once');
      await service.x.quiet(quietMs, 'the gateway acked while stanza 1 was still partial');
      await service.x.send(big.slice(2).join(''));
      await service.ackOf('h did not move past both stanzas once the large one was whole', 2);
      await expectMessage(bob, long, 'the large stanza was not delivered once whole');
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
