/**
 * LoseAnswerCommand: one user sends to another, and a short while later (`delayMs`) the way back
 * of the message's first hop is cut, one way: what was sent goes through, its answer does not.
 * The sender then times out and retries, and the receiver must take the repeat once: the dedup
 * paths (FMTP's accepted set, F140's delivered ids, SOLEC's seen ids) that a random partition
 * rarely hits at the right moment. Healed by a HealCommand or at the close. Nothing happens when
 * the message crosses no fault host (a local one) or that way back is already cut.
 */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class LoseAnswerCommand implements PlanCommand {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly delayMs: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    const from = plan.user(this.from);
    const to = plan.user(this.to);
    plan.send(from, to);
    const hosts = plan.topology.hosts;
    const hop = plan.profile
      .links(plan.topology, from, to)
      .find(([a, b]) => a !== b && hosts.includes(a) && hosts.includes(b));
    if (hop === undefined || plan.partitioned.has(plan.pairKey(hop[0], hop[1]))) return;
    plan.nowMs += this.delayMs;
    plan.partitioned.set(plan.pairKey(hop[0], hop[1]), [hop[1], hop[0]]);
    plan.add({ atMs: plan.nowMs, do: 'partition', between: [hop[1], hop[0]], oneWay: true }, 'begin');
  }
  toString(): string {
    return `loseAnswer(user ${this.from} -> user ${this.to}, cut back after ${this.delayMs}ms)`;
  }
}
