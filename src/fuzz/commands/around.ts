/**
 * AroundFaultCommand: a fault aimed at a message's own path, with the message sent in one phase
 * around it. One user sends to another; one hop of that message (a link it carries bytes on,
 * `FuzzProfile.links`) is cut both ways, cut on its way back only (the answers are lost, the
 * message goes through), cut on its way there only, or clogged (held, never reset: the answer
 * comes late, so the sender's answer timeout fires), or the recipient's node (else the hop's far
 * end) crashes and restarts after the span (a message for a node that is down: held, queued or
 * retried until it is back, before or after its peers noticed); the send happens `leadMs` before the fault
 * begins (in flight when it begins) or that long after (during it), and the fault lasts
 * `durationMs` (a blip, or longer than the reset and answer timeouts). The paths a protocol has
 * for exactly these messages (resending the unanswered one after a reconnect, a relay's retry
 * after a timeout, dropping a repeat it already took) are what random faults rarely line up with.
 * Healed at the end of the span. Nothing but the send happens when the message crosses no fault
 * host, or that hop already has the same kind of fault in force.
 */
import type { Plan } from '../plan.js';
import type { FuzzUser } from '../profile.js';
import type { PlanCommand } from './command.js';

export type AroundKind = 'cut' | 'cutBack' | 'cutThere' | 'clog' | 'crash';

export class AroundFaultCommand implements PlanCommand {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly hop: number,
    readonly kind: AroundKind,
    /** Negative: the send is that long before the fault begins; else that long after. */
    readonly leadMs: number,
    readonly durationMs: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    const from = plan.user(this.from);
    const to = plan.user(this.to);
    const hosts = plan.topology.hosts;
    const hops = plan.profile
      .links(plan.topology, from, to)
      .filter(([a, b]) => a !== b && hosts.includes(a) && hosts.includes(b));
    const hop = hops[this.hop % Math.max(1, hops.length)];
    if (this.kind === 'crash') return this.crash(plan, from, to, hop?.[1]);
    const clog = this.kind === 'clog';
    const held = clog ? plan.clogged : plan.partitioned;
    if (hop === undefined || held.has(plan.pairKey(hop[0], hop[1]))) {
      plan.send(from, to);
      return;
    }
    const [a, b] = this.kind === 'cutBack' ? [hop[1], hop[0]] : hop;
    const lead = Math.min(this.leadMs, this.durationMs);
    if (lead < 0) {
      plan.send(from, to);
      plan.nowMs += -lead;
    }
    held.set(plan.pairKey(a, b), [a, b]);
    const oneWay = this.kind === 'cutBack' || this.kind === 'cutThere';
    plan.add(
      clog
        ? { atMs: plan.nowMs, do: 'clog', between: [a, b] }
        : { atMs: plan.nowMs, do: 'partition', between: [a, b], ...(oneWay ? { oneWay: true } : {}) },
      'begin',
    );
    const beganMs = plan.nowMs;
    if (lead >= 0) {
      plan.nowMs += lead;
      plan.send(from, to);
    }
    plan.nowMs = beganMs + this.durationMs;
    held.delete(plan.pairKey(a, b));
    plan.add({ atMs: plan.nowMs, do: clog ? 'unclog' : 'heal', between: [a, b] }, 'end');
  }
  /** The `crash` kind: the recipient's node (else `far`, the hop's far end) is down for the span. */
  private crash(plan: Plan, from: FuzzUser, to: FuzzUser, far: string | undefined): void {
    const crashable = plan.topology.crashable;
    const node = [to.node, far].find(
      (candidate) => candidate !== undefined && candidate !== from.node && crashable.includes(candidate),
    );
    if (node === undefined || plan.crashed.has(node)) {
      plan.send(from, to);
      return;
    }
    const lead = Math.min(this.leadMs, this.durationMs);
    if (lead < 0) {
      plan.send(from, to);
      plan.nowMs += -lead;
    }
    const beganMs = plan.nowMs;
    plan.crashed.add(node);
    plan.add({ atMs: plan.nowMs, do: 'crash', node }, 'begin');
    if (lead >= 0) {
      plan.nowMs += lead;
      plan.send(from, to);
    }
    plan.nowMs = beganMs + this.durationMs;
    plan.crashed.delete(node);
    plan.add({ atMs: plan.nowMs, do: 'restart', node }, 'end');
  }

  toString(): string {
    return `around(user ${this.from} -> user ${this.to}, hop ${this.hop}, ${this.kind}, send at ${this.leadMs}ms, for ${this.durationMs}ms)`;
  }
}
