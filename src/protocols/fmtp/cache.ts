/**
 * An FMTP node's caches (seed: "the primary tasks of an FMTP system will be to cache objects"):
 * objects by address, public keys by domain and MX hosts by domain, each entry kept for
 * `cacheTtlMs`. Objects from the config never expire. Reads drop what has expired.
 */
import type { NodeHost } from '../protocol.js';
import { cacheEntriesMax } from './config.js';
import type { ObjectProperties } from './wire.js';

interface Cached<T> {
  readonly value: T;
  /** Undefined: never expires (configured). */
  readonly expiresAtMs?: number;
}

export class FmtpCache {
  private readonly objects = new Map<string, Cached<ObjectProperties>>();
  private readonly keys = new Map<string, Cached<readonly string[]>>();
  private readonly mxHosts = new Map<string, Cached<string>>();

  constructor(
    private readonly host: NodeHost,
    private readonly ttlMs: number,
    configured: readonly ObjectProperties[],
  ) {
    for (const object of configured) this.objects.set(object.address, { value: object });
  }

  object(address: string): ObjectProperties | undefined {
    const entry = this.objects.get(address);
    if (!entry) return undefined;
    if (entry.expiresAtMs !== undefined && entry.expiresAtMs <= this.host.now()) {
      this.objects.delete(address);
      return undefined;
    }
    return entry.value;
  }

  /** The public keys published for `domain` (base64), if cached. */
  keysOf(domain: string): readonly string[] | undefined {
    const entry = this.keys.get(domain);
    if (!entry) return undefined;
    if (entry.expiresAtMs !== undefined && entry.expiresAtMs <= this.host.now()) {
      this.keys.delete(domain);
      return undefined;
    }
    return entry.value;
  }

  mx(domain: string): string | undefined {
    const entry = this.mxHosts.get(domain);
    return entry && (entry.expiresAtMs === undefined || entry.expiresAtMs > this.host.now()) ? entry.value : undefined;
  }

  /** Caches an object a lookup found; past `cacheEntriesMax` the oldest entry goes first. */
  putObject(properties: ObjectProperties): void {
    if (this.objects.size >= cacheEntriesMax) {
      const oldest = this.objects.keys().next().value;
      if (oldest !== undefined) this.objects.delete(oldest);
    }
    this.objects.delete(properties.address);
    this.objects.set(properties.address, { value: properties, expiresAtMs: this.host.now() + this.ttlMs });
  }

  putKeys(domain: string, keys: readonly string[]): void {
    this.keys.set(domain, { value: keys, expiresAtMs: this.host.now() + this.ttlMs });
  }

  putMx(domain: string, host: string): void {
    this.mxHosts.set(domain, { value: host, expiresAtMs: this.host.now() + this.ttlMs });
  }

  /** What the node's view lists: the addresses and domains cached (expired ones included until read). */
  view(): { objects: string[]; keys: string[] } {
    return { objects: [...this.objects.keys()], keys: [...this.keys.keys()] };
  }
}
