/**
 * The FMTP lookup role: a node looks objects up (seed §3.2: cache, owner, MX, gateway), for a
 * command, for one of its relays, or by proxy for a requester downstream (spec.md §5). Each lookup
 * is one `fmtp.lookup` machine; this module starts it with what the node knows (cache, owner's
 * route, route table), carries its REQUESTs through the client role, caches what it finds, and
 * passes the outcome to whoever asked.
 */
import { IdSequence } from '../../core/ids.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import { jobsMax, type FmtpRouteConfig } from './config.js';
import type { ConnectionTarget } from './machines/connection.js';
import { lookupMachine, type LookupDone, type LookupEvent } from './machines/lookup.js';
import type { Downstream, FmtpShared } from './shared.js';
import { domainOf, matchesPattern, ownerOf, type Frame } from './wire.js';

/** Who started a lookup: one of our relays, a requester downstream (proxy), or neither (a command). */
export interface LookupParent {
  readonly relay?: string;
  readonly downstream?: Downstream;
  /** The HOPS this lookup's REQUESTs carry (spec.md §5.3). */
  readonly hops: number;
}

interface LookupJob {
  readonly actor: MachineActor<typeof lookupMachine>;
  readonly downstream?: Downstream;
  readonly relay?: string;
  readonly fromCache: boolean;
  /** The pending key (`conn transaction`) of its current REQUEST. */
  pendingKey?: string;
}

/** The first route-table entry whose pattern matches the object's address. */
export function routeFor(routes: readonly FmtpRouteConfig[], object: string, portDefault: number) {
  const address = object.split('/')[0] ?? object;
  const route = routes.find((entry) => matchesPattern(entry.pattern, address));
  if (!route) return undefined;
  return { host: route.gateway, port: route.port ?? portDefault, domain: route.domain ?? route.gateway };
}

export class FmtpLookups {
  private readonly lookups = new Map<string, LookupJob>();
  private readonly lookupIds = new IdSequence('lookup');

  constructor(private readonly node: FmtpShared) {}

  stop(): void {
    for (const job of this.lookups.values()) job.actor.stop();
  }

  /** The lookups in flight, for the node's view. */
  ids(): string[] {
    return [...this.lookups.keys()];
  }

  /** Passes `event` to lookup `id`, if it is still running. */
  tell(id: string, event: LookupEvent): void {
    this.lookups.get(id)?.actor.send(event);
  }

  /** Lookup `id` sent a REQUEST whose answer is pending under `key`. */
  requestSent(id: string, key: string): void {
    const lookup = this.lookups.get(id);
    if (lookup) lookup.pendingKey = key;
  }

  start(object: string, parent: LookupParent): void {
    if (this.lookups.size >= jobsMax) return this.refuseBusy(object, parent);
    const { host, config } = this.node;
    const id = this.lookupIds.next();
    const cached = this.node.cache.object(object);
    host.emit({
      kind: 'note',
      what: cached ? 'fmtp.cache.hit' : 'fmtp.cache.miss',
      detail: { lookup: id, object },
    });
    const owner = this.ownerTarget(object);
    const gateway = routeFor(config.routes, object, config.port);
    const actor = startActor(lookupMachine, host, {
      name: `fmtp.lookup ${id}`,
      input: {
        id,
        object,
        ...(cached ? { cached } : {}),
        ...(owner ? { owner } : {}),
        ...(gateway ? { gateway } : {}),
        keysCached: this.node.cache.keysOf(domainOf(object)) !== undefined,
        port: config.port,
        byProxy: parent.downstream !== undefined,
        lookingMs: config.lookingMs,
        dnsMs: config.handshakeMs,
      },
    });
    const job: LookupJob = {
      actor,
      fromCache: cached !== undefined,
      ...(parent.relay ? { relay: parent.relay } : {}),
      ...(parent.downstream ? { downstream: parent.downstream } : {}),
    };
    this.lookups.set(id, job);
    actor.on('fmtp.ask', (event) =>
      this.node.client.carry(event.target, { kind: 'ask', lookup: id, object: event.object, hops: parent.hops }),
    );
    actor.on('fmtp.lookup.done', (event) => this.done(id, job, event));
    actor.send({ type: 'lookup.start' });
  }

  /** Answers the requester of a proxied lookup, if its connection is still open. */
  answerDownstream(downstream: Downstream, frame: Frame): void {
    const conn = this.node.conns.get(downstream.conn);
    if (!conn || conn.ended) return;
    this.node.write(downstream.conn, frame);
  }

  /** Over `jobsMax` lookups: whoever asked gets a failure at once. */
  private refuseBusy(object: string, parent: LookupParent): void {
    if (parent.downstream)
      this.answerDownstream(parent.downstream, {
        type: 'FAILED',
        object,
        transaction: parent.downstream.transaction,
        reason: 'busy',
      });
    if (parent.relay) {
      this.node.relays.tell(parent.relay, {
        type: 'fmtp.lookup.done',
        lookup: '',
        object,
        outcome: 'failure',
        step: 'cache',
        reason: 'busy',
      });
    }
    if (!parent.relay && !parent.downstream) this.node.reject('fmtp.command.busy', `over ${jobsMax} lookups in flight`);
  }

  /** Where the object's owner is, when the owner is another object we have with a TCP route. */
  private ownerTarget(object: string): ConnectionTarget | undefined {
    const owner = ownerOf(object);
    if (owner === object) return undefined;
    const route = this.node.cache.object(owner)?.route;
    if (!route || route.transport !== 'tcp') return undefined;
    return { host: route.host, port: route.port, domain: domainOf(owner) };
  }

  private done(id: string, job: LookupJob, done: LookupDone): void {
    const { cache } = this.node;
    this.lookups.delete(id);
    if (done.mxHost) cache.putMx(domainOf(done.object), done.mxHost);
    if (done.outcome === 'found' && done.properties && !job.fromCache) cache.putObject(done.properties);
    if (job.pendingKey !== undefined) {
      this.node.client.lookupEnded(job.pendingKey, done.outcome === 'looking', job.downstream);
    }
    if (job.relay) {
      const mxHost = done.mxHost ?? cache.mx(domainOf(done.object));
      // Object.assign, not `{ ...done, mxHost }`: on Node 20 a spread that then adds a property costs microseconds.
      this.node.relays.tell(job.relay, mxHost ? Object.assign({}, done, { mxHost }) : { ...done });
    }
    if (job.downstream) this.answerRequester(job.downstream, done);
  }

  /** The final answer a proxied lookup owes its requester ("I will look" was its first). */
  private answerRequester(downstream: Downstream, done: LookupDone): void {
    const { transaction } = downstream;
    const object = done.object;
    if (done.outcome === 'found' && done.properties) {
      this.answerDownstream(downstream, { type: 'OBJECT', object, transaction, properties: done.properties });
    } else if (done.outcome === 'notFound') {
      this.answerDownstream(downstream, { type: 'NOT-FOUND', object, transaction });
    } else if (done.outcome === 'failure') {
      this.answerDownstream(downstream, {
        type: 'FAILED',
        object,
        transaction,
        reason: done.reason || 'failure',
      });
    }
  }
}
