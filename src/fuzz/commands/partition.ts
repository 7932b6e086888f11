/** PartitionCommand: cuts two hosts apart (both ways, or one way) until a HealCommand. */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class PartitionCommand implements PlanCommand {
  constructor(
    readonly a: number,
    readonly b: number,
    readonly oneWay: boolean,
  ) {}
  check(plan: Readonly<Plan>): boolean {
    const a = plan.host(this.a);
    const b = plan.host(this.b);
    return a !== b && !plan.partitioned.has(plan.pairKey(a, b));
  }
  run(plan: Plan): void {
    const a = plan.host(this.a);
    const b = plan.host(this.b);
    plan.partitioned.set(plan.pairKey(a, b), [a, b]);
    plan.add({ atMs: plan.nowMs, do: 'partition', between: [a, b], ...(this.oneWay ? { oneWay: true } : {}) }, 'begin');
  }
  toString(): string {
    return `partition(host ${this.a}, host ${this.b}${this.oneWay ? ', one way' : ''})`;
  }
}
