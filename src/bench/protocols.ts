/**
 * End-to-end messages per second for each protocol: the protocol's fuzz topology (drawn once,
 * fixed seed), a steady workload of user-to-user messages between every pair the protocol
 * promises delivery for, no faults, no trace lines kept or hashed. The world's build (key derivation, logins,
 * registrations) is measured apart, by running the same topology with no messages, and taken out.
 *
 * Wall clock is allowed here (benchmarks only); nothing here runs inside a simulation.
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { compiledEngine, type Engine } from '../engine/engine.js';
import { fuzzProfileNamed } from '../fuzz/profiles/index.js';
import { Plan } from '../fuzz/plan.js';
import { scenarioOf } from '../fuzz/run-one.js';
import { runScenario } from '../scenario/run.js';
import { stepSchema } from '../scenario/schema.js';
import { z } from 'zod';

export interface ProtocolThroughput {
  readonly protocol: string;
  readonly sent: number;
  readonly delivered: number;
  /** Wall seconds of the run with messages, less the same world's run without any. */
  readonly runSeconds: number;
  /** CPU seconds (user + system, this process) of the run with messages, less the run without any. */
  readonly runCpuSeconds: number;
  readonly nodes: number;
  /** Trace events of the run with messages, less the same world's run without any. */
  readonly events: number;
  /** Simulator events (network arrivals, timers, steps) run, less the run without messages. */
  readonly simulatorEvents: number;
}

/** Milliseconds of virtual time between two sends: steady, well inside every protocol's limits. */
const gapMs = 5;

interface Run {
  readonly delivered: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly nodes: number;
  readonly events: number;
  readonly simulatorEvents: number;
}

function runOnce(protocol: string, messages: number, engine: Engine): Run {
  const profile = fuzzProfileNamed(protocol);
  if (profile === undefined) throw new Error(`no fuzz profile for ${protocol}`);
  // Of a few drawn topologies, the one with the most users (the first such): more pairs talk.
  const drawn = fc.sample(profile.topology, { seed: 20_261_123, numRuns: 30 });
  const topology = drawn.reduce((best, next) => (next.users.length > best.users.length ? next : best));
  const pairs = topology.users.flatMap((from) =>
    topology.users.filter((to) => profile.promises(topology, from, to)).map((to) => ({ from, to })),
  );
  const plan = new Plan(profile, topology);
  for (let i = 0; i < messages && pairs.length > 0; i++) {
    const pair = pairs[i % pairs.length] as (typeof pairs)[number];
    plan.send(pair.from, pair.to);
    plan.nowMs += gapMs;
  }
  // Deliveries are counted from the world; the plan's expectations are not needed here.
  const finished = plan.finish(1, `bench/${protocol}-throughput`);
  const source = {
    ...finished,
    expect: [],
    limits: { timeMsMax: finished.limits.timeMsMax + 60_000, eventsMax: 100_000_000 },
  };
  // The steps are many more than a scenario file may hold (limits.scenarioFileBytesMax): the
  // scenario is parsed without them, and they are checked by the step schema alone.
  const parsed = scenarioOf({ ...source, steps: [] }, `bench/${protocol}-throughput.yaml`);
  const scenario = { ...parsed, steps: z.array(stepSchema).parse(source.steps ?? []) };
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const report = runScenario(scenario, { recorder: { keepLines: false, keepEvents: false, hash: false }, engine });
  const cpu = process.cpuUsage(cpuStarted);
  const seconds = (performance.now() - started) / 1000;
  return {
    delivered: report.world.deliveries.length,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    nodes: Object.keys(topology.nodes).length,
    events: report.trace.count,
    simulatorEvents: report.world.sim.events,
  };
}

export function protocolThroughput(
  protocol: string,
  messages: number,
  engine: Engine = compiledEngine,
): ProtocolThroughput {
  const empty = runOnce(protocol, 0, engine);
  const full = runOnce(protocol, messages, engine);
  return {
    protocol,
    sent: messages,
    delivered: full.delivered - empty.delivered,
    runSeconds: Math.max(full.seconds - empty.seconds, 1e-6),
    runCpuSeconds: Math.max(full.cpuSeconds - empty.cpuSeconds, 1e-6),
    nodes: full.nodes,
    events: full.events - empty.events,
    simulatorEvents: full.simulatorEvents - empty.simulatorEvents,
  };
}
