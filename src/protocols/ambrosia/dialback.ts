/**
 * Server Dialback (XEP-0220) as pure functions: the key (XEP-0185), the secret a gateway derives when
 * none is configured, the elements both sides write, and SRV answers (RFC 2782) in the order RFC 6120
 * §3.2.1 tries them.
 *
 * Must not: throw on peer input.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Answers } from './memo.js';
import { el, ns, type XmlElement } from './wire.js';

/** Dialback keys and derived secrets by all they depend on (`dialbackKey`, `derivedDialbackSecret`). */
const keys = new Answers<string>();
const secrets = new Answers<string>();

/**
 * XEP-0185 §3: `HMAC-SHA256(SHA256(secret), receiving ' ' originating ' ' streamId)`, hex. The
 * authoritative server recomputes it from the same three values, so nobody else needs the secret.
 */
export function dialbackKey(secret: string, receiving: string, originating: string, streamId: string): string {
  const text = `${receiving} ${originating} ${streamId}`;
  // Both servers compute each key: kept by the secret (its length first, so no pair passes for another) and the text.
  return keys.get(`${secret.length}\u0000${secret}${text}`, () => {
    const hmacKey = createHash('sha256').update(secret, 'utf8').digest('hex');
    return createHmac('sha256', hmacKey).update(text, 'utf8').digest('hex');
  });
}

/** A key as the authoritative server checks it (constant time over equal lengths). */
export function dialbackKeyValid(
  secret: string,
  receiving: string,
  originating: string,
  streamId: string,
  key: string,
): boolean {
  const expected = Buffer.from(dialbackKey(secret, receiving, originating, streamId), 'utf8');
  const given = Buffer.from(key.trim(), 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Ours: the secret of a gateway that configures none, stable across restarts and the same in every
 * run, so keys are deterministic in the simulator (XEP-0185 §3 lets it be any value the server keeps).
 * A served gateway derives it from its own `serviceSecret`, which it must set (docs/serve.md).
 */
export function derivedDialbackSecret(hostName: string, serviceSecret: string): string {
  const text = `dialback\u0000${hostName}\u0000${serviceSecret}`;
  // Each gateway derives it as it starts, the same in every run: kept by the text it hashes.
  return secrets.get(text, () => createHash('sha256').update(text, 'utf8').digest('hex'));
}

/** `<db:result>` carrying the key (XEP-0220 §2.1.1), from the originating server. */
export function dbResultKey(from: string, to: string, key: string): XmlElement {
  return el('db:result', { from, to }, [key]);
}

/** `<db:result type='valid|invalid'/>` (XEP-0220 §2.4), from the receiving server. */
export function dbResultType(from: string, to: string, type: 'valid' | 'invalid'): XmlElement {
  return el('db:result', { from, to, type });
}

/** `<db:result type='error'>` when the authoritative server cannot be reached (XEP-0220 §2.4, §4). */
export function dbResultError(from: string, to: string): XmlElement {
  return el('db:result', { from, to, type: 'error' }, [
    el('error', { type: 'cancel' }, [el('remote-server-not-found', { xmlns: ns.stanzas })]),
  ]);
}

/** `<db:verify>` with the key (XEP-0220 §2.3.1), from the receiving server to the authoritative one. */
export function dbVerifyKey(from: string, to: string, id: string, key: string): XmlElement {
  return el('db:verify', { from, to, id }, [key]);
}

/** The authoritative server's answer (XEP-0220 §2.3.2). */
export function dbVerifyType(from: string, to: string, id: string, type: 'valid' | 'invalid'): XmlElement {
  return el('db:verify', { from, to, id, type });
}

/** `<dialback xmlns='urn:xmpp:features:dialback'/>` (XEP-0220 §2.1: the stream feature). */
export function dialbackFeature(): XmlElement {
  return el('dialback', { xmlns: ns.dialbackFeature });
}

export function isDialback(element: XmlElement, local: 'result' | 'verify'): boolean {
  return element.ns === ns.dialback && element.name.replace(/^.*:/, '') === local;
}

export interface SrvTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * SRV answers (`"<priority> <weight> <port> <target>"`) in the order to try them: priority ascending,
 * then weight descending, then answer order (RFC 2782 asks for a weighted random pick among equal
 * priorities; ours is deterministic). `'none'` when the one record's target is `.` (RFC 2782: the
 * service is decidedly not available); `[]` when nothing usable was answered.
 */
export function srvTargets(records: readonly string[]): readonly SrvTarget[] | 'none' {
  const parsed: { priority: number; weight: number; port: number; host: string; index: number }[] = [];
  records.forEach((record, index) => {
    const parts = record.trim().split(/\s+/);
    if (parts.length !== 4) return;
    const [priority, weight, port] = parts.slice(0, 3).map(Number) as [number, number, number];
    const host = parts[3]!.replace(/\.$/, '');
    if (![priority, weight, port].every((n) => Number.isInteger(n) && n >= 0 && n <= 65_535)) return;
    parsed.push({ priority, weight, port, host, index });
  });
  if (parsed.length === 1 && parsed[0]!.host === '') return 'none';
  return parsed
    .filter((p) => p.host !== '' && p.port > 0)
    .sort((a, b) => a.priority - b.priority || b.weight - a.weight || a.index - b.index)
    .map((p) => ({ host: p.host, port: p.port }));
}
