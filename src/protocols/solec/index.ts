/** The SOLEC protocol descriptor (spec.md): schemas, node factory, key records, trace decoding. */
import type { DnsRecord, NodeDeclaration, NodeHost, Protocol, ProtocolNode } from '../protocol.js';
import { commandSchema, configSchema, type SolecCommand, type SolecConfig } from './config.js';
import { serverKeys } from './keys.js';
import { SolecClientNode } from './client.js';
import { SolecServerNode } from './server.js';
import { describe, toHex, wireFields } from './wire.js';
import { nameMessage } from './describe.js';
import { definePlugin } from '../plugin.js';
import { solecInvariants } from './invariants.js';
import { solecProfile } from './fuzz.js';
import { requirements } from './requirements.js';

/** Where a server's Ed25519 public key is published: TXT `solec-key.<name>` = `ed25519=<hex>` (ours). */
export function keyRecordName(name: string): string {
  return `solec-key.${name}`;
}

/** The record's value is made when first read: the key is derived then (keys.ts, `DerivedKeys`). */
function dnsRecords(node: NodeDeclaration<SolecConfig>): DnsRecord[] {
  if (node.config.role !== 'server') return [];
  const keys = serverKeys(node.seed, node.id);
  return [
    {
      name: keyRecordName(node.id),
      type: 'TXT',
      get value() {
        return `ed25519=${toHex(keys.publicKey)}`;
      },
    },
  ];
}

/** A node of the role its config names: a server (`server.ts`) or one user's client (`client.ts`). */
export function createSolecNode(host: NodeHost, config: SolecConfig): ProtocolNode {
  return config.role === 'server' ? new SolecServerNode(host, config) : new SolecClientNode(host, config);
}

export const solec: Protocol<SolecConfig, SolecCommand> = {
  name: 'solec',
  configSchema,
  commandSchema,
  createNode: createSolecNode,
  dnsRecords,
  describe,
  wireFields,
  nameMessage,
};

export type { SolecCommand, SolecConfig } from './config.js';
export { SolecClientNode } from './client.js';
export { SolecServerNode } from './server.js';

// ---------------------------------------------------------------------------------------------------
// The plugin (src/protocols/plugin.ts): how the registry knows this protocol. The conformance suite
// loads on demand, since it imports this module for the built-in node.

export default definePlugin<SolecConfig, SolecCommand>({
  protocol: solec,
  invariants: solecInvariants,
  fuzz: solecProfile,
  conformance: async () => (await import('./conformance/index.js')).solecSuite,
  requirements,
});
