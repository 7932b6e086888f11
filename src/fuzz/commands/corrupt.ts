/**
 * CorruptCommand: the next segment from one host to another arrives with one byte changed, or cut
 * in half. It acts whenever that link next carries bytes, maybe never; the plan disarms it at the
 * heal, and the damage counts as a fault at the instant it acts (src/fuzz/plan.ts).
 */
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
    plan.arm(this.truncate ? 'truncate' : 'corrupt', plan.host(this.a), plan.host(this.b));
  }
  toString(): string {
    return `${this.truncate ? 'truncate' : 'corrupt'}(host ${this.a} -> host ${this.b})`;
  }
}
