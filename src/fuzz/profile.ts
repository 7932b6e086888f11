/**
 * What the fuzzer needs to know about one protocol: how to draw a topology (nodes, configs, DNS,
 * network), how a user sends a message, and what the protocol promises about delivery. The
 * promise is what turns a generated run into a verdict, so it is stated conservatively, from the
 * protocol's spec.md: a protocol with durable queues (F140) promises every accepted message once
 * faults heal; the others promise messages sent while the network is quiet.
 */
import type fc from 'fast-check';
import type { ScenarioFile, Step } from '../scenario/schema.js';
import type { Sometimes } from './coverage.js';
import type { TraceEvent } from '../trace/events.js';
import type { FaultedSend } from './faults.js';
import type { FieldOp } from '../core/wire-fields.js';

/** A user that can send and receive: its address, and the node that acts for it. */
export interface FuzzUser {
  readonly address: string;
  /** The node a `command` step goes to when this user sends. */
  readonly node: string;
}

/** One drawn topology: everything of a scenario but its steps and expectations. */
export interface Topology {
  readonly nodes: ScenarioFile['nodes'];
  readonly dns: NonNullable<ScenarioFile['dns']>;
  readonly network: NonNullable<ScenarioFile['network']>;
  readonly users: readonly FuzzUser[];
  /** Hosts that faults may cut apart (partition, clog, corrupt). */
  readonly hosts: readonly string[];
  /** Nodes that may crash and restart. */
  readonly crashable: readonly string[];
}

export interface DeliveryPromise {
  /** Queues survive faults and crashes: every accepted message is delivered once all faults heal. */
  readonly durable: boolean;
  /** How long after the last fault ends the protocol needs before its promise holds again. */
  readonly settleMs: number;
  /**
   * How long after a run of faults (spans merged while the protocol had not recovered, from the
   * first one's beginning to the last one's end) the quiet-network promise holds again, when that
   * grows with the faults (a reconnect's backoff doubles for as long as they last): the plan then
   * waits for the larger of this and `settleMs` (src/fuzz/faults.ts `recoveries`).
   */
  settleAfterMs?(run: { readonly beginMs: number; readonly endMs: number }): number;
  /** How long a message sent on a quiet network may take. */
  readonly withinMs: number;
  /**
   * What the protocol promises for a message sent while faults happen, around them or before
   * the peers notice them (the quiet-network promise above aside): the instant it is owed by,
   * or undefined when one of the faults may lose it by the spec. Derived from the protocol's own
   * retries, resumption and timeouts (src/fuzz/faults.ts). A corruption's damage still voids
   * the promise of what was in flight (`settleMs`, `withinMs` around it).
   */
  underFaults?(send: FaultedSend): number | undefined;
  /**
   * How long after a node crashes its peers may still use their old connections to it, when
   * the protocol only recovers once they notice (the network's reset): the plan then counts the
   * crash as a fault again at that instant, so the quiet-network promise (and the closing
   * messages) start after it. Unset, or undefined for a topology: a restart ends the crash.
   */
  crashNoticedMs?(topology: Topology): number | undefined;
  /**
   * Reject codes with which a sender's node drops a message its peer refused, where a refusal is
   * confirmed by two answers in a row (F140's `f140.refused`, spec.md §5): two damaged exchanges
   * look the same, so a message dropped with one of them after two corruptions acted is not owed
   * (`droppedAfterDamage` in plan.ts). One damage never excuses it.
   */
  readonly refusalCodes?: readonly string[];
  /**
   * Commands (keyed as plan.ts `commandKey`) whose messages a damage may have stranded, read from
   * a run's trace: F140's PING whose `reply_to` a corruption rewrote re-points the friend to an
   * address that is not its node's (spec.md §4.2, §5). Not owed, like `refusalCodes`' drops.
   */
  strandedByDamage?(events: readonly TraceEvent[]): ReadonlySet<string>;
  /** How long the run goes on after its last deadline, for retries and end-of-run invariants. @defaultValue 1000 */
  readonly drainMs?: number;
}

export interface FuzzProfile {
  readonly protocol: string;
  readonly topology: fc.Arbitrary<Topology>;
  /** The step that makes `from` send `body` to `to` at `atMs`. */
  send(topology: Topology, from: FuzzUser, to: FuzzUser, body: string, atMs: number): Step;
  /**
   * Attacker roles (src/fuzz/commands/attack.ts): the step with which `from`, turned adversary,
   * sends `body` to `to` by one of the protocol's attacks (`variant`, modulo their number: a
   * forged sender, a replayed frame, a wrong challenge), or undefined when it has none against
   * them. Never owed; the invariants say what it must not achieve under the fixed profiles.
   */
  attack?(
    topology: Topology,
    from: FuzzUser,
    to: FuzzUser,
    body: string,
    atMs: number,
    variant: number,
  ): Step | undefined;
  /**
   * The links (`[a, b]`: bytes from host `a` to host `b`) that carry bytes when `from` sends to
   * `to` on a quiet network: the message, each hop it is relayed over, and their answers. The
   * plan keeps those among `topology.hosts`; a corruption is drawn among the links the plan's
   * sends use, so that it acts on traffic (src/fuzz/commands/corrupt.ts).
   */
  links(topology: Topology, from: FuzzUser, to: FuzzUser): readonly (readonly [string, string])[];
  /**
   * The wire fields (`Protocol.wireFields` names: lengths, types, ids, counters) the fuzzer's
   * structure-aware corruption edits (src/fuzz/commands/corrupt-field.ts).
   */
  readonly wireFields?: readonly string[];
  /**
   * Wire fields (among `wireFields`) whose edit is aimed: a `corruptField` that draws one arms it
   * on the link `link` names in the topology (none: nothing armed), with the edit `op`, instead of
   * on a link of the plan's traffic with the drawn edit (the draw's link and edit are unused). For a damage that only a role nothing is
   * owed to may take (Ambrosia: the slow user's post-SASL features without `<bind/>`), or one that
   * must meet a stream's setup to act, which random faults rarely do (Ambrosia: a service's
   * stream-header namespace, an s2s `<stream:features>`).
   */
  readonly fieldAims?: Readonly<
    Record<
      string,
      {
        /** The link, from the topology and the plan's sends so far. */
        link(
          topology: Topology,
          sent: readonly { readonly from: FuzzUser; readonly to: FuzzUser }[],
        ): readonly [string, string] | undefined;
        readonly op: FieldOp;
        /**
         * Instead of the field edit (the field's name is then a label only): the first `find` in the
         * segment replaced by `replace`, for a damage no wire field names (a stream header's namespace).
         */
        readonly edit?: { readonly find: string; readonly replace: string };
        /**
         * Restart the link's far end (`true`) or its near end (`'sender'`) once armed, a crash and a
         * restart 1 ms later: it logs in (or connects) afresh over the link.
         */
        readonly relogin?: boolean | 'sender';
        /** Once armed, a send between these users (one whose way opens the stream the damage waits for). */
        trigger?(topology: Topology, link: readonly [string, string]): readonly [FuzzUser, FuzzUser] | undefined;
        /** With `relogin` or `trigger`, how long the plan then waits before its next command (the login's time). */
        readonly holdMs?: number;
      }
    >
  >;
  /**
   * Where a `loseAnswer` fault aims (src/fuzz/commands/lose-answer.ts), for a protocol whose
   * message goes out after a few round trips, where a cut 1 to 120 ms after the send almost never
   * catches the answer and the retry-after-a-lost-answer path (dedup) goes untested. A cut holds
   * what is sent after it begins, not what is already on the wire, and a node answers the instant
   * the message arrives: so the cut must begin while the way back is quiet just before the answer.
   * F140 pings first, each exchange on a connection of its own: the MSG connection's SYN-ACK leaves
   * the recipient 5 one-way delays after the send, its answer 7. Unset: that fixed span, cut until
   * healed.
   */
  readonly lostAnswer?: {
    /** The quiet span of the way back before the answer leaves, in one-way delays after the send on a quiet network (scaled by the topology's mean latency). */
    readonly quiet: readonly [number, number];
    /** How long the sender waits for an answer before it gives up and retries: the cut lasts longer, then heals. */
    readonly timeoutMs: number;
  };
  /**
   * A send to several recipients with one command (F140's group `broadcast`, src/fuzz/commands/
   * group-send.ts): the step with which `from` sends `body` to its `group`th group (modulo their
   * number) at `atMs`, and the members it goes to, or undefined when `from` has no group. The plan
   * owes it to each member as a send to that member (`promises`, `delivery`), and to no one else.
   */
  groupSend?(
    topology: Topology,
    from: FuzzUser,
    group: number,
    body: string,
    atMs: number,
  ): { readonly step: Step; readonly members: readonly FuzzUser[] } | undefined;
  /**
   * The DNS names a message from `from` to `to` may be resolved through on a quiet network (an MX
   * record, a key record), for a protocol whose nodes use DNS: the `dnsFault` command
   * (src/fuzz/commands/dns-fault.ts) fails one of them while the message is sent, and is drawn only
   * for a profile that has this. What is owed under a DNS fault is `delivery.underFaults`' to say
   * (a `dns` span, src/fuzz/faults.ts).
   */
  dnsNames?(topology: Topology, from: FuzzUser, to: FuzzUser): readonly string[];
  /**
   * Where a `loseMessage` fault aims (src/fuzz/commands/lose-message.ts), for a protocol that
   * relays: the hop of a message from `from` to `to` (`[a, b]`, two fault hosts; none when it has
   * no such hop) whose sender `a` must send it again when its answer timeout fires before the
   * connection resets, and that timeout in the topology. Drawn only for a profile that has this.
   */
  readonly lostMessage?: {
    hop(topology: Topology, from: FuzzUser, to: FuzzUser): readonly [string, string] | undefined;
    timeoutMs(topology: Topology): number;
  };
  /**
   * Where an `ackRace` fault aims (src/fuzz/commands/ack-race.ts), for a protocol whose last hop
   * to a user is acked stanza by stanza and resumed (Ambrosia's XEP-0198 stream management): that
   * hop for a message from `from` to `to` (`[server, recipient's node]`, two fault hosts; none
   * when it has none), a text found in the segment carrying the message `body` on it and in no
   * other, and how long the server waits for an ack before it gives the stream up. Drawn only for
   * a profile that has this.
   */
  readonly ackRace?: {
    hop(topology: Topology, from: FuzzUser, to: FuzzUser): readonly [string, string] | undefined;
    marker(body: string): string;
    readonly ackTimeoutMs: number;
  };
  /**
   * The reject code the sender's node reports for a message from `from` to `to` that the
   * recipient's side refuses with an answer (FMTP: NOT-FOUND, REJECTED by policy; spec.md §8), or
   * none. A message sent on a quiet network to such a recipient is owed that reject, at the
   * sender's node, as a message is owed its delivery (`Plan.scenario`).
   */
  refusal?(topology: Topology, from: FuzzUser, to: FuzzUser): string | undefined;
  /** Whether the protocol promises delivery from `from` to `to` at all (F140: friends only). */
  promises(topology: Topology, from: FuzzUser, to: FuzzUser): boolean;
  readonly delivery: DeliveryPromise;
  /**
   * The body the recipient sees for a sent `body` (Bester delivers the message's data as JSON, as
   * the handlers on its way transformed it).
   */
  deliveredBody?(to: FuzzUser, body: string, from: FuzzUser): string;
  /** The first instant the workload may start (sessions log in and services register first). */
  readonly startMs: number;
  /**
   * Steps users take once every fault has healed, before the closing messages (SOLEC clients log
   * in again: the protocol has no reconnect of its own, spec.md §4).
   */
  afterHeal?(topology: Topology, atMs: number): Step[];
  /** Named invariants (src/check/registry.ts) every generated scenario asks for. */
  readonly invariants: readonly string[];
  /**
   * The invariant every generated scenario asks for in place of `noDuplicateDelivery`: the same
   * check with the second copies the protocol's spec allows (Ambrosia's resend after a failed
   * resumption). @defaultValue 'noDuplicateDelivery'
   */
  readonly noDuplicate?: string;
  /**
   * Rare paths a campaign must reach at least once (`sometimes` assertions: reconnect, resume,
   * relay retry, dedup hit), reported in the campaign's summary (src/fuzz/coverage.ts).
   */
  readonly sometimes?: readonly Sometimes[];
  /**
   * Set on a variant (below): the protocol profile (a node config `profile`) its topologies run,
   * such as F140's `seed`. Counterexamples of a variant are named `<protocol>-<variant>-<seed>`.
   */
  readonly variant?: string;
  /**
   * This protocol's campaigns under a named protocol profile (`fedsim fuzz <protocol> --profile
   * <name>`, or `fedsim fuzz <protocol>:<name>`): topologies whose nodes run that profile, with the
   * attacker roles and the flaw invariants of spec.md's Profiles section, so that a campaign on the
   * faithful profile finds each flaw by itself and one on the fixed profile shows it refused. The
   * default campaign (`fedsim fuzz <protocol>`, `all`) runs this profile.
   */
  readonly variants?: Readonly<Record<string, FuzzProfile>>;
}

/** The name `fedsim fuzz` takes for `profile`: `<protocol>`, or `<protocol>:<variant>`. */
export function fuzzProfileName(profile: FuzzProfile): string {
  return profile.variant === undefined ? profile.protocol : `${profile.protocol}:${profile.variant}`;
}
