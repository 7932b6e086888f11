/**
 * AckRaceCommand: a message lost behind an ack. One user sends another two messages at once; the
 * recipient's way back to its server (`FuzzProfile.ackRace.hop`: the last hop, on which the server
 * keeps what the recipient has not acked) is cut one way for part of the server's ack timeout, so
 * the recipient's ack of the first reaches the server after the second was written, but in time; and the second is cut short on
 * that hop after `keepBytes` (a truncation aimed at its segment, `ackRace.marker`), so the
 * recipient never handles it: its stream breaks or stalls. The server must drop only what the ack
 * counts, notice the broken or silent stream, and send the second again when the recipient resumes
 * (XEP-0198 §5, Ambrosia spec.md §3); the user then sends once more on the settled network, a
 * message owed as any other. Random faults almost never put an ack and a lost stanza in that
 * order. The faults in force on the hosts the messages cross end first, and the race waits until
 * those hosts have settled (the plan's model: `settleMs` after each fault, and the protocol's
 * recovery, `settleAfterMs`). Drawn only for profiles with `ackRace`. When the drawn pair has no
 * such hop, the next pair that has one is taken; nothing but the send happens when none has.
 */
import { faultSpans, recoveries } from '../faults.js';
import type { Plan } from '../plan.js';
import type { FuzzUser } from '../profile.js';
import type { PlanCommand } from './command.js';

export class AckRaceCommand implements PlanCommand {
  constructor(
    readonly from: number,
    readonly to: number,
    /**
     * How long the recipient's acks are held (its way back cut) from the sends on, in percent of
     * the server's ack timeout (`ackRace.ackTimeoutMs`): the ack must arrive before that fires.
     */
    readonly holdPct: number,
    /** How many bytes of the second message's segment arrive. */
    readonly keepBytes: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    const aim = plan.profile.ackRace;
    const count = plan.topology.users.length;
    let pair: readonly [FuzzUser, FuzzUser, readonly [string, string]] | undefined;
    // The drawn pair, or the next one (recipients first) with such a hop and a sender elsewhere.
    for (let k = 0; aim !== undefined && pair === undefined && k < count * count; k++) {
      const [from, to] = [plan.user(this.from + Math.floor(k / count)), plan.user(this.to + (k % count))];
      const hop = aim.hop(plan.topology, from, to);
      if (hop !== undefined && from.node !== hop[1]) pair = [from, to, hop];
    }
    if (aim === undefined || pair === undefined) {
      plan.send(plan.user(this.from), plan.user(this.to));
      return;
    }
    const [from, to, [server, client]] = pair;
    // The hosts the messages cross are healed first (the faults on them in force end now), and
    // the race waits until they settled, so that the recipient is online and its stream carries
    // each message on its own (a stream resumed after faults carries its backlog in one segment).
    const path = new Set([from.node, ...plan.profile.links(plan.topology, from, to).flat()]);
    healPath(plan, path);
    plan.nowMs = settledMs(plan, path);
    const beganMs = plan.nowMs;
    plan.add({ atMs: beganMs, do: 'partition', between: [client, server], oneWay: true }, 'begin');
    // The second message's body is the plan's next but one (`Plan.send`).
    const second = `m${plan.sends.length + 2}`;
    plan.corrupting.set(`${server}>${client}`, [server, client]);
    plan.add({
      atMs: beganMs,
      do: 'truncate',
      between: [server, client],
      contains: aim.marker(second),
      keepBytes: this.keepBytes,
    });
    plan.send(from, to);
    plan.send(from, to);
    plan.nowMs = beganMs + Math.max(1, Math.round((aim.ackTimeoutMs * this.holdPct) / 100));
    plan.add({ atMs: plan.nowMs, do: 'heal', between: [client, server] }, 'end');
    // Once the network settled, a message that must arrive: the resumed stream carries it.
    plan.nowMs += plan.profile.delivery.settleMs;
    plan.send(from, to);
  }
  toString(): string {
    return `ackRace(user ${this.from} -> user ${this.to}, acks held ${this.holdPct}% of the ack timeout, the second cut after ${this.keepBytes} bytes)`;
  }
}

/** Ends the partitions and clogs in force on `hosts`, and restarts those of them that are down. */
function healPath(plan: Plan, hosts: ReadonlySet<string>): void {
  const on = (pair: readonly [string, string]) => pair.some((host) => hosts.has(host));
  for (const [key, pair] of [...plan.partitioned]) {
    if (!on(pair)) continue;
    plan.partitioned.delete(key);
    plan.add({ atMs: plan.nowMs, do: 'heal', between: [pair[0], pair[1]] }, 'end');
  }
  for (const [key, pair] of [...plan.clogged]) {
    if (!on(pair)) continue;
    plan.clogged.delete(key);
    plan.add({ atMs: plan.nowMs, do: 'unclog', between: [pair[0], pair[1]] }, 'end');
  }
  for (const node of [...plan.crashed]) {
    if (!hosts.has(node)) continue;
    plan.crashed.delete(node);
    plan.add({ atMs: plan.nowMs, do: 'restart', node }, 'end');
  }
}

/**
 * When `hosts` are quiet after the plan's faults on them so far: `settleMs` after each ended
 * (a crash's once its peers noticed it, `crashNoticedMs`), and once the protocol recovered from
 * each run of them (`settleAfterMs`), as the plan owes messages.
 */
function settledMs(plan: Plan, hosts: ReadonlySet<string>): number {
  const { settleMs, settleAfterMs, crashNoticedMs } = plan.profile.delivery;
  const noticedMs = crashNoticedMs?.(plan.topology) ?? 0;
  const spans = faultSpans(plan.steps).filter(
    (span) => span.kind !== 'skew' && span.hosts.some((host) => hosts.has(host)),
  );
  let quietMs = plan.nowMs;
  for (const span of spans) {
    const endMs = span.kind === 'crash' ? Math.max(span.endMs, span.beginMs + noticedMs) : span.endMs;
    quietMs = Math.max(quietMs, endMs + settleMs);
  }
  if (settleAfterMs === undefined) return quietMs;
  for (const run of recoveries(spans, (r) => Math.max(settleMs, settleAfterMs(r))))
    quietMs = Math.max(quietMs, run.recoveredMs);
  return quietMs;
}
