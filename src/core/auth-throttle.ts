/**
 * Password-guessing throttle per peer address, shared by the protocols that check passwords
 * (Ambrosia's SASL, SOLEC's UserAuth). Pure: the caller passes its host clock's reading (`now()`),
 * so a simulated run stays deterministic and the real host reads wall time.
 *
 * The rule: an address may fail `failuresFree` times; each failure after that shuts it out for a
 * while, `blockMs` after the first, doubled per further failure up to `blockMsMax`. While shut out,
 * an attempt from that address is refused without its password being checked (so a guess made
 * then teaches nothing). The address's count is forgotten `windowMs` after its last failure. A
 * success does not clear the count (an attacker with one valid account must not reset it).
 *
 * Must not: grow without bound (at most `addressesMax` addresses, the one failing least recently
 * is forgotten first), or read a clock of its own.
 */

export interface AuthThrottleLimits {
  /** Failures one address may make (within `windowMs` of each other) before it is shut out. */
  readonly failuresFree: number;
  /** How long the first shut-out lasts; each further failure doubles it. */
  readonly blockMs: number;
  /** The longest shut-out. */
  readonly blockMsMax: number;
  /** An address's failures are forgotten this long after its last one. */
  readonly windowMs: number;
  /** Addresses remembered at once. @defaultValue 10000 */
  readonly addressesMax?: number;
}

interface AddressRecord {
  failures: number;
  lastFailureMs: number;
  blockedUntilMs: number;
}

/** The peer address of a host's `remote` (the real host's `ip:port`, the simulator's host name): the port is dropped. */
export function peerAddressOf(remote: string): string {
  const match = /^(.*):(\d{1,5})$/.exec(remote);
  return match && match[1] !== '' ? (match[1] ?? remote) : remote;
}

export class AuthThrottle {
  private readonly records = new Map<string, AddressRecord>();
  private readonly addressesMax: number;

  constructor(private readonly limits: AuthThrottleLimits) {
    this.addressesMax = limits.addressesMax ?? 10_000;
  }

  /** How long `address` is still shut out at `nowMs` (0: its next attempt is checked). */
  blockedMs(address: string, nowMs: number): number {
    const record = this.current(address, nowMs);
    return record ? Math.max(0, record.blockedUntilMs - nowMs) : 0;
  }

  /** A checked attempt from `address` failed at `nowMs`; returns how long the address is now shut out. */
  failed(address: string, nowMs: number): number {
    const record = this.current(address, nowMs) ?? { failures: 0, lastFailureMs: nowMs, blockedUntilMs: 0 };
    record.failures += 1;
    record.lastFailureMs = nowMs;
    const over = record.failures - this.limits.failuresFree;
    if (over > 0) {
      // 2 ** 30 already exceeds any sane blockMsMax; the exponent is capped so the product stays finite.
      const ms = Math.min(this.limits.blockMsMax, this.limits.blockMs * 2 ** Math.min(over - 1, 30));
      record.blockedUntilMs = Math.max(record.blockedUntilMs, nowMs + ms);
    }
    // Re-inserted last: the map's order is least recently failed first, which is what eviction drops.
    this.records.delete(address);
    this.records.set(address, record);
    while (this.records.size > this.addressesMax) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) break;
      this.records.delete(oldest);
    }
    return Math.max(0, record.blockedUntilMs - nowMs);
  }

  /** For views and tests: the addresses remembered and their failure counts. */
  view(): Record<string, number> {
    return Object.fromEntries([...this.records].map(([address, record]) => [address, record.failures]));
  }

  private current(address: string, nowMs: number): AddressRecord | undefined {
    const record = this.records.get(address);
    if (!record) return undefined;
    if (nowMs - record.lastFailureMs >= this.limits.windowMs && nowMs >= record.blockedUntilMs) {
      this.records.delete(address);
      return undefined;
    }
    return record;
  }
}
