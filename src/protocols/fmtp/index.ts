/**
 * The FMTP protocol descriptor: config and command schemas (the scenario vocabulary, spec.md §10),
 * node creation, the DNS records each node publishes (its Ed25519 key at `fmtpkey.<domain>`),
 * and trace decoding. Derives keys from the run's seed exactly as the node does.
 */
import type { z } from 'zod';
import type { DnsRecord, Protocol } from '../protocol.js';
import { formatKeyRecord, keyRecordName, publicKeyOf, secretKeyFor } from './keys.js';
import { commandSchema, configSchema, type FmtpCommand, type FmtpConfig } from './config.js';
import { FmtpNode } from './node.js';
import { describe, wireFields } from './wire.js';
import { nameMessage } from './describe.js';
import { definePlugin } from '../plugin.js';
import { fmtpInvariants } from './invariants.js';
import { fmtpProfile } from './fuzz.js';
import { requirements } from './requirements.js';

/**
 * The node's key at `fmtpkey.<domain>`, from the same stream the node draws its secret from. The
 * record's value is made when first read (`sim/dns.ts` reads it when a query does): the public key
 * is derived then, if a node that signs has not derived it already (FMTP fuzz cases derived 2.5
 * keys each, of which 1.7 were used). The same text whenever it is read: a function of the secret.
 */
export function dnsRecords(node: { id: string; hostName: string; config: FmtpConfig; seed: number }): DnsRecord[] {
  if (!node.config.publishKey) return [];
  // The config's schema admits 64 hex digits only, so deriving later cannot fail where now would not.
  const secret = node.config.secretKeyHex
    ? Uint8Array.from(node.config.secretKeyHex.match(/../g) ?? [], (hex) => parseInt(hex, 16))
    : secretKeyFor(node.seed, node.id);
  const domainName = node.config.domain ?? node.hostName;
  return [
    {
      name: keyRecordName(domainName),
      type: 'TXT',
      get value() {
        return formatKeyRecord(publicKeyOf(secret));
      },
    },
  ];
}

export const fmtp: Protocol<FmtpConfig, FmtpCommand> = {
  name: 'fmtp',
  configSchema: configSchema as unknown as z.ZodType<FmtpConfig>,
  commandSchema: commandSchema as z.ZodType<FmtpCommand>,
  createNode: (host, config) => new FmtpNode(host, config),
  dnsRecords,
  describe,
  wireFields,
  nameMessage,
};

export { FmtpNode } from './node.js';
export { commandSchema, configSchema, fmtpConfig, fmtpPortDefault, hopsMax } from './config.js';
export type { FmtpCommand, FmtpConfig, FmtpRouteConfig, FmtpUserConfig } from './config.js';

// ---------------------------------------------------------------------------------------------------
// The plugin (src/protocols/plugin.ts): how the registry knows this protocol. The conformance suite
// loads on demand, since it imports this module for the built-in node.

export default definePlugin<FmtpConfig, FmtpCommand>({
  protocol: fmtp,
  invariants: fmtpInvariants,
  fuzz: fmtpProfile,
  conformance: async () => (await import('./conformance/index.js')).fmtpSuite,
  requirements,
});
