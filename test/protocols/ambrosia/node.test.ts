// Goal: the gateway speaks standard RFC 6120 c2s to a byte-level client (SASL PLAIN, restart, bind),
// answers bad peer input with the named stream error instead of throwing, sends see-other-host for an
// unknown user when a service names a host, and the service channel retransmits when an ack is lost.
// Method: one node on a ManualHost, the test playing the peer with literal XML bytes.
import { describe, expect, it } from 'vitest';
import { ambrosia } from '../../../src/protocols/ambrosia/index.js';
import { derivedDialbackSecret, dialbackKey } from '../../../src/protocols/ambrosia/dialback.js';
import { StallWatch } from '../../../src/protocols/ambrosia/machines/channel.js';
import { serviceProof } from '../../../src/protocols/ambrosia/wire.js';
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (outputs: NodeOutput[]) =>
  outputs
    .filter((o): o is Extract<NodeOutput, { kind: 'write' }> => o.kind === 'write')
    .map((o) => new TextDecoder().decode(o.bytes));
const clientHeader = `<?xml version='1.0'?><stream:stream to='a.test' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
const plain = (user: string, password: string) => Buffer.from(`\u0000${user}\u0000${password}`).toString('base64');

function gateway(extra: Record<string, unknown> = {}) {
  const host = new ManualHost('gw.test');
  const node = ambrosia.createNode(
    host,
    // These cases speak PLAIN byte by byte; SCRAM and the default (no PLAIN without TLS) have their own below.
    ambrosia.configSchema.parse({
      role: 'gateway',
      accounts: [{ jid: 'alice@a.test', password: 'secret' }],
      plainWithoutTls: true,
      ...extra,
    }),
  );
  node.start();
  return {
    host,
    node,
    send: (conn: string, text: string) => node.handle({ kind: 'conn.data', conn, bytes: bytes(text) }),
  };
}

describe('ambrosia: gateway c2s (ManualHost, RFC 6120)', () => {
  it('listens on 5222, 5269 and 5347 with no configuration at all', () => {
    const host = new ManualHost('gw.test');
    ambrosia.createNode(host, ambrosia.configSchema.parse({ role: 'gateway' })).start();
    expect(host.take().map((o) => o.kind === 'listen' && 'port' in o.endpoint && o.endpoint.port)).toEqual([
      5222, 5269, 5347,
    ]);
  });

  it('negotiates a stream: features with PLAIN, success, restart, bind, and stamps from on stanzas (1 client, RFC 6120 §4-§8)', () => {
    const { host, node, send } = gateway();
    host.take();
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    send('in:1', clientHeader);
    const [features] = texts(host.take());
    expect(features).toMatch(
      /^<\?xml version='1.0'\?><stream:stream xmlns='jabber:client' xmlns:stream='http:\/\/etherx.jabber.org\/streams' from='a.test' id='[^']+' version='1.0'>/,
    );
    expect(features).toContain(
      "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>",
    );
    expect(host.stateOf('ambrosia.c2s in:1')).toBe('authenticating');
    send('in:1', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain('alice', 'wrong')}</auth>`);
    expect(texts(host.take())).toEqual([
      "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>",
    ]);
    send('in:1', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`);
    expect(texts(host.take())).toEqual(["<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"]);
    send('in:1', clientHeader);
    expect(texts(host.take())[0]).toContain(
      "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='urn:xmpp:sm:3'/></stream:features>",
    );
    send(
      'in:1',
      `<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>home</resource></bind></iq>`,
    );
    expect(texts(host.take())).toEqual([
      "<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@a.test/home</jid></bind></iq>",
    ]);
    expect(host.stateOf('ambrosia.c2s in:1')).toBe('bound');
    // No service registered for a.test and the target is remote: the gateway routes out itself over s2s
    // (SRV first, RFC 6120 §3.2.1; then MX, ours), authenticated with dialback (XEP-0220).
    send('in:1', `<message to='bob@b.test' from='mallory@evil.test' id='m1'><body>hi</body></message>`);
    expect(host.take()).toEqual([
      expect.objectContaining({ kind: 'dns.query', name: '_xmpp-server._tcp.b.test', type: 'SRV' }),
    ]);
    node.handle({
      kind: 'dns.answer',
      query: 's2s:1:srv',
      name: '_xmpp-server._tcp.b.test',
      type: 'SRV',
      status: 'nxdomain',
      records: [],
    });
    expect(host.take()).toEqual([expect.objectContaining({ kind: 'dns.query', name: 'b.test', type: 'MX' })]);
    node.handle({
      kind: 'dns.answer',
      query: 's2s:1:mx',
      name: 'b.test',
      type: 'MX',
      status: 'ok',
      records: ['20 mx2.b.test', '10 mx1.b.test'],
    });
    expect(host.take()).toEqual([{ kind: 'connect', conn: 's2s:1', target: { host: 'mx1.b.test', port: 5269 } }]);
    node.handle({ kind: 'conn.opened', conn: 's2s:1' });
    const header = texts(host.take())[0];
    expect(header).toContain("xmlns='jabber:server'");
    expect(header).toContain("xmlns:db='jabber:server:dialback'");
    send(
      's2s:1',
      `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='b.test' id='x' version='1.0'><stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>`,
    );
    const key = dialbackKey(derivedDialbackSecret('gw.test', 'ambrosia'), 'b.test', 'a.test', 'x');
    expect(texts(host.take())).toEqual([`<db:result from='a.test' to='b.test'>${key}</db:result>`]);
    send('s2s:1', `<db:result from='b.test' to='a.test' type='valid'/>`);
    expect(texts(host.take())).toEqual([
      "<message to='bob@b.test' from='alice@a.test/home' id='m1'><body>hi</body></message>",
    ]);
  });

  it('answers malformed XML with <not-well-formed/> and closes, without throwing (bound or not)', () => {
    const { host, node, send } = gateway();
    host.take();
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    send('in:1', clientHeader);
    host.take();
    send('in:1', '<message><body>x</message>');
    const outputs = host.take();
    expect(texts(outputs)).toEqual([
      "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
    ]);
    expect(outputs.map((o) => o.kind)).toEqual(['reject', 'write', 'close']);
    expect(() => send('in:1', '<more/>')).not.toThrow();
    expect(host.take()).toEqual([]);
  });

  it('sends the header before the stream error when the very first bytes are bad, and host-unknown for a domain it does not serve', () => {
    const { host, node, send } = gateway();
    host.take();
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    send('in:1', '<<<');
    expect(texts(host.take())[0]).toMatch(
      /^<\?xml.*<stream:stream .*><stream:error><not-well-formed .*<\/stream:stream>$/,
    );
    node.handle({ kind: 'conn.accepted', conn: 'in:2', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    send('in:2', clientHeader.replace("to='a.test'", "to='nowhere.test'"));
    expect(texts(host.take())[0]).toContain(
      "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    );
  });

  it('asks the registered service about an unknown user and sends <see-other-host/> with its answer (RFC 6120 §4.9.3.19)', () => {
    const { host, node, send } = gateway();
    host.take();
    // A service connects and authenticates with the mutual handshake.
    node.handle({ kind: 'conn.accepted', conn: 'in:9', local: { host: 'gw.test', port: 5347 }, remote: 'svc' });
    send(
      'in:9',
      `<?xml version='1.0'?><stream:stream xmlns='urn:fedsim:ambrosia:service:0' xmlns:stream='http://etherx.jabber.org/streams' from='svc' version='1.0'>`,
    );
    const streamId = /id='([^']+)'/.exec(texts(host.take())[0] ?? '')?.[1] ?? '';
    send('in:9', `<handshake nonce='n1'>${serviceProof('service', streamId, 'n1', 'wrong-secret')}</handshake>`);
    expect(host.take().map((o) => o.kind)).toEqual(['write', 'close', 'reject']);
    node.handle({ kind: 'conn.accepted', conn: 'in:10', local: { host: 'gw.test', port: 5347 }, remote: 'svc' });
    send(
      'in:10',
      `<?xml version='1.0'?><stream:stream xmlns='urn:fedsim:ambrosia:service:0' xmlns:stream='http://etherx.jabber.org/streams' from='svc' version='1.0'>`,
    );
    const id2 = /id='([^']+)'/.exec(texts(host.take())[0] ?? '')?.[1] ?? '';
    send('in:10', `<handshake nonce='n2'>${serviceProof('service', id2, 'n2', 'ambrosia')}</handshake>`);
    expect(texts(host.take())).toEqual([`<handshake>${serviceProof('gateway', id2, 'n2', 'ambrosia')}</handshake>`]);
    send('in:10', `<register domain='a.test' type='client'/>`);
    expect(texts(host.take())).toEqual(["<registered domain='a.test' type='client'/>"]);
    // An unknown user logs in.
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    send('in:1', clientHeader);
    host.take();
    send('in:1', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain('dave', 'x')}</auth>`);
    const [request] = texts(host.take());
    const requestId = /id='([^']+)'/.exec(request ?? '')?.[1] ?? '';
    expect(request).toBe(`<see-other-host-request id='${requestId}' user='dave@a.test'/>`);
    expect(host.stateOf('ambrosia.c2s in:1')).toBe('checkingUser');
    send(
      'in:10',
      `<see-other-host-response id='${requestId}' user='dave@a.test'>gw2.test:5223</see-other-host-response>`,
    );
    const outputs = host.take();
    expect(texts(outputs)).toEqual([
      "<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>gw2.test:5223</see-other-host></stream:error></stream:stream>",
    ]);
    expect(outputs.at(-1)).toEqual({ kind: 'close', conn: 'in:1' });
  });

  it('fails SASL with not-authorized when the service does not answer within seeOtherHostTimeoutMs (500 ms)', () => {
    const { host, node, send } = gateway({ seeOtherHostTimeoutMs: 500 });
    node.handle({ kind: 'conn.accepted', conn: 'in:10', local: { host: 'gw.test', port: 5347 }, remote: 'svc' });
    send(
      'in:10',
      `<?xml version='1.0'?><stream:stream xmlns='urn:fedsim:ambrosia:service:0' xmlns:stream='http://etherx.jabber.org/streams' from='svc' version='1.0'>`,
    );
    const id = /id='([^']+)'/.exec(texts(host.take()).find((t) => t.includes('stream:stream')) ?? '')?.[1] ?? '';
    send(
      'in:10',
      `<handshake nonce='n'>${serviceProof('service', id, 'n', 'ambrosia')}</handshake><register domain='a.test' type='client'/>`,
    );
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    send('in:1', clientHeader);
    send('in:1', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain('dave', 'x')}</auth>`);
    host.take();
    host.advanceMs(499);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    expect(texts(host.take())).toEqual([
      "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>",
    ]);
    expect(host.stateOf('ambrosia.c2s in:1')).toBe('authenticating');
  });
});

describe('ambrosia: which element is legal when (the c2s statechart, RFC 6120 §4-§7, XEP-0198)', () => {
  const sasl = "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";
  const sm = "xmlns='urn:xmpp:sm:3'";
  const steps = {
    opening: [],
    authenticating: [clientHeader],
    restarting: [clientHeader, `<auth ${sasl} mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`],
    binding: [clientHeader, `<auth ${sasl} mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`, clientHeader],
    bound: [
      clientHeader,
      `<auth ${sasl} mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`,
      clientHeader,
      `<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>`,
    ],
    'bound with stream management': [
      clientHeader,
      `<auth ${sasl} mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`,
      clientHeader,
      `<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>`,
      `<enable ${sm} resume='true'/>`,
    ],
  } as const;
  const failed = (condition: string) =>
    `<failed ${sm}><${condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>`;
  /** In a state, an element, and the answer: a write (the stream stays) or a stream error (`stream:` + condition). */
  const rules: [keyof typeof steps, string, string][] = [
    ['authenticating', `<auth ${sasl} mechanism='X'>AA==</auth>`, `<failure ${sasl}><invalid-mechanism/></failure>`],
    ['authenticating', `<auth ${sasl} mechanism='PLAIN'>!</auth>`, `<failure ${sasl}><malformed-request/></failure>`],
    [
      'authenticating',
      `<auth ${sasl} mechanism='PLAIN'>${plain('alice', 'no')}</auth>`,
      `<failure ${sasl}><not-authorized/></failure>`,
    ],
    [
      'authenticating',
      `<auth ${sasl} mechanism='PLAIN'>${plain('zed', 'x')}</auth>`,
      `<failure ${sasl}><not-authorized/></failure>`,
    ],
    ['authenticating', `<message to='alice@a.test'/>`, 'stream:not-authorized'],
    ['authenticating', `<auth xmlns='urn:other'/>`, 'stream:not-authorized'],
    ['authenticating', `<enable ${sm}/>`, 'stream:unsupported-stanza-type'],
    ['opening', clientHeader.replace('jabber:client', 'jabber:server'), 'stream:invalid-namespace'],
    ['binding', `<message to='alice@a.test'/>`, 'stream:not-authorized'],
    ['binding', `<auth ${sasl} mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`, 'stream:not-authorized'],
    ['binding', `<enable ${sm}/>`, failed('unexpected-request')],
    ['binding', `<resume ${sm} previd='none' h='0'/>`, failed('item-not-found')],
    ['binding', `<resume ${sm} previd='none' h='x'/>`, failed('item-not-found')],
    ['binding', `<r ${sm}/>`, 'stream:unsupported-stanza-type'],
    ['restarting', clientHeader.replace('jabber:client', 'jabber:server'), 'stream:invalid-namespace'],
    ['bound', `<resume ${sm} previd='none' h='0'/>`, failed('unexpected-request')],
    ['bound', `<a ${sm} h='1'/>`, 'stream:unsupported-stanza-type'],
    ['bound', `<auth ${sasl} mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`, 'stream:not-authorized'],
    ['bound', '<foo/>', 'stream:unsupported-stanza-type'],
    ['bound with stream management', `<enable ${sm}/>`, failed('unexpected-request')],
    ['bound with stream management', `<r ${sm}/>`, `<a ${sm} h='0'/>`],
    ['bound with stream management', `<a ${sm} h='x'/>`, 'stream:bad-format'],
    ['bound with stream management', `<x ${sm}/>`, 'stream:unsupported-stanza-type'],
  ];

  it.each(rules)('%s: %s gets %s', (state, element, answer) => {
    const g = gateway();
    g.node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    for (const step of steps[state]) g.send('in:1', step);
    expect(g.host.stateOf('ambrosia.c2s in:1')).toBe(state.startsWith('bound') ? 'bound' : state);
    g.host.take();
    g.send('in:1', element);
    const outputs = g.host.take();
    if (answer.startsWith('stream:')) {
      const condition = answer.slice('stream:'.length);
      expect(outputs.find((o) => o.kind === 'reject')).toMatchObject({ code: `ambrosia.stream.${condition}` });
      expect(texts(outputs).join('')).toContain(`<${condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>`);
      expect(outputs.at(-1)).toEqual({ kind: 'close', conn: 'in:1' });
      expect(g.host.stateOf('ambrosia.c2s in:1')).toBe('closed');
    } else {
      expect(texts(outputs)).toEqual([answer]);
      expect(g.host.stateOf('ambrosia.c2s in:1')).toBe(state.startsWith('bound') ? 'bound' : state);
    }
  });
});

describe('ambrosia: gateway STARTTLS on c2s (ManualHost, RFC 6120 §5)', () => {
  const tlsNs = "xmlns='urn:ietf:params:xml:ns:xmpp-tls'";
  const sasl = "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";
  function opened(tls: 'off' | 'optional' | 'required') {
    const g = gateway({ tls, plainWithoutTls: false });
    g.node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    g.send('in:1', clientHeader);
    return { ...g, features: texts(g.host.take()).join('') };
  }

  it('offers STARTTLS before SCRAM (no PLAIN), proceeds, asks the host, and after TLS offers PLAIN on a new stream', () => {
    const g = opened('optional');
    expect(g.features).toContain(`<stream:features><starttls ${tlsNs}/><mechanisms`);
    expect(g.features).not.toContain('PLAIN');
    g.send('in:1', `<starttls ${tlsNs}/>`);
    const asked = g.host.take();
    expect(texts(asked)).toEqual([`<proceed ${tlsNs}/>`]);
    expect(asked.at(-1)).toEqual({ kind: 'tls.start', conn: 'in:1', role: 'server' });
    expect(g.host.stateOf('ambrosia.c2s in:1')).toBe('securing');
    g.node.handle({ kind: 'conn.tls', conn: 'in:1', ok: true });
    g.send('in:1', clientHeader);
    const secured = texts(g.host.take()).join('');
    expect(secured).toContain("id='gw.test.");
    expect(secured).toMatch(/id='[^']*\.tls'/);
    expect(secured).not.toContain('starttls');
    expect(secured).toContain('<mechanism>PLAIN</mechanism>');
    g.send('in:1', `<auth ${sasl} mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`);
    expect(texts(g.host.take())).toEqual([`<success ${sasl}/>`]);
  });

  it('reports a failed handshake and ends the stream without writing (RFC 6120 §5.4.3.2)', () => {
    const g = opened('optional');
    g.send('in:1', `<starttls ${tlsNs}/>`);
    g.host.take();
    g.node.handle({ kind: 'conn.tls', conn: 'in:1', ok: false, reason: 'bad-certificate' });
    const outputs = g.host.take();
    expect(outputs.find((o) => o.kind === 'reject')).toMatchObject({ code: 'ambrosia.tls.failed' });
    expect(texts(outputs)).toEqual([]);
    expect(g.host.stateOf('ambrosia.c2s in:1')).toBe('closed');
  });

  it('answers <starttls/> where TLS is off with <failure/>, the stream end and a close (RFC 6120 §5.4.2.2)', () => {
    const g = opened('off');
    expect(g.features).not.toContain('starttls');
    g.send('in:1', `<starttls ${tlsNs}/>`);
    const outputs = g.host.take();
    expect(texts(outputs).join('')).toBe(`<failure ${tlsNs}/></stream:stream>`);
    expect(outputs.at(-1)).toEqual({ kind: 'close', conn: 'in:1' });
  });

  it('with tls: required offers only <starttls><required/>, and refuses SASL before it with encryption-required (RFC 6120 §6.5.3)', () => {
    const g = opened('required');
    expect(g.features).toContain(`<stream:features><starttls ${tlsNs}><required/></starttls></stream:features>`);
    expect(g.features).not.toContain('mechanism');
    g.send('in:1', `<auth ${sasl} mechanism='SCRAM-SHA-1'>biwsbj1hbGljZSxyPWFiYw==</auth>`);
    expect(texts(g.host.take())).toEqual([`<failure ${sasl}><encryption-required/></failure>`]);
    expect(g.host.stateOf('ambrosia.c2s in:1')).toBe('authenticating');
  });
});

describe('ambrosia: service channel acks (ManualHost, XEP-0198 counters)', () => {
  it('retransmits an unacked stanza after ackTimeoutMs with <r/>, and a duplicate is processed once (ack lost, 300 ms)', () => {
    const host = new ManualHost('svc.test');
    const node = ambrosia.createNode(
      host,
      ambrosia.configSchema.parse({
        role: 'service',
        name: 'svc',
        gateways: [{ host: 'gw.test', port: 5347 }],
        registrations: [{ domain: 'a.test', type: 'client' }],
        ackTimeoutMs: 300,
      }),
    );
    node.start();
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'gw:1#1', target: { host: 'gw.test', port: 5347 } }]);
    node.handle({ kind: 'conn.opened', conn: 'gw:1#1' });
    host.take();
    node.handle({
      kind: 'conn.data',
      conn: 'gw:1#1',
      bytes: bytes(
        `<?xml version='1.0'?><stream:stream xmlns='urn:fedsim:ambrosia:service:0' xmlns:stream='http://etherx.jabber.org/streams' from='gw.test' id='S1' version='1.0'><stream:features/>`,
      ),
    });
    const handshake = texts(host.take())[0] ?? '';
    const nonce = /nonce='([^']+)'/.exec(handshake)?.[1] ?? '';
    expect(handshake).toBe(
      `<handshake nonce='${nonce}'>${serviceProof('service', 'S1', nonce, 'ambrosia')}</handshake>`,
    );
    node.handle({
      kind: 'conn.data',
      conn: 'gw:1#1',
      bytes: bytes(`<handshake>${serviceProof('gateway', 'S1', nonce, 'ambrosia')}</handshake>`),
    });
    expect(texts(host.take())).toEqual(["<register domain='a.test' type='client'/>"]);
    expect(host.stateOf('ambrosia.service-link gw:1')).toBe('ready');
    const chunk = `<chunk seq='1' index='0' last='true'>&lt;message to='bob@b.test' from='alice@a.test/r' id='m1'&gt;&lt;body&gt;x&lt;/body&gt;&lt;/message&gt;</chunk>`;
    node.handle({ kind: 'conn.data', conn: 'gw:1#1', bytes: bytes(chunk) });
    const routed = texts(host.take());
    // The service acks stanza 1, then routes it back out as its own stanza 1.
    expect(routed).toEqual([
      "<a xmlns='urn:xmpp:sm:3' h='1'/>",
      "<chunk seq='1' index='0' last='true'>&lt;message to='bob@b.test' from='alice@a.test/r' id='m1'&gt;&lt;body&gt;x&lt;/body&gt;&lt;/message&gt;</chunk>",
    ]);
    // The gateway's ack for it is lost: after 300 ms the service retransmits and asks for an ack.
    host.advanceMs(299);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    expect(texts(host.take())).toEqual([`${routed[1]}<r xmlns='urn:xmpp:sm:3'/>`]);
    // The gateway retransmits stanza 1 as well (its ack was lost too): a duplicate, re-acked, not processed again.
    node.handle({ kind: 'conn.data', conn: 'gw:1#1', bytes: bytes(chunk) });
    expect(texts(host.take())).toEqual(["<a xmlns='urn:xmpp:sm:3' h='1'/>"]);
    expect((node.view() as { processedCount: number }).processedCount).toBe(1);
    node.handle({ kind: 'conn.data', conn: 'gw:1#1', bytes: bytes("<a xmlns='urn:xmpp:sm:3' h='1'/>") });
    host.advanceMs(5_000);
    expect(host.take()).toEqual([]);
    expect(host.stateOf('ambrosia.channel gw:1#1')).toBe('idle');
  });
});

describe('ambrosia: c2s stream management (ManualHost, XEP-0198)', () => {
  const bindIq = `<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>home</resource></bind></iq>`;

  /** Opens, authenticates and restarts a c2s stream on `conn`; the next element is bind or resume. */
  function login(node: ReturnType<typeof gateway>, conn: string, user = 'alice') {
    node.node.handle({ kind: 'conn.accepted', conn, local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    node.send(conn, clientHeader);
    node.send(conn, `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain(user, 'secret')}</auth>`);
    node.send(conn, clientHeader);
    return texts(node.host.take());
  }

  it('enables, acks, times out a silent client, keeps its session and resumes it with what it never acked (c2sAckTimeoutMs 400)', () => {
    const gw = gateway({
      c2sAckTimeoutMs: 400,
      accounts: [
        { jid: 'alice@a.test', password: 'secret' },
        { jid: 'bob@a.test', password: 'secret' },
      ],
    });
    gw.host.take();
    expect(login(gw, 'in:1').at(-1)).toContain("<sm xmlns='urn:xmpp:sm:3'/>");
    gw.send('in:1', bindIq);
    gw.send('in:1', "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    const enabled = texts(gw.host.take()).at(-1) ?? '';
    const id = /id='([^']+)'/.exec(enabled)?.[1] ?? '';
    expect(enabled).toBe(`<enabled xmlns='urn:xmpp:sm:3' id='${id}' resume='true' max='60'/>`);
    // alice writes to herself: no service, so the gateway routes it straight back to her session.
    gw.send('in:1', "<message to='alice@a.test/home' id='m1'><body>hi</body></message><r xmlns='urn:xmpp:sm:3'/>");
    const m1 = "<message to='alice@a.test/home' id='m1' from='alice@a.test/home'><body>hi</body></message>";
    expect(texts(gw.host.take())).toEqual([m1, "<r xmlns='urn:xmpp:sm:3'/>", "<a xmlns='urn:xmpp:sm:3' h='1'/>"]);
    // Her parser is stuck (a damaged segment): no <a/> comes back, and the gateway gives the stream up.
    gw.host.advanceMs(399);
    expect(gw.host.take()).toEqual([]);
    gw.host.advanceMs(1);
    const timedOut = gw.host.take();
    expect(texts(timedOut)).toEqual([
      "<stream:error><connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
    ]);
    expect(timedOut.map((o) => o.kind)).toEqual(['note', 'write', 'close']);
    expect(gw.host.stateOf('ambrosia.sm alice@a.test/home')).toBe('detached');
    // While detached, what is routed to her waits in the session (bob has no stream management).
    login(gw, 'in:2', 'bob');
    gw.send('in:2', bindIq.replace('home', 'desk'));
    gw.send('in:2', "<message to='alice@a.test' id='b1'><body>yo</body></message>");
    expect(gw.host.take().filter((o) => o.kind === 'write' && o.conn !== 'in:2')).toEqual([]);
    // A wrong session id is refused; she may bind instead.
    login(gw, 'in:3');
    gw.send('in:3', "<resume xmlns='urn:xmpp:sm:3' previd='nope' h='0'/>");
    expect(texts(gw.host.take())).toEqual([
      "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>",
    ]);
    // The right one: <resumed/> says one of hers was handled, and m1 comes again, then <r/>.
    login(gw, 'in:4');
    gw.send('in:4', `<resume xmlns='urn:xmpp:sm:3' previd='${id}' h='0'/>`);
    expect(texts(gw.host.take())).toEqual([
      `<resumed xmlns='urn:xmpp:sm:3' previd='${id}' h='1'/>${m1}<message to='alice@a.test' id='b1' from='bob@a.test/desk'><body>yo</body></message>`,
      "<r xmlns='urn:xmpp:sm:3'/>",
    ]);
    expect(gw.host.stateOf('ambrosia.c2s in:4')).toBe('bound');
    gw.send('in:4', "<a xmlns='urn:xmpp:sm:3' h='1'/>");
    expect(gw.host.stateOf('ambrosia.sm alice@a.test/home')).toBe('awaitingAck');
    gw.send('in:4', "<a xmlns='urn:xmpp:sm:3' h='2'/>");
    expect(gw.host.stateOf('ambrosia.sm alice@a.test/home')).toBe('idle');
    gw.host.advanceMs(5_000);
    expect(gw.host.take()).toEqual([]);
  });

  it('ends a session its client closes cleanly, and one nobody resumes within c2sResumeMs, reporting what was never acked', () => {
    const gw = gateway({ c2sResumeMs: 2_000 });
    gw.host.take();
    login(gw, 'in:1');
    gw.send('in:1', bindIq);
    gw.send('in:1', "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    gw.send('in:1', "<message to='alice@a.test/home' id='m1'><body>hi</body></message>");
    gw.host.take();
    gw.node.handle({ kind: 'conn.closed', conn: 'in:1', reason: 'reset' });
    expect(gw.host.stateOf('ambrosia.sm alice@a.test/home')).toBe('detached');
    gw.host.advanceMs(2_000);
    expect(gw.host.take()).toEqual([
      expect.objectContaining({
        kind: 'reject',
        code: 'ambrosia.sm.undelivered',
        detail: { id: 'm1', to: 'alice@a.test/home' },
      }),
    ]);
    expect((gw.node.view() as { sessions: string[] }).sessions).toEqual([]);
    login(gw, 'in:2');
    gw.send('in:2', bindIq);
    gw.send('in:2', "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    gw.send('in:2', '</stream:stream>');
    gw.host.take();
    expect(gw.host.stateOf('ambrosia.sm alice@a.test/home')).toBe('ended');
  });
  it('ends the stream with <handled-count-too-high/> for an <a/> or <resume/> counting more than was sent, and drops nothing (XEP-0198 §4)', () => {
    const gw = gateway({});
    gw.host.take();
    login(gw, 'in:1');
    gw.send('in:1', bindIq);
    gw.send('in:1', "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    const id = /id='([^']+)'/.exec(texts(gw.host.take()).at(-1) ?? '')?.[1] ?? '';
    gw.send('in:1', "<message to='alice@a.test/home' id='m1'><body>hi</body></message>");
    const m1 = "<message to='alice@a.test/home' id='m1' from='alice@a.test/home'><body>hi</body></message>";
    gw.host.take();
    // One stanza sent; she claims two (a damaged count).
    gw.send('in:1', "<a xmlns='urn:xmpp:sm:3' h='2'/>");
    const tooHigh =
      "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
      "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='2' send-count='1'/></stream:error></stream:stream>";
    const out = gw.host.take();
    expect(texts(out)).toEqual([tooHigh]);
    expect(out.map((o) => o.kind)).toEqual(['reject', 'write', 'close']);
    expect(out[0]).toMatchObject({ code: 'ambrosia.stream.undefined-condition' });
    expect(gw.host.stateOf('ambrosia.sm alice@a.test/home')).toBe('detached');
    // A resume that counts too high is refused the same way, and the session stays for a right one.
    login(gw, 'in:2');
    gw.send('in:2', `<resume xmlns='urn:xmpp:sm:3' previd='${id}' h='5'/>`);
    expect(texts(gw.host.take())).toEqual([tooHigh.replace("h='2'", "h='5'")]);
    expect(gw.host.stateOf('ambrosia.sm alice@a.test/home')).toBe('detached');
    // A count that went back (below what she acked) reads as one past the stanzas sent, too.
    login(gw, 'in:3');
    gw.send('in:3', `<resume xmlns='urn:xmpp:sm:3' previd='${id}' h='4294967295'/>`);
    expect(texts(gw.host.take())[0]).toContain("<handled-count-too-high xmlns='urn:xmpp:sm:3' h='4294967295'");
    // m1 was never dropped as acked: the right count gets it again.
    login(gw, 'in:4');
    gw.send('in:4', `<resume xmlns='urn:xmpp:sm:3' previd='${id}' h='0'/>`);
    expect(texts(gw.host.take())).toEqual([
      `<resumed xmlns='urn:xmpp:sm:3' previd='${id}' h='1'/>${m1}`,
      "<r xmlns='urn:xmpp:sm:3'/>",
    ]);
    gw.send('in:4', "<a xmlns='urn:xmpp:sm:3' h='1'/>");
    expect(gw.host.stateOf('ambrosia.sm alice@a.test/home')).toBe('idle');
  });
});

describe('ambrosia: client reconnection (ManualHost, RFC 6120 §3.3, XEP-0198)', () => {
  const serverHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='a.test' id='s1' version='1.0'>`;
  const saslFeatures = `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`;
  const bindFeatures = `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='urn:xmpp:sm:3'/></stream:features>`;

  function client() {
    const host = new ManualHost('alice.test');
    const node = ambrosia.createNode(
      host,
      ambrosia.configSchema.parse({
        role: 'client',
        jid: 'alice@a.test',
        password: 'secret',
        gateway: { host: 'gw.test', port: 5222 },
        ackTimeoutMs: 500,
        retryMs: 100,
      }),
    );
    node.start();
    const send = (conn: string, text: string) => node.handle({ kind: 'conn.data', conn, bytes: bytes(text) });
    /** Plays the gateway up to the restarted stream's features; returns what the client wrote. */
    const open = (conn: string) => {
      node.handle({ kind: 'conn.opened', conn });
      send(conn, serverHeader + saslFeatures);
      send(conn, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
      send(conn, serverHeader + bindFeatures);
      return texts(host.take());
    };
    return { host, node, send, open };
  }

  it('reconnects after a damaged stream, resumes, and sends again only what the gateway did not handle', () => {
    const { host, node, send, open } = client();
    expect(host.take()).toEqual([expect.objectContaining({ kind: 'connect', conn: 'c2s:1#1' })]);
    expect(open('c2s:1#1').at(-1)).toContain('<bind');
    send(
      'c2s:1#1',
      "<iq type='result' id='bind.1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@a.test/fedsim</jid></bind></iq>",
    );
    expect(texts(host.take())).toEqual(["<enable xmlns='urn:xmpp:sm:3' resume='true'/>"]);
    send('c2s:1#1', "<enabled xmlns='urn:xmpp:sm:3' id='S' resume='true'/>");
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@a.test', body: 'one', id: 'm1' } });
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@a.test', body: 'two', id: 'm2' } });
    expect(texts(host.take())).toHaveLength(4);
    // One message in, then the gateway ends the stream for damaged XML before acking anything.
    send('c2s:1#1', "<message from='bob@a.test/x' to='alice@a.test/fedsim' id='b1'><body>hey</body></message>");
    send(
      'c2s:1#1',
      "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
    );
    expect(host.take()).toEqual([
      expect.objectContaining({ kind: 'deliver', id: 'b1' }),
      { kind: 'close', conn: 'c2s:1#1' },
      expect.objectContaining({ kind: 'note', what: 'ambrosia.client.reconnect' }),
    ]);
    expect(host.stateOf('ambrosia.client')).toBe('backingOff');
    host.advanceMs(100);
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'c2s:1#2', target: { host: 'gw.test', port: 5222 } }]);
    // It resumes, saying it handled one stanza; the gateway had handled m1 only, so m2 goes again.
    expect(open('c2s:1#2').at(-1)).toBe("<resume xmlns='urn:xmpp:sm:3' previd='S' h='1'/>");
    send('c2s:1#2', "<resumed xmlns='urn:xmpp:sm:3' previd='S' h='1'/>");
    expect(texts(host.take())).toEqual([
      "<message to='bob@a.test' type='chat' id='m2'><body>two</body></message>",
      "<r xmlns='urn:xmpp:sm:3'/>",
    ]);
    expect(host.stateOf('ambrosia.client')).toBe('awaitingAck');
    send('c2s:1#2', "<a xmlns='urn:xmpp:sm:3' h='2'/>");
    expect(host.stateOf('ambrosia.client')).toBe('online');
  });

  it('gives a silent stream up after ackTimeoutMs, and binds afresh, sending everything again, when the session is gone', () => {
    const { host, node, send, open } = client();
    host.take();
    open('c2s:1#1');
    send(
      'c2s:1#1',
      "<iq type='result' id='bind.1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@a.test/fedsim</jid></bind></iq>",
    );
    send('c2s:1#1', "<enabled xmlns='urn:xmpp:sm:3' id='S' resume='true'/>");
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@a.test', body: 'one', id: 'm1' } });
    host.take();
    host.advanceMs(499);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    expect(host.take()).toEqual([
      { kind: 'close', conn: 'c2s:1#1' },
      expect.objectContaining({
        kind: 'note',
        what: 'ambrosia.client.reconnect',
        detail: expect.objectContaining({ reason: 'ack timeout', unacked: 1 }),
      }),
    ]);
    host.advanceMs(100);
    host.take();
    open('c2s:1#2');
    send(
      'c2s:1#2',
      "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>",
    );
    expect(texts(host.take())).toEqual([
      "<iq type='set' id='bind.1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>fedsim</resource></bind></iq>",
    ]);
    send(
      'c2s:1#2',
      "<iq type='result' id='bind.1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@a.test/fedsim</jid></bind></iq>",
    );
    expect(texts(host.take())).toEqual([
      "<enable xmlns='urn:xmpp:sm:3' resume='true'/>",
      "<message to='bob@a.test' type='chat' id='m1'><body>one</body></message>",
      "<r xmlns='urn:xmpp:sm:3'/>",
    ]);
  });

  it('ends the stream with <handled-count-too-high/> when the gateway counts more than it sent, keeps the stanza and resumes (XEP-0198 §4)', () => {
    const { host, node, send, open } = client();
    host.take();
    open('c2s:1#1');
    send(
      'c2s:1#1',
      "<iq type='result' id='bind.1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@a.test/fedsim</jid></bind></iq>",
    );
    send('c2s:1#1', "<enabled xmlns='urn:xmpp:sm:3' id='S' resume='true'/>");
    node.handle({ kind: 'command', command: { type: 'send', to: 'bob@a.test', body: 'one', id: 'm1' } });
    host.take();
    send('c2s:1#1', "<a xmlns='urn:xmpp:sm:3' h='2'/>");
    const out = host.take();
    expect(out.map((o) => o.kind)).toEqual(['reject', 'write', 'close', 'note']);
    expect(out[0]).toMatchObject({ code: 'ambrosia.stream.undefined-condition' });
    expect(texts(out)).toEqual([
      "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
        "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='2' send-count='1'/></stream:error></stream:stream>",
    ]);
    expect(host.stateOf('ambrosia.client')).toBe('backingOff');
    host.advanceMs(100);
    host.take();
    expect(open('c2s:1#2').at(-1)).toBe("<resume xmlns='urn:xmpp:sm:3' previd='S' h='0'/>");
    // <resumed/> counting too high is refused the same way; m1 is still kept.
    send('c2s:1#2', "<resumed xmlns='urn:xmpp:sm:3' previd='S' h='3'/>");
    expect(host.take().map((o) => o.kind)).toEqual(['reject', 'write', 'close', 'note']);
    host.advanceMs(200);
    host.take();
    open('c2s:1#3');
    send('c2s:1#3', "<resumed xmlns='urn:xmpp:sm:3' previd='S' h='0'/>");
    expect(texts(host.take())).toEqual([
      "<message to='bob@a.test' type='chat' id='m1'><body>one</body></message>",
      "<r xmlns='urn:xmpp:sm:3'/>",
    ]);
    send('c2s:1#3', "<a xmlns='urn:xmpp:sm:3' h='1'/>");
    expect(host.stateOf('ambrosia.client')).toBe('online');
  });

  it('does not reconnect after a refusal: a wrong password, or its session taken over by another bind', () => {
    const refused = client();
    refused.host.take();
    refused.node.handle({ kind: 'conn.opened', conn: 'c2s:1#1' });
    refused.send('c2s:1#1', serverHeader + saslFeatures);
    refused.send('c2s:1#1', "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>");
    expect(refused.host.outputsOf('reject').map((r) => r.code)).toEqual(['ambrosia.login.failed']);
    expect(refused.host.stateOf('ambrosia.client')).toBe('failed');

    const replaced = client();
    replaced.host.take();
    replaced.open('c2s:1#1');
    replaced.send(
      'c2s:1#1',
      "<iq type='result' id='bind.1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@a.test/fedsim</jid></bind></iq>",
    );
    replaced.send(
      'c2s:1#1',
      "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
    );
    expect(replaced.host.stateOf('ambrosia.client')).toBe('failed');
    replaced.host.advanceMs(60_000);
    expect(replaced.host.outputsOf('connect')).toEqual([]);
  });
});

describe('ambrosia: service channel stalls (ManualHost, spec.md §4.8)', () => {
  it('StallWatch: an element still incomplete when later bytes come, stallMs after it began, is a stall', () => {
    const watch = new StallWatch(500);
    expect(watch.stalled(false, true, 100)).toBe(false);
    expect(watch.stalled(false, true, 599)).toBe(false);
    expect(watch.stalled(false, true, 600)).toBe(true);
    // A segment that completes an element starts the clock again for the next partial one.
    expect(watch.stalled(true, true, 700)).toBe(false);
    expect(watch.stalled(false, false, 2_000)).toBe(false);
    expect(watch.stalled(false, true, 2_100)).toBe(false);
  });

  it('the gateway gives up a service stream whose chunk never completes and fails its stanza over (ackTimeoutMs 1000)', () => {
    const { host, node, send } = gateway();
    host.take();
    node.handle({ kind: 'conn.accepted', conn: 'svc:1', local: { host: 'gw.test', port: 5347 }, remote: 'im' });
    send(
      'svc:1',
      `<?xml version='1.0'?><stream:stream xmlns='urn:fedsim:ambrosia:service:0' xmlns:stream='http://etherx.jabber.org/streams' from='im.test' to='gw.test' version='1.0'>`,
    );
    const streamId = /id='([^']+)'/.exec(texts(host.take())[0] ?? '')?.[1] ?? '';
    send('svc:1', `<handshake nonce='n1'>${serviceProof('service', streamId, 'n1', 'ambrosia')}</handshake>`);
    send('svc:1', "<register domain='a.test' type='client'/>");
    host.take();
    // A chunk cut in its text: nothing is wrong yet, the rest may still come.
    host.advanceMs(100);
    send('svc:1', "<chunk seq='1' index='0' last='true'>&lt;message to='alice@a.test/x' id='s1'&gt;&lt;bo");
    expect(host.take()).toEqual([]);
    // The service's retransmission comes 1000 ms later and only nests in the open element.
    host.advanceMs(1_000);
    send('svc:1', "<chunk seq='1' index='0' last='true'>&lt;message/&gt;</chunk><r xmlns='urn:xmpp:sm:3'/>");
    const outputs = host.take();
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'reject', code: 'ambrosia.stream.bad-format' }));
    expect(texts(outputs)).toEqual([
      "<stream:error><bad-format xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
    ]);
    expect(outputs.at(-1)).toEqual({ kind: 'close', conn: 'svc:1' });
  });
});

describe('ambrosia: gateway s2s with Server Dialback (ManualHost, XEP-0220)', () => {
  const serverHeader = (from: string, to: string, id?: string) =>
    `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='${from}' to='${to}'${id === undefined ? '' : ` id='${id}'`} version='1.0'>`;
  const streamIdOf = (text: string) => /<stream:stream[^>]* id='([^']+)'/.exec(text)?.[1] ?? '';

  /** An incoming s2s stream from b.test to a.test: returns the gateway's stream id. */
  function incoming(g: ReturnType<typeof gateway>, conn = 'in:s2s'): string {
    g.node.handle({ kind: 'conn.accepted', conn, local: { host: 'gw.test', port: 5269 }, remote: 'b' });
    g.send(conn, serverHeader('b.test', 'a.test'));
    const [answer] = texts(g.host.take());
    expect(answer).toContain("xmlns:db='jabber:server:dialback'");
    expect(answer).toContain("<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>");
    return streamIdOf(answer ?? '');
  }

  /** The verification stream the gateway opened to b.test's authoritative server, up to its <db:verify>. */
  function verification(g: ReturnType<typeof gateway>, key: string, streamId: string): string {
    const query = g.host.take();
    expect(query).toEqual([
      expect.objectContaining({ kind: 'dns.query', name: '_xmpp-server._tcp.b.test', type: 'SRV' }),
    ]);
    const { query: id } = query[0] as Extract<NodeOutput, { kind: 'dns.query' }>;
    g.node.handle({
      kind: 'dns.answer',
      query: id,
      name: '_xmpp-server._tcp.b.test',
      type: 'SRV',
      status: 'ok',
      records: ['0 0 5269 gw-b.test'],
    });
    const [connect] = g.host.take();
    expect(connect).toMatchObject({ kind: 'connect', target: { host: 'gw-b.test', port: 5269 } });
    const conn = (connect as Extract<NodeOutput, { kind: 'connect' }>).conn;
    g.node.handle({ kind: 'conn.opened', conn });
    expect(texts(g.host.take())[0]).toContain("from='a.test' to='b.test'");
    g.send(conn, `${serverHeader('b.test', 'a.test', 'v1')}<stream:features/>`);
    expect(texts(g.host.take())).toEqual([`<db:verify from='a.test' to='b.test' id='${streamId}'>${key}</db:verify>`]);
    return conn;
  }

  it('dialback: refuses a stanza before any domain is verified, with <not-authorized/>', () => {
    const g = gateway();
    g.host.take();
    incoming(g);
    g.send('in:s2s', `<message from='bob@b.test' to='alice@a.test'><body>early</body></message>`);
    const outputs = g.host.take();
    expect(texts(outputs)).toEqual([
      "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
    ]);
    expect(outputs.map((o) => o.kind)).toEqual(['reject', 'write', 'close']);
  });

  it('dialback: verifies a key with the authoritative server, then accepts stanzas from that domain only', () => {
    const g = gateway();
    g.host.take();
    const streamId = incoming(g);
    g.send('in:s2s', `<db:result from='b.test' to='a.test'>k3y</db:result>`);
    const conn = verification(g, 'k3y', streamId);
    g.send(conn, `<db:verify from='b.test' to='a.test' id='${streamId}' type='valid'/>`);
    const outputs = g.host.take();
    expect(texts(outputs)).toEqual(["<db:result from='a.test' to='b.test' type='valid'/>", '</stream:stream>']);
    expect(outputs).toContainEqual({ kind: 'close', conn });
    expect(outputs).toContainEqual(expect.objectContaining({ kind: 'note', what: 'ambrosia.dialback.valid' }));
    // A verified domain's stanza goes on (no service, no session: the gateway reports it offline).
    g.send('in:s2s', `<message from='bob@b.test/x' to='alice@a.test'><body>hi</body></message>`);
    expect(g.host.take()).toEqual([expect.objectContaining({ kind: 'reject', code: 'ambrosia.route.offline' })]);
    // Another domain on the same stream is not verified.
    g.send('in:s2s', `<message from='eve@c.test/x' to='alice@a.test'><body>hi</body></message>`);
    expect(texts(g.host.take())).toEqual([
      "<stream:error><invalid-from xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
    ]);
  });

  it('dialback: a key the authoritative server calls invalid gets <db:result type=invalid/>, <not-authorized/> and the close', () => {
    const g = gateway();
    g.host.take();
    const streamId = incoming(g);
    g.send('in:s2s', `<db:result from='b.test' to='a.test'>forged</db:result>`);
    const conn = verification(g, 'forged', streamId);
    g.send(conn, `<db:verify from='b.test' to='a.test' id='${streamId}' type='invalid'/>`);
    const outputs = g.host.take();
    expect(texts(outputs)).toEqual([
      "<db:result from='a.test' to='b.test' type='invalid'/>",
      "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
      '</stream:stream>',
    ]);
    expect(outputs.filter((o) => o.kind === 'close')).toEqual([
      { kind: 'close', conn: 'in:s2s' },
      { kind: 'close', conn },
    ]);
  });

  it('dialback: answers <db:verify> as the authoritative server, valid for its own key only', () => {
    const g = gateway();
    g.host.take();
    incoming(g);
    const key = dialbackKey(derivedDialbackSecret('gw.test', 'ambrosia'), 'b.test', 'a.test', 's-1');
    g.send('in:s2s', `<db:verify from='b.test' to='a.test' id='s-1'>${key}</db:verify>`);
    g.send('in:s2s', `<db:verify from='b.test' to='a.test' id='s-2'>${key}</db:verify>`);
    g.send('in:s2s', `<db:verify from='b.test' to='c.test' id='s-1'>${key}</db:verify>`);
    expect(texts(g.host.take())).toEqual([
      "<db:verify from='a.test' to='b.test' id='s-1' type='valid'/>",
      "<db:verify from='a.test' to='b.test' id='s-2' type='invalid'/>",
      "<db:verify from='c.test' to='b.test' id='s-1' type='invalid'/>",
    ]);
  });

  it('dialback: a configured dialbackSecret makes the key, and a refusal by the receiving server ends the outgoing stream', () => {
    const g = gateway({ dialbackSecret: 'configured' });
    g.host.take();
    g.node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
    g.send('in:1', clientHeader);
    g.send(
      'in:1',
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain('alice', 'secret')}</auth>`,
    );
    g.send('in:1', clientHeader);
    g.send('in:1', `<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`);
    g.host.take();
    g.send('in:1', `<message to='bob@b.test' id='m1'><body>hi</body></message>`);
    g.host.take();
    g.node.handle({
      kind: 'dns.answer',
      query: 's2s:1:srv',
      name: '_xmpp-server._tcp.b.test',
      type: 'SRV',
      status: 'ok',
      records: ['0 0 5269 gw-b.test'],
    });
    g.host.take();
    g.node.handle({ kind: 'conn.opened', conn: 's2s:1' });
    g.host.take();
    g.send('s2s:1', `${serverHeader('b.test', 'a.test', 'x')}<stream:features/>`);
    const key = dialbackKey('configured', 'b.test', 'a.test', 'x');
    expect(texts(g.host.take())).toEqual([`<db:result from='a.test' to='b.test'>${key}</db:result>`]);
    g.send('s2s:1', `<db:result from='b.test' to='a.test' type='invalid'/>`);
    const outputs = g.host.take();
    expect(texts(outputs)).toEqual(['</stream:stream>']);
    expect(outputs).toContainEqual(
      expect.objectContaining({
        kind: 'reject',
        code: 'ambrosia.s2s.remote-server-not-found',
        detail: { id: 'm1', to: 'bob@b.test' },
      }),
    );
  });
});

describe('ambrosia: client server lookup (ManualHost, RFC 6120 §3.2)', () => {
  function client() {
    const host = new ManualHost('alice.test');
    const node = ambrosia.createNode(
      host,
      ambrosia.configSchema.parse({ role: 'client', jid: 'alice@a.test', password: 'secret' }),
    );
    node.start();
    return { host, node };
  }
  const answer = (status: 'ok' | 'nxdomain', records: string[]) =>
    ({
      kind: 'dns.answer',
      query: 'client:srv',
      name: '_xmpp-client._tcp.a.test',
      type: 'SRV',
      status,
      records,
    }) as const;

  it('client: with no gateway configured, asks _xmpp-client._tcp SRV and connects to its first target', () => {
    const { host, node } = client();
    expect(host.take()).toEqual([
      expect.objectContaining({ kind: 'dns.query', name: '_xmpp-client._tcp.a.test', type: 'SRV' }),
    ]);
    node.handle(answer('ok', ['20 0 5222 slow.a.test', '10 0 5223 gw.a.test']));
    expect(host.take()).toEqual([
      expect.objectContaining({ kind: 'connect', target: { host: 'gw.a.test', port: 5223 } }),
    ]);
  });

  it('client: without an SRV record, connects to the domain itself on 5222; a target of . refuses the login', () => {
    const plain = client();
    plain.host.take();
    plain.node.handle(answer('nxdomain', []));
    expect(plain.host.take()).toEqual([
      expect.objectContaining({ kind: 'connect', target: { host: 'a.test', port: 5222 } }),
    ]);
    const none = client();
    none.host.take();
    none.node.handle(answer('ok', ['0 0 0 .']));
    expect(none.host.take()).toEqual([expect.objectContaining({ kind: 'reject', code: 'ambrosia.login.failed' })]);
  });
});
