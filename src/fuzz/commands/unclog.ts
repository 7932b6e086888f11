/** UnclogCommand: releases one clogged link (the `index`th, modulo their number). */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class UnclogCommand implements PlanCommand {
  constructor(readonly index: number) {}
  check(plan: Readonly<Plan>): boolean {
    return plan.clogged.size > 0;
  }
  run(plan: Plan): void {
    const keys = [...plan.clogged.keys()];
    const key = keys[this.index % keys.length] ?? '';
    const pair = plan.clogged.get(key);
    if (pair === undefined) return;
    plan.clogged.delete(key);
    plan.add({ atMs: plan.nowMs, do: 'unclog', between: [pair[0], pair[1]] }, 'end');
  }
  toString(): string {
    return `unclog(link ${this.index})`;
  }
}
