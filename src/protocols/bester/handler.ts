/**
 * The Bester handler role (spec.md §4, §8): a handler process on the server's host. It listens on its
 * local socket path, runs one `bester.handler.session` machine per connection from the server, and
 * answers each message the way its configured rule says. `handler.down` and `handler.up` commands
 * stop and resume listening.
 *
 * It must never throw on peer input: a bad frame closes the session.
 */
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import type { BesterCommand, HandlerConfig } from './config.js';
import { handlerSessionMachine } from './machines/handler-session.js';
import { refuseCommand } from './outputs.js';
import { FrameDecoder, parseJson } from './wire.js';

interface Session {
  readonly actor: MachineActor<typeof handlerSessionMachine>;
  readonly decoder: FrameDecoder;
}

export class BesterHandlerNode implements ProtocolNode {
  private readonly sessions = new Map<string, Session>();
  private listening = false;
  private served = 0;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: HandlerConfig,
  ) {}

  start(): void {
    this.stopped = false;
    if (!this.config.down) this.listen();
  }

  stop(): void {
    this.stopped = true;
    for (const session of this.sessions.values()) session.actor.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'conn.accepted': {
        const actor = startActor(handlerSessionMachine, this.host, {
          name: `bester.handler.session ${input.conn}`,
          input: { conn: input.conn, rule: this.config.rule, delayMs: this.config.delayMs },
        });
        this.sessions.set(input.conn, { actor, decoder: new FrameDecoder() });
        return;
      }
      case 'conn.data':
        return this.data(input.conn, input.bytes);
      case 'conn.closed': {
        const session = this.sessions.get(input.conn);
        session?.actor.send({ type: 'conn.closed' });
        session?.actor.stop();
        this.sessions.delete(input.conn);
        return;
      }
      case 'command':
        return this.command(input.command as BesterCommand);
      default:
        return;
    }
  }

  view(): unknown {
    return {
      role: 'handler',
      path: this.config.path,
      listening: this.listening,
      served: this.served,
      sessions: [...this.sessions].map(([conn, session]) => ({ conn, state: session.actor.getSnapshot().value })),
    };
  }

  private listen(): void {
    this.listening = true;
    this.host.emit({ kind: 'listen', endpoint: { path: this.config.path } });
  }

  private command(command: BesterCommand): void {
    if (command.type === 'handler.down') {
      if (!this.listening) return;
      this.listening = false;
      this.host.emit({ kind: 'unlisten', endpoint: { path: this.config.path } });
      return;
    }
    if (command.type === 'handler.up') {
      if (!this.listening) this.listen();
      return;
    }
    refuseCommand(this.host, 'handler', command);
  }

  private data(conn: string, bytes: Uint8Array): void {
    const session = this.sessions.get(conn);
    if (!session) return;
    const bodies = session.decoder.push(bytes);
    if (!bodies.ok) return void session.actor.send({ type: 'wire.malformed', code: bodies.error.code });
    const body = bodies.value[0];
    if (body === undefined || session.actor.getSnapshot().value !== 'reading') return;
    const json = parseJson(body);
    if (!json.ok) return void session.actor.send({ type: 'wire.malformed', code: json.error.code });
    this.served += 1;
    session.actor.send({ type: 'wire.frame', value: json.value });
  }
}
