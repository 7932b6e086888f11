// Goal: the default campaigns draw the richer topologies, in a mix, and the promises over them say
// what the specs promise and no more: Ambrosia federations (two or three gateways, a domain each,
// stanzas across domains over s2s with Server Dialback), and FMTP's hid.test, a domain with no MX
// record reached through the route table (a gateway with the objects cached, a proxy, a chain of
// two proxies).
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
      const gateways = gatewaysOf(topology);
      expect(gateways.length).toBeLessThanOrEqual(3);
      for (const gateway of gateways) {
        const domain = gateway.replace(/^gw-/, '');
        expect(topology.dns).toContainEqual({ name: domain, type: 'MX', value: `10 ${gateway}` });
        expect(topology.users.some((user) => domainOf(user) === domain)).toBe(true);
        expect(topology.crashable).toContain(gateway);
        expect(topology.hosts).toContain(gateway);
      }
    }
    expect(federations.some((topology) => gatewaysOf(topology).length === 3)).toBe(true);
  });

  it('carries a message across domains over an s2s stream authenticated with dialback', () => {
    const topology = federations[0]!;
    const from = topology.users[0]!;
    const to = topology.users.find((user) => domainOf(user) !== domainOf(from))!;
    const { failures, events } = run(ambrosiaProfile, topology, from, to);
    expect(failures).toEqual([]);
    expect(events.some((e) => e.kind === 'note' && e.what === 'ambrosia.s2s.authenticated')).toBe(true);
    expect(events.flatMap((e) => (e.kind === 'deliver' && e.user === to.address ? [e.body] : []))).toEqual([
      'm1',
      'm2',
    ]);
  });

  it('owes nothing across a fault on the s2s hop or a crash of a gateway on the way, and owes through a client-link blip', () => {
    const topology = federations[0]!;
    const from = topology.users[0]!;
    const to = topology.users.find((user) => domainOf(user) !== domainOf(from))!;
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
    const from = topology.users[0]!;
    const to = topology.users.find((user) => domainOf(user) !== domainOf(from))!;
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
