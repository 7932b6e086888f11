/**
 * The Bester informer client role: a local program that asks the server's informer (spec.md §6). One
 * connection, opened at start; each `ask` writes `{command: {type, data}}` and each reply frame becomes
 * a `note bester.informer.reply` naming the request it answers (replies come in request order). It has
 * no protocol decisions to make, so it has no statechart.
 */
import { IdSequence } from '../../core/ids.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import type { BesterCommand, InformerClientConfig } from './config.js';
import { refuseCommand } from './outputs.js';
import { encodeFrame, FrameDecoder, parseJson } from './wire.js';

export class BesterInformerClientNode implements ProtocolNode {
  private readonly connIds = new IdSequence('out:i');
  private conn = '';
  private state: 'connecting' | 'open' | 'closed' = 'connecting';
  private decoder = new FrameDecoder();
  /** Requests written and not yet answered, oldest first. */
  private asked: { readonly type: string; readonly data?: unknown }[] = [];
  /** Requests made while connecting, written once the connection opens. */
  private early: { readonly type: string; readonly data?: unknown }[] = [];
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: InformerClientConfig,
  ) {}

  start(): void {
    this.stopped = false;
    this.conn = this.connIds.next();
    this.state = 'connecting';
    this.decoder = new FrameDecoder();
    this.asked = [];
    this.early = [];
    this.host.emit({ kind: 'connect', conn: this.conn, target: { path: this.config.path } });
  }

  stop(): void {
    this.stopped = true;
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'conn.opened':
        if (input.conn !== this.conn) return;
        this.state = 'open';
        for (const request of this.early.splice(0)) this.write(request);
        return;
      case 'conn.failed':
      case 'conn.closed':
        if (input.conn !== this.conn || this.state === 'closed') return;
        this.state = 'closed';
        this.host.emit({
          kind: 'note',
          what: 'bester.informer.closed',
          detail: { unanswered: this.asked.map((request) => request.type) },
        });
        return;
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'command': {
        const command = input.command as BesterCommand;
        if (command.type !== 'ask') return refuseCommand(this.host, 'informer client', command);
        if (this.state === 'closed') {
          this.host.emit({
            kind: 'reject',
            code: 'bester.not-connected',
            reason: `the informer at ${this.config.path} is not connected`,
            detail: { command },
          });
          return;
        }
        if (this.state === 'connecting') return void this.early.push(command.request);
        return this.write(command.request);
      }
      default:
        return;
    }
  }

  view(): unknown {
    return { role: 'informerClient', path: this.config.path, state: this.state, unanswered: this.asked.length };
  }

  private write(request: { readonly type: string; readonly data?: unknown }): void {
    const value = { command: { type: request.type, data: request.data ?? null } };
    this.asked.push(request);
    this.host.emit({ kind: 'write', conn: this.conn, bytes: encodeFrame(value), decoded: value });
  }

  private data(conn: string, bytes: Uint8Array): void {
    if (conn !== this.conn) return;
    const bodies = this.decoder.push(bytes);
    if (!bodies.ok) return this.host.emit({ kind: 'close', conn });
    for (const body of bodies.value) {
      const json = parseJson(body);
      const request = this.asked.shift() ?? null;
      this.host.emit({
        kind: 'note',
        what: 'bester.informer.reply',
        detail: { request, reply: json.ok ? json.value : { error: json.error.code } },
      });
    }
  }
}
