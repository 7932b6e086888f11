/**
 * CorruptFieldCommand: structure-aware corruption. The next segment on one link (drawn as a
 * CorruptCommand's is, among the links the plan's traffic uses) that has the named field, as its
 * protocol's wire format lays it out (`Protocol.wireFields`: a length, a type, an id, a counter;
 * the names a profile offers are `FuzzProfile.wireFields`), arrives with that field one more, one
 * less, zero or its largest value (src/core/wire-fields.ts), the rest well framed. The damage
 * reaches the code that reads the field, where a random byte mostly breaks the framing first.
 * Armed until a segment has the field; disarmed at the heal like any corruption. A field the
 * profile aims (`FuzzProfile.fieldAims`) is armed on the link it names, with the edit it names,
 * and with `relogin` that link's far end is restarted at once, so that its next login crosses it,
 * and the plan waits `holdMs` for that login before its next command.
 */
import type { FieldOp } from '../../core/wire-fields.js';
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class CorruptFieldCommand implements PlanCommand {
  constructor(
    readonly link: number,
    readonly field: number,
    readonly op: FieldOp,
  ) {}
  check(plan: Readonly<Plan>): boolean {
    return plan.trafficLinks().length > 0 && (plan.profile.wireFields?.length ?? 0) > 0;
  }
  run(plan: Plan): void {
    const links = plan.trafficLinks();
    const names = plan.profile.wireFields ?? [];
    const field = names[this.field % Math.max(1, names.length)];
    if (field === undefined) return;
    const aim = plan.profile.fieldAims?.[field];
    if (aim !== undefined) {
      const aimed = aim.link(plan.topology, plan.sends);
      if (aimed === undefined) return;
      plan.arm('corrupt', aimed[0], aimed[1], aim.edit ?? { field, op: aim.op });
      const users = aim.trigger?.(plan.topology, aimed);
      if (users !== undefined) plan.send(users[0], users[1]);
      else if (aim.relogin === undefined || aim.relogin === false) return;
      else {
        // The link's far end (or near end) is restarted at once (as `bounce` does), so that it logs in afresh.
        const node = aim.relogin === 'sender' ? aimed[0] : aimed[1];
        plan.add({ atMs: plan.nowMs, do: 'crash', node }, 'begin');
        plan.nowMs += 1;
        plan.add({ atMs: plan.nowMs, do: 'restart', node }, 'end');
      }
      // And the plan waits for that login (the corruption is disarmed at the close).
      plan.nowMs += aim.holdMs ?? 0;
      return;
    }
    const link = links[this.link % links.length];
    if (link === undefined) return;
    plan.arm('corrupt', link[0], link[1], { field, op: this.op });
  }
  toString(): string {
    return `corruptField(link ${this.link}, field ${this.field}, ${this.op})`;
  }
}
