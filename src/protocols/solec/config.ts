/**
 * SOLEC node configuration and user commands as zod schemas: the vocabulary scenario files use
 * (spec.md "Scenario vocabulary"). Validation only; it must not hold protocol logic.
 */
import { z } from 'zod';
import { frameTimeoutMsDefault } from './frame-reader.js';
import { payloadBytesCeiling, payloadBytesMaxDefault } from './wire.js';

/** SOLEC's default TCP port. Ours: the originals name none. */
export const solecPortDefault = 7000;

/** The protocol version fedsim speaks (ours: the seed revision predates v0.5.0, so 0.4). */
export const versionMajorDefault = 0;
export const versionMinorDefault = 4;

const port = z.number().int().min(1).max(65_535);
const versionByte = z.number().int().min(0).max(255);
const durationMs = z.number().int().min(1).max(3_600_000);

const knownServer = z.strictObject({
  /** The server's name, as it presents itself in ServerAuth and in addresses (`user@name`). */
  name: z.string().min(1),
  /** Where to connect; defaults to the name. */
  host: z.string().min(1).optional(),
  port: port.optional(),
  /** Hex Ed25519 public key (signed profile); defaults to the key the `dnsRecords` hook publishes for `name`. */
  publicKey: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'a 32-byte Ed25519 public key in hex')
    .optional(),
});

export const serverConfigSchema = z.strictObject({
  role: z.literal('server'),
  port: port.default(solecPortDefault),
  /** `seed`: ServerAuth checks the name only (faithful). `signed`: ours, a signed challenge follows. */
  profile: z.enum(['seed', 'signed']).default('seed'),
  versionMajor: versionByte.default(versionMajorDefault),
  versionMinor: versionByte.default(versionMinorDefault),
  /** Local users: username -> password. */
  accounts: z.record(z.string().min(1), z.string()).default({}),
  /** The known public keys list: servers this one accepts in ServerAuth and relays to. */
  knownServers: z.array(knownServer).default([]),
  /** The name this server presents in ServerAuth; defaults to its node id. Set it to impersonate (the flaw's demo). */
  claimName: z.string().min(1).max(1_000).optional(),
  payloadBytesMax: z.number().int().min(64).max(payloadBytesCeiling).default(payloadBytesMaxDefault),
  /** A frame left unfinished with no byte arriving for this long is refused (`frame.stalled`) and the connection closed. */
  frameTimeoutMs: durationMs.default(frameTimeoutMsDefault),
  authTimeoutMs: durationMs.default(10_000),
  responseTimeoutMs: durationMs.default(10_000),
  retryMs: durationMs.default(1_000),
  attemptsMax: z.number().int().min(1).max(20).default(3),
  /** Messages held for one offline user; past this the sender gets Error 0x02. */
  mailboxMessagesMax: z.number().int().min(1).max(100_000).default(1_000),
  /**
   * Ours (issue 22): failed UserAuths one peer address may make before it is shut out; then each
   * UserAuth from it is refused unchecked (Error 0x01) for `authBlockMs`, doubled per further failure
   * up to `authBlockMsMax`; its failures are forgotten `authFailureWindowMs` after the last one.
   */
  authFailuresPerAddressFree: z.number().int().min(0).max(10_000).default(5),
  authBlockMs: durationMs.default(1_000),
  authBlockMsMax: durationMs.default(30_000),
  authFailureWindowMs: durationMs.default(300_000),
});

export const clientConfigSchema = z.strictObject({
  role: z.literal('client'),
  /** The home server's name (the part after `@` in this user's address). */
  server: z.string().min(1),
  /** Where to connect; defaults to `server`. */
  host: z.string().min(1).optional(),
  port: port.default(solecPortDefault),
  // Bounded so that a Handshake and UserAuth always fit one frame (uint16 length).
  username: z.string().min(1).max(1_000),
  password: z.string().max(1_000),
  versionMajor: versionByte.default(versionMajorDefault),
  versionMinor: versionByte.default(versionMinorDefault),
  /** Log in when the node starts; otherwise wait for a `login` command. */
  loginAtStart: z.boolean().default(true),
  payloadBytesMax: z.number().int().min(64).max(payloadBytesCeiling).default(payloadBytesMaxDefault),
  /** A frame left unfinished with no byte arriving for this long is refused (`frame.stalled`) and the connection closed. */
  frameTimeoutMs: durationMs.default(frameTimeoutMsDefault),
  authTimeoutMs: durationMs.default(10_000),
  responseTimeoutMs: durationMs.default(10_000),
  /** Reconnecting after a lost connection (spec.md §4.1, ours): first backoff, doubling. */
  retryMs: durationMs.default(1_000),
  /** Connections lost in a row before the client gives up and reports its unsent Messages. */
  attemptsMax: z.number().int().min(1).max(20).default(3),
});

export const configSchema = z.discriminatedUnion('role', [serverConfigSchema, clientConfigSchema]);

export const commandSchema = z.discriminatedUnion('type', [
  /** Client: connect and log in (again). */
  z.strictObject({ type: z.literal('login') }),
  /** Client: send `body` to the address `to` (`user@server`). */
  z.strictObject({ type: z.literal('send'), to: z.string().min(1), body: z.string() }),
  /** Client: close the connection. */
  z.strictObject({ type: z.literal('logout') }),
  /**
   * Server: route a message as if a local user had submitted it. `from` is not checked against
   * this server's name, so a misbehaving server can forge it (used by the impersonation scenario).
   */
  z.strictObject({ type: z.literal('submit'), from: z.string().min(1), to: z.string().min(1), body: z.string() }),
]);

export type ServerConfig = z.output<typeof serverConfigSchema>;
export type ClientConfig = z.output<typeof clientConfigSchema>;
export type SolecConfig = z.output<typeof configSchema>;
export type SolecCommand = z.output<typeof commandSchema>;
export type KnownServer = z.output<typeof knownServer>;
