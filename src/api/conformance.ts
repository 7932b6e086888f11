/** `fedsim/conformance`: the Peer API conformance cases are written against, and the suite runner (docs/conformance.md). */
export * from '../conformance/peer.js';
export {
  fail,
  unimplemented,
  CaseVerdict,
  verdicts,
  type Case,
  type CaseResult,
  type CaseReturn,
  type Suite,
  type SuiteReport,
  type Verdict,
} from '../conformance/types.js';
export {
  runSuite,
  runCase,
  coverageOf,
  suiteFor,
  suiteNames,
  loadSuites,
  type TargetSpec,
} from '../conformance/index.js';
