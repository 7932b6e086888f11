/**
 * AttackCommand: a user turns adversary for one step and tries one of its protocol's attacks on
 * another (`FuzzProfile.attack`: a forged sender, a replayed or reordered frame, a wrong
 * challenge; `variant` picks among them). What an attacker sends is never owed to anyone; the
 * profile's invariants say what it must never achieve under the fixed profiles (a delivery in
 * someone else's name, for one). Nothing happens for a profile without attacks.
 */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class AttackCommand implements PlanCommand {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly variant: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    plan.attack(plan.user(this.from), plan.user(this.to), this.variant);
  }
  toString(): string {
    return `attack(user ${this.from} -> user ${this.to}, variant ${this.variant})`;
  }
}
