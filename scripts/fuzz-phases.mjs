// Where a steady-state fuzz case's CPU goes, by phase: the run's event loop, the nodes' starts,
// and everything a case pays before its first simulated event and after its last one (fast-check's
// draw, the plan, its scenario source, the scenario made from it, the world and its checks built,
// the judgement's readings of the run, a second run's checks, coverage), and the collector. On the
// compiled build of the working directory, or on FEDSIM_DIST.
//
// Each protocol runs 300 cases of warm-up (seeds 1 to 300: the optimising compiler takes over
// for hundreds of cases, docs/performance.md), then `cases` more under node:inspector's sampling
// profiler (200 µs). A sample counts for the innermost phase on its stack (a function named in
// `phases` below; `runScenario` less what it calls that has a phase of its own, and so on), or
// for `GC`. Shares of the samples, so free of how busy the machine is (a sample's time is not: it
// includes the time the process waited); `--save DIR` keeps each .cpuprofile.
//
// Usage: node scripts/fuzz-phases.mjs [protocols, comma-separated] [cases] [--save DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const saveAt = args.indexOf('--save');
const saveDir = saveAt >= 0 ? args.splice(saveAt, 2)[1] : undefined;
const protocols = (args[0] ?? 'fmtp,f140,solec,bester,ambrosia').split(',');
const cases = Number(args[1] ?? 400);

const { ensureBuilt } = await import(pathToFileURL(join(process.cwd(), 'bin', 'build.mjs')).href);
const dir = process.env.FEDSIM_DIST ?? (await ensureBuilt());
const load = async (path) => import(pathToFileURL(join(dir, path)).href);
const { fuzzProfileNamed } = await load('fuzz/profiles/index.js');
const { runOne } = await load('fuzz/run-one.js');

/** Phase name, then the function (`name@file part` to tell apart functions of one name). */
const phases = [
  ['run loop', 'runUntilQuiet'],
  ['node starts', 'startAll'],
  ['world shutdown', 'shutdown@sim/world'],
  ['end-of-run checks', 'closeChecks'],
  ['safety checks built', 'safetyChecks'],
  ['safety checks watched', 'watchSafety'],
  ['nodes added (DNS records, keys)', 'addNode'],
  ['runScenario, the rest (recorder, world, steps scheduled)', 'runScenario'],
  ['plannedScenario (configs and payloads through the schemas)', 'plannedScenario'],
  ['parseScenarioSource (the loader in full)', 'parseScenarioSource'],
  ['plan.scenario (the source and its expectations)', 'scenario@fuzz/plan'],
  ['planOf (commands applied to the plan)', 'planOf'],
  ['caseArbitraries', 'caseArbitraries'],
  ['secondPasses (a second run told from the first)', 'secondPasses'],
  ['coverage', 'runCoverage'],
  ['coverage: generators', 'generatorsRan'],
  ['judgement, the rest (damage and refusal readings)', 'firstJudgement'],
  ['fast-check, the rest (drawing the case)', 'runOne'],
];

function matches(frame, spec) {
  const [name, file] = spec.split('@');
  return frame.functionName === name && (file === undefined || frame.url.includes(file));
}

/** Samples per phase of a profile (samples outside `runOne` and the collector are left out). */
function phaseSamples(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const counts = new Map();
  const phaseOf = new Map();
  const phase = (id) => {
    if (phaseOf.has(id)) return phaseOf.get(id);
    const frame = byId.get(id).callFrame;
    let found;
    if (frame.functionName === '(garbage collector)') found = 'GC';
    else {
      found = phases.find(([, spec]) => matches(frame, spec))?.[0];
      if (found === undefined && parent.has(id)) found = phase(parent.get(id));
    }
    phaseOf.set(id, found);
    return found;
  };
  for (const id of profile.samples) {
    const name = phase(id);
    if (name !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
for (const protocol of protocols) {
  const profile = fuzzProfileNamed(protocol);
  for (let seed = 1; seed <= 300; seed++) runOne(profile, seed);
  await session.post('Profiler.start');
  const before = process.cpuUsage();
  for (let seed = 301; seed < 301 + cases; seed++) runOne(profile, seed);
  const used = process.cpuUsage(before);
  const { profile: taken } = await session.post('Profiler.stop');
  if (saveDir !== undefined) {
    mkdirSync(saveDir, { recursive: true });
    writeFileSync(join(saveDir, `${protocol}.cpuprofile`), JSON.stringify(taken));
  }
  const counts = phaseSamples(taken);
  const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
  const ms = (used.user + used.system) / 1000 / cases;
  console.log(
    `## ${protocol}: ${cases} cases from seed 301, ${ms.toFixed(2)} ms of CPU a case (profiled), ${total} samples`,
  );
  for (const [name, count] of [...counts].sort((a, b) => b[1] - a[1]))
    console.log(`  ${((100 * count) / total).toFixed(1).padStart(5)}%  ${name}`);
}
session.disconnect();
