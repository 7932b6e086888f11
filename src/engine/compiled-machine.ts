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
 * The modules, one job each: `xstate-internals.ts` (every read of xstate's resolved machine),
 * `chart.ts` (exit and entry sets, candidate order), `guards.ts` and `actions.ts` (references
 * resolved into closures and operations), `compile.ts` (the tables), `compiled-actor.ts` (the
 * run-time). This module is their public face.
 *
 * `test/engine/compiled-machine.test.ts` checks this runner against xstate's interpreter:
 * every actor of every bundled scenario replayed under both, random event sequences per machine
 * (fast-check), and every bundled scenario's trace byte-identical under both engines.
 */
export { UnsupportedMachineError } from './unsupported.js';
export { compileMachine, type CompiledMachine } from './compile.js';
export {
  CompiledActor,
  createCompiledActor,
  type CompiledActorOptions,
  type CompiledSnapshot,
  type CompiledStatus,
} from './compiled-actor.js';
