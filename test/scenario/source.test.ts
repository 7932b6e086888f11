// Goal: a scenario source fedsim builds as an object (a fuzz plan) parses to exactly what its JSON
// text parses to through the YAML loader, and a bad one fails with the same located errors. A
// plan's source made a scenario unchecked (`plannedScenario`, what fuzz runs use) is that same
// scenario, and one it cannot read falls back to the full parse and its errors.
// Method: fuzz plans of every protocol, and a source whose strings are arbitrary (lone surrogates,
// control characters, quotes, YAML indicators), each parsed both ways and compared.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzProfiles } from '../../src/fuzz/profiles/index.js';
import { planCommands } from '../../src/fuzz/commands/index.js';
import { Plan } from '../../src/fuzz/plan.js';
import { parseScenario, parseScenarioSource, plannedScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import type { ScenarioFile } from '../../src/scenario/schema.js';

/** `check` on the source of fuzz plans of every protocol, drawn by fast-check (`options` per protocol). */
function forEachPlanSource(options: { seed: number; numRuns: number }, check: (source: ScenarioFile) => void): void {
  for (const [protocol, profile] of fuzzProfiles) {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        profile.topology,
        planCommands({}),
        (seed, topology, commands) => {
          const plan = new Plan(profile, topology);
          fc.modelRun(() => ({ model: plan, real: plan }), commands);
          check(plan.scenario(seed, `fuzz/${protocol}`, [], undefined));
        },
      ),
      options,
    );
  }
}

/** Either the scenario or the error message, from each parse. */
function both(source: ScenarioFile): { fast: unknown; text: unknown } {
  const attempt = (parse: () => unknown): unknown => {
    try {
      return parse();
    } catch (error) {
      return { error: String(error) };
    }
  };
  return {
    fast: attempt(() => parseScenarioSource(source, 'gen.yaml')),
    text: attempt(() => parseScenario(JSON.stringify(source), 'gen.yaml')),
  };
}

function echoSource(body: string, node: string, extra: Record<string, unknown> = {}): ScenarioFile {
  return {
    name: 'gen',
    protocol: 'echo',
    seed: 1,
    nodes: { 'a.test': {}, [node]: {} },
    steps: [{ atMs: 0, do: 'command', node: 'a.test', command: { type: 'send', to: node, body } }],
    expect: [{ always: 'noDuplicateDelivery' }],
    ...extra,
  } as unknown as ScenarioFile;
}

describe('scenario: sources built as objects', () => {
  it('fuzz plans of every protocol parse as their JSON text does (10 seeds each)', () => {
    forEachPlanSource({ seed: 26, numRuns: 10 }, (source) => {
      const { fast, text } = both(source);
      expect(fast).not.toHaveProperty('error');
      expect(fast).toEqual(text);
    });
  });

  it('fuzz plans of every protocol, made scenarios unchecked, are the scenarios a full parse gives (20 seeds each)', () => {
    forEachPlanSource({ seed: 2026, numRuns: 20 }, (source) => {
      const planned = plannedScenario(source, 'gen.yaml');
      expect(planned).toEqual(parseScenarioSource(source, 'gen.yaml'));
      // Node configs and command payloads are copies: a node never holds the plan's objects.
      const configs = Object.values(source.nodes).map((node) => node.config);
      for (const node of planned.nodes) if (node.config !== undefined) expect(configs).not.toContain(node.config);
    });
  });

  it('a run of a plan made a scenario unchecked writes nothing into the plan (its source deep-frozen; 3 seeds each)', () => {
    const frozen = <T>(value: T): T => {
      if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
        for (const item of Object.values(value)) frozen(item);
        Object.freeze(value);
      }
      return value;
    };
    forEachPlanSource({ seed: 26, numRuns: 3 }, (source) => {
      const copy = structuredClone(source);
      // A write into a frozen object throws (modules are strict): out of the run, or recorded
      // as a node's throw, which the trace of the same plan unfrozen does not have.
      const report = runScenario(plannedScenario(frozen(source), 'gen.yaml'));
      expect(report.trace.text()).toBe(runScenario(plannedScenario(copy, 'gen.yaml')).trace.text());
      expect(source).toEqual(copy);
    });
  });

  it('a source made a scenario unchecked, with a node config or command its protocol refuses, fails as a full parse does', () => {
    const badConfig = { ...echoSource('x', 'b.test'), nodes: { 'a.test': { config: { nope: 1 } }, 'b.test': {} } };
    const badCommand = echoSource('x', 'b.test');
    (badCommand.steps as unknown[])[0] = { atMs: 0, do: 'command', node: 'a.test', command: { type: 'fly' } };
    for (const source of [badConfig as ScenarioFile, badCommand]) {
      const error = (parse: () => unknown) => {
        try {
          parse();
        } catch (thrown) {
          return String(thrown);
        }
        return 'no error';
      };
      const expected = error(() => parseScenarioSource(source, 'gen.yaml'));
      expect(expected).toMatch(/gen\.yaml:\d+:\d+/);
      expect(error(() => plannedScenario(source, 'gen.yaml'))).toBe(expected);
    }
  });

  it('arbitrary strings in bodies and node names parse as their JSON text does (200 seeds)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', maxLength: 12 }), (body, node) => {
        const { fast, text } = both(echoSource(body, node));
        expect(fast).toEqual(text);
      }),
      { seed: 26, numRuns: 200 },
    );
  });

  it('a bad source fails with the located errors of its text', () => {
    const bad = echoSource('x', 'b.test', { limits: { timeMsMax: -1 }, surplus: true });
    const { fast, text } = both(bad);
    expect(fast).toHaveProperty('error');
    expect(String((fast as { error: string }).error)).toMatch(/gen\.yaml:\d+:\d+/);
    expect(fast).toEqual(text);
  });

  it('a source nested past the YAML depth limit fails as its text does', () => {
    let deep: unknown = 'x';
    for (let k = 0; k < 70; k++) deep = [deep];
    const { fast, text } = both(echoSource('x', 'b.test', { extra: deep }));
    expect(fast).toHaveProperty('error');
    expect(fast).toEqual(text);
  });
});
