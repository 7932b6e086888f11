/**
 * Actions, resolved once into operations (as xstate's `resolveAndExecuteActionsWithContext` does
 * per call): a named action becomes its implementation, the built-ins (`assign`, `emit`, `raise`,
 * `cancel`, `enqueueActions`) direct operations on the actor. Effects that leave the actor
 * (emitting, scheduling, cancelling) are queued on it and applied after the macrostep, in order.
 */
import type { AnyStateMachine, EventObject } from 'xstate';
import { compileGuard, isFunction, paramsOf, type Expr } from './guards.js';
import { UnsupportedMachineError } from './unsupported.js';
import { builtinAction, describeRef, implementationsOf } from './xstate-internals.js';

/** What an action makes happen outside the actor; applied after the macrostep, in order. */
export type Effect =
  | { readonly kind: 'emit'; readonly event: EventObject }
  | { readonly kind: 'schedule'; readonly event: EventObject; readonly delayMs: number; readonly id: string }
  | { readonly kind: 'cancel'; readonly id: string };

/** The part of the compiled actor that operations use (`compiled-actor.ts`). */
export interface ActionTarget {
  /** The machine's context; replaced (never mutated) by each `assign`. */
  readonly context: unknown;
  readonly effects: Effect[];
  readonly internalQueue: EventObject[];
  /** Whether `start` has run (and `stop` has not): custom actions run at once. */
  readonly started: boolean;
  /** Defers a custom action taken before `start` until `start` runs it. */
  deferToStart(run: () => void): void;
  /** The id a delayed raise is scheduled under (xstate makes one up when none is given). */
  timerId(id: unknown): string;
  /** xstate's assign: a new context object, the old one untouched. */
  assign(partial: Record<string, unknown>): void;
}

export type Op = (actor: ActionTarget, event: EventObject) => void;

/** The argument object xstate passes to action implementations and expressions. */
function actionArgs(actor: ActionTarget, event: EventObject): Record<string, unknown> {
  return { context: actor.context, event, self: actor, system: undefined };
}

export function noSpawn(): never {
  throw new UnsupportedMachineError('spawning actors is not supported by the compiled engine');
}

/** Resolves one action reference into an operation. Named references are looked up once, here. */
export function compileAction(ref: unknown, machine: AnyStateMachine): Op {
  const impl = implementationsOf(machine);
  const inline = typeof ref === 'function';
  const resolved = inline ? ref : impl.actions[typeof ref === 'string' ? ref : describeRef(ref)];
  const usesParams = !inline && typeof ref !== 'string';
  const params = (actor: ActionTarget, event: EventObject) =>
    usesParams ? paramsOf(ref, actor.context, event) : undefined;
  // xstate silently skips an action with no implementation; so does this runner.
  if (!isFunction(resolved)) return () => undefined;
  const builtin = builtinAction(resolved);
  if (builtin === undefined) {
    return (actor, event) => {
      // Arguments are taken now, as xstate resolves them, even when the call is deferred to `start`.
      const args = actionArgs(actor, event);
      const p = usesParams ? paramsOf(ref, actor.context, event) : undefined;
      // Run at once when started (no closure per call: this runs on every such transition).
      if (actor.started) resolved(args, p);
      else actor.deferToStart(() => resolved(args, p));
    };
  }
  switch (builtin.kind) {
    case 'assign': {
      const assignment = builtin.assignment;
      return (actor, event) => runAssign(actor, event, assignment, params(actor, event));
    }
    case 'emit': {
      const expr = builtin.event;
      return (actor, event) => runEmit(actor, event, expr, params(actor, event));
    }
    case 'raise': {
      const { event: expr, id, delay } = builtin;
      if (typeof expr === 'string') {
        throw new UnsupportedMachineError(`machine ${machine.id}: raise('${expr}') needs an event object`);
      }
      return (actor, event) => runRaise(actor, event, expr, id, delay, impl.delays, params(actor, event));
    }
    case 'cancel': {
      const sendId = builtin.sendId;
      return (actor, event) => runCancel(actor, event, sendId, params(actor, event));
    }
    case 'enqueueActions': {
      const collect = builtin.collect;
      if (!isFunction(collect))
        throw new UnsupportedMachineError(`machine ${machine.id}: enqueueActions without a body`);
      return (actor, event) => runEnqueued(actor, event, collect, params(actor, event), machine);
    }
    case 'other':
      throw new UnsupportedMachineError(
        `machine ${machine.id}: action '${describeRef(ref)}' (${builtin.type ?? 'unknown'}) is not supported by the compiled engine`,
      );
  }
}

// The built-in actions, as xstate resolves them (`resolveAssign`, `resolveEmit`, ...).

function runAssign(actor: ActionTarget, event: EventObject, assignment: unknown, params: unknown): void {
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

function runEmit(actor: ActionTarget, event: EventObject, expr: unknown, params: unknown): void {
  const emitted = isFunction(expr) ? expr(actionArgs(actor, event), params) : expr;
  actor.effects.push({ kind: 'emit', event: emitted as EventObject });
}

function runRaise(
  actor: ActionTarget,
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

function runCancel(actor: ActionTarget, event: EventObject, sendId: unknown, params: unknown): void {
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

// The collection in progress: set for the length of one body's call by `runEnqueued`, which
// saves and restores them (a body's call never yields, so no other actor can see them).
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
  return compileGuard(guard, implementationsOf(machine), machine.id)(context, event);
}

/** Calls an `enqueueActions` body and returns what it enqueued. */
function collectEnqueued(
  actor: ActionTarget,
  event: EventObject,
  collect: Expr,
  params: unknown,
  machine: AnyStateMachine,
): Enqueued[] {
  const outer = collecting;
  const outerChecking = checking;
  collecting = [];
  checking = { context: actor.context, event, machine };
  try {
    collect({ context: actor.context, event, enqueue, check, self: actor, system: undefined }, params);
    return collecting;
  } finally {
    collecting = outer;
    checking = outerChecking;
  }
}

function runEnqueued(
  actor: ActionTarget,
  event: EventObject,
  collect: Expr,
  params: unknown,
  machine: AnyStateMachine,
): void {
  const enqueued = collectEnqueued(actor, event, collect, params, machine);
  const delays = implementationsOf(machine).delays;
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
