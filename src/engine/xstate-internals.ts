/**
 * Every read of an xstate internal the compiled engine makes, and nothing else. The engine reads
 * xstate's own resolution of a machine (targets, `after`, document order) rather than the machine
 * config, so that its semantics are xstate's; the price is that it depends on fields xstate does
 * not promise to keep. They are listed here, one comment each, and
 * `test/engine/xstate-internals.test.ts` checks every one against the installed xstate, naming the
 * internal that moved. package.json pins xstate to an exact version for the same reason; how to
 * move to a new one is in docs/engine.md.
 *
 * What leaves this module is fedsim's own: a mirror of the resolved state-node tree (`ChartNode`,
 * `ChartTransition`), built once per machine, and the built-in actions and guards told apart as
 * tagged values (`BuiltinAction`, `BuiltinGuard`). Action and guard references, expressions and
 * implementations stay opaque (`unknown`): they are the machine's own functions and values.
 */
import { and, not, or, type AnyStateMachine } from 'xstate';

/** A transition as xstate resolved it (`TransitionDefinition`), mirrored. */
export interface ChartTransition {
  readonly source: ChartNode;
  /** Resolved target states; undefined for a targetless transition. */
  readonly target: readonly ChartNode[] | undefined;
  readonly reenter: boolean;
  /** A guard reference: a name, `{ type, params }`, an inline function or a built-in guard. */
  readonly guard: unknown;
  /** Action references, in order. */
  readonly actions: readonly unknown[];
}

export type ChartNodeType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** A state node as xstate resolved it (`StateNode`), mirrored. */
export interface ChartNode {
  readonly id: string;
  readonly key: string;
  readonly type: ChartNodeType;
  /** Document order: a parent before its children, siblings in definition order. */
  readonly order: number;
  readonly parent: ChartNode | undefined;
  /** Child states in definition order. */
  readonly children: readonly ChartNode[];
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  /** Event descriptor (an event type, `*` or `prefix.*`) to its transitions, in document order. */
  readonly transitions: ReadonlyMap<string, readonly ChartTransition[]>;
  /** Eventless (`always`) transitions. */
  readonly always: readonly ChartTransition[];
  /** A compound state's initial transition; undefined for every other type. */
  readonly initial: { readonly target: readonly ChartNode[]; readonly actions: readonly unknown[] } | undefined;
  /** How many actors the state invokes. */
  readonly invokes: number;
  /** A final state's (or the root's) `output`: a value or a mapper function. */
  readonly output: unknown;
}

/** The shape of xstate's `TransitionDefinition` that is read. */
interface XTransition {
  readonly target?: readonly XNode[];
  readonly source: XNode;
  readonly reenter: boolean;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
}

/** The shape of xstate's `StateNode` that is read. */
interface XNode {
  readonly id: string;
  readonly key: string;
  readonly type: ChartNodeType;
  readonly order: number;
  readonly parent?: XNode;
  readonly states: Readonly<Record<string, XNode>>;
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly transitions: ReadonlyMap<string, readonly XTransition[]>;
  readonly always?: readonly XTransition[];
  readonly initial: { readonly target: readonly XNode[]; readonly actions: readonly unknown[] };
  readonly invoke: readonly unknown[];
  readonly output?: unknown;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Thrown when xstate's resolved tree is not the shape read here (a new xstate moved an internal). */
export class XstateInternalError extends Error {
  override readonly name = 'XstateInternalError';
}

/** `value` when `ok` says it has the expected shape; otherwise an error naming the internal. */
function read<T>(internal: string, value: T, ok: (value: T) => boolean): T {
  if (!ok(value)) {
    throw new XstateInternalError(
      `xstate internal ${internal} is not what the compiled engine reads (got ${typeof value}); see docs/engine.md, "Moving to a new xstate version"`,
    );
  }
  return value;
}

const isArray = (value: unknown): boolean => Array.isArray(value);

const charts = new WeakMap<AnyStateMachine, ChartNode>();

/** The machine's resolved state-node tree, mirrored (built once per machine object). */
export function chartOf(machine: AnyStateMachine): ChartNode {
  let chart = charts.get(machine);
  if (chart === undefined) {
    chart = mirror(machine);
    charts.set(machine, chart);
  }
  return chart;
}

function mirror(machine: AnyStateMachine): ChartNode {
  // Internal: `machine.root`, the resolved root `StateNode` (typed by xstate, but its fields below are not all public).
  const root = read(
    'machine.root',
    machine.root as unknown as XNode,
    (node) => typeof node === 'object' && node !== null,
  );
  const nodes = new Map<XNode, Mutable<ChartNode>>();
  const transitions = new Map<XTransition, ChartTransition>();
  const nodeOf = (x: XNode): ChartNode =>
    read('a resolved StateNode reference', nodes.get(x), (n) => n !== undefined) as ChartNode;
  const transitionOf = (x: XTransition): ChartTransition => {
    let t = transitions.get(x);
    if (t === undefined) {
      t = {
        // Internals: a `TransitionDefinition`'s `source` and `target` (resolved `StateNode`s, `target`
        // undefined when targetless), `reenter` (boolean), `guard` (the reference) and `actions`.
        source: nodeOf(read('TransitionDefinition.source', x.source, (s) => nodes.has(s))),
        target: read('TransitionDefinition.target', x.target, (t) => t === undefined || isArray(t))?.map(nodeOf),
        reenter: read('TransitionDefinition.reenter', x.reenter, (r) => typeof r === 'boolean'),
        guard: x.guard,
        actions: read('TransitionDefinition.actions', x.actions, isArray),
      };
      transitions.set(x, t);
    }
    return t;
  };
  // First every node (so that targets resolve), then what refers to other nodes.
  const create = (x: XNode, parent: ChartNode | undefined): void => {
    const node: Mutable<ChartNode> = {
      // Internals: a `StateNode`'s `id`, `key`, `type` and `order` (document order, the root 0).
      id: read('StateNode.id', x.id, (id) => typeof id === 'string'),
      key: x.key,
      type: read('StateNode.type', x.type, (type) => typeof type === 'string'),
      order: read('StateNode.order', x.order, (order) => typeof order === 'number' && order >= 0),
      parent,
      children: [],
      // Internals: `entry` and `exit`, the action references; `after` adds a delayed `raise` to
      // `entry` and a `cancel` to `exit`, which is how the engine runs delayed transitions.
      entry: read('StateNode.entry', x.entry, isArray),
      exit: read('StateNode.exit', x.exit, isArray),
      transitions: new Map(),
      always: [],
      initial: undefined,
      // Internal: `invoke`, the invoked actors' definitions (a memoized getter).
      invokes: read('StateNode.invoke', x.invoke, isArray).length,
      // Internal: `output`, set on final states and the root.
      output: x.output,
    };
    nodes.set(x, node);
    // Internal: `states`, the child `StateNode`s by key, in definition order.
    const states = read('StateNode.states', x.states, (states) => typeof states === 'object' && states !== null);
    node.children = Object.values(states).map((child) => {
      create(child, node);
      return nodeOf(child);
    });
  };
  create(root, undefined);
  for (const [x, node] of nodes) {
    // Internal: `transitions`, a Map from event descriptor to `TransitionDefinition[]` (the resolved
    // `on` and `after`, with xstate's own descriptor keys such as `xstate.after.1000.id`).
    const own = read('StateNode.transitions', x.transitions, (map) => map instanceof Map);
    node.transitions = new Map([...own].map(([descriptor, list]) => [descriptor, list.map(transitionOf)]));
    // Internal: `always`, the eventless `TransitionDefinition[]` (undefined when none).
    node.always = read('StateNode.always', x.always ?? [], isArray).map(transitionOf);
    // Internal: `initial`, a compound state's resolved initial transition: `{ target, actions }`.
    if (x.type === 'compound') {
      const initial = read('StateNode.initial', x.initial, (i) => isArray(i?.target) && isArray(i?.actions));
      node.initial = { target: initial.target.map(nodeOf), actions: initial.actions };
    }
  }
  return nodeOf(root);
}

/** A machine's implementations: named actions, guards and delays (`setup({...})`). */
export interface Implementations {
  readonly actions: Readonly<Record<string, unknown>>;
  readonly guards: Readonly<Record<string, unknown>>;
  readonly delays: Readonly<Record<string, unknown>>;
}

export function implementationsOf(machine: AnyStateMachine): Implementations {
  // Public, but typed by the machine; read as plain records of the machine's own functions.
  return machine.implementations as unknown as Implementations;
}

/** The machine's `context`: a value, or a factory taking `{ spawn, input, self }`. */
export function contextOf(machine: AnyStateMachine): unknown {
  // Internal: `machine.config.context`, the context as written (xstate keeps the config as given).
  return (machine.config as { context?: unknown }).context;
}

/**
 * xstate's built-in actions are functions carrying their kind and arguments as properties
 * (`assign.type = 'xstate.assign'; assign.assignment = ...`); a custom action is a plain function.
 */
interface XBuiltin {
  readonly type?: string;
  readonly resolve?: unknown;
  readonly check?: unknown;
  readonly guards?: readonly unknown[];
  readonly assignment?: unknown;
  readonly event?: unknown;
  readonly id?: unknown;
  readonly delay?: unknown;
  readonly sendId?: unknown;
  readonly collect?: unknown;
}

function xbuiltin(value: unknown): XBuiltin | undefined {
  // Internals: a built-in action has a `resolve` function, a built-in guard a `check` function.
  return typeof value === 'function' && ('resolve' in value || 'check' in value) ? (value as XBuiltin) : undefined;
}

export type BuiltinAction =
  | { readonly kind: 'assign'; readonly assignment: unknown }
  | { readonly kind: 'emit'; readonly event: unknown }
  | { readonly kind: 'raise'; readonly event: unknown; readonly id: unknown; readonly delay: unknown }
  | { readonly kind: 'cancel'; readonly sendId: unknown }
  | { readonly kind: 'enqueueActions'; readonly collect: unknown }
  /** Any other built-in (`log`, `sendTo`, `spawnChild`, ...), by its xstate type. */
  | { readonly kind: 'other'; readonly type: string | undefined };

/** What a built-in action is and its arguments; undefined for a custom action (or not a function). */
export function builtinAction(value: unknown): BuiltinAction | undefined {
  const builtin = xbuiltin(value);
  if (builtin === undefined) return undefined;
  // Internal: `type`, the built-in's kind ('xstate.assign', 'xstate.emit', ...).
  switch (builtin.type) {
    case 'xstate.assign':
      // Internal: `assign(x).assignment`, the object of property assigners or the function given.
      return { kind: 'assign', assignment: builtin.assignment };
    case 'xstate.emit':
      // Internal: `emit(x).event`, the event or its expression.
      return { kind: 'emit', event: builtin.event };
    case 'xstate.raise':
      // Internals: `raise(x, { id, delay }).event`, `.id` and `.delay` (a number, a delay name or an expression).
      return { kind: 'raise', event: builtin.event, id: builtin.id, delay: builtin.delay };
    case 'xstate.cancel':
      // Internal: `cancel(x).sendId`, the id or its expression.
      return { kind: 'cancel', sendId: builtin.sendId };
    case 'xstate.enqueueActions':
      // Internal: `enqueueActions(body).collect`, the body.
      return { kind: 'enqueueActions', collect: builtin.collect };
    default:
      return { kind: 'other', type: builtin.type };
  }
}

export type BuiltinGuard =
  | { readonly kind: 'and' | 'or' | 'not'; readonly guards: readonly unknown[] }
  /** `stateIn`: a higher-order guard with no sub-guards. */
  | { readonly kind: 'stateIn' }
  | { readonly kind: 'other'; readonly guards: readonly unknown[] };

// Internal: the higher-order guards are told apart by their `check` function, the same function
// object for every `and(...)` (and for every `or`, every `not`).
const andCheck = (and([]) as unknown as XBuiltin).check;
const orCheck = (or([]) as unknown as XBuiltin).check;
const notCheck = (not('') as unknown as XBuiltin).check;

/** What a higher-order guard is and its parts; undefined for a plain guard function. */
export function builtinGuard(value: unknown): BuiltinGuard | undefined {
  const builtin = xbuiltin(value);
  if (builtin?.check === undefined) return undefined;
  // Internal: `guards`, the sub-guard references of `and`, `or` and `not` (`stateIn` has none).
  const guards = builtin.guards;
  if (guards === undefined) return { kind: 'stateIn' };
  if (builtin.check === andCheck) return { kind: 'and', guards };
  if (builtin.check === orCheck) return { kind: 'or', guards };
  if (builtin.check === notCheck) return { kind: 'not', guards };
  return { kind: 'other', guards };
}

/** A reference's name for messages and lookups: a string, a built-in's type, a function's name, `{ type }`. */
export function describeRef(ref: unknown): string {
  if (typeof ref === 'string') return ref;
  // Internal: a built-in's `type` names it.
  if (typeof ref === 'function') return (ref as { type?: string }).type ?? (ref.name || '(inline)');
  if (typeof ref === 'object' && ref !== null && 'type' in ref) return String((ref as { type: unknown }).type);
  return String(ref);
}
