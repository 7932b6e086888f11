/**
 * The Bester protocol descriptor (see ./spec.md): one protocol whose nodes are a server, a handler
 * process, a client or an informer client, chosen by `config.role` (./node.ts). The scenario
 * vocabulary, config and commands, is in ./config.ts (spec.md §9). Nothing here does I/O.
 */
import type { z } from 'zod';
import type { Protocol } from '../protocol.js';
import { commandSchema, configSchema, type BesterCommand, type BesterConfig } from './config.js';
import { createBesterNode } from './node.js';
import { describe, wireFields } from './wire.js';
import { nameMessage } from './describe.js';
import { definePlugin } from '../plugin.js';
import { besterInvariants } from './invariants.js';
import { besterProfile } from './fuzz.js';
import { requirements } from './requirements.js';

export const bester: Protocol<BesterConfig, BesterCommand> = {
  name: 'bester',
  configSchema: configSchema as z.ZodType<BesterConfig>,
  commandSchema: commandSchema as z.ZodType<BesterCommand>,
  createNode: (host, config) => createBesterNode(host, config),
  describe,
  wireFields,
  nameMessage,
};

export { commandSchema, configSchema } from './config.js';
export type {
  BesterCommand,
  BesterConfig,
  ClientConfig,
  HandlerConfig,
  HandlerRule,
  InformerClientConfig,
  Profile,
  ServerConfig,
} from './config.js';

// ---------------------------------------------------------------------------------------------------
// The plugin (src/protocols/plugin.ts): how the registry knows this protocol. The conformance suite
// loads on demand, since it imports this module for the built-in node.

export default definePlugin<BesterConfig, BesterCommand>({
  protocol: bester,
  invariants: besterInvariants,
  fuzz: besterProfile,
  conformance: async () => (await import('./conformance/index.js')).besterSuite,
  requirements,
});
