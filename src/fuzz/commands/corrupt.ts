/** CorruptCommand: the next segment between two hosts arrives with one byte changed, or cut in half. */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class CorruptCommand implements PlanCommand {
  constructor(
    readonly a: number,
    readonly b: number,
    readonly truncate: boolean,
  ) {}
  check(plan: Readonly<Plan>): boolean {
    return plan.host(this.a) !== plan.host(this.b);
  }
  run(plan: Plan): void {
    const between: [string, string] = [plan.host(this.a), plan.host(this.b)];
    plan.add({ atMs: plan.nowMs, do: this.truncate ? 'truncate' : 'corrupt', between }, 'instant');
  }
  toString(): string {
    return `${this.truncate ? 'truncate' : 'corrupt'}(host ${this.a} -> host ${this.b})`;
  }
}
