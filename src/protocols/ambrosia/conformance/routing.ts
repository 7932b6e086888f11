/** Ambrosia conformance cases. Routing (spec.md §3): s2s streams, see-other-host, routing to services and out, failover, DNS. */
import { type Peer } from '../../../conformance/peer.js';
import { type Case, fail, unimplemented } from '../../../conformance/types.js';
import { child, el, localName, ns, textOf, writeElement } from '../wire.js';
import { peerHost, quietMs, seeOtherHostTimeoutMs, target } from './fixture.js';
import {
  auth,
  bodyOf,
  connect,
  expectMessage,
  isNotAuthorized,
  login,
  message,
  needsAllPorts,
  openClient,
  openServer,
  openService,
  isDialbackElement,
  s2sHeader,
  show,
  XmlConn,
} from './streams.js';

export const routingCases: Case<Peer>[] = [
  {
    id: 'ambrosia/3/s2s-invalid-from',
    title: 'An s2s stanza from a domain dialback did not verify on its stream gets <invalid-from/>',
    section: '3',
    quote:
      'only stanzas from a domain dialback verified on that stream are accepted (<invalid-from/> otherwise; XEP-0220 §2.4).',
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
    id: 'ambrosia/3/dialback-refused',
    title:
      'A stanza before dialback gets <not-authorized/>; a key its authoritative server calls invalid gets <db:result type=invalid/> and <not-authorized/>; a wrong key to verify is invalid',
    section: '3',
    quote:
      "an invalid key gets <db:result type='invalid'/>, then <not-authorized/> and the stream closes; stanzas from an unverified domain are refused (XEP-0220 §2.4, §2.3).",
    requirements: ['AMB-3-dialback'],
    level: 'MUST',
    async run(peer) {
      needsAllPorts(peer);
      const bob = await login(peer, 'bob', 'pb');
      const early = await connect(peer);
      await early.send(s2sHeader({ from: peerHost, to: target }));
      await early.header('no s2s stream header', ns.server);
      await early.element('no stream features', '<stream:features>', (e) => e.name === 'stream:features');
      await early.send(writeElement(message('bob@b.test', 'unverified', { from: `pat@${peerHost}` })));
      await early.streamError('not-authorized', 'a stanza before dialback was not refused');

      const listener = await peer.listen(5269);
      const forged = await connect(peer);
      await forged.send(s2sHeader({ from: peerHost, to: target }));
      const attrs = await forged.header('no s2s stream header', ns.server);
      await forged.element('no stream features', '<stream:features>', (e) => e.name === 'stream:features');
      await forged.send(writeElement(el('db:result', { from: peerHost, to: target }, ['forged-key'])));
      const conn = await listener.accept({ timeoutMs: peer.answerMs });
      if (!conn) fail('the gateway did not verify the dialback key', `a connection to ${peerHost}:5269`, 'none');
      const verifier = new XmlConn(conn, peer);
      await verifier.header('no stream header on the verification stream', ns.server);
      await verifier.send(s2sHeader({ from: peerHost, to: target, id: 'verify-1' }) + '<stream:features/>');
      await verifier.element('no <db:verify>', '<db:verify>', (e) => isDialbackElement(e, 'verify'));
      await verifier.send(
        writeElement(el('db:verify', { from: peerHost, to: target, id: attrs.id ?? '', type: 'invalid' })),
      );
      await forged.element(
        'the invalid key was not reported',
        `<db:result from='${target}' to='${peerHost}' type='invalid'/>`,
        (e) => isDialbackElement(e, 'result') && e.attrs.type === 'invalid',
      );
      await forged.streamError('not-authorized', 'the stream with an invalid key was not closed');
      await bob.quiet(quietMs, 'a stanza from an unverified domain was delivered');

      // As the authoritative server for b.test: a key it never gave is invalid.
      const asked = await connect(peer);
      await asked.send(s2sHeader({ from: peerHost, to: target }));
      await asked.header('no s2s stream header', ns.server);
      await asked.element('no stream features', '<stream:features>', (e) => e.name === 'stream:features');
      await asked.send(
        writeElement(el('db:verify', { from: peerHost, to: target, id: 'some-stream' }, ['not-our-key'])),
      );
      await asked.element(
        'a key the gateway never gave was not called invalid',
        `<db:verify from='${target}' to='${peerHost}' id='some-stream' type='invalid'/>`,
        (e) =>
          isDialbackElement(e, 'verify') &&
          e.attrs.type === 'invalid' &&
          e.attrs.id === 'some-stream' &&
          e.attrs.from === target &&
          e.attrs.to === peerHost,
      );
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
    title:
      'A stanza for another domain goes out over s2s to its SRV target, else its MX host (lowest preference), else its A record, with dialback',
    section: '3',
    quote:
      'make outgoing xmpp-server connections if necessary (found by SRV _xmpp-server._tcp, RFC 6120 §3.2, then MX, then A), authenticated with Server Dialback (XEP-0220).',
    requirements: ['AMB-3-s2s-dns', 'AMB-3-route-out'],
    level: 'MUST',
    async run(peer) {
      // The fixture's zone (peer.test, far.test, srv.test) exists only where the testbed runs the target.
      if (!peer.control)
        unimplemented(
          'needs the fixture’s DNS zone (peer.test, far.test, srv.test), which an external server does not resolve',
        );
      const listeners = { 5269: await peer.listen(5269), 5270: await peer.listen(5270) };
      const bob = await login(peer, 'bob', 'pb');
      for (const [domain, port] of [
        ['peer.test', 5269],
        ['far.test', 5269],
        ['srv.test', 5270],
      ] as const) {
        await bob.send(writeElement(message(`pat@${domain}`, `to ${domain}`)));
        const conn = await listeners[port].accept({ timeoutMs: peer.answerMs });
        if (!conn)
          fail(`the gateway did not connect for ${domain}`, `an s2s connection to ${peerHost}:${port}`, 'none');
        const x = new XmlConn(conn, peer);
        const attrs = await x.header('no s2s stream header', ns.server);
        if (attrs.to !== domain || attrs.from !== target)
          fail('the s2s stream names the wrong domains', `from='${target}' to='${domain}'`, JSON.stringify(attrs));
        await x.send(
          s2sHeader({ from: domain, to: target, id: `s-${domain}` }) +
            "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>",
        );
        const result = await x.element(
          'no <db:result> with a dialback key',
          `<db:result from='${target}' to='${domain}'>key</db:result>`,
          (e) => isDialbackElement(e, 'result'),
        );
        if (result.attrs.from !== target || result.attrs.to !== domain || textOf(result).length === 0)
          fail(
            'the dialback claim names the wrong domains or no key',
            `from='${target}' to='${domain}'`,
            writeElement(result),
          );
        // As the receiving server, the peer takes the key as verified (the gateway's own verification has its cases).
        await x.send(writeElement(el('db:result', { from: domain, to: target, type: 'valid' })));
        const got = await expectMessage(x, `to ${domain}`, `the stanza for ${domain} was not sent after dialback`);
        if (got.attrs.from !== 'bob@b.test/conf' || got.attrs.to !== `pat@${domain}`)
          fail('the stanza changed on its way out', `from bob@b.test/conf to pat@${domain}`, writeElement(got));
      }
    },
  },
];
