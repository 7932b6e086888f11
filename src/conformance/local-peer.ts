/**
 * Local sockets for a conformance peer: listening on and connecting to `{ path }` endpoints on the
 * target's own host, for protocols whose node under test talks to local processes (Bester's handlers
 * and informer, spec.md §4 and §6). The peer then plays such a process, next to the target.
 *
 * In the simulator a small scripted node joins the case's World on the target's host; on a RealHost
 * target the peer binds and dials the same socket files the RealHost uses (its default socketDir).
 * An external server's host is out of reach: `openLocal` gives undefined and the case is UNIMPLEMENTED.
 *
 * Must not: read a clock or start a timer (every wait goes through the Peer, which owns time), or leave
 * a socket file or listener behind `close()`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Endpoint, Protocol } from '../protocols/protocol.js';
import {
  BufferingNode,
  ReadBuffer,
  SimPeer,
  bufferConn,
  logEvent,
  type Conn,
  type Listener,
  type Peer,
  type WaitOptions,
} from './peer.js';
import { SocketPeer, dialState, socketConn, wireSocket } from './socket-peer.js';
import type { Suite } from './types.js';

/** Where a RealHost puts a node's socket paths when it is given no socketDir (src/real/host.ts). */
export const realSocketDir = '/tmp/fedsim-sockets';

/** Local sockets on the target's host, for one case. */
export interface LocalAccess {
  /** Listens on `path` on the target's host, as a local process there would. */
  listen(path: string): Promise<Listener>;
  /** Connects to `path` on the target's host; undefined if refused or timed out. */
  connect(path: string, options: WaitOptions): Promise<Conn | undefined>;
  /** Closes every local socket and listener opened for the case. */
  close(): Promise<void>;
}

/**
 * Local access for a case's peer: the sim and RealHost targets have it, an external server does not.
 * @example
 * const local = openLocal(peer, suite);
 * if (!local) unimplemented('needs the target host’s local sockets');
 */
export function openLocal(peer: Peer, suite: Suite<Peer>): LocalAccess | undefined {
  if (peer instanceof SimPeer) return new SimLocal(peer, suite);
  if (peer instanceof SocketPeer && peer.control) return new SocketLocal(peer, suite);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// The simulator: a scripted node on the target's host.

type LocalCommand =
  | { readonly op: 'listen'; readonly path: string }
  | { readonly op: 'connect'; readonly conn: string; readonly path: string }
  | { readonly op: 'write'; readonly conn: string; readonly size: number; readonly decoded: string }
  | { readonly op: 'close'; readonly conn: string };

class LocalNode extends BufferingNode<string, LocalCommand> {
  protected acceptKey(local: Endpoint): string {
    return 'path' in local ? local.path : '';
  }

  protected command(command: LocalCommand): void {
    switch (command.op) {
      case 'listen':
        this.host.emit({ kind: 'listen', endpoint: { path: command.path } });
        return;
      case 'connect':
        this.connectTo(command.conn, { path: command.path });
        return;
      case 'write':
        this.writeStaged(command.conn, command.decoded);
        return;
      case 'close':
        this.host.emit({ kind: 'close', conn: command.conn });
        return;
    }
  }
}

class SimLocal implements LocalAccess {
  private readonly node: LocalNode;
  private readonly id: string;
  private nextConn = 1;
  private nextListener = 1;

  constructor(
    private readonly peer: SimPeer,
    private readonly suite: Suite<Peer>,
  ) {
    this.id = `${suite.target.id}/local`;
    let created: LocalNode | undefined;
    const protocol: Protocol<unknown, unknown> = {
      name: 'conformance-local',
      configSchema: z.unknown(),
      commandSchema: z.unknown(),
      createNode: (host) => (created = new LocalNode(host)),
    };
    peer.world.addNode({ id: this.id, host: suite.target.id, protocol, config: {} });
    // A node added after the World started boots like a restarted one.
    peer.world.restart(this.id);
    if (!created) throw new Error('conformance: the local node did not start');
    this.node = created;
  }

  private command(command: LocalCommand): void {
    this.peer.world.command(this.id, command);
  }

  private conn(connId: string, label: string): Conn {
    const buffer = this.node.buffers.get(connId) ?? new ReadBuffer();
    return bufferConn(
      this.peer,
      this.peer.log,
      this.suite.builtin,
      label,
      buffer,
      (bytes, text) => {
        this.node.stage(bytes);
        this.command({ op: 'write', conn: connId, size: bytes.length, decoded: text });
      },
      () => this.command({ op: 'close', conn: connId }),
      // Local sockets between a node and its own host carry no TLS.
      () => {
        buffer.tls = 'failed';
      },
    );
  }

  listen(path: string): Promise<Listener> {
    const name = `u${this.nextListener++}`;
    this.command({ op: 'listen', path });
    logEvent(this.peer.log, this.peer.nowMs(), name, `listening on ${path}`);
    let accepted = 0;
    return Promise.resolve({
      address: path,
      accept: async (options) => {
        const ready = await this.peer.waitUntil(() => (this.node.accepted.get(path)?.length ?? 0) > 0, options);
        const connId = ready ? this.node.accepted.get(path)?.shift() : undefined;
        if (connId === undefined) return undefined;
        const label = `${name}/a${++accepted}`;
        logEvent(this.peer.log, this.peer.nowMs(), label, `the target connected to ${path}`);
        return this.conn(connId, label);
      },
      close: () => Promise.resolve(),
    });
  }

  async connect(path: string, options: WaitOptions): Promise<Conn | undefined> {
    const connId = `u-c${this.nextConn++}`;
    this.command({ op: 'connect', conn: connId, path });
    const done = await this.peer.waitUntil(() => this.node.opened.has(connId) || this.node.failed.has(connId), options);
    const ok = done && this.node.opened.has(connId);
    logEvent(this.peer.log, this.peer.nowMs(), connId, ok ? `connected to ${path}` : `connect to ${path} failed`);
    return ok ? this.conn(connId, connId) : undefined;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

// ---------------------------------------------------------------------------------------------------
// A RealHost target: the socket files of its default socketDir.

class SocketLocal implements LocalAccess {
  private readonly sockets = new Set<Socket>();
  private readonly servers = new Map<Server, string>();
  private nextConn = 1;
  private nextListener = 1;

  constructor(
    private readonly peer: SocketPeer,
    private readonly suite: Suite<Peer>,
  ) {}

  private file(path: string): string {
    return `${realSocketDir}/${path.replace(/^\/+/, '')}`;
  }

  private wire(socket: Socket): ReadBuffer {
    return wireSocket(socket, this.sockets);
  }

  private conn(label: string, socket: Socket, buffer: ReadBuffer): Conn {
    return socketConn(this.peer, this.peer.log, this.suite.builtin, label, socket, buffer);
  }

  listen(path: string): Promise<Listener> {
    const name = `u${this.nextListener++}`;
    const file = this.file(path);
    const waiting: { socket: Socket; buffer: ReadBuffer }[] = [];
    const server = createServer((socket) => waiting.push({ socket, buffer: this.wire(socket) }));
    this.servers.set(server, file);
    mkdirSync(dirname(file), { recursive: true });
    rmSync(file, { force: true });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => {
        logEvent(this.peer.log, this.peer.nowMs(), name, `listening on ${path}`);
        let accepted = 0;
        resolve({
          address: path,
          accept: async (options) => {
            const ready = await this.peer.waitUntil(() => waiting.length > 0, options);
            const next = ready ? waiting.shift() : undefined;
            if (!next) return undefined;
            const label = `${name}/a${++accepted}`;
            logEvent(this.peer.log, this.peer.nowMs(), label, `the target connected to ${path}`);
            return this.conn(label, next.socket, next.buffer);
          },
          close: () => this.closeServer(server),
        });
      });
    });
  }

  async connect(path: string, options: WaitOptions): Promise<Conn | undefined> {
    const label = `u-c${this.nextConn++}`;
    const socket = netConnect(this.file(path));
    const buffer = this.wire(socket);
    const state = dialState(socket);
    const done = await this.peer.waitUntil(() => state() !== 'pending', options);
    const ok = done && state() === 'open';
    logEvent(this.peer.log, this.peer.nowMs(), label, ok ? `connected to ${path}` : `connect to ${path} failed`);
    if (!ok) {
      socket.destroy();
      return undefined;
    }
    return this.conn(label, socket, buffer);
  }

  private closeServer(server: Server): Promise<void> {
    const file = this.servers.get(server);
    this.servers.delete(server);
    return new Promise((resolve) =>
      server.close(() => {
        if (file !== undefined) rmSync(file, { force: true });
        resolve();
      }),
    );
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([...this.servers.keys()].map((server) => this.closeServer(server)));
  }
}
