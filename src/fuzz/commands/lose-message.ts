/**
 * LoseMessageCommand: one user sends to another twice, a second apart, and one hop of the second message past the first
 * (`FuzzProfile.lostMessage.hop`: SOLEC's relay from the sender's server to the recipient's) is
 * cut on its way there as the message leaves
 * the sender, for longer than the sender's answer timeout and the network's reset. The message is
 * written into a connection that still looks up, held there, and dropped with the connection when
 * the reset comes, after the answer timeout fired: the node that relayed it must send it again
 * (a relay's retry of the Message in flight, SOLEC spec.md §5.3), the moment a random partition
 * almost never lines up with. Healed at the end of the span. Drawn only for profiles with
 * `lostMessage`. When the drawn pair's message has no such hop (both users on one server), the next
 * pair that has one is taken; nothing but the send happens when none has, or that link is already
 * cut. Its burst form (`burstThenCrash`) cuts the hop, sends a burst and crashes the sender.
 */
import type { Plan } from '../plan.js';
import type { FuzzUser } from '../profile.js';
import { resetMs } from '../faults.js';
import type { PlanCommand } from './command.js';

/** How long after the first message the second goes: its connection is set up and answered by then. */
const warmMs = 1_000;
/** The longest burst of the burst form. */
const burstMax = 14;

export class LoseMessageCommand implements PlanCommand {
  constructor(
    readonly from: number,
    readonly to: number,
    /** How long past the later of the answer timeout and the reset the cut lasts. */
    readonly extraMs: number,
    /** The burst-and-crash form (below) instead of the lost message. */
    readonly burst: boolean = false,
  ) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    const aim = plan.profile.lostMessage;
    // The drawn pair, or the next one (recipients first) whose message has such a hop.
    const count = plan.topology.users.length;
    let from = plan.user(this.from);
    let to = plan.user(this.to);
    let hop = aim?.hop(plan.topology, from, to);
    for (let k = 0; aim !== undefined && hop === undefined && k < count * count; k++) {
      const [a, b] = [plan.user(this.from + Math.floor(k / count)), plan.user(this.to + (k % count))];
      const found = aim.hop(plan.topology, a, b);
      if (found !== undefined) [from, to, hop] = [a, b, found];
    }
    if (aim === undefined || hop === undefined || plan.partitioned.has(plan.pairKey(hop[0], hop[1]))) {
      plan.send(from, to);
      return;
    }
    if (this.burst) return this.burstThenCrash(plan, from, to, hop, aim.timeoutMs(plan.topology));
    // A first message opens the hop's connection (a relay link stays up once established), so the
    // second is written into a connection that is up. The cut begins as the second is sent: the
    // hops before it carry it, this one holds it.
    plan.send(from, to);
    plan.nowMs += warmMs;
    const there: [string, string] = [hop[0], hop[1]];
    plan.add({ atMs: plan.nowMs, do: 'partition', between: there, oneWay: true }, 'begin');
    plan.send(from, to);
    plan.nowMs += Math.max(aim.timeoutMs(plan.topology), resetMs(plan.topology)) + this.extraMs;
    plan.add({ atMs: plan.nowMs, do: 'heal', between: there }, 'end');
  }
  /**
   * The burst form: with the hop cut, the sender sends a burst and its node crashes 100 ms later,
   * restarting once its peers noticed (the reset). Its requests are still queued behind each other
   * on its peer, each waiting out the cut hop (a connect timeout, or the answer timeout), when the
   * peer's end of the connection resets: the peer must drop a session whose request is in flight
   * (Bester's `client.busy>closed`). The burst is long enough to outlast the reset.
   */
  private burstThenCrash(
    plan: Plan,
    from: FuzzUser,
    to: FuzzUser,
    hop: readonly [string, string],
    timeoutMs: number,
  ): void {
    const beganMs = plan.nowMs;
    const reset = resetMs(plan.topology);
    const there: [string, string] = [hop[0], hop[1]];
    plan.add({ atMs: beganMs, do: 'partition', between: there, oneWay: true }, 'begin');
    const waitMs = Math.min(timeoutMs, plan.topology.network.connectTimeoutMs ?? 1_000);
    const count = Math.min(burstMax, Math.ceil(reset / Math.max(1, waitMs)) + 2);
    for (let i = 0; i < count; i++) plan.send(from, to);
    const crashes = plan.topology.crashable.includes(from.node) && !plan.crashed.has(from.node);
    plan.nowMs += 100;
    if (crashes) plan.add({ atMs: plan.nowMs, do: 'crash', node: from.node }, 'begin');
    plan.nowMs += reset + this.extraMs;
    if (crashes) plan.add({ atMs: plan.nowMs, do: 'restart', node: from.node }, 'end');
    plan.nowMs = Math.max(plan.nowMs, beganMs + Math.max(timeoutMs, reset) + this.extraMs);
    plan.add({ atMs: plan.nowMs, do: 'heal', between: there }, 'end');
  }
  toString(): string {
    return `loseMessage(user ${this.from} -> user ${this.to}, cut for ${this.extraMs}ms past the timeouts${this.burst ? ', a burst, then the sender crashes' : ''})`;
  }
}
