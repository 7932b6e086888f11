/**
 * The FMTP protocol descriptor: config and command schemas (the scenario vocabulary, spec.md §10),
 * node creation, the DNS records each node publishes (its Ed25519 key at `fmtpkey.<domain>`),
 * and trace decoding. Derives keys from the run's seed exactly as the node does.
 */
import { z } from 'zod';
import type { DnsRecord, Protocol } from '../protocol.js';
import { formatKeyRecord, keyRecordName, publicKeyOf, secretKeyFor } from './keys.js';
import { FmtpNode, fmtpPortDefault, type FmtpCommand, type FmtpConfig } from './node.js';
import { describe, hasControlCharacter, isAddress, isDomain, isObjectAddress, isPattern } from './wire.js';
import { nameMessage } from './describe.js';

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

/** The node's key at `fmtpkey.<domain>`, from the same stream the node draws its secret from. */
export function dnsRecords(node: { id: string; hostName: string; config: FmtpConfig; seed: number }): DnsRecord[] {
  if (!node.config.publishKey) return [];
  const secret = node.config.secretKeyHex
    ? Uint8Array.from(node.config.secretKeyHex.match(/../g) ?? [], (hex) => parseInt(hex, 16))
    : secretKeyFor(node.seed, node.id);
  const domainName = node.config.domain ?? node.hostName;
  return [{ name: keyRecordName(domainName), type: 'TXT', value: formatKeyRecord(publicKeyOf(secret)) }];
}

export const fmtp: Protocol<FmtpConfig, FmtpCommand> = {
  name: 'fmtp',
  configSchema: configSchema as unknown as z.ZodType<FmtpConfig>,
  commandSchema: commandSchema as z.ZodType<FmtpCommand>,
  createNode: (host, config) => new FmtpNode(host, config),
  dnsRecords,
  describe,
  nameMessage,
};

export { FmtpNode } from './node.js';
export type { FmtpCommand, FmtpConfig } from './node.js';
