// The host's CPU per external-process node step, two compiled builds side by side in one process
// (A/B), with no children in the way: the bench's JavaScript F140 run (src/bench/process-nodes.ts)
// is run once for real with build A, each child's lines recorded, and then again and again with
// build A and build B in turn, each channel handing back its child's recorded lines (no pipe, no
// wake-up, no child CPU). Every node is deterministic, so each replay asks the same questions, and
// every input line the host writes is compared with the recorded one (a difference is printed: the
// builds must write the same lines). Prints each build's steady host µs a step per round, their
// best and median, and the median and geometric mean of the per-round ratios B/A.
//
// What it leaves out is the pipe exchange (src/process/channel.ts) and what a wake-up costs: the
// real bench (`node bin/fedsim.mjs bench --only process`) measures those.
//
// Usage: node scripts/process-host-ab.mjs <build A> <build B> [messages] [rounds]
// A build is a directory bin/build.mjs made (dist/<key>), inside a checkout so that it finds
// node_modules; copy an old build under the checkout to keep it. Run it from the checkout's root.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dirA, dirB] = [process.argv[2], process.argv[3]];
if (dirA === undefined || dirB === undefined) {
  console.error('usage: node scripts/process-host-ab.mjs <build A> <build B> [messages] [rounds]');
  process.exit(2);
}
const messages = Number(process.argv[4] ?? 1500);
const rounds = Number(process.argv[5] ?? 16);

async function load(dir) {
  const url = (file) => pathToFileURL(resolve(dir, file)).href;
  return {
    name: dir,
    bench: await import(url('bench/process-nodes.js')),
    channel: (await import(url('process/channel.js'))).ProcessChannel.prototype,
  };
}
const builds = [await load(dirA), await load(dirB)];

// Channels are told apart by the order they first speak in (the same in every run).
let ids = new WeakMap();
let nextId = 0;
const idOf = (channel) => {
  let id = ids.get(channel);
  if (id === undefined) ids.set(channel, (id = nextId++));
  return id;
};
const read = [];
const written = [];
const { readLine, write } = builds[0].channel;
builds[0].channel.readLine = function () {
  const line = readLine.call(this);
  (read[idOf(this)] ??= []).push(line);
  return line;
};
builds[0].channel.write = function (line) {
  (written[idOf(this)] ??= []).push(line);
  return write.call(this, line);
};
builds[0].bench.processNodeSteps('javascript', messages);

let readAt = [];
let writtenAt = [];
let differences = 0;
for (const { channel } of builds) {
  channel.readLine = function () {
    const id = idOf(this);
    const line = read[id]?.[readAt[id]++];
    if (line === undefined) throw new Error('the replay ran out of recorded lines (a build asked something else)');
    return line;
  };
  channel.write = function (line) {
    const id = idOf(this);
    const recorded = written[id]?.[writtenAt[id]++];
    if (recorded !== line && differences++ < 3) console.log(`input line differs:\n  ${recorded}\n  ${line}`);
    return true;
  };
  channel.arm = () => undefined;
  channel.disarm = () => undefined;
}

const perStep = [[], []];
for (let round = 0; round < rounds; round++) {
  for (const k of round % 2 === 0 ? [0, 1] : [1, 0]) {
    ids = new WeakMap();
    nextId = 0;
    readAt = read.map(() => 0);
    writtenAt = written.map(() => 0);
    const run = builds[k].bench.processNodeSteps('javascript', messages);
    perStep[k].push((run.steadyHostCpuSeconds * 1e6) / run.steadySteps);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const k of [0, 1]) {
  const all = perStep[k].map((value) => value.toFixed(1)).join(' ');
  console.log(
    `${'AB'[k]} ${builds[k].name}: ${all} | best ${Math.min(...perStep[k]).toFixed(1)} median ${median(perStep[k]).toFixed(1)} µs/step`,
  );
}
const ratios = perStep[1].map((b, i) => b / perStep[0][i]);
const geomean = Math.exp(ratios.reduce((sum, ratio) => sum + Math.log(ratio), 0) / ratios.length);
console.log(
  `B/A per round: median ${median(ratios).toFixed(3)}, geometric mean ${geomean.toFixed(3)}; input lines that differ: ${differences}`,
);
