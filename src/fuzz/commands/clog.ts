/** ClogCommand: holds everything between two hosts (a slow link, never a reset) until UnclogCommand. */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class ClogCommand implements PlanCommand {
  constructor(
    readonly a: number,
    readonly b: number,
  ) {}
  check(plan: Readonly<Plan>): boolean {
    const a = plan.host(this.a);
    const b = plan.host(this.b);
    return a !== b && !plan.clogged.has(plan.pairKey(a, b));
  }
  run(plan: Plan): void {
    const a = plan.host(this.a);
    const b = plan.host(this.b);
    plan.clogged.set(plan.pairKey(a, b), [a, b]);
    plan.add({ atMs: plan.nowMs, do: 'clog', between: [a, b] }, 'begin');
  }
  toString(): string {
    return `clog(host ${this.a}, host ${this.b})`;
  }
}
