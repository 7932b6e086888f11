// The anatomy of a fuzz case, per protocol, averaged over the steady state's cases (seeds 21
// onwards, after 20 of warm-up, as scripts/fuzz-cpu.mjs): simulator events, trace events by kind,
// machine steps (events sent to actors and timers fired, read through the engine's tap), state
// changes, virtual time, the idle tail after the last owed delivery and the last step, and where
// the CPU goes (generation, the plan's scenario, the loader, the run, coverage). On the compiled
// build of the working directory, or on FEDSIM_DIST.
//
// The idle tail's CPU is measured, not estimated: each case's scenario runs once more, stopped at
// the instant its last owed message was delivered and its last step was taken, and that run's CPU
// is taken from the whole run's. (A scenario's deadline checks at that instant still run.) The CPU
// split comes from process.cpuUsage around each part, which counts the collector's threads too, so
// a small part (coverage) may carry a collection that the run began: read it beside a profile.
//
// Usage: node scripts/fuzz-anatomy.mjs [protocols, comma-separated] [cases]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { ensureBuilt } = await import(pathToFileURL(join(process.cwd(), 'bin', 'build.mjs')).href);
const dir = process.env.FEDSIM_DIST ?? (await ensureBuilt());
const load = async (path) => import(pathToFileURL(join(dir, path)).href);
const { fuzzProfileNamed } = await load('fuzz/profiles/index.js');
const { judgePlan, counterexampleStem, drawnCase, runOne } = await load('fuzz/run-one.js');
const { runCoverage, withMachineDefinitions } = await load('fuzz/coverage.js');
const { plannedScenario } = await load('scenario/load.js');
const { runScenario } = await load('scenario/run.js');
const { compiledEngine, withTap } = await load('engine/engine.js');

const protocols = (process.argv[2] ?? 'f140,solec,bester,fmtp,ambrosia').split(',');
const cases = Number(process.argv[3] ?? 200);
const cpuMs = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

for (const protocol of protocols) {
  const profile = fuzzProfileNamed(protocol);
  for (let seed = 1; seed <= 20; seed++) runOne(profile, seed);
  const sum = new Map();
  const add = (key, value) => sum.set(key, (sum.get(key) ?? 0) + value);
  const kinds = new Map();
  for (let seed = 21; seed < 21 + cases; seed++) {
    const started = cpuMs();
    let judged;
    let drawnMs = 0;
    let steps = 0;
    let actors = 0;
    drawnCase(profile, seed, (plan, simSeed) => {
      drawnMs = cpuMs();
      const stem = counterexampleStem(protocol, seed);
      const recordings = [];
      // The coverage's watch, and this script's tap beside it (withTap keeps the watch; a second
      // run of the plan counts too).
      const { value, machines } = withMachineDefinitions(compiledEngine, (engine) =>
        judgePlan(
          plan,
          simSeed,
          stem,
          undefined,
          withTap(engine, (recording) => {
            actors += 1;
            recordings.push(recording);
          }),
        ),
      );
      const judgedMs = cpuMs();
      runCoverage(value.report.trace.events, machines, profile.sometimes ?? []);
      add('coverage', cpuMs() - judgedMs);
      add('judge', judgedMs - drawnMs);
      for (const recording of recordings) steps += recording.steps.length;
      // judgePlan ran the plan a second time when its verdict is not the first scenario's.
      const first = plan.scenario(simSeed, `fuzz/${stem}`, []);
      add('secondRuns', JSON.stringify(value.source) === JSON.stringify(first) ? 0 : 1);
      judged = { ...value, plan, simSeed, stem };
    });
    add('generate', drawnMs - started);
    const { report, source } = judged;
    const events = report.trace.events;
    add('cases', 1);
    add('simEvents', report.outcome.events);
    add('traceEvents', events.length);
    add('machineSteps', steps);
    add('actors', actors);
    add('virtualMs', report.outcome.atMs);
    for (const event of events) kinds.set(event.kind, (kinds.get(event.kind) ?? 0) + 1);
    // The instant the world owes nothing more: every owed body delivered, every step taken.
    let quietMs = source.steps.reduce((last, step) => Math.max(last, step.atMs), 0);
    const owed = new Map();
    for (const expectation of source.expect)
      if ('delivered' in expectation)
        for (const body of expectation.delivered.bodies) owed.set(`${expectation.delivered.to} ${body}`, true);
    for (const event of events) {
      if (event.kind !== 'deliver') continue;
      const key = `${event.user} ${event.body}`;
      if (owed.get(key) === true) {
        owed.set(key, false);
        quietMs = Math.max(quietMs, event.atMs);
      }
    }
    const tail = events.filter((event) => event.atMs > quietMs);
    add('tailEvents', tail.length);
    add('tailMs', report.outcome.atMs - quietMs);
    add('tailTimers', tail.filter((event) => event.kind === 'timer').length);
    // The run's CPU whole and stopped at the quiet instant (the same scenario, again, warm).
    const file = `reports/counterexamples/${judged.stem}.yaml`;
    const t0 = cpuMs();
    const whole = plannedScenario(source, file);
    const t1 = cpuMs();
    runScenario(whole, { recorder: { deferLines: true } });
    const t2 = cpuMs();
    const cut = plannedScenario({ ...source, limits: { ...source.limits, timeMsMax: quietMs } }, file);
    const t3 = cpuMs();
    runScenario(cut, { recorder: { deferLines: true } });
    const t4 = cpuMs();
    add('loader', t1 - t0);
    add('run', t2 - t1);
    add('runToQuiet', t4 - t3);
  }
  const n = sum.get('cases');
  const per = (key) => (sum.get(key) ?? 0) / n;
  const total = per('generate') + per('judge') + per('coverage');
  const pct = (ms) => `${((100 * ms) / total).toFixed(0)}%`;
  console.log(`## ${protocol} (${n} cases, seeds 21-${20 + n})`);
  console.log(
    `events per case: simulator ${per('simEvents').toFixed(0)}, trace ${per('traceEvents').toFixed(0)}; ` +
      `actors ${per('actors').toFixed(1)}, machine steps (sends + timers fired) ${per('machineSteps').toFixed(0)}`,
  );
  console.log(
    `trace events by kind: ${[...kinds]
      .sort((a, b) => b[1] - a[1])
      .map(([kind, count]) => `${kind} ${(count / n).toFixed(1)}`)
      .join(', ')}`,
  );
  console.log(
    `virtual time ${(per('virtualMs') / 1000).toFixed(1)} s; after the last owed delivery and last step: ` +
      `${(per('tailMs') / 1000).toFixed(1)} s, ${per('tailEvents').toFixed(1)} trace events ` +
      `(${per('tailTimers').toFixed(1)} timers), run CPU ${per('run').toFixed(2)} ms of which to that instant ` +
      `${per('runToQuiet').toFixed(2)} ms`,
  );
  console.log(
    `CPU per case ${total.toFixed(2)} ms: generation ${per('generate').toFixed(2)} (${pct(per('generate'))}), ` +
      `judgePlan ${per('judge').toFixed(2)} (${pct(per('judge'))}; of it, alone: loader ${per('loader').toFixed(2)}, ` +
      `run ${per('run').toFixed(2)}), coverage ${per('coverage').toFixed(2)} (${pct(per('coverage'))}); ` +
      `cases run twice (a corruption acted or a send was refused) ${(100 * per('secondRuns')).toFixed(0)}%`,
  );
}
