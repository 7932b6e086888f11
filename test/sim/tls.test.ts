// Goal: the simulator's STARTTLS host operation (src/sim/connections.ts) keeps its contract: the
// handshake ends only once both ends asked, a round trip later, with `conn.tls` at both ends at one
// instant and `tls.start` / `tls.done` in the trace; writes made meanwhile wait and arrive after it,
// in order; bytes after it still cross the byte faults; a `tlsFail` fault, two ends in one role, or
// plaintext reaching an end that began the handshake fail it at both ends and reset the connection;
// `tlsRestore` ends the fault.
// Method: probe nodes (test/support/probe.ts) on a link with a fixed 5 ms delay; the test reads the
// trace, the probes' inputs and the deliveries.
import { describe, expect, it } from 'vitest';
import type { NodeInput } from '../../src/protocols/protocol.js';
import { ProbeWorld } from '../support/probe.js';

/** a.test listens on port 1, b.test connects as `c` (open at 11 ms: 1 + two 5 ms crossings). */
function connected(): ProbeWorld {
  return new ProbeWorld(['a.test', 'b.test'], 1, { delayMsMin: 5, delayMsMax: 5 })
    .at(0, 'a.test', { op: 'listen', port: 1 })
    .at(1, 'b.test', { op: 'connect', conn: 'c', host: 'a.test', port: 1 });
}

/** The `conn.tls` and `conn.closed` inputs `node` got (a probe notes every input it has no other use for). */
function tlsInputs(w: ProbeWorld, node: string): NodeInput[] {
  return w
    .events('note', node)
    .filter((e) => e.kind === 'note' && (e.what === 'conn.tls' || e.what === 'conn.closed'))
    .map((e) => (e as { detail: NodeInput }).detail);
}

describe('sim: STARTTLS (tls.start / conn.tls)', () => {
  it('ends the handshake a round trip after both ends asked, at one instant at both ends, and holds writes until then', () => {
    const w = connected()
      .at(20, 'a.test', { op: 'tls', conn: 'in:1', role: 'server' })
      .at(30, 'b.test', { op: 'tls', conn: 'c', role: 'client' })
      .at(31, 'b.test', { op: 'write', conn: 'c', text: 'inside-1' })
      .at(32, 'b.test', { op: 'write', conn: 'c', text: 'inside-2' })
      .run();
    expect(w.events('tls.start').map((e) => [e.node, e.atMs])).toEqual([
      ['a.test', 20],
      ['b.test', 30],
    ]);
    const done = w.events('tls.done');
    expect(done.map((e) => [e.node, e.atMs, (e as { ok: boolean }).ok])).toEqual([
      ['b.test', 40, true],
      ['a.test', 40, true],
    ]);
    // The writes made during the handshake go out once it is up, in order, one crossing later.
    expect(w.bodies('a.test')).toEqual(['inside-1', 'inside-2']);
    expect(w.events('receive', 'a.test').map((e) => e.atMs)).toEqual([45, 45]);
    expect(tlsInputs(w, 'a.test')).toEqual([{ kind: 'conn.tls', conn: 'in:1', ok: true }]);
    expect(tlsInputs(w, 'b.test')).toEqual([{ kind: 'conn.tls', conn: 'c', ok: true }]);
  });

  it('waits for the other end: one end alone never finishes', () => {
    const w = connected().at(20, 'a.test', { op: 'tls', conn: 'in:1', role: 'server' }).run();
    expect(w.events('tls.done')).toEqual([]);
  });

  it('still lets a byte fault act on what crosses after the handshake', () => {
    const w = connected()
      .at(20, 'a.test', { op: 'tls', conn: 'in:1', role: 'server' })
      .at(20, 'b.test', { op: 'tls', conn: 'c', role: 'client' })
      .do(40, (world) => world.corruptNext('b.test', 'a.test', { mode: 'corrupt', find: 'secret', replace: 'SECRET' }))
      .at(41, 'b.test', { op: 'write', conn: 'c', text: 'a secret' })
      .run();
    expect(w.events('tls.done')).toHaveLength(2);
    expect(w.bodies('a.test')).toEqual(['a SECRET']);
  });

  it('fails both ends under tlsFail (with its reason), resets the connection, and succeeds again after tlsRestore', () => {
    const w = connected()
      .do(0, (world) => world.tlsFail('a.test', 'b.test', 'bad-certificate'))
      .at(20, 'a.test', { op: 'tls', conn: 'in:1', role: 'server' })
      .at(20, 'b.test', { op: 'tls', conn: 'c', role: 'client' })
      .at(25, 'b.test', { op: 'write', conn: 'c', text: 'lost' })
      .do(50, (world) => world.tlsRestore('b.test', 'a.test'))
      .at(60, 'b.test', { op: 'connect', conn: 'd', host: 'a.test', port: 1 })
      .at(80, 'a.test', { op: 'tls', conn: 'in:2', role: 'server' })
      .at(80, 'b.test', { op: 'tls', conn: 'd', role: 'client' })
      .run();
    const failed = { ok: false, reason: 'bad-certificate' };
    expect(tlsInputs(w, 'b.test')).toEqual([
      { kind: 'conn.tls', conn: 'c', ...failed },
      { kind: 'conn.closed', conn: 'c', reason: 'reset' },
      { kind: 'conn.tls', conn: 'd', ok: true },
    ]);
    expect(tlsInputs(w, 'a.test')).toEqual([
      { kind: 'conn.tls', conn: 'in:1', ...failed },
      { kind: 'conn.closed', conn: 'in:1', reason: 'reset' },
      { kind: 'conn.tls', conn: 'in:2', ok: true },
    ]);
    expect(w.events('drop').map((e) => (e as { reason: string }).reason)).toEqual(['tls-failed']);
    expect(w.bodies('a.test')).toEqual([]);
    expect(w.events('fault').map((e) => (e as { phase: string }).phase)).toEqual(['begin', 'end']);
  });

  it('fails a handshake whose two ends play one role', () => {
    const w = connected()
      .at(20, 'a.test', { op: 'tls', conn: 'in:1', role: 'client' })
      .at(20, 'b.test', { op: 'tls', conn: 'c', role: 'client' })
      .run();
    expect(w.events('tls.done').map((e) => (e as { reason?: string }).reason)).toEqual([
      'role-mismatch',
      'role-mismatch',
    ]);
  });

  it('fails the handshake when plaintext reaches an end that began it', () => {
    const w = connected()
      .at(20, 'a.test', { op: 'tls', conn: 'in:1', role: 'server' })
      .at(21, 'b.test', { op: 'write', conn: 'c', text: 'too early' })
      .run();
    expect(tlsInputs(w, 'a.test')).toEqual([
      { kind: 'conn.tls', conn: 'in:1', ok: false, reason: 'unexpected-data' },
      { kind: 'conn.closed', conn: 'in:1', reason: 'reset' },
    ]);
    // b.test never asked for TLS: it hears only that its connection was reset.
    expect(tlsInputs(w, 'b.test')).toEqual([{ kind: 'conn.closed', conn: 'c', reason: 'reset' }]);
    expect(w.bodies('a.test')).toEqual([]);
  });
});
