// What the compiled engine does per delivered message, per protocol: events received (sends and
// timer fires), macrosteps, microsteps, actions and guards called, assigns and their context
// sizes, effects applied, snapshots asked for, actors started. The engine's methods are wrapped
// for counting (so nothing here is a timing); each protocol's end-to-end workload
// (`protocolThroughput`, the bench's) runs with N and with 2N messages, and the difference is
// divided by the difference of the messages delivered: set-up and the empty world's run drop out.
//
// Usage: node scripts/engine-census.mjs <build> [protocols, comma-separated] [N]
// A build is a directory bin/build.mjs made (dist/<key>), inside a checkout so that it finds
// node_modules.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: node scripts/engine-census.mjs <build> [protocols] [messages]');
  process.exit(2);
}
const protocols = (process.argv[3] ?? 'fmtp,f140,solec,bester,ambrosia').split(',');
const messages = Number(process.argv[4] ?? 300);
const url = (path) => pathToFileURL(resolve(dir, path)).href;
const { CompiledActor } = await import(url('engine/compiled-actor.js'));
const { protocolThroughput } = await import(url('bench/protocols.js'));

const counts = {};
const count = (key, by = 1) => void (counts[key] = (counts[key] ?? 0) + by);
const proto = CompiledActor.prototype;
const wrap = (name, before) => {
  const original = proto[name];
  if (typeof original !== 'function') throw new Error(`CompiledActor has no method ${name}`);
  proto[name] = function (...args) {
    before.apply(this, args);
    return original.apply(this, args);
  };
};
wrap('receive', (event) => count(event.type.startsWith('xstate.') ? 'events (xstate.*)' : 'events received'));
wrap('start', () => count('actors started'));
wrap('macrostep', () => count('macrosteps'));
wrap('microstep', function (plan, actions) {
  count('microsteps');
  if (plan.leaf !== this.leaf) count('microsteps changing state');
  let ops = actions.length;
  for (const node of plan.exit) ops += node.exit.length;
  for (const { node, defaultEntry } of plan.enter)
    ops += node.entry.length + (defaultEntry ? node.initialActions.length : 0);
  count('actions called', ops);
});
// Guards are counted by evaluating them again in the same order (fedsim's guards are pure).
const guardsUntilTaken = (list, context, event) => {
  for (const t of list) {
    if (t.guard === undefined) return;
    count('guards called');
    if (t.guard(context, event)) return;
  }
};
wrap('select', function (event) {
  guardsUntilTaken(this.leaf.candidatesFor(event.type), this.context, event);
});
wrap('selectEventless', function (event) {
  guardsUntilTaken(this.leaf.eventless, this.context, event);
});
// The context factory's result is copied by an assign too: one per actor started is among them.
wrap('assign', function (partial) {
  count('assigns');
  count('context fields copied', Object.keys(this.context ?? {}).length);
  count('assign partial fields', Object.keys(partial).length);
});
wrap('apply', (effect) => count(`effects: ${effect.kind}`));
wrap('getSnapshot', () => count('getSnapshot calls'));

function census(protocol, n) {
  for (const key of Object.keys(counts)) delete counts[key];
  const result = protocolThroughput(protocol, n);
  return { delivered: result.delivered, simulatorEvents: result.simulatorEvents, counts: { ...counts } };
}

for (const protocol of protocols) {
  census(protocol, 20);
  const small = census(protocol, messages);
  const large = census(protocol, 2 * messages);
  const delivered = large.delivered - small.delivered;
  const keys = [...new Set([...Object.keys(small.counts), ...Object.keys(large.counts)])].sort();
  const per = (key) => ((large.counts[key] ?? 0) - (small.counts[key] ?? 0)) / delivered;
  console.log(`${protocol}: ${delivered} messages delivered in the difference; per message:`);
  for (const key of keys) console.log(`  ${key.padEnd(28)} ${per(key).toFixed(2)}`);
  const events = per('events received');
  const fields = per('context fields copied');
  console.log(
    `  (context fields per assign ${(fields / per('assigns')).toFixed(1)}; ` +
      `actions per event ${(per('actions called') / events).toFixed(2)}; ` +
      `simulator events per message ${((large.simulatorEvents - small.simulatorEvents) / delivered).toFixed(2)})`,
  );
}
