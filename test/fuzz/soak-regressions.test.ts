// Goal: F140's durable queue is owed every accepted message, except one dropped as refused after
// two corruptions acted (two damaged exchanges in a row confirm a refusal, spec.md §5); one damage
// never excuses a drop. Regression for the 5,000-run soak's false failures (seeds 1645, 3825,
// 4116, 4230: a damaged request, then an edited `response`, and the message dropped).
// Method: those fuzz seeds run as drawn and must pass; droppedAfterDamage over synthetic traces
// with one and with two damages before the reject.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { InvariantNode } from '../../src/check/context.js';
import { ambrosiaInvariants } from '../../src/protocols/ambrosia/invariants.js';
import { besterAuthentic } from '../../src/protocols/bester/invariants.js';
import { field } from '../../src/check/context.js';
import { solecInvariants } from '../../src/protocols/solec/invariants.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import { droppedAfterDamage } from '../../src/fuzz/plan.js';
import { faultSpans } from '../../src/fuzz/faults.js';
import type { ScenarioFile } from '../../src/scenario/schema.js';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { runOne } from '../../src/fuzz/run-one.js';
import type { TraceEvent } from '../../src/trace/events.js';

const command = { type: 'send', from: 'u1@n1.test', to: 'u1@n2.test', text: 'm1' };
const damage = (atMs: number) =>
  ({
    seq: atMs,
    atMs,
    node: 'sim',
    lamport: 0,
    kind: 'fault',
    fault: 'corrupt',
    phase: 'end',
    detail: {},
  }) as TraceEvent;
const events = (damages: number): TraceEvent[] => [
  { seq: 1, atMs: 100, node: 'n1.test', lamport: 1, kind: 'command', command } as TraceEvent,
  {
    seq: 2,
    atMs: 100,
    node: 'n1.test',
    lamport: 2,
    kind: 'note',
    what: 'f140.msg.queued',
    detail: { id: 'n1.test#1' },
  } as TraceEvent,
  ...Array.from({ length: damages }, (_, i) => damage(101 + i)),
  {
    seq: 9,
    atMs: 300,
    node: 'n1.test',
    lamport: 3,
    kind: 'reject',
    code: 'f140.refused',
    reason: '',
    detail: { id: 'n1.test#1' },
  } as TraceEvent,
];

describe('fuzz: a refusal confirmed under damage', () => {
  it('excuses a message dropped as refused after two damages, not after one', () => {
    const key = `n1.test ${JSON.stringify(command)}`;
    expect([...droppedAfterDamage(events(2), ['f140.refused'])]).toEqual([key]);
    expect([...droppedAfterDamage(events(1), ['f140.refused'])]).toEqual([]);
    expect([...droppedAfterDamage(events(2), ['other.code'])]).toEqual([]);
  });

  it.each([1645, 3825])('F140 fuzz seed %i passes', (seed) => {
    const result = runOne(fuzzProfileNamed('f140')!, seed);
    expect(result.failure?.failures ?? []).toEqual([]);
  });
});

// The SOLEC false failures of the same soak: a restarted client whose only login met a fault
// (seeds 1756, 2771: the login is final, spec.md §4.1), and a damage while a client's backoff was
// still doubling from a partition (seed 2541: it extends the run of faults the quiet window waits for).
// Seed 3679 (a `from` a damage rewrote, resent unchanged) is below, with its shrunk fixture.
describe('fuzz: SOLEC promises after the 5,000-run soak', () => {
  it.each([1756, 2541, 2771, 3679])('SOLEC fuzz seed %i passes', (seed) => {
    const result = runOne(fuzzProfileNamed('solec')!, seed);
    expect(result.failure?.failures ?? []).toEqual([]);
  });
});

// Ambrosia: a corruption that edits an honest service's name in its stream header makes the
// faithful gateway register a domain that name does not own; a changed byte wrote it, so
// `ambrosia.registration-owned` excuses it (an attacker's own name is never written by damage).
describe('fuzz: Ambrosia registrations under damage after the 5,000-run soak', () => {
  it.each([1700, 3751])('Ambrosia fuzz seed %i passes', (seed) => {
    const result = runOne(fuzzProfileNamed('ambrosia')!, seed);
    expect(result.failure?.failures ?? []).toEqual([]);
  });
});

// Goal: the Ambrosia profile allows a second copy only as XEP-0198 §5 does (spec.md §3): a message
// its sender's client resent on a new session after the gateway answered its <resume/> with
// <failed/> while the message was unacked. Regression for the soak's last false failure (seed 4351,
// shrunk: test/fixtures/ambrosia/failed-resume-resend.yaml); any other duplicate still fails.
// Method: the shrunk case runs and passes under ambrosia.no-duplicate-delivery and fails under the
// generic noDuplicateDelivery (the copy is really there); the excuse over synthetic wire traces:
// a successful resumption, an acked message resent, a <failed/> to <enable/>, a third copy.
describe('fuzz: Ambrosia at least once after a failed resumption', () => {
  const fixture = readFileSync('test/fixtures/ambrosia/failed-resume-resend.yaml', 'utf8');

  it('the shrunk seed 4351 passes, and shows the copy to the generic invariant', () => {
    const report = runScenario(parseScenario(fixture, 'failed-resume-resend.yaml'));
    expect(report.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
    const generic = fixture.replace('always: ambrosia.no-duplicate-delivery', 'always: noDuplicateDelivery');
    const strict = runScenario(parseScenario(generic, 'failed-resume-resend.yaml'));
    expect(strict.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([
      'u1@b.test at u1.b.test received m2 twice',
    ]);
  });

  const client: InvariantNode = {
    id: 'u1.a.test',
    host: 'u1.a.test',
    protocol: 'ambrosia',
    config: { role: 'client', jid: 'u1@a.test' },
  };
  let seq = 0;
  const wire = (kind: 'send' | 'receive', conn: string, xml: string): TraceEvent =>
    ({
      seq: ++seq,
      atMs: seq,
      node: client.id,
      lamport: seq,
      kind,
      msg: seq,
      transport: 'stream',
      conn,
      ...(kind === 'send' ? { to: 'gw-a.test' } : { from: 'gw-a.test', sentLamport: 0 }),
      payload: { size: xml.length, base64: Buffer.from(xml).toString('base64') },
    }) as TraceEvent;
  const deliver = (): TraceEvent =>
    ({
      seq: ++seq,
      atMs: seq,
      node: 'u1.b.test',
      lamport: seq,
      kind: 'deliver',
      user: 'u1@b.test',
      from: 'u1@a.test/fedsim',
      body: 'm2',
      id: 'm2',
    }) as TraceEvent;
  const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' to='a.test' version='1.0'>";
  const m2 = "<message to='u1@b.test' type='chat' id='m2'><body>m2</body></message>";
  /** A session with m2 sent and acked up to `h`, a new stream, `answer` to a `<resume/>` (or none tried), a new session and m2 again. */
  const run = (
    h: number,
    ask: 'resume' | 'enable',
    answer: string,
    copies = 2,
    enabled = true,
  ): (string | undefined)[] => {
    const invariant = ambrosiaInvariants['ambrosia.no-duplicate-delivery']!({ nodes: [client] });
    const events = [
      wire('send', 'c2s:1#1', header),
      wire('send', 'c2s:1#1', "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"),
      ...(enabled ? [wire('receive', 'c2s:1#1', "<enabled xmlns='urn:xmpp:sm:3' id='s1' resume='true'/>")] : []),
      wire('send', 'c2s:1#1', `${m2}<r xmlns='urn:xmpp:sm:3'/>`),
      deliver(),
      wire('receive', 'c2s:1#1', `<a xmlns='urn:xmpp:sm:3' h='${h}'/>`),
      wire('send', 'c2s:1#2', header),
      ...(ask === 'resume'
        ? [
            wire('send', 'c2s:1#2', "<resume xmlns='urn:xmpp:sm:3' previd='s1' h='0'/>"),
            wire('receive', 'c2s:1#2', answer),
          ]
        : []),
      wire('send', 'c2s:1#2', "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"),
      wire('send', 'c2s:1#2', m2),
      ...Array.from({ length: copies - 1 }, deliver),
    ];
    return events.map((event) => invariant.observe(event)).filter((v) => v !== undefined);
  };
  const failed = "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>";

  it('excuses one copy of an unacked message resent after <failed/> to <resume/>', () => {
    expect(run(0, 'resume', failed)).toEqual([]);
  });

  it('excuses one copy resent on a new session when <enabled/> was never heard (nothing to resume with)', () => {
    expect(run(0, 'enable', '', 2, false)).toEqual([]);
  });

  it('still fails a third copy, an acked message resent, a resumable session not resumed, and a copy after <resumed/>', () => {
    const twice = ['u1@b.test at u1.b.test received m2 twice'];
    expect(run(0, 'resume', failed, 3)).toEqual(twice);
    expect(run(1, 'resume', failed)).toEqual(twice);
    expect(run(0, 'enable', failed)).toEqual(twice);
    expect(run(0, 'resume', "<resumed xmlns='urn:xmpp:sm:3' previd='s1' h='0'/>")).toEqual(twice);
  });
});

// Goal: SOLEC's exactly-once promise (spec.md §4.1, §5.3) bends only where its wire does: a server
// drops a repeat by `from` and `id` and no frame carries an integrity check (§2), so a Message whose
// `from` a damage rewrote is taken and pushed, and its unchanged resend is too. Regression for the
// soak's seed 3679 (shrunk: test/fixtures/solec/damaged-from-resend.yaml); the same `from` twice,
// or a second `from` no damage wrote, still fails.
// Method: the shrunk case passes under solec.exactlyOnce and solec.no-duplicate-delivery and fails
// under the generic noDuplicateDelivery (the copy is really there); both invariants over synthetic
// traces with and without the damaged segment.
describe('fuzz: SOLEC exactly once but for a `from` a damage rewrote', () => {
  const fixture = readFileSync('test/fixtures/solec/damaged-from-resend.yaml', 'utf8');

  it('the shrunk seed 3679 passes, and shows the copy to the generic invariant', () => {
    const report = runScenario(parseScenario(fixture, 'damaged-from-resend.yaml'));
    expect(report.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
    const generic = fixture.replace('always: solec.no-duplicate-delivery', 'always: noDuplicateDelivery');
    const strict = runScenario(parseScenario(generic, 'damaged-from-resend.yaml'));
    expect(strict.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([
      'u1@s1.test at u1-s1.test received c04ec98c156c5ebe twice',
    ]);
  });

  const nodes: InvariantNode[] = [
    { id: 's1.test', host: 's1.test', protocol: 'solec', config: { role: 'server' } },
    { id: 'u1-s1.test', host: 'u1-s1.test', protocol: 'solec', config: { role: 'client', server: 's1.test' } },
  ];
  const id = 'c04ec98c156c5ebe';
  const frame = (from: string) => Buffer.from(`\u0005\u00006\u0000\u0010${id}\u0000\n${from}`).toString('base64');
  let seq = 0;
  const at = (event: Record<string, unknown>): TraceEvent =>
    ({ seq: ++seq, atMs: seq, lamport: seq, ...event }) as TraceEvent;
  /** s2.test relays m2 from `sent` (arriving as `arrived`), s1.test takes and pushes it, u1 gets it. */
  const copy = (arrived: string, sent = 'u1@s2.test'): TraceEvent[] => {
    const msg = ++seq;
    return [
      at({
        node: 's2.test',
        kind: 'send',
        msg,
        transport: 'stream',
        to: 's1.test',
        payload: { size: 0, base64: frame(sent) },
      }),
      at({
        node: 's1.test',
        kind: 'receive',
        msg,
        transport: 'stream',
        from: 's2.test',
        sentLamport: 0,
        payload: { size: 0, base64: frame(arrived) },
      }),
      at({ node: 's1.test', kind: 'note', what: 'solec.accepted', detail: { id, from: arrived, to: 'u1@s1.test' } }),
      at({ node: 'u1-s1.test', kind: 'deliver', user: 'u1@s1.test', from: arrived, body: 'm2', id }),
    ];
  };
  const verdicts = (name: string, events: TraceEvent[]) => {
    const invariant = solecInvariants[name]!({ nodes });
    return events.map((event) => invariant.observe(event)).filter((v) => v !== undefined);
  };

  it('excuses the unchanged resend of a Message whose `from` a damage rewrote', () => {
    const events = [...copy('u&@s2.test'), ...copy('u1@s2.test')];
    expect(verdicts('solec.exactlyOnce', events)).toEqual([]);
    expect(verdicts('solec.no-duplicate-delivery', events)).toEqual([]);
  });

  it('still fails the same `from` twice, a `from` no damage wrote, and a third copy', () => {
    const taken = (times: number) => `message ${id} taken for delivery ${times} times (at s1.test)`;
    const twice = `u1@s1.test at u1-s1.test received ${id} twice`;
    for (const events of [
      [...copy('u1@s2.test'), ...copy('u1@s2.test')],
      [...copy('u2@s2.test', 'u2@s2.test'), ...copy('u1@s2.test')],
    ])
      expect([verdicts('solec.exactlyOnce', events), verdicts('solec.no-duplicate-delivery', events)]).toEqual([
        [taken(2)],
        [twice],
      ]);
    const third = [...copy('u&@s2.test'), ...copy('u1@s2.test'), ...copy('u1@s2.test')];
    expect([verdicts('solec.exactlyOnce', third), verdicts('solec.no-duplicate-delivery', third)]).toEqual([
      [taken(3)],
      [twice],
    ]);
  });
});

// Goal: the Ambrosia profile owes nothing the spec lets a fault lose, after the soak's two false
// failures on the merged main (fixtures, shrunk, since seeds move with generation):
// - seed 714 (test/fixtures/ambrosia/restart-partition-backoff.yaml): a client restarted into a
//   partition binds afresh only at its next login, backing off from the restart, so a message sent
//   to it 3 s after the heal waits in the old session and is reported undelivered (spec.md §3);
// - seed 1203 (test/fixtures/ambrosia/damaged-login-final.yaml): a corrupted stream header fails
//   the restarted client's login, which is final, so what is sent to its user is stranded.
// Method: the old expectations still fail on the replay (the loss is real); the profile's
// underFaults no longer owes m5 of the first; its strandedByDamage over the second's trace names m6
// and the client's own queued sends, and nothing once the damage is taken out of the trace.
describe('fuzz: Ambrosia promises after the merged main 5,000-run soak', () => {
  const load = (file: string) => parseScenario(readFileSync(`test/fixtures/ambrosia/${file}`, 'utf8'), file);
  const profile = fuzzProfileNamed('ambrosia')!;
  const failures = (report: ReturnType<typeof runScenario>) =>
    report.results.filter((r) => !r.ok).map((r) => r.message);

  it('seed 714: a message to a restarted client before its next login is not owed', () => {
    const file = 'restart-partition-backoff.yaml';
    expect(failures(runScenario(load(file)))).toEqual(['missing ["m5"]; got ["m4","m7","m8","m10"]']);
    const source = parse(readFileSync(`test/fixtures/ambrosia/${file}`, 'utf8')) as ScenarioFile;
    const topology = { nodes: source.nodes, dns: [], network: source.network!, users: [], hosts: [], crashable: [] };
    const spans = faultSpans(source.steps ?? []);
    const u1 = { address: 'u1@a.test', node: 'u1.a.test' };
    const u2 = { address: 'u2@a.test', node: 'u2.a.test' };
    const owed = (atMs: number) => profile.delivery.underFaults!({ atMs, from: u2, to: u1, topology, spans });
    // m5, 3 s after the heal: the client's next attempt is 7.4 s after it.
    expect(owed(17_833)).toBeUndefined();
    // Long after the client's backoff and login: owed again.
    expect(owed(60_000)).toBeTypeOf('number');
  });

  it('seed 1203: a login a damage failed strands what is sent to its user', () => {
    const report = runScenario(load('damaged-login-final.yaml'));
    expect(failures(report)).toEqual(['missing ["m6"]; got []']);
    const key = (node: string, to: string, id: string) =>
      `${node} ${JSON.stringify({ type: 'send', to, body: id, id })}`;
    const stranded = profile.delivery.strandedByDamage!(report.trace.events);
    expect([...stranded].sort()).toEqual(
      [
        key('u1.a.test', 'u2@a.test', 'm2'),
        key('u1.a.test', 'u2@a.test', 'm5'),
        key('u1.a.test', 'u2@a.test', 'm7'),
        key('u2.a.test', 'u1@a.test', 'm1'),
        key('u2.a.test', 'u1@a.test', 'm3'),
        key('u2.a.test', 'u1@a.test', 'm4'),
        key('u2.a.test', 'u1@a.test', 'm6'),
      ].sort(),
    );
    const undamaged = report.trace.events.filter((e) => !(e.kind === 'fault' && e.fault === 'corrupt'));
    expect([...profile.delivery.strandedByDamage!(undamaged)]).toEqual([]);
  });
});

// Goal: Bester has no integrity check over a message (spec.md §10), so a damage that still decodes
// delivers altered data, and `bester.authentic` excuses exactly that: a delivery a damaged segment
// carried, altered from data a client sent. Regression for the Bester soak's false failure (seed
// 3776, shrunk: test/fixtures/bester/damaged-forward-altered.yaml: a forward's text `m3` damaged to
// `mo`, delivered with a second handler's tag after it, so no changed byte lies under the body).
// Method: the shrunk case passes and really delivers `mo`; its trace fed again to a fresh
// `bester.authentic` with the damage undone (the segment received as sent), with the damaged
// data's origin never sent, and with a delivery other than what the damage wrote: each fails.
describe('fuzz: Bester delivers data a damage altered, and nothing else unsent', () => {
  const file = 'damaged-forward-altered.yaml';
  const report = runScenario(parseScenario(readFileSync(`test/fixtures/bester/${file}`, 'utf8'), file));
  const events = report.trace.events;
  const client = (id: string, server: string): InvariantNode => ({
    id,
    host: `${id}.test`,
    protocol: 'bester',
    config: { role: 'client', server: { host: server }, username: id, password: 'pw' },
  });
  const context = { nodes: [client('s1u1', 's1.test'), client('s2u1', 's2.test')] };
  const violations = (trace: readonly TraceEvent[]) => {
    const invariant = besterAuthentic(context);
    return trace.flatMap((event) => invariant.observe(event) ?? []);
  };
  const altered = '{"to":"s2u1","text":"mo","via":["s1-out","s2-in"]}';
  const damagedReceive = events.find(
    (e) => e.kind === 'receive' && e.node === 's2' && field(field(e.payload.decoded, 'payload'), 'id') === 'm3',
  );
  const forged = `s2u1 at s2u1 received ${JSON.stringify('{"to":"s2u1","text":"mo"}')} from s2.test, which no user sent`;

  it('seed 3776: the damaged forward is delivered as damaged, and passes', () => {
    expect(report.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
    expect(events.some((e) => e.kind === 'deliver' && e.body === altered)).toBe(true);
    expect(damagedReceive).toBeDefined();
    expect(violations(events)).toEqual([]);
  });

  it('fails the same altered delivery without the damage', () => {
    const sent = events.find(
      (e) => e.kind === 'send' && damagedReceive?.kind === 'receive' && e.msg === damagedReceive.msg,
    );
    expect(sent?.kind).toBe('send');
    const undamaged = events.map((e) =>
      e === damagedReceive && e.kind === 'receive' && sent?.kind === 'send' ? { ...e, payload: sent.payload } : e,
    );
    expect(violations(undamaged)).toEqual([forged]);
  });

  it('fails a damage of data no client sent, and a delivery other than what the damage wrote', () => {
    const unsent = events.map((e) =>
      e.kind === 'command' && field(e.command, 'id') === 'm3'
        ? { ...e, command: { ...(e.command as object), data: { to: 's2u1', text: 'zz' } } }
        : e,
    );
    expect(violations(unsent)).toEqual([forged]);
    const other = events.map((e) =>
      e.kind === 'deliver' && e.body === altered ? { ...e, body: altered.replace('"mo"', '"mx"') } : e,
    );
    expect(violations(other)).toEqual([forged.replace('mo', 'mx')]);
  });
});
