/**
 * The reference of the process protocol (docs/process-nodes.md), generated from the zod schemas in
 * schema.ts: `npx tsx scripts/process-doc.ts` writes it, and test/process/doc.test.ts fails when the
 * committed file is not what the schemas give. The prose around the tables lives here too.
 */
import { z } from 'zod';
import { inputSchemas, outputSchemas, processSpecSchema, stopGraceMs } from './schema.js';

type JsonSchema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
};

/** A short type for a table cell. */
function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(' \\| ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' \\| ');
  if (schema.type === 'array') return `${schema.items ? typeOf(schema.items) : 'any'}[]`;
  if (schema.type === 'object' && schema.properties) {
    const fields = Object.entries(schema.properties).map(([name, field]) => `${name}: ${typeOf(field)}`);
    return `{${fields.join(', ')}}`;
  }
  if (schema.type === 'object') return 'object';
  if (schema.type === 'integer') return 'integer';
  if (typeof schema.type === 'string') return schema.type;
  return 'JSON';
}

function table(schema: z.ZodType): string[] {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any' }) as JsonSchema;
  const required = new Set(json.required ?? []);
  const rows = ['| field | type | required | meaning |', '|---|---|---|---|'];
  for (const [name, field] of Object.entries(json.properties ?? {})) {
    const cell = (field.description ?? '').replace(/\|/g, '\\|');
    rows.push(`| \`${name}\` | ${typeOf(field)} | ${required.has(name) ? 'yes' : 'no'} | ${cell} |`);
  }
  return rows;
}

function section(title: string, schemas: Readonly<Record<string, z.ZodType>>): string[] {
  const lines = [`## ${title}`, ''];
  for (const [kind, schema] of Object.entries(schemas)) {
    lines.push(`### \`${kind}\``, '', schema.description ?? '', '', ...table(schema), '');
  }
  return lines;
}

export function processProtocolDoc(): string {
  return [
    '# External process nodes: the process protocol',
    '',
    '<!-- Generated from src/process/schema.ts by `npx tsx scripts/process-doc.ts`; do not edit by hand. -->',
    '',
    "A scenario node may run as a child process in any language instead of the protocol's built-in node.",
    "The protocol's own schemas still check the node's `config` and commands, and the trace, the checkers,",
    'faults, crash and restart, fuzzing and conformance work the same. fedsim drives the child under',
    'virtual time: time only moves between steps, so a deterministic process gives byte-identical traces',
    'run after run.',
    '',
    '```yaml',
    'nodes:',
    '  b.test:',
    '    process: { command: [python3, ../f140-py/node.py] }   # relative to the scenario file',
    '    config: { ... }                                      # checked by the protocol (f140) as usual',
    '```',
    '',
    'From the command line: `fedsim conform f140 --node-process "python3 node.py"` runs the whole',
    'conformance suite against the process (control-channel cases included: commands, crash and',
    'restart travel over this protocol), and `fedsim fuzz f140 --node-process "node node.mjs"` runs',
    "every node of the campaign's topologies as the process. Two complete examples, written from",
    "F140's spec: `examples/f140-js/node.mjs` (plain JavaScript) and `examples/f140-py/node.py` (Python 3,",
    'standard library only); `examples/f140/mixed.yaml` runs them beside the built-in node.',
    '`fedsim serve <p> --config file` with a `process:` block serves such a node on real sockets',
    '(wall-clock timers; docs/serve.md), so it can be checked with `fedsim conform <p> --target` too.',
    '',
    '## The exchange',
    '',
    "- One JSON object per line (UTF-8, `\\n`-terminated) on the child's stdin (inputs) and stdout",
    "  (outputs). The child's stderr is kept: its last 2,000 characters are shown if the child fails.",
    '- Every input opens a **step**. The child answers with any number of output lines, then exactly one',
    '  `{"kind":"end"}`. Outputs take effect in order, at the virtual instant of the input.',
    '- A durable read is answered within the step: after a `store.get` (or `store.keys`) line the child',
    '  waits for one input line, `store.value` (or `store.keys`), then goes on with its step. A',
    '  `conn.buffered` line is answered the same way (flow control: write while the bytes a connection',
    '  holds are below its mark, then wait for `conn.drain`; docs/architecture.md, the host contract).',
    "- Bytes travel base64-encoded. Times are virtual milliseconds; `now` is the node's clock.",
    "- Randomness: seed your generator with `seed` from `start` (drawn from the run's seed for this",
    '  node and incarnation). Read no clock and no other random source, or traces stop repeating.',
    '- Each incarnation is one process. A **crash** kills it (SIGKILL; nothing is sent) and forgets its',
    '  timers and connections; a **restart** spawns a new one, whose `start` has `incarnation` one higher',
    '  and whose durable store holds what the last one put. At the end of a run the process gets a',
    '  **`stop`** input instead: a graceful stop, in which it may still write its durable store (nothing',
    '  else it says counts any more); after its `end` its stdin closes and it should exit (it is killed',
    `  after ${stopGraceMs} ms). A process should always exit when its stdin closes.`,
    "- The host reads and writes the child's stdin and stdout with blocking calls, so one step costs",
    "  little more than the child's own work: write each step's lines at once (one `write` call, or",
    '  flush after `end`) and read stdin in whole chunks rather than byte by byte. Two environment',
    '  variables of fedsim tune where the children run and how fedsim waits for them, for speed only',
    '  (traces are the same). `FEDSIM_PROCESS_CPU`: `one`, the default where `taskset` and /proc',
    "  exist, pins fedsim's simulating thread and every child to one CPU while it has process nodes",
    '  (a step then wakes no other CPU), and gives the thread its CPUs back after; `host` pins only',
    '  each child, to the CPU fedsim is on when it starts it; `any` leaves both to the OS. On a',
    '  machine loaded by other work, try `any`. `FEDSIM_PROCESS_SPIN=N` makes fedsim poll a child on',
    '  another CPU up to N times before it blocks (default 0).',
    '  docs/simulator.md ("How the host and the children meet") says when each pays.',
    '- **Inputs given ahead.** The child still gets one input at a time, and the next only after its',
    "  `end`, but often before fedsim has reached that input's turn: when nothing that comes earlier",
    '  can change or cancel it, fedsim writes it at once, so that several processes compute in',
    '  parallel with each other and with fedsim (the lookahead, docs/simulator.md). What the child says',
    "  is read and takes effect at the input's turn, in the serial order, so traces are the same as",
    '  without it. For the child nothing changes but when its input comes: answer each step from the',
    '  input and the store alone (a `store.get` or `conn.buffered` is answered at the turn, as it must',
    "  be). The step's wall-clock budget starts when its input is written. Should a run stop before",
    "  such an input's turn (another node broke the protocol), its answer is read and dropped before",
    '  the `stop` step.',
    '',
    '## When the child breaks the protocol',
    '',
    'If the child exits, writes a line that is not JSON or not in the schemas below, or gives no `end`',
    'within its wall-clock budget (`stepTimeoutMs`), the run stops: `fedsim run`, `conform` and `fuzz`',
    'exit with code 3 and a message naming the node, the input it was given and the offending line, and',
    'the trace up to that point is written (it ends with a `check` event, requirement',
    '`process-protocol`). A run never hangs on a child.',
    '',
    "## The node's `process` block",
    '',
    processSpecSchema.description ?? '',
    '',
    ...table(processSpecSchema),
    '',
    ...section('Inputs (fedsim to the child)', inputSchemas),
    ...section('Outputs (the child to fedsim)', outputSchemas),
  ].join('\n');
}
