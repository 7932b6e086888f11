/**
 * DnsFaultCommand: one of the DNS names a message from one user to another is resolved through
 * (`FuzzProfile.dnsNames`: the recipient's MX, a key record, ...) fails for a span, and the message
 * is sent `leadMs` into it: the scenario steps `dnsFail` (a SERVFAIL answer, NXDOMAIN for a name
 * that exists, or no answer at all: `timeout`) and `dnsRestore` (docs/scenarios.md), the
 * simulator's own DNS faults. A lookup that fails, and a handshake left waiting for a key, are
 * paths random network faults never reach: the resolver is part of the network, and partitions and
 * clogs do not reach it (src/sim/dns.ts). Nothing but the send happens when the profile names no
 * name for the pair (a message within one domain resolves nothing). Drawn only for profiles with
 * `dnsNames`.
 */
import type { DnsFailMode } from '../../sim/faults.js';
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export const dnsFailModes: readonly DnsFailMode[] = ['servfail', 'nxdomain', 'timeout'];

export class DnsFaultCommand implements PlanCommand {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly name: number,
    readonly mode: DnsFailMode,
    /** How long after the fault begins the message is sent. */
    readonly leadMs: number,
    readonly durationMs: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    const from = plan.user(this.from);
    const to = plan.user(this.to);
    const names = plan.profile.dnsNames?.(plan.topology, from, to) ?? [];
    const name = names[this.name % Math.max(1, names.length)];
    if (name === undefined) {
      plan.send(from, to);
      return;
    }
    const beganMs = plan.nowMs;
    plan.add({ atMs: beganMs, do: 'dnsFail', name, mode: this.mode }, 'begin');
    plan.nowMs += Math.min(this.leadMs, this.durationMs);
    plan.send(from, to);
    plan.nowMs = beganMs + this.durationMs;
    plan.add({ atMs: plan.nowMs, do: 'dnsRestore', name }, 'end');
  }
  toString(): string {
    return `dnsFault(user ${this.from} -> user ${this.to}, name ${this.name}, ${this.mode}, send at ${this.leadMs}ms, for ${this.durationMs}ms)`;
  }
}
