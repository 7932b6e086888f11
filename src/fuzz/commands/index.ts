/**
 * The fuzzer's command arbitraries: a workload (sends, with time passing) interleaved with a
 * fault plan (partition, heal, clog, unclog, crash, restart, skew, corrupt, loseAnswer: a send
 * whose way back is cut one way just after it left, bounce: a crash and a restart before the peers
 * notice, corruptField: a named field of a frame edited, attack: a user tries one of its protocol's attacks, around: a fault on one hop of a message sent just before or during it, restartWindow: sends to a
 * crashed node before its peers notice and in its first second back, groupSend: one command to a
 * user's group; dnsFault: a name the message is resolved through fails while it is sent, for
 * profiles whose nodes use DNS; loseMessage: a relayed message held on its relay hop past the
 * relay's answer timeout and the reset, for profiles that say where; ackRace: a message lost on an
 * acked last hop behind the ack of the one before it, for profiles that say where). Indices are drawn
 * unbounded and taken modulo the topology's sizes, so a command shrinks on its own. Sends and time passing
 * are drawn more often than faults, as in a real network.
 */
import fc from 'fast-check';
import { AckRaceCommand } from './ack-race.js';
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
import { GroupSendCommand } from './group-send.js';
import { DnsFaultCommand, dnsFailModes } from './dns-fault.js';
import { HealCommand } from './heal.js';
import { LoseAnswerCommand } from './lose-answer.js';
import { LoseMessageCommand } from './lose-message.js';
import { PartitionCommand } from './partition.js';
import { RestartCommand } from './restart.js';
import { RestartWindowCommand } from './restart-window.js';
import { SendCommand } from './send.js';
import { SkewCommand } from './skew.js';
import { UnclogCommand } from './unclog.js';

export interface CommandOptions {
  /** Commands per run at most. @defaultValue 24 */
  readonly commandsMax?: number;
  /** Draw faults at all (false: a workload on a quiet network). @defaultValue true */
  readonly faults?: boolean;
  /**
   * Coverage steering (src/fuzz/steer.ts): how often to draw each generator, relative to the
   * others (integers; a generator left out or at 0 is never drawn). Unset: the unsteered draw.
   */
  readonly weights?: Readonly<Partial<Record<GeneratorName, number>>>;
  /**
   * Draw `restartWindow` (sends aimed at a crashed node before its peers notice and in its first
   * second back) and, with `groupSends`, `groupSend` (one command to a user's group): the default
   * campaigns do (`campaignCommandOptions`); the flaw campaigns (profile variants) draw as before.
   * @defaultValue false
   */
  readonly restartWindows?: boolean;
  /** Draw `groupSend` (the profile has group sends, `FuzzProfile.groupSend`). @defaultValue false */
  readonly groupSends?: boolean;
  /**
   * Draw DNS faults (`dnsFault`): set for a profile whose nodes resolve names
   * (`FuzzProfile.dnsNames`). Unset, the draw is what it was before the command existed.
   */
  readonly dnsFaults?: boolean;
  /** Draw `loseMessage` (for a profile with `FuzzProfile.lostMessage`); unset, as before it existed. */
  readonly lostMessages?: boolean;
  /** Draw `ackRace` (for a profile with `FuzzProfile.ackRace`); unset, as before it existed. */
  readonly ackRaces?: boolean;
}

/** Every field of `CommandOptions` (a new one must be added here, or this does not compile). */
const commandOptionFields: Readonly<Record<keyof CommandOptions, true>> = {
  commandsMax: true,
  faults: true,
  weights: true,
  restartWindows: true,
  groupSends: true,
  dnsFaults: true,
  lostMessages: true,
  ackRaces: true,
};

/** A text that tells apart command options that draw differently (`planCommands` reads these fields only). */
export function commandOptionsKey(options: CommandOptions): string {
  const fields = Object.keys(commandOptionFields) as (keyof CommandOptions)[];
  return JSON.stringify(fields.map((field) => options[field] ?? null));
}

/**
 * The command options a campaign of `profile` draws with, beyond its own: the default campaign
 * draws sends around restarts and, where the protocol has groups, group sends, DNS faults where its
 * nodes resolve names and lost relayed messages where it relays; a variant (a flaw campaign) draws
 * as it did before them, so that its flaws' seeds stay put.
 */
export function campaignCommandOptions(profile: {
  readonly variant?: string;
  readonly groupSend?: unknown;
  readonly dnsNames?: unknown;
  readonly lostMessage?: unknown;
  readonly ackRace?: unknown;
}): Pick<CommandOptions, 'restartWindows' | 'groupSends' | 'dnsFaults' | 'lostMessages' | 'ackRaces'> {
  if (profile.variant !== undefined) return {};
  return {
    restartWindows: true,
    groupSends: profile.groupSend !== undefined,
    dnsFaults: profile.dnsNames !== undefined,
    lostMessages: profile.lostMessage !== undefined,
    ...(profile.ackRace === undefined ? {} : { ackRaces: true }),
  };
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

/** The fuzzer's command generators, by name: what coverage steering weighs (src/fuzz/steer.ts). */
export const generatorNames = [
  'send',
  'advance',
  'partition',
  'heal',
  'clog',
  'unclog',
  'crash',
  'restart',
  'skew',
  'corrupt',
  'corruptField',
  'loseAnswer',
  'bounce',
  'around',
  'attack',
  'restartWindow',
  'groupSend',
  'dnsFault',
  'loseMessage',
  'ackRace',
] as const;
export type GeneratorName = (typeof generatorNames)[number];

/**
 * How often each generator is drawn without steering, relative to the others: the workload
 * (send, advance) four fifths of the commands, `around` twice as often as the other faults.
 */
export const defaultGeneratorWeights: Readonly<Record<GeneratorName, number>> = {
  send: 8,
  advance: 8,
  partition: 1,
  heal: 1,
  clog: 1,
  unclog: 1,
  crash: 1,
  restart: 1,
  skew: 1,
  corrupt: 1,
  corruptField: 1,
  loseAnswer: 1,
  bounce: 1,
  around: 2,
  attack: 1,
  restartWindow: 1,
  groupSend: 2,
  dnsFault: 1,
  loseMessage: 1,
  ackRace: 1,
};

const generators: Readonly<Record<GeneratorName, fc.Arbitrary<PlanCommand>>> = {
  send: fc.tuple(index, index).map(([from, to]) => new SendCommand(from, to)),
  advance: fc.integer({ min: 1, max: 4_000 }).map((ms) => new AdvanceCommand(ms)),
  partition: fc.tuple(index, index, fc.boolean()).map(([a, b, oneWay]) => new PartitionCommand(a, b, oneWay)),
  heal: index.map((i) => new HealCommand(i)),
  clog: fc.tuple(index, index).map(([a, b]) => new ClogCommand(a, b)),
  unclog: index.map((i) => new UnclogCommand(i)),
  crash: index.map((i) => new CrashCommand(i)),
  restart: index.map((i) => new RestartCommand(i)),
  skew: fc.tuple(index, fc.integer({ min: -2_000, max: 2_000 })).map(([i, ms]) => new SkewCommand(i, ms)),
  corrupt: fc.tuple(index, fc.boolean()).map(([link, truncate]) => new CorruptCommand(link, truncate)),
  corruptField: fc
    .tuple(index, index, fc.constantFrom(...fieldOps))
    .map(([link, field, op]) => new CorruptFieldCommand(link, field, op)),
  loseAnswer: fc
    .tuple(index, index, fc.integer({ min: 1, max: 120 }))
    .map(([from, to, delayMs]) => new LoseAnswerCommand(from, to, delayMs)),
  bounce: fc.tuple(index, fc.integer({ min: 5, max: 3_000 })).map(([node, downMs]) => new BounceCommand(node, downMs)),
  around,
  attack: fc.tuple(index, index, index).map(([from, to, variant]) => new AttackCommand(from, to, variant)),
  restartWindow: fc
    .tuple(
      index,
      index,
      index,
      fc.integer({ min: 1, max: 120 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 1_000 }),
    )
    .map(
      ([node, from, to, downPct, duringPct, backMs]) =>
        new RestartWindowCommand(node, from, to, downPct, duringPct, backMs),
    ),
  groupSend: fc.tuple(index, index).map(([from, group]) => new GroupSendCommand(from, group)),
  // A blip, or longer than a handshake (1 s) and a few retries; the send within the first 300 ms.
  dnsFault: fc
    .tuple(
      index,
      index,
      index,
      fc.constantFrom(...dnsFailModes),
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 200, max: 8_000 }),
    )
    .map(([from, to, name, mode, leadMs, durationMs]) => new DnsFaultCommand(from, to, name, mode, leadMs, durationMs)),
  loseMessage: fc
    .tuple(index, index, fc.integer({ min: 100, max: 3_000 }), fc.boolean())
    .map(([from, to, extraMs, burst]) => new LoseMessageCommand(from, to, extraMs, burst)),
  // Acks held for 10 to 90 % of the ack timeout; a cut anywhere in a stanza's segment (one not
  // longer than that is not cut, and the fault is disarmed at the heal).
  ackRace: fc
    .tuple(index, index, fc.integer({ min: 10, max: 90 }), fc.integer({ min: 1, max: 100 }))
    .map(([from, to, holdPct, keepBytes]) => new AckRaceCommand(from, to, holdPct, keepBytes)),
};

/** The generator that made `command`, by its class (a command class has one generator). */
export function generatorOf(command: PlanCommand): GeneratorName {
  if (command instanceof SendCommand) return 'send';
  if (command instanceof AdvanceCommand) return 'advance';
  if (command instanceof PartitionCommand) return 'partition';
  if (command instanceof HealCommand) return 'heal';
  if (command instanceof ClogCommand) return 'clog';
  if (command instanceof UnclogCommand) return 'unclog';
  if (command instanceof CrashCommand) return 'crash';
  if (command instanceof RestartCommand) return 'restart';
  if (command instanceof SkewCommand) return 'skew';
  if (command instanceof CorruptFieldCommand) return 'corruptField';
  if (command instanceof CorruptCommand) return 'corrupt';
  if (command instanceof LoseAnswerCommand) return 'loseAnswer';
  if (command instanceof BounceCommand) return 'bounce';
  if (command instanceof AroundFaultCommand) return 'around';
  if (command instanceof RestartWindowCommand) return 'restartWindow';
  if (command instanceof GroupSendCommand) return 'groupSend';
  if (command instanceof DnsFaultCommand) return 'dnsFault';
  if (command instanceof LoseMessageCommand) return 'loseMessage';
  if (command instanceof AckRaceCommand) return 'ackRace';
  return 'attack';
}

/**
 * The generators of the commands of a run that ran (their check passed), sorted, once each.
 * fast-check's command sequence yields each command in a wrapper (`cmd`, `hasRan`) once run:
 * read through it, or every command would look like the last case of `generatorOf`.
 */
export function generatorsRan(commands: Iterable<PlanCommand>): GeneratorName[] {
  const names = new Set<GeneratorName>();
  for (const entry of commands) {
    const wrapper = entry as unknown as { readonly cmd?: PlanCommand; readonly hasRan?: boolean };
    if (wrapper.hasRan === false) continue;
    names.add(generatorOf(wrapper.cmd ?? entry));
  }
  return [...names].sort();
}

export function planCommands(options: CommandOptions = {}): fc.Arbitrary<Iterable<PlanCommand>> {
  const maxCommands = options.commandsMax ?? 24;
  if (options.weights !== undefined) {
    // Steered (src/fuzz/steer.ts): one weighted choice per command. Not the unsteered draw below
    // with other weights: that one stays as it was, so campaigns without steering are unchanged.
    const weights = options.weights;
    const pool = generatorNames
      .filter((name) => options.faults !== false || name === 'send' || name === 'advance' || name === 'groupSend')
      .filter(
        (name) =>
          (name !== 'restartWindow' || options.restartWindows === true) &&
          (name !== 'groupSend' || options.groupSends === true) &&
          (name !== 'dnsFault' || options.dnsFaults === true) &&
          (name !== 'loseMessage' || options.lostMessages === true) &&
          (name !== 'ackRace' || options.ackRaces === true),
      )
      .map((name) => ({ arbitrary: generators[name], weight: Math.max(0, Math.round(weights[name] ?? 0)) }))
      .filter((entry) => entry.weight > 0);
    return fc.commands([fc.oneof(...pool)], { maxCommands });
  }
  const workload: fc.Arbitrary<PlanCommand>[] = [generators.send, generators.advance];
  // Group sends are a fifth of the sends where the protocol has groups.
  const groupSends = options.groupSends === true ? [generators.groupSend, generators.groupSend] : [];
  const faults: fc.Arbitrary<PlanCommand>[] = [
    generators.partition,
    generators.heal,
    generators.clog,
    generators.unclog,
    generators.crash,
    generators.restart,
    generators.skew,
    generators.corrupt,
    generators.corruptField,
    generators.loseAnswer,
    generators.bounce,
    around,
    around,
    generators.attack,
    ...(options.restartWindows === true ? [generators.restartWindow] : []),
    // Last, so that a profile without DNS draws exactly as before the command existed.
    ...(options.dnsFaults === true ? [generators.dnsFault] : []),
    ...(options.lostMessages === true ? [generators.loseMessage] : []),
    ...(options.ackRaces === true ? [generators.ackRace] : []),
  ];
  // fc.commands picks uniformly among its arbitraries: listing the workload six times weights it
  // (faults are then a fifth of the commands).
  const pool = [
    ...Array.from({ length: 16 }, (_, i) => workload[i % workload.length]).filter((a) => a !== undefined),
    ...groupSends,
    ...(options.faults === false ? [] : faults),
  ];
  return fc.commands(pool, { maxCommands });
}
