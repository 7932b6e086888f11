// Goal: an FMTP node looks objects up in the seed's order (cache, owner, MX, gateway), ends each
// lookup in exactly one of the four outcomes, verifies peers against their DNS keys and refuses a
// bad hash, refuses messages by BLACKLIST / WHITELIST / POLICY, and proxies ("I will look") no
// further than HOPS allows, so route loops and over-long proxy chains end (spec.md §5.3). Within
// a domain it delivers without a lookup, its transaction ids survive a restart, a relay retries a
// transient failure and a receiver accepts a repeated MESSAGE once (spec.md §3, §8, §8.1), and a
// connection whose REQUEST or MESSAGE goes unanswered for `answerMs` is closed (spec.md §2).
// Method: single nodes driven by hand with ManualHost (playing peers and DNS), and small
// federations wired by the in-test pump; each test reads outputs and notes.
import { describe, expect, it } from 'vitest';
import { fmtp, fmtpConfig } from '../../../src/protocols/fmtp/index.js';
import { formatKeyRecord, helloText, publicKeyOf, secretKeyFor, sign } from '../../../src/protocols/fmtp/keys.js';
import { hopsMax } from '../../../src/protocols/fmtp/config.js';
import { retryDelayMs } from '../../../src/protocols/fmtp/machines/relay.js';
import { MemoryStore } from '../../../src/protocols/protocol.js';
import { encodeFrame, type Frame } from '../../../src/protocols/fmtp/wire.js';
import { ManualHost } from '../../support/manual-host.js';
import { Pump } from './pump.js';

function single(id: string, config: Parameters<typeof fmtpConfig>[0] = {}) {
  const host = new ManualHost(id, id, undefined, 1);
  const node = fmtp.createNode(host, fmtpConfig(config));
  node.start();
  host.take();
  return { host, node };
}

/** Accepts a connection from `peer` at `node` and verifies its HELLO; the connection is `in:1`. */
function acceptVerified(host: ManualHost, node: ReturnType<typeof single>['node'], peer: string, domain: string) {
  node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: host.hostName, port: 7465 }, remote: peer });
  const nonce = 'a'.repeat(32);
  const hash = sign(helloText(peer, domain, nonce), secretKeyFor(1, peer));
  node.handle({
    kind: 'conn.data',
    conn: 'in:1',
    bytes: encodeFrame({ type: 'HELLO', from: peer, to: domain, nonce, hash }),
  });
  const query = host.take().find((o) => o.kind === 'dns.query') as { query: string };
  const record = formatKeyRecord(publicKeyOf(secretKeyFor(1, peer)));
  node.handle({
    kind: 'dns.answer',
    query: query.query,
    name: `fmtpkey.${peer}`,
    type: 'TXT',
    status: 'ok',
    records: [record],
  });
  host.take();
}

/** The frames a pump member wrote, decoded. */
function written(pump: Pump, node: string): Frame[] {
  return pump.of('write', node).map((write) => write.decoded as Frame);
}

function outcomes(pump: Pump, node: string) {
  return pump.notes('fmtp.lookup.outcome', node) as { outcome: string; step: string; reason: string; object: string }[];
}

const lenoreUsers = [
  { address: 'lost@lenore.org', route: { host: 'lost.lenore.org', port: 8000, transport: 'tcp' as const } },
];

describe('fmtp: node: lookup steps (ManualHost)', () => {
  it('step 1: a cached object is found without any query (1 node)', () => {
    const { host, node } = single('poe.net', { cache: [{ address: 'lost@lenore.org', status: 'AWAY' }] });
    node.handle({ kind: 'command', command: { type: 'lookup', object: 'lost@lenore.org' } });
    expect(host.outputsOf('dns.query')).toEqual([]);
    expect(host.outputsOf('note').find((n) => n.what === 'fmtp.lookup.outcome')?.detail).toMatchObject({
      outcome: 'found',
      step: 'cache',
    });
  });

  it('step 3 then 4: a miss queries MX, and without MX or route the outcome is failure (1 node)', () => {
    const { host, node } = single('poe.net');
    node.handle({ kind: 'command', command: { type: 'lookup', object: 'lost@lenore.org' } });
    const [query] = host.outputsOf('dns.query');
    expect(query).toMatchObject({ name: 'lenore.org', type: 'MX' });
    expect(host.stateOf('fmtp.lookup lookup:1')).toBe('mx.querying');
    node.handle({
      kind: 'dns.answer',
      query: query?.query ?? '',
      name: 'lenore.org',
      type: 'MX',
      status: 'nxdomain',
      records: [],
    });
    expect(host.outputsOf('note').find((n) => n.what === 'fmtp.lookup.outcome')?.detail).toMatchObject({
      outcome: 'failure',
      step: 'gateway',
      reason: 'route.none',
    });
  });

  it('refuses a HELLO whose hash does not verify against fmtpkey.<domain> (server, forged key)', () => {
    const { host, node } = single('mail.lenore.org', { domain: 'lenore.org' });
    node.handle({
      kind: 'conn.accepted',
      conn: 'in:1',
      local: { host: 'mail.lenore.org', port: 7465 },
      remote: 'evil.test',
    });
    const forged = secretKeyFor(99, 'evil.test');
    const nonce = '0'.repeat(32);
    const hello = {
      type: 'HELLO' as const,
      from: 'poe.net',
      to: 'lenore.org',
      nonce,
      hash: sign(helloText('poe.net', 'lenore.org', nonce), forged),
    };
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: encodeFrame(hello) });
    const [query] = host.take().filter((o) => o.kind === 'dns.query');
    expect(query).toMatchObject({ name: 'fmtpkey.poe.net', type: 'TXT' });
    const realKey = formatKeyRecord(publicKeyOf(secretKeyFor(1, 'poe.net')));
    node.handle({
      kind: 'dns.answer',
      query: (query as { query: string }).query,
      name: 'fmtpkey.poe.net',
      type: 'TXT',
      status: 'ok',
      records: [realKey],
    });
    const outputs = host.take();
    expect(outputs.map((o) => o.kind)).toEqual(['note', 'write', 'reject', 'close']);
    expect((outputs[1] as { decoded: unknown }).decoded).toMatchObject({ type: 'REFUSED', code: 'hash.failed' });
    expect(outputs[2]).toMatchObject({ kind: 'reject', code: 'fmtp.hash.failed' });
  });

  it('accepts a HELLO signed by the key at fmtpkey.<domain> and answers WELCOME (server)', () => {
    const { host, node } = single('mail.lenore.org', { domain: 'lenore.org' });
    node.handle({
      kind: 'conn.accepted',
      conn: 'in:1',
      local: { host: 'mail.lenore.org', port: 7465 },
      remote: 'poe.net',
    });
    const nonce = 'a'.repeat(32);
    const hash = sign(helloText('poe.net', 'lenore.org', nonce), secretKeyFor(1, 'poe.net'));
    node.handle({
      kind: 'conn.data',
      conn: 'in:1',
      bytes: encodeFrame({ type: 'HELLO', from: 'poe.net', to: 'lenore.org', nonce, hash }),
    });
    const query = host.take().find((o) => o.kind === 'dns.query') as { query: string };
    const realKey = formatKeyRecord(publicKeyOf(secretKeyFor(1, 'poe.net')));
    node.handle({
      kind: 'dns.answer',
      query: query.query,
      name: 'fmtpkey.poe.net',
      type: 'TXT',
      status: 'ok',
      records: [realKey],
    });
    const writes = host.outputsOf('write').map((w) => w.decoded as { type: string; from?: string });
    expect(writes).toEqual([expect.objectContaining({ type: 'WELCOME', from: 'lenore.org', to: 'poe.net' })]);
    expect(host.stateOf('fmtp.connection in:1')).toBe('established.held');
  });

  it('refuses garbage and frames before the handshake with REFUSED and a close, never a throw (server)', () => {
    const { host, node } = single('mail.lenore.org', { domain: 'lenore.org' });
    node.handle({
      kind: 'conn.accepted',
      conn: 'in:1',
      local: { host: 'mail.lenore.org', port: 7465 },
      remote: 'x.test',
    });
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: new Uint8Array([0xff, 0x0a, 0x0a]) });
    expect(host.take().map((o) => o.kind)).toEqual(['write', 'reject', 'close']);
    node.handle({
      kind: 'conn.accepted',
      conn: 'in:2',
      local: { host: 'mail.lenore.org', port: 7465 },
      remote: 'x.test',
    });
    node.handle({
      kind: 'conn.data',
      conn: 'in:2',
      bytes: encodeFrame({ type: 'REQUEST', from: 'x.test', object: 'lost@lenore.org', transaction: '1' }),
    });
    const outputs = host.take();
    expect((outputs[0] as { decoded: unknown }).decoded).toMatchObject({ type: 'REFUSED', code: 'handshake.order' });
  });

  it('a proxy given HOPS 0 answers FAILED hops.exhausted instead of LOOKING, and notes why (server, spec §5.3)', () => {
    const { host, node } = single('p1.test', { proxy: true, routes: [{ pattern: '*@*', gateway: 'p2.test' }] });
    acceptVerified(host, node, 'p2.test', 'p1.test');
    const request = { type: 'REQUEST', from: 'p2.test', object: 'x@far.test' } as const;
    node.handle({
      kind: 'conn.data',
      conn: 'in:1',
      bytes: encodeFrame({ ...request, transaction: '1.p2.test', hops: 0 }),
    });
    const outputs = host.take();
    expect(outputs.filter((o) => o.kind === 'write').map((o) => (o as { decoded: unknown }).decoded)).toEqual([
      { type: 'FAILED', object: 'x@far.test', transaction: '1.p2.test', reason: 'hops.exhausted' },
    ]);
    expect(outputs).toContainEqual(
      expect.objectContaining({ kind: 'note', what: 'fmtp.request.hops-exhausted', detail: expect.anything() }),
    );
    // No lookup started and nothing was asked onward.
    expect(outputs.filter((o) => o.kind === 'connect' || o.kind === 'dns.query')).toEqual([]);
    // HOPS 1 still lets this proxy look; so does a REQUEST without HOPS (a peer that predates the rule).
    for (const [transaction, hops] of [
      ['2.p2.test', 1],
      ['3.p2.test', undefined],
    ] as const) {
      node.handle({
        kind: 'conn.data',
        conn: 'in:1',
        bytes: encodeFrame({ ...request, transaction, ...(hops === undefined ? {} : { hops }) }),
      });
      const writes = host.take().filter((o) => o.kind === 'write');
      expect(writes.map((o) => (o as { decoded: unknown }).decoded)).toEqual([
        { type: 'LOOKING', object: 'x@far.test', transaction },
      ]);
    }
  });

  it('a proxy given HOPS 0 still answers from its own users and cache (server, spec §5.3)', () => {
    const { host, node } = single('p1.test', { proxy: true, cache: [{ address: 'x@far.test' }] });
    acceptVerified(host, node, 'p2.test', 'p1.test');
    node.handle({
      kind: 'conn.data',
      conn: 'in:1',
      bytes: encodeFrame({ type: 'REQUEST', from: 'p2.test', object: 'x@far.test', transaction: '1', hops: 0 }),
    });
    const writes = host.outputsOf('write').map((o) => o.decoded as Frame);
    expect(writes).toEqual([expect.objectContaining({ type: 'OBJECT', object: 'x@far.test' })]);
  });

  it('rejects a send whose FROM is not a local user (local API misuse)', () => {
    const { host, node } = single('poe.net');
    node.handle({
      kind: 'command',
      command: { type: 'send', from: 'mallory@evil.test', to: 'lost@lenore.org', body: 'x' },
    });
    expect(host.take()).toEqual([expect.objectContaining({ kind: 'reject', code: 'fmtp.command.from-not-local' })]);
  });
});

describe('fmtp: node: outcomes and routing (pump, 2-4 nodes)', () => {
  function lenore(pump: Pump, extra: Parameters<typeof fmtpConfig>[0] = {}) {
    pump.add('mail.lenore.org', { domain: 'lenore.org', users: lenoreUsers, ...extra });
    pump.record('MX', 'lenore.org', '10 mail.lenore.org');
  }

  it('step 3: the MX server has the object: found, cached, and a second lookup hits the cache (2 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net');
    lenore(pump);
    pump.start();
    pump.command('poe.net', { type: 'lookup', object: 'lost@lenore.org' });
    pump.command('poe.net', { type: 'lookup', object: 'lost@lenore.org' });
    expect(outcomes(pump, 'poe.net').map((o) => [o.outcome, o.step])).toEqual([
      ['found', 'mx'],
      ['found', 'cache'],
    ]);
  });

  it('object does not exist at the MX server: give up with notFound (2 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', { routes: [{ pattern: '*@*', gateway: 'gw.test' }] });
    pump.add('gw.test', { proxy: true });
    lenore(pump);
    pump.start();
    pump.command('poe.net', { type: 'lookup', object: 'nobody@lenore.org' });
    expect(outcomes(pump, 'poe.net')).toEqual([expect.objectContaining({ outcome: 'notFound', step: 'mx' })]);
    expect(pump.log.filter((l) => l.startsWith('poe.net connect'))).toEqual(['poe.net connect mail.lenore.org:7465']);
  });

  it('step 2: asks the owner at its cached route for an object it owns (2 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', {
      cache: [{ address: 'calin@split.test', route: { host: 'calin.split.test', port: 9000, transport: 'tcp' } }],
    });
    pump.add('calin.split.test', {
      domain: 'split.test',
      port: 9000,
      cache: [{ address: '1812.calin@split.test' }],
    });
    pump.start();
    pump.command('poe.net', { type: 'lookup', object: '1812.calin@split.test' });
    expect(pump.log).toContain('poe.net connect calin.split.test:9000');
    expect(pump.log).not.toContain('poe.net dns MX split.test');
    expect(outcomes(pump, 'poe.net')).toEqual([expect.objectContaining({ outcome: 'found', step: 'owner' })]);
  });

  it('step 4: the first matching route picks the gateway (*@splitreflection.com before *@*) (3 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', {
      routes: [
        { pattern: '*@splitreflection.com', gateway: 'gw1.test' },
        { pattern: '*@*', gateway: 'gw2.test' },
      ],
    });
    pump.add('gw1.test', { cache: [{ address: 'calin@splitreflection.com' }] });
    pump.add('gw2.test', { cache: [{ address: 'far@far.test' }] });
    pump.start();
    pump.command('poe.net', { type: 'lookup', object: 'calin@splitreflection.com' });
    pump.command('poe.net', { type: 'lookup', object: 'far@far.test' });
    pump.command('poe.net', { type: 'lookup', object: 'near@far.test' });
    expect(outcomes(pump, 'poe.net').map((o) => [o.object, o.outcome, o.step])).toEqual([
      ['calin@splitreflection.com', 'found', 'gateway'],
      ['far@far.test', 'found', 'gateway'],
      ['near@far.test', 'notFound', 'gateway'],
    ]);
    expect(pump.log.filter((l) => l.includes(' connect gw'))).toEqual([
      'poe.net connect gw1.test:7465',
      'poe.net connect gw2.test:7465',
    ]);
  });

  it('failure: the MX server is down and the gateway too (3 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', { routes: [{ pattern: '*@*', gateway: 'gw.test' }] });
    pump.add('gw.test');
    lenore(pump);
    pump.start();
    pump.unreachable.add('mail.lenore.org');
    pump.unreachable.add('gw.test');
    pump.command('poe.net', { type: 'lookup', object: 'lost@lenore.org' });
    expect(outcomes(pump, 'poe.net')).toEqual([
      expect.objectContaining({ outcome: 'failure', step: 'gateway', reason: 'connect.timeout' }),
    ]);
  });

  it('MX server down: the gateway is asked next and has the object (3 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', { routes: [{ pattern: '*@*', gateway: 'gw.test' }] });
    pump.add('gw.test', { cache: [{ address: 'lost@lenore.org' }] });
    lenore(pump);
    pump.start();
    pump.unreachable.add('mail.lenore.org');
    pump.command('poe.net', { type: 'lookup', object: 'lost@lenore.org' });
    expect(outcomes(pump, 'poe.net')).toEqual([expect.objectContaining({ outcome: 'found', step: 'gateway' })]);
  });

  it('"I will look": a proxy gateway answers LOOKING, looks further itself, and the final answer arrives (3 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', { routes: [{ pattern: '*@*', gateway: 'proxy.test' }] });
    pump.add('proxy.test', { proxy: true, routes: [{ pattern: '*@far.test', gateway: 'holder.test' }] });
    pump.add('holder.test', { cache: [{ address: 'x@far.test', status: 'ONLINE' }] });
    pump.start();
    pump.command('poe.net', { type: 'lookup', object: 'x@far.test' });
    const toPoe = pump.log.filter((l) => l.includes('-> poe.net'));
    expect(toPoe).toEqual([
      'proxy.test -> poe.net WELCOME',
      'proxy.test -> poe.net LOOKING',
      'proxy.test -> poe.net OBJECT',
    ]);
    // poe waited after "I will look" and did not look further (no other connection).
    expect(pump.log.filter((l) => l.startsWith('poe.net connect'))).toEqual(['poe.net connect proxy.test:7465']);
    expect(outcomes(pump, 'poe.net')).toEqual([expect.objectContaining({ outcome: 'found', step: 'gateway' })]);
    expect(outcomes(pump, 'proxy.test')).toEqual([expect.objectContaining({ outcome: 'found', step: 'gateway' })]);
  });

  it('"I will look" then FAILED: the proxies cannot reach the holder and the requester ends in failure (4 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', { lookingMs: 1_000, routes: [{ pattern: '*@*', gateway: 'proxy.test' }] });
    pump.add('proxy.test', { proxy: true, routes: [{ pattern: '*@*', gateway: 'hole.test' }] });
    pump.add('hole.test', { proxy: true, lookingMs: 60_000, routes: [{ pattern: '*@*', gateway: 'nowhere.test' }] });
    pump.add('nowhere.test', { proxy: true, lookingMs: 60_000 });
    pump.start();
    pump.unreachable.add('nowhere.test');
    pump.command('poe.net', { type: 'lookup', object: 'x@far.test' });
    expect(outcomes(pump, 'poe.net')).toEqual([
      expect.objectContaining({ outcome: 'failure', reason: 'peer.failed: connect.timeout' }),
    ]);
  });

  it('"I will look" by proxy: a proxy asking another proxy considers its request closed and forwards the answer (4 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', { routes: [{ pattern: '*@*', gateway: 'p1.test' }] });
    pump.add('p1.test', { proxy: true, routes: [{ pattern: '*@*', gateway: 'p2.test' }] });
    pump.add('p2.test', { proxy: true, cache: [], routes: [{ pattern: '*@*', gateway: 'holder.test' }] });
    pump.add('holder.test', { cache: [{ address: 'x@far.test' }] });
    pump.start();
    pump.command('poe.net', { type: 'lookup', object: 'x@far.test' });
    expect(outcomes(pump, 'p1.test')).toEqual([expect.objectContaining({ outcome: 'looking', step: 'gateway' })]);
    expect(outcomes(pump, 'p2.test')).toEqual([expect.objectContaining({ outcome: 'found', step: 'gateway' })]);
    expect(outcomes(pump, 'poe.net')).toEqual([expect.objectContaining({ outcome: 'found', step: 'gateway' })]);
    expect(pump.log.filter((l) => l.includes('-> poe.net'))).toEqual([
      'p1.test -> poe.net WELCOME',
      'p1.test -> poe.net LOOKING',
      'p1.test -> poe.net OBJECT',
    ]);
  });

  it('proxy loop: two proxies routing *@* to each other stop after hopsMax and the requester fails with hops.exhausted (3 nodes, spec §5.3)', () => {
    const pump = new Pump();
    pump.add('poe.net', { routes: [{ pattern: '*@*', gateway: 'p1.test' }] });
    pump.add('p1.test', { proxy: true, routes: [{ pattern: '*@*', gateway: 'p2.test' }] });
    pump.add('p2.test', { proxy: true, routes: [{ pattern: '*@*', gateway: 'p1.test' }] });
    pump.start();
    // Without the rule this never returns: the pump throws after its step limit (a livelock).
    pump.command('poe.net', { type: 'lookup', object: 'x@nowhere.test' });
    const requests = [...written(pump, 'poe.net'), ...written(pump, 'p1.test'), ...written(pump, 'p2.test')]
      .filter((frame): frame is Extract<Frame, { type: 'REQUEST' }> => frame.type === 'REQUEST')
      .map((frame) => frame.hops);
    // Poe starts at hopsMax; each proxy forwards with one less, down to the one that gets 0.
    expect(requests.sort((a, b) => (b ?? 0) - (a ?? 0))).toEqual(
      Array.from({ length: hopsMax + 1 }, (_, index) => hopsMax - index),
    );
    expect(pump.notes('fmtp.request.hops-exhausted')).toHaveLength(1);
    expect(outcomes(pump, 'poe.net')).toEqual([
      expect.objectContaining({ outcome: 'failure', step: 'gateway', reason: 'peer.failed: hops.exhausted' }),
    ]);
    // Every proxy lookup ended once: at "looking" (closed by proxy) or, for the last, in failure.
    const proxied = [...outcomes(pump, 'p1.test'), ...outcomes(pump, 'p2.test')].map((o) => o.outcome);
    expect(proxied.sort()).toEqual([...Array<string>(hopsMax - 1).fill('looking'), 'failure'].sort());
  });

  it('a chain of proxies longer than hopsMax ends at the proxy that gets HOPS 0 (hopsMax + 2 proxies, spec §5.3)', () => {
    const pump = new Pump();
    const proxies = Array.from({ length: hopsMax + 2 }, (_, index) => `p${index + 1}.test`);
    pump.add('poe.net', { routes: [{ pattern: '*@*', gateway: 'p1.test' }] });
    proxies.forEach((proxy, index) => {
      const next = proxies[index + 1] ?? 'holder.test';
      pump.add(proxy, { proxy: true, routes: [{ pattern: '*@*', gateway: next }] });
    });
    pump.add('holder.test', { cache: [{ address: 'x@far.test' }] });
    pump.start();
    pump.command('poe.net', { type: 'lookup', object: 'x@far.test' });
    // p1 gets HOPS hopsMax, so p(hopsMax + 1) gets 0 and refuses to look; the holder is never asked.
    expect(pump.notes('fmtp.request.hops-exhausted', `p${hopsMax + 1}.test`)).toHaveLength(1);
    expect(pump.log.filter((line) => line.includes('connect holder.test'))).toEqual([]);
    expect(outcomes(pump, 'poe.net')).toEqual([
      expect.objectContaining({ outcome: 'failure', reason: 'peer.failed: hops.exhausted' }),
    ]);
  });

  it('a forged key is refused and nothing is taken from that peer (impostor MX for lenore.org, 2 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net');
    pump.add('evil.test', { domain: 'lenore.org', publishKey: false, cache: [{ address: 'lost@lenore.org' }] });
    pump.add('mail.lenore.org', { domain: 'lenore.org', users: lenoreUsers });
    pump.record('MX', 'lenore.org', '10 evil.test');
    pump.start();
    pump.command('poe.net', { type: 'lookup', object: 'lost@lenore.org' });
    expect(pump.log).toContain('poe.net reject fmtp.hash.failed');
    expect(pump.log).not.toContain('poe.net -> evil.test REQUEST');
    expect(outcomes(pump, 'poe.net')).toEqual([expect.objectContaining({ outcome: 'failure', step: 'gateway' })]);
    expect(pump.notes('fmtp.cache.hit', 'poe.net')).toEqual([]);
  });
});

describe('fmtp: node: message refusal (pump, 2 nodes)', () => {
  function send(
    user: Parameters<typeof fmtpConfig>[0] extends infer C ? (C extends { users?: infer U } ? U : never) : never,
  ) {
    const pump = new Pump();
    pump.add('poe.net');
    pump.add('mail.lenore.org', { domain: 'lenore.org', users: user });
    pump.record('MX', 'lenore.org', '10 mail.lenore.org');
    pump.start();
    pump.command('poe.net', { type: 'send', from: 'poe@poe.net', to: 'lost@lenore.org', body: 'hi' });
    return pump;
  }

  it('delivers into the mailbox when the user is not logged in and accepts anyone (POLICY ACCEPT)', () => {
    const pump = send([{ address: 'lost@lenore.org', policy: 'ACCEPT' }]);
    expect(pump.of('deliver', 'mail.lenore.org')).toEqual([
      expect.objectContaining({ user: 'lost@lenore.org', body: 'hi' }),
    ]);
    expect(pump.notes('fmtp.message.accepted', 'poe.net')).toHaveLength(1);
  });

  it.each([
    [{ blacklist: ['*@poe.net'] }, 'sender-blacklisted'],
    [{ policy: 'REJECT' as const }, 'policy-reject'],
    [{ policy: 'CONFIRM' as const }, 'policy-confirm'],
    [{ encryptPolicy: 'REQUIRED' as const }, 'encryption-required'],
  ])('refuses %j with REJECTED %s, and the sender reports it', (props, code) => {
    const pump = send([{ address: 'lost@lenore.org', ...props }]);
    expect(pump.of('deliver')).toEqual([]);
    expect(pump.of('reject', 'poe.net')).toEqual([expect.objectContaining({ code: `fmtp.message.${code}` })]);
  });

  it('WHITELIST overrides BLACKLIST and POLICY REJECT', () => {
    const pump = send([
      { address: 'lost@lenore.org', blacklist: ['*@*'], whitelist: ['poe@poe.net'], policy: 'REJECT' },
    ]);
    expect(pump.of('deliver', 'mail.lenore.org')).toHaveLength(1);
  });

  it('refuses a recipient that does not exist (object does not exist, no delivery)', () => {
    const pump = send([{ address: 'other@lenore.org' }]);
    expect(pump.of('reject', 'poe.net')).toEqual([expect.objectContaining({ code: 'fmtp.message.recipient-unknown' })]);
  });
});

describe('fmtp: node: delivery within a domain, ids across restarts (ManualHost, spec.md §3, §8)', () => {
  const users = [{ address: 'lost@lenore.org' }, { address: 'raven@lenore.org', policy: 'REJECT' as const }];

  function home(store: MemoryStore) {
    const host = new ManualHost('mail.lenore.org', 'mail.lenore.org', store, 1);
    const node = fmtp.createNode(host, fmtpConfig({ domain: 'lenore.org', users }));
    node.start();
    host.take();
    return { host, node };
  }

  it('delivers to a user of its own domain without a lookup, and applies its refusals', () => {
    const { host, node } = home(new MemoryStore());
    node.handle({
      kind: 'command',
      command: { type: 'send', from: 'raven@lenore.org', to: 'lost@lenore.org', body: 'hi' },
    });
    node.handle({
      kind: 'command',
      command: { type: 'send', from: 'lost@lenore.org', to: 'raven@lenore.org', body: 'no' },
    });
    node.handle({
      kind: 'command',
      command: { type: 'send', from: 'lost@lenore.org', to: 'nobody@lenore.org', body: '?' },
    });
    const outputs = host.take();
    expect(outputs.filter((o) => o.kind === 'dns.query' || o.kind === 'connect')).toEqual([]);
    expect(outputs.filter((o) => o.kind === 'deliver')).toEqual([
      expect.objectContaining({ user: 'lost@lenore.org', from: 'raven@lenore.org', body: 'hi', id: '1.lenore.org' }),
    ]);
    expect(outputs.filter((o) => o.kind === 'reject').map((o) => o.code)).toEqual([
      'fmtp.message.policy-reject',
      'fmtp.message.recipient-unknown',
    ]);
  });

  it('continues its transaction ids after a restart (same durable store, new node)', () => {
    const store = new MemoryStore();
    const send = { type: 'send', from: 'raven@lenore.org', to: 'lost@lenore.org', body: 'hi' };
    const first = home(store);
    first.node.handle({ kind: 'command', command: send });
    first.node.stop();
    const second = home(store);
    second.node.handle({ kind: 'command', command: send });
    const ids = [...first.host.take(), ...second.host.take()].flatMap((o) => (o.kind === 'deliver' ? [o.id] : []));
    expect(ids).toEqual(['1.lenore.org', '2.lenore.org']);
  });
});

describe('fmtp: node: retries and accepting once (spec.md §8.1)', () => {
  it('doubles the retry delay from retryMsBase up to retryMsMax', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 60].map((attempt) => retryDelayMs(attempt, 1_000, 30_000))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('accepts a repeated MESSAGE (same FROM and TRANSACTION) again without delivering it twice (ManualHost)', () => {
    const { host, node } = single('mail.lenore.org', { domain: 'lenore.org', users: [{ address: 'lost@lenore.org' }] });
    acceptVerified(host, node, 'poe.net', 'lenore.org');
    const message: Frame = {
      type: 'MESSAGE',
      from: 'poe@poe.net',
      to: 'lost@lenore.org',
      transaction: '7.poe.net',
      body: 'hi',
    };
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: encodeFrame(message) });
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: encodeFrame(message) });
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: encodeFrame({ ...message, transaction: '8.poe.net' }) });
    const outputs = host.take();
    expect(outputs.filter((o) => o.kind === 'deliver').map((o) => o.kind === 'deliver' && o.id)).toEqual([
      '7.poe.net',
      '8.poe.net',
    ]);
    const answers = outputs.flatMap((o) => (o.kind === 'write' ? [o.decoded as Frame] : []));
    expect(answers.map((frame) => frame.type)).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    expect(outputs.filter((o) => o.kind === 'note' && o.what === 'fmtp.message.duplicate')).toHaveLength(1);
  });

  function mxDown(config: Parameters<typeof fmtpConfig>[0] = {}) {
    const pump = new Pump();
    pump.add('poe.net', config);
    pump.add('mail.lenore.org', { domain: 'lenore.org', users: [{ address: 'lost@lenore.org' }] });
    pump.record('MX', 'lenore.org', '10 mail.lenore.org');
    pump.start();
    pump.unreachable.add('mail.lenore.org');
    pump.command('poe.net', { type: 'send', from: 'poe@poe.net', to: 'lost@lenore.org', body: 'hi' });
    return pump;
  }

  it('retries a send whose MX server is unreachable, and delivers it once the server is back (pump, 2 nodes)', () => {
    const pump = mxDown();
    expect(pump.of('reject', 'poe.net')).toEqual([]);
    expect(pump.notes('fmtp.relay.retry', 'poe.net')).toEqual([
      expect.objectContaining({ attempt: 1, delayMs: 1_000 }),
    ]);
    pump.unreachable.delete('mail.lenore.org');
    pump.advanceMs(1_000);
    expect(pump.of('deliver', 'mail.lenore.org')).toEqual([expect.objectContaining({ body: 'hi' })]);
    expect(pump.notes('fmtp.message.accepted', 'poe.net')).toHaveLength(1);
  });

  it('gives up as unreachable once the delays would pass relayMsMax (pump, 2 nodes)', () => {
    const pump = mxDown({ retryMsBase: 1_000, relayMsMax: 3_000 });
    pump.advanceMs(1_000);
    pump.advanceMs(2_000);
    expect(pump.notes('fmtp.relay.retry', 'poe.net')).toHaveLength(2);
    expect(pump.of('reject', 'poe.net')).toEqual([expect.objectContaining({ code: 'fmtp.message.unreachable' })]);
    expect(mxDown({ relayMsMax: 0 }).of('reject', 'poe.net')).toEqual([
      expect.objectContaining({ code: 'fmtp.message.unreachable' }),
    ]);
  });
});

describe('fmtp: node: the answer timeout (pump, spec.md §2)', () => {
  function pair() {
    const pump = new Pump();
    pump.add('poe.net');
    pump.add('mail.lenore.org', { domain: 'lenore.org', users: [{ address: 'lost@lenore.org' }] });
    pump.record('MX', 'lenore.org', '10 mail.lenore.org');
    pump.start();
    return pump;
  }
  const send = { type: 'send', from: 'poe@poe.net', to: 'lost@lenore.org', body: 'hi' };

  it('closes a connection whose MESSAGE goes unanswered for answerMs; the relay retries on a new one (2 nodes)', () => {
    const pump = pair();
    pump.lose.add('poe.net MESSAGE');
    pump.command('poe.net', send);
    pump.advanceMs(999);
    expect(pump.log).not.toContain('poe.net close -> mail.lenore.org');
    pump.advanceMs(1);
    expect(pump.log).toContain('poe.net close -> mail.lenore.org');
    expect(pump.notes('fmtp.relay.retry', 'poe.net')).toEqual([
      expect.objectContaining({ attempt: 1, delayMs: 1_000, reason: 'answer.timeout' }),
    ]);
    pump.advanceMs(1_000);
    expect(pump.log.filter((l) => l.startsWith('poe.net connect'))).toHaveLength(2);
    expect(pump.of('deliver', 'mail.lenore.org')).toEqual([expect.objectContaining({ body: 'hi' })]);
    expect(pump.notes('fmtp.message.accepted', 'poe.net')).toHaveLength(1);
    expect(pump.of('reject')).toEqual([]);
  });

  it('a lost ACCEPTED: the retry is accepted again and delivered once (2 nodes)', () => {
    const pump = pair();
    pump.lose.add('mail.lenore.org ACCEPTED');
    pump.command('poe.net', send);
    pump.advanceMs(2_000);
    expect(pump.of('deliver', 'mail.lenore.org')).toHaveLength(1);
    expect(pump.notes('fmtp.message.duplicate', 'mail.lenore.org')).toHaveLength(1);
    expect(pump.notes('fmtp.message.accepted', 'poe.net')).toHaveLength(1);
  });

  it('keeps an answered connection open until keepOpenMs, with no timer left running (2 nodes)', () => {
    const pump = pair();
    pump.command('poe.net', send);
    expect(pump.notes('fmtp.message.accepted', 'poe.net')).toHaveLength(1);
    pump.advanceMs(9_999);
    expect(pump.log).not.toContain('poe.net close -> mail.lenore.org');
    expect(pump.members.get('mail.lenore.org')?.host.pendingTimers()).toBe(0);
  });

  it('LOOKING stops the timer: a final answer later than answerMs is still waited for (3 nodes)', () => {
    const pump = new Pump();
    pump.add('poe.net', { routes: [{ pattern: '*@*', gateway: 'proxy.test' }] });
    // The proxy waits 3 s for the holder's lost OBJECT, then answers FAILED.
    pump.add('proxy.test', {
      proxy: true,
      answerMs: 3_000,
      routes: [{ pattern: '*@far.test', gateway: 'holder.test' }],
    });
    pump.add('holder.test', { cache: [{ address: 'x@far.test', status: 'ONLINE' }] });
    pump.start();
    pump.lose.add('holder.test OBJECT');
    pump.command('poe.net', { type: 'lookup', object: 'x@far.test' });
    expect(pump.log).toContain('proxy.test -> poe.net LOOKING');
    pump.advanceMs(2_999);
    expect(pump.log).not.toContain('poe.net close -> proxy.test');
    expect(outcomes(pump, 'poe.net')).toEqual([]);
    pump.advanceMs(1);
    expect(pump.log).toContain('proxy.test -> poe.net FAILED');
    expect(outcomes(pump, 'poe.net')).toEqual([
      expect.objectContaining({ outcome: 'failure', step: 'gateway', reason: expect.stringContaining('peer.failed') }),
    ]);
    expect(pump.log).not.toContain('poe.net close -> proxy.test');
  });
});
