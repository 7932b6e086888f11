/**
 * The fuzzer's model and the scenario it builds. Model-based commands (src/fuzz/commands/) act on
 * a `Plan`: it records the steps at their virtual times, which faults are in force, and which
 * messages were sent. The model knows which messages were accepted and where they should end up;
 * it is never a second protocol implementation. `close` heals every fault (and disarms every
 * corruption that may not have acted yet), and `scenario` writes the expectations the protocol's
 * promise implies and returns a scenario source (the shape of a scenario file), so a failing plan
 * is a scenario file by construction.
 *
 * A `corrupt` or `truncate` step arms a fault that acts on the next bytes sent on that link, which
 * may be much later; the plan cannot know when. It is armed on a link that carries traffic
 * (`trafficLinks`), and `close` makes that link carry bytes again at the heal, so it acts by then.
 * The damage is a fault at the instant it acts, and `scenario` takes those instants
 * (`damageInstants` reads them from a run of the same steps, which do not depend on them), so the
 * promise around the damage is the same as around any other instant fault.
 *
 * Must not: read a clock or a random source; everything comes from fast-check's draws.
 */
import type { FieldOp } from '../core/wire-fields.js';
import type { ScenarioFile, Step, Expectation } from '../scenario/schema.js';
import type { TraceEvent } from '../trace/events.js';
import { faultSpans, recoveries, type FaultSpan } from './faults.js';
import type { FuzzProfile, FuzzUser, Topology } from './profile.js';

export interface PlannedSend {
  readonly atMs: number;
  readonly from: FuzzUser;
  readonly to: FuzzUser;
  readonly body: string;
  /** The sender's node was up, so the protocol took the message. */
  readonly accepted: boolean;
  /** The command that sent it, when not the profile's `send` to `to` (a group send: one command for every member). */
  readonly step?: Step;
}

/** Messages sent after the last heal, at most: one per pair of users that talked, up to this many. */
const probesMax = 6;

/** A fault's edge: where the network stopped (or started again) being quiet. */
interface FaultMark {
  readonly atMs: number;
  readonly phase: 'begin' | 'end' | 'instant';
}

export class Plan {
  nowMs: number;
  readonly steps: Step[] = [];
  readonly sends: PlannedSend[] = [];
  readonly partitioned = new Map<string, readonly [string, string]>();
  readonly clogged = new Map<string, readonly [string, string]>();
  readonly crashed = new Set<string>();
  /** Links (one direction, `a>b`) a corruption or truncation was armed on: it may not have acted yet. */
  readonly corrupting = new Map<string, readonly [string, string]>();
  private readonly marks: FaultMark[] = [];
  /** How many attacks the plan made (their bodies are `x<n>`). */
  private attacks = 0;
  /**
   * Links (`a>b`, among the fault hosts) that the sends so far of the pairs that send again at
   * the heal (the first `probesMax` pairs that talked) carry bytes on, in order of first use.
   */
  private readonly carrying = new Map<string, readonly [string, string]>();
  /** The pairs of users (`from>to`) that talked, in order. */
  private readonly talkedPairs = new Set<string>();
  /** Set by `close`: when everything healed, and whether any fault was planned at all. */
  private closed: { readonly healMs: number; readonly anyFault: boolean } | undefined;
  /** The closed plan's fault spans (its steps no longer change), made once for all its scenarios. */
  private closedSpans: readonly FaultSpan[] | undefined;

  constructor(
    readonly profile: FuzzProfile,
    readonly topology: Topology,
  ) {
    this.nowMs = profile.startMs;
  }

  /** Host `index` modulo the host count, so that commands shrink independently of the topology. */
  host(index: number): string {
    const hosts = this.topology.hosts;
    return hosts[index % hosts.length] ?? '';
  }

  user(index: number): FuzzUser {
    const users = this.topology.users;
    const user = users[index % users.length];
    if (user === undefined) throw new RangeError('a topology needs at least one user');
    return user;
  }

  pairKey(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  faultsActive(): boolean {
    return this.partitioned.size > 0 || this.clogged.size > 0 || this.crashed.size > 0;
  }

  add(step: Step, phase?: FaultMark['phase']): void {
    this.steps.push(step);
    if (phase !== undefined) this.marks.push({ atMs: step.atMs, phase });
    const noticed = this.profile.delivery.crashNoticedMs?.(this.topology);
    // The peers of a crashed node notice only when their connections reset: until then the crash
    // is a fault in force, restarted or not (a second span over the crash's own).
    if (step.do === 'crash' && noticed !== undefined) {
      this.marks.push({ atMs: step.atMs, phase: 'begin' }, { atMs: step.atMs + noticed, phase: 'end' });
    }
  }

  /**
   * Arms a corruption (`corrupt`: one byte changed, or the named `field` edited) or truncation of the next bytes sent from `a`
   * to `b`. No fault mark: the damage happens when it acts, read from the run (`damageInstants`).
   */
  arm(
    mode: 'corrupt' | 'truncate',
    a: string,
    b: string,
    field?: { field: string; op: FieldOp } | { find: string; replace: string },
  ): void {
    this.corrupting.set(`${a}>${b}`, [a, b]);
    if (mode === 'corrupt' && field !== undefined) this.add({ atMs: this.nowMs, do: mode, between: [a, b], ...field });
    else this.add({ atMs: this.nowMs, do: mode, between: [a, b] });
  }

  /**
   * The links a corruption may be armed on so that it acts: those the plan's sends so far carry
   * bytes on, or, before the first send, those some pair of users would use. In a fixed order (of
   * first use; then of the topology's users), so that a command's index picks the same link every
   * time. Each such link carries bytes again at the heal, at the latest, while the corruption is
   * still armed: the pairs that talked send once more, and a pair that uses the link if none of
   * them does (`close`).
   */
  trafficLinks(): readonly (readonly [string, string])[] {
    if (this.carrying.size > 0) return [...this.carrying.values()];
    return [...this.possibleLinks().values()];
  }

  /** Every link some pair of users would use, by key, in the order of the topology's users. */
  private possibleLinks(): Map<string, readonly [string, string]> {
    const links = new Map<string, readonly [string, string]>();
    for (const from of this.topology.users) for (const to of this.topology.users) this.linksOf(from, to, links);
    return links;
  }

  /** The first pair of users (in the topology's order) whose messages carry bytes on `link`. */
  private pairUsing(link: string): readonly [FuzzUser, FuzzUser] | undefined {
    for (const from of this.topology.users) {
      for (const to of this.topology.users) {
        const links = new Map<string, readonly [string, string]>();
        this.linksOf(from, to, links);
        if (links.has(link)) return [from, to];
      }
    }
    return undefined;
  }

  /** Adds the fault-host links a message from `from` to `to` carries bytes on to `into`. */
  private linksOf(from: FuzzUser, to: FuzzUser, into: Map<string, readonly [string, string]>): void {
    const hosts = this.topology.hosts;
    for (const [a, b] of this.profile.links(this.topology, from, to)) {
      if (a !== b && hosts.includes(a) && hosts.includes(b) && !into.has(`${a}>${b}`)) into.set(`${a}>${b}`, [a, b]);
    }
  }

  /** An attack (`FuzzProfile.attack`) by `from` on `to`: a step of its own, never owed to anyone. */
  attack(from: FuzzUser, to: FuzzUser, variant: number): void {
    const step = this.profile.attack?.(this.topology, from, to, `x${this.attacks + 1}`, this.nowMs, variant);
    if (step === undefined) return;
    this.attacks += 1;
    this.add(step);
  }

  send(from: FuzzUser, to: FuzzUser): void {
    const body = `m${this.sends.length + 1}`;
    this.talked(from, to);
    this.add(this.profile.send(this.topology, from, to, body, this.nowMs));
    this.sends.push({ atMs: this.nowMs, from, to, body, accepted: !this.crashed.has(from.node) });
  }

  /**
   * One command by `from` to its `group`th group (`FuzzProfile.groupSend`): one step, and one
   * planned send per member, each owed as a send to that member would be. Nothing when the
   * profile has no group sends or `from` no group.
   */
  groupSend(from: FuzzUser, group: number): void {
    const body = `m${this.sends.length + 1}`;
    const sent = this.profile.groupSend?.(this.topology, from, group, body, this.nowMs);
    if (sent === undefined) return;
    this.add(sent.step);
    for (const to of sent.members) {
      this.talked(from, to);
      this.sends.push({ atMs: this.nowMs, from, to, body, accepted: !this.crashed.has(from.node), step: sent.step });
    }
  }

  /** Notes that `from` talked to `to` (the first `probesMax` pairs carry the links a corruption is drawn on). */
  private talked(from: FuzzUser, to: FuzzUser): void {
    const pair = `${from.address}>${to.address}`;
    if (this.talkedPairs.has(pair) || this.talkedPairs.size < probesMax) {
      this.talkedPairs.add(pair);
      this.linksOf(from, to, this.carrying);
    }
  }

  /**
   * Each run of faults so far (with the damages at `damageMs`), with when the protocol has
   * recovered from it by `settleAfterMs` (none when the profile's settle time does not grow with
   * the faults).
   */
  private recovered(
    damageMs: readonly number[] = [],
  ): readonly { readonly beginMs: number; readonly recoveredMs: number }[] {
    const { settleAfterMs, settleMs } = this.profile.delivery;
    if (settleAfterMs === undefined) return [];
    // A damage before the protocol recovered is one more failure for a backoff that is still
    // doubling: it extends the run of faults like any other fault.
    return recoveries(this.spansWithDamage(damageMs), (run) => Math.max(settleMs, settleAfterMs(run)));
  }

  /** The fault spans of the steps so far, then an instant span (a `damage`) at each of `damageMs`. */
  private spansWithDamage(damageMs: readonly number[]): FaultSpan[] {
    const damage = damageMs.map((atMs): FaultSpan => ({ kind: 'damage', hosts: [], beginMs: atMs, endMs: atMs }));
    return [...this.spans(), ...damage];
  }

  /** The fault spans of the steps so far (`faultSpans`); once closed, the same list every time. */
  private spans(): readonly FaultSpan[] {
    if (this.closed === undefined) return faultSpans(this.steps);
    this.closedSpans ??= faultSpans(this.steps);
    return this.closedSpans;
  }

  /** Whether a message sent at `atMs` falls in a quiet window the protocol promises delivery in. */
  private quietAround(
    atMs: number,
    marks: readonly FaultMark[],
    recovered: readonly { readonly beginMs: number; readonly recoveredMs: number }[] = [],
  ): boolean {
    const { settleMs, withinMs } = this.profile.delivery;
    // In flight when a run of faults begins, or sent before the protocol recovered from one.
    if (recovered.some((run) => atMs >= run.beginMs - withinMs && atMs < run.recoveredMs)) return false;
    let open = 0;
    for (const mark of marks) {
      if (mark.atMs > atMs) {
        // A fault that begins while the message may still be in flight voids the promise.
        if (mark.atMs < atMs + withinMs) return false;
        continue;
      }
      if (mark.phase === 'begin') open += 1;
      if (mark.phase === 'end') open -= 1;
      if (mark.atMs > atMs - settleMs) return false;
    }
    return open === 0;
  }

  /**
   * Heals everything still broken, disarms every corruption that may still be pending (so that
   * the closing messages cross a network that is really clean), and sends the closing messages.
   * Once; the steps never depend on when a corruption acted: every damage is at or before the
   * disarm.
   */
  close(): { readonly healMs: number; readonly anyFault: boolean } {
    if (this.closed !== undefined) return this.closed;
    const healMs = this.nowMs + 1;
    for (const pair of this.partitioned.values()) this.add({ atMs: healMs, do: 'heal', between: [...pair] }, 'end');
    for (const pair of this.clogged.values()) this.add({ atMs: healMs, do: 'unclog', between: [...pair] }, 'end');
    for (const node of this.crashed) this.add({ atMs: healMs, do: 'restart', node }, 'end');
    // A node restarted at the heal is up again over its durable store, as after a `restart`
    // command: what its users send from now on is taken, and promised like anyone's (what it lost
    // with its volatile state was sent before, when it was down or within the crash's window).
    this.crashed.clear();
    const { settleMs, withinMs } = this.profile.delivery;
    const pairs = new Map<string, PlannedSend>();
    for (const send of this.sends) pairs.set(`${send.from.address}>${send.to.address}`, send);
    // The first `probesMax` pairs: the ones whose links `trafficLinks` offers a corruption.
    const talked: { readonly from: FuzzUser; readonly to: FuzzUser }[] = [...pairs.values()].slice(0, probesMax);
    let cleanMs = healMs;
    if (this.corrupting.size > 0) {
      // A corruption still armed acts on the next bytes on its link, which may be the closing
      // messages'. So the pairs that talked send once more now, on the healed network, for it to
      // act on (promised as any message is, around the damage), and every corruption is disarmed
      // once those exchanges are over. A disarm is no fault edge: it changes nothing if the
      // corruption acted, and drops one that never did; damage is a mark at the instant it acts.
      this.nowMs = healMs;
      const covered = new Map<string, readonly [string, string]>();
      for (const send of talked) {
        this.linksOf(send.from, send.to, covered);
        this.send(send.from, send.to);
      }
      // A corruption armed before the plan's first send, on a link that no pair that talked uses:
      // a pair that uses it sends too, and talks again at the close like the others.
      for (const key of this.corrupting.keys()) {
        if (covered.has(key)) continue;
        const pair = this.pairUsing(key);
        if (pair === undefined) continue;
        const [from, to] = pair;
        this.linksOf(from, to, covered);
        this.send(from, to);
        talked.push({ from, to });
      }
      cleanMs = healMs + withinMs;
      for (const pair of this.corrupting.values()) this.add({ atMs: cleanMs, do: 'disarm', between: [...pair] });
    }
    const anyFault = this.marks.length > 0 || this.corrupting.size > 0;
    const lastFaultMs = this.marks.reduce((last, mark) => Math.max(last, mark.atMs), 0);
    if (anyFault) {
      // Liveness once faults heal: each pair of users that talked sends once more on the healed,
      // quiet network, and that message is promised whatever the protocol keeps across faults.
      const recoveredMs = this.recovered().reduce((last, run) => Math.max(last, run.recoveredMs), 0);
      const probeMs = Math.max(Math.max(cleanMs, lastFaultMs) + settleMs, recoveredMs);
      for (const step of this.profile.afterHeal?.(this.topology, probeMs - settleMs / 2) ?? []) this.add(step);
      this.nowMs = probeMs;
      for (const send of talked) this.send(send.from, send.to);
    }
    this.closed = { healMs, anyFault };
    return this.closed;
  }

  /** The plan's scenario (`scenario`), by default as if no corruption acted (bench runs, differential tests). */
  finish(seed: number, name: string, damageMs: readonly number[] = []): ScenarioFile {
    return this.scenario(seed, name, damageMs);
  }

  /**
   * The plan, closed, as a scenario source, with the expectations the protocol's promise implies
   * when the armed corruptions damaged bytes at the instants `damageMs` (from `damageInstants`
   * over a run of this plan; a corruption that never acted changed nothing).
   */
  scenario(
    seed: number,
    name: string,
    damageMs: readonly number[],
    refused: ReadonlySet<string> = new Set(),
  ): ScenarioFile {
    const { healMs, anyFault } = this.close();
    const marks: FaultMark[] = [...this.marks, ...damageMs.map((atMs): FaultMark => ({ atMs, phase: 'instant' }))];
    const lastFaultMs = marks.reduce((last, mark) => Math.max(last, mark.atMs), 0);
    const { durable, settleMs, withinMs, underFaults } = this.profile.delivery;
    // A damage is an instant fault too: a retry it broke backs off again from then on.
    const spans = underFaults === undefined ? [] : this.spansWithDamage(damageMs);
    const damageMarks = damageMs.map((atMs): FaultMark => ({ atMs, phase: 'instant' }));
    const recovered = this.recovered(damageMs);

    const promised = new Map<string, { bodies: string[]; byMs: number }>();
    /** Refusals owed (`FuzzProfile.refusal`), per sender's node, code and recipient. */
    const told = new Map<string, { node: string; code: string; to: string; count: number; byMs: number }>();
    for (const send of this.sends) {
      const code = send.accepted ? this.profile.refusal?.(this.topology, send.from, send.to) : undefined;
      if (code !== undefined && this.quietAround(send.atMs, marks, recovered)) {
        const key = `${send.from.node} ${code} ${send.to.address}`;
        const entry = told.get(key) ?? { node: send.from.node, code, to: send.to.address, count: 0, byMs: 0 };
        told.set(key, { ...entry, count: entry.count + 1, byMs: Math.max(entry.byMs, send.atMs + withinMs) });
      }
      if (!send.accepted || !this.profile.promises(this.topology, send.from, send.to)) continue;
      // Refused at once by the sender's node (a SOLEC client whose login a corruption broke, and
      // which logs in again only when told, spec.md §4.1): never accepted, so never owed. (Most
      // scenarios are made with nothing refused: no step is made again for its key then.)
      if (refused.size > 0) {
        const step = send.step ?? this.profile.send(this.topology, send.from, send.to, send.body, send.atMs);
        if (refused.has(commandKey(send.from.node, step))) continue;
      }
      let byMs: number;
      if (durable) byMs = Math.max(send.atMs + withinMs, anyFault ? lastFaultMs + settleMs + withinMs : 0);
      else if (this.quietAround(send.atMs, marks, recovered)) byMs = send.atMs + withinMs;
      else if (underFaults !== undefined && this.quietAround(send.atMs, damageMarks)) {
        const owed = underFaults({ atMs: send.atMs, from: send.from, to: send.to, topology: this.topology, spans });
        if (owed === undefined) continue;
        byMs = Math.max(owed, send.atMs + withinMs);
        // A damage while it may still be retried may have hit the retry itself (a resent stanza
        // with its address edited): not owed.
        if (damageMs.some((atMs) => atMs >= send.atMs - settleMs && atMs <= byMs)) continue;
      } else continue;
      const entry = promised.get(send.to.address) ?? { bodies: [], byMs: 0 };
      entry.bodies.push(this.profile.deliveredBody?.(send.to, send.body, send.from) ?? send.body);
      entry.byMs = Math.max(entry.byMs, byMs);
      promised.set(send.to.address, entry);
    }
    const expect: Expectation[] = [
      { always: this.profile.noDuplicate ?? 'noDuplicateDelivery' },
      ...this.profile.invariants.map((invariant): Expectation => ({ always: invariant })),
    ];
    let endMs = Math.max(healMs, this.nowMs);
    // Each refusal owed is a reject at the sender's node naming the recipient (one per message).
    for (const { node, code, to, count, byMs } of told.values()) {
      const reject = { kind: 'reject', node, code, detail: { to } };
      expect.push({
        byMs,
        name: `${node} told ${code} for ${to}`,
        sequence: Array.from({ length: count }, () => reject),
      });
      endMs = Math.max(endMs, byMs);
    }
    for (const [to, entry] of promised) {
      expect.push({ byMs: entry.byMs, delivered: { to, bodies: entry.bodies, exactly: false } });
      endMs = Math.max(endMs, entry.byMs);
    }
    return {
      name,
      protocol: this.profile.protocol,
      seed,
      nodes: this.topology.nodes,
      ...(this.topology.dns.length > 0 ? { dns: [...this.topology.dns] } : {}),
      network: this.topology.network,
      steps: this.steps,
      expect,
      // The run stops when quiet or at the last deadline plus a margin; events bound a livelock.
      limits: { timeMsMax: endMs + (this.profile.delivery.drainMs ?? 1_000), eventsMax: 200_000 },
    };
  }
}

/** A command step, as the key `refusedCommands` names it by. */
export function commandKey(node: string, step: Step): string {
  return step.do === 'command' ? `${node} ${JSON.stringify(step.command)}` : '';
}

/**
 * The commands a node refused at once: a `reject` from the node right after the `command` event
 * (the next event it recorded), keyed as `commandKey`. A message refused so was never accepted.
 */
export function refusedCommands(events: readonly TraceEvent[]): Set<string> {
  const refused = new Set<string>();
  /** Per node, its last command when that was the last event it recorded. */
  const pending = new Map<string, TraceEvent & { kind: 'command' }>();
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as TraceEvent;
    const command = pending.get(event.node);
    if (command !== undefined) pending.delete(event.node);
    if (event.kind === 'command') pending.set(event.node, event);
    else if (command !== undefined && event.kind === 'reject' && event.atMs === command.atMs)
      refused.add(`${command.node} ${JSON.stringify(command.command)}`);
  }
  return refused;
}

/**
 * The commands whose message the sender's node dropped, with a reject whose code is in `codes`,
 * after at least `damagesMin` corruptions or truncations acted (`DeliveryPromise.refusalCodes`:
 * a refusal confirmed by two answers in a row, each of which a damage may have made). Keyed as
 * `commandKey`. A reject names its message by `detail.id`; the ids are those the node gave the
 * command, read from the events carrying a `detail.id` that the node recorded right after it, at
 * its instant (a group send gives one per member; a refusal of one excuses the command's message to
 * every member, which errs on the side of owing less).
 */
export function droppedAfterDamage(
  events: readonly TraceEvent[],
  codes: readonly string[],
  damagesMin = 2,
): Set<string> {
  const dropped = new Set<string>();
  // Most runs have fewer damages than that (none): then nothing is excused, told by a count alone.
  if (codes.length === 0 || damageInstants(events).length < damagesMin) return dropped;
  const commandOf = new Map<string, string>();
  /** Per node, its last command when that was the last event it recorded. */
  const pending = new Map<string, TraceEvent & { kind: 'command' }>();
  let damages = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as TraceEvent;
    if (
      event.kind === 'fault' &&
      event.phase === 'end' &&
      (event.fault === 'corrupt' || event.fault === 'truncate') &&
      event.detail['disarmed'] !== true
    )
      damages += 1;
    const command = pending.get(event.node);
    pending.delete(event.node);
    if (event.kind === 'command') {
      pending.set(event.node, event);
      continue;
    }
    // A command may give several messages ids at its instant (a group send: one per member).
    if (command !== undefined && event.atMs === command.atMs) pending.set(event.node, command);
    const detail = 'detail' in event ? (event.detail as Record<string, unknown> | undefined) : undefined;
    const id = typeof detail?.['id'] === 'string' ? `${event.node} ${detail['id']}` : undefined;
    if (id === undefined) continue;
    if (command !== undefined && event.atMs === command.atMs && !commandOf.has(id))
      commandOf.set(id, `${command.node} ${JSON.stringify(command.command)}`);
    if (event.kind === 'reject' && codes.includes(event.code) && damages >= damagesMin) {
      const key = commandOf.get(id);
      if (key !== undefined) dropped.add(key);
    }
  }
  return dropped;
}

/**
 * When armed corruptions and truncations acted in a run: the `end` of each that changed bytes,
 * not one a `disarm` step dropped. Sorted, as the trace is.
 */
export function damageInstants(events: readonly TraceEvent[]): number[] {
  const instants: number[] = [];
  // Indexed loops over a run's events here: each of these runs once per case, so it may stay
  // unoptimised, and `for…of` then allocates an iterator result per event.
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as TraceEvent;
    if (event.kind !== 'fault' || event.phase !== 'end') continue;
    if (event.fault !== 'corrupt' && event.fault !== 'truncate') continue;
    if (event.detail['disarmed'] === true) continue;
    instants.push(event.atMs);
  }
  return instants;
}
