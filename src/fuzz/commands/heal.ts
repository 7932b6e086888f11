/** HealCommand: ends one partition in force (the `index`th, modulo their number). */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class HealCommand implements PlanCommand {
  constructor(readonly index: number) {}
  check(plan: Readonly<Plan>): boolean {
    return plan.partitioned.size > 0;
  }
  run(plan: Plan): void {
    const keys = [...plan.partitioned.keys()];
    const key = keys[this.index % keys.length] ?? '';
    const pair = plan.partitioned.get(key);
    if (pair === undefined) return;
    plan.partitioned.delete(key);
    plan.add({ atMs: plan.nowMs, do: 'heal', between: [pair[0], pair[1]] }, 'end');
  }
  toString(): string {
    return `heal(partition ${this.index})`;
  }
}
