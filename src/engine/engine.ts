/**
 * Which interpreter runs a world's machines, as a value. Whoever builds a world chooses one (the
 * scenario runner's `engine` option, `fedsim run|fuzz --engine`, the bench, the tests) and the
 * host hands it to every node it creates (`NodeHost.engine`); `startActor` (actor.ts) starts each
 * actor on its host's engine. Nothing is chosen through module state, so two worlds in one process
 * (or one thread of a fuzz campaign) may run on different engines.
 *
 * Two engines run the same machine definitions and give byte-identical traces: `compiled` (the
 * default; transition tables built from the machine, compiled-machine.ts) and `xstate` (xstate's
 * own interpreter). `test/engine/compiled-machine.test.ts` checks it, and `fedsim run --engine
 * xstate` lets anyone check a scenario of their own.
 */
import { createActor, type Actor, type AnyStateMachine, type StateValue } from 'xstate';
import { createCompiledActor } from './compiled-machine.js';
import type { HostClock } from '../core/time.js';

export type EngineKind = 'compiled' | 'xstate';

export const engineKinds: readonly EngineKind[] = ['compiled', 'xstate'];

/** What one actor received, for replaying it under another engine (differential tests). */
export interface ActorRecording {
  readonly machine: AnyStateMachine;
  readonly input: unknown;
  readonly name: string;
  /** In order: an event sent to the actor, or its k-th `setTimeout` (0-based, per actor) firing. */
  readonly steps: Array<{ kind: 'send'; event: { type: string } } | { kind: 'fire'; timer: number }>;
}

/** Handed a recording of every actor started, which grows as the run goes. */
export type ActorTap = (recording: ActorRecording) => void;

/** Told of every actor started: its machine and the name its state changes are reported under. */
export type ActorWatch = (machine: AnyStateMachine, name: string) => void;

export interface Engine {
  readonly kind: EngineKind;
  /** When set, every actor started on this engine is recorded (`startActor` calls it at start). */
  readonly tap?: ActorTap;
  /**
   * When set, told of every actor started on this engine, and nothing more: what a fuzz case's
   * coverage reads. Unlike `tap`, it costs the actor nothing after its start (no recording of
   * its sends and timers, no wrapped `send` or clock).
   */
  readonly watch?: ActorWatch;
}

/** The default: transition tables compiled from the machines. */
export const compiledEngine: Engine = Object.freeze({ kind: 'compiled' });

/** xstate's own interpreter. */
export const xstateEngine: Engine = Object.freeze({ kind: 'xstate' });

export function engineOf(kind: EngineKind): Engine {
  return kind === 'xstate' ? xstateEngine : compiledEngine;
}

/** The same engine (and its watch, if any), with every actor it starts handed to `tap`. */
export function withTap(engine: Engine, tap: ActorTap): Engine {
  return Object.freeze({ ...engine, tap });
}

/** The same engine (and its tap, if any), with every actor it starts named to `watch`. */
export function withWatch(engine: Engine, watch: ActorWatch): Engine {
  return Object.freeze({ ...engine, watch });
}

/** An actor as either engine creates it (not yet started): the members `startActor` uses. */
export interface EngineActor {
  start(): void;
  send(event: { type: string }): void;
  stop(): void;
  getSnapshot(): unknown;
  on: Actor<AnyStateMachine>['on'];
  subscribe(observer: { readonly next?: (snapshot: { value?: StateValue }) => void; readonly complete?: () => void }): {
    unsubscribe(): void;
  };
}

/** Creates (but does not start) an actor for `machine` on `engine`, timers on `clock`. */
export function createEngineActor(
  engine: Engine,
  machine: AnyStateMachine,
  options: { readonly clock: HostClock; readonly input?: unknown },
): EngineActor {
  // Both engines' actors have these members with these meanings; the compiled one types events
  // loosely (any `{ type }`), xstate's by the machine, hence the casts at this one boundary.
  if (engine.kind === 'compiled') {
    return createCompiledActor(machine, { clock: options.clock, input: options.input }) as unknown as EngineActor;
  }
  return createActor(machine, {
    clock: options.clock,
    ...(options.input === undefined ? {} : { input: options.input }),
  } as Parameters<typeof createActor<AnyStateMachine>>[1]) as unknown as EngineActor;
}
