/**
 * Bester configuration and user commands (spec.md §9, the scenario vocabulary): one protocol whose
 * nodes are a server, a handler process, a client or an informer client, chosen by `config.role`.
 * The zod schemas validate scenario files; the types are what each role reads.
 *
 * Rule: schemas and their types only; no behaviour.
 */
import { z } from 'zod';

/** `fixed` (ours, the default) or `besterd-2020`, which keeps the original's three bugs (spec.md §7). */
export type Profile = 'fixed' | 'besterd-2020';

/** What a handler answers (spec.md §8, ours: the original's handlers are arbitrary programs). */
export type HandlerRule =
  | {
      readonly command: 'sendClients';
      readonly usernames?: readonly string[];
      readonly usernamesField?: string;
      readonly tag?: string;
    }
  | { readonly command: 'sendServers'; readonly servers: readonly string[]; readonly tag?: string }
  | { readonly command: 'sendHandler'; readonly handler: string; readonly tag?: string }
  /** A command string the server does not know, such as the old spec's `sendClient`. */
  | { readonly command: 'other'; readonly type: string; readonly data: unknown }
  /** A reply with a non-zero status. */
  | { readonly command: 'error'; readonly status: string }
  /** A frame that is not JSON. */
  | { readonly command: 'garbage' };

export interface ServerConfig {
  readonly role: 'server';
  readonly profile: Profile;
  readonly port: number;
  /** Message type -> the local socket path its handler listens on (server.conf `handlers.typeMap`). */
  readonly handlers: Readonly<Record<string, { readonly path: string }>>;
  readonly informerPath: string;
  readonly handlerTimeoutMs: number;
  readonly adminInfo: Readonly<Record<string, string>>;
}

export interface HandlerConfig {
  readonly role: 'handler';
  readonly path: string;
  readonly rule: HandlerRule;
  /** How long the handler works before it answers (a slow handler). */
  readonly delayMs: number;
  /** Starts without listening (a handler that is down until `handler.up`). */
  readonly down: boolean;
}

export interface ClientConfig {
  readonly role: 'client';
  readonly server: { readonly host: string; readonly port: number };
  readonly username: string;
  readonly password: string;
}

/** A local program on the server's host that asks its informer socket (spec.md §6). */
export interface InformerClientConfig {
  readonly role: 'informerClient';
  readonly path: string;
}

export type BesterConfig = ServerConfig | HandlerConfig | ClientConfig | InformerClientConfig;

export type BesterCommand =
  | { readonly type: 'send'; readonly messageType: string; readonly data: unknown; readonly id?: string }
  | { readonly type: 'dummy'; readonly id?: string }
  | { readonly type: 'close' }
  /** Client: writes `body` as one correctly framed frame, or the bytes `hex` as they are (tests of bad input). */
  | { readonly type: 'raw'; readonly body?: string; readonly hex?: string }
  /** Informer client: one informer request (`listClients`, `isClient`, `serverInfo`, `quit`). */
  | { readonly type: 'ask'; readonly request: { readonly type: string; readonly data?: unknown } }
  | { readonly type: 'handler.down' }
  | { readonly type: 'handler.up' };

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
  z.strictObject({ command: z.literal('sendHandler'), handler: z.string().min(1), tag: z.string().min(1).optional() }),
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
