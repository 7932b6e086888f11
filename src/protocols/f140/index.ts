/** The F140 protocol descriptor (spec.md): HTTP REST node with PING / MSG, friends, groups and queues. */
import type { Protocol } from '../protocol.js';
import { commandSchema, configSchema, type F140Command, type F140Config } from './config.js';
import { F140Node } from './node.js';
import { describe, wireFields } from './wire.js';
import { nameMessage } from './describe.js';
import { definePlugin } from '../plugin.js';
import { f140Invariants } from './invariants.js';
import { f140Profile } from './fuzz.js';
import { requirements } from './requirements.js';

export type { F140Command, F140Config } from './config.js';
export { F140Node } from './node.js';

export const f140: Protocol<F140Config, F140Command> = {
  name: 'f140',
  configSchema,
  commandSchema,
  createNode: (host, config) => new F140Node(host, config),
  describe,
  wireFields,
  nameMessage,
};

// ---------------------------------------------------------------------------------------------------
// The plugin (src/protocols/plugin.ts): how the registry knows this protocol. The conformance suite
// loads on demand, since it imports this module for the built-in node.

export default definePlugin<F140Config, F140Command>({
  protocol: f140,
  invariants: f140Invariants,
  fuzz: f140Profile,
  conformance: async () => (await import('./conformance/index.js')).f140Suite,
  requirements,
});
