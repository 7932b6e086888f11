/**
 * The Bester protocol descriptor (see ./spec.md): one protocol whose nodes are a server, a handler
 * process or a client, chosen by `config.role`. The schemas here are the scenario vocabulary
 * (spec.md §9). Nothing here does I/O.
 */
import { z } from 'zod';
import type { Protocol } from '../protocol.js';
import { createBesterNode, type BesterCommand, type BesterConfig } from './node.js';
import { describe } from './wire.js';

const portSchema = z.number().int().min(1).max(65_535);

const ruleSchema = z.discriminatedUnion('command', [
  z.strictObject({
    command: z.literal('sendClients'),
    usernames: z.array(z.string()).optional(),
    usernamesField: z.string().min(1).optional(),
    tag: z.string().min(1).optional(),
  }),
  z.strictObject({
    command: z.literal('sendServers'),
    servers: z.array(z.string()),
    tag: z.string().min(1).optional(),
  }),
  z.strictObject({ command: z.literal('sendHandler'), handler: z.string().min(1) }),
  z.strictObject({ command: z.literal('other'), type: z.string(), data: z.json() }),
  z.strictObject({ command: z.literal('error'), status: z.string().min(1) }),
  z.strictObject({ command: z.literal('garbage') }),
]);

const serverConfigSchema = z.strictObject({
  role: z.literal('server'),
  profile: z.enum(['fixed', 'besterd-2020']).default('fixed'),
  port: portSchema.default(2223),
  handlers: z.record(z.string().min(1), z.strictObject({ path: z.string().min(1) })).default({}),
  informerPath: z.string().min(1).default('bInformer'),
  handlerTimeoutMs: z.number().int().min(1).default(5_000),
  adminInfo: z.record(z.string(), z.string()).default({}),
});

const handlerConfigSchema = z.strictObject({
  role: z.literal('handler'),
  path: z.string().min(1),
  rule: ruleSchema,
  delayMs: z.number().int().min(0).default(0),
  down: z.boolean().default(false),
});

const clientConfigSchema = z.strictObject({
  role: z.literal('client'),
  server: z.strictObject({ host: z.string().min(1), port: portSchema.default(2223) }),
  username: z.string(),
  password: z.string(),
});

/** A local program that asks the server's informer socket (spec.md §6), such as an admin tool. */
const informerClientConfigSchema = z.strictObject({
  role: z.literal('informerClient'),
  path: z.string().min(1).default('bInformer'),
});

export const configSchema = z.discriminatedUnion('role', [
  serverConfigSchema,
  handlerConfigSchema,
  clientConfigSchema,
  informerClientConfigSchema,
]);

export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('send'), messageType: z.string(), data: z.json(), id: z.string().optional() }),
  z.strictObject({ type: z.literal('dummy'), id: z.string().optional() }),
  z.strictObject({ type: z.literal('close') }),
  // Raw bytes for tests of bad input: `body` is framed with a correct length, `hex` is written as is.
  z
    .strictObject({
      type: z.literal('raw'),
      body: z.string().optional(),
      hex: z
        .string()
        .regex(/^(?:[0-9a-fA-F]{2})+$/)
        .optional(),
    })
    .refine((raw) => (raw.body === undefined) !== (raw.hex === undefined), {
      message: 'a raw command has exactly one of body and hex',
    }),
  z.strictObject({
    type: z.literal('ask'),
    request: z.strictObject({ type: z.string(), data: z.json().optional() }),
  }),
  z.strictObject({ type: z.literal('handler.down') }),
  z.strictObject({ type: z.literal('handler.up') }),
]);

export const bester: Protocol<BesterConfig, BesterCommand> = {
  name: 'bester',
  configSchema: configSchema as z.ZodType<BesterConfig>,
  commandSchema: commandSchema as z.ZodType<BesterCommand>,
  createNode: (host, config) => createBesterNode(host, config),
  describe,
};

export type {
  BesterCommand,
  BesterConfig,
  ClientConfig,
  HandlerConfig,
  InformerClientConfig,
  ServerConfig,
} from './node.js';
export type { HandlerRule, Profile } from './machine.js';
