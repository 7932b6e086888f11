/**
 * The protocol plugin contract: everything fedsim knows about one protocol, in one object that a
 * module exports as its default (`export default definePlugin({ ... })`). The five built-in
 * protocols are plugins like any other (each folder's index.ts); a scenario (`protocol:
 * ./my-proto/index.ts`), or `--plugin <module>` on the command line, loads a user's
 * (registry.ts). docs/protocols.md walks through writing one.
 *
 * Only `protocol` is required. A plugin without a fuzz profile is fuzzed with a generic one derived
 * from its protocol (src/fuzz/generic.ts); one without a conformance suite has no `conform` cases.
 */
import { z } from 'zod';
import type { InvariantFactory } from '../check/context.js';
import type { Peer } from '../conformance/peer.js';
import type { Suite } from '../conformance/types.js';
import type { DeliveryPromise, FuzzProfile } from '../fuzz/profile.js';
import type { Protocol } from './protocol.js';
import type { Requirement } from './requirements.js';

/** A value, or a function that gives it (maybe asynchronously): for parts that import the plugin's own module. */
export type Lazy<T> = T | (() => T | Promise<T>);

/**
 * What the generic fuzz profile needs to know when a plugin gives no profile of its own. Every
 * field has a default: nodes with their config's defaults, one user per node (named after the
 * node), and sends as `{ type: 'send', to: <host>, body }` commands. Without `delivery` nothing is
 * promised, and the runs check the plugin's invariants and that no node throws.
 */
export interface GenericFuzzOptions<Config = unknown, Command = unknown> {
  /** How many nodes a topology has at most (at least 2; default 3). */
  readonly nodesMax?: number;
  /** The config of node `index` among `hosts` (one node per host, `n1`, `n2`, ...). */
  config?(index: number, hosts: readonly string[]): Config;
  /** The command that makes the node on `from` send `body` to the user on host `to`. */
  send?(from: string, to: string, body: string): Command;
  /** What the protocol promises about delivery; without it no delivery is expected. */
  readonly delivery?: DeliveryPromise;
  /** The first instant the workload may start (default 0). */
  readonly startMs?: number;
}

export interface ProtocolPlugin<Config = unknown, Command = unknown> {
  /** The node contract: name, config and command schemas, createNode, dnsRecords, describe. */
  readonly protocol: Protocol<Config, Command>;
  /** Named invariants (`always: <name>` in a scenario); every name starts with `<protocol>.`. */
  readonly invariants?: Readonly<Record<string, InvariantFactory>>;
  /** The fuzz profile, or options for the generic one derived from the protocol. */
  readonly fuzz?: FuzzProfile | GenericFuzzOptions<Config, Command>;
  /** The conformance suite (`fedsim conform <protocol>`). */
  readonly conformance?: Lazy<Suite<Peer>>;
  /** The protocol's requirements (h2spec style), which conformance cases and scenarios cover. */
  readonly requirements?: readonly Requirement[];
}

/** Any plugin, whatever its config and command types (code that uses one validates with its schemas first). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- plugins differ in config and command types
export type AnyPlugin = ProtocolPlugin<any, any>;

/** Typing help for plugin modules: returns its argument. */
export function definePlugin<Config, Command>(
  plugin: ProtocolPlugin<Config, Command>,
): ProtocolPlugin<Config, Command> {
  return plugin;
}

/** Whether `value` is a zod schema (something with `safeParse`). */
const zodType = z.custom<z.ZodType>(
  (value) =>
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function' &&
    typeof (value as { parse?: unknown }).parse === 'function',
  { message: 'expected a zod schema' },
);

const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', {
  message: 'expected a function',
});

const protocolShape = z.object({
  name: z
    .string({ message: 'expected a string' })
    .regex(/^[a-z][a-z0-9-]*$/, { message: 'expected a lowercase name (letters, digits, dashes)' }),
  configSchema: zodType,
  commandSchema: zodType,
  createNode: fn,
  dnsRecords: fn.optional(),
  describe: fn.optional(),
});

const deliveryShape = z.object({ durable: z.boolean(), settleMs: z.number(), withinMs: z.number() });

const fuzzProfileShape = z.object({
  protocol: z.string(),
  topology: z.custom((value) => value !== null && typeof value === 'object', { message: 'expected an arbitrary' }),
  send: fn,
  links: fn,
  promises: fn,
  delivery: deliveryShape,
  startMs: z.number(),
  invariants: z.array(z.string()),
});

const genericFuzzShape = z.object({
  nodesMax: z.number().int().min(2).max(8).optional(),
  config: fn.optional(),
  send: fn.optional(),
  delivery: deliveryShape.optional(),
  startMs: z.number().int().min(0).optional(),
});

const suiteShape = z.object({
  protocol: z.string(),
  title: z.string(),
  requirements: z.array(z.unknown()),
  cases: z.array(z.object({ id: z.string(), run: fn })),
});

/** The shape a module's default export must have (checked field by field, every problem at once). */
export const pluginSchema = z.object({
  protocol: protocolShape,
  invariants: z.record(z.string(), fn).optional(),
  fuzz: z
    .unknown()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined) return;
      const looksLikeProfile = value !== null && typeof value === 'object' && 'topology' in value;
      const parsed = (looksLikeProfile ? fuzzProfileShape : genericFuzzShape).safeParse(value);
      if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom' });
    }),
  conformance: z
    .union([fn, suiteShape], { message: 'expected a conformance suite or a function giving one' })
    .optional(),
  requirements: z.array(z.object({ id: z.string(), section: z.string(), text: z.string() })).optional(),
});

/**
 * Every problem with `value` as a plugin, as `field: message` lines (empty when it is one). Beyond
 * the shape: invariant names start with `<protocol>.`, and a fuzz profile is for this protocol.
 */
export function pluginProblems(value: unknown): string[] {
  const parsed = pluginSchema.safeParse(value);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      const field = issue.path.map(String).join('.');
      let at: unknown = value;
      for (const key of issue.path)
        at = at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined;
      const message = at === undefined ? 'missing' : issue.message;
      return `${field === '' ? '(the export)' : field}: ${message}`;
    });
  }
  const plugin = parsed.data;
  const problems: string[] = [];
  for (const name of Object.keys(plugin.invariants ?? {})) {
    if (!name.startsWith(`${plugin.protocol.name}.`))
      problems.push(`invariants.${name}: an invariant's name starts with \`${plugin.protocol.name}.\``);
  }
  const fuzz = plugin.fuzz as { protocol?: unknown } | undefined;
  if (fuzz !== undefined && 'protocol' in fuzz && fuzz.protocol !== plugin.protocol.name)
    problems.push(`fuzz.protocol: is \`${String(fuzz.protocol)}\`, not \`${plugin.protocol.name}\``);
  return problems;
}

/** Whether a plugin's `fuzz` is a whole profile (rather than options for the generic one). */
export function isFuzzProfile(fuzz: FuzzProfile | GenericFuzzOptions | undefined): fuzz is FuzzProfile {
  return fuzz !== undefined && 'topology' in fuzz;
}
