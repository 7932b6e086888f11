// Goal: Bester servers, handler processes and clients work together: the blog's Part 1 example,
// the Part 2 federation (handler chain and server-to-server forwarding) under both profiles, and,
// with the fixed profile, every message reaches exactly the clients its handler chain names.
// Method: several nodes on ManualHosts joined by the in-test pump (./pump.ts); a fast-check
// property draws topologies, handler chains and faults (handlers down or slow) and compares the
// deliveries with a model that only follows the chain's commands.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pump } from './pump.js';

describe('bester: federation (pump)', () => {
  it.each(['fixed', 'besterd-2020'] as const)(
    'blog Part 1: T sends an Afrikaans message through server J, handler S answers sendClients, G receives it (%s)',
    (profile) => {
      const net = new Pump();
      net.add('j', 'j.test', { role: 'server', profile, handlers: { afrikaans: { path: '/run/s.sock' } } });
      net.add('s', 'j.test', {
        role: 'handler',
        path: '/run/s.sock',
        rule: { command: 'sendClients', usernamesField: 'to' },
      });
      net.add('t', 't.test', { role: 'client', server: { host: 'j.test', port: 2223 }, username: 't', password: 'pw' });
      net.add('g', 'g.test', { role: 'client', server: { host: 'j.test', port: 2223 }, username: 'g', password: 'pw' });
      net.command('t', { type: 'send', messageType: 'afrikaans', id: 'm1', data: { to: 'g', text: 'Hallo G' } });
      expect(net.delivered('g')).toEqual(['{"to":"g","text":"Hallo G"}']);
      expect(net.delivered('t')).toEqual([]);
      expect(net.outputs('deliver', 'g')[0]?.detail).toEqual({ type: 'afrikaans', data: { to: 'g', text: 'Hallo G' } });
      expect(net.outputs('note', 't').map((n) => n.detail)).toEqual([{ id: 'm1', status: 'good' }]);
    },
  );

  function part2(profile: 'fixed' | 'besterd-2020') {
    const net = new Pump();
    const handlers = { M1: { path: '/m1.sock' }, M2: { path: '/m2.sock' } };
    net.add('s1', 's1.test', { role: 'server', profile, handlers });
    net.add('s1-m1', 's1.test', { role: 'handler', path: '/m1.sock', rule: { command: 'sendHandler', handler: 'M2' } });
    net.add('s1-m2', 's1.test', {
      role: 'handler',
      path: '/m2.sock',
      rule: { command: 'sendServers', servers: ['s2.test:2223'] },
    });
    net.add('s2', 's2.test', { role: 'server', profile, handlers });
    net.add('s2-m2', 's2.test', {
      role: 'handler',
      path: '/m2.sock',
      rule: { command: 'sendServers', servers: ['s3.test:2223'] },
    });
    net.add('s3', 's3.test', { role: 'server', profile, handlers });
    net.add('s3-m2', 's3.test', {
      role: 'handler',
      path: '/m2.sock',
      rule: { command: 'sendClients', usernamesField: 'to' },
    });
    net.add('u1', 'u1.test', {
      role: 'client',
      server: { host: 's1.test', port: 2223 },
      username: 'u1',
      password: 'pw',
    });
    net.add('u2', 'u2.test', {
      role: 'client',
      server: { host: 's3.test', port: 2223 },
      username: 'u2',
      password: 'pw',
    });
    net.command('u1', { type: 'send', messageType: 'M1', id: 'p2', data: { to: 'u2', text: 'Portuguese gadget' } });
    return net;
  }

  it('blog Part 2 (fixed): U1@S1, chain M1 -> M2 -> sendServers S2 -> S3 -> sendClients U2 delivers to U2', () => {
    const net = part2('fixed');
    expect(net.delivered('u2')).toEqual(['{"to":"u2","text":"Portuguese gadget"}']);
    expect(net.outputs('note', 'u1').map((n) => n.detail)).toEqual([{ id: 'p2', status: 'good' }]);
  });

  it('blog Part 2 (besterd-2020, bug 1): the forwarded message lacks its id, S2 drops it, U2 gets nothing though U1 hears good', () => {
    const net = part2('besterd-2020');
    expect(net.delivered('u2')).toEqual([]);
    expect(net.outputs('note', 'u1').map((n) => n.detail)).toEqual([{ id: 'p2', status: 'good' }]);
    expect(net.outputs('note', 's2').map((n) => n.what)).toContain('bester.first-message.refused');
  });

  it('a slow handler (delayMs 2000 > handlerTimeoutMs 1000) gets T a bad status report, and its late reply goes nowhere', () => {
    const net = new Pump();
    net.add('j', 'j.test', { role: 'server', handlers: { afrikaans: { path: '/s.sock' } }, handlerTimeoutMs: 1_000 });
    net.add('s', 'j.test', {
      role: 'handler',
      path: '/s.sock',
      rule: { command: 'sendClients', usernames: ['g'] },
      delayMs: 2_000,
    });
    net.add('t', 't.test', { role: 'client', server: { host: 'j.test', port: 2223 }, username: 't', password: 'pw' });
    net.add('g', 'g.test', { role: 'client', server: { host: 'j.test', port: 2223 }, username: 'g', password: 'pw' });
    net.command('t', { type: 'send', messageType: 'afrikaans', id: 'm1', data: 'x' });
    net.advanceMs(999);
    expect(net.outputs('note', 't')).toEqual([]);
    net.advanceMs(5_000);
    expect(net.outputs('note', 't').map((n) => n.detail)).toEqual([{ id: 'm1', status: 'bad' }]);
    expect(net.delivered('g')).toEqual([]);
  });

  it('a handler that is down gets a bad status report; after handler.up the next message goes through', () => {
    const net = new Pump();
    net.add('j', 'j.test', { role: 'server', handlers: { afrikaans: { path: '/s.sock' } } });
    net.add('s', 'j.test', {
      role: 'handler',
      path: '/s.sock',
      rule: { command: 'sendClients', usernames: ['g'] },
      down: true,
    });
    net.add('t', 't.test', { role: 'client', server: { host: 'j.test', port: 2223 }, username: 't', password: 'pw' });
    net.add('g', 'g.test', { role: 'client', server: { host: 'j.test', port: 2223 }, username: 'g', password: 'pw' });
    net.command('t', { type: 'send', messageType: 'afrikaans', id: 'm1', data: 'one' });
    net.command('s', { type: 'handler.up' });
    net.command('t', { type: 'send', messageType: 'afrikaans', id: 'm2', data: 'two' });
    net.command('s', { type: 'handler.down' });
    net.command('t', { type: 'send', messageType: 'afrikaans', id: 'm3', data: 'three' });
    expect(net.delivered('g')).toEqual(['two']);
    expect(net.outputs('note', 't').map((n) => n.detail)).toEqual([
      { id: 'm1', status: 'bad' },
      { id: 'm2', status: 'good' },
      { id: 'm3', status: 'bad' },
    ]);
  });

  it('a client queues messages sent before authentication and rejects after its connection is closed', () => {
    const net = new Pump();
    net.add('j', 'j.test', { role: 'server', handlers: { echo: { path: '/e.sock' } } });
    net.add('e', 'j.test', { role: 'handler', path: '/e.sock', rule: { command: 'sendClients', usernames: ['t'] } });
    const host = net.add('t', 't.test', {
      role: 'client',
      server: { host: 'j.test', port: 2223 },
      username: 't',
      password: 'pw',
    });
    expect(host.stateOf('bester.client')).toBe('ready');
    net.command('t', { type: 'send', messageType: 'echo', data: 'me' });
    net.command('t', { type: 'close' });
    expect(net.delivered('t')).toEqual(['me']);
    expect(host.stateOf('bester.client')).toBe('closed');
    net.command('t', { type: 'dummy' });
    expect(net.outputs('reject', 't').map((r) => r.code)).toEqual(['bester.not-connected']);
  });

  it('a client with an empty password is refused: the server closes and the client rejects', () => {
    const net = new Pump();
    net.add('j', 'j.test', { role: 'server' });
    net.add('t', 't.test', { role: 'client', server: { host: 'j.test', port: 2223 }, username: 't', password: '' });
    expect(net.outputs('reject', 't').map((r) => r.code)).toEqual(['bester.auth-failed']);
  });

  it('a client whose server is not listening rejects as unreachable', () => {
    const net = new Pump();
    net.add('t', 't.test', {
      role: 'client',
      server: { host: 'nowhere.test', port: 2223 },
      username: 't',
      password: 'p',
    });
    expect(net.outputs('reject', 't').map((r) => r.code)).toEqual(['bester.unreachable']);
  });
});

// ---- The delivery property (fixed profile).

const types = ['A', 'B', 'C'] as const;
type Rule =
  | { command: 'sendClients'; usernames: string[] }
  | { command: 'sendHandler'; handler: string }
  | { command: 'sendServers'; servers: string[] };
interface HandlerPlan {
  rule: Rule;
  fault: 'none' | 'down' | 'slow';
}
interface Plan {
  serverCount: number;
  handlers: HandlerPlan[][]; // [server][type]
  messages: { from: number; type: string }[];
}

const user = (server: number, index: number) => `u${server}x${index}`;
const hopsMax = 8;

function planArbitrary(): fc.Arbitrary<Plan> {
  // Mostly two or three servers, so that forwarding is exercised often.
  return fc.constantFrom(1, 2, 2, 3, 3).chain((serverCount) => {
    const usernames = Array.from({ length: serverCount }, (_, s) => [user(s, 0), user(s, 1)]).flat();
    const rule = (server: number): fc.Arbitrary<Rule> =>
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.record({
            command: fc.constant('sendClients' as const),
            usernames: fc.subarray([...usernames, 'ghost']),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({ command: fc.constant('sendHandler' as const), handler: fc.constantFrom(...types) }),
        },
        {
          weight: 2,
          // Only to later servers, so that forwarding cannot loop between servers.
          arbitrary: fc.record({
            command: fc.constant('sendServers' as const),
            servers: fc.subarray(
              Array.from({ length: serverCount }, (_, s) => s)
                .filter((s) => s > server)
                .map((s) => `s${s}.test:2223`),
            ),
          }),
        },
      );
    const handler = (server: number) =>
      fc.record({
        rule: rule(server),
        fault: fc.constantFrom<HandlerPlan['fault']>('none', 'none', 'none', 'none', 'down', 'slow'),
      });
    return fc.record({
      serverCount: fc.constant(serverCount),
      handlers: fc.tuple(...Array.from({ length: serverCount }, (_, s) => fc.tuple(...types.map(() => handler(s))))),
      messages: fc.array(
        fc.record({ from: fc.integer({ min: 0, max: serverCount - 1 }), type: fc.constantFrom(...types) }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    });
  });
}

/** Who should receive a message: follows the chain's commands only (not a second implementation of the server). */
function expected(plan: Plan, server: number, type: string, hop: number, into: Map<string, number>): void {
  const handler = plan.handlers[server]?.[types.indexOf(type as (typeof types)[number])];
  if (!handler || handler.fault !== 'none') return;
  const rule = handler.rule;
  if (rule.command === 'sendClients') {
    for (const name of new Set(rule.usernames)) {
      if (name.startsWith(`u${server}x`)) into.set(name, (into.get(name) ?? 0) + 1);
    }
  } else if (rule.command === 'sendHandler') {
    if (hop < hopsMax) expected(plan, server, rule.handler, hop + 1, into);
  } else {
    for (const target of rule.servers) expected(plan, Number(target.slice(1, target.indexOf('.'))), type, 1, into);
  }
}

describe('bester: delivery property (fixed profile)', () => {
  it('every message reaches exactly the clients its handler chain names, however handlers chain, forward or fail (property, 60 runs)', () => {
    fc.assert(
      fc.property(planArbitrary(), (plan) => {
        const net = new Pump();
        const handlers = Object.fromEntries(types.map((t) => [t, { path: `/${t}.sock` }]));
        for (let s = 0; s < plan.serverCount; s++) {
          net.add(`s${s}`, `s${s}.test`, { role: 'server', handlers, handlerTimeoutMs: 1_000 });
          types.forEach((t, i) => {
            const h = plan.handlers[s]?.[i] as HandlerPlan;
            net.add(`s${s}-${t}`, `s${s}.test`, {
              role: 'handler',
              path: `/${t}.sock`,
              rule: h.rule,
              down: h.fault === 'down',
              delayMs: h.fault === 'slow' ? 2_000 : 0,
            });
          });
          for (const i of [0, 1]) {
            net.add(user(s, i), `${user(s, i)}.test`, {
              role: 'client',
              server: { host: `s${s}.test`, port: 2223 },
              username: user(s, i),
              password: 'pw',
            });
          }
        }
        plan.messages.forEach((message, index) => {
          net.command(user(message.from, 0), {
            type: 'send',
            messageType: message.type,
            id: `m${index}`,
            data: `body${index}`,
          });
        });
        net.advanceMs(3_000 * hopsMax);
        for (let index = 0; index < plan.messages.length; index++) {
          const message = plan.messages[index] as Plan['messages'][number];
          const want = new Map<string, number>();
          expected(plan, message.from, message.type, 1, want);
          const got = new Map<string, number>();
          for (const d of net.outputs('deliver'))
            if (d.body === `body${index}`) got.set(d.user, (got.get(d.user) ?? 0) + 1);
          expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...want].sort()));
        }
      }),
      { numRuns: 60 },
    );
  });
});
