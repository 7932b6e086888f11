/** SkewCommand: sets a node's clock skew (its `now()` reads virtual time plus `skewMs`). */
import type { Plan } from '../plan.js';
import type { PlanCommand } from './command.js';

export class SkewCommand implements PlanCommand {
  constructor(
    readonly index: number,
    readonly skewMs: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(plan: Plan): void {
    const nodes = Object.keys(plan.topology.nodes);
    const node = nodes[this.index % nodes.length];
    if (node === undefined) return;
    // A node's clock never reads before 0 (the epoch): real clocks do not, and a negative time
    // is a different bug class (see docs/fuzzing.md, "Findings", solec seed 111).
    plan.add({ atMs: plan.nowMs, do: 'skew', node, skewMs: Math.max(this.skewMs, -plan.nowMs) }, 'instant');
  }
  toString(): string {
    return `skew(node ${this.index}, ${this.skewMs}ms)`;
  }
}
