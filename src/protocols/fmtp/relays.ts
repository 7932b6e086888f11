/**
 * The FMTP relay role: a node sends its users' MESSAGEs (seed steps 1–7). To a user of its own
 * domain it delivers at once (spec.md §8); to anyone else it starts one `fmtp.relay` machine,
 * which resolves the recipient through the lookup role, carries the MESSAGE through the client
 * role, and retries transient failures with backoff (spec.md §8.1).
 */
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import { hopsMax, jobsMax, type FmtpCommand } from './config.js';
import { relayMachine, type RelayEvent } from './machines/relay.js';
import type { FmtpShared } from './shared.js';
import { domainOf, type FrameOf } from './wire.js';

export class FmtpRelays {
  private readonly relays = new Map<string, MachineActor<typeof relayMachine>>();
  private readonly relayIds = new IdSequence('relay');

  constructor(private readonly node: FmtpShared) {}

  stop(): void {
    for (const relay of this.relays.values()) relay.stop();
  }

  /** The relays in flight, for the node's view. */
  ids(): string[] {
    return [...this.relays.keys()];
  }

  /** Passes `event` to relay `id`, if it is still running. */
  tell(id: string, event: RelayEvent): void {
    this.relays.get(id)?.send(event);
  }

  /** The `send` command: a MESSAGE from a user of this node. */
  send(command: Extract<FmtpCommand, { type: 'send' }>): void {
    const { config, domain, identity, server } = this.node;
    const local = config.login ? command.from === config.login.user : domainOf(command.from) === domain;
    if (!local) {
      return this.node.reject('fmtp.command.from-not-local', `${command.from} is not a user of ${identity}`);
    }
    if (this.relays.size >= jobsMax) return this.node.reject('fmtp.command.busy', `over ${jobsMax} messages in flight`);
    if (!config.login && (server.hasUser(command.to) || domainOf(command.to) === domain)) {
      // Within our own domain we are the recipient's home server: no lookup, no relay (spec.md §8).
      return this.sendLocal({
        type: 'MESSAGE',
        from: command.from,
        to: command.to,
        transaction: this.node.nextTransaction(),
        body: command.body,
      });
    }
    const id = this.relayIds.next();
    const message: FrameOf<'MESSAGE'> = {
      type: 'MESSAGE',
      from: command.from,
      to: command.to,
      transaction: this.node.nextTransaction(),
      body: command.body,
    };
    const { port, retryMsBase, retryMsMax, relayMsMax } = config;
    const actor = startActor(relayMachine, this.node.host, {
      name: `fmtp.relay ${id}`,
      input: { id, message, port, retryMsBase, retryMsMax, relayMsMax },
    });
    this.relays.set(id, actor);
    actor.on('fmtp.resolve', (event) => this.node.lookups.start(event.object, { relay: id, hops: hopsMax }));
    actor.on('fmtp.send', (event) =>
      this.node.client.carry(event.target, { kind: 'send', relay: id, message: event.message }),
    );
    actor.on('fmtp.relay.done', () => {
      this.relays.delete(id);
    });
    actor.send({ type: 'relay.start' });
  }

  /** A message from one of our users to another user of our domain (ours, spec.md §8). */
  private sendLocal(message: FrameOf<'MESSAGE'>): void {
    const detail = { transaction: message.transaction, to: message.to };
    const answer = this.node.server.acceptMessage(message);
    if (answer.type === 'REJECTED') return this.node.reject(`fmtp.message.${answer.code}`, answer.reason, detail);
    this.node.host.emit({
      kind: 'note',
      what: 'fmtp.message.accepted',
      // Fields named, not `{ ...detail, by, local }`: on Node 20 a spread that then adds properties costs microseconds.
      detail: { transaction: detail.transaction, to: detail.to, by: this.node.domain, local: true },
    });
  }
}
