/**
 * Loads a scenario file (YAML; JSON parses too) into a validated `Scenario`, or throws a
 * ScenarioError that lists every problem at once as `file:line:col: field: message`. Nothing here
 * runs a scenario; a scenario that loads is one the runner can execute.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { processProtocol } from '../process/node.js';
import { limits } from '../core/limits.js';
import { ScenarioError, type Problem } from '../core/errors.js';
import { parseLocated, zodProblems, type Locator } from './yaml.js';
import { protocolNamed, type AnyProtocol } from '../protocols/registry.js';
import { expectationSchema, scenarioSchema, type Expectation, type ScenarioFile, type Step } from './schema.js';

export interface ScenarioNode {
  readonly id: string;
  readonly host: string;
  readonly protocol: AnyProtocol;
  /** The config after the protocol's schema (defaults filled in). */
  readonly config: unknown;
}

export interface Scenario {
  readonly file: string;
  readonly source: ScenarioFile;
  readonly nodes: readonly ScenarioNode[];
  readonly steps: readonly Step[];
  readonly expect: readonly Expectation[];
}

const expectationKinds = ['always', 'never', 'delivered', 'eventually', 'sequence'] as const;

/** Validates one expectation by the key that names its kind, for a precise message. */
function checkExpectation(locator: Locator, index: number, raw: unknown): Problem[] {
  const path = ['expect', index];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return [locator.problem(path, `an expectation is a mapping with one of ${expectationKinds.join(', ')}`)];
  }
  const kinds = expectationKinds.filter((kind) => kind in raw);
  if (kinds.length !== 1) {
    return [
      locator.problem(
        path,
        `an expectation needs exactly one of ${expectationKinds.join(', ')} (found ${kinds.length})`,
      ),
    ];
  }
  const variant = expectationSchema.options.find((option) => kinds[0] !== undefined && kinds[0] in option.shape);
  const parsed = (variant ?? expectationSchema).safeParse(raw);
  return parsed.success ? [] : zodProblems(locator, path, parsed.error);
}

/** Parses and validates scenario text. `file` is used in messages only. */
export function parseScenario(text: string, file: string): Scenario {
  const { raw, locator } = parseLocated(text, file);
  const parsed = scenarioSchema.safeParse(raw);
  const problems: Problem[] = parsed.success ? [] : zodProblems(locator, [], parsed.error);
  // Expectations are checked even when the rest failed, so that every problem is listed at once.
  const rawExpect: unknown = raw !== null && typeof raw === 'object' ? (raw as { expect?: unknown }).expect : undefined;
  if (Array.isArray(rawExpect))
    rawExpect.forEach((item, index) => problems.push(...checkExpectation(locator, index, item)));
  if (!parsed.success || problems.length > 0) throw new ScenarioError(problems.slice(0, limits.problemsPerFileMax));
  const scenario: ScenarioFile = { ...parsed.data, expect: (parsed.data.expect ?? []) as Expectation[] };

  // Semantic checks: things a schema cannot see.
  const nodes: ScenarioNode[] = [];
  const nodeIds = new Set(Object.keys(scenario.nodes));
  const hostNames = new Set<string>();
  for (const [id, node] of Object.entries(scenario.nodes)) {
    const protocolName = node.protocol ?? scenario.protocol;
    const protocol = protocolNamed(protocolName);
    if (!protocol) {
      const where = node.protocol === undefined ? ['protocol'] : ['nodes', id, 'protocol'];
      problems.push(locator.problem(where, `unknown protocol \`${protocolName}\``));
      continue;
    }
    const config = protocol.configSchema.safeParse(node.config);
    if (!config.success) {
      problems.push(...zodProblems(locator, ['nodes', id, 'config'], config.error));
      continue;
    }
    const host = node.host ?? id;
    hostNames.add(host);
    // A node with a `process` block runs as that external process, under the protocol's schemas.
    const runs = node.process ? processProtocol(protocol, node.process, { baseDir: dirname(resolve(file)) }) : protocol;
    nodes.push({ id, host, protocol: runs, config: config.data });
  }
  if (!protocolNamed(scenario.protocol) && !problems.some((p) => p.pointer === 'protocol')) {
    problems.push(locator.problem(['protocol'], `unknown protocol \`${scenario.protocol}\``));
  }
  const network = scenario.network;
  if (
    network?.delayMsMin !== undefined &&
    network.delayMsMax !== undefined &&
    network.delayMsMin > network.delayMsMax
  ) {
    problems.push(locator.problem(['network', 'delayMsMax'], 'must not be less than delayMsMin'));
  }
  network?.links?.forEach((link, index) => {
    if (link.delayMsMin > link.delayMsMax)
      problems.push(locator.problem(['network', 'links', index, 'delayMsMax'], 'must not be less than delayMsMin'));
  });

  const steps = scenario.steps ?? [];
  let previousMs = 0;
  steps.forEach((step, index) => {
    const path = ['steps', index];
    if (step.atMs < previousMs) {
      problems.push(
        locator.problem(
          [...path, 'atMs'],
          `time goes backwards (${step.atMs} after a step at ${previousMs}); list steps in time order`,
        ),
      );
    }
    previousMs = Math.max(previousMs, step.atMs);
    if (step.atMs > scenario.limits.timeMsMax) {
      problems.push(locator.problem([...path, 'atMs'], `after limits.timeMsMax (${scenario.limits.timeMsMax})`));
    }
    if ('node' in step && !nodeIds.has(step.node)) {
      problems.push(
        locator.problem([...path, 'node'], `unknown node \`${step.node}\` (nodes: ${[...nodeIds].join(', ')})`),
      );
    }
    if ('between' in step) {
      step.between.forEach((end, side) => {
        if (!nodeIds.has(end) && !hostNames.has(end)) {
          problems.push(locator.problem([...path, 'between', side], `unknown node or host \`${end}\``));
        }
      });
    }
    if (step.do === 'command' && nodeIds.has(step.node)) {
      const node = nodes.find((n) => n.id === step.node);
      const command = node?.protocol.commandSchema.safeParse(step.command);
      if (command && !command.success) problems.push(...zodProblems(locator, [...path, 'command'], command.error));
    }
  });
  const expectations = (scenario.expect ?? []) as Expectation[];
  expectations.forEach((expectation, index) => {
    if ('byMs' in expectation && expectation.byMs > scenario.limits.timeMsMax) {
      problems.push(
        locator.problem(
          ['expect', index, 'byMs'],
          `after limits.timeMsMax (${scenario.limits.timeMsMax}); the run stops before it`,
        ),
      );
    }
  });
  if (problems.length > 0) throw new ScenarioError(problems.slice(0, limits.problemsPerFileMax));

  const commandSteps = steps.map((step): Step => {
    if (step.do !== 'command') return step;
    const node = nodes.find((n) => n.id === step.node);
    const command = node?.protocol.commandSchema.parse(step.command) as unknown;
    return { ...step, command };
  });
  return { file, source: scenario, nodes, steps: commandSteps, expect: expectations };
}

/** Reads and parses a scenario file. An unreadable file is a ScenarioError too. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String((error as { code: unknown }).code) : 'unreadable';
    throw new ScenarioError([{ file, line: 1, column: 1, pointer: '', message: `cannot read the file (${reason})` }]);
  }
  return parseScenario(text, file);
}
