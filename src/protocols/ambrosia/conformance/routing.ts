/** Ambrosia conformance cases. Routing (spec.md §3): s2s streams, see-other-host, routing to services and out, failover, DNS. */
import { type Peer } from '../../../conformance/peer.js';
import { type Case, fail, unimplemented } from '../../../conformance/types.js';
import { child, el, localName, ns, textOf, writeElement } from '../wire.js';
import { peerHost, quietMs, seeOtherHostTimeoutMs, target } from './fixture.js';
import {
  auth,
  bodyOf,
  expectMessage,
  header,
  isNotAuthorized,
  login,
  message,
  openClient,
  openServer,
  openService,
  show,
  XmlConn,
} from './streams.js';

export const routingCases: Case<Peer>[] = [
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
      // The fixture's zone (peer.test, far.test) exists only where the testbed runs the target.
      if (!peer.control)
        unimplemented('needs the fixture’s DNS zone (peer.test, far.test), which an external server does not resolve');
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
];
