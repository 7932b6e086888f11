/**
 * Ambrosia node configuration and user commands (spec.md "Scenario vocabulary"): the zod schemas the
 * scenario loader validates with, the config type of each role, and the protocol's fixed ports and
 * bounds. Defaults are ours, so a gateway runs with `{ role: gateway }` alone (seed: "it needs no
 * configuration").
 *
 * Rule: schemas, types and constants only; no behaviour.
 */
import { z } from 'zod';

export const ports = {
  /** RFC 6120 §14.7: the registered xmpp-client port. */
  c2s: 5222,
  /** RFC 6120 §14.7: the registered xmpp-server port. */
  s2s: 5269,
  /** Ours: the port XEP-0114 components conventionally use. */
  service: 5347,
} as const;

/** Messages a client or s2s link holds while it is not yet online; a node that never gets online must not grow without bound. */
export const queueCountMax = 1000;

export type RegistrationType = 'client' | 'server';

/**
 * `seed` (faithful, the simulator's default): any service that passes the handshake may register any
 * domain (seed: "register any number of domain/type pairs"). `assigned` (ours, what `serve` runs):
 * a service registers only the domains its entry in `services` lists (spec.md "Profiles").
 */
export type GatewayProfile = 'seed' | 'assigned';

/** One service the gateway knows by name (the `from` of its stream header). */
export interface ServiceAssignment {
  /** Its own handshake secret; without one it uses the gateway's `serviceSecret`. */
  readonly secret?: string | undefined;
  /** The domains it may register (under the `assigned` profile). */
  readonly domains: readonly string[];
}

/**
 * STARTTLS (RFC 6120 §5): `off` never offers or uses it; `optional` offers it (a gateway) or uses
 * it when offered (a client, an s2s initiator); `required` also refuses to go on without it.
 */
export type TlsMode = 'off' | 'optional' | 'required';

export interface GatewayConfig {
  readonly role: 'gateway';
  readonly profile: GatewayProfile;
  /** Services by name: their own secret and the domains assigned to them. */
  readonly services: Readonly<Record<string, ServiceAssignment>>;
  /** The "local SASL system configuration" (seed): accounts the gateway authenticates. */
  readonly accounts: readonly { readonly jid: string; readonly password: string }[];
  /** Offer and accept SASL PLAIN on an unencrypted c2s stream (RFC 6120 §13.8 says not to); SCRAM is always offered. */
  readonly plainWithoutTls: boolean;
  /** STARTTLS on c2s and s2s (offered to clients and servers, used toward servers that offer it). */
  readonly tls: TlsMode;
  readonly serviceSecret: string;
  /** XEP-0185's dialback secret; derived from the host name and `serviceSecret` when absent (../dialback.ts). */
  readonly dialbackSecret?: string;
  readonly seeOtherHostTimeoutMs: number;
  /** How long an outgoing s2s stream waits for each answer before it is set up (header, features, dialback). */
  readonly s2sAnswerMs: number;
  readonly chunkCharsMax: number;
  readonly ackTimeoutMs: number;
  readonly retransmitsMax: number;
  /** XEP-0198 on c2s: how long stanzas sent to a client may wait for its `<a/>`. */
  readonly c2sAckTimeoutMs: number;
  /** XEP-0198 on c2s: how long a broken session waits to be resumed (`max` in `<enabled/>`, in seconds). */
  readonly c2sResumeMs: number;
  /** SASL failures one c2s stream may have; the last is followed by `<policy-violation/>` and the close. */
  readonly saslFailuresPerStreamMax: number;
  /** Failed SASL attempts one peer address may make before it is shut out (src/core/auth-throttle.ts). */
  readonly saslFailuresPerAddressFree: number;
  /** The first shut-out of an address; doubled per further failure up to `saslBlockMsMax`. */
  readonly saslBlockMs: number;
  readonly saslBlockMsMax: number;
  /** An address's failures are forgotten this long after its last one. */
  readonly saslFailureWindowMs: number;
  readonly ports: { readonly c2s: number; readonly s2s: number; readonly service: number };
}

export interface ServiceConfig {
  readonly role: 'service';
  readonly name: string;
  readonly gateways: readonly { readonly host: string; readonly port: number }[];
  readonly secret: string;
  readonly registrations: readonly { readonly domain: string; readonly type: 'client' | 'server' }[];
  /** Users this service knows to live elsewhere: bare JID -> `host[:port]` for `<see-other-host/>`. */
  readonly seeOtherHost: Readonly<Record<string, string>>;
  readonly chunkCharsMax: number;
  readonly ackTimeoutMs: number;
  readonly retransmitsMax: number;
  readonly retryMs: number;
  readonly retryMsMax: number;
}

export type ServiceCommand = { readonly type: 'disconnect' };

export interface ClientConfig {
  readonly role: 'client';
  readonly jid: string;
  readonly password: string;
  readonly resource: string;
  /** SASL mechanisms the client will use, in its order of preference. */
  readonly mechanisms: readonly ('SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN')[];
  /** STARTTLS: used when the gateway offers it (`optional`), or demanded (`required`). */
  readonly tls: TlsMode;
  /** The gateway to connect to; defaults to the JID's domain on port 5222. */
  readonly gateway?: { readonly host: string; readonly port: number };
  readonly redirectsMax: number;
  /** Log in at start; otherwise wait for a `login` command. */
  readonly autoLogin: boolean;
  /** XEP-0198: how long a sent stanza may wait for the gateway's `<a/>` before the stream counts as broken. */
  readonly ackTimeoutMs: number;
  /** How long each login step may wait for the gateway's answer before the stream counts as broken. */
  readonly responseTimeoutMs: number;
  /** Reconnection backoff (RFC 6120 §3.3): first delay, doubled per failed attempt up to `retryMsMax`. */
  readonly retryMs: number;
  readonly retryMsMax: number;
}

export type ClientCommand =
  | { readonly type: 'login' }
  | {
      readonly type: 'send';
      readonly to: string;
      readonly body: string;
      readonly id?: string;
      /** The body is `body` this many times over: a large stanza a scenario file could not hold. */
      readonly repeat?: number;
      /** A `from` the client writes itself (an attacker's forgery: the gateway stamps over it). */
      readonly from?: string;
    }
  | { readonly type: 'logout' };

export type AmbrosiaConfig = GatewayConfig | ServiceConfig | ClientConfig;
export type AmbrosiaCommand = ClientCommand | ServiceCommand;

const endpoint = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) });
const registrationType = z.enum(['client', 'server']);
const tlsMode = z.enum(['off', 'optional', 'required']);

const gatewayConfig = z.strictObject({
  role: z.literal('gateway'),
  profile: z.enum(['seed', 'assigned']).default('seed'),
  services: z
    .record(
      z.string().min(1),
      z.strictObject({ secret: z.string().min(1).optional(), domains: z.array(z.string().min(1)).default([]) }),
    )
    .default({}),
  accounts: z
    .array(z.strictObject({ jid: z.string().regex(/^[^@/\s]+@[^@/\s]+$/), password: z.string().min(1) }))
    .default([]),
  plainWithoutTls: z.boolean().default(false),
  tls: tlsMode.default('off'),
  serviceSecret: z.string().default('ambrosia'),
  dialbackSecret: z.string().min(1).optional(),
  seeOtherHostTimeoutMs: z.number().int().min(1).default(2_000),
  s2sAnswerMs: z.number().int().min(1).default(3_000),
  chunkCharsMax: z.number().int().min(16).max(65_536).default(4_096),
  ackTimeoutMs: z.number().int().min(1).default(1_000),
  retransmitsMax: z.number().int().min(0).max(100).default(5),
  c2sAckTimeoutMs: z.number().int().min(1).default(1_000),
  c2sResumeMs: z.number().int().min(1).default(60_000),
  saslFailuresPerStreamMax: z.number().int().min(1).max(100).default(3),
  saslFailuresPerAddressFree: z.number().int().min(0).max(10_000).default(5),
  saslBlockMs: z.number().int().min(1).default(1_000),
  saslBlockMsMax: z.number().int().min(1).default(30_000),
  saslFailureWindowMs: z.number().int().min(1).default(300_000),
  ports: z
    .strictObject({
      c2s: z.number().int().min(1).max(65_535).default(ports.c2s),
      s2s: z.number().int().min(1).max(65_535).default(ports.s2s),
      service: z.number().int().min(1).max(65_535).default(ports.service),
    })
    .default({ c2s: ports.c2s, s2s: ports.s2s, service: ports.service }),
});

const serviceConfig = z.strictObject({
  role: z.literal('service'),
  name: z.string().min(1),
  gateways: z.array(endpoint).min(1),
  secret: z.string().default('ambrosia'),
  registrations: z.array(z.strictObject({ domain: z.string().min(1), type: registrationType })).min(1),
  seeOtherHost: z.record(z.string(), z.string().min(1)).default({}),
  chunkCharsMax: z.number().int().min(16).max(65_536).default(4_096),
  ackTimeoutMs: z.number().int().min(1).default(1_000),
  retransmitsMax: z.number().int().min(0).max(100).default(5),
  retryMs: z.number().int().min(1).default(500),
  retryMsMax: z.number().int().min(1).default(30_000),
});

const clientConfig = z.strictObject({
  role: z.literal('client'),
  jid: z.string().regex(/^[^@/\s]+@[^@/\s]+$/),
  password: z.string().min(1),
  resource: z.string().min(1).default('fedsim'),
  mechanisms: z
    .array(z.enum(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']))
    .min(1)
    .default(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']),
  tls: tlsMode.default('optional'),
  gateway: endpoint.optional(),
  redirectsMax: z.number().int().min(0).max(10).default(2),
  autoLogin: z.boolean().default(true),
  ackTimeoutMs: z.number().int().min(1).default(1_000),
  responseTimeoutMs: z.number().int().min(1).default(3_000),
  retryMs: z.number().int().min(1).default(100),
  retryMsMax: z.number().int().min(1).default(30_000),
});

export const configSchema = z.discriminatedUnion('role', [gatewayConfig, serviceConfig, clientConfig]);

export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('login') }),
  z.strictObject({ type: z.literal('logout') }),
  z.strictObject({
    type: z.literal('send'),
    to: z.string().min(1),
    body: z.string(),
    id: z.string().min(1).optional(),
    repeat: z
      .number()
      .int()
      .min(1)
      .max(256 * 1024)
      .optional(),
    /** A `from` the client writes itself (an attacker's forgery: the gateway stamps over it). */
    from: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal('disconnect') }),
]);
