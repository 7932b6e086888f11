// Goal: F140 nodes deliver friends' messages exactly once across offline peers, crashes and lost
// answers; they queue durably, preflight with PING, push when a peer PINGs them, back off, expire and
// refuse as spec.md §5 says; strangers' messages never arrive; groups reach only their members.
// Method: several nodes on ManualHosts joined by the test's Wire (harness.ts), which carries connect,
// write and close outputs between them at once and can take a host offline, crash and restart it over
// its durable store. Timers run on each host's manual clock, stepped together.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerKind } from '../../../src/protocols/f140/machines/peer.js';
import { encodeForm } from '../../../src/protocols/f140/wire.js';
import { nodeConfig, parseResponse, text, Wire } from './harness.js';

const alice = 'alice@a.test';
const bob = 'bob@b.test';
const carol = 'carol@c.test';
const dave = 'dave@d.test';

const timing = { retryMsBase: 1_000, retryMsMax: 8_000, requestTimeoutMs: 2_000, queueExpiryMs: 60_000 };

/** alice on a.test friends bob on b.test (both ways); options tweak either side. */
function pair(options: { bobUp?: boolean; bobFriendsAlice?: boolean } = {}): Wire {
  const wire = new Wire();
  wire.add('a.test', nodeConfig({ [alice]: { friends: [{ user: bob, host: 'b.test' }] } }, timing));
  wire.add(
    'b.test',
    nodeConfig(
      { [bob]: { friends: options.bobFriendsAlice === false ? [] : [{ user: alice, host: 'a.test' }] } },
      timing,
    ),
    options.bobUp ?? true,
  );
  return wire;
}

function written(wire: Wire, host: string): string[] {
  return wire.outputs('write', host).map((w) => text(w.bytes));
}

describe('f140: node (Wire of ManualHosts)', () => {
  it('two friends exchange messages: PING preflight, then one MSG each way (2 nodes)', () => {
    const wire = pair();
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'hi bob' });
    wire.send('b.test', { type: 'send', from: bob, to: alice, text: 'hi alice' });
    expect(wire.delivered(bob)).toEqual([{ kind: 'deliver', user: bob, from: alice, body: 'hi bob', id: 'a.test#1' }]);
    expect(wire.delivered(alice)).toEqual([
      { kind: 'deliver', user: alice, from: bob, body: 'hi alice', id: 'b.test#1' },
    ]);
    // alice's announcement found b.test not yet up; her send went out as a PING preflight, then the MSG.
    const requests = written(wire, 'a.test').filter((w) => w.startsWith('POST'));
    expect(requests.map((r) => /command=(\w+)/.exec(r)?.[1])).toEqual(['PING', 'MSG']);
    expect(requests[1]).toContain(encodeForm([['msg_id', 'a.test#1']]));
    expect(wire.member('a.test').store.keys('f140/outbox/')).toEqual([]);
    expect(wire.member('a.test').host.stateOf(`f140.peer ${bob}`)).toBe('idle');
  });

  it('queues for an offline friend, backs off 1 s, 2 s, 4 s, 8 s, 8 s, and pushes as soon as the friend PINGs', () => {
    const wire = pair({ bobUp: false });
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'are you there?' });
    wire.advanceMs(24_000);
    const connects = wire.log.filter((e) => e.host === 'a.test' && e.output.kind === 'connect').map((e) => e.atMs);
    // Announce at 0 (nothing queued, gives up), preflight at 0, then retries after 1, 2, 4, 8, 8 s.
    expect(connects).toEqual([0, 0, 1_000, 3_000, 7_000, 15_000, 23_000]);
    expect(wire.delivered(bob)).toEqual([]);
    expect(wire.member('a.test').host.stateOf(`f140.peer ${bob}`)).toBe('backingOff');
    wire.advanceMs(500);
    wire.start('b.test'); // bob's node announces itself with a PING; alice pushes at once, not at 31 s.
    expect(wire.delivered(bob).map((d) => d.body)).toEqual(['are you there?']);
    expect(wire.nowMs).toBe(24_500);
  });

  it('delivers what a crashed node had queued after it restarts over the same store, exactly once', () => {
    const wire = pair({ bobUp: false });
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'one' });
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'two' });
    wire.advanceMs(2_000);
    wire.crash('a.test');
    expect(wire.member('a.test').store.keys('f140/outbox/')).toHaveLength(2);
    wire.start('b.test'); // alice is down: bob's announcement is refused, nothing to push.
    wire.advanceMs(5_000);
    expect(wire.delivered(bob)).toEqual([]);
    wire.start('a.test'); // rebuilt node: its peer machine finds the durable queue and pushes it.
    wire.advanceMs(1_000);
    expect(wire.delivered(bob).map((d) => [d.body, d.id])).toEqual([
      ['one', 'a.test#1'],
      ['two', 'a.test#2'],
    ]);
    expect(wire.member('a.test').store.keys('f140/outbox/')).toEqual([]);
    // New ids continue after a restart instead of reusing #1, so bob's duplicate filter cannot eat them.
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'three' });
    expect(wire.delivered(bob).at(-1)).toMatchObject({ body: 'three', id: 'a.test#3' });
  });

  it('suppresses the duplicate when the answer to a delivered MSG is lost and the sender retries', () => {
    const wire = pair();
    wire.advanceMs(100);
    // Drop the MSG answer: the PING answer is bob's first write after the send, the MSG answer the second.
    const bobHost = wire.member('b.test').host;
    const originalEmit = bobHost.emit.bind(bobHost);
    let writes = 0;
    bobHost.emit = (output) => {
      if (output.kind === 'write' && ++writes === 2) return; // lost on the way back
      originalEmit(output);
    };
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'once' });
    expect(wire.delivered(bob)).toHaveLength(1);
    expect(wire.member('a.test').store.keys('f140/outbox/')).toHaveLength(1);
    wire.advanceMs(10_000);
    expect(wire.delivered(bob)).toHaveLength(1);
    expect(wire.outputs('note', 'b.test').map((n) => n.what)).toContain('f140.msg.duplicate');
    expect(wire.member('a.test').store.keys('f140/outbox/')).toEqual([]);
  });

  it('remembers delivered ids across a receiver crash (duplicate suppression is durable)', () => {
    const wire = pair();
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'x' });
    expect(wire.member('b.test').store.keys('f140/seen/')).toHaveLength(1);
    wire.crash('b.test');
    wire.start('b.test');
    const msg = written(wire, 'a.test').find((w) => w.includes('command=MSG')) ?? '';
    const member = wire.member('b.test');
    member.host.take();
    member.node.handle({
      kind: 'conn.accepted',
      conn: 'in:99',
      local: { host: 'b.test', port: 8140 },
      remote: 'a.test',
    });
    member.node.handle({ kind: 'conn.data', conn: 'in:99', bytes: new TextEncoder().encode(msg) });
    const outputs = member.host.take();
    expect(outputs.filter((o) => o.kind === 'deliver')).toEqual([]);
    const write = outputs.find((o) => o.kind === 'write');
    expect(parseResponse(text(write && write.kind === 'write' ? write.bytes : new Uint8Array())).status).toBe(200);
  });

  it('drops a message its recipient refuses (not friended back) once a retry confirms it, and never delivers it', () => {
    const wire = pair({ bobFriendsAlice: false });
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'let me in' });
    // One 403 might answer a request damaged on the way (spec.md §5): noted, backed off, asked again.
    expect(wire.outputs('note', 'a.test').map((n) => n.what)).toContain('f140.refusal.unconfirmed');
    expect(wire.outputs('reject', 'a.test').map((r) => r.code)).not.toContain('f140.refused');
    expect(wire.member('a.test').host.stateOf(`f140.peer ${bob}`)).toBe('backingOff');
    wire.advanceMs(1_000);
    expect(wire.delivered()).toEqual([]);
    expect(written(wire, 'a.test').filter((w) => w.includes('command=PING'))).toHaveLength(2); // preflight, confirmation
    expect(wire.outputs('reject', 'a.test')).toContainEqual(
      expect.objectContaining({
        code: 'f140.refused',
        detail: expect.objectContaining({ id: 'a.test#1', status: 403 }),
      }),
    );
    expect(wire.outputs('reject', 'b.test').map((r) => r.code)).toContain('f140.refused');
    expect(wire.member('a.test').store.keys('f140/outbox/')).toEqual([]);
  });

  it('expires a queued message after queueExpiryMs (60 s here) with f140.expired', () => {
    const wire = pair({ bobUp: false });
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'too late' });
    wire.advanceMs(59_000);
    expect(wire.outputs('reject', 'a.test').map((r) => r.code)).not.toContain('f140.expired');
    wire.advanceMs(10_000);
    expect(wire.outputs('reject', 'a.test')).toContainEqual(expect.objectContaining({ code: 'f140.expired' }));
    expect(wire.member('a.test').store.keys('f140/outbox/')).toEqual([]);
    expect(wire.member('a.test').host.stateOf(`f140.peer ${bob}`)).toBe('idle');
    wire.start('b.test');
    expect(wire.delivered()).toEqual([]);
  });

  it('group broadcast reaches only the group (alice friends bob, carol, dave; group close = bob, carol)', () => {
    const wire = new Wire();
    const friends = [
      { user: bob, host: 'b.test' },
      { user: carol, host: 'c.test' },
      { user: dave, host: 'd.test' },
    ];
    wire.add('a.test', nodeConfig({ [alice]: { friends, groups: { close: [bob, carol] } } }, timing));
    for (const [user, host] of [
      [bob, 'b.test'],
      [carol, 'c.test'],
      [dave, 'd.test'],
    ] as const) {
      wire.add(host, nodeConfig({ [user]: { friends: [{ user: alice, host: 'a.test' }] } }, timing));
    }
    wire.send('a.test', { type: 'broadcast', from: alice, group: 'close', text: 'for close friends' });
    expect(wire.delivered().map((d) => [d.user, d.body, d.detail])).toEqual([
      [bob, 'for close friends', { group: 'close' }],
      [carol, 'for close friends', { group: 'close' }],
    ]);
    wire.send('a.test', { type: 'broadcast', from: alice, group: 'nobody', text: 'x' });
    expect(wire.outputs('reject', 'a.test').at(-1)).toMatchObject({ code: 'f140.local.unknown-group' });
  });

  it('rejects local misuse without queueing: unknown user, non-friend, 141 characters, malformed command', () => {
    const wire = pair();
    wire.send('a.test', { type: 'send', from: 'mallory@a.test', to: bob, text: 'x' });
    wire.send('a.test', { type: 'send', from: alice, to: carol, text: 'x' });
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'y'.repeat(141) });
    wire.send('a.test', { type: 'send', from: alice });
    expect(wire.outputs('reject', 'a.test').map((r) => r.code)).toEqual([
      'f140.local.unknown-user',
      'f140.local.not-friend',
      'f140.local.too-long',
      'f140.local.command-invalid',
    ]);
    expect(wire.member('a.test').store.keys('f140/outbox/')).toEqual([]);
  });

  it('retries a 200 whose response field name is damaged (r@sponse=): malformed, not a refusal (fuzz seed 1006)', () => {
    const wire = pair();
    wire.advanceMs(100);
    // Damage bob's answer to alice's PING preflight the way one flipped byte did in the fuzzer.
    const bobHost = wire.member('b.test').host;
    const originalEmit = bobHost.emit.bind(bobHost);
    let writes = 0;
    bobHost.emit = (output) => {
      if (output.kind === 'write' && ++writes === 1) {
        const damaged = new TextEncoder().encode(text(output.bytes).replace('response=', 'r@sponse='));
        return originalEmit({ ...output, bytes: damaged });
      }
      originalEmit(output);
    };
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'kept' });
    expect(wire.outputs('reject', 'a.test')).toEqual([]);
    expect(wire.member('a.test').host.stateOf(`f140.peer ${bob}`)).toBe('backingOff');
    wire.advanceMs(1_000);
    expect(wire.delivered(bob).map((d) => d.body)).toEqual(['kept']);
    expect(wire.member('a.test').store.keys('f140/outbox/')).toEqual([]);
  });

  it('asks again after a 200 whose response value is damaged: the retry is accepted (fuzz seed 1006)', () => {
    const wire = pair();
    wire.advanceMs(100);
    const bobHost = wire.member('b.test').host;
    const originalEmit = bobHost.emit.bind(bobHost);
    let writes = 0;
    bobHost.emit = (output) => {
      if (output.kind === 'write' && ++writes === 1) {
        const damaged = new TextEncoder().encode(text(output.bytes).replace('response=r', 'response=X'));
        return originalEmit({ ...output, bytes: damaged });
      }
      originalEmit(output);
    };
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'kept too' });
    expect(wire.outputs('note', 'a.test').map((n) => n.what)).toContain('f140.refusal.unconfirmed');
    expect(wire.outputs('reject', 'a.test')).toEqual([]);
    wire.advanceMs(1_000);
    expect(wire.delivered(bob).map((d) => d.body)).toEqual(['kept too']);
    expect(wire.outputs('reject', 'a.test')).toEqual([]);
  });

  it('overrides one refusal of a request damaged on the way: the retry is accepted and delivered', () => {
    const wire = pair();
    wire.advanceMs(100);
    // Damage alice's MSG (its challenge), so bob refuses it with 403 error=refused.
    const aliceHost = wire.member('a.test').host;
    const originalEmit = aliceHost.emit.bind(aliceHost);
    let damaged = false;
    aliceHost.emit = (output) => {
      const request = output.kind === 'write' ? text(output.bytes) : '';
      if (output.kind === 'write' && !damaged && request.includes('command=MSG')) {
        damaged = true;
        return originalEmit({
          ...output,
          bytes: new TextEncoder().encode(request.replace('challenge=c', 'challenge=X')),
        });
      }
      originalEmit(output);
    };
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'once refused' });
    expect(damaged).toBe(true);
    expect(wire.outputs('reject', 'b.test').map((r) => r.code)).toEqual(['f140.refused']);
    expect(wire.outputs('reject', 'a.test')).toEqual([]);
    wire.advanceMs(1_000);
    expect(wire.delivered(bob).map((d) => d.body)).toEqual(['once refused']);
    expect(wire.outputs('reject', 'a.test')).toEqual([]);
  });

  it('treats a wrong response value as a refusal: an impostor cannot take messages (spec.md §4.4)', () => {
    const wire = new Wire();
    wire.add('a.test', nodeConfig({ [alice]: { friends: [{ user: bob, host: 'b.test' }] } }, timing));
    // The impostor on b.test has bob's name but its own pairs, so it answers with the wrong response.
    const impostor = nodeConfig({ [bob]: { friends: [{ user: alice, host: 'a.test' }] } }, timing);
    const users = impostor.users.map((u) => ({
      ...u,
      friends: u.friends.map((f) => ({
        ...f,
        inbound: { challenge: f.inbound.challenge, response: 'not-the-agreed-response' },
      })),
    }));
    wire.add('b.test', { ...impostor, users });
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'secret' });
    // The first wrong response could be a damaged answer: alice's node asks again before it drops.
    expect(wire.outputs('reject', 'a.test').map((r) => r.code)).not.toContain('f140.refused');
    wire.advanceMs(1_000);
    expect(wire.outputs('reject', 'a.test').map((r) => r.code)).toContain('f140.refused');
    expect(wire.member('a.test').store.keys('f140/outbox/')).toEqual([]);
    // Both PING preflights failed, so the secret never left alice's node.
    expect(written(wire, 'a.test').some((w) => w.includes('secret'))).toBe(false);
  });

  it('times out a request after requestTimeoutMs (2 s) when the peer never answers, then retries', () => {
    const wire = pair();
    const bobMember = wire.member('b.test');
    bobMember.node.stop(); // accepts connections (the harness still sees it up) but never answers
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'slow' });
    const state = () => wire.member('a.test').host.stateOf(`f140.peer ${bob}`);
    expect(state()).toBe('pinging.waiting');
    wire.advanceMs(2_000);
    expect(state()).toBe('backingOff');
    expect(wire.outputs('close', 'a.test').length).toBeGreaterThan(0);
  });

  it('connects to the address a friend gave in its PING reply_to, and keeps it across a restart', () => {
    const wire = new Wire();
    wire.add('a.test', nodeConfig({ [alice]: { friends: [{ user: bob, host: 'old.b.test' }] } }, timing));
    wire.add('b.test', nodeConfig({ [bob]: { friends: [{ user: alice, host: 'a.test' }] } }, timing));
    wire.send('a.test', { type: 'send', from: alice, to: bob, text: 'found you' });
    expect(wire.delivered(bob).map((d) => d.body)).toEqual(['found you']);
    const targets = wire.outputs('connect', 'a.test').map((c) => ('host' in c.target ? c.target.host : ''));
    expect(targets[0]).toBe('old.b.test');
    expect(targets.at(-1)).toBe('b.test');
    wire.crash('a.test');
    wire.start('a.test');
    const after = wire.outputs('connect', 'a.test').map((c) => ('host' in c.target ? c.target.host : ''));
    expect(after.at(-1)).toBe('b.test');
  });

  it('delivers every accepted message exactly once and nothing from strangers, under random outages (property, 60 runs)', () => {
    type Step =
      | { kind: 'send'; from: number; to: number; text: string }
      | { kind: 'stranger'; to: number }
      | { kind: 'crash'; node: number }
      | { kind: 'restart'; node: number }
      | { kind: 'advance'; ms: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('send' as const),
          from: fc.nat(2),
          to: fc.nat(2),
          text: fc.string({ maxLength: 20 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('stranger' as const), to: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), node: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(2) }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 5_000 }) }),
      },
    );
    const users = [alice, bob, carol];
    const hosts = ['a.test', 'b.test', 'c.test'];
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const wire = new Wire();
        users.forEach((user, i) => {
          const friends = users
            .filter((u) => u !== user)
            .map((u) => ({ user: u, host: hosts[users.indexOf(u)] ?? '' }));
          wire.add(hosts[i] ?? '', nodeConfig({ [user]: { friends } }, { ...timing, queueExpiryMs: 10_000_000 }));
        });
        const expected: string[] = [];
        for (const s of steps) {
          if (s.kind === 'send' && s.from !== s.to) {
            const from = hosts[s.from] ?? '';
            if (!wire.member(from).up) continue;
            wire.send(from, { type: 'send', from: users[s.from], to: users[s.to], text: s.text });
            expected.push(`${users[s.from]}>${users[s.to]}:${s.text}`);
          } else if (s.kind === 'stranger') {
            const member = wire.member(hosts[s.to] ?? '');
            if (!member.up) continue;
            const form = encodeForm([
              ['command', 'MSG'],
              ['from_user', 'eve@e.test'],
              ['challenge', 'guess'],
              ['to_user', users[s.to] ?? ''],
              ['message', '<msg kind="basic"><text>spam</text></msg>'],
            ]);
            const request = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${form.length}\r\n\r\n${form}`;
            member.node.handle({
              kind: 'conn.accepted',
              conn: 'in:eve',
              local: { host: 'x', port: 8140 },
              remote: 'e.test',
            });
            member.node.handle({ kind: 'conn.data', conn: 'in:eve', bytes: new TextEncoder().encode(request) });
            wire.pump();
          } else if (s.kind === 'crash') {
            if (wire.member(hosts[s.node] ?? '').up) wire.crash(hosts[s.node] ?? '');
          } else if (s.kind === 'restart') {
            if (!wire.member(hosts[s.node] ?? '').up) wire.start(hosts[s.node] ?? '');
          } else if (s.kind === 'advance') {
            wire.advanceMs(s.ms, 50);
          }
        }
        // Heal: everyone up, then let backoffs (max 8 s) run out.
        for (const host of hosts) if (!wire.member(host).up) wire.start(host);
        wire.advanceMs(20_000, 100);
        const delivered = wire.delivered().map((d) => `${d.from}>${d.user}:${d.body}`);
        expect(delivered.some((d) => d.startsWith('eve@'))).toBe(false);
        expect([...delivered].sort()).toEqual([...expected].sort());
        for (const host of hosts) expect(wire.member(host).store.keys('f140/outbox/')).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});

// Goal: the peer machine reads an answer's shape before its meaning (spec.md §2.3, §5): a damaged
// answer is retried, never taken for a refusal. Method: a table of statuses and result forms.
describe('f140: peer: answer kinds (spec.md §2.3, §5)', () => {
  const form = (entries: [string, string][]) => new Map(entries);
  it.each([
    [200, form([['response', 'r']]), 'accepted'],
    [200, form([['response', 'impostor']]), 'mismatch'],
    [200, form([['r@sponse', 'r']]), 'malformed'],
    [200, form([]), 'malformed'],
    [403, form([['error', 'refused']]), 'error'],
    [400, form([['error', 'bad-request']]), 'error'],
    [403, form([['response', 'r']]), 'malformed'],
    [201, form([['response', 'r']]), 'malformed'],
    [403, form([['er$or', 'refused']]), 'malformed'],
    [503, form([]), 'transient'],
    [429, form([['error', 'busy']]), 'transient'],
    [408, form([]), 'transient'],
  ] as const)('status %i with %o is %s', (status, fields, kind) => {
    expect(answerKind(status, fields, 'r')).toBe(kind);
  });
});
