/** RestartCommand: restarts one crashed node (the `index`th, modulo their number) over its store. */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class RestartCommand implements PlanCommand {
  constructor(readonly index: number) {}
  check(plan: Readonly<Plan>): boolean {
    return plan.crashed.size > 0;
  }
  run(plan: Plan): void {
    const nodes = [...plan.crashed];
    const node = nodes[this.index % nodes.length];
    if (node === undefined) return;
    plan.crashed.delete(node);
    plan.add({ atMs: plan.nowMs, do: 'restart', node }, 'end');
  }
  toString(): string {
    return `restart(crashed ${this.index})`;
  }
}
