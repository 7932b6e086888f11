/**
 * Runs a protocol's xstate machine inside a node, sans-IO: the actor's `after` timers use the
 * host's injected clock, its emitted `output` events become the node's outputs, and its state
 * changes (read from the root actor's snapshots) are reported to the host for the trace.
 *
 * What must not leak into a trace: xstate session ids (process-global counters) and the
 * scheduler's wall-clock `startedAt`. Nothing here passes either on; state changes are reported
 * under the machine's own id, and delayed events should be named (`after` names its own).
 */
import { createActor, type Actor, type AnyStateMachine, type InputFrom, type StateValue } from 'xstate';
import type { NodeHost, NodeOutput } from './protocol.js';

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

/**
 * Creates and starts an actor for `machine` on `host`. The caller sends it events and stops it
 * in `ProtocolNode.stop()`.
 */
export function startActor<TMachine extends AnyStateMachine>(
  machine: TMachine,
  host: NodeHost,
  options: StartActorOptions<TMachine> = {},
): Actor<TMachine> {
  const name = options.name ?? machine.id;
  let lastState: string | undefined;
  const actor = createActor(machine, {
    clock: host.clock,
    ...(options.input === undefined ? {} : { input: options.input }),
  } as Parameters<typeof createActor<TMachine>>[1]);
  // State changes are read from the root actor's own snapshots, not through xstate's inspection
  // API: with an inspector xstate builds and dispatches an inspection event for every event,
  // microstep and action of every actor (a tenth of a federation's time). A subscriber sees the
  // same root snapshots at the same points (start, and after each processed event), and nothing
  // it records can interleave differently: the subscriptions the nodes add (`complete` only)
  // emit nothing. Registered before `start`, so the initial state is reported.
  actor.subscribe({
    next: (snapshot: { value?: StateValue }) => {
      if (snapshot.value === undefined) return;
      const value = stateName(snapshot.value);
      if (value === lastState) return;
      lastState = value;
      host.stateChanged(name, value);
    },
  });
  actor.on('output', (event: OutputEvent) => host.emit(event.output));
  for (const [type, listener] of Object.entries(options.on ?? {})) {
    // xstate types `on` by the machine's emitted events; these listeners take any event object.
    (actor.on as (type: string, listener: (event: { type: string }) => void) => void)(type, listener);
  }
  actor.start();
  return actor;
}
