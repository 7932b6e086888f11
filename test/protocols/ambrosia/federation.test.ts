// Goal: gateways, IM services and clients work together as the seed's "how it will probably work"
// describes: the seven steps, round robin between two services on one domain, and failover when a
// service disconnects mid-stream, with chunking and acks on the service channel.
// Method: several nodes on ManualHosts joined by the in-test Pump (ordered, reliable connections,
// a DNS zone with MX records); assertions on deliveries, service views and what crossed the wire.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pump } from './pump.js';

interface ServiceView {
  processedCount: number;
  processed: { id: string; to: string }[];
}

function federation(options: { services?: number; chunkCharsMax?: number } = {}) {
  const pump = new Pump({ 'b.test': { MX: ['10 gw-b.test'] }, 'a.test': { MX: ['10 gw-a.test'] } });
  pump.add('gw-a.test', { role: 'gateway', accounts: [{ jid: 'alice@a.test', password: 'pw-a' }] });
  pump.add('gw-b.test', { role: 'gateway', accounts: [{ jid: 'bob@b.test', password: 'pw-b' }] });
  const count = options.services ?? 1;
  for (let i = 1; i <= count; i++) {
    pump.add(`im${i}.a.test`, {
      role: 'service',
      name: `im${i}.a.test`,
      gateways: [{ host: 'gw-a.test', port: 5347 }],
      registrations: [
        { domain: 'a.test', type: 'client' },
        { domain: 'a.test', type: 'server' },
      ],
      ...(options.chunkCharsMax === undefined ? {} : { chunkCharsMax: options.chunkCharsMax }),
    });
  }
  pump.add('im.b.test', {
    role: 'service',
    name: 'im.b.test',
    gateways: [{ host: 'gw-b.test', port: 5347 }],
    registrations: [
      { domain: 'b.test', type: 'client' },
      { domain: 'b.test', type: 'server' },
    ],
  });
  pump.run();
  pump.add('alice.client', {
    role: 'client',
    jid: 'alice@a.test',
    password: 'pw-a',
    gateway: { host: 'gw-a.test', port: 5222 },
  });
  pump.add('bob.client', {
    role: 'client',
    jid: 'bob@b.test',
    password: 'pw-b',
    gateway: { host: 'gw-b.test', port: 5222 },
  });
  pump.run();
  return pump;
}

const view = (pump: Pump, id: string) => pump.get(id).node.view() as ServiceView;

describe('ambrosia: federation (Pump)', () => {
  it('runs the seed seven steps: service registers, client logs in, message goes a.test -> service -> s2s -> b.test (2 gateways, 2 services, seed 004)', () => {
    const pump = federation();
    // Steps 1-3: gateways need no configuration beyond accounts; the services registered; both clients are bound.
    expect(pump.outputs('im1.a.test', 'note').map((n) => n.what)).toContain('ambrosia.service.registered');
    expect((pump.get('alice.client').node.view() as { state: string }).state).toBe('online');
    expect((pump.get('bob.client').node.view() as { boundJid: string }).boundJid).toBe('bob@b.test/fedsim');
    // Step 4: alice sends to someone at another domain.
    pump.command('alice.client', { type: 'send', to: 'bob@b.test', body: 'hello from a', id: 'm1' });
    // Steps 5-6: the gateway routed it to the IM service, which routed it back out.
    expect(view(pump, 'im1.a.test').processed).toEqual([expect.objectContaining({ id: 'm1', to: 'bob@b.test' })]);
    // Step 7: gw-a connected to b.test's gateway (found by MX) over s2s; gw-b's service saw it; bob got it once.
    expect(pump.outputs('gw-a.test', 'dns.query')).toEqual([expect.objectContaining({ name: 'b.test', type: 'MX' })]);
    expect(pump.connsBetween('gw-a.test', 'gw-b.test')).toHaveLength(1);
    expect(view(pump, 'im.b.test').processed).toEqual([expect.objectContaining({ id: 'm1' })]);
    expect(pump.delivered('bob.client')).toEqual([{ from: 'alice@a.test/fedsim', body: 'hello from a', id: 'm1' }]);
    // Every stanza on the service channels was acked: nothing left to retransmit (a retransmission
    // writes the chunks again with <r/>; c2s streams ask for an ack after every stanza, XEP-0198).
    pump.advanceMs(5_000, 500);
    expect(pump.delivered('bob.client')).toHaveLength(1);
    expect(pump.wire.filter((w) => w.text.includes('<chunk') && w.text.includes("<r xmlns='urn:xmpp:sm:3'/>"))).toEqual(
      [],
    );
  });

  it('shares load round robin between two services on one domain (6 messages, 2 services)', () => {
    const pump = federation({ services: 2 });
    for (let i = 1; i <= 6; i++)
      pump.command('alice.client', { type: 'send', to: 'bob@b.test', body: `n${i}`, id: `m${i}` });
    const first = view(pump, 'im1.a.test').processed.map((p) => p.id);
    const second = view(pump, 'im2.a.test').processed.map((p) => p.id);
    expect(first).toEqual(['m1', 'm3', 'm5']);
    expect(second).toEqual(['m2', 'm4', 'm6']);
    expect(pump.delivered('bob.client').map((d) => d.body)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
    // The gateway's own log of the same decisions, and its count.
    const gateway = pump.get('gw-a.test').node.view() as {
      routed: { key: string; service: string; id: string }[];
      routedTotal: number;
    };
    expect(gateway.routed.map((r) => `${r.id}>${r.service}`)).toEqual(
      ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map((id, i) => `${id}>im${(i % 2) + 1}.a.test`),
    );
    expect(gateway.routedTotal).toBe(6);
  });

  it('fails over the unacked stanza when a service disconnects mid-stream (2 services, ack lost with the connection)', () => {
    const pump = federation({ services: 2 });
    // Cut im1's link before it can ack: drop gw-a's write by cutting right after the send reaches the channel.
    const gwToIm1 = pump.connsBetween('gw-a.test', 'im1.a.test');
    expect(gwToIm1).toHaveLength(1);
    const gateway = pump.get('gw-a.test');
    const alice = pump.get('alice.client');
    alice.node.handle({ kind: 'command', command: { type: 'send', to: 'bob@b.test', body: 'survives', id: 'f1' } });
    // Move alice's writes (the stanza, then <r/>) to the gateway by hand, then cut im1 before the
    // gateway's chunk reaches it.
    const writes = alice.host.take().filter((o): o is Extract<typeof o, { kind: 'write' }> => o.kind === 'write');
    expect(writes.map((w) => w.decoded)).toEqual([expect.stringContaining("id='f1'"), "<r xmlns='urn:xmpp:sm:3'/>"]);
    const aliceConn = pump.connsBetween('gw-a.test', 'alice.client')[0] ?? '';
    for (const write of writes) gateway.node.handle({ kind: 'conn.data', conn: aliceConn, bytes: write.bytes });
    const gatewayWrites = gateway.host
      .take()
      .filter((o): o is Extract<typeof o, { kind: 'write' }> => o.kind === 'write');
    expect(gatewayWrites.filter((o) => o.conn === gwToIm1[0])).toHaveLength(1);
    // The gateway's <a/> for alice (XEP-0198 on c2s) still reaches her.
    const aliceSide = pump.connsBetween('alice.client', 'gw-a.test')[0] ?? '';
    for (const write of gatewayWrites.filter((o) => o.conn === aliceConn)) {
      alice.node.handle({ kind: 'conn.data', conn: aliceSide, bytes: write.bytes });
    }
    pump.cut('gw-a.test', gwToIm1[0] ?? '');
    expect(pump.outputs('gw-a.test', 'note').map((n) => n.what)).toContain('ambrosia.failover');
    expect(view(pump, 'im1.a.test').processedCount).toBe(0);
    expect(view(pump, 'im2.a.test').processed.map((p) => p.id)).toEqual(['f1']);
    expect(pump.delivered('bob.client').map((d) => d.body)).toEqual(['survives']);
    // The disconnected service reconnects with backoff and registers again, and takes its turn.
    pump.advanceMs(1_000);
    expect(pump.connsBetween('gw-a.test', 'im1.a.test')).toHaveLength(1);
    pump.command('alice.client', { type: 'send', to: 'bob@b.test', body: 'after', id: 'f2' });
    pump.command('alice.client', { type: 'send', to: 'bob@b.test', body: 'after2', id: 'f3' });
    expect(view(pump, 'im1.a.test').processedCount + view(pump, 'im2.a.test').processedCount).toBe(3);
    expect(view(pump, 'im1.a.test').processedCount).toBeGreaterThan(0);
  });

  it('chunks a stanza larger than one chunk and reassembles it whole (chunkCharsMax 64, 5,000-char body)', () => {
    const pump = federation({ chunkCharsMax: 64 });
    const body = 'x<&>'.repeat(1_250);
    pump.command('alice.client', { type: 'send', to: 'bob@b.test', body, id: 'big' });
    const chunksToService = pump.wire.filter((w) => w.from === 'im1.a.test' && w.text.startsWith('<chunk'));
    // Over 32 KB of chunk elements: written back to back (nothing is ever buffered here), in writes
    // that each stop at the first element reaching the 16 KiB high-water mark (spec.md §4.4).
    expect(chunksToService.length).toBe(3);
    for (const write of chunksToService) expect(write.text.length).toBeLessThan(16 * 1024 + 200);
    expect(chunksToService[0]?.text.length).toBeGreaterThanOrEqual(16 * 1024);
    expect(chunksToService.flatMap((w) => w.text.match(/<chunk /g) ?? []).length).toBeGreaterThan(50);
    expect(pump.delivered('bob.client')).toEqual([{ from: 'alice@a.test/fedsim', body, id: 'big' }]);
  });

  it('delivers between two users of one domain through the service (virtual domain on one gateway)', () => {
    const pump = new Pump();
    pump.add('gw.test', {
      role: 'gateway',
      accounts: [
        { jid: 'alice@a.test', password: 'p' },
        { jid: 'carol@c.test', password: 'p' },
      ],
    });
    pump.add('svc', {
      role: 'service',
      name: 'svc',
      gateways: [{ host: 'gw.test', port: 5347 }],
      registrations: [
        { domain: 'a.test', type: 'client' },
        { domain: 'c.test', type: 'client' },
      ],
    });
    pump.run();
    pump.add('alice', { role: 'client', jid: 'alice@a.test', password: 'p', gateway: { host: 'gw.test', port: 5222 } });
    pump.add('carol', { role: 'client', jid: 'carol@c.test', password: 'p', gateway: { host: 'gw.test', port: 5222 } });
    pump.run();
    pump.command('alice', { type: 'send', to: 'carol@c.test', body: 'same gateway' });
    expect(pump.delivered('carol').map((d) => d.body)).toEqual(['same gateway']);
    expect((pump.get('svc').node.view() as ServiceView).processedCount).toBe(1);
  });

  it('delivers every message exactly once and keeps round robin within one of fair, whatever service drops out (property, 15 runs, 1-4 services)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        fc.nat(),
        (services, messages, cutAfter, victim) => {
          const pump = federation({ services });
          const ids = Array.from({ length: messages }, (_, i) => `p${i}`);
          ids.forEach((id, i) => {
            if (i === cutAfter && services > 1) {
              const name = `im${(victim % services) + 1}.a.test`;
              for (const conn of pump.connsBetween('gw-a.test', name)) pump.cut('gw-a.test', conn);
              pump.command(name, { type: 'disconnect' });
            }
            pump.command('alice.client', { type: 'send', to: 'bob@b.test', body: id, id });
          });
          expect(pump.delivered('bob.client').map((d) => d.id)).toEqual(ids);
          const counts = Array.from({ length: services }, (_, i) => view(pump, `im${i + 1}.a.test`).processedCount);
          expect(counts.reduce((a, b) => a + b, 0)).toBe(messages);
          if (cutAfter >= messages || services === 1)
            expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 15 },
    );
  });
});
