// The floor of the compiled engine's cost per event: CPU nanoseconds per event sent to one actor
// of a small machine, through the engine of one or more builds, beside hand-written loops that do
// the same work in plain JavaScript (the guard, the assign, the emitted output and the timer), and
// xstate's own interpreter. Two machines:
//
// - `guard+assign`: one state, `ping` takes a guarded targetless transition whose action is an
//   assign (`n: context.n + event.k`) over a context of F fields;
// - `link`: an echo link's shape, `ping` re-enters `open`: exit cancels the `after` timer, the
//   transition assigns and emits an output, entry sets the timer again (one of each kind of effect).
//
// - an actor of `link` started (with a listener and an observer), sent one event and stopped, per
//   actor (not per event).
//
// The simulator loop's own event (`simulatorLoop`, the bench's) is measured beside them: the unit
// of each protocol's ceiling with free nodes, so that the engine's figures can be read as ratios.
//
// Each figure is the best of `rounds` rounds of `events` events (CPU time, user + system).
//
// Usage: node scripts/engine-floor.mjs [events] [rounds] [fields] [build…]
// (builds: directories bin/build.mjs made, dist/<key>; this checkout's current build when none is given)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { assign, createActor, emit, setup } from 'xstate';

const events = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 5);
const fields = Number(process.argv[4] ?? 12);
let builds = process.argv.slice(5);
if (builds.length === 0) {
  const { ensureBuilt } = await import(pathToFileURL(resolve('bin', 'build.mjs')).href);
  builds = [await ensureBuilt()];
}

/**
 * A context of `fields` fields, `n` among them, shaped as a machine's literal is: JSON.parse gives
 * a fast object (properties added one by one by name would leave a large one a dictionary).
 */
const contextTemplate = JSON.parse(
  JSON.stringify(
    Object.fromEntries(Array.from({ length: fields }, (_, i) => [i === 0 ? 'n' : `f${i}`, i % 3 === 1 ? `v${i}` : i])),
  ),
);
const initialContext = () => ({ ...contextTemplate });

const guardAssign = setup({
  guards: { positive: ({ event }) => event.k > 0 },
  actions: { add: assign(({ context, event }) => ({ n: context.n + event.k })) },
}).createMachine({
  id: 'floor',
  context: initialContext,
  initial: 'a',
  states: { a: { on: { ping: { guard: 'positive', actions: 'add' } } } },
});

const link = setup({
  guards: { positive: ({ event }) => event.k > 0 },
  actions: {
    add: assign(({ context, event }) => ({ n: context.n + event.k })),
    tell: emit(({ context }) => ({ type: 'output', output: { kind: 'note', n: context.n } })),
  },
  delays: { idle: 1000 },
}).createMachine({
  id: 'link',
  context: initialContext,
  initial: 'open',
  states: {
    open: {
      after: { idle: 'closed' },
      on: { ping: { guard: 'positive', target: 'open', reenter: true, actions: ['add', 'tell'] } },
    },
    closed: {},
  },
});

/** A clock that hands out handles and forgets them (nothing fires). */
const clock = { setTimeout: () => 0, clearTimeout: () => undefined };
const pings = [
  { type: 'ping', k: 1 },
  { type: 'ping', k: 2 },
];

function cpuNsPerEvent(run) {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const before = process.cpuUsage();
    run(events);
    const used = process.cpuUsage(before);
    best = Math.min(best, ((used.user + used.system) * 1000) / events);
  }
  return best;
}

const rows = [];
const measure = (name, run) => {
  run(Math.min(events, 100_000));
  rows.push([name, cpuNsPerEvent(run)]);
};

// Hand-written loops: the same work in plain JavaScript.
let sink = 0;
measure('hand, mutating the context', (n) => {
  const context = initialContext();
  for (let i = 0; i < n; i++) {
    const event = pings[i & 1];
    if (event.k > 0) context.n += event.k;
  }
  sink += context.n;
});
measure("hand, xstate's calls (argument objects, a new context per assign)", (n) => {
  const positive = ({ event }) => event.k > 0;
  const add = ({ context, event }) => ({ n: context.n + event.k });
  let context = initialContext();
  for (let i = 0; i < n; i++) {
    const event = pings[i & 1];
    if (positive({ context, event })) context = Object.assign({}, context, add({ context, event }));
  }
  sink += context.n;
});
measure('hand, link: new context, an output, a timer cancelled and set', (n) => {
  const positive = ({ event }) => event.k > 0;
  const add = ({ context, event }) => ({ n: context.n + event.k });
  const tell = ({ context }) => ({ type: 'output', output: { kind: 'note', n: context.n } });
  const outputs = [];
  let context = initialContext();
  let timer = clock.setTimeout(() => undefined, 1000);
  for (let i = 0; i < n; i++) {
    const event = pings[i & 1];
    if (!positive({ context, event })) continue;
    clock.clearTimeout(timer);
    context = Object.assign({}, context, add({ context, event }));
    outputs.push(tell({ context, event }));
    timer = clock.setTimeout(() => undefined, 1000);
    if (outputs.length > 64) outputs.length = 0;
  }
  sink += context.n + outputs.length;
});

for (const build of builds) {
  // The yardstick the end-to-end goal is stated against: one event of the simulator's own loop.
  const { simulatorLoop } = await import(pathToFileURL(resolve(build, 'bench', 'run.js')).href);
  measure(`simulator loop, one event (the ceiling's unit)${builds.length > 1 ? ` (${build})` : ''}`, (n) => {
    sink += simulatorLoop(n);
  });
  const { createCompiledActor } = await import(pathToFileURL(resolve(build, 'engine', 'compiled-actor.js')).href);
  const label = builds.length > 1 ? ` (${build})` : '';
  for (const [name, machine] of [
    ['guard+assign', guardAssign],
    ['link', link],
  ]) {
    measure(`compiled engine, ${name}${label}`, (n) => {
      const actor = createCompiledActor(machine, { clock });
      actor.on('output', () => undefined);
      actor.start();
      for (let i = 0; i < n; i++) actor.send(pings[i & 1]);
      sink += actor.getSnapshot().context.n;
    });
  }
  // What a connection's actor costs to start: created, a listener and an observer, started, one event, stopped.
  measure(`compiled engine, an actor started, one event, stopped${label}`, (n) => {
    for (let i = 0; i < n / 10; i++) {
      const actor = createCompiledActor(link, { clock });
      actor.subscribe({ next: (snapshot) => void (sink += snapshot.value === 'open' ? 0 : 1) });
      actor.on('output', () => undefined);
      actor.start();
      actor.send(pings[i & 1]);
      actor.stop();
    }
  });
  rows[rows.length - 1][1] *= 10;
}
for (const [name, machine] of [
  ['guard+assign', guardAssign],
  ['link', link],
]) {
  measure(`xstate's interpreter, ${name}`, (n) => {
    const actor = createActor(machine, { clock });
    actor.on('output', () => undefined);
    actor.start();
    for (let i = 0; i < n / 10; i++) actor.send(pings[i & 1]);
    sink += actor.getSnapshot().context.n;
  });
  // xstate runs a tenth of the events: scale its figure back to per event.
  rows[rows.length - 1][1] *= 10;
}

console.log(
  `${fields} context fields, best of ${rounds} rounds of ${events} events, CPU ns per event (load ${loadavg()[0].toFixed(1)}):`,
);
for (const [name, ns] of rows) console.log(`  ${ns.toFixed(0).padStart(7)}  ${name}`);
if (sink === 0.5) console.log(sink);
