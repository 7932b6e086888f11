/**
 * A Bester node (spec.md): one protocol, four roles chosen by `config.role`. The server and its
 * handlers are separate nodes on the same host that talk over local sockets (`{ path }` endpoints);
 * clients reach the server over TCP, and an informer client asks the server's informer socket.
 * Each role is its own module: ./server.ts, ./handler.ts, ./client.ts, ./informer-client.ts.
 */
import type { NodeHost, ProtocolNode } from '../protocol.js';
import { BesterClientNode } from './client.js';
import type { BesterConfig } from './config.js';
import { BesterHandlerNode } from './handler.js';
import { BesterInformerClientNode } from './informer-client.js';
import { BesterServerNode } from './server.js';

export function createBesterNode(host: NodeHost, config: BesterConfig): ProtocolNode {
  switch (config.role) {
    case 'server':
      return new BesterServerNode(host, config);
    case 'handler':
      return new BesterHandlerNode(host, config);
    case 'client':
      return new BesterClientNode(host, config);
    case 'informerClient':
      return new BesterInformerClientNode(host, config);
  }
}
