/**
 * Compiles a machine into the tables the compiled actor runs: per state node its entry, exit and
 * initial operations and its state value; per (leaf, event type) the candidate transitions in
 * xstate's order; per (leaf, transition) the exit and entry plan. Built from xstate's resolved
 * state-node tree (`xstate-internals.ts`), once per machine object; candidates and plans on first
 * use. Anything the compiled engine does not run is refused here with an `UnsupportedMachineError`.
 */
import type { AnyStateMachine, StateValue } from 'xstate';
import { compileAction, type Op } from './actions.js';
import { candidatesOf, initialTransition, planOf, valueOf, type ChartPlan } from './chart.js';
import { compileGuard, type Guard } from './guards.js';
import { UnsupportedMachineError } from './unsupported.js';
import { chartOf, implementationsOf, type ChartNode, type ChartTransition } from './xstate-internals.js';

/** A plan in compiled nodes: what a transition from one leaf exits and enters, and the leaf it ends in. */
export interface Plan {
  readonly exit: readonly CNode[];
  readonly enter: readonly { readonly node: CNode; readonly defaultEntry: boolean }[];
  readonly leaf: CNode;
}

export class CTransition {
  readonly guard: Guard | undefined;
  readonly actions: readonly Op[];
  private readonly plans = new Map<CNode, Plan>();

  constructor(
    readonly x: ChartTransition,
    private readonly compiled: CompiledMachine,
  ) {
    const machine = compiled.machine;
    this.guard = x.guard === undefined ? undefined : compileGuard(x.guard, implementationsOf(machine), machine.id);
    this.actions = x.actions.map((action) => compileAction(action, machine));
    if ((x.target?.length ?? 0) > 1) {
      throw new UnsupportedMachineError(`machine ${machine.id}: a transition with several targets`);
    }
  }

  /** What taking this transition from `leaf` exits and enters (cached per leaf). */
  planFrom(leaf: CNode): Plan {
    let plan = this.plans.get(leaf);
    if (plan === undefined) {
      plan = this.compiled.plan(this.x, new Set(leaf.path), false);
      this.plans.set(leaf, plan);
    }
    return plan;
  }
}

export class CNode {
  readonly parent: CNode | undefined;
  /** Root first, this node last. */
  readonly path: readonly ChartNode[];
  readonly entry: readonly Op[];
  readonly exit: readonly Op[];
  readonly initialActions: readonly Op[];
  readonly value: StateValue;
  private readonly candidates = new Map<string, readonly CTransition[]>();
  private eventlessCache: readonly CTransition[] | undefined;

  constructor(
    readonly x: ChartNode,
    private readonly compiled: CompiledMachine,
  ) {
    const machine = compiled.machine;
    if (x.type === 'parallel' || x.type === 'history') {
      throw new UnsupportedMachineError(`machine ${machine.id}: ${x.type} state ${x.id} is not supported`);
    }
    if (x.invokes > 0) throw new UnsupportedMachineError(`machine ${machine.id}: invoke in state ${x.id}`);
    this.parent = x.parent === undefined ? undefined : compiled.node(x.parent);
    this.path = [...(this.parent?.path ?? []), x];
    this.entry = x.entry.map((action) => compileAction(action, machine));
    this.exit = x.exit.map((action) => compileAction(action, machine));
    this.initialActions = (x.initial?.actions ?? []).map((action) => compileAction(action, machine));
    this.value = valueOf(this.path);
  }

  /** The transitions an event can take from this leaf, in xstate's order: this node's, then each ancestor's. */
  candidatesFor(type: string): readonly CTransition[] {
    const cached = this.candidates.get(type);
    if (cached !== undefined) return cached;
    const list: CTransition[] = [];
    for (let node: ChartNode | undefined = this.x; node !== undefined; node = node.parent) {
      for (const t of candidatesOf(node, type)) list.push(this.compiled.transition(t));
    }
    this.candidates.set(type, list);
    return list;
  }

  get eventless(): readonly CTransition[] {
    if (this.eventlessCache === undefined) {
      const list: CTransition[] = [];
      for (let node: ChartNode | undefined = this.x; node !== undefined; node = node.parent) {
        for (const t of node.always) list.push(this.compiled.transition(t));
      }
      this.eventlessCache = list;
    }
    return this.eventlessCache;
  }
}

export class CompiledMachine {
  readonly root: CNode;
  readonly initialPlan: Plan;
  private readonly nodes = new Map<ChartNode, CNode>();
  private readonly transitions = new Map<ChartTransition, CTransition>();

  constructor(readonly machine: AnyStateMachine) {
    const root = chartOf(machine);
    this.root = this.node(root);
    // Compile every node and transition up front, so an unsupported feature is reported now.
    const visit = (node: ChartNode): void => {
      this.node(node);
      for (const list of node.transitions.values()) for (const t of list) this.transition(t);
      for (const t of node.always) this.transition(t);
      for (const child of node.children) visit(child);
    };
    visit(root);
    this.initialPlan = this.plan(initialTransition(root), new Set([root]), true);
  }

  node(x: ChartNode): CNode {
    let node = this.nodes.get(x);
    if (node === undefined) {
      node = new CNode(x, this);
      this.nodes.set(x, node);
    }
    return node;
  }

  transition(x: ChartTransition): CTransition {
    let t = this.transitions.get(x);
    if (t === undefined) {
      t = new CTransition(x, this);
      this.transitions.set(x, t);
    }
    return t;
  }

  /** `planOf` in compiled nodes. */
  plan(t: ChartTransition, active: ReadonlySet<ChartNode>, isInitial: boolean): Plan {
    const plan: ChartPlan = planOf(this.root.x, t, active, isInitial);
    return {
      exit: plan.exit.map((node) => this.node(node)),
      enter: plan.enter.map(({ node, defaultEntry }) => ({ node: this.node(node), defaultEntry })),
      leaf: this.node(plan.leaf),
    };
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
