/**
 * Conformance suites as h2spec and Autobahn shape them: a case drives a scripted peer against a target
 * and judges its answers; the verdict is a value (OK, NON-STRICT, FAILED, UNIMPLEMENTED, INFORMATIONAL)
 * with the expected and actual exchange, never an exception that escapes the runner.
 *
 * Must not: depend on how the target is reached. A case sees only the `Peer` API (peer.ts), so the same
 * case code runs in the simulator (virtual time) and on real sockets (wall-clock timeouts).
 */
import type { Protocol } from '../protocols/protocol.js';
import type { Requirement } from '../protocols/requirements.js';

export type Verdict = 'OK' | 'NON-STRICT' | 'FAILED' | 'UNIMPLEMENTED' | 'INFORMATIONAL';

export const verdicts: readonly Verdict[] = ['OK', 'NON-STRICT', 'FAILED', 'UNIMPLEMENTED', 'INFORMATIONAL'];

/** One line of a case's exchange, for the report: what the peer sent or saw, when (ms since the case began). */
export interface ExchangeEntry {
  readonly atMs: number;
  /** The peer's connection (`c1`, `l1/a1` for one accepted on a listener), or `target` for the target's outputs. */
  readonly conn: string;
  readonly direction: 'sent' | 'received' | 'event';
  /** What it was, for people: the protocol's own decoding of the bytes, or an event name. */
  readonly text: string;
  readonly size?: number;
}

/**
 * How a case ends when it does not pass: thrown by the case helpers (`fail`, `must...`) and caught by the
 * runner. `expected` and `actual` describe the exchange in a sentence each.
 */
export class CaseVerdict extends Error {
  override name = 'CaseVerdict';
  constructor(
    readonly verdict: Verdict,
    message: string,
    readonly expected?: string,
    readonly actual?: string,
  ) {
    super(message);
  }
}

/** Ends the case FAILED (NON-STRICT when the case checks a SHOULD). */
export function fail(message: string, expected: string, actual: string): never {
  throw new CaseVerdict('FAILED', message, expected, actual);
}

/** Ends the case UNIMPLEMENTED: the target cannot be asked what the case needs (no control channel, no variant). */
export function unimplemented(message: string): never {
  throw new CaseVerdict('UNIMPLEMENTED', message);
}

/** What a case may return when it passes: nothing (OK), or an INFORMATIONAL note. */
export type CaseReturn = void | { readonly verdict: 'INFORMATIONAL' | 'OK'; readonly message: string };

export interface Case<P = unknown> {
  /** Stable id within the suite, such as `f140/4.1/wrong-challenge`. */
  readonly id: string;
  readonly title: string;
  /** The spec.md section and the sentence the case checks, quoted (h2spec). */
  readonly section: string;
  readonly quote: string;
  /** Requirement ids (from the protocol's requirements.ts) this case covers. */
  readonly requirements: readonly string[];
  readonly level: 'MUST' | 'SHOULD';
  /** The fixture variant the target must run (suites name them; `main` by default). */
  readonly variant?: string;
  /** The case needs to command the target (send, restart) and see its outputs; external targets give UNIMPLEMENTED. */
  readonly needsControl?: boolean;
  run(peer: P): Promise<CaseReturn>;
}

/** A protocol's suite: its requirements, the fixture the target must be configured with, and the cases. */
export interface Suite<P = unknown> {
  readonly protocol: string;
  readonly title: string;
  readonly requirements: readonly Requirement[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the built-in node of any protocol; its config is the suite's own fixture
  readonly builtin: Protocol<any, any>;
  /** URL scheme of an external target (`http` or `tcp`). */
  readonly scheme: 'http' | 'tcp';
  /** The node under test: its id and host name in the simulator, and the port of its service. */
  readonly target: { readonly id: string; readonly port: number };
  /** The peer's host name (the name the fixture configs use to reach the peer's listeners). */
  readonly peerHost: string;
  /** Node configs by variant; `main` is the one an external server must be configured like (docs/conformance.md). */
  readonly fixtures: Readonly<Record<string, unknown>>;
  /** Seed of the simulated world and of the fixture's key material. */
  readonly seed: number;
  readonly cases: readonly Case<P>[];
}

export interface CaseResult {
  readonly id: string;
  readonly title: string;
  readonly section: string;
  readonly quote: string;
  readonly requirements: readonly string[];
  readonly level: 'MUST' | 'SHOULD';
  readonly verdict: Verdict;
  readonly message: string;
  readonly expected?: string;
  readonly actual?: string;
  /** Time the case took: virtual ms in the simulator, wall ms on sockets. */
  readonly durationMs: number;
  readonly exchange: readonly ExchangeEntry[];
  /** The case's trace file (NDJSON, for `fedsim view`), relative to the report directory, when written. */
  readonly trace?: string;
}

export interface SuiteReport {
  readonly protocol: string;
  readonly title: string;
  /** `sim` or the target URL. */
  readonly target: string;
  readonly results: readonly CaseResult[];
  readonly counts: Readonly<Record<Verdict, number>>;
  /** Requirement id -> ids of the cases that cover it. */
  readonly coverage: Readonly<Record<string, readonly string[]>>;
}
