/** Ambrosia conformance cases. Client streams (spec.md §3 "c2s", "Bad input"): login, binding, stamping, stream errors. */
import { type Peer } from '../../../conformance/peer.js';
import { type Case, fail } from '../../../conformance/types.js';
import { child, el, localName, ns, streamHeaderAttrs, validJid, writeElement, writeStreamHeader } from '../wire.js';
import { quietMs, target } from './fixture.js';
import {
  auth,
  connect,
  expectMessage,
  header,
  isNotAuthorized,
  isSuccess,
  login,
  message,
  missedShould,
  offersPlain,
  offersSasl,
  openClient,
  openServer,
  openService,
  show,
  streamCondition,
} from './streams.js';

export const c2sCases: Case<Peer>[] = [
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
      if (!offersSasl(features))
        fail('a registered domain is not served', 'features offering SASL', writeElement(features));
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
    id: 'ambrosia/3/starttls',
    title: 'STARTTLS is offered before SASL, <proceed/> leads to TLS and a new stream, and PLAIN waits for TLS',
    section: '3',
    quote:
      'RFC 6120 §5.4.2.3: if the proceed case occurs, the receiving entity MUST return a <proceed/> element; §5.4.3.3: the initiating entity MUST initiate a new stream over the secured connection; §13.8: PLAIN only over TLS.',
    requirements: ['AMB-3-c2s-sasl-bind'],
    level: 'MUST',
    variant: 'tls',
    async run(peer) {
      const { x, features } = await openClient(peer);
      const tlsOffer = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
      if (child(features, 'starttls')?.ns !== ns.tls) fail('STARTTLS is not offered', tlsOffer, writeElement(features));
      if (offersPlain(features)) fail('PLAIN is offered before TLS', 'SCRAM mechanisms only', writeElement(features));
      await x.send(writeElement(el('starttls', { xmlns: ns.tls })));
      await x.element(
        '<starttls/> was not answered with <proceed/>',
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        (e) => localName(e) === 'proceed' && e.ns === ns.tls,
      );
      if (!(await x.conn.startTls({ timeoutMs: x.answerMs })))
        fail('the TLS handshake did not succeed', 'a TLS connection', 'the handshake failed or timed out');
      x.restart();
      await x.send(header(ns.client, { to: target }));
      await x.header('no stream header over TLS', ns.client);
      const secured = await x.element(
        'no stream features over TLS',
        '<stream:features>',
        (e) => e.name === 'stream:features',
      );
      if (child(secured, 'starttls'))
        fail('STARTTLS is offered again over TLS', 'no <starttls/>', writeElement(secured));
      if (!offersPlain(secured)) fail('PLAIN is not offered over TLS', 'SASL mechanism PLAIN', writeElement(secured));
      await x.send(auth('bob', 'pb'));
      await x.element('PLAIN over TLS did not log in', '<success/>', isSuccess);
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
    title:
      'A comment and invalid UTF-8 each close the stream with a stream error, SHOULD <restricted-xml/> and <unsupported-encoding/>',
    section: '3',
    quote:
      'Conditions used: … restricted-xml (comments, PIs, DTDs; §11.1), … unsupported-encoding (invalid UTF-8). RFC 6120 §11.1 and §11.6: restricted XML, or data not in UTF-8, MUST close the stream with a stream error, which SHOULD be <restricted-xml/> or <unsupported-encoding/>.',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      // Both are MUST close with a stream error; the condition is a SHOULD (RFC 6120 §11.1 restricted XML,
      // §11.6 an encoding other than UTF-8). Prosody 0.12 sends <not-well-formed/> for both.
      const missed: { expected: string; actual: string }[] = [];
      for (const [condition, bytes, what] of [
        ['restricted-xml', '<!-- hello -->', 'a comment'],
        ['unsupported-encoding', new Uint8Array([0x3c, 0x61, 0xff, 0xfe, 0x2f, 0x3e]), 'invalid UTF-8'],
      ] as const) {
        const { x } = await openClient(peer);
        await x.send(bytes);
        const error = await x.streamErrorOf(
          `${what} was not refused with a stream error`,
          `<stream:error><${condition}/></stream:error>`,
          (e) => streamCondition(e) !== undefined,
        );
        if (streamCondition(error) !== condition)
          missed.push({ expected: `${what}: <${condition}/>`, actual: `${what}: ${writeElement(error)}` });
      }
      if (missed.length > 0)
        missedShould(
          'the stream closed with a stream error, but not the condition RFC 6120 recommends',
          missed.map((m) => m.expected).join('; '),
          missed.map((m) => m.actual).join('; '),
        );
    },
  },
  {
    id: 'ambrosia/3/invalid-namespace',
    title:
      'A stream header in a wrong stream namespace gets <invalid-namespace/>; an unknown content namespace is refused',
    section: '3',
    quote:
      'Conditions used: not-well-formed, restricted-xml …, invalid-namespace, bad-format, … RFC 6120 §4.8.1: a header not qualified by the stream namespace MUST get a stream error, which SHOULD be <invalid-namespace/> (some send <bad-format/>).',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      const wrongStream = await connect(peer);
      await wrongStream.send(
        writeStreamHeader({ ...streamHeaderAttrs(ns.client, { to: target }), 'xmlns:stream': 'urn:example:streams' }),
      );
      const error = await wrongStream.streamErrorOf(
        'a header in a wrong stream namespace was not refused',
        '<stream:error><invalid-namespace/></stream:error>',
        (e) => streamCondition(e) !== undefined,
        true,
      );
      if (streamCondition(error) !== 'invalid-namespace')
        missedShould(
          'a wrong stream namespace got another stream error than <invalid-namespace/>',
          '<stream:error><invalid-namespace/></stream:error>',
          writeElement(error),
        );
      // An unknown content namespace: RFC 6120 §4.9.3.10 names <invalid-namespace/> for it, but no section
      // says when it must be sent. The gateway refuses the header; Prosody 0.12 answers as jabber:client and
      // refuses the first stanza (<unsupported-stanza-type/>). Either way nothing of the stream is served.
      const content = await connect(peer);
      await content.send(header('urn:example:nothing', { to: target }));
      const first = await content.next();
      if (!first.ok) fail('no answer to a header in an unknown content namespace', 'a stream header', first.actual);
      if (first.event.type !== 'open') fail('no stream header before the answer', 'a stream header', show(first.event));
      const answer = await content.next();
      if (answer.ok && answer.event.type === 'element' && answer.event.element.name === 'stream:error') {
        if (streamCondition(answer.event.element) !== 'invalid-namespace')
          fail('the stream error is not <invalid-namespace/>', '<invalid-namespace/>', show(answer.event));
        return;
      }
      await content.send(writeElement(message('carol@b.test', 'in an unknown namespace')));
      await content.streamErrorOf(
        'a stanza in an unknown content namespace was not refused',
        'a stream error',
        (e) => streamCondition(e) !== undefined,
      );
      return {
        verdict: 'INFORMATIONAL',
        message:
          'the target opened a stream for an unknown content namespace and refused its first stanza; RFC 6120 §4.9.3.10 defines <invalid-namespace/> for it without saying when it must be sent',
      };
    },
  },
  {
    id: 'ambrosia/3/not-authorized',
    title: 'A stanza before authentication is not processed, and SHOULD get <not-authorized/>',
    section: '3',
    quote:
      'Conditions used: … host-unknown, not-authorized, unsupported-stanza-type, invalid-from, see-other-host. RFC 6120 §4.9.3.12: the receiving entity MUST NOT process the offending data before sending the stream error.',
    requirements: ['AMB-3-stream-errors'],
    level: 'MUST',
    async run(peer) {
      const carol = await login(peer, 'carol', 'pc');
      const { x } = await openClient(peer);
      await x.send(writeElement(message('carol@b.test/conf', 'too early')));
      const answer = await x.next();
      await carol.quiet(quietMs, 'a stanza sent before authentication was delivered');
      if (answer.ok && answer.event.type === 'element' && answer.event.element.name === 'stream:error') {
        if (streamCondition(answer.event.element) !== 'not-authorized')
          fail('the stream error is not <not-authorized/>', '<not-authorized/>', show(answer.event));
        return;
      }
      // Prosody 0.12 answers with a stanza error (<service-unavailable/>) and keeps the stream open.
      missedShould(
        'a stanza before authentication was refused without the <not-authorized/> stream error',
        '<stream:error><not-authorized/></stream:error>',
        answer.ok ? show(answer.event) : answer.actual,
      );
    },
  },
];
