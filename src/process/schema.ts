/**
 * The process protocol: how fedsim drives a node that runs as a child process, in any language,
 * under virtual time. One JSON object per line on the child's stdin (inputs) and stdout (outputs).
 * Every input opens a step; the child answers with any number of output lines and then one
 * `{"kind":"end"}`. A `store.get`, `store.keys` or `conn.buffered` output is answered at once by
 * one input line (`store.value` / `store.keys` / `conn.buffered`) before the child goes on. docs/process-nodes.md is generated from
 * these schemas (scripts/process-doc.ts); each `.describe()` text below is what the reference says.
 *
 * Must not: change a field without regenerating the reference (test/process/doc.test.ts checks it).
 */
import { z } from 'zod';
import { dnsRecordTypes } from '../protocols/protocol.js';

const bytes = z.string().describe('the bytes, base64-encoded');
const conn = z
  .string()
  .min(1)
  .describe('a connection id (the node names its outbound ones; the host names inbound ones)');
const json = z.unknown().describe('any JSON value');
const endpoint = z
  .union([
    z.strictObject({ host: z.string(), port: z.number().int().min(0).max(65_535) }),
    z.strictObject({ path: z.string().min(1) }),
  ])
  .describe('`{host, port}` (TCP) or `{path}` (a local socket on the same host)');
const address = z.strictObject({ host: z.string(), port: z.number().int().min(0).max(65_535) });
const now = z.number().describe("the node's clock reading in ms (virtual time plus its skew)");

/** Lines the host writes to the child's stdin. */
export const inputSchemas = {
  start: z
    .strictObject({
      kind: z.literal('start'),
      node: z.string().describe('the node id'),
      host: z.string().describe('the host name the node runs on'),
      seed: z
        .number()
        .int()
        .describe(
          "a number drawn from the node's own stream of the run's seed (another in each incarnation): seed your PRNG with it",
        ),
      incarnation: z.number().int().describe('1 at the first start, 2 after the first restart, ...'),
      now,
      config: json.describe("the node's config block, after the protocol's schema (defaults filled in)"),
    })
    .describe(
      'The first input of each incarnation: listen, connect, arm timers. The durable store holds what earlier incarnations put.',
    ),
  'conn.opened': z
    .strictObject({ kind: z.literal('conn.opened'), conn, now })
    .describe('An outbound connection is established.'),
  'conn.failed': z
    .strictObject({ kind: z.literal('conn.failed'), conn, reason: z.enum(['refused', 'timeout', 'unresolved']), now })
    .describe('An outbound connection attempt failed.'),
  'conn.accepted': z
    .strictObject({
      kind: z.literal('conn.accepted'),
      conn,
      local: endpoint.describe('the listener it came in on'),
      remote: z.string().describe('the peer host (or `local`)'),
      now,
    })
    .describe("A peer connected to one of the node's listeners."),
  'conn.data': z
    .strictObject({ kind: z.literal('conn.data'), conn, bytes, now })
    .describe('Bytes arrived on a connection, in order.'),
  'conn.closed': z
    .strictObject({ kind: z.literal('conn.closed'), conn, reason: z.enum(['closed', 'reset']), now })
    .describe('The connection is gone: no more data arrives, writes are dropped.'),
  'conn.drain': z
    .strictObject({ kind: z.literal('conn.drain'), conn, now })
    .describe(
      'Flow control: a write had brought the bytes the host holds for the connection to the high-water mark, and they have all left since (see `conn.buffered`).',
    ),
  'conn.tls': z
    .strictObject({
      kind: z.literal('conn.tls'),
      conn,
      ok: z.boolean(),
      reason: z.string().optional().describe('why the handshake failed (absent when `ok`)'),
      now,
    })
    .describe(
      'The TLS handshake the node began with `tls.start` is over: from here on the bytes are inside TLS; not ok: a `conn.closed` follows.',
    ),
  datagram: z
    .strictObject({ kind: z.literal('datagram'), source: address, port: z.number().int(), bytes, now })
    .describe('A datagram arrived on `port`.'),
  'dns.answer': z
    .strictObject({
      kind: z.literal('dns.answer'),
      query: z.string().describe('the id the node gave its `dns.query`'),
      name: z.string(),
      type: z.enum(dnsRecordTypes),
      status: z.enum(['ok', 'nxdomain', 'servfail']),
      records: z
        .array(z.string())
        .describe(
          'A: addresses; MX: `"<preference> <host>"`; SRV: `"<priority> <weight> <port> <target>"`; TXT: texts',
        ),
      now,
    })
    .describe('The answer to a DNS query of the node.'),
  timer: z.strictObject({ kind: z.literal('timer'), id: z.string(), now }).describe('A timer the node set has fired.'),
  command: z
    .strictObject({
      kind: z.literal('command'),
      command: json.describe("the command, valid for the protocol's command schema"),
      now,
    })
    .describe('A user (a scenario step, the fuzzer, a conformance case) asks the node to do something.'),
  stop: z
    .strictObject({ kind: z.literal('stop'), now })
    .describe(
      'A graceful stop (the run is over, or a scenario `stop` step; a `restart` step spawns the process again): save what must outlive the process with `store.put` (only durable-store lines count now; everything else is dropped), end the step, then exit once stdin ends. A process still running after the grace period is killed. A crash gives no `stop`: the process is killed.',
    ),
  'store.value': z
    .strictObject({
      kind: z.literal('store.value'),
      key: z.string(),
      found: z.boolean(),
      value: json.optional().describe('the stored value (absent when `found` is false)'),
    })
    .describe('The answer to a `store.get`, given at once, inside the same step.'),
  'store.keys': z
    .strictObject({ kind: z.literal('store.keys'), prefix: z.string(), keys: z.array(z.string()).describe('sorted') })
    .describe('The answer to a `store.keys`, given at once, inside the same step.'),
  'conn.buffered': z
    .strictObject({
      kind: z.literal('conn.buffered'),
      conn,
      bytes: z
        .number()
        .int()
        .describe('bytes written on the connection that have not left yet (always 0 on a link without a bandwidth)'),
      highWaterBytes: z
        .number()
        .int()
        .describe('the mark: a write that brings `bytes` to it is followed by `conn.drain`'),
    })
    .describe('The answer to a `conn.buffered`, given at once, inside the same step.'),
} as const;

/** Lines the child writes to its stdout. */
export const outputSchemas = {
  listen: z.strictObject({ kind: z.literal('listen'), endpoint }).describe('Accept connections on an endpoint.'),
  unlisten: z.strictObject({ kind: z.literal('unlisten'), endpoint }).describe('Stop accepting on an endpoint.'),
  connect: z
    .strictObject({ kind: z.literal('connect'), conn: conn.describe('a fresh id the node chooses'), target: endpoint })
    .describe('Open a connection; `conn.opened` or `conn.failed` follows in a later step.'),
  write: z
    .strictObject({
      kind: z.literal('write'),
      conn,
      bytes,
      decoded: json.optional().describe('what the bytes mean, for the trace'),
    })
    .describe('Write bytes on a connection.'),
  close: z.strictObject({ kind: z.literal('close'), conn }).describe('Close a connection.'),
  'tls.start': z
    .strictObject({
      kind: z.literal('tls.start'),
      conn,
      role: z.enum(['server', 'client']).describe('the end of the handshake the node plays'),
    })
    .describe(
      'Upgrade an open connection to TLS (STARTTLS): writes wait for the handshake; `conn.tls` follows in a later step.',
    ),
  'datagram.send': z
    .strictObject({
      kind: z.literal('datagram.send'),
      port: z.number().int(),
      target: address,
      bytes,
      decoded: json.optional(),
    })
    .describe('Send a datagram from `port`.'),
  'dns.query': z
    .strictObject({
      kind: z.literal('dns.query'),
      query: z.string().describe('an id the answer names'),
      name: z.string(),
      type: z.enum(dnsRecordTypes),
    })
    .describe('Ask DNS; `dns.answer` follows in a later step.'),
  'timer.set': z
    .strictObject({
      kind: z.literal('timer.set'),
      id: z.string().min(1).describe('the node chooses it; setting an id again replaces that timer'),
      delayMs: z.number().min(0).describe('virtual ms from now'),
    })
    .describe('Arm a timer; `timer` follows when it fires (never if the node crashes first).'),
  'timer.cancel': z
    .strictObject({ kind: z.literal('timer.cancel'), id: z.string() })
    .describe('Disarm a timer (nothing if it is not armed).'),
  deliver: z
    .strictObject({
      kind: z.literal('deliver'),
      user: z.string(),
      from: z.string(),
      body: z.string(),
      id: z.string().optional(),
      detail: json.optional(),
    })
    .describe('A message reached a local user (the checkers compare `body`).'),
  reject: z
    .strictObject({ kind: z.literal('reject'), code: z.string(), reason: z.string(), detail: json.optional() })
    .describe("The node refused something: a peer's request or a local command."),
  note: z
    .strictObject({ kind: z.literal('note'), what: z.string(), detail: json.optional() })
    .describe('A protocol fact worth a trace line.'),
  state: z
    .strictObject({ kind: z.literal('state'), machine: z.string(), value: z.string() })
    .describe('A state machine of the node changed state (a `state` event in the trace).'),
  'store.put': z
    .strictObject({ kind: z.literal('store.put'), key: z.string(), value: json })
    .describe('Write a durable value (kept across crash and restart).'),
  'store.delete': z
    .strictObject({ kind: z.literal('store.delete'), key: z.string() })
    .describe('Delete a durable value.'),
  'store.get': z
    .strictObject({ kind: z.literal('store.get'), key: z.string() })
    .describe('Read a durable value: the host answers at once with a `store.value` input line.'),
  'store.keys': z
    .strictObject({ kind: z.literal('store.keys'), prefix: z.string() })
    .describe('List durable keys starting with `prefix`: the host answers at once with a `store.keys` input line.'),
  'conn.buffered': z
    .strictObject({ kind: z.literal('conn.buffered'), conn })
    .describe(
      'Flow control: ask how many bytes written on a connection have not left yet; the host answers at once with a `conn.buffered` input line. Write while below the mark, then wait for `conn.drain`.',
    ),
  end: z
    .strictObject({ kind: z.literal('end') })
    .describe('End of step: the node has nothing more to say about this input.'),
} as const;

export const outputSchema = z.discriminatedUnion(
  'kind',
  Object.values(outputSchemas) as unknown as [
    (typeof outputSchemas)[keyof typeof outputSchemas],
    ...(typeof outputSchemas)[keyof typeof outputSchemas][],
  ],
);
export type ProcessOutput = z.infer<typeof outputSchema>;
export type ProcessInput = z.infer<(typeof inputSchemas)[keyof typeof inputSchemas]>;

/** The default wall-clock budget for one step (an input and the child's lines up to `end`). */
export const defaultStepTimeoutMs = 5_000;
/** How long a process may take to exit after its `stop` step before it is killed. */
export const stopGraceMs = 1_000;
/** Added to the budget of an incarnation's first step (`start`), which includes starting the process. */
export const spawnAllowanceMs = 10_000;

/** A scenario node's `process` block. */
export const processSpecSchema = z
  .strictObject({
    command: z.array(z.string().min(1)).min(1).describe('the program and its arguments, such as `[python3, node.py]`'),
    cwd: z.string().optional().describe("the working directory, relative to the scenario file's folder"),
    env: z.record(z.string(), z.string()).optional().describe("extra environment variables (added to fedsim's own)"),
    stepTimeoutMs: z
      .number()
      .int()
      .min(1)
      .max(600_000)
      .optional()
      .describe(
        `wall-clock budget of one step, in ms (default ${defaultStepTimeoutMs}; the \`start\` step gets ${spawnAllowanceMs} more, for starting the process)`,
      ),
  })
  .describe(
    "Run this node as an external process speaking the process protocol; the protocol's schemas still check its config and commands.",
  );
export type ProcessSpec = z.infer<typeof processSpecSchema>;
