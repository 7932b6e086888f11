/** The conformance suites by protocol name (docs/conformance.md): one per protocol. */
import { ambrosiaSuite } from '../protocols/ambrosia/conformance/index.js';
import { besterSuite } from '../protocols/bester/conformance/index.js';
import { f140Suite } from '../protocols/f140/conformance/index.js';
import { fmtpSuite } from '../protocols/fmtp/conformance/index.js';
import type { Peer } from './peer.js';
import { solecSuite } from '../protocols/solec/conformance.js';
import type { Suite } from './types.js';

export const suites: Readonly<Record<string, Suite<Peer>>> = {
  f140: f140Suite,
  solec: solecSuite,
  bester: besterSuite,
  ambrosia: ambrosiaSuite,
  fmtp: fmtpSuite,
};

export { runSuite, runCase, coverageOf, parseTargetUrl, type TargetSpec } from './run.js';
export { writeReports } from './report.js';
export type { Case, CaseResult, Suite, SuiteReport, Verdict } from './types.js';
