/**
 * The F140 node (spec.md): one host playing both F140 roles at once. The server (./server.ts) answers
 * PING and MSG for the node's users on `port` (8140 by default); the client (./client.ts) pushes each
 * user's queued messages to friends. It speaks HTTP on raw stream connections (conn.* inputs, write
 * outputs), so the same code runs in the simulator and, bound to node:net, as a server curl can talk to.
 *
 * This module only routes: each input goes to the role that owns its connection (accepted ones are the
 * server's, opened ones the client's), user commands go to the client, and an accepted PING tells the
 * client its friend is present. The two roles share the node's directory and learned addresses.
 *
 * Rule 1: sans-IO. Everything arrives through NodeInput and NodeHost; queues live in host.store.
 * Rule 2: peer input never throws (see each role).
 */
import type { NodeHost, NodeInput, ProtocolNode } from '../protocol.js';
import { F140Client } from './client.js';
import type { F140Config } from './config.js';
import { Directory } from './directory.js';
import { F140Server } from './server.js';
import { LearnedAddresses, SeenIds } from './store.js';

export class F140Node implements ProtocolNode {
  private readonly directory: Directory;
  private readonly client: F140Client;
  private readonly server: F140Server;
  private stopped = false;

  constructor(host: NodeHost, config: F140Config) {
    this.directory = new Directory(config.users);
    const seen = new SeenIds(host.store);
    const addresses = new LearnedAddresses(host.store);
    this.client = new F140Client(host, config, this.directory, addresses);
    const bound = config.profile === 'bound' ? { nonces: new SeenIds(host.store, 'nonce') } : undefined;
    this.server = new F140Server(
      host,
      config,
      { directory: this.directory, addresses, seen, ...(bound ? { bound } : {}) },
      (user) => this.client.pinged(user),
    );
  }

  start(): void {
    this.server.start();
    this.client.start();
  }

  stop(): void {
    this.stopped = true;
    this.client.stop();
    this.server.stop();
  }

  handle(input: NodeInput): void {
    if (this.stopped) return;
    switch (input.kind) {
      case 'command':
        return this.client.command(input.command);
      case 'conn.accepted':
        return this.server.accept(input.conn);
      case 'conn.data':
        if (this.server.has(input.conn)) return this.server.data(input.conn, input.bytes);
        return this.client.data(input.conn, input.bytes);
      case 'conn.opened':
        return this.client.opened(input.conn);
      case 'conn.failed':
        return this.client.failed(input.conn, input.reason);
      case 'conn.closed':
        if (this.server.has(input.conn)) return this.server.closed(input.conn);
        return this.client.closed(input.conn);
      case 'datagram':
      case 'dns.answer':
        return;
    }
  }

  view(): unknown {
    return { users: this.directory.view(), peers: this.client.view(), sessions: this.server.sessionCount };
  }
}
