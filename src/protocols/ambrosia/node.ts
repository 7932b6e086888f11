/**
 * Creates the Ambrosia node for a role: gateway, IM service or client (spec.md §2). Each role is
 * its own class; this module only picks one. Must not hold protocol logic of its own.
 */
import type { NodeHost, ProtocolNode } from '../protocol.js';
import { ClientNode, type ClientCommand, type ClientConfig } from './client.js';
import { GatewayNode, type GatewayConfig } from './gateway.js';
import { ServiceNode, type ServiceCommand, type ServiceConfig } from './service.js';

export type AmbrosiaConfig = GatewayConfig | ServiceConfig | ClientConfig;
export type AmbrosiaCommand = ClientCommand | ServiceCommand;

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
