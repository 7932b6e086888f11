/**
 * Faults that change what crosses the network or what a node reads, rather than whether it
 * arrives: corrupt or truncate the next segment or datagram on a link, skew a node's clock, make
 * DNS answers for a name fail. (Partitions and clogs are the links' state, links.ts; crash and
 * restart are the world's, world.ts.) Every fault shows in the trace as a `fault` event.
 *
 * Bytes in flight pass through one place, `tamper`: the connections call it for every stream
 * segment and every datagram copy that crosses a link (local sockets cross none). A new fault on
 * bytes in flight arms itself here and acts in `tamper`.
 *
 * Must not: draw from any stream but `fault:corrupt:<source>><target>`, one per link.
 */
import { streamFor, type Prng } from '../core/prng.js';
import type { Ms } from '../core/time.js';
import type { NodeRuntime, SimContext } from './context.js';
import { aimDetail, aimedApplies, applyAimed, type AimedFault } from './aimed-fault.js';
import type { Link, Links } from './links.js';
import type { WireField } from '../core/wire-fields.js';

export type DnsFailMode = 'servfail' | 'nxdomain' | 'timeout';

/** A byte fault: seeded (the next segment, a byte the seed picks) or aimed (aimed-fault.ts). */
export type ByteFault = 'corrupt' | 'truncate' | AimedFault;

const modeOf = (fault: ByteFault) => (typeof fault === 'string' ? fault : fault.mode);

export class Faults {
  /** The byte fault armed on each link, until it acts or is disarmed. */
  private readonly armed = new Map<Link, ByteFault>();
  /** Each link's `fault:corrupt:` stream, made when a fault first acts there and kept after. */
  private readonly corruptRandoms = new Map<Link, Prng>();
  private readonly dnsFaults = new Map<string, DnsFailMode>();
  /** Host pairs (`a|b`, sorted) whose TLS handshakes fail, with the reason they fail for. */
  private readonly tlsFaults = new Map<string, string>();

  constructor(
    private readonly ctx: SimContext,
    private readonly links: Links,
  ) {}

  /** Sets a node's clock offset: its `now()` reads virtual time plus `skewMs`. */
  skew(runtime: NodeRuntime, skewMs: Ms): void {
    runtime.skewMs = skewMs;
    this.ctx.record('sim', {
      kind: 'fault',
      fault: 'skew',
      phase: 'instant',
      detail: { node: runtime.spec.id, skewMs },
    });
  }

  /** Arms `mode` on the link from host `ha` to host `hb`: the next bytes across it are changed. */
  corruptNext(ha: string, hb: string, mode: ByteFault): void {
    const link = this.links.link(ha, hb);
    this.armed.set(link, mode);
    const aim = typeof mode === 'string' ? {} : { aim: aimDetail(mode) };
    this.ctx.record('sim', {
      kind: 'fault',
      fault: modeOf(mode),
      phase: 'begin',
      detail: { between: [ha, hb], ...aim },
    });
  }

  /** Drops a byte fault armed from host `ha` to host `hb` that has not acted yet (nothing if none). */
  disarm(ha: string, hb: string): void {
    const link = this.links.find(ha, hb);
    const mode = link === undefined ? undefined : this.armed.get(link);
    if (link === undefined || mode === undefined) return;
    this.armed.delete(link);
    this.ctx.record('sim', {
      kind: 'fault',
      fault: modeOf(mode),
      phase: 'end',
      detail: { between: [ha, hb], disarmed: true },
    });
  }

  /**
   * The bytes that arrive when `bytes` (not empty, not a FIN) cross `link`: a changed copy if a
   * fault armed on the link acts on them (it is then spent, and its end is recorded), or undefined
   * when they arrive as sent. An aimed fault acts only on bytes it applies to (`describe` gives
   * their decoded form, asked only when the aim matches on it) and stays armed past the others.
   */
  /** Whether a byte fault is armed on `link` (else `tamper` returns undefined at once, and callers may skip building its arguments). */
  isArmed(link: Link): boolean {
    return this.armed.has(link);
  }

  tamper(
    link: Link,
    bytes: Uint8Array,
    describe: () => unknown,
    fields?: () => readonly WireField[],
  ): Uint8Array | undefined {
    const mode = this.armed.get(link);
    if (mode === undefined) return undefined;
    if (typeof mode === 'object' && !aimedApplies(mode, bytes, describe, fields)) return undefined;
    this.armed.delete(link);
    const detail = { between: [link.source, link.target] };
    if (typeof mode === 'object') {
      const aimed = applyAimed(mode, bytes, fields);
      this.ctx.record('sim', { kind: 'fault', fault: mode.mode, phase: 'end', detail: { ...detail, ...aimed.detail } });
      return aimed.bytes;
    }
    if (mode === 'truncate') {
      this.ctx.record('sim', {
        kind: 'fault',
        fault: 'truncate',
        phase: 'end',
        detail: { ...detail, keptBytes: bytes.length >> 1 },
      });
      return bytes.slice(0, bytes.length >> 1);
    }
    const random = this.corruptRandomOf(link);
    const copy = bytes.slice();
    const at = random.int(0, copy.length - 1);
    copy[at] = (copy[at] ?? 0) ^ random.int(1, 255);
    this.ctx.record('sim', { kind: 'fault', fault: 'corrupt', phase: 'end', detail: { ...detail, offset: at } });
    return copy;
  }

  private corruptRandomOf(link: Link): Prng {
    let random = this.corruptRandoms.get(link);
    if (random === undefined) {
      random = streamFor(this.ctx.seed, `fault:corrupt:${link.source}>${link.target}`);
      this.corruptRandoms.set(link, random);
    }
    return random;
  }

  /** DNS answers for `name` fail (`servfail`, `nxdomain`) or never come (`timeout`) until restored. */
  dnsFail(name: string, mode: DnsFailMode): void {
    const lower = name.toLowerCase();
    this.dnsFaults.set(lower, mode);
    this.ctx.beginSpan(`dns:${lower}`, 'dns', { name: lower, mode });
  }

  dnsRestore(name: string): void {
    const lower = name.toLowerCase();
    this.dnsFaults.delete(lower);
    this.ctx.endSpan(`dns:${lower}`, 'dns', { name: lower });
  }

  /** TLS handshakes between hosts `ha` and `hb` (either way round) fail with `reason` until restored. */
  tlsFail(ha: string, hb: string, reason: string): void {
    const key = tlsKey(ha, hb);
    this.tlsFaults.set(key, reason);
    this.ctx.beginSpan(`tls:${key}`, 'tls', { between: [ha, hb], reason });
  }

  tlsRestore(ha: string, hb: string): void {
    const key = tlsKey(ha, hb);
    this.tlsFaults.delete(key);
    this.ctx.endSpan(`tls:${key}`, 'tls', { between: [ha, hb] });
  }

  /** Why a TLS handshake between hosts `ha` and `hb` fails now, or undefined when it succeeds. */
  tlsFaultOf(ha: string, hb: string): string | undefined {
    return this.tlsFaults.get(tlsKey(ha, hb));
  }

  /** The failure set for a (lower-case) name, if any. */
  dnsFaultOf(name: string): DnsFailMode | undefined {
    return this.dnsFaults.get(name);
  }
}

function tlsKey(ha: string, hb: string): string {
  return ha < hb ? `${ha}|${hb}` : `${hb}|${ha}`;
}
