/**
 * The compiled actor: runs a compiled machine (`compile.ts`) with the part of xstate's `Actor`
 * API fedsim's nodes use. The run-time semantics follow xstate 5's `macrostep`/`microstep`
 * (SCXML): eventless transitions after every microstep while the snapshot changes, raised events
 * in the same macrostep, done-state events for final children, and a root final state that runs
 * every active state's exit actions and stops the actor. Custom actions run while a transition
 * resolves; emitted events, timer scheduling and cancelling run after the macrostep, in order,
 * then state observers are told.
 */
import type { AnyStateMachine, EventObject, StateValue } from 'xstate';
import { noSpawn, type ActionTarget, type Effect, type Op } from './actions.js';
import { compileMachine, type CNode, type CompiledMachine, type CTransition, type Plan } from './compile.js';
import { isFunction } from './guards.js';
import { contextOf } from './xstate-internals.js';
import type { HostClock } from '../core/time.js';

const xstateInit = 'xstate.init';
const xstateStop = 'xstate.stop';

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

/** One `on` registration: the entry itself is its identity, so the same function twice is two listeners. */
interface ListenerEntry {
  readonly type: string;
  readonly listener: Listener;
}

/** What an actor without observers holds (shared: observer lists are replaced, never changed in place). */
const noObservers: readonly Observer[] = Object.freeze([]);

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
export class CompiledActor implements ActionTarget {
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
  // A federation holds millions of actors, most of them idle: what an actor needs only now and
  // then (events waiting, deferred actions, timers, listeners) is made when first needed, and
  // lists that rarely change are copied at their exact size instead of grown in place.
  /** Events waiting their turn; undefined when none are. */
  private mailbox: EventObject[] | undefined;
  private initCustom: (() => void)[] | undefined;
  /** Pending delayed events: id, clock handle, id, handle, ... in the order first set (a Map's order; an actor holds a few at most). */
  private timers: unknown[] | undefined;
  /** `on` registrations in order; replaced (never changed in place) by `on` and `unsubscribe`. */
  private listeners: readonly ListenerEntry[] | undefined;
  private observers: readonly Observer[] = noObservers;
  private timerCount = 0;
  private readonly compiled: CompiledMachine;
  private readonly clock: HostClock;

  constructor(machine: AnyStateMachine, options: CompiledActorOptions) {
    this.compiled = compileMachine(machine);
    this.clock = options.clock;
    this.leaf = this.compiled.root;
    const init: EventObject = { type: xstateInit, input: options.input } as EventObject;
    // The context factory runs as an assign, then the initial microstep, then a macrostep on the init event.
    const context = contextOf(machine);
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
    (this.initCustom ??= []).push(run);
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
      const deferred = this.initCustom ?? [];
      this.initCustom = undefined;
      for (const run of deferred) run();
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
    // Nothing waiting and nothing running: the event is processed at once, without a mailbox.
    if (this.running && !this.processing && this.mailbox === undefined) return this.drain(event);
    (this.mailbox ??= []).push(event);
    if (this.running && !this.processing) this.drain();
  }

  stop(): this {
    if (this.stopped) return this;
    if (!this.running) {
      this.mailbox = undefined;
      this.stopped = true;
      return this;
    }
    this.mailbox = [{ type: xstateStop }];
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
    // An entry per registration, as xstate binds each handler: the same function twice is two listeners.
    const entry: ListenerEntry = { type, listener };
    this.listeners = this.listeners === undefined ? [entry] : appended(this.listeners, entry);
    return {
      unsubscribe: () => {
        const listeners = this.listeners;
        if (listeners?.includes(entry)) {
          const rest = listeners.filter((each) => each !== entry);
          this.listeners = rest.length === 0 ? undefined : rest;
        }
      },
    };
  }

  subscribe(observer: Observer): { unsubscribe(): void } {
    if (this.stopped) {
      if (this.status === 'done') observer.complete?.();
      return { unsubscribe: () => undefined };
    }
    this.observers = appended(this.observers, observer);
    return {
      unsubscribe: () => {
        this.observers = this.observers.filter((o) => o !== observer);
      },
    };
  }

  // Processing.

  /** Processes `first` (if given), then every event waiting, in order. */
  private drain(first?: EventObject): void {
    this.processing = true;
    try {
      if (first !== undefined) this.process(first);
      while (this.mailbox !== undefined && !this.stopped) {
        const event = this.mailbox.shift();
        if (this.mailbox.length === 0) this.mailbox = undefined;
        if (event !== undefined) this.process(event);
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
      this.observers = noObservers;
      this.listeners = undefined;
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
    const effects = this.effects;
    // Most events leave no effect: the list is truncated only when something was in it (setting
    // an array's length is a call into the runtime).
    if (effects.length > 0) {
      for (let i = 0; i < effects.length; i++) {
        const err = this.apply(effects[i] as Effect);
        if (err !== undefined) failure ??= err;
      }
      effects.length = 0;
    }
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
        const listeners = this.listeners;
        if (listeners === undefined) return undefined;
        const type = effect.event.type;
        // Listeners of the event's type in order, then those of every type (`*`), as xstate calls them.
        let count = 0;
        let only: Listener | undefined;
        for (const entry of listeners) {
          // An entry of type `*` counts twice when the event's type is `*` itself, as in xstate.
          const matches = (entry.type === type ? 1 : 0) + (entry.type === '*' ? 1 : 0);
          if (matches === 0) continue;
          count += matches;
          only = entry.listener;
        }
        if (count === 0) return undefined;
        let failure: { err: unknown } | undefined;
        if (count === 1 && only !== undefined) {
          // One listener (the usual case): called without building a list, with the same effect.
          try {
            only(effect.event);
          } catch (err) {
            failure = { err };
          }
          return failure;
        }
        // A list of its own, as xstate takes a copy: a listener that unsubscribes does not skip the next.
        const all: Listener[] = [];
        for (const entry of listeners) if (entry.type === type) all.push(entry.listener);
        for (const entry of listeners) if (entry.type === '*') all.push(entry.listener);
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
          this.forgetTimer(id);
          this.receive(event);
        }, delayMs);
        const timers = (this.timers ??= []);
        const at = this.timerIndex(id);
        // As Map.set: a timer set again under its id keeps its place.
        if (at >= 0) timers[at + 1] = handle;
        else timers.push(id, handle);
        return undefined;
      }
      case 'cancel':
        this.cancel(effect.id);
        return undefined;
    }
  }

  /** Where timer `id` is in `timers` (an even index), or -1. */
  private timerIndex(id: string): number {
    const timers = this.timers;
    if (timers !== undefined) for (let i = 0; i < timers.length; i += 2) if (timers[i] === id) return i;
    return -1;
  }

  /** Drops timer `id` from the pending ones; returns its clock handle (undefined if none). */
  private forgetTimer(id: string): unknown {
    const timers = this.timers;
    if (timers === undefined) return undefined;
    const at = this.timerIndex(id);
    if (at < 0) return undefined;
    const handle = timers[at + 1];
    // An actor holds one timer at a time, as a rule: the list is then dropped, not spliced.
    if (timers.length === 2) this.timers = undefined;
    else timers.splice(at, 2);
    return handle;
  }

  private cancel(id: string): void {
    const handle = this.forgetTimer(id);
    if (handle !== undefined) this.clock.clearTimeout(handle);
  }

  private stopProcedure(): void {
    if (!this.running) return;
    // The ids first: cancelling takes each out of the list.
    const ids = (this.timers ?? []).filter((_, i) => i % 2 === 0) as string[];
    for (const id of ids) this.cancel(id);
    this.mailbox = undefined;
    this.running = false;
    this.stopped = true;
  }

  private complete(): void {
    for (const observer of this.observers) observer.complete?.();
    this.observers = noObservers;
    this.listeners = undefined;
  }
}

/**
 * `list` and `item` in a new array: `concat` with an item that is not an array takes V8's generic
 * C++ path (it looks the item up for `Symbol.isConcatSpreadable`), a cost every actor's start paid.
 */
function appended<T>(list: readonly T[], item: T): T[] {
  return list.length === 0 ? [item] : [...list, item];
}

function resolveOutput(mapper: unknown, context: unknown, event: EventObject, self: CompiledActor): unknown {
  return isFunction(mapper) ? mapper({ context, event, self }, undefined) : mapper;
}

/** Creates (but does not start) an actor running `machine` on the compiled engine. */
export function createCompiledActor(machine: AnyStateMachine, options: CompiledActorOptions): CompiledActor {
  return new CompiledActor(machine, options);
}
