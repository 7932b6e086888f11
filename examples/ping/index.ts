/**
 * ping: the smallest complete fedsim protocol plugin (docs/protocols.md walks through it).
 *
 * Every node listens on TCP port `port`. The command `{ type: 'send', to, body }` makes a node
 * connect to host `to` and write `PING <from> <body>\n`; the receiver delivers the body to its
 * user (named after its host), answers `PONG\n` and closes. A line that is not a PING gets a
 * `reject` and the connection closes: a node never throws on peer input.
 *
 * In your own project, import from 'fedsim' instead of the relative path.
 */
import { z } from 'zod';
import { definePlugin, type NodeHost, type NodeInput, type ProtocolNode } from '../../src/index.js';

const configSchema = z
  .strictObject({ port: z.number().int().min(1).max(65_535).default(7007) })
  .default({ port: 7007 });
type PingConfig = z.infer<typeof configSchema>;

const commandSchema = z.strictObject({ type: z.literal('send'), to: z.string().min(1), body: z.string() });
type PingCommand = z.infer<typeof commandSchema>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class PingNode implements ProtocolNode {
  private nextConn = 0;
  /** Bodies waiting for their outbound connection to open, by connection id. */
  private readonly pending = new Map<string, string>();
  /** Unread bytes of inbound connections. */
  private readonly buffers = new Map<string, string>();
  private delivered = 0;

  constructor(
    private readonly host: NodeHost,
    private readonly config: PingConfig,
  ) {}

  start(): void {
    this.host.emit({ kind: 'listen', endpoint: { host: this.host.hostName, port: this.config.port } });
  }

  stop(): void {
    this.pending.clear();
  }

  handle(input: NodeInput): void {
    switch (input.kind) {
      case 'command': {
        const command = input.command as PingCommand;
        const conn = `${this.host.id}/out${(this.nextConn += 1)}`;
        this.pending.set(conn, command.body);
        this.host.emit({ kind: 'connect', conn, target: { host: command.to, port: this.config.port } });
        return;
      }
      case 'conn.opened': {
        const body = this.pending.get(input.conn);
        if (body === undefined) return;
        this.pending.delete(input.conn);
        const line = `PING ${this.host.hostName} ${body}\n`;
        this.host.emit({ kind: 'write', conn: input.conn, bytes: encoder.encode(line), decoded: { ping: body } });
        return;
      }
      case 'conn.failed':
        this.pending.delete(input.conn);
        this.host.emit({ kind: 'note', what: 'ping.unreachable', detail: { reason: input.reason } });
        return;
      case 'conn.accepted':
        this.buffers.set(input.conn, '');
        return;
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'conn.closed':
        this.buffers.delete(input.conn);
        this.pending.delete(input.conn);
        return;
      default:
        return;
    }
  }

  private data(conn: string, bytes: Uint8Array): void {
    const buffered = this.buffers.get(conn);
    if (buffered === undefined) return; // a PONG on our own outbound connection: nothing to do
    const text = buffered + decoder.decode(bytes);
    const end = text.indexOf('\n');
    if (end < 0) {
      this.buffers.set(conn, text);
      return;
    }
    const match = /^PING (\S+) (.*)$/.exec(text.slice(0, end));
    if (match === null) {
      this.host.emit({ kind: 'reject', code: 'ping.bad-line', reason: 'expected PING <from> <body>' });
    } else {
      this.delivered += 1;
      this.host.emit({ kind: 'deliver', user: this.host.hostName, from: match[1] ?? '', body: match[2] ?? '' });
      this.host.emit({ kind: 'write', conn, bytes: encoder.encode('PONG\n'), decoded: { pong: true } });
    }
    this.buffers.delete(conn);
    this.host.emit({ kind: 'close', conn });
  }

  view(): unknown {
    return { delivered: this.delivered, pending: this.pending.size };
  }
}

export default definePlugin<PingConfig, PingCommand>({
  protocol: {
    name: 'ping',
    configSchema,
    commandSchema,
    createNode: (host, config) => new PingNode(host, config),
    describe: (bytes) => decoder.decode(bytes).trim(),
    // The viewer's and the Mermaid export's name for a message (whether this plugin is given to
    // `fedsim view` or only to the run that wrote the trace: the trace header names the module).
    nameMessage: (_decoded, bytes) => {
      const line = decoder.decode(bytes).trim();
      return line.startsWith('PING ')
        ? { name: 'PING', summary: line }
        : line === 'PONG'
          ? { name: 'PONG', summary: 'the answer' }
          : undefined;
    },
  },
  invariants: {
    // A node delivers only to its own user: the one named after its host.
    'ping.ownUserOnly': () => ({
      name: 'ping.ownUserOnly',
      kinds: ['deliver'],
      observe: (event) =>
        event.kind === 'deliver' && event.user !== event.node ? `${event.node} delivered to ${event.user}` : undefined,
    }),
  },
  // No fuzz profile of its own: the generic one sends `{ type: 'send', to, body }` between nodes.
  // It may promise delivery on a quiet network:
  fuzz: { delivery: { durable: false, settleMs: 3_000, withinMs: 2_000 } },
});
