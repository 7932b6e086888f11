/**
 * The FMTP conformance suite's fixture: how the target must be configured (`mainFixture`), the
 * keys the peer signs with, where it listens, and the DNS records the target's zone must hold
 * (`peerRecords`). The header of `index.ts` says the same in prose.
 */
import { fmtp, type FmtpConfig } from '../index.js';
import { formatKeyRecord, parseKeyRecord, publicKeyOf, secretKeyFor, toHex } from '../keys.js';
import type { DnsRecord, Protocol } from '../../protocol.js';

export const seed = 7465;
export const target = 'b.test';
export const peerHost = 'peer.test';
/** Where the peer listens (the fixture's cache, routes and MX records point here). */
export const ports = { mx: 7465, owner: 7466, split: 7467, other: 7468 } as const;
/** Short, so that a real-socket run of the whole suite takes seconds. */
export const lookingMs = 1_500;
/** How long a case waits to be sure something does not happen. */
export const quietMs = 300;

/** The peer plays every other server with one key, published under each domain it plays. */
export const peerSecret = secretKeyFor(seed, peerHost);
/** The user's node of lost@b.test (logs in to the target); its key is published at fmtpkey.b.test. */
export const lostSecret = secretKeyFor(seed, 'lost.b.test');
/** A key nobody publishes: a forger's. */
export const forgerSecret = secretKeyFor(seed, 'forger.test');
export const peerDomains = [peerHost, 'own.test', 'far.test', 'gw1.test', 'gw2.test'];

export const mainFixture = {
  port: 7465,
  users: [
    { address: 'bob@b.test' },
    { address: 'dave@b.test', status: 'ONLINE', route: { host: 'dave.b.test', port: 8000, transport: 'tcp' } },
    { address: 'carol@b.test', blacklist: ['pat@peer.test'] },
    { address: 'dora@b.test', blacklist: ['*@peer.test'], whitelist: ['pat@peer.test'] },
    { address: 'erin@b.test', policy: 'REJECT' },
    { address: 'lost@b.test' },
  ],
  cache: [
    { address: 'cal@cached.test', givenName: 'Cal' },
    { address: 'calin@own.test', route: { host: peerHost, port: ports.owner, transport: 'tcp' } },
  ],
  routes: [
    { pattern: '*@split.test', gateway: peerHost, port: ports.split, domain: 'gw1.test' },
    { pattern: '*@*', gateway: peerHost, port: ports.other, domain: 'gw2.test' },
  ],
  proxy: true,
  keepOpenMs: 0,
  lookingMs,
};

/**
 * The target's secret key: the one the run's seed gives node b.test (stream `fmtp-key:b.test`). An
 * external server runs with `secretKeyHex` set to this, so that its hashes verify against the key
 * the cases expect at fmtpkey.b.test.
 */
export const targetSecretKeyHex = toHex(secretKeyFor(seed, target));

/** What the target's DNS zone must hold besides its own key (docs in the header). */
export const peerRecords: readonly DnsRecord[] = [
  ...peerDomains.map((domain) => ({
    name: `fmtpkey.${domain}`,
    type: 'TXT' as const,
    value: formatKeyRecord(publicKeyOf(peerSecret)),
  })),
  { name: 'fmtpkey.b.test', type: 'TXT', value: formatKeyRecord(publicKeyOf(lostSecret)) },
  { name: 'own.test', type: 'MX', value: `10 ${peerHost}` },
  { name: 'far.test', type: 'MX', value: `10 ${peerHost}` },
];

/** FMTP whose published records include the fixture's zone: any FMTP built the same way (a broken fixture) can reuse it. */
export function withPeerRecords<K>(protocol: Protocol<FmtpConfig, K>): Protocol<FmtpConfig, K> {
  return { ...protocol, dnsRecords: (node) => [...(protocol.dnsRecords?.(node) ?? []), ...peerRecords] };
}

let publishedKeys: string[] | undefined;

/** The target's keys as it publishes them at fmtpkey.b.test (without the user node's key). */
export function targetKeys(): string[] {
  publishedKeys ??= (
    fmtp.dnsRecords?.({ id: target, hostName: target, config: fmtp.configSchema.parse(mainFixture), seed }) ?? []
  )
    .map((record) => parseKeyRecord(record.value))
    .filter((key): key is string => key !== undefined);
  return publishedKeys;
}

// ---------------------------------------------------------------------------------------------------
