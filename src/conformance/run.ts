/**
 * Runs a suite case by case against a target and collects verdicts, as h2spec does: each case gets a
 * fresh target (a new World in the simulator, a new RealHost on loopback), so its trace holds only that
 * case; against an external server every case shares the one server.
 *
 * Must not: let a case's exception escape (it becomes a FAILED verdict with the message), or keep a
 * socket open after a case.
 */
import type { Engine } from '../engine/engine.js';
import { ProcessNodeError } from '../core/errors.js';
import type { Protocol } from '../protocols/protocol.js';
import { SimPeer, type Peer } from './peer.js';
import { RealHostTarget, SocketPeer } from './socket-peer.js';
import {
  CaseVerdict,
  verdicts,
  type Case,
  type CaseResult,
  type Suite,
  type SuiteReport,
  type Verdict,
} from './types.js';

export type TargetSpec =
  /** The built-in node (or a fixture wrapping it) in the simulator: deterministic, virtual time. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a node of any protocol, configured by the suite's fixture
  | { readonly kind: 'sim'; readonly protocol?: Protocol<any, any> }
  /** The same node on real loopback sockets (RealHost), one per case. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  | { readonly kind: 'real'; readonly protocol?: Protocol<any, any> }
  /** A server someone else runs, configured like the suite's `main` fixture. */
  | { readonly kind: 'external'; readonly host: string; readonly port: number; readonly url: string };

export interface RunOptions {
  /** Write each case's trace here (`<dir>/<case id>.ndjson`); results name the path relative to `reportDir`. */
  readonly traceDir?: string;
  readonly reportDir?: string;
  /** Answer timeout on real sockets. @defaultValue 2000 */
  readonly answerMs?: number;
  /** Run only the cases whose id starts with one of these. */
  readonly only?: readonly string[];
  /** Called after each case (progress lines). */
  readonly onResult?: (result: CaseResult) => void;
  /** Writes a trace file (the runner itself does no I/O, so the simulated core stays free of node:fs). */
  readonly writeTrace?: (path: string, text: string) => void;
  /** The statechart engine of the node under test (sim and real targets). @defaultValue compiledEngine */
  readonly engine?: Engine;
}

/** Parses `http://127.0.0.1:8140` or `tcp://host:port` for a suite; undefined when malformed. */
export function parseTargetUrl(suite: Suite<Peer>, url: string): TargetSpec | undefined {
  const match = /^([a-z]+):\/\/([^/:]+):(\d{1,5})\/?$/.exec(url);
  if (!match || match[1] !== suite.scheme) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { kind: 'external', host: match[2] ?? '', port, url };
}

function targetName(spec: TargetSpec): string {
  return spec.kind === 'external' ? spec.url : spec.kind;
}

export function traceFileName(caseId: string): string {
  return `${caseId.replace(/[^A-Za-z0-9._-]+/g, '_')}.ndjson`;
}

interface OpenTarget {
  readonly peer: Peer;
  finish(): Promise<string | undefined>;
}

async function openTarget(
  suite: Suite<Peer>,
  spec: TargetSpec,
  testCase: Case<Peer>,
  options: RunOptions,
): Promise<OpenTarget | undefined> {
  const variant = testCase.variant ?? 'main';
  switch (spec.kind) {
    case 'sim': {
      const peer = new SimPeer(suite, variant, spec.protocol ?? suite.builtin, testCase.id, options.engine);
      return { peer, finish: () => Promise.resolve(peer.finish()) };
    }
    case 'real': {
      const protocol = spec.protocol ?? suite.builtin;
      const target = await RealHostTarget.open(suite, variant, protocol, options.answerMs, options.engine);
      return {
        peer: target.peer,
        finish: async () => {
          await target.close();
          return target.finish();
        },
      };
    }
    case 'external': {
      // An external server runs the main fixture only; the peer listens on the fixture's own ports.
      if (variant !== 'main') return undefined;
      const peer = new SocketPeer({
        target: { host: spec.host, port: spec.port },
        protocol: suite.builtin,
        ...(options.answerMs === undefined ? {} : { answerMs: options.answerMs }),
      });
      return {
        peer,
        finish: async () => {
          await peer.close();
          return undefined;
        },
      };
    }
  }
}

/** Runs one case; never throws. */
export async function runCase(
  suite: Suite<Peer>,
  spec: TargetSpec,
  testCase: Case<Peer>,
  options: RunOptions = {},
): Promise<CaseResult> {
  const base = {
    id: testCase.id,
    title: testCase.title,
    section: testCase.section,
    quote: testCase.quote,
    requirements: testCase.requirements,
    level: testCase.level,
  };
  const target = await openTarget(suite, spec, testCase, options);
  if (!target) {
    return {
      ...base,
      verdict: 'UNIMPLEMENTED',
      message: `needs the fixture variant "${testCase.variant}", which only the testbed's own targets run`,
      durationMs: 0,
      exchange: [],
    };
  }
  const { peer } = target;
  let verdict: Verdict = 'OK';
  let message = 'as the rule says';
  let expected: string | undefined;
  let actual: string | undefined;
  let aborted: ProcessNodeError | undefined;
  try {
    if (testCase.needsControl && !peer.control) {
      verdict = 'UNIMPLEMENTED';
      message = 'needs the control channel of a target the testbed runs (sim or RealHost)';
    } else {
      const returned = await testCase.run(peer);
      if (returned) {
        verdict = returned.verdict;
        message = returned.message;
      }
    }
  } catch (error) {
    if (error instanceof ProcessNodeError) aborted = error;
    if (error instanceof CaseVerdict) {
      verdict = error.verdict;
      message = error.message;
      expected = error.expected;
      actual = error.actual;
    } else {
      verdict = 'FAILED';
      message = `the case stopped: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    }
  }
  // A missed SHOULD is NON-STRICT, as h2spec and Autobahn report it.
  if (verdict === 'FAILED' && testCase.level === 'SHOULD') verdict = 'NON-STRICT';
  const durationMs = peer.nowMs();
  const traceText = await target.finish();
  let trace: string | undefined;
  if (traceText !== undefined && options.traceDir && options.writeTrace) {
    const path = `${options.traceDir}/${traceFileName(testCase.id)}`;
    options.writeTrace(path, traceText);
    trace =
      options.reportDir && path.startsWith(`${options.reportDir}/`) ? path.slice(options.reportDir.length + 1) : path;
  }
  // An external node process that broke the process protocol stops the whole run (its trace is written).
  if (aborted) throw aborted;
  return {
    ...base,
    verdict,
    message,
    ...(expected === undefined ? {} : { expected }),
    ...(actual === undefined ? {} : { actual }),
    durationMs,
    exchange: [...peer.log],
    ...(trace === undefined ? {} : { trace }),
  };
}

/** Which cases cover each requirement id of the suite (ids no case covers map to []). */
export function coverageOf(suite: Suite<Peer>): Record<string, string[]> {
  const coverage: Record<string, string[]> = {};
  for (const requirement of suite.requirements) coverage[requirement.id] = [];
  for (const testCase of suite.cases) {
    for (const id of testCase.requirements) (coverage[id] ??= []).push(testCase.id);
  }
  return coverage;
}

export function countVerdicts(results: readonly CaseResult[]): Record<Verdict, number> {
  const counts = Object.fromEntries(verdicts.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const result of results) counts[result.verdict] += 1;
  return counts;
}

/** Runs every case of the suite, one after another (cases on real sockets share ports and must not overlap). */
export async function runSuite(suite: Suite<Peer>, spec: TargetSpec, options: RunOptions = {}): Promise<SuiteReport> {
  const results: CaseResult[] = [];
  for (const testCase of suite.cases) {
    if (options.only && !options.only.some((prefix) => testCase.id.startsWith(prefix))) continue;
    const result = await runCase(suite, spec, testCase, options);
    options.onResult?.(result);
    results.push(result);
  }
  return {
    protocol: suite.protocol,
    title: suite.title,
    target: targetName(spec),
    results,
    counts: countVerdicts(results),
    coverage: coverageOf(suite),
  };
}
