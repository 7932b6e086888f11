// Goal: a campaign's coverage lists the states and transitions of each statechart its runs reached
// and those they never did, transient states (left by `always` only) folded into the transitions
// they lead on to; `sometimes` assertions count the runs that reached them.
// The definitions come from a watch on the run's own engine, whichever engine it is, and only that run's.
// Method: a small xstate machine's definition; synthetic traces of state and note events; a bundled
// scenario run on each engine through withMachineDefinitions, and once on an unwatched engine.
import { setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { compiledEngine, engineKinds, engineOf } from '../../src/engine/engine.js';
import { machineDefinition, mergeCoverage, runCoverage, withMachineDefinitions } from '../../src/fuzz/coverage.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import type { TraceEvent } from '../../src/trace/events.js';

const machine = setup({ guards: { again: () => true } }).createMachine({
  id: 'toy',
  initial: 'idle',
  states: {
    idle: { on: { go: 'busy.sending' } },
    busy: {
      initial: 'sending',
      on: { lost: 'retrying' },
      states: { sending: { on: { ok: 'waiting' } }, waiting: {} },
    },
    retrying: { always: [{ guard: 'again', target: 'backingOff' }, { target: 'failed' }] },
    backingOff: { after: { 100: 'idle' } },
    failed: { type: 'final' },
  },
});

function state(seq: number, node: string, value: string): TraceEvent {
  return { seq, atMs: seq, node, lamport: seq, kind: 'state', machine: 'toy conn:1', value } as TraceEvent;
}

describe('fuzz: statechart coverage', () => {
  it('folds a transient state into the transitions it leads to', () => {
    const definition = machineDefinition(machine);
    expect(definition.states).toEqual(['idle', 'busy', 'busy.sending', 'busy.waiting', 'backingOff', 'failed']);
    expect(definition.transitions).toEqual([
      'backingOff>idle',
      'busy.sending>busy.waiting',
      'busy>backingOff',
      'busy>failed',
      'idle>busy.sending',
    ]);
  });

  it('reports reached and never-reached states, transitions and sometimes assertions', () => {
    const machines = { toy: machineDefinition(machine) };
    const sometimes = [
      { name: 'backoff', state: 'toy backingOff' },
      { name: 'gave up', state: 'toy failed' },
      { name: 'noted', note: 'toy.noted' },
    ];
    const run = runCoverage(
      [
        state(1, 'n1', 'idle'),
        state(2, 'n1', 'busy.sending'),
        state(3, 'n1', 'backingOff'),
        { seq: 4, atMs: 4, node: 'n1', lamport: 4, kind: 'note', what: 'toy.noted' } as TraceEvent,
        state(5, 'n2', 'idle'),
      ],
      machines,
      sometimes,
    );
    expect(run.sometimes).toEqual(['backoff', 'noted']);
    const coverage = mergeCoverage([run, run], sometimes);
    const toy = coverage.machines[0]!;
    expect(toy.states.never).toEqual(['busy.waiting', 'failed']);
    expect(toy.transitions.reached).toEqual(['busy>backingOff', 'idle>busy.sending']);
    expect(toy.transitions.never).toEqual(['backingOff>idle', 'busy.sending>busy.waiting', 'busy>failed']);
    expect(coverage.sometimes).toEqual([
      { name: 'backoff', runs: 2 },
      { name: 'gave up', runs: 0 },
      { name: 'noted', runs: 2 },
    ]);
  });

  it.each(engineKinds)('reads the machines a run started through a watch on its %s engine', (kind) => {
    const scenario = loadScenario('scenarios/solec/client-login.yaml');
    const { value, machines } = withMachineDefinitions(engineOf(kind), (tapped) => {
      expect(tapped.kind).toBe(kind);
      return runScenario(scenario, { engine: tapped });
    });
    expect(value.verdict).toBe('pass');
    const kinds = Object.keys(machines).sort();
    expect(kinds.length).toBeGreaterThan(0);
    // Every kind the trace names a state for was started on the watched engine, with its definition.
    const traced = new Set(
      value.trace.events.flatMap((event) => (event.kind === 'state' ? [event.machine.split(' ')[0]!] : [])),
    );
    expect([...traced].sort()).toEqual(kinds);
    for (const definition of Object.values(machines)) expect(definition.states.length).toBeGreaterThan(0);
    // A run on an engine without the watch is not seen.
    const { machines: none } = withMachineDefinitions(compiledEngine, () => runScenario(scenario));
    expect(none).toEqual({});
  });
});
