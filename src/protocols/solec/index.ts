/** The SOLEC protocol descriptor (spec.md): schemas, node factory, key records, trace decoding. */
import type { DnsRecord, NodeDeclaration, Protocol } from '../protocol.js';
import { commandSchema, configSchema, type SolecCommand, type SolecConfig } from './config.js';
import { serverKeys } from './keys.js';
import { createSolecNode } from './node.js';
import { describe, toHex } from './wire.js';
import { nameMessage } from './describe.js';

/** Where a server's Ed25519 public key is published: TXT `solec-key.<name>` = `ed25519=<hex>` (ours). */
export function keyRecordName(name: string): string {
  return `solec-key.${name}`;
}

function dnsRecords(node: NodeDeclaration<SolecConfig>): DnsRecord[] {
  if (node.config.role !== 'server') return [];
  const { publicKey } = serverKeys(node.seed, node.id);
  return [{ name: keyRecordName(node.id), type: 'TXT', value: `ed25519=${toHex(publicKey)}` }];
}

export const solec: Protocol<SolecConfig, SolecCommand> = {
  name: 'solec',
  configSchema,
  commandSchema,
  createNode: createSolecNode,
  dnsRecords,
  describe,
  nameMessage,
};

export type { SolecCommand, SolecConfig } from './config.js';
