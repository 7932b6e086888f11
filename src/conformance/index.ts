/**
 * The conformance suites of the registered protocol plugins (docs/conformance.md): at most one per
 * protocol. A plugin may give its suite lazily (the built-in ones do: a suite imports its
 * protocol's module for the built-in node), so reading one is asynchronous.
 */
import type { Peer } from './peer.js';
import type { Suite } from './types.js';
import { pluginNamed, plugins } from '../protocols/registry.js';

/** The protocols that have a conformance suite, in registration order. */
export function suiteNames(): string[] {
  return plugins()
    .filter((plugin) => plugin.conformance !== undefined)
    .map((plugin) => plugin.protocol.name);
}

/** The suite of protocol `name`, or undefined when it has none. */
export async function suiteFor(name: string): Promise<Suite<Peer> | undefined> {
  const conformance = pluginNamed(name)?.conformance;
  if (conformance === undefined) return undefined;
  return typeof conformance === 'function' ? await conformance() : conformance;
}

/** Every suite, by protocol name. */
export async function loadSuites(): Promise<Record<string, Suite<Peer>>> {
  const entries = await Promise.all(suiteNames().map(async (name) => [name, await suiteFor(name)] as const));
  return Object.fromEntries(entries.filter((entry): entry is readonly [string, Suite<Peer>] => entry[1] !== undefined));
}

export { runSuite, runCase, coverageOf, parseTargetUrl, type TargetSpec } from './run.js';
export { writeReports } from './report.js';
export type { Case, CaseResult, Suite, SuiteReport, Verdict } from './types.js';
