// Goal: every xstate internal the compiled engine reads (src/engine/xstate-internals.ts) is where
// and what the engine expects in the installed xstate, so that a new xstate version that moves one
// fails here, naming it, before anything subtler (a differential or trace difference) shows it.
// Method: small machines and built-ins made with xstate's public API, read through the adapter;
// one test per internal, titled by it, each comparing what the adapter returns with what the
// machine's definition says it must be. Moving to a new version: docs/engine.md.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  and,
  assign,
  cancel,
  emit,
  enqueueActions,
  fromPromise,
  log,
  not,
  or,
  raise,
  sendTo,
  setup,
  stateIn,
} from 'xstate';
import {
  builtinAction,
  builtinGuard,
  chartOf,
  contextOf,
  describeRef,
  implementationsOf,
  type ChartNode,
} from '../../src/engine/xstate-internals.js';

const named = () => undefined;
const yes = () => true;
const contextFactory = () => ({ n: 1 });
const probe = setup({
  actions: { named },
  guards: { yes },
  delays: { later: 500 },
  actors: { job: fromPromise(async () => 1) },
}).createMachine({
  id: 'probe',
  context: { n: 0 },
  initial: 'a',
  output: ({ context }) => context.n,
  states: {
    a: {
      entry: 'named',
      exit: ['named'],
      after: { 1000: 'b' },
      on: {
        go: { target: 'b', guard: 'yes', actions: 'named' },
        again: { target: 'a', reenter: true },
        'tick.*': {},
      },
      always: { guard: 'yes', target: 'c' },
    },
    b: { type: 'final', output: { done: true } },
    c: { initial: 'c1', states: { c1: {}, c2: {} } },
    d: { invoke: { src: 'job' } },
  },
});
const withFactory = setup({}).createMachine({ id: 'factory', context: contextFactory });

function child(node: ChartNode, key: string): ChartNode {
  const found = node.children.find((c) => c.key === key);
  if (found === undefined) throw new Error(`no child state '${key}' under ${node.id}`);
  return found;
}

// Built before the tests: a moved tree internal fails here, with an XstateInternalError naming it.
let root: ChartNode;
let a: ChartNode;
beforeAll(() => {
  root = chartOf(probe);
  a = child(root, 'a');
});
const afterKey = 'xstate.after.1000.probe.a';

/** Each internal the adapter reads, and a check that throws (with what it found) when it moved. */
const internals: readonly (readonly [string, () => void])[] = [
  [
    'machine.root: the resolved root StateNode',
    () =>
      expect({ id: root.id, type: root.type, parent: root.parent }).toEqual({
        id: 'probe',
        type: 'compound',
        parent: undefined,
      }),
  ],
  [
    'StateNode.states: child state nodes in definition order',
    () => expect(root.children.map((c) => c.key)).toEqual(['a', 'b', 'c', 'd']),
  ],
  [
    'StateNode.id / .key / .type',
    () =>
      expect([a.id, a.key, a.type, child(root, 'b').type, child(root, 'c').type]).toEqual([
        'probe.a',
        'a',
        'atomic',
        'final',
        'compound',
      ]),
  ],
  [
    'StateNode.order: document order, a parent before its children',
    () => {
      const c = child(root, 'c');
      expect([
        root.order,
        a.order,
        child(root, 'b').order,
        c.order,
        child(c, 'c1').order,
        child(c, 'c2').order,
        child(root, 'd').order,
      ]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    },
  ],
  [
    'StateNode.transitions: event descriptor to TransitionDefinition[]',
    () => {
      expect([...a.transitions.keys()].sort()).toEqual([afterKey, 'again', 'go', 'tick.*'].sort());
      const [go] = a.transitions.get('go') ?? [];
      expect(go?.source).toBe(a);
      expect(go?.target).toEqual([child(root, 'b')]);
    },
  ],
  [
    'TransitionDefinition.guard / .actions: the references as written',
    () => {
      const [go] = a.transitions.get('go') ?? [];
      expect({ guard: go?.guard, actions: go?.actions }).toEqual({ guard: 'yes', actions: ['named'] });
    },
  ],
  [
    'TransitionDefinition.reenter',
    () => {
      expect(a.transitions.get('again')?.[0]?.reenter).toBe(true);
      expect(a.transitions.get('go')?.[0]?.reenter).toBe(false);
    },
  ],
  [
    'TransitionDefinition.target: undefined for a targetless transition',
    () => expect(a.transitions.get('tick.*')?.[0]?.target).toBeUndefined(),
  ],
  [
    'StateNode.always: eventless TransitionDefinition[]',
    () => {
      expect(a.always.map((t) => ({ guard: t.guard, target: t.target }))).toEqual([
        { guard: 'yes', target: [child(root, 'c')] },
      ]);
      expect(child(root, 'b').always).toEqual([]);
    },
  ],
  [
    'StateNode.entry / .exit: action references, with `after` as a delayed raise on entry and a cancel on exit',
    () => {
      expect(a.entry[0]).toBe('named');
      expect(builtinAction(a.entry[1])).toEqual({
        kind: 'raise',
        event: { type: afterKey },
        id: afterKey,
        delay: 1000,
      });
      expect(a.exit[0]).toBe('named');
      expect(builtinAction(a.exit[1])).toEqual({ kind: 'cancel', sendId: afterKey });
    },
  ],
  [
    'StateNode.initial: a compound state’s { target, actions }',
    () => {
      const c = child(root, 'c');
      expect(c.initial).toEqual({ target: [child(c, 'c1')], actions: [] });
      expect(root.initial?.target).toEqual([a]);
    },
  ],
  ['StateNode.invoke: the invoked actors', () => expect([child(root, 'd').invokes, a.invokes]).toEqual([1, 0])],
  [
    'StateNode.output: on final states and the root',
    () => {
      expect(child(root, 'b').output).toEqual({ done: true });
      expect(typeof root.output).toBe('function');
    },
  ],
  [
    'machine.implementations: named actions, guards and delays',
    () => {
      const impl = implementationsOf(probe);
      expect([impl.actions['named'], impl.guards['yes'], impl.delays['later']]).toEqual([named, yes, 500]);
    },
  ],
  [
    'machine.config.context: the context as written (value or factory)',
    () => {
      expect(contextOf(probe)).toEqual({ n: 0 });
      expect(contextOf(withFactory)).toBe(contextFactory);
    },
  ],
  [
    'built-in action .type and .resolve: a built-in told from a custom action',
    () => {
      expect(builtinAction(named)).toBeUndefined();
      expect(builtinAction(log('x'))).toEqual({ kind: 'other', type: 'xstate.log' });
      expect(builtinAction(sendTo('someone', { type: 'x' }))).toMatchObject({ kind: 'other' });
      expect(describeRef(log('x'))).toBe('xstate.log');
    },
  ],
  [
    'assign(...).assignment',
    () => {
      const assigner = () => ({ n: 2 });
      expect(builtinAction(assign({ n: 1 }))).toEqual({ kind: 'assign', assignment: { n: 1 } });
      expect(builtinAction(assign(assigner))).toEqual({ kind: 'assign', assignment: assigner });
    },
  ],
  [
    'emit(...).event',
    () => expect(builtinAction(emit({ type: 'out' }))).toEqual({ kind: 'emit', event: { type: 'out' } }),
  ],
  [
    'raise(...).event / .id / .delay',
    () =>
      expect(builtinAction(raise({ type: 'r' }, { id: 'k', delay: 250 }))).toEqual({
        kind: 'raise',
        event: { type: 'r' },
        id: 'k',
        delay: 250,
      }),
  ],
  ['cancel(...).sendId', () => expect(builtinAction(cancel('k'))).toEqual({ kind: 'cancel', sendId: 'k' })],
  [
    'enqueueActions(...).collect',
    () => {
      const body = () => undefined;
      expect(builtinAction(enqueueActions(body))).toEqual({ kind: 'enqueueActions', collect: body });
    },
  ],
  [
    'and / or / not: .check (one function per kind) and .guards',
    () => {
      expect(builtinGuard(and(['yes', 'no']))).toEqual({ kind: 'and', guards: ['yes', 'no'] });
      expect(builtinGuard(or(['yes']))).toEqual({ kind: 'or', guards: ['yes'] });
      expect(builtinGuard(not('yes'))).toEqual({ kind: 'not', guards: ['yes'] });
      expect(builtinGuard(yes)).toBeUndefined();
    },
  ],
  ['stateIn: a .check with no .guards', () => expect(builtinGuard(stateIn('a'))).toEqual({ kind: 'stateIn' })],
];

describe('xstate internals the compiled engine reads', () => {
  it.each(internals)('%s', (internal, check) => {
    try {
      check();
    } catch (error) {
      throw new Error(
        `xstate internal changed: ${internal}. The compiled engine reads it in src/engine/xstate-internals.ts; see "Moving to a new xstate version" in docs/engine.md.\n${error instanceof Error ? error.message : String(error)}`,
      );
    }
  });
});
