// Goal: flow control in the simulator keeps the host contract's promise (protocol.ts): on a link
// given a bandwidth, writes leave one after another at that rate, `bufferedBytes` counts what has
// not left (queued, or held by a cut), and a write that reaches `writeHighWaterBytes` is followed by
// exactly one `conn.drain` (input and trace event) once nothing is buffered; on a link without a
// bandwidth nothing is ever buffered and no drain comes, so existing runs do not change.
// Method: probe nodes (test/support/probe.ts) write and read `bufferedBytes` at chosen instants; the
// test reads the trace (receive times, drain events, drops) and the probe's notes.
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { ProbeWorld } from '../support/probe.js';

/** a.test listens on port 1 and b.test connects as `c` (open at 11 with 5 ms links). */
function connected(network = {}, seed = 1): ProbeWorld {
  return new ProbeWorld(['a.test', 'b.test'], seed, { delayMsMin: 5, delayMsMax: 5, ...network })
    .at(0, 'a.test', { op: 'listen', port: 1 })
    .at(1, 'b.test', { op: 'connect', conn: 'c', host: 'a.test', port: 1 });
}

const text = (size: number, mark = 'x') => mark.repeat(size);

/** The `buffered` notes of b.test, as [atMs, bytes]. */
function buffered(w: ProbeWorld): [number, unknown][] {
  return w
    .events('note', 'b.test')
    .filter((e) => e.kind === 'note' && e.what === 'buffered')
    .map((e) => [e.atMs, e.kind === 'note' ? e.detail : undefined]);
}

describe('sim: flow control', () => {
  it('without a bandwidth: a 100 KB write leaves at once, nothing is buffered, no drain', () => {
    const w = connected({ writeHighWaterBytes: 1024 })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(100_000) })
      .at(100, 'b.test', { op: 'buffered', conn: 'c' })
      .run();
    expect(buffered(w)).toEqual([[100, 0]]);
    expect(w.events('receive', 'a.test').map((e) => e.atMs)).toEqual([105]);
    expect(w.events('conn.drain')).toEqual([]);
  });

  it('a paced link sends writes one after another at bytesPerMs, counts them buffered, and drains once below the mark', () => {
    // 10 bytes/ms: 60 + 50 + 50 bytes written at 100 leave at 106, 111, 116 and arrive 5 ms later.
    const w = connected({ bytesPerMs: 10, writeHighWaterBytes: 100 })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(60, 'a') })
      .at(100, 'b.test', { op: 'buffered', conn: 'c' })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(50, 'b') })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(50, 'c') })
      .at(100, 'b.test', { op: 'buffered', conn: 'c' })
      .at(108, 'b.test', { op: 'buffered', conn: 'c' })
      .at(120, 'b.test', { op: 'buffered', conn: 'c' })
      .run();
    expect(buffered(w)).toEqual([
      [100, 60],
      [100, 160],
      [108, 100],
      [120, 0],
    ]);
    expect(w.events('receive', 'a.test').map((e) => e.atMs)).toEqual([111, 116, 121]);
    expect(w.bodies('a.test')).toEqual([text(60, 'a'), text(50, 'b'), text(50, 'c')]);
    // One drain, when the last byte left (not when it arrived), at the writer only.
    expect(w.events('conn.drain').map((e) => [e.atMs, e.node, e.kind === 'conn.drain' && e.conn])).toEqual([
      [116, 'b.test', 'c'],
    ]);
    const probe = w.events('note', 'b.test').filter((e) => e.kind === 'note' && e.what === 'conn.drain');
    expect(probe).toHaveLength(1);
  });

  it('no drain when no write reached the mark', () => {
    const w = connected({ bytesPerMs: 10, writeHighWaterBytes: 100 })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(99) })
      .run();
    expect(w.events('receive', 'a.test').map((e) => e.atMs)).toEqual([115]);
    expect(w.events('conn.drain')).toEqual([]);
  });

  it('connections on one link share its bandwidth in write order; the other direction is its own link', () => {
    const w = connected({ bytesPerMs: 1, writeHighWaterBytes: 1000 })
      .at(2, 'b.test', { op: 'connect', conn: 'd', host: 'a.test', port: 1 })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(20, 'c') })
      .at(100, 'b.test', { op: 'write', conn: 'd', text: text(20, 'd') })
      .at(100, 'a.test', { op: 'write', conn: 'in:1', text: text(20, 'r') })
      .run();
    const received = (node: string) =>
      w.events('receive', node).map((e) => [e.atMs, e.kind === 'receive' && e.payload.decoded]);
    expect(received('a.test')).toEqual([
      [125, text(20, 'c')],
      [145, text(20, 'd')],
    ]);
    expect(received('b.test')).toEqual([[125, text(20, 'r')]]);
  });

  it('bytes a partition holds stay buffered; the drain comes after the heal', () => {
    const w = connected({ bytesPerMs: 10, writeHighWaterBytes: 50 })
      .do(50, (world) => world.partition('a.test', 'b.test'))
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(100) })
      .at(200, 'b.test', { op: 'buffered', conn: 'c' })
      .do(300, (world) => world.heal('a.test', 'b.test'))
      .at(300, 'b.test', { op: 'buffered', conn: 'c' })
      .run();
    expect(buffered(w)).toEqual([
      [200, 100],
      [300, 0],
    ]);
    expect(w.events('conn.drain').map((e) => e.atMs)).toEqual([300]);
    expect(w.events('receive', 'a.test').map((e) => e.atMs)).toEqual([305]);
  });

  it('a crash drops what waits to leave (traced as drops), and the crashed incarnation gets no drain', () => {
    const w = connected({ bytesPerMs: 1, writeHighWaterBytes: 10 })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(50, 'a') })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(50, 'b') })
      .do(120, (world) => world.crash('b.test'))
      .run();
    expect(w.events('drop').map((e) => e.kind === 'drop' && e.reason)).toEqual(['crashed', 'crashed']);
    expect(w.events('receive', 'a.test')).toEqual([]);
    expect(w.events('conn.drain')).toEqual([]);
  });

  it('a close after writes on a paced link reaches the peer after the data', () => {
    const w = connected({ bytesPerMs: 1, writeHighWaterBytes: 1000 })
      .at(100, 'b.test', { op: 'write', conn: 'c', text: text(30) })
      .at(100, 'b.test', { op: 'close', conn: 'c' })
      .run();
    expect(w.events('receive', 'a.test').map((e) => e.atMs)).toEqual([135]);
    expect(w.events('conn.close', 'a.test').map((e) => e.atMs)).toEqual([135]);
  });

  it('the same seed gives the same trace (paced link, 30 writes under jitter)', () => {
    const run = () => {
      const w = connected({ bytesPerMs: 3, writeHighWaterBytes: 64, delayMsMin: 1, delayMsMax: 40 }, 7);
      for (let i = 0; i < 30; i++) w.at(100 + i, 'b.test', { op: 'write', conn: 'c', text: text(10 + i, 'm') });
      return w.run();
    };
    const first = run();
    expect(JSON.stringify(first.trace.events)).toBe(JSON.stringify(run().trace.events));
    expect(first.bodies('a.test')).toHaveLength(30);
    expect(first.events('conn.drain').length).toBeGreaterThan(0);
  });

  it('a scenario sets bandwidth for the network and per link, and refuses a bandwidth of 0', () => {
    const base = `name: t\nprotocol: echo\nseed: 1\nnodes: { a.test: {}, b.test: {} }\nsteps: []\nexpect: []\nlimits: { timeMsMax: 1000, eventsMax: 100 }\n`;
    const ok = parseScenario(
      `${base}network: { bytesPerMs: 2.5, writeHighWaterBytes: 4096, links: [{ between: [a.test, b.test], delayMsMin: 1, delayMsMax: 1, bytesPerMs: 100 }] }\n`,
      'ok.yaml',
    );
    expect(ok.source.network).toMatchObject({ bytesPerMs: 2.5, links: [{ bytesPerMs: 100 }] });
    expect(() =>
      parseScenario(
        `${base}network: { links: [{ between: [a.test, b.test], delayMsMin: 1, delayMsMax: 1, bytesPerMs: 0 }] }\n`,
        'bad.yaml',
      ),
    ).toThrow(/bad\.yaml:\d+:\d+: network\.links\[0\]\.bytesPerMs: /);
  });
});
