/**
 * RestartWindowCommand: sends aimed at the phases around a crash that random draws rarely line up
 * with. A node crashes; `duringPct` of its downtime later, a user elsewhere sends to a user of that
 * node (the node is down and its peers have not noticed: they keep their old connections until the
 * network resets them, `resetTimeoutMs` after the crash, 3 s or 10 s); the node restarts
 * `downPct` percent of that reset timeout after the crash (1 to 120: mostly before its peers
 * notice, sometimes just after); then, `backMs` (0 to 1 s) after the restart, its user sends to the
 * other and the other to it again, within its first second back. What each message is owed is the
 * protocol's promise under faults (`DeliveryPromise.underFaults`, with the crash's span and the
 * peers' reset, src/fuzz/faults.ts), or its durable queue: the command only places the sends.
 *
 * A generator of its own, generic (every protocol), kept apart from `bounce` and `around`, which
 * place no sends after the restart.
 */
import { resetMs } from '../faults.js';
import type { Plan } from '../plan.js';
import type { FuzzUser } from '../profile.js';
import { canCrash, crashableNode, type PlanCommand } from './command.js';

export class RestartWindowCommand implements PlanCommand {
  constructor(
    readonly index: number,
    readonly from: number,
    readonly to: number,
    /** When the node restarts, in percent of the network's reset timeout after the crash (1 to 120). */
    readonly downPct: number,
    /** When the send to the down node goes, in percent of its downtime (0 to 99). */
    readonly duringPct: number,
    /** When the sends after the restart go, in ms after it (0 to 1,000). */
    readonly backMs: number,
  ) {}
  private node(plan: Readonly<Plan>): string | undefined {
    return crashableNode(plan, this.index);
  }
  check(plan: Readonly<Plan>): boolean {
    return canCrash(plan, this.index);
  }
  /** A user of the crashed node (else any), and a user elsewhere (else any other). */
  private users(plan: Plan, node: string): readonly [FuzzUser, FuzzUser] {
    const all = plan.topology.users;
    const local = all.filter((user) => user.node === node);
    const to = local[this.to % Math.max(1, local.length)] ?? plan.user(this.to);
    const others = all.filter((user) => user.node !== node && user !== to);
    const from = others[this.from % Math.max(1, others.length)] ?? plan.user(this.from);
    return [from, to];
  }
  run(plan: Plan): void {
    const node = this.node(plan);
    if (node === undefined) return;
    const [from, to] = this.users(plan, node);
    const downMs = Math.max(1, Math.round((resetMs(plan.topology) * this.downPct) / 100));
    const crashMs = plan.nowMs;
    plan.crashed.add(node);
    plan.add({ atMs: crashMs, do: 'crash', node }, 'begin');
    // Down, and not yet noticed by its peers.
    plan.nowMs = crashMs + Math.floor((downMs * this.duringPct) / 100);
    plan.send(from, to);
    plan.nowMs = crashMs + downMs;
    plan.crashed.delete(node);
    plan.add({ atMs: plan.nowMs, do: 'restart', node }, 'end');
    // Within its first second back.
    plan.nowMs += this.backMs;
    plan.send(to, from);
    plan.send(from, to);
  }
  toString(): string {
    return `restartWindow(node ${this.index}, user ${this.from} -> user ${this.to}, up at ${this.downPct}% of the reset, send at ${this.duringPct}% of the downtime, again ${this.backMs}ms after)`;
  }
}
