/**
 * A compiled runner for fedsim's xstate v5 machines: the same machine definitions (xstate's own
 * resolved state-node tree and `machine.implementations`), executed by transition tables instead
 * of xstate's general interpreter.
 *
 * Why: xstate's interpreter spends most of a send on work that depends only on the statechart's
 * shape (which transitions can fire from this state, which states a transition exits and enters,
 * snapshot objects and inspection plumbing). Here that shape is worked out once per (state,
 * event type) and per (state, transition) and cached; a send then costs a map lookup, the guards,
 * and the actions themselves. Measured in docs/performance.md.
 *
 * Faithfulness: this follows xstate 5's `macrostep`/`microstep` (SCXML semantics) for the
 * features fedsim's machines use: compound and final states, `on`, `always`, `after` (named or
 * numeric delays), `reenter`, guards (named, with params, inline, `and`/`or`/`not`), actions
 * (named, with params, inline), `assign`, `emit`, `raise`, `cancel` and `enqueueActions`, entry
 * and exit actions, done-state events and a root final state. Order of effects is xstate's:
 * custom actions run while the transition resolves; emitted events, timer scheduling and
 * cancelling run after it, in order, then state observers are told. A machine using anything
 * else (parallel or history states, invoked or spawned actors, `sendTo`, `log`, ...) is refused
 * at compile time (or, for an action only `enqueueActions` produces, when it is enqueued) with an
 * `UnsupportedMachineError`; run such a machine with the `xstate` engine.
 *
 * `test/engine/compiled-machine.test.ts` checks this runner against xstate's interpreter:
 * every actor of every bundled scenario replayed under both, random event sequences per machine
 * (fast-check), and every bundled scenario's trace byte-identical under both engines.
 */
import { and, not, or, type AnyStateMachine, type EventObject, type StateValue } from 'xstate';
import type { HostClock } from '../protocols/protocol.js';

/** A machine (or an action it enqueues) uses a feature this runner does not implement. */
export class UnsupportedMachineError extends Error {
  override readonly name = 'UnsupportedMachineError';
}

// xstate's resolved state nodes and transitions: the fields read here (stable across xstate 5).
interface XTransition {
  readonly target?: readonly XNode[];
  readonly source: XNode;
  readonly reenter: boolean;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
}

interface XNode {
  readonly id: string;
  readonly key: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
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

/** An xstate built-in action or guard: a function carrying its kind and arguments as properties. */
interface Builtin {
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

interface Implementations {
  readonly actions: Readonly<Record<string, unknown>>;
  readonly guards: Readonly<Record<string, unknown>>;
  readonly delays: Readonly<Record<string, unknown>>;
}

// Machine-defined functions take xstate's argument objects; their types are the machine's own.
type Expr = (args: unknown, params: unknown) => unknown;
type Guard = (context: unknown, event: EventObject) => boolean;
type Op = (actor: CompiledActor, event: EventObject) => void;

const xstateInit = 'xstate.init';
const xstateStop = 'xstate.stop';

function isFunction(value: unknown): value is Expr {
  return typeof value === 'function';
}

function builtinOf(value: unknown): Builtin | undefined {
  return typeof value === 'function' && ('resolve' in value || 'check' in value) ? (value as Builtin) : undefined;
}

function describeRef(ref: unknown): string {
  if (typeof ref === 'string') return ref;
  if (typeof ref === 'function') return (ref as { type?: string }).type ?? (ref.name || '(inline)');
  if (typeof ref === 'object' && ref !== null && 'type' in ref) return String((ref as { type: unknown }).type);
  return String(ref);
}

// ---------------------------------------------------------------------------------------------
// Guards

function paramsOf(ref: unknown, context: unknown, event: EventObject): unknown {
  if (typeof ref !== 'object' || ref === null || !('params' in ref)) return undefined;
  const params = (ref as { params: unknown }).params;
  return isFunction(params) ? params({ context, event }, undefined) : params;
}

// xstate's higher-order guards, told apart by their `check` function.
const andCheck = (and([]) as unknown as Builtin).check;
const orCheck = (or([]) as unknown as Builtin).check;
const notCheck = (not('') as unknown as Builtin).check;

function compileGuard(ref: unknown, impl: Implementations, machineId: string): Guard {
  const inline = typeof ref === 'function';
  const resolved = inline ? ref : impl.guards[typeof ref === 'string' ? ref : describeRef(ref)];
  if (resolved === undefined) {
    throw new UnsupportedMachineError(`machine ${machineId}: guard '${describeRef(ref)}' is not implemented`);
  }
  if (!isFunction(resolved)) return compileGuard(resolved, impl, machineId);
  const builtin = builtinOf(resolved);
  if (builtin?.check !== undefined) {
    const parts = (builtin.guards ?? []).map((part) => compileGuard(part, impl, machineId));
    if (builtin.guards === undefined) {
      throw new UnsupportedMachineError(`machine ${machineId}: guard '${describeRef(ref)}' (stateIn) is not supported`);
    }
    if (builtin.check === andCheck) return (context, event) => parts.every((part) => part(context, event));
    if (builtin.check === orCheck) return (context, event) => parts.some((part) => part(context, event));
    const [inner] = parts;
    if (builtin.check === notCheck && inner !== undefined) return (context, event) => !inner(context, event);
    throw new UnsupportedMachineError(`machine ${machineId}: guard '${describeRef(ref)}' is not supported`);
  }
  const usesParams = !inline && typeof ref !== 'string';
  return (context, event) =>
    Boolean(resolved({ context, event }, usesParams ? paramsOf(ref, context, event) : undefined));
}

// ---------------------------------------------------------------------------------------------
// Actions

/** The argument object xstate passes to action implementations and expressions. */
function actionArgs(actor: CompiledActor, event: EventObject): Record<string, unknown> {
  return { context: actor.context, event, self: actor, system: undefined };
}

function noSpawn(): never {
  throw new UnsupportedMachineError('spawning actors is not supported by the compiled engine');
}

/**
 * Resolves one action reference (as xstate's `resolveAndExecuteActionsWithContext` does) into an
 * operation. Named references are looked up once, here; the action itself runs per event.
 */
function compileAction(ref: unknown, machine: AnyStateMachine): Op {
  const impl = machine.implementations as unknown as Implementations;
  const inline = typeof ref === 'function';
  const resolved = inline ? ref : impl.actions[typeof ref === 'string' ? ref : describeRef(ref)];
  const usesParams = !inline && typeof ref !== 'string';
  const params = (actor: CompiledActor, event: EventObject) =>
    usesParams ? paramsOf(ref, actor.context, event) : undefined;
  // xstate silently skips an action with no implementation; so does this runner.
  if (!isFunction(resolved)) return () => undefined;
  const builtin = builtinOf(resolved);
  if (builtin === undefined) {
    return (actor, event) => {
      // Arguments are taken now, as xstate resolves them, even when the call is deferred to `start`.
      const args = actionArgs(actor, event);
      const p = params(actor, event);
      // Run at once when started (no closure per call: this runs on every such transition).
      if (actor.started) resolved(args, p);
      else actor.deferToStart(() => resolved(args, p));
    };
  }
  switch (builtin.type) {
    case 'xstate.assign': {
      const assignment = builtin.assignment;
      return (actor, event) => runAssign(actor, event, assignment, params(actor, event));
    }
    case 'xstate.emit': {
      const expr = builtin.event;
      return (actor, event) => runEmit(actor, event, expr, params(actor, event));
    }
    case 'xstate.raise': {
      const { event: expr, id, delay } = builtin;
      if (typeof expr === 'string') {
        throw new UnsupportedMachineError(`machine ${machine.id}: raise('${expr}') needs an event object`);
      }
      return (actor, event) => runRaise(actor, event, expr, id, delay, impl.delays, params(actor, event));
    }
    case 'xstate.cancel': {
      const sendId = builtin.sendId;
      return (actor, event) => runCancel(actor, event, sendId, params(actor, event));
    }
    case 'xstate.enqueueActions': {
      const collect = builtin.collect;
      if (!isFunction(collect))
        throw new UnsupportedMachineError(`machine ${machine.id}: enqueueActions without a body`);
      return (actor, event) => runEnqueued(actor, event, collect, params(actor, event), machine);
    }
    default:
      throw new UnsupportedMachineError(
        `machine ${machine.id}: action '${describeRef(ref)}' (${builtin.type ?? 'unknown'}) is not supported by the compiled engine`,
      );
  }
}

// The built-in actions, as xstate resolves them (`resolveAssign`, `resolveEmit`, ...). Effects
// (emitting, scheduling, cancelling) are queued on the actor and applied after the macrostep.

function runAssign(actor: CompiledActor, event: EventObject, assignment: unknown, params: unknown): void {
  const args = { context: actor.context, event, spawn: noSpawn, self: actor, system: undefined };
  let partial: Record<string, unknown>;
  if (isFunction(assignment)) partial = assignment(args, params) as Record<string, unknown>;
  else {
    partial = {};
    for (const key of Object.keys(assignment as object)) {
      const value = (assignment as Record<string, unknown>)[key];
      partial[key] = isFunction(value) ? value(args, params) : value;
    }
  }
  actor.assign(partial);
}

function runEmit(actor: CompiledActor, event: EventObject, expr: unknown, params: unknown): void {
  const emitted = isFunction(expr) ? expr(actionArgs(actor, event), params) : expr;
  actor.effects.push({ kind: 'emit', event: emitted as EventObject });
}

function runRaise(
  actor: CompiledActor,
  event: EventObject,
  expr: unknown,
  id: unknown,
  delay: unknown,
  delays: Readonly<Record<string, unknown>>,
  params: unknown,
): void {
  const args = actionArgs(actor, event);
  const raised = (isFunction(expr) ? expr(args, params) : expr) as EventObject;
  let ms: unknown;
  if (typeof delay === 'string') {
    const configured = delays[delay];
    ms = isFunction(configured) ? configured(args, params) : configured;
  } else ms = isFunction(delay) ? delay(args, params) : delay;
  if (typeof ms !== 'number') actor.internalQueue.push(raised);
  else actor.effects.push({ kind: 'schedule', event: raised, delayMs: ms, id: actor.timerId(id) });
}

function runCancel(actor: CompiledActor, event: EventObject, sendId: unknown, params: unknown): void {
  const id = isFunction(sendId) ? sendId(actionArgs(actor, event), params) : sendId;
  actor.effects.push({ kind: 'cancel', id: String(id) });
}

/**
 * What an `enqueueActions` body enqueued. The `enqueue` and `check` it is handed are built once
 * (not per call): they work on the collection in progress, and bodies do not nest (what they
 * enqueue runs after they return).
 */
interface Enqueued {
  readonly kind: 'ref' | 'assign' | 'emit' | 'raise' | 'cancel' | 'unsupported';
  readonly arg: unknown;
  readonly options?: { readonly id?: unknown; readonly delay?: unknown };
}

let collecting: Enqueued[] = [];
let checking: { context: unknown; event: EventObject; machine: AnyStateMachine } | undefined;

function unsupportedEnqueue(name: string): () => void {
  return () => void collecting.push({ kind: 'unsupported', arg: name });
}

const enqueue = Object.assign((action: unknown) => void collecting.push({ kind: 'ref', arg: action }), {
  assign: (assignment: unknown) => void collecting.push({ kind: 'assign', arg: assignment }),
  emit: (event: unknown) => void collecting.push({ kind: 'emit', arg: event }),
  raise: (event: unknown, options?: Enqueued['options']) =>
    void collecting.push(
      options === undefined ? { kind: 'raise', arg: event } : { kind: 'raise', arg: event, options },
    ),
  cancel: (id: unknown) => void collecting.push({ kind: 'cancel', arg: id }),
  sendTo: unsupportedEnqueue('sendTo'),
  sendParent: unsupportedEnqueue('sendParent'),
  spawnChild: unsupportedEnqueue('spawnChild'),
  stopChild: unsupportedEnqueue('stopChild'),
});

function check(guard: unknown): boolean {
  if (checking === undefined) throw new Error('check() called outside an enqueueActions body');
  const { context, event, machine } = checking;
  const impl = machine.implementations as unknown as Implementations;
  return compileGuard(guard, impl, machine.id)(context, event);
}

function runEnqueued(
  actor: CompiledActor,
  event: EventObject,
  collect: Expr,
  params: unknown,
  machine: AnyStateMachine,
): void {
  const outer = collecting;
  const outerChecking = checking;
  let enqueued: Enqueued[];
  collecting = [];
  checking = { context: actor.context, event, machine };
  try {
    collect({ context: actor.context, event, enqueue, check, self: actor, system: undefined }, params);
  } finally {
    enqueued = collecting;
    collecting = outer;
    checking = outerChecking;
  }
  const delays = (machine.implementations as unknown as Implementations).delays;
  for (const item of enqueued) {
    switch (item.kind) {
      case 'ref':
        enqueuedOp(item.arg, machine)(actor, event);
        break;
      case 'assign':
        runAssign(actor, event, item.arg, undefined);
        break;
      case 'emit':
        runEmit(actor, event, item.arg, undefined);
        break;
      case 'raise':
        if (typeof item.arg === 'string') {
          throw new UnsupportedMachineError(`machine ${machine.id}: raise('${item.arg}') needs an event object`);
        }
        runRaise(actor, event, item.arg, item.options?.id, item.options?.delay, delays, undefined);
        break;
      case 'cancel':
        runCancel(actor, event, item.arg, undefined);
        break;
      case 'unsupported':
        throw new UnsupportedMachineError(
          `machine ${machine.id}: enqueue.${String(item.arg)} is not supported by the compiled engine`,
        );
    }
  }
}

const namedOps = new WeakMap<AnyStateMachine, Map<string, Op>>();
/** An enqueued action: names are compiled once per machine, anything else each time. */
function enqueuedOp(action: unknown, machine: AnyStateMachine): Op {
  if (typeof action !== 'string') return compileAction(action, machine);
  let ops = namedOps.get(machine);
  if (ops === undefined) {
    ops = new Map();
    namedOps.set(machine, ops);
  }
  let op = ops.get(action);
  if (op === undefined) {
    op = compileAction(action, machine);
    ops.set(action, op);
  }
  return op;
}

// ---------------------------------------------------------------------------------------------
// The statechart's shape: exit and entry sets, worked out as xstate's microstep does.

function isDescendant(child: XNode, parent: XNode | undefined): boolean {
  let marker = child;
  while (marker.parent !== undefined && marker.parent !== parent) marker = marker.parent;
  return marker.parent === parent;
}

function properAncestors(node: XNode, to: XNode | undefined): XNode[] {
  const ancestors: XNode[] = [];
  if (to === node) return ancestors;
  for (let m = node.parent; m !== undefined && m !== to; m = m.parent) ancestors.push(m);
  return ancestors;
}

function transitionDomain(t: XTransition, root: XNode): XNode | undefined {
  const targets = t.target ?? [];
  if (!t.reenter && targets.every((target) => target === t.source || isDescendant(target, t.source))) return t.source;
  const [head, ...tail] = [...targets, t.source];
  if (head !== undefined) {
    for (const ancestor of properAncestors(head, undefined)) {
      if (tail.every((node) => isDescendant(node, ancestor))) return ancestor;
    }
  }
  return t.reenter ? undefined : root;
}

function addDescendantsToEnter(node: XNode, defaultEntry: Set<XNode>, toEnter: Set<XNode>): void {
  if (node.type !== 'compound') return;
  const [initial] = node.initial.target;
  if (initial === undefined) throw new Error(`state ${node.id} has no initial state`);
  toEnter.add(initial);
  defaultEntry.add(initial);
  addDescendantsToEnter(initial, defaultEntry, toEnter);
  for (const ancestor of properAncestors(initial, node)) toEnter.add(ancestor);
}

interface Plan {
  readonly exit: readonly CNode[];
  readonly enter: readonly { readonly node: CNode; readonly defaultEntry: boolean }[];
  readonly leaf: CNode;
}

function planOf(compiled: CompiledMachine, t: XTransition, active: ReadonlySet<XNode>, isInitial: boolean): Plan {
  const root = compiled.root.x;
  const targets = t.target ?? [];
  const exit = new Set<XNode>();
  const toEnter = new Set<XNode>();
  const defaultEntry = new Set<XNode>();
  if (targets.length > 0) {
    const domain = transitionDomain(t, root);
    if (!isInitial) {
      if (t.reenter && t.source === domain && domain !== undefined) exit.add(domain);
      for (const node of active) if (isDescendant(node, domain)) exit.add(node);
    }
    for (const s of targets) {
      if (t.source !== s || t.source !== domain || t.reenter) {
        toEnter.add(s);
        defaultEntry.add(s);
      }
      addDescendantsToEnter(s, defaultEntry, toEnter);
    }
    for (const s of targets) {
      const reentrancyDomain = t.source.parent === undefined && t.reenter ? undefined : domain;
      for (const ancestor of properAncestors(s, domain)) {
        if (reentrancyDomain === undefined || isDescendant(ancestor, reentrancyDomain)) toEnter.add(ancestor);
      }
    }
  }
  if (isInitial) defaultEntry.add(root);
  const after = new Set([...active].filter((node) => !exit.has(node)));
  for (const node of toEnter) after.add(node);
  // One active path (no parallel states): the leaf is the deepest node, and every other is its ancestor.
  const leaf = [...after].sort((a, b) => b.order - a.order)[0] ?? root;
  for (const node of after) {
    if (node !== leaf && !isDescendant(leaf, node)) throw new Error(`state ${node.id} is active beside ${leaf.id}`);
  }
  const byOrder = (direction: number) => (a: XNode, b: XNode) => direction * (a.order - b.order);
  return {
    exit: [...exit].sort(byOrder(-1)).map((node) => compiled.node(node)),
    enter: [...toEnter]
      .sort(byOrder(1))
      .map((node) => ({ node: compiled.node(node), defaultEntry: defaultEntry.has(node) })),
    leaf: compiled.node(leaf),
  };
}

// ---------------------------------------------------------------------------------------------
// Compiled nodes and transitions

class CTransition {
  readonly guard: Guard | undefined;
  readonly actions: readonly Op[];
  private readonly plans = new Map<CNode, Plan>();

  constructor(
    readonly x: XTransition,
    private readonly compiled: CompiledMachine,
  ) {
    const impl = compiled.machine.implementations as unknown as Implementations;
    this.guard = x.guard === undefined ? undefined : compileGuard(x.guard, impl, compiled.machine.id);
    this.actions = x.actions.map((action) => compileAction(action, compiled.machine));
    if ((x.target?.length ?? 0) > 1) {
      throw new UnsupportedMachineError(`machine ${compiled.machine.id}: a transition with several targets`);
    }
  }

  /** What taking this transition from `leaf` exits and enters (cached per leaf). */
  planFrom(leaf: CNode): Plan {
    let plan = this.plans.get(leaf);
    if (plan === undefined) {
      plan = planOf(this.compiled, this.x, new Set(leaf.path), false);
      this.plans.set(leaf, plan);
    }
    return plan;
  }
}

class CNode {
  readonly parent: CNode | undefined;
  /** Root first, this node last. */
  readonly path: readonly XNode[];
  readonly entry: readonly Op[];
  readonly exit: readonly Op[];
  readonly initialActions: readonly Op[];
  readonly value: StateValue;
  private readonly candidates = new Map<string, readonly CTransition[]>();
  private eventlessCache: readonly CTransition[] | undefined;

  constructor(
    readonly x: XNode,
    private readonly compiled: CompiledMachine,
  ) {
    const machine = compiled.machine;
    if (x.type === 'parallel' || x.type === 'history') {
      throw new UnsupportedMachineError(`machine ${machine.id}: ${x.type} state ${x.id} is not supported`);
    }
    if (x.invoke.length > 0) throw new UnsupportedMachineError(`machine ${machine.id}: invoke in state ${x.id}`);
    this.parent = x.parent === undefined ? undefined : compiled.node(x.parent);
    this.path = [...(this.parent?.path ?? []), x];
    this.entry = x.entry.map((action) => compileAction(action, machine));
    this.exit = x.exit.map((action) => compileAction(action, machine));
    this.initialActions =
      x.type === 'compound' ? x.initial.actions.map((action) => compileAction(action, machine)) : [];
    this.value = valueOf(this.path);
  }

  /** The transitions an event can take from this leaf, in xstate's order: this node's, then each ancestor's. */
  candidatesFor(type: string): readonly CTransition[] {
    const cached = this.candidates.get(type);
    if (cached !== undefined) return cached;
    const list: CTransition[] = [];
    for (let node: XNode | undefined = this.x; node !== undefined; node = node.parent) {
      for (const t of candidatesOf(node, type)) list.push(this.compiled.transition(t));
    }
    this.candidates.set(type, list);
    return list;
  }

  get eventless(): readonly CTransition[] {
    if (this.eventlessCache === undefined) {
      const list: CTransition[] = [];
      for (let node: XNode | undefined = this.x; node !== undefined; node = node.parent) {
        for (const t of node.always ?? []) list.push(this.compiled.transition(t));
      }
      this.eventlessCache = list;
    }
    return this.eventlessCache;
  }
}

/** xstate's `getCandidates`: exact match first, then wildcard descriptors, longest first. */
function candidatesOf(node: XNode, type: string): readonly XTransition[] {
  const exact = node.transitions.get(type) ?? [];
  const wildcards = [...node.transitions.keys()]
    .filter((descriptor) => descriptor !== type && matchesDescriptor(type, descriptor))
    .sort((a, b) => b.length - a.length)
    .flatMap((descriptor) => node.transitions.get(descriptor) ?? []);
  return [...exact, ...wildcards];
}

function matchesDescriptor(type: string, descriptor: string): boolean {
  if (descriptor === '*') return true;
  if (!descriptor.endsWith('.*')) return false;
  const prefix = descriptor.slice(0, -2).split('.');
  const parts = type.split('.');
  return prefix.every((part, i) => parts[i] === part);
}

/** The state value xstate reports for an active path (root first). */
function valueOf(path: readonly XNode[]): StateValue {
  const below = path.slice(1);
  if (below.length === 0) return {};
  let value: StateValue = (below[below.length - 1] as XNode).key;
  for (let i = below.length - 2; i >= 0; i--) value = { [(below[i] as XNode).key]: value };
  return value;
}

export class CompiledMachine {
  readonly root: CNode;
  readonly initialPlan: Plan;
  private readonly nodes = new Map<XNode, CNode>();
  private readonly transitions = new Map<XTransition, CTransition>();

  constructor(readonly machine: AnyStateMachine) {
    const root = machine.root as unknown as XNode;
    this.root = this.node(root);
    // Compile every node and transition up front, so an unsupported feature is reported now.
    const visit = (node: XNode): void => {
      this.node(node);
      for (const list of node.transitions.values()) for (const t of list) this.transition(t);
      for (const t of node.always ?? []) this.transition(t);
      for (const child of Object.values(node.states)) visit(child);
    };
    visit(root);
    const initialTargets: XNode[] = [];
    for (let node: XNode | undefined = root; node !== undefined; node = node.initial.target[0]) {
      initialTargets.push(node);
      if (node.type !== 'compound') break;
    }
    // xstate's initial microstep: a reentering transition from the root to its initial states.
    this.initialPlan = planOf(
      this,
      { source: root, target: initialTargets, reenter: true, actions: [] },
      new Set([root]),
      true,
    );
  }

  node(x: XNode): CNode {
    let node = this.nodes.get(x);
    if (node === undefined) {
      node = new CNode(x, this);
      this.nodes.set(x, node);
    }
    return node;
  }

  transition(x: XTransition): CTransition {
    let t = this.transitions.get(x);
    if (t === undefined) {
      t = new CTransition(x, this);
      this.transitions.set(x, t);
    }
    return t;
  }
}

const compiledCache = new WeakMap<AnyStateMachine, CompiledMachine>();

/** The compiled form of `machine`, built once per machine object. Throws `UnsupportedMachineError`. */
export function compileMachine(machine: AnyStateMachine): CompiledMachine {
  let compiled = compiledCache.get(machine);
  if (compiled === undefined) {
    compiled = new CompiledMachine(machine);
    compiledCache.set(machine, compiled);
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------
// The actor

type Effect =
  | { readonly kind: 'emit'; readonly event: EventObject }
  | { readonly kind: 'schedule'; readonly event: EventObject; readonly delayMs: number; readonly id: string }
  | { readonly kind: 'cancel'; readonly id: string };

export type CompiledStatus = 'active' | 'done' | 'stopped' | 'error';

export interface CompiledSnapshot {
  readonly value: StateValue;
  readonly status: CompiledStatus;
  readonly context: unknown;
  readonly output: unknown;
  readonly error: unknown;
}

interface Observer {
  readonly next?: (snapshot: CompiledSnapshot) => void;
  readonly complete?: () => void;
}

type Listener = (event: EventObject) => void;

export interface CompiledActorOptions {
  readonly clock: HostClock;
  readonly input?: unknown;
}

/**
 * An actor running a compiled machine, with the part of xstate's `Actor` API fedsim's nodes
 * use: `start`, `send`, `stop`, `getSnapshot`, `on` (emitted events, `*` for all) and
 * `subscribe`. Run-to-completion like xstate's mailbox: an event sent while one is being
 * processed (by a listener, say) waits its turn.
 */
export class CompiledActor {
  /** The machine's context; replaced (never mutated) by each `assign`, as in xstate. */
  context: unknown = {};
  readonly effects: Effect[] = [];
  internalQueue: EventObject[] = [];
  private leaf: CNode;
  private status: CompiledStatus = 'active';
  private output: unknown;
  private error: unknown;
  private version = 0;
  private snapshotCache: CompiledSnapshot | undefined;
  private running = false;
  private stopped = false;
  private processing = false;
  private readonly mailbox: EventObject[] = [];
  private readonly initCustom: (() => void)[] = [];
  private readonly timers = new Map<string, unknown>();
  private readonly listeners = new Map<string, Listener[]>();
  private observers: Observer[] = [];
  private timerCount = 0;
  private readonly compiled: CompiledMachine;
  private readonly clock: HostClock;

  constructor(machine: AnyStateMachine, options: CompiledActorOptions) {
    this.compiled = compileMachine(machine);
    this.clock = options.clock;
    this.leaf = this.compiled.root;
    const init: EventObject = { type: xstateInit, input: options.input } as EventObject;
    // The context factory runs as an assign, then the initial microstep, then a macrostep on the init event.
    const context = (machine.config as { context?: unknown }).context;
    if (isFunction(context)) {
      this.context = {};
      this.assign(context({ spawn: noSpawn, input: options.input, self: this }, undefined) as Record<string, unknown>);
    } else if (context !== undefined) this.context = context;
    this.microstep(this.compiled.initialPlan, [], init, true);
    this.macrostep(init);
  }

  // Used by compiled operations.

  /** xstate's assign: a new context object, the old one untouched. */
  assign(partial: Record<string, unknown>): void {
    this.context = Object.assign({}, this.context, partial);
    this.version += 1;
  }

  /** Whether `start` has run (and `stop` has not): custom actions run at once. */
  get started(): boolean {
    return this.running;
  }

  /** Defers a custom (non built-in) action taken before `start` until `start` runs it. */
  deferToStart(run: () => void): void {
    this.initCustom.push(run);
  }

  /** The id a delayed raise is scheduled under (xstate makes one up when none is given). */
  timerId(id: unknown): string {
    return id === undefined ? `raise.${this.timerCount++}` : String(id);
  }

  // xstate's Actor API (the part fedsim uses).

  start(): this {
    if (this.running || this.stopped) return this;
    this.running = true;
    // As xstate's mailbox starts only after this first update: an event a listener sends now waits.
    this.processing = true;
    try {
      for (const run of this.initCustom.splice(0)) run();
      this.update();
    } finally {
      this.processing = false;
    }
    if (this.status === 'active') this.drain();
    return this;
  }

  send(event: EventObject): void {
    this.receive(event);
  }

  /** What `send` does; timers deliver through here, so wrapping `send` on an instance sees only sends. */
  private receive(event: EventObject): void {
    if (this.stopped) return;
    this.mailbox.push(event);
    if (this.running && !this.processing) this.drain();
  }

  stop(): this {
    if (this.stopped) return this;
    if (!this.running) {
      this.mailbox.length = 0;
      this.stopped = true;
      return this;
    }
    this.mailbox.length = 0;
    this.mailbox.push({ type: xstateStop });
    if (!this.processing) this.drain();
    return this;
  }

  getSnapshot(): CompiledSnapshot {
    const cached = this.snapshotCache;
    if (cached !== undefined && cached.context === this.context && cached.value === this.leaf.value) {
      if (cached.status === this.status) return cached;
    }
    this.snapshotCache = {
      value: this.leaf.value,
      status: this.status,
      context: this.context,
      output: this.output,
      error: this.error,
    };
    return this.snapshotCache;
  }

  on(type: string, listener: Listener): { unsubscribe(): void } {
    let list = this.listeners.get(type);
    if (list === undefined) {
      list = [];
      this.listeners.set(type, list);
    }
    // A wrapper per registration, as xstate binds each handler: the same function twice is two listeners.
    const wrapped: Listener = (event) => listener(event);
    list.push(wrapped);
    return {
      unsubscribe: () => {
        const at = list.indexOf(wrapped);
        if (at >= 0) list.splice(at, 1);
      },
    };
  }

  subscribe(observer: Observer): { unsubscribe(): void } {
    if (this.stopped) {
      if (this.status === 'done') observer.complete?.();
      return { unsubscribe: () => undefined };
    }
    this.observers.push(observer);
    return {
      unsubscribe: () => {
        this.observers = this.observers.filter((o) => o !== observer);
      },
    };
  }

  // Processing.

  private drain(): void {
    this.processing = true;
    try {
      while (this.mailbox.length > 0 && !this.stopped) {
        const event = this.mailbox.shift() as EventObject;
        this.process(event);
      }
    } finally {
      this.processing = false;
    }
  }

  private process(event: EventObject): void {
    if (event.type === xstateStop) {
      this.status = 'stopped';
      this.update();
      this.stopProcedure();
      this.complete();
      return;
    }
    try {
      this.macrostep(event);
    } catch (err) {
      this.status = 'error';
      this.error = err;
      this.effects.length = 0;
      this.stopProcedure();
      this.observers = [];
      this.listeners.clear();
      throw err;
    }
    this.update();
  }

  private select(event: EventObject): CTransition | undefined {
    for (const t of this.leaf.candidatesFor(event.type)) {
      if (t.guard === undefined || t.guard(this.context, event)) return t;
    }
    return undefined;
  }

  private selectEventless(event: EventObject): CTransition | undefined {
    for (const t of this.leaf.eventless) {
      if (t.guard === undefined || t.guard(this.context, event)) return t;
    }
    return undefined;
  }

  /** xstate's macrostep: the event's transition, then eventless transitions and raised events until stable. */
  private macrostep(event: EventObject): void {
    if (event.type !== xstateInit) {
      const t = this.select(event);
      if (t !== undefined) this.microstep(t.planFrom(this.leaf), t.actions, event, false);
    }
    let selectEventless = true;
    let next = event;
    while (this.status === 'active') {
      let t: CTransition | undefined = selectEventless ? this.selectEventless(next) : undefined;
      const eventless: boolean = t !== undefined;
      if (t === undefined) {
        const raised = this.internalQueue.shift();
        if (raised === undefined) break;
        next = raised;
        t = this.select(next);
      }
      const before = this.version;
      if (t !== undefined) this.microstep(t.planFrom(this.leaf), t.actions, next, false);
      selectEventless = eventless ? this.version !== before : true;
    }
  }

  private microstep(plan: Plan, actions: readonly Op[], event: EventObject, isInitial: boolean): void {
    for (const node of plan.exit) for (const op of node.exit) op(this, event);
    for (const op of actions) op(this, event);
    for (const { node, defaultEntry } of plan.enter) {
      for (const op of node.entry) op(this, event);
      if (defaultEntry) for (const op of node.initialActions) op(this, event);
      if (node.x.type === 'final') this.finalEntered(node, event);
    }
    if (plan.leaf !== this.leaf || isInitial) {
      this.leaf = plan.leaf;
      this.version += 1;
    }
    if (this.status === 'done') {
      // Reaching the root's final state exits every active state (their exit actions run).
      for (let node: CNode | undefined = this.leaf; node !== undefined; node = node.parent) {
        for (const op of node.exit) op(this, event);
      }
    }
  }

  private finalEntered(node: CNode, event: EventObject): void {
    const parent = node.x.parent;
    if (parent?.type === 'compound') {
      const output = node.x.output === undefined ? undefined : resolveOutput(node.x.output, this.context, event, this);
      this.internalQueue.push({ type: `xstate.done.state.${parent.id}`, output } as EventObject);
    }
    if (parent?.parent !== undefined) return;
    this.status = 'done';
    this.version += 1;
    const rootOutput = this.compiled.root.x.output;
    if (rootOutput !== undefined) {
      // xstate's getMachineOutput: the completing node is the final state itself, its output resolved.
      const own = node.x.output === undefined ? undefined : resolveOutput(node.x.output, this.context, event, this);
      const doneEvent = { type: `xstate.done.state.${node.x.id}`, output: own } as EventObject;
      this.output = resolveOutput(rootOutput, this.context, doneEvent, this);
    }
  }

  /** xstate's `update`: effects in order, then observers; a done actor then stops. */
  private update(): void {
    let failure: { err: unknown } | undefined;
    for (let i = 0; i < this.effects.length; i++) {
      const effect = this.effects[i] as Effect;
      const err = this.apply(effect);
      if (err !== undefined) failure ??= err;
    }
    this.effects.length = 0;
    if (this.internalQueue.length > 0) this.internalQueue = [];
    if (this.status === 'active' || this.status === 'done') {
      const snapshot = this.getSnapshot();
      for (const observer of this.observers) observer.next?.(snapshot);
    }
    if (this.status === 'done') {
      this.stopProcedure();
      this.complete();
    }
    if (failure !== undefined) throw failure.err;
  }

  /** Applies one effect; a listener's failure is returned (and the other listeners still run, as in xstate). */
  private apply(effect: Effect): { err: unknown } | undefined {
    switch (effect.kind) {
      case 'emit': {
        const own = this.listeners.get(effect.event.type);
        const any = this.listeners.get('*');
        if (own === undefined && any === undefined) return undefined;
        let failure: { err: unknown } | undefined;
        const only = any === undefined && own?.length === 1 ? own[0] : undefined;
        if (only !== undefined) {
          // One listener (the usual case): called without copying the list, with the same effect.
          try {
            only(effect.event);
          } catch (err) {
            failure = { err };
          }
          return failure;
        }
        // A copy, as xstate takes one: a listener that unsubscribes does not skip the next.
        const all = any === undefined ? (own as Listener[]).slice() : [...(own ?? []), ...any];
        for (const listener of all) {
          try {
            listener(effect.event);
          } catch (err) {
            failure ??= { err };
          }
        }
        return failure;
      }
      case 'schedule': {
        const { id, event, delayMs } = effect;
        const handle = this.clock.setTimeout(() => {
          this.timers.delete(id);
          this.receive(event);
        }, delayMs);
        this.timers.set(id, handle);
        return undefined;
      }
      case 'cancel':
        this.cancel(effect.id);
        return undefined;
    }
  }

  private cancel(id: string): void {
    const handle = this.timers.get(id);
    this.timers.delete(id);
    if (handle !== undefined) this.clock.clearTimeout(handle);
  }

  private stopProcedure(): void {
    if (!this.running) return;
    for (const id of [...this.timers.keys()]) this.cancel(id);
    this.mailbox.length = 0;
    this.running = false;
    this.stopped = true;
  }

  private complete(): void {
    for (const observer of this.observers) observer.complete?.();
    this.observers = [];
    this.listeners.clear();
  }
}

function resolveOutput(mapper: unknown, context: unknown, event: EventObject, self: CompiledActor): unknown {
  return isFunction(mapper) ? mapper({ context, event, self }, undefined) : mapper;
}

/** Creates (but does not start) an actor running `machine` on the compiled engine. */
export function createCompiledActor(machine: AnyStateMachine, options: CompiledActorOptions): CompiledActor {
  return new CompiledActor(machine, options);
}
