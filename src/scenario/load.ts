/**
 * Loads a scenario file (YAML; JSON parses too) into a validated `Scenario`, or throws a
 * ScenarioError that lists every problem at once as `file:line:col: field: message`. Nothing here
 * runs a scenario; a scenario that loads is one the runner can execute.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { processProtocol } from '../process/node.js';
import { limits } from '../core/limits.js';
import { ScenarioError, type Problem } from '../core/errors.js';
import { fieldName, parseLocated, zodProblems, type ProblemLocator } from './yaml.js';
import { loadPlugin, protocolNamed, protocolNames, protocolOfModule, type AnyProtocol } from '../protocols/registry.js';
import { checkOrderItems, checkPattern } from './patterns.js';
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
function checkExpectation(locator: ProblemLocator, index: number, raw: unknown): Problem[] {
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
  const problems = parsed.success ? [] : zodProblems(locator, path, parsed.error);
  // The patterns, against the trace event schema (even when something else in the expectation failed).
  const record = raw as Record<string, unknown>;
  for (const key of ['never', 'eventually'] as const) {
    if (key in record) problems.push(...checkPattern(locator, [...path, key], record[key]));
  }
  if (Array.isArray(record['sequence']))
    problems.push(...checkOrderItems(locator, [...path, 'sequence'], record['sequence']));
  return problems;
}

/** The problem with a file of `bytes` bytes, when it is over limits.scenarioFileBytesMax. */
function tooLarge(file: string, bytes: number): Problem[] {
  if (bytes <= limits.scenarioFileBytesMax) return [];
  const message = `the file is ${bytes} bytes; a scenario file may be at most ${limits.scenarioFileBytesMax} (limits.scenarioFileBytesMax)`;
  return [{ file, line: 1, column: 1, pointer: '', message }];
}

/** Unknown protocols, named at the top or by a node: checked on the raw input, so they are listed with every other problem. */
function protocolProblems(locator: ProblemLocator, raw: unknown, file: string): Problem[] {
  if (raw === null || typeof raw !== 'object') return [];
  const { protocol, nodes } = raw as { protocol?: unknown; nodes?: unknown };
  const problems: Problem[] = [];
  if (typeof protocol === 'string' && !protocolFor(protocol, file))
    problems.push(
      locator.problem(['protocol'], `unknown protocol \`${protocol}\` (known: ${protocolNames().join(', ')})`),
    );
  if (nodes !== null && typeof nodes === 'object') {
    for (const [id, node] of Object.entries(nodes)) {
      const named: unknown =
        node !== null && typeof node === 'object' ? (node as { protocol?: unknown }).protocol : undefined;
      if (typeof named === 'string' && !protocolFor(named, file))
        problems.push(
          locator.problem(
            ['nodes', id, 'protocol'],
            `unknown protocol \`${named}\` (known: ${protocolNames().join(', ')})`,
          ),
        );
    }
  }
  return problems;
}

/**
 * The protocol a scenario's `protocol` value names: a registered protocol, or a plugin module
 * (a path relative to the scenario file's directory, or a package name) loaded by `loadPlugins`.
 */
function protocolFor(value: string, file: string): AnyProtocol | undefined {
  return protocolNamed(value) ?? protocolNamed(protocolOfModule(value, dirname(file)) ?? '');
}

/** The `protocol` values of a parsed scenario document (the top one and each node's). */
function protocolValues(raw: unknown): string[] {
  const values = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string' && value !== '') values.add(value);
  };
  if (raw !== null && typeof raw === 'object') {
    const document = raw as { protocol?: unknown; nodes?: unknown };
    add(document.protocol);
    if (document.nodes !== null && typeof document.nodes === 'object')
      for (const node of Object.values(document.nodes as Record<string, unknown>))
        if (node !== null && typeof node === 'object') add((node as { protocol?: unknown }).protocol);
  }
  return [...values];
}

/**
 * Loads the plugin modules scenario text names as its protocols (relative to the file's directory),
 * so that `parseScenario` finds them. A name that is neither registered nor a loadable module is
 * left for `parseScenario` to report; a module that is not a valid plugin is a PluginError.
 */
export async function loadPlugins(text: string, file: string): Promise<void> {
  let raw: unknown;
  try {
    raw = parseLocated(text, file).raw;
  } catch {
    return; // parseScenario reports it
  }
  for (const value of protocolValues(raw)) {
    if (protocolFor(value, file) !== undefined) continue;
    const isPath = /^[./]|\.(m|c)?(t|j)s$/.test(value);
    try {
      await loadPlugin(value, dirname(file));
    } catch (error) {
      // A bare name that is no package is an unknown protocol, which parseScenario reports with the known ones.
      if (isPath || !String(error).includes('ERR_MODULE_NOT_FOUND')) throw error;
    }
  }
}

/** Parses and validates scenario text. `file` is used in messages and to find plugin modules. */
export function parseScenario(text: string, file: string): Scenario {
  const large = tooLarge(file, Buffer.byteLength(text, 'utf8'));
  if (large.length > 0) throw new ScenarioError(large);
  const { raw, locator } = parseLocated(text, file);
  return scenarioFrom(raw, locator, file);
}

/** Thrown by `unlocated` at a generated source's first problem: the source is parsed again as text. */
class NeedsLocation extends Error {}

const unlocated: ProblemLocator = {
  problem: () => {
    throw new NeedsLocation();
  },
};

/** How deep collections nest in `value` (the root one is 1), as the YAML depth limit counts; exact up to `max` + 1. */
function depthOf(value: unknown, max: number): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const item of Object.values(value)) {
    deepest = Math.max(deepest, depthOf(item, max));
    if (deepest > max) break;
  }
  return deepest + 1;
}

/**
 * A scenario source fedsim built as an object (a fuzz plan): the scenario `parseScenario` gives
 * for its JSON text, without the YAML parser, which was about a fifth to two fifths of a fuzz case.
 * JSON text is YAML, and for what `JSON.stringify` writes (no aliases, no tags, unique keys,
 * strings escaped as YAML's double quotes read them) `JSON.parse` gives the values YAML's
 * parser does. A source that breaks a limit or has any problem is parsed again as text, so every
 * error is the one `parseScenario` gives, with its line and column.
 */
export function parseScenarioSource(source: ScenarioFile, file: string): Scenario {
  const text = JSON.stringify(source);
  const raw: unknown = JSON.parse(text);
  if (
    tooLarge(file, Buffer.byteLength(text, 'utf8')).length > 0 ||
    depthOf(raw, limits.yamlDepthMax) > limits.yamlDepthMax
  )
    return parseScenario(text, file);
  try {
    return scenarioFrom(raw, unlocated, file);
  } catch (error) {
    if (error instanceof NeedsLocation) return parseScenario(text, file);
    throw error;
  }
}

/** A parsed document checked and made a scenario; every problem is located through `locator`. */
function scenarioFrom(raw: unknown, locator: ProblemLocator, file: string): Scenario {
  const parsed = scenarioSchema.safeParse(raw);
  const problems: Problem[] = parsed.success ? [] : zodProblems(locator, [], parsed.error);
  if (!parsed.success) problems.push(...protocolProblems(locator, raw, file));
  // Expectations are checked even when the rest failed, so that every problem is listed at once.
  const rawExpect: unknown = raw !== null && typeof raw === 'object' ? (raw as { expect?: unknown }).expect : undefined;
  if (Array.isArray(rawExpect))
    rawExpect.forEach((item, index) => problems.push(...checkExpectation(locator, index, item)));
  if (!parsed.success || problems.length > 0) throw new ScenarioError(problems.slice(0, limits.problemsPerFileMax));
  const scenario: ScenarioFile = { ...parsed.data, expect: (parsed.data.expect ?? []) as Expectation[] };

  // Semantic checks: things a schema cannot see.
  const { nodes, nodeIds, hostNames } = checkNodes(scenario, file, locator, problems);
  checkNetwork(scenario, locator, problems);
  const steps = scenario.steps ?? [];
  checkSteps(scenario, steps, nodes, nodeIds, hostNames, locator, problems);
  const expectations = (scenario.expect ?? []) as Expectation[];
  checkExpectations(scenario, expectations, nodeIds, locator, problems);
  if (problems.length > 0) throw new ScenarioError(problems.slice(0, limits.problemsPerFileMax));
  return built(scenario, nodes, file);
}

/** The scenario of a checked source: its command steps with their payloads as the protocols read them. */
function built(
  scenario: ScenarioFile,
  nodes: readonly ScenarioNode[],
  file: string,
  parse: SchemaParse = fullParse,
): Scenario {
  const commandSteps = (scenario.steps ?? []).map((step): Step => {
    if (step.do !== 'command') return step;
    const node = nodes.find((n) => n.id === step.node);
    if (node === undefined) return { ...step, command: undefined };
    const parsed = parse(node.protocol.commandSchema, step.command);
    if (!parsed.success) throw parsed.error;
    return { ...step, command: parsed.data };
  });
  return { file, source: scenario, nodes, steps: commandSteps, expect: (scenario.expect ?? []) as Expectation[] };
}

/** A protocol schema's parse of a node config or command payload. */
type SchemaParse = (schema: z.ZodType, value: unknown) => z.ZodSafeParseResult<unknown>;

const fullParse: SchemaParse = (schema, value) => schema.safeParse(value);

/** Per schema, the parses of plans' payloads: by input JSON text, the output's (undefined: not JSON). */
const planParses = new WeakMap<z.ZodType, Map<string, string | undefined>>();
/** Payload texts kept per schema before its cache starts again. */
const planParsesMax = 4096;

/**
 * Whether `value` is plain JSON that `JSON.parse(JSON.stringify(value))` gives back deep-equal:
 * null, booleans, strings, finite numbers other than -0, arrays without holes, and objects of
 * Object.prototype whose own properties are enumerable string-keyed data (not `__proto__`) with
 * such values. False when unsure: the answer only decides whether a parse is remembered.
 */
function isPlainJson(value: unknown, depth = 0): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== 'object' || depth > 64) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    const keys = Reflect.ownKeys(value);
    // The indices and `length`, nothing else.
    if (keys.length !== value.length + 1) return false;
    for (let i = 0; i < value.length; i++) {
      if (!Object.hasOwn(value, i) || !isPlainJson(value[i], depth + 1)) return false;
    }
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== 'string' || key === '__proto__') return false;
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined || !descriptor.enumerable || !('value' in descriptor)) return false;
    if (!isPlainJson(descriptor.value, depth + 1)) return false;
  }
  return true;
}

/**
 * A schema's parse of a payload a plan carries, remembered by the payload's JSON text: fuzz plans
 * repeat the same node configs and commands, and their schemas (defaults filled in) were most
 * of what `plannedScenario` still cost. The schema parses a copy of the payload made from that
 * text, as a parse of the source's text would give it, so that nothing of the plan's objects
 * reaches the run. A parse is a pure function of the input, so the output, kept as JSON text
 * where it is plain JSON, is given again as a fresh copy each time. A payload that is not JSON,
 * or that fails, or whose output is not plain JSON, is parsed every time.
 */
const plannedParse: SchemaParse = (schema, value) => {
  const input = JSON.stringify(value) as string | undefined;
  if (input === undefined) return schema.safeParse(value);
  let known = planParses.get(schema);
  if (known === undefined) planParses.set(schema, (known = new Map()));
  const output = known.get(input);
  if (output !== undefined) return { success: true, data: JSON.parse(output) as unknown };
  const parsed = schema.safeParse(JSON.parse(input));
  if (known.has(input) || !parsed.success) return parsed;
  const plain = isPlainJson(parsed.data);
  if (known.size >= planParsesMax) known.clear();
  known.set(input, plain ? (JSON.stringify(parsed.data) as string) : undefined);
  return parsed;
};

/**
 * A scenario source that is valid by construction (a fuzz plan: src/fuzz/plan.ts), made a
 * scenario without being checked: only what a run reads is done (each node's protocol and config
 * through the protocol's schema, and each command's payload). The scenario file schema, the
 * expectations and the semantic checks were about a tenth of a fuzz case, for sources that pass
 * them every time (test/scenario/source.test.ts compares this with `parseScenarioSource` over
 * plans of every protocol, and a fuzz run checks the source of a failure in full). Configs and
 * commands are parsed through `plannedParse`. A node or command this cannot read is parsed in
 * full, with its located errors.
 */
export function plannedScenario(source: ScenarioFile, file: string): Scenario {
  // Node configs and command payloads reach the run as copies (`plannedParse`); the rest of the
  // source (steps, expectations, network, limits) is the plan's, which a run only reads
  // (test/scenario/source.test.ts runs plans of every protocol from a deep-frozen source).
  try {
    const { nodes } = checkNodes(source, file, unlocated, [], plannedParse);
    return built({ ...source, expect: source.expect ?? [] }, nodes, file, plannedParse);
  } catch {
    return parseScenarioSource(source, file);
  }
}

/** Each node's protocol and config; the nodes that passed, their ids and their host names. */
function checkNodes(
  scenario: ScenarioFile,
  file: string,
  locator: ProblemLocator,
  problems: Problem[],
  parse: SchemaParse = fullParse,
): { nodes: ScenarioNode[]; nodeIds: Set<string>; hostNames: Set<string> } {
  const nodes: ScenarioNode[] = [];
  const nodeIds = new Set(Object.keys(scenario.nodes));
  const hostNames = new Set<string>();
  for (const [id, node] of Object.entries(scenario.nodes)) {
    const protocolName = node.protocol ?? scenario.protocol;
    const protocol = protocolFor(protocolName, file);
    if (!protocol) {
      const where = node.protocol === undefined ? ['protocol'] : ['nodes', id, 'protocol'];
      if (!problems.some((p) => p.pointer === fieldName(where)))
        problems.push(
          locator.problem(where, `unknown protocol \`${protocolName}\` (known: ${protocolNames().join(', ')})`),
        );
      continue;
    }
    const config = parse(protocol.configSchema, node.config);
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
  if (!protocolFor(scenario.protocol, file) && !problems.some((p) => p.pointer === 'protocol')) {
    problems.push(
      locator.problem(['protocol'], `unknown protocol \`${scenario.protocol}\` (known: ${protocolNames().join(', ')})`),
    );
  }
  return { nodes, nodeIds, hostNames };
}

/** Delay ranges that run backwards. */
function checkNetwork(scenario: ScenarioFile, locator: ProblemLocator, problems: Problem[]): void {
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
}

/** Step times, the nodes and hosts steps name, corrupt fields and command payloads. */
function checkSteps(
  scenario: ScenarioFile,
  steps: NonNullable<ScenarioFile['steps']>,
  nodes: readonly ScenarioNode[],
  nodeIds: ReadonlySet<string>,
  hostNames: ReadonlySet<string>,
  locator: ProblemLocator,
  problems: Problem[],
): void {
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
    if (step.do === 'corrupt') {
      if (step.replace !== undefined && step.offset !== undefined)
        problems.push(locator.problem([...path, 'offset'], 'give `replace` (a text) or `offset` (a byte), not both'));
      if (step.replace !== undefined && step.find === undefined)
        problems.push(locator.problem([...path, 'replace'], '`replace` needs `find`: the text it replaces'));
      if (step.xor !== undefined && step.offset === undefined)
        problems.push(locator.problem([...path, 'xor'], '`xor` needs `offset`: the byte it flips'));
      if (step.field !== undefined && (step.find !== undefined || step.offset !== undefined))
        problems.push(locator.problem([...path, 'field'], 'give `field` (a named field) or `find`/`offset`, not both'));
      if (step.op !== undefined && step.field === undefined)
        problems.push(locator.problem([...path, 'op'], '`op` needs `field`: the field it edits'));
    }
    if (step.do === 'command' && nodeIds.has(step.node)) {
      const node = nodes.find((n) => n.id === step.node);
      const command = node?.protocol.commandSchema.safeParse(step.command);
      if (command && !command.success) problems.push(...zodProblems(locator, [...path, 'command'], command.error));
    }
  });
}

/** The nodes expectations name and their time windows. */
function checkExpectations(
  scenario: ScenarioFile,
  expectations: readonly Expectation[],
  nodeIds: ReadonlySet<string>,
  locator: ProblemLocator,
  problems: Problem[],
): void {
  expectations.forEach((expectation, index) => {
    if (
      'delivered' in expectation &&
      expectation.delivered.node !== undefined &&
      !nodeIds.has(expectation.delivered.node)
    ) {
      problems.push(
        locator.problem(
          ['expect', index, 'delivered', 'node'],
          `unknown node \`${expectation.delivered.node}\` (nodes: ${[...nodeIds].join(', ')})`,
        ),
      );
    }
    if ('never' in expectation && (expectation.fromMs ?? 0) > (expectation.untilMs ?? Infinity)) {
      problems.push(locator.problem(['expect', index, 'untilMs'], 'must not be less than fromMs'));
    }
    if ('byMs' in expectation && expectation.byMs > scenario.limits.timeMsMax) {
      problems.push(
        locator.problem(
          ['expect', index, 'byMs'],
          `after limits.timeMsMax (${scenario.limits.timeMsMax}); the run stops before it`,
        ),
      );
    }
  });
}

/** The text of a scenario file's bytes, or the one problem that says it is not text (without echoing it). */
function textOf(file: string, bytes: Buffer): string {
  const notText = (offset: number, what: string): ScenarioError => {
    const before = bytes.subarray(0, offset);
    let line = 1;
    for (const byte of before) if (byte === 0x0a) line += 1;
    const column = offset - before.lastIndexOf(0x0a);
    const message = `not a text file (${what} at byte ${offset}); a scenario is YAML or JSON text in UTF-8`;
    return new ScenarioError([{ file, line, column, pointer: '', message }]);
  };
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw notText(nul, 'a NUL byte');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Find the first bad byte for the message: decode growing prefixes would be quadratic, so
    // step through UTF-8 sequences by hand.
    throw notText(firstInvalidUtf8(bytes), 'bytes that are not UTF-8');
  }
}

/** The offset of the first byte that starts no valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] ?? 0;
    const size =
      lead < 0x80
        ? 1
        : lead >= 0xc2 && lead < 0xe0
          ? 2
          : lead >= 0xe0 && lead < 0xf0
            ? 3
            : lead >= 0xf0 && lead < 0xf5
              ? 4
              : 0;
    if (size === 0 || i + size > bytes.length) return i;
    const sequence = bytes.subarray(i, i + size);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(sequence);
    } catch {
      return i;
    }
    i += size;
  }
  return i;
}

/**
 * Reads and parses a scenario file whose protocols are registered (built in, or loaded before).
 * An unreadable, too large or binary file is a ScenarioError too; a file over
 * limits.scenarioFileBytesMax is refused from its size, before it is read.
 */
export function loadScenario(file: string): Scenario {
  return parseScenario(readScenarioText(file), file);
}

/** Reads a scenario file, loads the plugin modules it names, and parses it. */
export async function loadScenarioWithPlugins(file: string): Promise<Scenario> {
  const text = readScenarioText(file);
  await loadPlugins(text, file);
  return parseScenario(text, file);
}

/** A scenario file's text, refused as loadScenario says. */
function readScenarioText(file: string): string {
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const large = tooLarge(file, size);
    if (large.length > 0) throw new ScenarioError(large);
    // One byte more than the stat said, to see a file that grew meanwhile.
    const buffer = Buffer.alloc(Math.min(size, limits.scenarioFileBytesMax) + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read) {
      read = readSync(fd, buffer, length, buffer.length - length, null);
    }
    const grown = tooLarge(file, length);
    if (grown.length > 0) throw new ScenarioError(grown);
    bytes = buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof ScenarioError) throw error;
    const reason = error instanceof Error && 'code' in error ? String((error as { code: unknown }).code) : 'unreadable';
    throw new ScenarioError([{ file, line: 1, column: 1, pointer: '', message: `cannot read the file (${reason})` }]);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return textOf(file, bytes);
}
