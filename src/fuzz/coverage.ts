/**
 * Statechart coverage of a fuzz campaign, from the trace alone: which states and transitions of
 * each machine kind the runs reached (a trace's `state` events, per machine instance in order),
 * against what the machine defines (read from the xstate definition of each machine a run
 * started, through a tap on the run's engine). And `sometimes` assertions (in Antithesis's sense):
 * named rare paths, each a note or a state, that a campaign must reach at least once.
 *
 * A machine kind is the machine's name up to its first space (`solec.relay s2s:1` is
 * `solec.relay`). A transition is `source>target` as defined, between state paths; an observed
 * change from leaf `a` to leaf `b` reaches each defined transition whose source is `a` or an
 * ancestor of it and whose target is `b` or an ancestor of it. A transition that does not change
 * the state (a self or targetless one) cannot show in a trace and is left out.
 *
 * Must not: read a clock or a random source.
 */
import type { AnyStateMachine } from 'xstate';
import { withWatch, type Engine } from '../engine/engine.js';
import type { TraceEvent } from '../trace/events.js';
import { unreachableReason } from './unreachable.js';

/** A machine kind's definition: its state paths and the transitions that change state. */
export interface MachineDefinition {
  readonly states: readonly string[];
  readonly transitions: readonly string[];
}

/** What one run reached. */
export interface RunCoverage {
  /** Machine kinds started in the run, with their definitions (each kind once). */
  readonly machines: Readonly<Record<string, MachineDefinition>>;
  /** `kind state`: every state a machine of that kind was in. */
  readonly states: readonly string[];
  /** `kind source>target`: every state change, between leaves as the trace names them. */
  readonly changes: readonly string[];
  /** Names of the profile's `sometimes` assertions the run reached. */
  readonly sometimes: readonly string[];
  /** The command generators the run drew (src/fuzz/commands/index.ts), what steering weighs. */
  readonly generators?: readonly string[];
}

/** A rare path a campaign must reach at least once: a note, or a machine kind in a state. */
export interface Sometimes {
  readonly name: string;
  readonly note?: string;
  /** `kind state`, as in RunCoverage.states (a prefix of the state path matches its descendants). */
  readonly state?: string;
}

interface StateNodeLike {
  readonly path: readonly string[];
  readonly states: Readonly<Record<string, StateNodeLike>>;
  readonly transitions: ReadonlyMap<string, readonly { readonly target?: readonly StateNodeLike[] }[]>;
  readonly always?: readonly { readonly target?: readonly StateNodeLike[] }[];
}

/**
 * The states and state-changing transitions an xstate machine defines. A transient state (one
 * left only by eventless `always` transitions) never shows in a trace, which records where a
 * machine settles: it is left out, and a transition into it stands for the transitions it leads
 * on to (`a>retrying`, `retrying>backingOff` become `a>backingOff`).
 */
export function machineDefinition(machine: AnyStateMachine): MachineDefinition {
  const states: string[] = [];
  const edges: [string, string][] = [];
  const transient = new Set<string>();
  const walk = (node: StateNodeLike) => {
    for (const child of Object.values(node.states)) {
      const source = child.path.join('.');
      states.push(source);
      if (child.transitions.size === 0 && (child.always?.length ?? 0) > 0) transient.add(source);
      const definitions = [...[...child.transitions.values()].flat(), ...(child.always ?? [])];
      for (const definition of definitions) {
        for (const target of definition.target ?? []) {
          const path = target.path.join('.');
          // A target inside the source, or the source itself, does not show as a change.
          if (path !== source && !path.startsWith(`${source}.`)) edges.push([source, path]);
        }
      }
      walk(child);
    }
  };
  walk(machine.root as unknown as StateNodeLike);
  const transitions = new Set<string>();
  const follow = (source: string, target: string, depth: number) => {
    if (!transient.has(target) || depth > 4) {
      if (source !== target) transitions.add(`${source}>${target}`);
      return;
    }
    for (const [from, to] of edges) if (from === target) follow(source, to, depth + 1);
  };
  for (const [source, target] of edges) if (!transient.has(source)) follow(source, target, 0);
  return { states: states.filter((state) => !transient.has(state)), transitions: [...transitions].sort() };
}

function kindOf(name: string): string {
  const space = name.indexOf(' ');
  return space < 0 ? name : name.slice(0, space);
}

/**
 * Collects the definitions of the machines started while `fn` runs: `fn` is handed `engine` with a
 * watch (engine.ts `withWatch`: each actor's machine and name, not a recording of its steps) and
 * must build its world on that engine, so only its own actors are seen.
 */
export function withMachineDefinitions<T>(
  engine: Engine,
  fn: (tapped: Engine) => T,
): { value: T; machines: Record<string, MachineDefinition> } {
  const started = new Map<string, AnyStateMachine>();
  const value = fn(
    withWatch(engine, (machine, name) => {
      const kind = kindOf(name);
      if (!started.has(kind)) started.set(kind, machine);
    }),
  );
  const machines: Record<string, MachineDefinition> = {};
  for (const [kind, machine] of started) machines[kind] = definitionOf(machine);
  return { value, machines };
}

const definitions = new WeakMap<AnyStateMachine, MachineDefinition>();
function definitionOf(machine: AnyStateMachine): MachineDefinition {
  let definition = definitions.get(machine);
  if (definition === undefined) {
    definition = machineDefinition(machine);
    definitions.set(machine, definition);
  }
  return definition;
}

/** What a run's trace reached, and which `sometimes` assertions. */
export function runCoverage(
  events: readonly TraceEvent[],
  machines: Readonly<Record<string, MachineDefinition>>,
  sometimes: readonly Sometimes[],
): RunCoverage {
  const states = new Set<string>();
  const changes = new Set<string>();
  const notes = new Set<string>();
  /** Per node, per machine name, its last state. */
  const last = new Map<string, Map<string, string>>();
  /** Each machine name's kind, worked out once per run. */
  const kinds = new Map<string, string>();
  // An indexed loop: this runs once per run, so it may not be optimised, and `for…of` then
  // allocates an iterator result per event.
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as TraceEvent;
    if (event.kind === 'note') notes.add(event.what);
    if (event.kind !== 'state') continue;
    let kind = kinds.get(event.machine);
    if (kind === undefined) kinds.set(event.machine, (kind = kindOf(event.machine)));
    states.add(`${kind} ${event.value}`);
    let machines = last.get(event.node);
    if (machines === undefined) last.set(event.node, (machines = new Map()));
    const before = machines.get(event.machine);
    if (before !== undefined && before !== event.value) changes.add(`${kind} ${before}>${event.value}`);
    machines.set(event.machine, event.value);
  }
  const within = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`);
  const reached = sometimes.filter(
    (s) =>
      (s.note !== undefined && notes.has(s.note)) ||
      (s.state !== undefined &&
        [...states].some((state) => {
          const [kind, path] = [state.slice(0, state.indexOf(' ')), state.slice(state.indexOf(' ') + 1)];
          const [wantKind = '', wantPath = ''] = [
            s.state?.slice(0, s.state.indexOf(' ')),
            s.state?.slice(s.state.indexOf(' ') + 1),
          ];
          return kind === wantKind && within(path, wantPath);
        })),
  );
  return { machines, states: [...states], changes: [...changes], sometimes: reached.map((s) => s.name) };
}

/** A campaign's coverage: per machine kind, what was reached and what never was. */
export interface CampaignCoverage {
  readonly machines: readonly {
    readonly kind: string;
    readonly states: { readonly reached: readonly string[]; readonly never: readonly string[] };
    readonly transitions: { readonly reached: readonly string[]; readonly never: readonly string[] };
  }[];
  /** Each `sometimes` assertion and how many runs reached it. */
  readonly sometimes: readonly { readonly name: string; readonly runs: number }[];
}

export function mergeCoverage(runs: readonly RunCoverage[], sometimes: readonly Sometimes[]): CampaignCoverage {
  const definitions = new Map<string, MachineDefinition>();
  const states = new Set<string>();
  const changes = new Set<string>();
  const hits = new Map<string, number>(sometimes.map((s) => [s.name, 0]));
  for (const run of runs) {
    for (const [kind, definition] of Object.entries(run.machines)) definitions.set(kind, definition);
    for (const state of run.states) states.add(state);
    for (const change of run.changes) changes.add(change);
    for (const name of run.sometimes) hits.set(name, (hits.get(name) ?? 0) + 1);
  }
  const within = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`);
  const machines = [...definitions.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, definition]) => {
      const leaves = [...states].filter((s) => s.startsWith(`${kind} `)).map((s) => s.slice(kind.length + 1));
      const seen = [...changes].filter((c) => c.startsWith(`${kind} `)).map((c) => c.slice(kind.length + 1));
      const stateReached = (state: string) => leaves.some((leaf) => within(leaf, state));
      const transitionReached = (transition: string) => {
        const [source = '', target = ''] = transition.split('>');
        return seen.some((change) => {
          const [from = '', to = ''] = change.split('>');
          return within(from, source) && within(to, target);
        });
      };
      return {
        kind,
        states: {
          reached: definition.states.filter(stateReached).sort(),
          never: definition.states.filter((state) => !stateReached(state)).sort(),
        },
        transitions: {
          reached: definition.transitions.filter(transitionReached).sort(),
          never: definition.transitions.filter((transition) => !transitionReached(transition)).sort(),
        },
      };
    });
  return { machines, sometimes: sometimes.map((s) => ({ name: s.name, runs: hits.get(s.name) ?? 0 })) };
}

/** Reached and never-reached lists of one kind across campaigns: reached by any, never by none. */
function unionReached(parts: readonly { readonly reached: readonly string[]; readonly never: readonly string[] }[]): {
  reached: string[];
  never: string[];
} {
  const reached = new Set(parts.flatMap((part) => part.reached));
  const all = new Set(parts.flatMap((part) => [...part.reached, ...part.never]));
  return { reached: [...reached].sort(), never: [...all].filter((item) => !reached.has(item)).sort() };
}

/**
 * The coverage of campaigns over disjoint seeds (shards) as one campaign's: what any reached, and
 * each `sometimes` count summed. Lists are sorted, as `mergeCoverage` gives them, so the merge of
 * shards equals the unsharded campaign's coverage.
 */
export function combineCoverage(parts: readonly CampaignCoverage[]): CampaignCoverage | undefined {
  if (parts.length === 0) return undefined;
  const kinds = [...new Set(parts.flatMap((part) => part.machines.map((m) => m.kind)))].sort((a, b) =>
    a.localeCompare(b),
  );
  const machines = kinds.map((kind) => {
    const of = parts.flatMap((part) => part.machines.filter((m) => m.kind === kind));
    return {
      kind,
      states: unionReached(of.map((m) => m.states)),
      transitions: unionReached(of.map((m) => m.transitions)),
    };
  });
  const names = [...new Set(parts.flatMap((part) => part.sometimes.map((s) => s.name)))];
  const sometimes = names.map((name) => ({
    name,
    runs: parts.reduce((sum, part) => sum + (part.sometimes.find((s) => s.name === name)?.runs ?? 0), 0),
  }));
  return { machines, sometimes };
}

/** The coverage as Markdown: a table per protocol, then what was never reached. */
export function coverageMarkdown(protocol: string, coverage: CampaignCoverage): string {
  const lines = [`## Coverage: ${protocol}`, '', '| machine | states | transitions |', '|---|---:|---:|'];
  for (const m of coverage.machines) {
    const states = m.states.reached.length + m.states.never.length;
    const transitions = m.transitions.reached.length + m.transitions.never.length;
    lines.push(`| ${m.kind} | ${m.states.reached.length}/${states} | ${m.transitions.reached.length}/${transitions} |`);
  }
  lines.push('');
  if (coverage.sometimes.length > 0) {
    lines.push('| sometimes | runs |', '|---|---:|');
    for (const s of coverage.sometimes) lines.push(`| ${s.name} | ${s.runs}${s.runs === 0 ? ' (never)' : ''} |`);
    lines.push('');
  }
  for (const m of coverage.machines) {
    if (m.states.never.length === 0 && m.transitions.never.length === 0) continue;
    // A gap is never reached and not listed unreachable (src/fuzz/unreachable-list.ts).
    const mark = (item: string) => {
      const reason = unreachableReason(m.kind, item);
      return reason === undefined ? `${item} (gap)` : `${item} (unreachable: ${reason})`;
    };
    lines.push(`- ${m.kind} never reached:`);
    if (m.states.never.length > 0) lines.push(`  - states: ${m.states.never.map(mark).join('; ')}`);
    if (m.transitions.never.length > 0) lines.push(`  - transitions: ${m.transitions.never.map(mark).join('; ')}`);
  }
  lines.push('');
  return lines.join('\n');
}
