/**
 * LoseAnswerCommand: one user sends to another, and a short while later (`delayMs`) the way back
 * of the message's first hop is cut, one way: what was sent goes through, its answer does not.
 * The sender then times out and retries, and the receiver must take the repeat once: the dedup
 * paths (FMTP's accepted set, F140's delivered ids, SOLEC's seen ids) that a random partition
 * rarely hits at the right moment. Healed by a HealCommand or at the close. Nothing happens when
 * the message crosses no fault host (a local one) or that way back is already cut.
 *
 * `delayMs` is drawn from 1 to 120 ms. A profile that says where its answers are
 * (`FuzzProfile.lostAnswer`) has the same draw placed in the quiet span of the way back before its
 * answer leaves (in one-way delays, scaled by the topology's mean latency), and the cut lasts
 * longer than the sender waits for an answer, then heals: the answer is lost, not late, and the
 * retry comes while the run goes on.
 */
import { defaultNetwork } from '../../sim/context.js';
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
    const aim = plan.profile.lostAnswer;
    const back: [string, string] = [hop[1], hop[0]];
    if (aim === undefined) {
      plan.nowMs += this.delayMs;
      plan.partitioned.set(plan.pairKey(hop[0], hop[1]), back);
      plan.add({ atMs: plan.nowMs, do: 'partition', between: back, oneWay: true }, 'begin');
      return;
    }
    const network = plan.topology.network;
    const min = network.delayMsMin ?? defaultNetwork.delayMsMin;
    const meanMs = (min + (network.delayMsMax ?? Math.max(min, defaultNetwork.delayMsMax))) / 2;
    const [early, late] = aim.quiet;
    // The draw (1 to 120) placed in the span, its ends excluded.
    plan.nowMs += Math.round(meanMs * (early + ((late - early) * this.delayMs) / 121));
    plan.add({ atMs: plan.nowMs, do: 'partition', between: back, oneWay: true }, 'begin');
    plan.nowMs += aim.timeoutMs + Math.ceil(2 * meanMs);
    plan.add({ atMs: plan.nowMs, do: 'heal', between: back }, 'end');
  }

  toString(): string {
    return `loseAnswer(user ${this.from} -> user ${this.to}, cut back after ${this.delayMs}ms)`;
  }
}
