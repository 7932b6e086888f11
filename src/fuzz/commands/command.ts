/**
 * The shape of a fuzzer command: a fast-check model-based command over a `Plan`. Model and real
 * system are the same plan: a command only appends scenario steps at the plan's current virtual
 * time, and the whole plan runs once, as a scenario, after the last command. `toString()` names
 * the scenario step, so fast-check's counterexample reads like the file it becomes.
 */
import type fc from 'fast-check';
import type { Plan } from '../plan.js';

export type PlanCommand = fc.Command<Plan, Plan>;
