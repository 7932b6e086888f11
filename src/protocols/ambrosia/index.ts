/** The Ambrosia protocol descriptor: config and command schemas (spec.md "Scenario vocabulary") and the node factory. */
import { z } from 'zod';
import type { Protocol } from '../protocol.js';
import { ports } from './machine.js';
import { createAmbrosiaNode, type AmbrosiaCommand, type AmbrosiaConfig } from './node.js';
import { describe } from './wire.js';

const endpoint = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) });
const registrationType = z.enum(['client', 'server']);

const gatewayConfig = z.strictObject({
  role: z.literal('gateway'),
  accounts: z
    .array(z.strictObject({ jid: z.string().regex(/^[^@/\s]+@[^@/\s]+$/), password: z.string().min(1) }))
    .default([]),
  serviceSecret: z.string().default('ambrosia'),
  services: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        secret: z.string().min(1).optional(),
        domains: z.array(z.string().min(1)),
      }),
    )
    .optional(),
  saslFailuresPerConnMax: z.number().int().min(1).max(100).default(3),
  saslFailuresPerAddressFree: z.number().int().min(0).default(5),
  saslDelayMsBase: z.number().int().min(1).default(100),
  saslDelayMsMax: z.number().int().min(1).default(2_000),
  saslDelayedPerAddressMax: z.number().int().min(1).default(8),
  saslFailureWindowMs: z.number().int().min(1).default(60_000),
  seeOtherHostTimeoutMs: z.number().int().min(1).default(2_000),
  chunkCharsMax: z.number().int().min(16).max(65_536).default(4_096),
  ackTimeoutMs: z.number().int().min(1).default(1_000),
  retransmitsMax: z.number().int().min(0).max(100).default(5),
  c2sAckTimeoutMs: z.number().int().min(1).default(1_000),
  c2sResumeMs: z.number().int().min(1).default(60_000),
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
  }),
  z.strictObject({ type: z.literal('disconnect') }),
]);

export const ambrosia: Protocol<AmbrosiaConfig, AmbrosiaCommand> = {
  name: 'ambrosia',
  configSchema: configSchema as z.ZodType<AmbrosiaConfig>,
  commandSchema: commandSchema as z.ZodType<AmbrosiaCommand>,
  createNode: createAmbrosiaNode,
  describe,
};
