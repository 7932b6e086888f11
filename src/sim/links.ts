/**
 * Links between hosts: one per direction, created on first use. A link has a latency range
 * (the network model's, or a per-link override), an optional bandwidth (opt-in: none by default),
 * its own random stream `link:<source>><target>` for latency, loss and duplication, and two cuts:
 * blocked (a partition) and clogged.
 *
 * This module decides what a link does to one crossing (how long it takes; whether a partition
 * drops or holds it) and keeps the partition and clog state and spans. What is held on a stream
 * connection is the connection's (connections.ts); datagrams held by a clog are kept here, and
 * released by `unclog`.
 *
 * Must not: draw from any stream but the link's own.
 */
import { assert } from '../core/assert.js';
import { streamFor, type Prng } from '../core/prng.js';
import type { Ms } from '../core/time.js';
import type { NodeRuntime, SimContext } from './context.js';

export interface Link {
  readonly source: string;
  readonly target: string;
  readonly random: Prng;
  readonly delayMsMin: Ms;
  readonly delayMsMax: Ms;
  /** Bandwidth in bytes per virtual ms; undefined: unlimited (writes leave at once). */
  readonly bytesPerMs: number | undefined;
  /** When the link finishes sending what was written on it so far (fractional ms; bandwidth links only). */
  busyUntilMs: number;
  /** Cut by a partition: datagrams are dropped, stream segments held (and reset after a timeout). */
  blocked: boolean;
  /** Clogged: everything is held until unclogged, never dropped or reset. */
  clogged: boolean;
  /** Datagrams held by a clog, each a closure that sends it on. */
  readonly heldDatagrams: (() => void)[];
}

export class Links {
  /**
   * Source host to its links: the one link while it has one (most hosts of a big federation talk
   * to one other: a map of one entry costs about 200 bytes more), then a map by target host. Two
   * lookups at most, no key built per segment.
   */
  private readonly table = new Map<string, Link | Map<string, Link>>();

  constructor(private readonly ctx: SimContext) {}

  /** The link from `source` to `target` (host names), created on first use. */
  link(source: string, target: string): Link {
    return this.find(source, target) ?? this.add(source, target);
  }

  private add(source: string, target: string): Link {
    const link = this.made(source, target);
    const fromSource = this.table.get(source);
    if (fromSource === undefined) this.table.set(source, link);
    else if (fromSource instanceof Map) fromSource.set(target, link);
    else
      this.table.set(
        source,
        new Map([
          [fromSource.target, fromSource],
          [target, link],
        ]),
      );
    return link;
  }

  private made(source: string, target: string): Link {
    const network = this.ctx.network;
    const override = network.links.find(
      (l) =>
        (l.between[0] === source && l.between[1] === target) || (l.between[0] === target && l.between[1] === source),
    );
    return {
      source,
      target,
      random: streamFor(this.ctx.seed, `link:${source}>${target}`),
      delayMsMin: override?.delayMsMin ?? network.delayMsMin,
      delayMsMax: override?.delayMsMax ?? network.delayMsMax,
      bytesPerMs: override?.bytesPerMs ?? network.bytesPerMs,
      busyUntilMs: 0,
      blocked: false,
      clogged: false,
      heldDatagrams: [],
    };
  }

  /** The link from `source` to `target` if anything has used it yet. */
  find(source: string, target: string): Link | undefined {
    const fromSource = this.table.get(source);
    if (fromSource instanceof Map) return fromSource.get(target);
    return fromSource?.target === target ? fromSource : undefined;
  }

  /** The link from `a`'s host to `b`'s; undefined on one host (local sockets cross no link). */
  between(a: NodeRuntime, b: NodeRuntime): Link | undefined {
    return a.hostName === b.hostName ? undefined : this.link(a.hostName, b.hostName);
  }

  /**
   * When a write of `size` bytes made now has left the link's sender (flow control): the link sends
   * one write after another at `bytesPerMs`, shared by every connection on it, in write order. The
   * instant is rounded up to a whole ms; the link's own account stays exact. No draw from any stream.
   */
  departureOf(link: Link, size: number): Ms {
    const rate = link.bytesPerMs;
    assert(rate !== undefined, 'departureOf on a link without a bandwidth');
    link.busyUntilMs = Math.max(this.ctx.sim.nowMs, link.busyUntilMs) + size / rate;
    return Math.ceil(link.busyUntilMs);
  }

  /** One crossing's latency, drawn from the link's stream. */
  delayOf(link: Link): Ms {
    return link.random.int(link.delayMsMin, link.delayMsMax);
  }

  /** Cuts the link between hosts `ha` and `hb` (only ha -> hb when `oneWay`). */
  partition(ha: string, hb: string, oneWay: boolean): void {
    this.link(ha, hb).blocked = true;
    if (!oneWay) this.link(hb, ha).blocked = true;
    this.ctx.beginSpan(`partition:${ha}>${hb}`, 'partition', { between: [ha, hb], oneWay });
  }

  /** Restores both directions. Held stream segments are the connections' to release. */
  heal(ha: string, hb: string): void {
    this.link(ha, hb).blocked = false;
    this.link(hb, ha).blocked = false;
    this.ctx.endSpan(`partition:${ha}>${hb}`, 'partition', { between: [ha, hb] });
    this.ctx.endSpan(`partition:${hb}>${ha}`, 'partition', { between: [hb, ha] });
  }

  clog(ha: string, hb: string): void {
    this.link(ha, hb).clogged = true;
    this.link(hb, ha).clogged = true;
    this.ctx.beginSpan(`clog:${ha}>${hb}`, 'clog', { between: [ha, hb] });
  }

  /** Unclogs both directions and sends the datagrams the clog held, in order. */
  unclog(ha: string, hb: string): void {
    for (const link of [this.link(ha, hb), this.link(hb, ha)]) {
      link.clogged = false;
      for (const release of link.heldDatagrams.splice(0)) release();
    }
    this.ctx.endSpan(`clog:${ha}>${hb}`, 'clog', { between: [ha, hb] });
    this.ctx.endSpan(`clog:${hb}>${ha}`, 'clog', { between: [hb, ha] });
  }
}
