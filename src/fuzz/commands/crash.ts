/** CrashCommand: crashes a node (volatile state lost, durable store kept) until RestartCommand. */
import type { Plan } from '../plan.js';
import { canCrash, crashableNode, type PlanCommand } from './command.js';

export class CrashCommand implements PlanCommand {
  constructor(readonly index: number) {}
  private node(plan: Readonly<Plan>): string | undefined {
    return crashableNode(plan, this.index);
  }
  check(plan: Readonly<Plan>): boolean {
    return canCrash(plan, this.index);
  }
  run(plan: Plan): void {
    const node = this.node(plan);
    if (node === undefined) return;
    plan.crashed.add(node);
    plan.add({ atMs: plan.nowMs, do: 'crash', node }, 'begin');
  }
  toString(): string {
    return `crash(node ${this.index})`;
  }
}
