/**
 * The shape of a fuzzer command: a fast-check model-based command over a `Plan`. Model and real
 * system are the same plan: a command only appends scenario steps at the plan's current virtual
 * time, and the whole plan runs once, as a scenario, after the last command. `toString()` names
 * the scenario step, so fast-check's counterexample reads like the file it becomes.
 */
import type fc from 'fast-check';
import type { Plan } from '../plan.js';

export type PlanCommand = fc.Command<Plan, Plan>;

/** The crashable node a command's drawn `index` names (modulo their number), if the topology has any. */
export function crashableNode(plan: Readonly<Plan>, index: number): string | undefined {
  const crashable = plan.topology.crashable;
  return crashable[index % Math.max(1, crashable.length)];
}

/** Whether that node exists and is up: a crash of it can be drawn. */
export function canCrash(plan: Readonly<Plan>, index: number): boolean {
  const node = crashableNode(plan, index);
  return node !== undefined && !plan.crashed.has(node);
}
