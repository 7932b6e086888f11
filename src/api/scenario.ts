/** `fedsim/scenario`: load scenario files (with the plugin modules they name) and run them (docs/scenarios.md). */
export {
  loadPlugins,
  loadScenario,
  loadScenarioWithPlugins,
  parseScenario,
  type Scenario,
  type ScenarioNode,
} from '../scenario/load.js';
export {
  runScenario,
  describeExpectation,
  type RunReport,
  type RunOptions,
  type ExpectationResult,
} from '../scenario/run.js';
export type { ScenarioFile, Step, Expectation, EventMatch } from '../scenario/schema.js';
export { ScenarioError, UsageError, formatProblem, type Problem } from '../core/errors.js';
