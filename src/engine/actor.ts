/**
 * Runs a protocol's xstate machine inside a node, sans-IO: the actor's `after` timers use the
 * host's injected clock, its emitted `output` events become the node's outputs, and its state
 * changes (read from the root actor's snapshots) are reported to the host for the trace.
 *
 * Each actor runs on its host's engine (`NodeHost.engine`, engine.ts): `compiled` or `xstate`,
 * chosen by whoever built the world, with the same traces either way.
 *
 * What must not leak into a trace: xstate session ids (process-global counters) and the
 * scheduler's wall-clock `startedAt`. Nothing here passes either on; state changes are reported
 * under the machine's own id, and delayed events should be named (`after` names its own).
 */
import type { Actor, AnyStateMachine, ContextFrom, EventFromLogic, InputFrom, StateValue } from 'xstate';
import { createEngineActor, type ActorRecording } from './engine.js';
import type { HostClock, NodeHost, NodeOutput } from '../protocols/protocol.js';

/** The event a machine emits (`emit(...)`) to produce a node output. */
export interface OutputEvent {
  readonly type: 'output';
  readonly output: NodeOutput;
}

/** Wraps a node output as an emitted event: `emit(({ context }) => output({ kind: 'write', ... }))`. */
export function output(value: NodeOutput): OutputEvent {
  return { type: 'output', output: value };
}

/**
 * A state value as the statechart names it: `idle`, `connected.verifying`, or for parallel states
 * `lookup.owner, link.open` (regions in definition order).
 */
export function stateName(value: StateValue): string {
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  for (const [region, child] of Object.entries(value)) {
    if (child === undefined) continue;
    const inner = stateName(child as StateValue);
    // A region whose child is an empty object is a leaf: name it alone.
    parts.push(inner === '' ? region : `${region}.${inner}`);
  }
  return parts.join(', ');
}

/** The part of an actor's API nodes use; both engines provide it. */
export interface MachineActor<TMachine extends AnyStateMachine> {
  send(event: EventFromLogic<TMachine>): void;
  stop(): void;
  getSnapshot(): {
    readonly value: StateValue;
    readonly status: 'active' | 'done' | 'stopped' | 'error';
    readonly context: ContextFrom<TMachine>;
  };
  on: Actor<TMachine>['on'];
  /** `complete` is called once the actor stops (a final state reached, or `stop`). */
  subscribe(observer: { readonly complete?: () => void }): { unsubscribe(): void };
}

export interface StartActorOptions<TMachine extends AnyStateMachine> {
  readonly input?: InputFrom<TMachine>;
  /** The name state changes are reported under; defaults to the machine id. Give one per instance when a node runs several. */
  readonly name?: string;
  /**
   * Listeners for other emitted event types (besides `output`), registered before the actor
   * starts so that nothing emitted by its entry actions is missed.
   */
  readonly on?: Readonly<Record<string, (event: { type: string }) => void>>;
}

/** A clock that records, for the tap, which of the actor's timers fired. */
function tappedClock(clock: HostClock, steps: ActorRecording['steps']): HostClock {
  let timers = 0;
  return {
    setTimeout: (fn, timeoutMs) => {
      const timer = timers++;
      return clock.setTimeout(() => {
        steps.push({ kind: 'fire', timer });
        fn();
      }, timeoutMs);
    },
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
}

/**
 * Creates and starts an actor for `machine` on `host`. The caller sends it events and stops it
 * in `ProtocolNode.stop()`.
 */
export function startActor<TMachine extends AnyStateMachine>(
  machine: TMachine,
  host: NodeHost,
  options: StartActorOptions<TMachine> = {},
): MachineActor<TMachine> {
  const name = options.name ?? machine.id;
  const { tap, watch } = host.engine;
  watch?.(machine, name);
  let lastState: string | undefined;
  const steps: ActorRecording['steps'] = [];
  if (tap !== undefined) tap({ machine, input: options.input, name, steps });
  const clock = tap === undefined ? host.clock : tappedClock(host.clock, steps);
  const actor = createEngineActor(host.engine, machine, { clock, input: options.input });
  // State changes are read from the root actor's own snapshots, not through xstate's inspection
  // API: with an inspector xstate builds and dispatches an inspection event for every event,
  // microstep and action of every actor (a tenth of a federation's time). A subscriber sees the
  // same root snapshots at the same points (start, and after each processed event), and nothing
  // it records can interleave differently: the subscriptions the nodes add (`complete` only)
  // emit nothing. Registered before `start`, so the initial state is reported.
  actor.subscribe({
    next: (snapshot) => {
      if (snapshot.value === undefined) return;
      const value = typeof snapshot.value === 'string' ? snapshot.value : cachedName(snapshot.value);
      if (value === lastState) return;
      lastState = value;
      host.stateChanged(name, value);
    },
  });
  const on = actor.on.bind(actor) as (type: string, listener: (event: { type: string }) => void) => void;
  on('output', (event) => host.emit((event as OutputEvent).output));
  for (const [type, listener] of Object.entries(options.on ?? {})) on(type, listener);
  if (tap !== undefined) {
    const send = actor.send.bind(actor);
    actor.send = (event) => {
      steps.push({ kind: 'send', event });
      send(event);
    };
  }
  actor.start();
  return actor as unknown as MachineActor<TMachine>;
}

/** Nested state values are objects; their names are worked out once per distinct value object. */
const objectNames = new WeakMap<object, string>();
function cachedName(value: Exclude<StateValue, string>): string {
  let name = objectNames.get(value);
  if (name === undefined) {
    name = stateName(value);
    objectNames.set(value, name);
  }
  return name;
}
