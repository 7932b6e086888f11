/**
 * GroupSendCommand: one user sends one message (a fresh body `m<n>`) to one of its groups, with one
 * command (F140's `broadcast`, spec.md §1): the profile says which members it is owed to
 * (`FuzzProfile.groupSend`), and the plan owes it to each of them as a send to that member. Drawn
 * only for a profile with group sends; a user with no group sends nothing.
 */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class GroupSendCommand implements PlanCommand {
  constructor(
    readonly from: number,
    readonly group: number,
  ) {}
  check(plan: Readonly<Plan>): boolean {
    return plan.profile.groupSend !== undefined;
  }
  run(plan: Plan): void {
    plan.groupSend(plan.user(this.from), this.group);
  }
  toString(): string {
    return `groupSend(user ${this.from} -> group ${this.group})`;
  }
}
