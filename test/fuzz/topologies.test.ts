// Goal: the default campaigns draw the richer topologies, in a mix, and the promises over them say
// what the specs promise and no more: Ambrosia federations (two or three gateways, a domain each,
// stanzas across domains over s2s with Server Dialback), and FMTP's hid.test, a domain with no MX
// record reached through the route table (a gateway with the objects cached, a proxy, a chain of
// two proxies).
// The rarer Ambrosia roles, each in a fraction of runs and owed nothing: a domain reached by its A
// record only, a recipient at a domain with no DNS, a far domain on slow s2s links, and (with the
// failed logins) a user on a slow client link.
// Method: sample the default topologies (fixed seeds) and count the shapes; run a plan over one of
// each and read its trace (s2s authenticated and the message delivered; the lookup ending at the
// gateway step and the message delivered); ask `underFaults` about a message sent across a fault on
// its s2s hop or its direct hop (not owed) and across one on a client link or a gateway (owed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Plan } from '../../src/fuzz/plan.js';
import type { FuzzProfile, FuzzUser, Topology } from '../../src/fuzz/profile.js';
import type { FaultSpan } from '../../src/fuzz/faults.js';
import { judgePlan } from '../../src/fuzz/run-one.js';
import { ambrosiaProfile } from '../../src/protocols/ambrosia/fuzz.js';
import { fmtpProfile } from '../../src/protocols/fmtp/fuzz.js';

const gatewaysOf = (topology: Topology) =>
  Object.entries(topology.nodes)
    .filter(([, node]) => (node.config as { role?: string }).role === 'gateway')
    .map(([id]) => id);

const domainOf = (user: FuzzUser) => user.address.split('@')[1] ?? '';

/** A plan in which `from` writes to `to` twice on a quiet network, run: its failed expectations and trace. */
function run(profile: FuzzProfile, topology: Topology, from: FuzzUser, to: FuzzUser) {
  const plan = new Plan(profile, topology);
  plan.nowMs += 1_000;
  plan.send(from, to);
  plan.nowMs += 3_000;
  plan.send(from, to);
  const { report } = judgePlan(plan, 0, 'topology');
  return { failures: report.results.filter((result) => !result.ok), events: report.trace.events };
}

function owed(profile: FuzzProfile, topology: Topology, from: FuzzUser, to: FuzzUser, spans: FaultSpan[]) {
  return profile.delivery.underFaults?.({ atMs: 2_000, from, to, topology, spans });
}

describe('fuzz: Ambrosia federations in the default campaign', () => {
  const sample = fc.sample(ambrosiaProfile.topology, { seed: 19, numRuns: 200 });
  const federations = sample.filter((topology) => gatewaysOf(topology).length > 1);

  it('draws a federation in about two runs of five, each gateway with its domain, MX record and users', () => {
    expect(federations.length).toBeGreaterThan(50);
    expect(federations.length).toBeLessThan(110);
    for (const topology of federations) {
      const gateways = gatewaysOf(topology).filter((gateway) => gateway !== 'gw-far.test');
      expect(gateways.length).toBeLessThanOrEqual(3);
      for (const [i, gateway] of gateways.entries()) {
        const domain = gateway.replace(/^gw-/, '');
        const records = topology.dns.filter((record) => record.name === domain);
        // The first domain by MX; the others by MX, or in one draw of three by their A record only.
        if (i === 0) expect(records).toEqual([{ name: domain, type: 'MX', value: `10 ${gateway}` }]);
        else
          expect([
            [{ name: domain, type: 'MX', value: `10 ${gateway}` }],
            [{ name: domain, type: 'A', value: gateway }],
          ]).toContainEqual(records);
        expect(topology.users.some((user) => domainOf(user) === domain)).toBe(true);
        expect(topology.crashable).toContain(gateway);
        expect(topology.hosts).toContain(gateway);
      }
    }
    expect(federations.some((topology) => gatewaysOf(topology).length === 3)).toBe(true);
  });

  it('draws the rarer roles in a fraction of runs, and owes nothing to or from them', () => {
    const count = (test: (topology: Topology) => boolean) => sample.filter(test).length;
    const byA = count((topology) => topology.dns.some((record) => record.type === 'A'));
    const ghost = count((topology) => topology.users.some((user) => user.address === 'ghost@gone.test'));
    const far = count((topology) => topology.nodes['gw-far.test'] !== undefined);
    const failing = count((topology) => Object.keys(topology.nodes).includes('stranger.elsewhere.test'));
    for (const share of [byA, ghost, far]) expect(share).toBeGreaterThan(5);
    for (const share of [byA, ghost, far]) expect(share).toBeLessThan(50);
    expect(failing).toBeGreaterThan(40);
    expect(failing).toBeLessThan(95);
    for (const topology of sample) {
      const users = topology.users;
      const unowed = users.filter((user) => /^(ghost@gone\.test|u1@far\.test|slow@.*)$/.test(user.address));
      for (const user of unowed) {
        for (const other of users) {
          expect(ambrosiaProfile.promises(topology, user, other)).toBe(false);
          expect(ambrosiaProfile.promises(topology, other, user)).toBe(false);
        }
      }
      const slow = users.find((user) => user.address.startsWith('slow@'));
      if (slow !== undefined) {
        // The slow user's link to its gateway is slow; it is no fault host and never crashes.
        expect(topology.network.links?.some((link) => link.between.includes(slow.node))).toBe(true);
        expect(topology.hosts).not.toContain(slow.node);
        expect(topology.crashable).not.toContain(slow.node);
      }
      const owedUsers = users.filter((user) => !unowed.includes(user));
      expect(owedUsers.length).toBeGreaterThanOrEqual(2);
      expect(ambrosiaProfile.promises(topology, owedUsers[0]!, owedUsers[1]!)).toBe(true);
    }
  });

  it('reaches a domain by its A record alone, and fails the stream to a domain with no DNS', () => {
    const topology = federations.find(
      (t) => t.dns.some((record) => record.type === 'A') && t.users.some((user) => user.address === 'ghost@gone.test'),
    )!;
    expect(topology).toBeDefined();
    const byA = topology.dns.find((record) => record.type === 'A')!.name;
    const from = topology.users[0]!;
    const to = topology.users.find((user) => domainOf(user) === byA)!;
    const { failures, events } = run(ambrosiaProfile, topology, from, to);
    expect(failures).toEqual([]);
    expect(events.some((e) => e.kind === 'dns.query' && e.type === 'A' && e.name === byA)).toBe(true);
    expect(events.filter((e) => e.kind === 'deliver' && e.user === to.address).length).toBe(2);
    const ghost = topology.users.find((user) => user.address === 'ghost@gone.test')!;
    const lost = run(ambrosiaProfile, topology, from, ghost);
    expect(lost.failures).toEqual([]);
    expect(
      lost.events.some(
        (e) => e.kind === 'dns.answer' && e.type === 'A' && e.name === 'gone.test' && e.status === 'nxdomain',
      ),
    ).toBe(true);
  });

  /** The first user, and a user of another domain something is owed to. */
  const pairAcross = (topology: Topology): [FuzzUser, FuzzUser] => {
    const from = topology.users[0]!;
    const to = topology.users.find(
      (user) => domainOf(user) !== domainOf(from) && ambrosiaProfile.promises(topology, from, user),
    )!;
    return [from, to];
  };

  it('carries a message across domains over an s2s stream authenticated with dialback', () => {
    const topology = federations[0]!;
    const [from, to] = pairAcross(topology);
    const { failures, events } = run(ambrosiaProfile, topology, from, to);
    expect(failures).toEqual([]);
    expect(events.some((e) => e.kind === 'note' && e.what === 'ambrosia.s2s.authenticated')).toBe(true);
    // The receiving gateway's verification stream has a chart of its own, apart from any outgoing
    // stream to the same domain (one name for both made coverage read their changes as one chart's).
    const verifier = `ambrosia.s2s ${domainOf(from)} verify`;
    expect(events.some((e) => e.kind === 'state' && e.node === `gw-${domainOf(to)}` && e.machine === verifier)).toBe(
      true,
    );
    expect(events.flatMap((e) => (e.kind === 'deliver' && e.user === to.address ? [e.body] : []))).toEqual([
      'm1',
      'm2',
    ]);
  });

  it('owes nothing across a fault on the s2s hop or a crash of a gateway on the way, and owes through a client-link blip', () => {
    const topology = federations[0]!;
    const [from, to] = pairAcross(topology);
    const [gwFrom, gwTo] = [`gw-${domainOf(from)}`, `gw-${domainOf(to)}`];
    const span = (kind: FaultSpan['kind'], hosts: string[]): FaultSpan[] => [
      { kind, hosts, beginMs: 2_100, endMs: 2_600 },
    ];
    expect(owed(ambrosiaProfile, topology, from, to, span('partition', [gwFrom, gwTo]))).toBeUndefined();
    expect(owed(ambrosiaProfile, topology, from, to, span('clog', [gwTo, gwFrom]))).toBeUndefined();
    expect(owed(ambrosiaProfile, topology, from, to, span('crash', [gwTo]))).toBeUndefined();
    expect(owed(ambrosiaProfile, topology, from, to, span('partition', [from.node, gwFrom]))).toBeGreaterThan(2_600);
  });

  it('lists the s2s hop among the links a cross-domain message uses', () => {
    const topology = federations[0]!;
    const [from, to] = pairAcross(topology);
    const links = ambrosiaProfile.links(topology, from, to).map(([a, b]) => `${a}>${b}`);
    expect(links).toContain(`gw-${domainOf(from)}>gw-${domainOf(to)}`);
    expect(links).toContain(`gw-${domainOf(to)}>gw-${domainOf(from)}`);
  });
});

describe('fuzz: FMTP gateways and proxies in the default campaign', () => {
  const sample = fc.sample(fmtpProfile.topology, { seed: 19, numRuns: 200 });
  const routed = sample.filter((topology) => topology.nodes['hid.test'] !== undefined);
  const kindOf = (topology: Topology) =>
    topology.nodes['gw.test'] ? 'gateway' : topology.nodes['p2.test'] ? 'chain' : 'proxy';

  it('draws hid.test in about two runs of five, behind a gateway, a proxy or a chain of two, with no MX record', () => {
    expect(routed.length).toBeGreaterThan(50);
    expect(routed.length).toBeLessThan(110);
    expect(new Set(routed.map(kindOf))).toEqual(new Set(['gateway', 'proxy', 'chain']));
    for (const topology of routed) {
      expect(topology.dns.some((record) => record.name === 'hid.test')).toBe(false);
      expect(topology.users.some((user) => user.node === 'hid.test')).toBe(true);
    }
  });

  it.each(['gateway', 'proxy', 'chain'])(
    'finds a hid.test user through the %s route and delivers to its ROUTE',
    (kind) => {
      const topology = routed.find((t) => kindOf(t) === kind)!;
      const to = topology.users.find((user) => user.node === 'hid.test')!;
      const from = topology.users.find((user) => user.node !== 'hid.test')!;
      const { failures, events } = run(fmtpProfile, topology, from, to);
      expect(failures).toEqual([]);
      const first = kind === 'gateway' ? 'gw.test' : 'p1.test';
      expect(events).toContainEqual(
        expect.objectContaining({
          kind: 'note',
          node: from.node,
          what: 'fmtp.lookup.outcome',
          detail: expect.objectContaining({ object: to.address, outcome: 'found', step: 'gateway', peer: first }),
        }),
      );
      expect(events.flatMap((e) => (e.kind === 'deliver' && e.user === to.address ? [e.body] : []))).toEqual([
        'm1',
        'm2',
      ]);
    },
  );

  it('owes nothing across a fault on the direct hop to hid.test, and waits out LOOKING after a proxy fault', () => {
    const topology = routed.find((t) => kindOf(t) === 'proxy')!;
    const to = topology.users.find((user) => user.node === 'hid.test')!;
    const from = topology.users.find((user) => user.node !== 'hid.test')!;
    const span = (kind: FaultSpan['kind'], hosts: string[]): FaultSpan[] => [
      { kind, hosts, beginMs: 2_100, endMs: 2_600 },
    ];
    expect(owed(fmtpProfile, topology, from, to, span('partition', [from.node, 'hid.test']))).toBeUndefined();
    expect(owed(fmtpProfile, topology, from, to, span('crash', ['hid.test']))).toBeUndefined();
    const quietHop = owed(fmtpProfile, topology, from, to, span('partition', [from.node, 'd9.test']))!;
    expect(owed(fmtpProfile, topology, from, to, span('crash', ['p1.test']))).toBe(quietHop + 30_000);
    // The other way, hid.test's own relay goes to the recipient's MX: retried as any.
    expect(owed(fmtpProfile, topology, to, from, span('partition', [from.node, 'hid.test']))).toBeGreaterThan(2_600);
  });
});
