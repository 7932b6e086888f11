/**
 * Bench workloads built from the real protocol nodes: a SOLEC federation of servers, each with
 * one logged-in client, where every client writes to users of the next `fanout` servers. Every
 * message crosses the whole stack: client machine, home server session, relay link, remote server
 * session, push to the remote client. Nothing here is a second copy of any protocol.
 *
 * Wall clock is read only to time the run phase (bench/ may read it); the simulation itself runs
 * in virtual time.
 */
import { performance } from 'node:perf_hooks';
import { compiledEngine, type Engine } from '../engine/engine.js';
import { solec } from '../protocols/solec/index.js';
import type { SolecConfig } from '../protocols/solec/config.js';
import { f140, type F140Config } from '../protocols/f140/index.js';
import { World } from '../sim/world.js';
import { rank, Simulator } from '../sim/simulator.js';
import { TraceRecorder, type RecorderOptions } from '../trace/recorder.js';

export interface FederationOptions {
  /** Nodes in all: half servers, half clients (one client per server). */
  readonly nodes: number;
  /** Messages sent in all, spread evenly over `spanMs` of virtual time. */
  readonly messages: number;
  readonly spanMs: number;
  /** Each client writes to users of the next `fanout` servers (ring order). */
  readonly fanout?: number;
  readonly recorder?: RecorderOptions;
  readonly seed?: number;
  /** The statechart engine. @defaultValue compiledEngine */
  readonly engine?: Engine;
}

export interface FederationResult {
  readonly delivered: number;
  readonly events: number;
  readonly simEvents: number;
  readonly virtualMs: number;
  /** Wall seconds of the run phase alone (the caller times the whole). */
  readonly runSeconds: number;
  readonly world: World;
}

/** Builds the federation (nodes declared and started, sends scheduled) without running it. */
export function buildSolecFederation(options: FederationOptions): {
  world: World;
  sim: Simulator;
  trace: TraceRecorder;
} {
  const servers = Math.max(2, Math.floor(options.nodes / 2));
  const fanout = Math.min(options.fanout ?? 4, servers - 1);
  const seed = options.seed ?? 1;
  const serverName = (s: number) => `s${s}.test`;
  const nodes: { id: string; host: string; protocol: string }[] = [];
  for (let s = 0; s < servers; s++) {
    nodes.push({ id: serverName(s), host: serverName(s), protocol: 'solec' });
    nodes.push({ id: `c${s}`, host: `c${s}.test`, protocol: 'solec' });
  }
  const sim = new Simulator();
  const trace = new TraceRecorder(
    { format: 'fedsim-trace', version: 1, scenario: 'bench/solec-federation', seed, protocols: ['solec'], nodes },
    options.recorder,
  );
  const world = new World(sim, seed, trace, { delayMsMin: 1, delayMsMax: 20 }, options.engine ?? compiledEngine);
  for (let s = 0; s < servers; s++) {
    const knownServers = [];
    // Symmetric: a server accepts ServerAuth only from servers it knows.
    const known = new Set<number>();
    for (let k = 1; k <= fanout; k++) known.add((s + k) % servers).add((s - k + servers) % servers);
    for (const other of known) knownServers.push({ name: serverName(other) });
    const server: SolecConfig = solec.configSchema.parse({
      role: 'server',
      accounts: { u: 'p' },
      knownServers,
      mailboxMessagesMax: 100_000,
    });
    const client: SolecConfig = solec.configSchema.parse({
      role: 'client',
      server: serverName(s),
      username: 'u',
      password: 'p',
    });
    world.addNode({ id: serverName(s), protocol: solec, config: server });
    world.addNode({ id: `c${s}`, host: `c${s}.test`, protocol: solec, config: client });
  }
  world.startAll();
  // Let every client log in first (a few round trips), then send in rounds: one message per
  // client per round, rounds spread over the span.
  const startMs = 1_000;
  const rounds = Math.max(1, Math.ceil(options.messages / servers));
  const gapMs = Math.max(1, Math.floor(options.spanMs / rounds));
  let sent = 0;
  for (let r = 0; r < rounds && sent < options.messages; r++) {
    const count = Math.min(servers, options.messages - sent);
    sent += count;
    sim.at(startMs + r * gapMs, rank.step, () => {
      for (let s = 0; s < count; s++) {
        const to = serverName((s + 1 + (r % fanout)) % servers);
        world.command(`c${s}`, { type: 'send', to: `u@${to}`, body: `m${r}` });
      }
    });
  }
  return { world, sim, trace };
}

export function solecFederation(options: FederationOptions): FederationResult {
  const { world, sim, trace } = buildSolecFederation(options);
  const started = performance.now();
  const outcome = sim.runUntilQuiet({ timeMsMax: 1_000 + options.spanMs + 600_000, eventsMax: 1_000_000_000 });
  const runSeconds = (performance.now() - started) / 1000;
  return {
    delivered: world.deliveries.length,
    events: trace.count,
    simEvents: outcome.events,
    virtualMs: outcome.atMs,
    runSeconds,
    world,
  };
}

/**
 * An F140 federation: `nodes` F140 nodes, each with one user, in pairs of friends (nodes 2k and
 * 2k+1; with an odd count the last node pairs with node 0, which then has two friends), each user sending its share of `messages` to its friend, the sends spread evenly
 * over `spanMs` of virtual time (announce off: no PING at start). Pairs rather than a ring: an
 * F140 node runs one `f140.peer` machine per friend from its start, and a ring would need two
 * friends a node (the one it writes to and the one that writes to it). Every message crosses the whole
 * stack: the client's queue and `f140.peer` machine, an HTTP MSG on a connection of its own, the
 * remote `f140.session` machine and its server, the delivery.
 *
 * The configuration is F140's schema output, built once from a parsed template and shared where
 * it is the same for every node (the challenge pairs, the defaults), so that the build does not
 * parse a million configurations that differ only in names.
 */
export function buildF140Federation(options: FederationOptions): {
  world: World;
  sim: Simulator;
  trace: TraceRecorder;
} {
  const count = Math.max(2, options.nodes);
  const seed = options.seed ?? 1;
  const name = (i: number) => `n${i}.test`;
  const user = (i: number) => `u@${name(i)}`;
  const sim = new Simulator();
  const trace = new TraceRecorder(
    {
      format: 'fedsim-trace',
      version: 1,
      scenario: 'bench/f140-federation',
      seed,
      protocols: ['f140'],
      nodes: Array.from({ length: count }, (_, i) => ({ id: name(i), host: name(i), protocol: 'f140' })),
    },
    options.recorder,
  );
  const world = new World(sim, seed, trace, { delayMsMin: 1, delayMsMax: 20 }, options.engine ?? compiledEngine);
  const pair = { challenge: 'c', response: 'r' };
  const template: F140Config = f140.configSchema.parse({
    announce: false,
    users: [
      {
        name: user(0),
        friends: [{ user: user(1), host: name(1), outbound: pair, inbound: pair }],
      },
    ],
  });
  const [templateUser] = template.users;
  const [templateFriend] = templateUser?.friends ?? [];
  if (!templateUser || !templateFriend) throw new Error('F140 federation: the template has no user');
  const friend = (i: number) => ({ ...templateFriend, user: user(i), host: name(i) });
  // Node i's friend: its pair's other node; a last, odd node pairs with node 0.
  const odd = count % 2 === 1;
  const partner = (i: number) => (odd && i === count - 1 ? 0 : i ^ 1);
  for (let i = 0; i < count; i++) {
    const friends = odd && i === 0 ? [friend(1), friend(count - 1)] : [friend(partner(i))];
    const config: F140Config = { ...template, users: [{ ...templateUser, name: user(i), friends }] };
    world.addNode({ id: name(i), protocol: f140, config });
  }
  world.startAll();
  // Sends in batches, one batch a virtual second at most: node i's k-th message goes at its share of the span.
  const startMs = 1_000;
  const batches = Math.max(1, Math.min(options.messages, Math.floor(options.spanMs / 1_000)));
  const perBatch = Math.ceil(options.messages / batches);
  for (let b = 0; b * perBatch < options.messages; b++) {
    const first = b * perBatch;
    const last = Math.min(options.messages, first + perBatch);
    sim.at(startMs + Math.floor((b * options.spanMs) / batches), rank.step, () => {
      for (let m = first; m < last; m++) {
        const i = m % count;
        world.command(name(i), { type: 'send', from: user(i), to: user(partner(i)), text: `m${m}` });
      }
    });
  }
  return { world, sim, trace };
}
