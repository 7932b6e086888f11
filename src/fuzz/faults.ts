/**
 * Faults of a plan as spans of time, for promises that hold while faults happen. A partition or
 * clog spans from its step to the heal (or unclog) of the same pair; a crash from the crash to the
 * restart; a DNS fault from `dnsFail` to the `dnsRestore` of the same name. `close` heals
 * everything, so every span ends. A skew is an instant on a node.
 * Corruption is not here: its damage is an instant read from the run (plan.ts `damageInstants`).
 *
 * A protocol that retries, resumes or queues durably states, in its fuzz profile
 * (`DeliveryPromise.underFaults`), which spans a message survives and by when it is owed; the
 * deadline comes from the protocol's own timeouts and backoff (`retryDeadlineMs`).
 *
 * Must not: read a clock or a random source.
 */
import type { Step } from '../scenario/schema.js';
import type { FuzzUser, Topology } from './profile.js';

export interface FaultSpan {
  /**
   * `damage`: a corruption or truncation acted (an instant, on no host in particular). `dns`: a
   * DNS name failed (`dns`; on no host: the resolver is part of the network).
   */
  readonly kind: 'partition' | 'clog' | 'crash' | 'skew' | 'damage' | 'dns';
  /** The two hosts a link fault cuts apart; the node a crash or skew hits. */
  readonly hosts: readonly string[];
  /** A `dns` span's name and how it failed. */
  readonly dns?: { readonly name: string; readonly mode: 'servfail' | 'nxdomain' | 'timeout' };
  readonly beginMs: number;
  readonly endMs: number;
}

/** The spans of every fault in `steps`, in order of their beginning. */
export function faultSpans(steps: readonly Step[]): FaultSpan[] {
  const spans: FaultSpan[] = [];
  const open = new Map<string, Omit<FaultSpan, 'endMs'>>();
  const pair = (between: readonly string[]) => [...between].sort().join('|');
  const close = (key: string, atMs: number) => {
    const begun = open.get(key);
    if (begun === undefined) return;
    open.delete(key);
    spans.push({ ...begun, endMs: atMs });
  };
  for (const step of steps) {
    switch (step.do) {
      case 'partition':
      case 'clog':
        open.set(`${step.do}:${pair(step.between)}`, { kind: step.do, hosts: step.between, beginMs: step.atMs });
        break;
      case 'heal':
        close(`partition:${pair(step.between)}`, step.atMs);
        break;
      case 'unclog':
        close(`clog:${pair(step.between)}`, step.atMs);
        break;
      case 'crash':
        open.set(`crash:${step.node}`, { kind: 'crash', hosts: [step.node], beginMs: step.atMs });
        break;
      case 'restart':
        close(`crash:${step.node}`, step.atMs);
        break;
      case 'skew':
        spans.push({ kind: 'skew', hosts: [step.node], beginMs: step.atMs, endMs: step.atMs });
        break;
      case 'dnsFail':
        open.set(`dns:${step.name.toLowerCase()}`, {
          kind: 'dns',
          hosts: [],
          dns: { name: step.name.toLowerCase(), mode: step.mode ?? 'servfail' },
          beginMs: step.atMs,
        });
        break;
      case 'dnsRestore':
        close(`dns:${step.name.toLowerCase()}`, step.atMs);
        break;
      default:
        break;
    }
  }
  const lastMs = steps.reduce((last, step) => Math.max(last, step.atMs), 0);
  for (const key of [...open.keys()]) close(key, lastMs);
  return spans.sort((a, b) => a.beginMs - b.beginMs);
}

/** What a profile's `underFaults` is asked about one accepted message. */
export interface FaultedSend {
  readonly atMs: number;
  readonly from: FuzzUser;
  readonly to: FuzzUser;
  readonly topology: Topology;
  /** Every fault span of the plan (all end by the plan's heal). */
  readonly spans: readonly FaultSpan[];
}

/** Whether `span` touches `host` and overlaps [fromMs, toMs). */
export function touches(span: FaultSpan, host: string, fromMs: number, toMs: number): boolean {
  return span.hosts.includes(host) && span.endMs >= fromMs && span.beginMs < toMs;
}

/** When the faults in force at or after `atMs` all ended (`atMs` itself if none was). */
export function healedAfter(spans: readonly FaultSpan[], atMs: number): number {
  return spans.reduce((last, span) => (span.endMs >= atMs ? Math.max(last, span.endMs) : last), atMs);
}

/**
 * The latest instant a retry with exponential backoff (first delay `firstMs`, doubling, at most
 * `capMs`) starts again after faults that began at `sentMs` healed at `healMs`: the delay it waits
 * then is at most what it waited before plus the first delay (1 + 2 + ... + d/2 = d - 1), and at
 * most the cap.
 */
export function retryDeadlineMs(sentMs: number, healMs: number, firstMs: number, capMs: number): number {
  return healMs + Math.min(capMs, Math.max(firstMs, healMs - sentMs + firstMs));
}

/** How long after a crash its peers see their connections to it reset (the network's `resetTimeoutMs`). */
export function resetMs(topology: Topology): number {
  return topology.network.resetTimeoutMs ?? 10_000;
}

/**
 * When the protocol has recovered from each run of faults: spans (but skews) are merged while
 * one begins before the protocol recovered from the ones before it (its backoff then goes on
 * growing from the first one's beginning), and each run is recovered from `settle(run)` after it
 * ended, at the latest. Sorted by the runs' beginnings.
 */
export function recoveries(
  spans: readonly FaultSpan[],
  settle: (run: { readonly beginMs: number; readonly endMs: number }) => number,
): { readonly beginMs: number; readonly endMs: number; readonly recoveredMs: number }[] {
  const runs: { beginMs: number; endMs: number; recoveredMs: number }[] = [];
  for (const span of [...spans].sort((a, b) => a.beginMs - b.beginMs)) {
    if (span.kind === 'skew') continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && span.beginMs <= last.recoveredMs) {
      last.endMs = Math.max(last.endMs, span.endMs);
      last.recoveredMs = last.endMs + settle(last);
      continue;
    }
    const run = { beginMs: span.beginMs, endMs: span.endMs, recoveredMs: 0 };
    run.recoveredMs = run.endMs + settle(run);
    runs.push(run);
  }
  return runs;
}
