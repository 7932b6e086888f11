// Goal: two SOLEC servers and their clients exchange messages end to end: login, a message to a
// user of the same server, a message to a user of another server over a server-to-server link
// with ServerAuth, and the ServerAuth flaw (an impersonating server) under both profiles.
// Method: nodes on ManualHosts wired by the in-test Pump (in-order stream connections, no faults);
// assertions on `deliver` outputs of the client nodes and on what crossed each connection.
import { describe, expect, it } from 'vitest';
import { Pump } from './helpers.js';

function federation(profile: 'seed' | 'signed'): Pump {
  const pump = new Pump(7);
  pump.add('a.test', {
    role: 'server',
    profile,
    accounts: { alice: 'pa', carol: 'pc' },
    knownServers: [{ name: 'b.test' }],
  });
  pump.add('b.test', { role: 'server', profile, accounts: { bob: 'pb' }, knownServers: [{ name: 'a.test' }] });
  pump.add('alice', { role: 'client', server: 'a.test', username: 'alice', password: 'pa' });
  pump.add('carol', { role: 'client', server: 'a.test', username: 'carol', password: 'pc' });
  pump.add('bob', { role: 'client', server: 'b.test', username: 'bob', password: 'pb' });
  pump.start();
  return pump;
}

describe('solec: federation (Pump, 2 servers, 3 clients)', () => {
  it('delivers within one server and across servers, each exactly once (seed profile)', () => {
    const pump = federation('seed');
    pump.command('alice', { type: 'send', to: 'carol@a.test', body: 'local hi' });
    pump.command('alice', { type: 'send', to: 'bob@b.test', body: 'remote hi' });
    pump.command('bob', { type: 'send', to: 'alice@a.test', body: 'reply' });
    expect(pump.delivered()).toEqual([
      { user: 'carol@a.test', from: 'alice@a.test', body: 'local hi' },
      { user: 'bob@b.test', from: 'alice@a.test', body: 'remote hi' },
      { user: 'alice@a.test', from: 'bob@b.test', body: 'reply' },
    ]);
    expect(pump.outputs('reject')).toEqual([]);
    expect(pump.get('a.test').host.stateOf('solec.relay s2s:1')).toBe('established.ready');
  });

  it('delivers across servers under the signed profile after a challenge and proof', () => {
    const pump = federation('signed');
    pump.command('alice', { type: 'send', to: 'bob@b.test', body: 'signed hi' });
    expect(pump.delivered()).toEqual([{ user: 'bob@b.test', from: 'alice@a.test', body: 'signed hi' }]);
    const decoded = pump
      .outputs('write')
      .flatMap(({ output }) => (output.decoded as { type: string }[] | { type: string }) ?? []);
    const types = decoded.flat().map((d) => d.type);
    expect(types).toContain('challenge');
    expect(types).toContain('proof');
  });

  it('resends the message in flight after a reset, and the receiver drops the duplicate (seed profile)', () => {
    const pump = federation('seed');
    pump.command('alice', { type: 'send', to: 'bob@b.test', body: 'first' });
    // Cut b.test's side of the link when it writes the Success for the next message: the message
    // reached bob, but a.test never hears so and sends it again on a new connection.
    const inbound = pump.peerOf('a.test', 's2s:1#1');
    expect(inbound?.node).toBe('b.test');
    pump.cutOnWrite.add(`b.test|${inbound?.conn}`);
    pump.command('alice', { type: 'send', to: 'bob@b.test', body: 'second' });
    pump.advanceMs(5_000);
    expect(
      pump
        .delivered()
        .filter((d) => d.user === 'bob@b.test')
        .map((d) => d.body),
    ).toEqual(['first', 'second']);
    expect(
      pump.outputs('note').some(({ node, output }) => node === 'b.test' && output.what === 'solec.duplicate'),
    ).toBe(true);
  });

  it('gives the same outputs for the same seed (two runs, signed profile)', () => {
    const run = () => {
      const pump = federation('signed');
      pump.command('alice', { type: 'send', to: 'bob@b.test', body: 'again' });
      pump.command('bob', { type: 'send', to: 'carol@a.test', body: 'and back' });
      return JSON.stringify(pump.log, (_key, value: unknown) => (value instanceof Uint8Array ? [...value] : value));
    };
    const first = run();
    expect(first).toContain('and back');
    expect(run()).toBe(first);
  });

  for (const profile of ['seed', 'signed'] as const) {
    it(`an impersonating server claiming a.test is ${profile === 'seed' ? 'accepted' : 'refused'} by b.test (${profile} profile, SOLEC §2.5 ServerAuth)`, () => {
      const pump = federation(profile);
      // evil.test is not a.test but presents itself as a.test in ServerAuth.
      pump.add('evil.test', { role: 'server', profile, claimName: 'a.test', knownServers: [{ name: 'b.test' }] });
      pump.get('evil.test').node.start();
      pump.run();
      pump.command('evil.test', {
        type: 'submit',
        from: 'alice@a.test',
        to: 'bob@b.test',
        body: 'send me your password',
      });
      const forged = pump.delivered().filter((d) => d.body === 'send me your password');
      if (profile === 'seed') {
        expect(forged).toEqual([{ user: 'bob@b.test', from: 'alice@a.test', body: 'send me your password' }]);
      } else {
        expect(forged).toEqual([]);
        const refusals = pump.outputs('reject').map(({ node, output }) => `${node}:${output.code}`);
        expect(refusals).toContain('b.test:solec.server-auth-failed');
        expect(refusals).toContain('evil.test:solec.server-auth-failed');
      }
    });
  }
});
