/**
 * Failures grouped by signature: the same broken invariants and the same shrunk shape. A
 * campaign against a broken node finds one bug many times (`fuzz --canary drop`: one per run);
 * a group is printed once, with its count, its seeds and its smallest counterexample.
 *
 * - The invariant of a failure line (`name: message`) is its name with numbers written `#` and
 *   lists written `[…]`: `by 3100ms u1@n2.test received ["m1"]` and `by 12102ms u1@n2.test
 *   received ["m1","m2"]` are the same promise broken.
 * - The shape of a shrunk scenario is its node count and the kinds of its steps, in order
 *   (`corrupt, command send, disarm`), without times, names or values.
 * - The smallest counterexample of a group has the fewest steps, then the lowest seed.
 *
 * Pure, and computed from the summary's counterexamples only, so merged shards group exactly as
 * one unsharded run does.
 */
import type { ScenarioFile } from '../scenario/schema.js';

/** A counterexample as the summary keeps it. */
export interface CounterexampleRecord {
  readonly seed: number;
  readonly file: string;
  readonly replay: string;
  readonly steps: number;
  /** The expectations it breaks, as `name: message`. */
  readonly failures?: readonly string[];
  /** Its shrunk shape (`shapeOf`). */
  readonly shape?: string;
}

export interface FailureGroup {
  /** 8 hex digits naming the signature (FNV-1a of it), stable across runs and shards. */
  readonly id: string;
  readonly protocol: string;
  readonly canary?: string;
  readonly signature: string;
  /** The broken invariants, normalised, sorted. */
  readonly invariants: readonly string[];
  readonly shape: string;
  readonly count: number;
  /** The fuzz seeds of the group's runs, ascending. */
  readonly seeds: readonly number[];
  readonly smallest: CounterexampleRecord;
}

/** The protocol-level part of a summary grouping needs. */
export interface GroupableSummary {
  readonly protocol: string;
  readonly canary?: string;
  readonly counterexamples: readonly CounterexampleRecord[];
}

/** An expectation's name with the run's particulars (numbers, listed values) left out. */
export function invariantOf(failure: string): string {
  const colon = failure.indexOf(': ');
  const name = colon < 0 ? failure : failure.slice(0, colon);
  return name.replace(/\[[^\]]*\]/g, '[…]').replace(/\d+/g, '#');
}

/** A shrunk scenario's shape: its node count and its steps' kinds, in order. */
export function shapeOf(source: ScenarioFile): string {
  const nodes = Object.keys(source.nodes ?? {}).length;
  const steps = (source.steps ?? []).map((step) => {
    const record = step as { do?: unknown; command?: { type?: unknown } };
    const kind = typeof record.do === 'string' ? record.do : 'step';
    return typeof record.command?.type === 'string' ? `${kind} ${record.command.type}` : kind;
  });
  return `${nodes} node${nodes === 1 ? '' : 's'}: ${steps.length === 0 ? 'no steps' : steps.join(', ')}`;
}

/** FNV-1a, 32 bits, as 8 hex digits. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function smaller(a: CounterexampleRecord, b: CounterexampleRecord): boolean {
  return a.steps !== b.steps ? a.steps < b.steps : a.seed < b.seed;
}

/** The failure groups of campaigns, per protocol in the order given, the largest group first. */
export function groupFailures(summaries: readonly GroupableSummary[]): FailureGroup[] {
  const all: FailureGroup[] = [];
  for (const summary of summaries) {
    const groups = new Map<string, { invariants: string[]; shape: string; records: CounterexampleRecord[] }>();
    for (const record of summary.counterexamples) {
      const invariants = [...new Set((record.failures ?? []).map(invariantOf))].sort();
      const shape = record.shape ?? `${record.steps} steps`;
      const signature = `${invariants.join('; ')} | ${shape}`;
      const group = groups.get(signature) ?? { invariants, shape, records: [] };
      group.records.push(record);
      groups.set(signature, group);
    }
    const found = [...groups.entries()].map(([signature, group]): FailureGroup => {
      const records = [...group.records].sort((a, b) => a.seed - b.seed);
      const smallest = records.reduce((best, record) => (smaller(record, best) ? record : best));
      const full = `${summary.protocol}${summary.canary === undefined ? '' : ` canary ${summary.canary}`} | ${signature}`;
      return {
        id: fnv1a(full),
        protocol: summary.protocol,
        ...(summary.canary === undefined ? {} : { canary: summary.canary }),
        signature,
        invariants: group.invariants,
        shape: group.shape,
        count: records.length,
        seeds: records.map((record) => record.seed),
        smallest,
      };
    });
    found.sort((a, b) => b.count - a.count || (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
    all.push(...found);
  }
  return all;
}

/** Seeds as a short list: `4, 7, 8 and 12 more`. */
export function seedList(seeds: readonly number[], shown = 8): string {
  const head = seeds.slice(0, shown).join(', ');
  return seeds.length > shown ? `${head} and ${seeds.length - shown} more` : head;
}

/** A group as text lines, for the terminal and summary.md. */
export function groupLines(group: FailureGroup): string[] {
  const who = `${group.protocol}${group.canary === undefined ? '' : ` (canary ${group.canary})`}`;
  return [
    `FAIL ${who} [${group.id}] ${group.count} run${group.count === 1 ? '' : 's'} (seeds ${seedList(group.seeds)})`,
    `  invariant: ${group.invariants.join('; ') || '(none named)'}`,
    `  shape: ${group.shape}`,
    `  smallest: seed ${group.smallest.seed} (${group.smallest.steps} steps)`,
    ...(group.smallest.failures ?? []).map((line) => `  x ${line}`),
    `  replay: ${group.smallest.replay}`,
  ];
}
