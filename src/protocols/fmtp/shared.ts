/**
 * What the roles of one FMTP node share. `node.ts` builds the node; the roles (`client.ts`,
 * `server.ts`, `lookups.ts`, `relays.ts`) each keep their own tables and reach the rest through
 * this: the host, the config, the node's identity and key, its connection table and caches, its
 * transaction counter, and each other.
 */
import type { MachineActor } from '../../engine/actor.js';
import type { NodeHost } from '../protocol.js';
import type { FmtpCache } from './cache.js';
import type { FmtpClient } from './client.js';
import type { FmtpConfig } from './config.js';
import type { FmtpLookups } from './lookups.js';
import type { ConnectionTarget, connectionMachine } from './machines/connection.js';
import type { FmtpRelays } from './relays.js';
import type { FmtpServer } from './server.js';
import type { BlockBuffer, Frame, FrameOf } from './wire.js';

/** What a REQUEST or MESSAGE we send waits for, by its pending key (`conn transaction`). */
export type Job =
  /** `hops`: the HOPS the REQUEST carries (how many more proxies may look). */
  | { readonly kind: 'ask'; readonly lookup: string; readonly object: string; readonly hops: number }
  | { readonly kind: 'send'; readonly relay: string; readonly message: FrameOf<'MESSAGE'> }
  /** An answer to pass on downstream (a proxied request we considered closed at "I will look"). */
  | { readonly kind: 'forward'; readonly conn: string; readonly transaction: string }
  /** A MESSAGE relayed to a logged-in user; its ACCEPTED is only consumed. */
  | { readonly kind: 'relayed' };

/** One stream connection, either way, with its `fmtp.connection` machine. */
export interface Conn {
  readonly id: string;
  readonly role: 'client' | 'server';
  readonly actor: MachineActor<typeof connectionMachine>;
  readonly buffer: BlockBuffer;
  readonly poolKey?: string;
  readonly target?: ConnectionTarget;
  peer?: string;
  established: boolean;
  ended: boolean;
  readonly queued: Job[];
  /** The user logged in over this connection (server side), if any. */
  loginUser?: string;
}

/** The requester of a proxied lookup: its connection and its REQUEST's TRANSACTION. */
export interface Downstream {
  readonly conn: string;
  readonly transaction: string;
}

export function pendingKey(conn: string, transaction: string): string {
  return `${conn} ${transaction}`;
}

export interface FmtpShared {
  readonly host: NodeHost;
  readonly config: FmtpConfig;
  /** The domain this node speaks for. */
  readonly domain: string;
  /** FROM in our HELLOs and REQUESTs: the domain, or the logged-in user on a user's node. */
  readonly identity: string;
  readonly secretKey: Uint8Array;
  /** Every open connection, inbound and outbound, by id. */
  readonly conns: Map<string, Conn>;
  readonly cache: FmtpCache;
  readonly client: FmtpClient;
  readonly server: FmtpServer;
  readonly lookups: FmtpLookups;
  readonly relays: FmtpRelays;
  /** Watches a new connection's machine for its greeting's end and its close. */
  track(conn: Conn): void;
  write(conn: string, frame: Frame): void;
  reject(code: string, reason: string, detail?: unknown): void;
  /** A TRANSACTION never used before, even across a restart (spec.md §3). */
  nextTransaction(): string;
}
