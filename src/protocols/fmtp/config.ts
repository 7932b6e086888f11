/**
 * FMTP's configuration: what one node is given (its domain, users, cache, routes and timings), the
 * commands a scenario may give it, the schemas a scenario file is checked against (spec.md §10),
 * and the limits every node keeps to whatever it is told.
 */
import { z } from 'zod';
import {
  hasControlCharacter,
  isAddress,
  isDomain,
  isObjectAddress,
  isPattern,
  type ObjectProperties,
  type Route,
} from './wire.js';

/** A user this node is the home server of: the user object's properties (rev 5 table). */
export interface FmtpUserConfig {
  readonly address: string;
  readonly status?: 'ONLINE' | 'OFFLINE' | 'AWAY';
  readonly route?: Route;
  readonly policy?: 'ACCEPT' | 'REJECT' | 'CONFIRM';
  readonly blacklist?: readonly string[];
  readonly whitelist?: readonly string[];
  readonly encryptPolicy?: 'REQUIRED' | 'OPTIONAL' | 'NONE';
}

/** A route-table entry: objects matching `pattern` go through `gateway`. */
export interface FmtpRouteConfig {
  readonly pattern: string;
  readonly gateway: string;
  readonly port?: number;
  /** The domain whose key the gateway signs with; defaults to the gateway host name. */
  readonly domain?: string;
}

export interface FmtpConfig {
  /** The domain this node speaks for ("I am lenore.org"); defaults to the host name. */
  readonly domain?: string;
  readonly port: number;
  readonly users: readonly FmtpUserConfig[];
  /** Set on a user's own node: it logs in to its home server and keeps that connection open. */
  readonly login?: { readonly user: string; readonly server: string; readonly port?: number };
  /** Objects known before the run (never expire). */
  readonly cache: readonly ObjectProperties[];
  /** The route table, first match wins: list `*@splitreflection.com` before `*@*`. */
  readonly routes: readonly FmtpRouteConfig[];
  /** Answer "I will look" and look up on the requester's behalf. */
  readonly proxy: boolean;
  /** Close an idle outbound connection after this long; null keeps it open. */
  readonly keepOpenMs: number | null;
  /** End a connection whose greeting (HELLO, WELCOME, key lookup) is not over after this long (spec.md §2). */
  readonly handshakeMs: number;
  /** Close an established connection whose peer leaves a REQUEST or MESSAGE unanswered this long (spec.md §2). */
  readonly answerMs: number;
  readonly cacheTtlMs: number;
  /** How long a lookup waits for the final answer after "I will look". */
  readonly lookingMs: number;
  /** A user's node retries its login this long after losing it. */
  readonly reloginMs: number;
  /** A relay retries a transient failure after this long, doubling each time up to `retryMsMax` (spec.md §8.1). */
  readonly retryMsBase: number;
  readonly retryMsMax: number;
  /** A relay gives up once its retry delays would pass this in sum; 0 never retries (spec.md §8.1). */
  readonly relayMsMax: number;
  /** 64 hex digits: overrides the key derived from the run's seed (forged-key scenarios). */
  readonly secretKeyHex?: string;
  /** Whether the descriptor publishes this node's key at `fmtpkey.<domain>`. */
  readonly publishKey: boolean;
  /**
   * `fixed` (ours, the default): REQUESTs carry HOPS and a proxy given HOPS 0 refuses to look
   * (spec.md §5.3). `seed` (faithful): no HOPS, so proxies whose routes point at each other loop.
   */
  readonly profile: 'fixed' | 'seed';
  /**
   * Connections this node holds at most, accepted and opened together (the seed's "until a
   * connection limit is reached"): past it an accepted connection is closed at once and new
   * outbound work fails (spec.md §2). At most `connectionsMax`.
   */
  readonly connectionsMax: number;
}

export type FmtpCommand =
  | { readonly type: 'lookup'; readonly object: string }
  | { readonly type: 'send'; readonly from: string; readonly to: string; readonly body: string };

/** The port FMTP listens on unless configured (ours: unassigned by IANA as far as we know). */
export const fmtpPortDefault = 7465;
/** Connections one node holds; past this new outbound work fails at once (a runaway loop, not load). */
export const connectionsMax = 1024;
/** Lookups and relays in progress at once; proxied requests past this get FAILED. */
export const jobsMax = 512;
/** Objects in the cache; the oldest entry is evicted first. */
export const cacheEntriesMax = 4096;
/** Jobs queued on a connection that is still handshaking. */
export const queuedPerConnMax = 64;
/**
 * Accepted MESSAGEs a node remembers (durably) by sender and TRANSACTION, to accept a relay's
 * retry again without delivering it twice (spec.md §8.1). A relay retries for `relayMsMax`
 * (5 min by default), so this needs to outlast the messages one node accepts in that time; 1024
 * is far above what a simulated federation sends, and keeps the stored list small.
 */
export const acceptedRememberedMax = 1024;
/**
 * Proxies that may look on one requester's behalf, one after another (ours, spec.md §5.3): the
 * HOPS our REQUESTs start with. Each proxy forwards with one less and a proxy that gets HOPS 0
 * answers FAILED `hops.exhausted` instead of LOOKING, so two proxies whose routes point at each
 * other stop after this many lookups instead of passing "I will look" back and forth forever.
 * Why 8: the seed's longest chain is one proxy (the requester's gateway asks the object's MX);
 * gateways in front of gateways (a site's, its provider's, a regional one) rarely pass 3. 8 leaves
 * room for that, yet a loop costs at most 8 handshakes, and at default delays its FAILED reaches
 * the requester well inside `lookingMs`. (IP's TTL is 64 and SMTP allows 100 Received lines, but
 * an FMTP hop is a whole verified connection, not a packet.)
 */
export const hopsMax = 8;

const domain = z.string().refine(isDomain, 'must be a lowercase domain name');
const address = z.string().refine(isAddress, 'must be an address such as lost@lenore.org');
const pattern = z.string().refine(isPattern, 'must be an address pattern such as *@splitreflection.com');
const port = z.number().int().min(1).max(65_535);
const route = z.strictObject({ host: domain, port, transport: z.enum(['tcp', 'udp']).default('tcp') });

const properties = {
  address,
  status: z.enum(['ONLINE', 'OFFLINE', 'AWAY']).optional(),
  route: route.optional(),
  policy: z.enum(['ACCEPT', 'REJECT', 'CONFIRM']).optional(),
  blacklist: z.array(pattern).max(64).optional(),
  whitelist: z.array(pattern).max(64).optional(),
  encryptPolicy: z.enum(['REQUIRED', 'OPTIONAL', 'NONE']).optional(),
};

/** Bodies travel as one escaped line: control characters other than tab and line breaks cannot. */
const body = z
  .string()
  .max(2_000)
  .refine((text) => !hasControlCharacter(text), 'must not contain control characters');

export const configSchema = z.strictObject({
  domain: domain.optional(),
  port: port.default(fmtpPortDefault),
  users: z.array(z.strictObject(properties)).default([]),
  login: z.strictObject({ user: address, server: domain, port: port.optional() }).optional(),
  cache: z
    .array(z.strictObject({ ...properties, givenName: z.string().optional(), familyName: z.string().optional() }))
    .default([]),
  routes: z
    .array(z.strictObject({ pattern, gateway: domain, port: port.optional(), domain: domain.optional() }))
    .default([]),
  proxy: z.boolean().default(false),
  keepOpenMs: z.number().int().min(0).nullable().default(10_000),
  handshakeMs: z.number().int().min(1).default(1_000),
  answerMs: z.number().int().min(1).default(1_000),
  cacheTtlMs: z.number().int().min(1).default(300_000),
  lookingMs: z.number().int().min(1).default(30_000),
  reloginMs: z.number().int().min(1).default(5_000),
  retryMsBase: z.number().int().min(1).default(1_000),
  retryMsMax: z.number().int().min(1).default(30_000),
  relayMsMax: z.number().int().min(0).default(300_000),
  secretKeyHex: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
    .optional(),
  publishKey: z.boolean().default(true),
  profile: z.enum(['fixed', 'seed']).default('fixed'),
  connectionsMax: z.number().int().min(1).max(connectionsMax).default(connectionsMax),
});

export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('lookup'),
    object: z.string().refine(isObjectAddress, 'must be an object address'),
  }),
  z.strictObject({ type: z.literal('send'), from: address, to: address, body }),
]);

/** The config with every default filled in, for tests and for code that builds nodes by hand. */
export function fmtpConfig(partial: z.input<typeof configSchema> = {}): FmtpConfig {
  return configSchema.parse(partial) as FmtpConfig;
}
