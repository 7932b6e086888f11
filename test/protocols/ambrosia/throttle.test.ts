// Goal: issue 22's SASL throttle and the registration rule of the `assigned` profile. Per stream: the
// `saslFailuresPerStreamMax`-th failed password is followed by <policy-violation/> and the close
// (RFC 6120 §6.4.5). Per peer address: after `saslFailuresPerAddressFree` failures the address is shut
// out, `saslBlockMs` doubled per further failure, and an attempt meanwhile gets
// <temporary-auth-failure/> without its password being checked (the right one too), for PLAIN and SCRAM
// alike; once the block has passed the right password gets in; another address is not affected.
// Registration: under `seed` any service registers any domain; under `assigned` only its own.
// Method: one gateway on a ManualHost (time moved by hand), the test playing the clients and services
// with literal XML; AuthThrottle alone for its bounds.
import { describe, expect, it } from 'vitest';
import { AuthThrottle, peerAddressOf } from '../../../src/core/auth-throttle.js';
import { ambrosia } from '../../../src/protocols/ambrosia/index.js';
import { clientFinal, clientFirst } from '../../../src/protocols/ambrosia/scram.js';
import { serviceProof } from '../../../src/protocols/ambrosia/wire.js';
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const texts = (outputs: NodeOutput[]) =>
  outputs
    .filter((o): o is Extract<NodeOutput, { kind: 'write' }> => o.kind === 'write')
    .map((o) => new TextDecoder().decode(o.bytes));
const sasl = "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";
const header = `<?xml version='1.0'?><stream:stream to='a.test' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
const plain = (password: string) => `<auth ${sasl} mechanism='PLAIN'>${b64(`\u0000alice\u0000${password}`)}</auth>`;

function gateway(extra: Record<string, unknown> = {}) {
  const host = new ManualHost('gw.test');
  const node = ambrosia.createNode(
    host,
    ambrosia.configSchema.parse({
      role: 'gateway',
      accounts: [{ jid: 'alice@a.test', password: 'right' }],
      plainWithoutTls: true,
      ...extra,
    }),
  );
  node.start();
  host.take();
  let conns = 0;
  /** A new c2s stream from `remote`, its header sent; returns a function that sends and collects what came back. */
  const open = (remote: string) => {
    conns += 1;
    const conn = `in:${conns}`;
    node.handle({ kind: 'conn.accepted', conn, local: { host: 'gw.test', port: 5222 }, remote });
    const send = (text: string) => {
      node.handle({ kind: 'conn.data', conn, bytes: new TextEncoder().encode(text) });
      return texts(host.take()).join('');
    };
    send(header);
    return send;
  };
  return { host, node, open };
}

describe('ambrosia: SASL throttle per stream and per peer address (issue 22, RFC 6120 §6.4.5)', () => {
  it('closes a stream with <policy-violation/> after saslFailuresPerStreamMax failed passwords, not before', () => {
    const { open } = gateway({ saslFailuresPerAddressFree: 100 });
    const send = open('10.0.0.1:4000');
    expect(send(plain('wrong-1'))).toContain('<not-authorized/>');
    expect(send(plain('wrong-2'))).not.toContain('policy-violation');
    const third = send(plain('wrong-3'));
    expect(third).toContain('<not-authorized/>');
    expect(third).toContain('<policy-violation');
    expect(third).toContain('</stream:stream>');
    // Malformed requests test no password and do not count.
    const other = open('10.0.0.1:4001');
    for (let i = 0; i < 5; i += 1) expect(other(`<auth ${sasl} mechanism='PLAIN'>%%%</auth>`)).toContain('malformed');
    expect(other(plain('right'))).toContain('<success');
  });

  it('shuts an address out after saslFailuresPerAddressFree failures, doubling, refusing even the right password unchecked until it passes', () => {
    const { host, open } = gateway({ saslFailuresPerAddressFree: 4, saslBlockMs: 1_000, saslBlockMsMax: 8_000 });
    // Four free failures over two streams, then the fifth shuts 10.0.0.1 out for 1 s.
    for (let i = 0; i < 5; i += 1) {
      const send = i < 3 ? open(`10.0.0.1:${5000 + i}`) : open(`10.0.0.1:${6000 + i}`);
      expect(send(plain(`wrong-${i}`))).toContain('<not-authorized/>');
    }
    expect(host.take()).toEqual([]);
    const blocked = open('10.0.0.1:7000');
    expect(blocked(plain('right'))).toContain('<temporary-auth-failure/>');
    // Another address is not affected.
    expect(open('10.0.0.2:7000')(plain('right'))).toContain('<success');
    host.advanceMs(1_000);
    // A sixth failure doubles the block to 2 s.
    expect(open('10.0.0.1:7001')(plain('wrong-5'))).toContain('<not-authorized/>');
    host.advanceMs(1_500);
    expect(open('10.0.0.1:7002')(plain('right'))).toContain('<temporary-auth-failure/>');
    host.advanceMs(500);
    expect(open('10.0.0.1:7003')(plain('right'))).toContain('<success');
  });

  it('throttles SCRAM too: a shut-out address gets <temporary-auth-failure/> to its proof, checked or not', () => {
    const { host, open } = gateway({ saslFailuresPerAddressFree: 1, saslBlockMs: 5_000 });
    const scram = (send: (text: string) => string, password: string) => {
      const first = clientFirst('SCRAM-SHA-1', 'alice', 'cnonce1');
      const challenge = send(`<auth ${sasl} mechanism='SCRAM-SHA-1'>${first.message}</auth>`);
      if (!challenge.includes('<challenge')) return challenge;
      const data = /<challenge [^>]*>([^<]*)<\/challenge>/.exec(challenge)?.[1] ?? '';
      const final = clientFinal(first.exchange, data, password);
      return send(`<response ${sasl}>${final?.message ?? ''}</response>`);
    };
    const send = open('10.0.0.3:1');
    expect(scram(send, 'wrong')).toContain('<not-authorized/>');
    expect(scram(send, 'wrong')).toContain('<not-authorized/>');
    // Shut out now: the right password is not checked (refused at <auth/>, or at the proof when the
    // block began between the two).
    expect(scram(open('10.0.0.3:2'), 'right')).toContain('<temporary-auth-failure/>');
    const first = clientFirst('SCRAM-SHA-1', 'alice', 'cnonce2');
    const late = open('10.0.0.4:1');
    expect(late(`<auth ${sasl} mechanism='SCRAM-SHA-1'>${first.message}</auth>`)).toContain('<challenge');
    expect(scram(open('10.0.0.4:2'), 'wrong')).toContain('<not-authorized/>');
    expect(scram(open('10.0.0.4:3'), 'wrong')).toContain('<not-authorized/>');
    expect(late(`<response ${sasl}>${b64('c=biws,r=whatever,p=AAAA')}</response>`)).toContain(
      '<temporary-auth-failure/>',
    );
    host.advanceMs(5_000);
    expect(scram(open('10.0.0.3:3'), 'right')).toContain('<success');
  });

  it('AuthThrottle forgets an address windowMs after its last failure and keeps at most addressesMax', () => {
    const throttle = new AuthThrottle({
      failuresFree: 1,
      blockMs: 10,
      blockMsMax: 100,
      windowMs: 1_000,
      addressesMax: 2,
    });
    expect(throttle.failed('a', 0)).toBe(0);
    expect(throttle.failed('a', 0)).toBe(10);
    expect(throttle.failed('a', 0)).toBe(20);
    expect(throttle.blockedMs('a', 15)).toBe(5);
    expect(throttle.blockedMs('a', 1_000)).toBe(0);
    expect(throttle.view()).toEqual({});
    throttle.failed('a', 2_000);
    throttle.failed('b', 2_000);
    throttle.failed('c', 2_000);
    expect(Object.keys(throttle.view())).toEqual(['b', 'c']);
    expect(peerAddressOf('127.0.0.1:5555')).toBe('127.0.0.1');
    expect(peerAddressOf('::ffff:127.0.0.1:5555')).toBe('::ffff:127.0.0.1');
    expect(peerAddressOf('im.a.test')).toBe('im.a.test');
  });
});

describe('ambrosia: registration under the seed and assigned profiles (issue 25)', () => {
  let services = 0;
  function service(node: ReturnType<typeof gateway>['node'], host: ManualHost, name: string, secret: string) {
    services += 1;
    const conn = `svc:${services}`;
    node.handle({ kind: 'conn.accepted', conn, local: { host: 'gw.test', port: 5347 }, remote: name });
    const send = (text: string) => {
      node.handle({ kind: 'conn.data', conn, bytes: new TextEncoder().encode(text) });
      return texts(host.take()).join('');
    };
    const opened = send(
      `<stream:stream xmlns='urn:fedsim:ambrosia:service:0' xmlns:stream='http://etherx.jabber.org/streams' from='${name}' to='gw.test' version='1.0'>`,
    );
    const id = /id='([^']+)'/.exec(opened)?.[1] ?? '';
    return { send, handshake: send(`<handshake nonce='n1'>${serviceProof('service', id, 'n1', secret)}</handshake>`) };
  }

  it('seed: any service registers any domain; assigned: only its own, others get <forbidden/>', () => {
    const seed = gateway();
    const rogue = service(seed.node, seed.host, 'rogue.b.test', 'ambrosia');
    expect(rogue.send("<register domain='a.test' type='client'/>")).toContain('<registered');

    const fixed = gateway({
      profile: 'assigned',
      serviceSecret: 'shared',
      services: { 'im.a.test': { secret: 'own', domains: ['a.test'] }, 'rogue.b.test': { domains: ['b.test'] } },
    });
    const im = service(fixed.node, fixed.host, 'im.a.test', 'own');
    expect(im.handshake).toContain('<handshake>');
    expect(im.send("<register domain='a.test' type='client'/>")).toContain('<registered');
    const other = service(fixed.node, fixed.host, 'rogue.b.test', 'shared');
    expect(other.send("<register domain='b.test' type='server'/>")).toContain('<registered');
    const refused = other.send("<register domain='a.test' type='client'/>");
    expect(refused).toContain("<register-error domain='a.test' type='client'><forbidden");
    expect(fixed.host.take()).toEqual([]);
    // Claiming im.a.test's name needs im.a.test's own secret, not the shared one.
    const impostor = service(fixed.node, fixed.host, 'im.a.test', 'shared');
    expect(impostor.handshake).toContain('<not-authorized');
    const view = fixed.node.view() as { registry: Record<string, string[]> };
    expect(view.registry['a.test client']).toEqual(['im.a.test']);
    expect(view.registry['b.test server']).toEqual(['rogue.b.test']);
  });
});
