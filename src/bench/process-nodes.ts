/**
 * Node steps per second of F140 nodes run as external processes (examples/f140-js, examples/f140-py)
 * beside the built-in F140 node in-process, on the same workload: F140's fuzz topology (drawn once,
 * fixed seed), a steady stream of messages between every pair that may talk, no faults, no trace
 * kept. A node step is one input the node handles: its start, each connection event, each fired
 * timer, each command. For a process node each step is one synchronous exchange with the child
 * (src/process/channel.ts). The whole run is timed, the children's start included: with enough
 * messages it is a small part (subtracting a run without messages, as protocols.ts does, gave
 * negative and wild figures on a loaded machine, where a start costs what a thousand steps do).
 *
 * Wall clock is allowed here (benchmarks only); nothing here runs inside a simulation.
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { Plan } from '../fuzz/plan.js';
import { fuzzProfileNamed } from '../fuzz/profiles/index.js';
import { scenarioOf, withProcessNodes } from '../fuzz/run-one.js';
import { ProcessNode } from '../process/node.js';
import type { ProcessSpec } from '../process/schema.js';
import type { HostClock, NodeHost, ProtocolNode } from '../protocols/protocol.js';
import type { AnyProtocol } from '../protocols/registry.js';
import { runScenario } from '../scenario/run.js';
import { stepSchema } from '../scenario/schema.js';
import { z } from 'zod';

/** The external nodes measured, by name, and how to start each (from the repository's root). */
export const externalNodes: Readonly<Record<string, ProcessSpec | undefined>> = {
  'in-process': undefined,
  javascript: { command: ['node', 'examples/f140-js/node.mjs'] },
  python: { command: ['python3', 'examples/f140-py/node.py'] },
};

export interface NodeSteps {
  /** Every node step of the run, the starts included. */
  readonly steps: number;
  /** Of `steps`, those a process node was given ahead of their turn (the world's lookahead). */
  readonly stepsAhead: number;
  /** Wall seconds of the whole run, the children's start included. */
  readonly seconds: number;
  readonly delivered: number;
  /** Node starts (one per node: the bench has no faults). */
  readonly starts: number;
  /** The steps after the last node started, and their wall seconds: the steady exchange, no process starts. */
  readonly steadySteps: number;
  readonly steadySeconds: number;
  /** CPU seconds of the steady part: this process's (user + system), and every child's (Linux only; 0 elsewhere). */
  readonly steadyHostCpuSeconds: number;
  readonly steadyChildCpuSeconds: number;
}

/** What one run counts as it goes. */
interface Counter {
  steps: number;
  starts: number;
  /** At the end of the last start: steps, wall ms, host CPU µs. */
  bootSteps: number;
  bootMs: number;
  bootCpuMicros: number;
  /** Child CPU seconds: of all children at the last start, and of each child at its end. */
  childCpuAtBoot: number;
  readonly children: Set<ProcessNode>;
  readonly childCpuAtEnd: Map<ProcessNode, number>;
}

const cpuMicros = (): number => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

/** Steps so far: those counted by the wrapper (in-process nodes) and those of every process node. */
function stepsOf(counter: Counter): number {
  let steps = counter.steps;
  for (const child of counter.children) steps += child.stepCount;
  return steps;
}

/**
 * `protocol` with every node's steps counted (inputs handled, timers fired, starts). A process
 * node counts its own (`stepCount`): its clock and its `prefetch` are left as they are, so that
 * the world's lookahead knows its timers and can give it inputs ahead of their turn.
 */
function counting(protocol: AnyProtocol, counter: Counter, external: boolean): AnyProtocol {
  return {
    ...protocol,
    createNode(host: NodeHost, config: unknown): ProtocolNode {
      if (external) {
        const node = protocol.createNode(host, config);
        if (!(node instanceof ProcessNode)) throw new Error('an external run whose node is no process');
        const start = node.start.bind(node);
        const finish = node.finish.bind(node);
        const stop = node.stop.bind(node);
        const ended = (): void => {
          if (!counter.childCpuAtEnd.has(node)) counter.childCpuAtEnd.set(node, node.childCpuSeconds());
        };
        node.start = () => {
          counter.starts += 1;
          counter.children.add(node);
          start();
          booted(counter);
        };
        node.finish = () => {
          ended();
          finish();
        };
        node.stop = () => {
          ended();
          stop();
        };
        return node;
      }
      const clock: HostClock = {
        setTimeout: (fn, ms) =>
          host.clock.setTimeout(() => {
            counter.steps += 1;
            fn();
          }, ms),
        clearTimeout: (handle) => host.clock.clearTimeout(handle),
      };
      const node = protocol.createNode(
        {
          id: host.id,
          hostName: host.hostName,
          now: () => host.now(),
          clock,
          engine: host.engine,
          random: host.random,
          store: host.store,
          emit: (output) => host.emit(output),
          bufferedBytes: (conn) => host.bufferedBytes(conn),
          writeHighWaterBytes: host.writeHighWaterBytes,
          stateChanged: (machine, value) => host.stateChanged(machine, value),
        },
        config,
      );
      return {
        start: () => {
          counter.steps += 1;
          counter.starts += 1;
          node.start();
          booted(counter);
        },
        handle: (input) => {
          counter.steps += 1;
          node.handle(input);
        },
        stop: () => node.stop(),
        ...(node.finish === undefined ? {} : { finish: () => node.finish?.() }),
        view: () => node.view(),
      };
    },
  };
}

/** A node has started: the steady part begins now (the last start's figures win). */
function booted(counter: Counter): void {
  counter.bootSteps = stepsOf(counter);
  counter.bootMs = performance.now();
  counter.bootCpuMicros = cpuMicros();
  counter.childCpuAtBoot = 0;
  for (const child of counter.children) counter.childCpuAtBoot += child.childCpuSeconds();
}

function runOnce(spec: ProcessSpec | undefined, messages: number): NodeSteps {
  const profile = fuzzProfileNamed('f140');
  if (profile === undefined) throw new Error('no fuzz profile for f140');
  const drawn = fc.sample(profile.topology, { seed: 20_261_123, numRuns: 30 });
  const topology = drawn.reduce((best, next) => (next.users.length > best.users.length ? next : best));
  const pairs = topology.users.flatMap((from) =>
    topology.users.filter((to) => profile.promises(topology, from, to)).map((to) => ({ from, to })),
  );
  const plan = new Plan(profile, topology);
  for (let i = 0; i < messages && pairs.length > 0; i++) {
    const pair = pairs[i % pairs.length] as (typeof pairs)[number];
    plan.send(pair.from, pair.to);
    plan.nowMs += 5;
  }
  const finished = plan.finish(1, 'bench/f140-process-nodes');
  const source = withProcessNodes(
    { ...finished, expect: [], limits: { timeMsMax: finished.limits.timeMsMax + 60_000, eventsMax: 100_000_000 } },
    'f140',
    spec === undefined ? undefined : { ...spec, cwd: process.cwd() },
  );
  // The steps are many more than a scenario file may hold (limits.scenarioFileBytesMax): the
  // scenario is parsed without them, and they are checked by the step schema alone.
  const parsed = scenarioOf({ ...source, steps: [] }, 'bench/f140-process-nodes.yaml');
  const scenario = { ...parsed, steps: z.array(stepSchema).parse(source.steps ?? []) };
  const counter: Counter = {
    steps: 0,
    starts: 0,
    bootSteps: 0,
    bootMs: 0,
    bootCpuMicros: 0,
    childCpuAtBoot: 0,
    children: new Set(),
    childCpuAtEnd: new Map(),
  };
  const counted = {
    ...scenario,
    nodes: scenario.nodes.map((node) => ({ ...node, protocol: counting(node.protocol, counter, spec !== undefined) })),
  };
  const started = performance.now();
  const report = runScenario(counted, { recorder: { keepLines: false, keepEvents: false, hash: false } });
  const ended = performance.now();
  const endCpu = cpuMicros();
  const steps = stepsOf(counter);
  let stepsAhead = 0;
  for (const child of counter.children) stepsAhead += child.stepAheadCount;
  return {
    steps,
    stepsAhead,
    seconds: (ended - started) / 1000,
    delivered: report.world.deliveries.length,
    starts: counter.starts,
    steadySteps: steps - counter.bootSteps,
    steadySeconds: (ended - counter.bootMs) / 1000,
    steadyHostCpuSeconds: (endCpu - counter.bootCpuMicros) / 1e6,
    steadyChildCpuSeconds:
      [...counter.childCpuAtEnd.values()].reduce((sum, cpu) => sum + cpu, 0) - counter.childCpuAtBoot,
  };
}

/** Steps and wall seconds of one kind of node (`externalNodes`) over `messages` messages. */
export function processNodeSteps(kind: string, messages: number): NodeSteps {
  return runOnce(externalNodes[kind], messages);
}
