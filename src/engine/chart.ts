/**
 * The statechart's shape, worked out as xstate's microstep does: which states a transition exits
 * and enters (`computeExitSet`, `computeEntrySet`, `getTransitionDomain`), which transitions an
 * event can take from a state (`getCandidates`), and the state value of an active path. Pure
 * functions of the mirrored state-node tree; `compile.ts` runs them once per (state, transition)
 * or (state, event type) and caches the answer.
 */
import type { StateValue } from 'xstate';
import type { ChartNode, ChartTransition } from './xstate-internals.js';

/** A transition's (or the initial microstep's) effect on the active states. */
export interface ChartPlan {
  /** Deepest first. */
  readonly exit: readonly ChartNode[];
  /** Outermost first; `defaultEntry` marks a state entered by default (its initial actions run). */
  readonly enter: readonly { readonly node: ChartNode; readonly defaultEntry: boolean }[];
  /** The active leaf afterwards. */
  readonly leaf: ChartNode;
}

/** The transition of xstate's initial microstep: a reentering transition from the root to its initial states. */
export function initialTransition(root: ChartNode): ChartTransition {
  const targets: ChartNode[] = [];
  for (let node: ChartNode | undefined = root; node !== undefined; node = node.initial?.target[0]) {
    targets.push(node);
    if (node.type !== 'compound') break;
  }
  return { source: root, target: targets, reenter: true, guard: undefined, actions: [] };
}

export function isDescendant(child: ChartNode, parent: ChartNode | undefined): boolean {
  let marker = child;
  while (marker.parent !== undefined && marker.parent !== parent) marker = marker.parent;
  return marker.parent === parent;
}

function properAncestors(node: ChartNode, to: ChartNode | undefined): ChartNode[] {
  const ancestors: ChartNode[] = [];
  if (to === node) return ancestors;
  for (let m = node.parent; m !== undefined && m !== to; m = m.parent) ancestors.push(m);
  return ancestors;
}

function transitionDomain(t: ChartTransition, root: ChartNode): ChartNode | undefined {
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

function addDescendantsToEnter(node: ChartNode, defaultEntry: Set<ChartNode>, toEnter: Set<ChartNode>): void {
  if (node.type !== 'compound') return;
  const initial = node.initial?.target[0];
  if (initial === undefined) throw new Error(`state ${node.id} has no initial state`);
  toEnter.add(initial);
  defaultEntry.add(initial);
  addDescendantsToEnter(initial, defaultEntry, toEnter);
  for (const ancestor of properAncestors(initial, node)) toEnter.add(ancestor);
}

/** What taking `t` with `active` the active states exits and enters, and the leaf it ends in. */
export function planOf(
  root: ChartNode,
  t: ChartTransition,
  active: ReadonlySet<ChartNode>,
  isInitial: boolean,
): ChartPlan {
  const targets = t.target ?? [];
  const exit = new Set<ChartNode>();
  const toEnter = new Set<ChartNode>();
  const defaultEntry = new Set<ChartNode>();
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
  const byOrder = (direction: number) => (a: ChartNode, b: ChartNode) => direction * (a.order - b.order);
  return {
    exit: [...exit].sort(byOrder(-1)),
    enter: [...toEnter].sort(byOrder(1)).map((node) => ({ node, defaultEntry: defaultEntry.has(node) })),
    leaf,
  };
}

/** xstate's `getCandidates`: exact match first, then wildcard descriptors, longest first. */
export function candidatesOf(node: ChartNode, type: string): readonly ChartTransition[] {
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
export function valueOf(path: readonly ChartNode[]): StateValue {
  const below = path.slice(1);
  if (below.length === 0) return {};
  let value: StateValue = (below[below.length - 1] as ChartNode).key;
  for (let i = below.length - 2; i >= 0; i--) value = { [(below[i] as ChartNode).key]: value };
  return value;
}
