/**
 * The scenario file format, as a zod schema that rejects unknown keys. A scenario names its
 * protocol(s), seed, nodes and their configuration, DNS records, network model, steps at virtual
 * times (user commands and faults), expectations (safety at every event, liveness by a deadline)
 * and limits. Node configs and commands are validated afterwards by each protocol's own schema
 * (see load.ts). Documented for users in docs/scenarios.md.
 */
import { z } from 'zod';
import { limits } from '../core/limits.js';
import { dnsRecordTypes } from '../protocols/protocol.js';
import { processSpecSchema } from '../process/schema.js';
import { invariantNamed, invariantNames } from '../check/registry.js';
import { didYouMean } from './patterns.js';

const ms = z.number().int().min(0).max(limits.timeMsMaxCeiling);
const name = z.string().min(1);
const ratio = z.number().min(0).max(1);
/** A link's bandwidth in bytes per virtual ms (1 = 1 MB/s): flow control is off without one. */
const bandwidth = z.number().positive().max(1_000_000_000);

/**
 * Matches a trace event: every given field must equal the event's (objects match as subsets). Its
 * kind and fields are checked against the trace event schema by the loader (patterns.ts).
 */
export const eventMatchSchema = z.record(z.string(), z.unknown());

/** A `sequence` item: an event pattern or a group `{unordered: [...]}` / `{sequence: [...]}` (order.ts; shape checked by patterns.ts). */
const orderItemSchema = z.record(z.string(), z.unknown());

const pair = z.tuple([name, name]);

/**
 * Which segment an aimed corrupt or truncate acts on (src/sim/aimed-fault.ts): one whose payload,
 * as the trace shows it (`size`, `decoded`), matches `match`, and whose bytes contain `contains`.
 */
const aimSchema = {
  match: z.record(z.string(), z.unknown()).optional(),
  contains: z.string().min(1).optional(),
};

export const stepSchema = z.discriminatedUnion('do', [
  z.strictObject({ atMs: ms, do: z.literal('command'), node: name, command: z.unknown() }),
  z.strictObject({ atMs: ms, do: z.literal('partition'), between: pair, oneWay: z.boolean().optional() }),
  z.strictObject({ atMs: ms, do: z.literal('heal'), between: pair }),
  z.strictObject({ atMs: ms, do: z.literal('clog'), between: pair }),
  z.strictObject({ atMs: ms, do: z.literal('unclog'), between: pair }),
  z.strictObject({ atMs: ms, do: z.literal('crash'), node: name }),
  z.strictObject({ atMs: ms, do: z.literal('restart'), node: name }),
  z.strictObject({ atMs: ms, do: z.literal('stop'), node: name }),
  z.strictObject({ atMs: ms, do: z.literal('skew'), node: name, skewMs: z.number().int() }),
  z.strictObject({
    atMs: ms,
    do: z.literal('corrupt'),
    between: pair,
    ...aimSchema,
    find: z.string().min(1).optional(),
    replace: z.string().optional(),
    offset: z.number().int().min(0).optional(),
    xor: z.number().int().min(1).max(255).optional(),
    field: z.string().min(1).optional(),
    op: z.enum(['inc', 'dec', 'zero', 'max']).optional(),
  }),
  z.strictObject({
    atMs: ms,
    do: z.literal('truncate'),
    between: pair,
    ...aimSchema,
    keepBytes: z.number().int().min(0).optional(),
  }),
  z.strictObject({ atMs: ms, do: z.literal('disarm'), between: pair }),
  z.strictObject({
    atMs: ms,
    do: z.literal('dnsFail'),
    name,
    mode: z.enum(['servfail', 'nxdomain', 'timeout']).optional(),
  }),
  z.strictObject({ atMs: ms, do: z.literal('dnsRestore'), name }),
  z.strictObject({ atMs: ms, do: z.literal('tlsFail'), between: pair, reason: name.optional() }),
  z.strictObject({ atMs: ms, do: z.literal('tlsRestore'), between: pair }),
]);

/** A named invariant from src/check/registry.ts, such as `noDuplicateDelivery` or `f140.friendsOnly`. */
const invariantName = z.string().superRefine((value, ctx) => {
  if (invariantNamed(value) === undefined)
    ctx.addIssue({
      code: 'custom',
      message: `unknown invariant \`${value}\`${didYouMean(value, invariantNames())} (known: ${invariantNames().join(', ')})`,
    });
});

export const expectationSchema = z.union([
  z.strictObject({ always: invariantName }),
  z.strictObject({
    never: eventMatchSchema,
    name: z.string().optional(),
    /** Only events at or after this virtual time count (inclusive). */
    fromMs: ms.optional(),
    /** Only events at or before this virtual time count (inclusive). */
    untilMs: ms.optional(),
  }),
  z.strictObject({
    byMs: ms,
    delivered: z
      .strictObject({
        to: name.optional(),
        node: name.optional(),
        bodies: z.array(z.string()),
        exactly: z.boolean().optional(),
      })
      .refine((value) => value.to !== undefined || value.node !== undefined, {
        message: 'name the receiving user (`to`), its node (`node`), or both',
      }),
  }),
  z.strictObject({ byMs: ms, eventually: eventMatchSchema, name: z.string().optional() }),
  z.strictObject({ byMs: ms, sequence: z.array(orderItemSchema).min(1), name: z.string().optional() }),
]);

export const nodeSchema = z.strictObject({
  protocol: name.optional(),
  host: name.optional(),
  config: z.unknown().optional(),
  /** Run the node as an external process speaking the process protocol (docs/process-nodes.md). */
  process: processSpecSchema.optional(),
});

/** An SRV record's value (RFC 2782): priority, weight and port (0..65535 each), then the target host. */
const srvValue = /^(\d{1,5}) (\d{1,5}) (\d{1,5}) (\S+)$/;

export const dnsRecordSchema = z
  .strictObject({
    name,
    type: z.enum(dnsRecordTypes),
    value: z.string(),
  })
  .superRefine((record, ctx) => {
    if (record.type !== 'SRV') return;
    const match = srvValue.exec(record.value);
    if (!match || match.slice(1, 4).some((n) => Number(n) > 65535))
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `an SRV value is "<priority> <weight> <port> <target>" (numbers 0..65535), not "${record.value}"`,
      });
  });

export const networkSchema = z.strictObject({
  delayMsMin: ms.optional(),
  delayMsMax: ms.optional(),
  lossRatio: ratio.optional(),
  duplicateRatio: ratio.optional(),
  connectTimeoutMs: ms.optional(),
  resetTimeoutMs: ms.optional(),
  dnsDelayMs: ms.optional(),
  bytesPerMs: bandwidth.optional(),
  writeHighWaterBytes: z.number().int().min(1).max(limits.writeBytesMax).optional(),
  links: z
    .array(z.strictObject({ between: pair, delayMsMin: ms, delayMsMax: ms, bytesPerMs: bandwidth.optional() }))
    .optional(),
});

export const scenarioSchema = z.strictObject({
  name,
  description: z.string().optional(),
  protocol: name,
  /** Requirement ids (from the protocol's requirements.ts) this scenario covers. */
  covers: z.array(z.string()).optional(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  nodes: z
    .record(name, nodeSchema)
    .refine((nodes) => Object.keys(nodes).length > 0, { message: 'a scenario needs at least one node' }),
  dns: z.array(dnsRecordSchema).optional(),
  network: networkSchema.optional(),
  steps: z.array(stepSchema).optional(),
  // Checked one by one by the loader: their kinds are told apart by key, and a per-kind check
  // gives a precise message where a union would only say that no variant matched.
  expect: z.array(z.unknown()).optional(),
  limits: z.strictObject({
    timeMsMax: ms,
    eventsMax: z.number().int().min(1).max(limits.eventsMaxCeiling),
  }),
});

export type ScenarioFile = Omit<z.infer<typeof scenarioSchema>, 'expect'> & { readonly expect?: Expectation[] };
export type Step = z.infer<typeof stepSchema>;
export type Expectation = z.infer<typeof expectationSchema>;
export type EventMatch = z.infer<typeof eventMatchSchema>;
