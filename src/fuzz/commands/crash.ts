/** CrashCommand: crashes a node (volatile state lost, durable store kept) until RestartCommand. */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class CrashCommand implements PlanCommand {
  constructor(readonly index: number) {}
  private node(plan: Readonly<Plan>): string | undefined {
    const crashable = plan.topology.crashable;
    return crashable[this.index % Math.max(1, crashable.length)];
  }
  check(plan: Readonly<Plan>): boolean {
    const node = this.node(plan);
    return node !== undefined && !plan.crashed.has(node);
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
