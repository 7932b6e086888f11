/** AdvanceCommand: lets virtual time pass before the next command. */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class AdvanceCommand implements PlanCommand {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    plan.nowMs += this.ms;
  }
  toString(): string {
    return `advance(${this.ms}ms)`;
  }
}
