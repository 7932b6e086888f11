/** SendCommand: one user sends one message (a fresh body `m<n>`) to another at the current time. */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class SendCommand implements PlanCommand {
  constructor(
    readonly from: number,
    readonly to: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    plan.send(plan.user(this.from), plan.user(this.to));
  }
  toString(): string {
    return `send(user ${this.from} -> user ${this.to})`;
  }
}
