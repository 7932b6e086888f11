// Goal: the engine whoever builds a world chooses is the engine its actors run on, through every
// way of choosing one: the scenario runner's option, `fedsim run|fuzz|conform --engine`, the real
// host's option, and a tap that sees every actor. Traces cannot tell (the engines give the same
// ones), so a run that ignored the choice would pass every other test.
// Method: xstate's `createActor` wrapped in a counting spy (the compiled engine never calls it);
// a run on `xstate` must create exactly one xstate actor per actor the tap recorded, a run on
// `compiled` none. The CLI runs in process (buildProgram), so the spy sees its actors; fuzz with
// one worker runs inline.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { buildProgram } from '../../src/cli/main.js';
import { compiledEngine, withTap, withWatch, xstateEngine, type Engine } from '../../src/engine/engine.js';
import { echo } from '../../src/protocols/echo/index.js';
import { RealHost } from '../../src/real/host.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';

vi.mock('xstate', async (importOriginal) => {
  const actual = await importOriginal<typeof import('xstate')>();
  return { ...actual, createActor: vi.fn(actual.createActor) };
});

const created = vi.mocked(createActor);
const scratch = mkdtempSync(join(tmpdir(), 'fedsim-engine-choice-'));
const roundTrip = 'scenarios/echo/round-trip.yaml';

beforeEach(() => {
  created.mockClear();
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

async function fedsim(...args: string[]): Promise<number> {
  let code = -1;
  await buildProgram((c) => (code = c)).parseAsync(args, { from: 'user' });
  return code;
}

/** Runs the round-trip scenario on `engine` with a tap; returns the actors recorded and the verdict. */
function tapped(engine: Engine): { actors: number; verdict: string } {
  let actors = 0;
  const report = runScenario(loadScenario(roundTrip), { engine: withTap(engine, () => (actors += 1)) });
  return { actors, verdict: report.verdict };
}

describe('engine choice: the chosen engine runs the actors', () => {
  it('runScenario on xstate creates one xstate actor per actor started; on compiled, none', () => {
    const onXstate = tapped(xstateEngine);
    expect(onXstate.verdict).toBe('pass');
    expect(onXstate.actors).toBeGreaterThan(0);
    expect(created).toHaveBeenCalledTimes(onXstate.actors);
    created.mockClear();
    const onCompiled = tapped(compiledEngine);
    expect(onCompiled.actors).toBe(onXstate.actors);
    expect(created).not.toHaveBeenCalled();
  });

  it('a watch is told of the same actors as a tap, by machine and name, on either engine', () => {
    for (const engine of [compiledEngine, xstateEngine]) {
      const recorded: string[] = [];
      const watched: string[] = [];
      const both = withWatch(
        withTap(engine, (recording) => recorded.push(`${recording.machine.id} ${recording.name}`)),
        (machine, name) => watched.push(`${machine.id} ${name}`),
      );
      expect(runScenario(loadScenario(roundTrip), { engine: both }).verdict).toBe('pass');
      expect(watched.length, engine.kind).toBeGreaterThan(0);
      expect(watched, engine.kind).toEqual(recorded);
      // A watch adds no tap (which would record every send and timer), and a tap keeps the watch.
      expect(withWatch(engine, () => undefined).tap).toBeUndefined();
      expect(withTap(both, () => undefined).watch).toBe(both.watch);
    }
  });

  it('runScenario without an engine runs the compiled one', () => {
    expect(runScenario(loadScenario(roundTrip)).verdict).toBe('pass');
    expect(created).not.toHaveBeenCalled();
  });

  it('fedsim run --engine xstate runs every actor on xstate; --engine compiled on none', async () => {
    const { actors } = tapped(compiledEngine);
    expect(await fedsim('run', roundTrip, '--engine', 'xstate', '--no-traces')).toBe(0);
    expect(created).toHaveBeenCalledTimes(actors);
    created.mockClear();
    expect(await fedsim('run', roundTrip, '--engine', 'compiled', '--no-traces')).toBe(0);
    expect(created).not.toHaveBeenCalled();
  });

  it('fedsim fuzz --engine xstate runs the campaign on xstate', async () => {
    // SOLEC's run 1 starts actors (FMTP's first plan sends nothing, so starts none).
    const args = ['solec', '--runs', '1', '--workers', '1', '--no-progress'];
    const dirs = ['--out', join(scratch, 'out'), '--summary', join(scratch, 'summary')];
    expect(await fedsim('fuzz', ...args, ...dirs, '--engine', 'xstate')).toBe(0);
    expect(created).toHaveBeenCalled();
    created.mockClear();
    expect(await fedsim('fuzz', ...args, ...dirs)).toBe(0);
    expect(created).not.toHaveBeenCalled();
  });

  it('fedsim conform --engine xstate runs the node under test on xstate', async () => {
    const out = join(scratch, 'conformance');
    expect(await fedsim('conform', 'solec', '--out', out, '--engine', 'xstate')).toBe(0);
    expect(created).toHaveBeenCalled();
    created.mockClear();
    expect(await fedsim('conform', 'solec', '--out', out)).toBe(0);
    expect(created).not.toHaveBeenCalled();
  });

  it("the real host starts its node's actors on its engine", async () => {
    const config = { port: 7, idleMs: 5_000, retryMs: 50, attemptsMax: 3 };
    for (const [engine, calls] of [
      [xstateEngine, 1],
      [compiledEngine, 0],
    ] as const) {
      created.mockClear();
      let actors = 0;
      const host = new RealHost({
        id: 'a.test',
        protocol: echo,
        config,
        portMap: { 7: 0 },
        seed: 1,
        engine: withTap(engine, () => (actors += 1)),
      });
      await host.start();
      // A send starts a link actor (its connection attempt fails: no peer is mapped).
      host.command({ type: 'send', to: 'b.test', body: 'hi' });
      await host.close();
      expect(actors, engine.kind).toBeGreaterThan(0);
      expect(created, engine.kind).toHaveBeenCalledTimes(calls * actors);
    }
  });
});
