/**
 * Throttles SASL failures on the gateway's c2s side (ours; the seed says nothing of it), per
 * connection and per peer address, so that guessing passwords is slow whatever the client does:
 *
 * - a connection is closed after `saslFailuresPerConnMax` failures (RFC 6120 §6.4.5 lets the server
 *   give up after a configurable number of retries);
 * - once `saslFailuresPerAddressFree` failures from one address are used (within `saslFailureWindowMs`), every later
 *   attempt from it is judged only after a delay that doubles with each failure, from
 *   `saslDelayMsBase` up to `saslDelayMsMax`, right or wrong (so a right guess is not answered faster);
 * - at most `saslDelayedPerAddressMax` attempts from one address wait at once; more are refused at once,
 *   so opening many connections in parallel does not undo the delay.
 *
 * Must not: read a clock of its own (the node's `now` is given), or grow without bound (addresses past
 * `addressesMax` forget the oldest).
 */
export interface SaslThrottleConfig {
  readonly saslFailuresPerConnMax: number;
  readonly saslFailuresPerAddressFree: number;
  readonly saslDelayMsBase: number;
  readonly saslDelayMsMax: number;
  readonly saslDelayedPerAddressMax: number;
  readonly saslFailureWindowMs: number;
}

/** Addresses remembered at once; the oldest is forgotten past this (a spray from many addresses costs bounded memory). */
const addressesMax = 10_000;

interface AddressRecord {
  failures: number;
  lastMs: number;
  delayed: number;
}

/** The address part of a peer (`127.0.0.1:5123` -> `127.0.0.1`; a simulated host name as it is). */
export function peerAddress(remote: string): string {
  const match = /^(.*):\d+$/.exec(remote);
  return match?.[1] ?? remote;
}

export class SaslThrottle {
  private readonly perConn = new Map<string, number>();
  private readonly perAddress = new Map<string, AddressRecord>();

  constructor(
    private readonly config: SaslThrottleConfig,
    private readonly now: () => number,
  ) {}

  /**
   * How long an attempt from `address` waits before it is judged: 0 at once, a delay, or `refuse`
   * when too many from that address already wait.
   */
  delayFor(address: string): number | 'refuse' {
    const record = this.record(address, false);
    if (!record) return 0;
    const excess = record.failures - this.config.saslFailuresPerAddressFree;
    if (excess < 0) return 0;
    if (record.delayed >= this.config.saslDelayedPerAddressMax) return 'refuse';
    return Math.min(this.config.saslDelayMsMax, this.config.saslDelayMsBase * 2 ** Math.min(excess, 30));
  }

  /** An attempt from `address` starts or stops waiting. */
  waiting(address: string, delta: 1 | -1): void {
    const record = this.record(address, delta === 1);
    if (record) record.delayed = Math.max(0, record.delayed + delta);
  }

  /** Counts a failure; true when the connection has used up its tries and must be closed. */
  failed(conn: string, address: string): boolean {
    const record = this.record(address, true);
    if (record) {
      record.failures += 1;
      record.lastMs = this.now();
    }
    const count = (this.perConn.get(conn) ?? 0) + 1;
    this.perConn.set(conn, count);
    return count >= this.config.saslFailuresPerConnMax;
  }

  forget(conn: string): void {
    this.perConn.delete(conn);
  }

  private record(address: string, create: boolean): AddressRecord | undefined {
    let record = this.perAddress.get(address);
    if (record && record.delayed === 0 && this.now() - record.lastMs > this.config.saslFailureWindowMs) {
      this.perAddress.delete(address);
      record = undefined;
    }
    if (record || !create) return record;
    record = { failures: 0, lastMs: this.now(), delayed: 0 };
    this.perAddress.set(address, record);
    if (this.perAddress.size > addressesMax) {
      const oldest = this.perAddress.keys().next().value;
      if (oldest !== undefined) this.perAddress.delete(oldest);
    }
    return record;
  }
}
