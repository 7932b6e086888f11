// Goal: the simulated network keeps its transport promises (ordered, reliable streams; lossy,
// duplicating, reordering datagrams; local sockets; DNS) and every fault kind shows its effect in
// the trace: partition (also one-way), heal, clog, unclog, crash, restart, skew, corrupt,
// truncate, DNS failure.
// Method: probe nodes (test/support/probe.ts) do exactly what each test tells them; the test reads
// the trace and the deliveries.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import { root } from '../support/fedsim.js';
import { ProbeWorld } from '../support/probe.js';

/** a.test listens on port 1 and b.test connects as `c`. */
function connected(network = {}, seed = 1): ProbeWorld {
  return new ProbeWorld(['a.test', 'b.test'], seed, { delayMsMin: 5, delayMsMax: 5, ...network })
    .at(0, 'a.test', { op: 'listen', port: 1 })
    .at(1, 'b.test', { op: 'connect', conn: 'c', host: 'a.test', port: 1 });
}

describe('sim: network: stream connections', () => {
  it('accepts, opens after one round trip, and keeps bytes in order under jitter (2 nodes, delay 1-50 ms)', () => {
    const w = new ProbeWorld(['a.test', 'b.test'], 9, { delayMsMin: 1, delayMsMax: 50 })
      .at(0, 'a.test', { op: 'listen', port: 1 })
      .at(1, 'b.test', { op: 'connect', conn: 'c', host: 'a.test', port: 1 });
    for (let i = 0; i < 40; i++) w.at(200 + i, 'b.test', { op: 'write', conn: 'c', text: `m${i}` });
    w.run();
    const accept = w.events('conn.accept', 'a.test')[0];
    const open = w.events('conn.open', 'b.test')[0];
    expect(accept).toMatchObject({ conn: 'in:1', peer: 'b.test', peerConn: 'c' });
    expect(open).toMatchObject({ conn: 'c', peer: 'a.test', peerConn: 'in:1' });
    expect(open!.atMs).toBeGreaterThan(accept!.atMs);
    expect(w.bodies('a.test')).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`));
    // Jitter was real: arrival gaps differ, yet the order held.
    const arrivals = w.events('receive', 'a.test').map((e) => e.atMs);
    expect(new Set(arrivals.slice(1).map((t, i) => t - arrivals[i]!)).size).toBeGreaterThan(1);
  });

  it('refuses a connect to a port nobody listens on, after one round trip', () => {
    const w = new ProbeWorld(['a.test', 'b.test'], 1, { delayMsMin: 5, delayMsMax: 5 })
      .at(1, 'b.test', { op: 'connect', conn: 'c', host: 'a.test', port: 9 })
      .run();
    expect(w.events('conn.refuse')).toEqual([expect.objectContaining({ atMs: 11, conn: 'c', reason: 'refused' })]);
  });

  it('fails a connect to an unknown host as unresolved', () => {
    const w = new ProbeWorld(['b.test'])
      .at(1, 'b.test', { op: 'connect', conn: 'c', host: 'nowhere.test', port: 1 })
      .run();
    expect(w.events('conn.refuse')).toEqual([expect.objectContaining({ reason: 'unresolved' })]);
  });

  it('closes the peer end in order after the data before the close', () => {
    const w = connected()
      .at(100, 'b.test', { op: 'write', conn: 'c', text: 'last words' })
      .at(100, 'b.test', { op: 'close', conn: 'c' })
      .at(200, 'b.test', { op: 'write', conn: 'c', text: 'too late' })
      .run();
    expect(w.bodies('a.test')).toEqual(['last words']);
    const close = w.events('conn.close', 'a.test')[0];
    expect(close).toMatchObject({ reason: 'closed' });
    expect(w.events('drop')).toEqual([expect.objectContaining({ reason: 'not-open' })]);
  });

  it('connects two nodes on one host through a local socket, untouched by partitions', () => {
    const w = new ProbeWorld([{ id: 'server', host: 'j.test' }, { id: 'handler', host: 'j.test' }, 'x.test'])
      .at(0, 'handler', { op: 'listen', path: '/run/h.sock' })
      .do(0, (world) => world.partition('j.test', 'x.test'))
      .at(1, 'server', { op: 'connect', conn: 'h', path: '/run/h.sock' })
      .at(2, 'server', { op: 'write', conn: 'h', text: 'local' })
      .run();
    expect(w.bodies('handler')).toEqual(['local']);
    expect(w.events('receive', 'handler')[0]!.atMs).toBe(2);
  });
});

describe('sim: network: faults', () => {
  it('partition: a connect across it times out after connectTimeoutMs', () => {
    const w = new ProbeWorld(['a.test', 'b.test'], 1, { connectTimeoutMs: 1234 })
      .at(0, 'a.test', { op: 'listen', port: 1 })
      .do(0, (world) => world.partition('a.test', 'b.test'))
      .at(10, 'b.test', { op: 'connect', conn: 'c', host: 'a.test', port: 1 })
      .run();
    expect(w.events('conn.refuse')).toEqual([expect.objectContaining({ atMs: 1244, reason: 'timeout' })]);
    expect(w.events('fault')[0]).toMatchObject({
      fault: 'partition',
      phase: 'begin',
      detail: { between: ['a.test', 'b.test'] },
    });
  });

  it('partition then heal: bytes written meanwhile are held, then delivered in order after the heal', () => {
    const w = connected({ resetTimeoutMs: 10_000 })
      .do(100, (world) => world.partition('a.test', 'b.test'))
      .at(200, 'b.test', { op: 'write', conn: 'c', text: 'one' })
      .at(300, 'b.test', { op: 'write', conn: 'c', text: 'two' })
      .do(5_000, (world) => world.heal('a.test', 'b.test'))
      .run();
    expect(w.bodies('a.test')).toEqual(['one', 'two']);
    expect(w.events('receive', 'a.test').map((e) => e.atMs)).toEqual([5_005, 5_005]);
    const faults = w.events('fault').map((e) => e.kind === 'fault' && `${e.fault}:${e.phase}`);
    expect(faults).toEqual(['partition:begin', 'partition:end']);
  });

  it('partition outlasting resetTimeoutMs: both ends reset, held bytes dropped', () => {
    const w = connected({ resetTimeoutMs: 2_000 })
      .do(100, (world) => world.partition('a.test', 'b.test'))
      .at(200, 'b.test', { op: 'write', conn: 'c', text: 'doomed' })
      .do(5_000, (world) => world.heal('a.test', 'b.test'))
      .run();
    expect(w.bodies('a.test')).toEqual([]);
    const resets = w.events('conn.close').filter((e) => e.kind === 'conn.close' && e.reason === 'reset');
    expect(resets.map((e) => [e.node, e.atMs])).toEqual([
      ['b.test', 2_200],
      ['a.test', 2_200],
    ]);
    expect(w.events('drop')).toEqual([expect.objectContaining({ reason: 'reset', to: 'a.test' })]);
  });

  it('one-way partition: datagrams a->b are dropped while b->a still arrive', () => {
    const w = new ProbeWorld(['a.test', 'b.test'])
      .at(0, 'a.test', { op: 'listen', port: 1 })
      .at(0, 'b.test', { op: 'listen', port: 1 })
      .do(1, (world) => world.partition('a.test', 'b.test', true))
      .at(10, 'a.test', { op: 'datagram', host: 'b.test', port: 1, text: 'a->b' })
      .at(10, 'b.test', { op: 'datagram', host: 'a.test', port: 1, text: 'b->a' })
      .run();
    expect(w.bodies('b.test')).toEqual([]);
    expect(w.bodies('a.test')).toEqual(['b->a']);
    expect(w.events('drop')).toEqual([expect.objectContaining({ reason: 'partition', to: 'b.test' })]);
  });

  it('clog holds bytes past resetTimeoutMs without a reset; unclog releases them in order', () => {
    const w = connected({ resetTimeoutMs: 1_000 })
      .do(100, (world) => world.clog('a.test', 'b.test'))
      .at(200, 'b.test', { op: 'write', conn: 'c', text: 'x' })
      .at(201, 'b.test', { op: 'write', conn: 'c', text: 'y' })
      .do(9_000, (world) => world.unclog('a.test', 'b.test'))
      .run();
    expect(w.bodies('a.test')).toEqual(['x', 'y']);
    expect(w.events('receive', 'a.test')[0]!.atMs).toBe(9_005);
    expect(w.events('conn.close')).toEqual([]);
    expect(w.events('fault').map((e) => e.kind === 'fault' && `${e.fault}:${e.phase}`)).toEqual([
      'clog:begin',
      'clog:end',
    ]);
  });

  it('crash and restart: volatile state lost, durable store kept, peer reset after resetTimeoutMs, bytes to the dead dropped', () => {
    const w = connected({ resetTimeoutMs: 3_000 })
      .at(50, 'a.test', { op: 'remember', value: 'volatile' })
      .at(50, 'a.test', { op: 'store', key: 'k', value: 'durable' })
      .do(100, (world) => world.crash('a.test'))
      .at(150, 'b.test', { op: 'write', conn: 'c', text: 'into the void' })
      .do(1_000, (world) => world.restart('a.test'))
      .run();
    expect(w.world.view('a.test')).toEqual({ remembered: [], stored: [['k', 'durable']] });
    expect(w.events('node.crash')).toEqual([expect.objectContaining({ atMs: 100, node: 'a.test', incarnation: 1 })]);
    expect(w.events('node.start', 'a.test').map((e) => e.atMs)).toEqual([0, 1_000]);
    expect(w.events('drop')).toEqual([expect.objectContaining({ reason: 'crashed' })]);
    expect(w.events('conn.close', 'b.test')).toEqual([expect.objectContaining({ atMs: 3_100, reason: 'reset' })]);
    expect(w.events('fault').map((e) => e.kind === 'fault' && `${e.fault}:${e.phase}`)).toEqual([
      'crash:begin',
      'crash:end',
    ]);
    // The restarted node does not listen until told again: a new connect is refused.
    w.at(4_000, 'b.test', { op: 'connect', conn: 'c2', host: 'a.test', port: 1 }).run();
    expect(w.events('conn.refuse')).toEqual([expect.objectContaining({ conn: 'c2', reason: 'refused' })]);
  });

  it('skew: a node reads virtual time plus its skew', () => {
    const w = new ProbeWorld(['a.test', 'b.test'])
      .do(100, (world) => world.skew('a.test', 2_500))
      .at(200, 'a.test', { op: 'now' })
      .at(200, 'b.test', { op: 'now' })
      .run();
    const notes = w.events('note').map((e) => e.kind === 'note' && [e.node, e.detail]);
    expect(notes).toEqual([
      ['a.test', 2_700],
      ['b.test', 200],
    ]);
    expect(w.events('fault')[0]).toMatchObject({
      fault: 'skew',
      phase: 'instant',
      detail: { node: 'a.test', skewMs: 2_500 },
    });
  });

  it('corrupt: the next segment arrives with one byte changed, the one after intact', () => {
    const w = connected()
      .do(100, (world) => world.corruptNext('b.test', 'a.test'))
      .at(200, 'b.test', { op: 'write', conn: 'c', text: 'pristine' })
      .at(300, 'b.test', { op: 'write', conn: 'c', text: 'intact' })
      .run();
    const [first, second] = w.bodies('a.test');
    expect(first).not.toBe('pristine');
    expect(first).toHaveLength('pristine'.length);
    expect([...first!].filter((ch, i) => ch !== 'pristine'[i]).length).toBeGreaterThanOrEqual(1);
    expect(second).toBe('intact');
    expect(w.events('fault').map((e) => e.kind === 'fault' && `${e.fault}:${e.phase}`)).toEqual([
      'corrupt:begin',
      'corrupt:end',
    ]);
  });

  it('truncate: the next segment arrives cut to half', () => {
    const w = connected()
      .do(100, (world) => world.corruptNext('b.test', 'a.test', 'truncate'))
      .at(200, 'b.test', { op: 'write', conn: 'c', text: '12345678' })
      .run();
    expect(w.bodies('a.test')).toEqual(['1234']);
    const receive = w.events('receive', 'a.test')[0];
    expect(receive).toMatchObject({ payload: { size: 4 } });
  });

  it('DNS: answers after dnsDelayMs; unknown names are nxdomain; dnsFail gives servfail or no answer; restore heals', () => {
    const w = new ProbeWorld(['a.test'], 1, { dnsDelayMs: 7 });
    w.world.addDnsRecord({ name: 'lenore.org', type: 'MX', value: '10 mail.lenore.org' });
    w.at(10, 'a.test', { op: 'dns', query: 'q1', name: 'Lenore.org', type: 'MX' })
      .at(10, 'a.test', { op: 'dns', query: 'q2', name: 'lenore.org', type: 'TXT' })
      .at(10, 'a.test', { op: 'dns', query: 'q3', name: 'nope.org', type: 'A' })
      .do(20, (world) => world.dnsFail('lenore.org'))
      .at(30, 'a.test', { op: 'dns', query: 'q4', name: 'lenore.org', type: 'MX' })
      .do(40, (world) => world.dnsFail('lenore.org', 'timeout'))
      .at(50, 'a.test', { op: 'dns', query: 'q5', name: 'lenore.org', type: 'MX' })
      .do(60, (world) => world.dnsRestore('lenore.org'))
      .at(70, 'a.test', { op: 'dns', query: 'q6', name: 'lenore.org', type: 'MX' })
      .run();
    const answers = w
      .events('dns.answer')
      .map((e) => e.kind === 'dns.answer' && [e.query, e.atMs, e.status, e.records]);
    expect(answers).toEqual([
      ['q1', 17, 'ok', ['10 mail.lenore.org']],
      ['q2', 17, 'ok', []],
      ['q3', 17, 'nxdomain', []],
      ['q4', 37, 'servfail', []],
      ['q6', 77, 'ok', ['10 mail.lenore.org']],
    ]);
  });

  it('a node that throws is recorded as a violation and crashed; the run goes on', () => {
    const w = new ProbeWorld(['a.test', 'b.test'])
      .at(10, 'a.test', { op: 'throw' })
      .at(20, 'b.test', { op: 'now' })
      .run();
    expect(w.events('check')).toEqual([
      expect.objectContaining({ node: 'a.test', requirement: 'node-never-throws', verdict: 'violation' }),
    ]);
    expect(w.world.isAlive('a.test')).toBe(false);
    expect(w.events('note', 'b.test')).toHaveLength(1);
  });
});

describe('sim: network: datagrams', () => {
  function burst(network: object, seed: number, count = 200): ProbeWorld {
    const w = new ProbeWorld(['a.test', 'b.test'], seed, network).at(0, 'b.test', { op: 'listen', port: 1 });
    for (let i = 0; i < count; i++) w.at(10 + i, 'a.test', { op: 'datagram', host: 'b.test', port: 1, text: `d${i}` });
    return w.run();
  }

  it('loses about lossRatio of them (200 datagrams, lossRatio 0.3)', () => {
    const w = burst({ lossRatio: 0.3 }, 5);
    const lost = w.events('drop').filter((e) => e.kind === 'drop' && e.reason === 'loss').length;
    expect(lost).toBeGreaterThan(30);
    expect(lost).toBeLessThan(90);
    expect(w.bodies('b.test')).toHaveLength(200 - lost);
  });

  it('duplicates about duplicateRatio of them, each copy marked in the trace', () => {
    const w = burst({ duplicateRatio: 0.25 }, 5);
    const duplicates = w.events('duplicate');
    expect(duplicates.length).toBeGreaterThan(20);
    expect(w.bodies('b.test')).toHaveLength(200 + duplicates.length);
  });

  it('reorders them when latency varies', () => {
    const w = burst({ delayMsMin: 1, delayMsMax: 100 }, 5);
    const bodies = w.bodies('b.test');
    expect(bodies).toHaveLength(200);
    expect(bodies).not.toEqual([...bodies].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))));
  });

  it('holds them on a clogged link until unclog', () => {
    const w = new ProbeWorld(['a.test', 'b.test'], 1, { delayMsMin: 5, delayMsMax: 5 })
      .at(0, 'b.test', { op: 'listen', port: 1 })
      .do(1, (world) => world.clog('a.test', 'b.test'))
      .at(10, 'a.test', { op: 'datagram', host: 'b.test', port: 1, text: 'held' })
      .do(500, (world) => world.unclog('a.test', 'b.test'))
      .run();
    expect(w.events('receive', 'b.test').map((e) => e.atMs)).toEqual([505]);
  });
});

describe('sim: network: closing under faults', () => {
  it('a close while the link is clogged still reaches the peer, after the held data, on unclog', () => {
    const w = connected({ resetTimeoutMs: 1_000 })
      .do(100, (world) => world.clog('a.test', 'b.test'))
      .at(200, 'b.test', { op: 'write', conn: 'c', text: 'held' })
      .at(201, 'b.test', { op: 'close', conn: 'c' })
      .do(5_000, (world) => world.unclog('a.test', 'b.test'))
      .run();
    expect(w.bodies('a.test')).toEqual(['held']);
    expect(w.events('conn.close', 'a.test')).toEqual([expect.objectContaining({ atMs: 5_005, reason: 'closed' })]);
  });

  it('a close while partitioned past resetTimeoutMs resets the peer and drops the held data', () => {
    const w = connected({ resetTimeoutMs: 1_000 })
      .do(100, (world) => world.partition('a.test', 'b.test'))
      .at(200, 'b.test', { op: 'write', conn: 'c', text: 'doomed' })
      .at(201, 'b.test', { op: 'close', conn: 'c' })
      .do(5_000, (world) => world.heal('a.test', 'b.test'))
      .run();
    expect(w.bodies('a.test')).toEqual([]);
    expect(w.events('conn.close', 'a.test')).toEqual([expect.objectContaining({ atMs: 1_200, reason: 'reset' })]);
    expect(w.events('drop').map((e) => e.kind === 'drop' && e.reason)).toEqual(['reset']);
  });

  it('records each xstate timer that fires, with its delay (echo idle close after 5000 ms)', () => {
    const scenario = parseScenario(
      readFileSync(join(root, 'scenarios/echo/round-trip.yaml'), 'utf8'),
      'round-trip.yaml',
    );
    const events = runScenario(scenario).trace.events;
    const timer = events.find((e) => e.kind === 'timer' && e.node === 'a.test');
    expect(timer).toMatchObject({ name: 'after 5000ms' });
    // The close it caused follows at the same instant.
    const close = events.find((e) => e.kind === 'conn.close' && e.node === 'a.test');
    expect(close?.atMs).toBe(timer?.atMs);
  });
});

describe('sim: network: connects that outlive their caller', () => {
  it('a SYN from a caller that crashed before it arrived is never accepted (no half-open connection)', () => {
    const w = new ProbeWorld(['a.test', 'b.test'], 1, { delayMsMin: 20, delayMsMax: 20 })
      .at(0, 'a.test', { op: 'listen', port: 1 })
      .at(1, 'b.test', { op: 'connect', conn: 'c', host: 'a.test', port: 1 })
      .do(5, (world) => world.crash('b.test'))
      .run();
    expect(w.events('conn.accept')).toEqual([]);
    expect(w.events('conn.open')).toEqual([]);
  });

  it('a receive shows the same decoding as its send when the writer gave none', () => {
    const w = connected().at(100, 'b.test', { op: 'write', conn: 'c', text: 'plain' }).run();
    const send = w.events('send', 'b.test')[0];
    const receive = w.events('receive', 'a.test')[0];
    expect(send?.kind === 'send' && send.payload.decoded).toBe('plain');
    expect(receive?.kind === 'receive' && receive.payload.decoded).toBe('plain');
  });
});
