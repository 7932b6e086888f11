/**
 * CorruptCommand: the next segment on one link (one direction between two hosts) arrives with one
 * byte changed, or cut short. The link is drawn among those that carry traffic in the plan
 * (`Plan.trafficLinks`: the links the sends so far use, which the round at the heal uses again),
 * so the fault acts; before it does, it is armed only. The plan disarms it at the heal, and the
 * damage counts as a fault at the instant it acts (src/fuzz/plan.ts).
 */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class CorruptCommand implements PlanCommand {
  constructor(
    readonly link: number,
    readonly truncate: boolean,
  ) {}
  check(plan: Readonly<Plan>): boolean {
    return plan.trafficLinks().length > 0;
  }
  run(plan: Plan): void {
    const links = plan.trafficLinks();
    const link = links[this.link % links.length];
    if (link === undefined) return;
    plan.arm(this.truncate ? 'truncate' : 'corrupt', link[0], link[1]);
  }
  toString(): string {
    return `${this.truncate ? 'truncate' : 'corrupt'}(link ${this.link})`;
  }
}
