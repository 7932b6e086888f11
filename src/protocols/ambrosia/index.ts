/**
 * The Ambrosia protocol (spec.md): an XMPP gateway that routes through registered IM services, the
 * services, and clients. This descriptor names the config and command schemas (./config.ts) and
 * creates the node for a role: gateway, IM service or client (spec.md §2). Each role is its own
 * class; this module only picks one and must not hold protocol logic of its own.
 */
import type { z } from 'zod';
import type { NodeHost, Protocol, ProtocolNode } from '../protocol.js';
import { ClientNode } from './client.js';
import { commandSchema, configSchema, type AmbrosiaCommand, type AmbrosiaConfig } from './config.js';
import { GatewayNode } from './gateway/index.js';
import { ServiceNode } from './service.js';
import { describe, wireFields } from './wire.js';
import { nameMessage } from './describe.js';
import { definePlugin } from '../plugin.js';
import { ambrosiaInvariants } from './invariants.js';
import { ambrosiaProfile } from './fuzz.js';
import { requirements } from './requirements.js';

export type { AmbrosiaCommand, AmbrosiaConfig, ClientConfig, GatewayConfig, ServiceConfig } from './config.js';

export function createAmbrosiaNode(host: NodeHost, config: AmbrosiaConfig): ProtocolNode {
  switch (config.role) {
    case 'gateway':
      return new GatewayNode(host, config);
    case 'service':
      return new ServiceNode(host, config);
    case 'client':
      return new ClientNode(host, config);
  }
}

export const ambrosia: Protocol<AmbrosiaConfig, AmbrosiaCommand> = {
  name: 'ambrosia',
  configSchema: configSchema as z.ZodType<AmbrosiaConfig>,
  commandSchema: commandSchema as z.ZodType<AmbrosiaCommand>,
  createNode: createAmbrosiaNode,
  describe,
  wireFields,
  nameMessage,
};

// ---------------------------------------------------------------------------------------------------
// The plugin (src/protocols/plugin.ts): how the registry knows this protocol. The conformance suite
// loads on demand, since it imports this module for the built-in node.

export default definePlugin<AmbrosiaConfig, AmbrosiaCommand>({
  protocol: ambrosia,
  invariants: ambrosiaInvariants,
  fuzz: ambrosiaProfile,
  conformance: async () => (await import('./conformance/index.js')).ambrosiaSuite,
  requirements,
});
