/**
 * BounceCommand: crashes a node and restarts it `downMs` later (a few ms to a few seconds), before
 * its peers notice (they reset their connections to it only `resetTimeoutMs` after the crash,
 * 3 s or 10 s). Sends that follow land on a node that restarted while its peers still hold the
 * old connections: the phase a crash and a far-off restart never reach.
 */
import type { Plan } from '../plan.js';
import { canCrash, crashableNode, type PlanCommand } from './command.js';

export class BounceCommand implements PlanCommand {
  constructor(
    readonly index: number,
    readonly downMs: number,
  ) {}
  private node(plan: Readonly<Plan>): string | undefined {
    return crashableNode(plan, this.index);
  }
  check(plan: Readonly<Plan>): boolean {
    return canCrash(plan, this.index);
  }
  run(plan: Plan): void {
    const node = this.node(plan);
    if (node === undefined) return;
    plan.add({ atMs: plan.nowMs, do: 'crash', node }, 'begin');
    plan.nowMs += this.downMs;
    plan.add({ atMs: plan.nowMs, do: 'restart', node }, 'end');
  }
  toString(): string {
    return `bounce(node ${this.index}, down ${this.downMs}ms)`;
  }
}
