/**
 * The fuzzer's command arbitraries: a workload (sends, with time passing) interleaved with a
 * fault plan (partition, heal, clog, unclog, crash, restart, skew, corrupt, loseAnswer: a send
 * whose way back is cut one way just after it left, bounce: a crash and a restart before the peers
 * notice, corruptField: a named field of a frame edited, attack: a user tries one of its protocol's attacks, around: a fault on one hop of a message sent just before or during it). Indices are drawn
 * unbounded and taken modulo the topology's sizes, so a command shrinks on its own. Sends and time passing
 * are drawn more often than faults, as in a real network.
 */
import fc from 'fast-check';
import { AdvanceCommand } from './advance.js';
import { AroundFaultCommand, type AroundKind } from './around.js';
import { AttackCommand } from './attack.js';
import { BounceCommand } from './bounce.js';
import { ClogCommand } from './clog.js';
import type { PlanCommand } from './command.js';
import { CorruptCommand } from './corrupt.js';
import { CorruptFieldCommand } from './corrupt-field.js';
import { fieldOps } from '../../core/wire-fields.js';
import { CrashCommand } from './crash.js';
import { HealCommand } from './heal.js';
import { LoseAnswerCommand } from './lose-answer.js';
import { PartitionCommand } from './partition.js';
import { RestartCommand } from './restart.js';
import { SendCommand } from './send.js';
import { SkewCommand } from './skew.js';
import { UnclogCommand } from './unclog.js';

export interface CommandOptions {
  /** Commands per run at most. @defaultValue 24 */
  readonly commandsMax?: number;
  /** Draw faults at all (false: a workload on a quiet network). @defaultValue true */
  readonly faults?: boolean;
}

const index = fc.nat({ max: 15 });

const aroundKinds: readonly AroundKind[] = ['cut', 'cutBack', 'cutThere', 'clog', 'crash'];

/**
 * A fault on a message's own path (src/fuzz/commands/around.ts): a blip, or longer than the reset
 * and answer timeouts (3 s to 10 s); the send up to 300 ms before it or during it.
 */
const around: fc.Arbitrary<PlanCommand> = fc
  .tuple(
    index,
    index,
    index,
    fc.constantFrom(...aroundKinds),
    // Often just before: the fault then begins while the message's first hops are on the wire.
    fc.oneof(fc.integer({ min: -300, max: 3_000 }), fc.integer({ min: -80, max: 0 })),
    fc.oneof(fc.integer({ min: 20, max: 3_000 }), fc.integer({ min: 8_000, max: 25_000 })),
  )
  .map(([from, to, hop, kind, leadMs, durationMs]) => new AroundFaultCommand(from, to, hop, kind, leadMs, durationMs));

export function planCommands(options: CommandOptions = {}): fc.Arbitrary<Iterable<PlanCommand>> {
  const workload: fc.Arbitrary<PlanCommand>[] = [
    fc.tuple(index, index).map(([from, to]) => new SendCommand(from, to)),
    fc.integer({ min: 1, max: 4_000 }).map((ms) => new AdvanceCommand(ms)),
  ];
  const faults: fc.Arbitrary<PlanCommand>[] = [
    fc.tuple(index, index, fc.boolean()).map(([a, b, oneWay]) => new PartitionCommand(a, b, oneWay)),
    index.map((i) => new HealCommand(i)),
    fc.tuple(index, index).map(([a, b]) => new ClogCommand(a, b)),
    index.map((i) => new UnclogCommand(i)),
    index.map((i) => new CrashCommand(i)),
    index.map((i) => new RestartCommand(i)),
    fc.tuple(index, fc.integer({ min: -2_000, max: 2_000 })).map(([i, ms]) => new SkewCommand(i, ms)),
    fc.tuple(index, fc.boolean()).map(([link, truncate]) => new CorruptCommand(link, truncate)),
    fc
      .tuple(index, index, fc.constantFrom(...fieldOps))
      .map(([link, field, op]) => new CorruptFieldCommand(link, field, op)),
    fc
      .tuple(index, index, fc.integer({ min: 1, max: 120 }))
      .map(([from, to, delayMs]) => new LoseAnswerCommand(from, to, delayMs)),
    fc.tuple(index, fc.integer({ min: 5, max: 3_000 })).map(([node, downMs]) => new BounceCommand(node, downMs)),
    around,
    around,
    fc.tuple(index, index, index).map(([from, to, variant]) => new AttackCommand(from, to, variant)),
  ];
  // fc.commands picks uniformly among its arbitraries: listing the workload six times weights it
  // (faults are then a fifth of the commands).
  const pool = [
    ...Array.from({ length: 16 }, (_, i) => workload[i % workload.length]).filter((a) => a !== undefined),
    ...(options.faults === false ? [] : faults),
  ];
  return fc.commands(pool, { maxCommands: options.commandsMax ?? 24 });
}
