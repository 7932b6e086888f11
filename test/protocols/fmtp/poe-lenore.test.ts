// Goal: three FMTP nodes play the seed's Poe/Lenore conversation in the seed's order: cache miss,
// MX lookup, fmtpkey lookup and caching, connect, both hashes verified, "Do you know
// lost@lenore.org?", redirect to lost.lenore.org:8000, connect fails, reconnect to
// mail.lenore.org, delivery over lost's logged-in connection.
// Method: the in-test pump wires ManualHosts together (no simulator yet); the test reads the
// order of outputs from the pump's log.
import { describe, expect, it } from 'vitest';
import { Pump } from './pump.js';

function poeLenore(): Pump {
  const pump = new Pump(7);
  pump.add('poe.net', { keepOpenMs: 0 });
  pump.add('mail.lenore.org', {
    domain: 'lenore.org',
    users: [{ address: 'lost@lenore.org', route: { host: 'lost.lenore.org', port: 8000, transport: 'tcp' } }],
  });
  pump.add('lost.lenore.org', {
    domain: 'lenore.org',
    port: 8000,
    login: { user: 'lost@lenore.org', server: 'mail.lenore.org', port: 7465 },
  });
  pump.record('MX', 'lenore.org', '10 mail.lenore.org');
  return pump;
}

function indexOf(log: readonly string[], line: string, from = 0): number {
  const at = log.indexOf(line, from);
  expect(at, `missing (after ${from}): ${line}\n${log.join('\n')}`).toBeGreaterThanOrEqual(from);
  return at;
}

describe('fmtp: Poe/Lenore (3 nodes, seed 000 example conversation)', () => {
  it('plays the seven steps in order and delivers over the logged-in connection (lost.lenore.org unreachable)', () => {
    const pump = poeLenore();
    pump.start();
    expect(pump.notes('fmtp.login', 'mail.lenore.org')).toEqual([{ user: 'lost@lenore.org', conn: 'in:1' }]);
    pump.unreachable.add('lost.lenore.org');
    const loginLines = pump.log.length;
    pump.command('poe.net', { type: 'send', from: 'poe@poe.net', to: 'lost@lenore.org', body: 'Quoth the raven' });
    const log = pump.log;
    let at = indexOf(log, 'poe.net note fmtp.cache.miss', loginLines); // 1
    at = indexOf(log, 'poe.net dns MX lenore.org', at); // 2
    at = indexOf(log, 'poe.net dns TXT fmtpkey.lenore.org', at); // 3
    at = indexOf(log, 'poe.net note fmtp.key.cached', at);
    at = indexOf(log, 'poe.net connect mail.lenore.org:7465', at); // 4
    at = indexOf(log, 'poe.net -> mail.lenore.org HELLO', at);
    at = indexOf(log, 'mail.lenore.org dns TXT fmtpkey.poe.net', at);
    at = indexOf(log, 'mail.lenore.org -> poe.net WELCOME', at);
    at = indexOf(log, 'poe.net note fmtp.peer.verified', at);
    at = indexOf(log, 'poe.net -> mail.lenore.org REQUEST', at);
    at = indexOf(log, 'mail.lenore.org -> poe.net OBJECT', at);
    at = indexOf(log, 'poe.net connect lost.lenore.org:8000', at); // 5
    at = indexOf(log, 'poe.net connect.failed lost.lenore.org:8000', at);
    at = indexOf(log, 'poe.net note fmtp.relay.direct-failed', at); // 6
    at = indexOf(log, 'poe.net connect mail.lenore.org:7465', at);
    at = indexOf(log, 'poe.net -> mail.lenore.org MESSAGE', at);
    at = indexOf(log, 'mail.lenore.org note fmtp.relay.logged-in', at); // 7
    at = indexOf(log, 'mail.lenore.org -> lost.lenore.org MESSAGE', at);
    indexOf(log, 'lost.lenore.org deliver lost@lenore.org from poe@poe.net: Quoth the raven', at);
    expect(pump.notes('fmtp.message.accepted', 'poe.net')).toHaveLength(1);
    expect(pump.of('reject')).toEqual([]);
    // The redirect is the object Lenore gave: "Connect to lost.lenore.org, port 8000 tcp".
    const objectWrite = pump
      .of('write', 'mail.lenore.org')
      .map((w) => w.decoded as { type: string; properties?: unknown })
      .find((frame) => frame.type === 'OBJECT');
    expect(objectWrite?.properties).toEqual({
      address: 'lost@lenore.org',
      status: 'ONLINE',
      route: { host: 'lost.lenore.org', port: 8000, transport: 'tcp' },
    });
  });

  it('delivers directly when lost.lenore.org is reachable (3 nodes, Recommended route)', () => {
    const pump = poeLenore();
    pump.start();
    pump.command('poe.net', { type: 'send', from: 'poe@poe.net', to: 'lost@lenore.org', body: 'Nevermore' });
    expect(pump.log).toContain('poe.net -> lost.lenore.org MESSAGE');
    expect(pump.log).not.toContain('mail.lenore.org note fmtp.relay.logged-in');
    expect(pump.of('deliver', 'lost.lenore.org')).toEqual([
      expect.objectContaining({ user: 'lost@lenore.org', from: 'poe@poe.net', body: 'Nevermore' }),
    ]);
  });

  it('gives the same outputs for the same seed and different nonces for another seed (determinism)', () => {
    const run = (seed: number) => {
      const pump = new Pump(seed);
      pump.add('poe.net', { keepOpenMs: 0 });
      pump.add('mail.lenore.org', { domain: 'lenore.org', users: [{ address: 'lost@lenore.org' }] });
      pump.record('MX', 'lenore.org', '10 mail.lenore.org');
      pump.start();
      pump.command('poe.net', { type: 'send', from: 'poe@poe.net', to: 'lost@lenore.org', body: 'x' });
      return JSON.stringify(pump.outputs, (_, v: unknown) => (v instanceof Uint8Array ? [...v] : v));
    };
    expect(run(3)).toBe(run(3));
    expect(run(3)).not.toBe(run(4));
  });
});
