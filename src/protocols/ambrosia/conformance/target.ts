/**
 * The Ambrosia gateway as the testbed's own conformance target: the built-in node, reachable on one port.
 *
 * The Peer API (peer.ts) connects to one port of a target, but the gateway listens on three (c2s, s2s,
 * service; spec.md §3). This wrapper listens on the c2s port only and hands each accepted connection to
 * the gateway as accepted on the port its first stream header asks for, by the header's default
 * namespace (`jabber:client` c2s, `jabber:server` s2s, the service namespace service). Every byte
 * reaches the gateway unchanged; anything that is not a stream header it can read goes to c2s, which
 * is what a client reaching port 5222 gets. On a RealHost it keeps the two other ports from binding
 * fixed real ports, so that several test runs on one machine never collide.
 *
 * It also publishes the fixture's DNS zone (docs/conformance.md): `peer.test` has an A record, and
 * `far.test` an MX to `peer.test` (preference 10, below an unreachable one at 20).
 *
 * Must not: change, drop or reorder a byte the peer or the gateway sends, or read a clock.
 */
import { ambrosia } from '../index.js';
import type { AmbrosiaCommand, AmbrosiaConfig } from '../config.js';
import { ns } from '../wire.js';
import type { NodeHost, NodeInput, Protocol, ProtocolNode } from '../../protocol.js';
import { concatBytes } from '../../../core/bytes.js';

/** Bytes held while waiting for a stream header: far above any header, then the connection is c2s. */
const sniffBytesMax = 4096;

const streamTag = '<stream:stream';
const xmlDecl = '<?xml';

/** The port a connection's first bytes ask for; undefined while they could still be the start of a header. */
export function portOfHeader(
  bytes: Uint8Array,
  ports: { readonly c2s: number; readonly s2s: number; readonly service: number },
): number | undefined {
  const text = new TextDecoder('latin1').decode(bytes);
  let rest = text.trimStart();
  if (rest.startsWith(xmlDecl)) {
    const end = rest.indexOf('?>');
    if (end < 0) return bytes.length > sniffBytesMax ? ports.c2s : undefined;
    rest = rest.slice(end + 2).trimStart();
  } else if (xmlDecl.startsWith(rest)) {
    return undefined;
  }
  const head = rest.slice(0, streamTag.length);
  if (!streamTag.startsWith(head)) return ports.c2s;
  const close = rest.indexOf('>');
  if (head.length < streamTag.length || close < 0) return bytes.length > sniffBytesMax ? ports.c2s : undefined;
  const xmlns = /\sxmlns\s*=\s*(['"])(.*?)\1/.exec(rest.slice(0, close))?.[2];
  if (xmlns === ns.server) return ports.s2s;
  if (xmlns === ns.service) return ports.service;
  return ports.c2s;
}

interface Held {
  readonly accepted: Extract<NodeInput, { kind: 'conn.accepted' }>;
  bytes: Uint8Array;
}

function muxNode(host: NodeHost, config: AmbrosiaConfig): ProtocolNode {
  if (config.role !== 'gateway') return ambrosia.createNode(host, config);
  const ports = config.ports;
  const held = new Map<string, Held>();
  const inner = ambrosia.createNode(
    {
      id: host.id,
      hostName: host.hostName,
      now: () => host.now(),
      get clock() {
        return host.clock;
      },
      get engine() {
        return host.engine;
      },
      get random() {
        return host.random;
      },
      get store() {
        return host.store;
      },
      // The s2s and service listeners are reached through the c2s one (above).
      emit: (output) => {
        const port = output.kind === 'listen' && 'port' in output.endpoint ? output.endpoint.port : undefined;
        if (port !== undefined && port !== ports.c2s) return;
        host.emit(output);
      },
      bufferedBytes: (conn) => host.bufferedBytes(conn),
      get writeHighWaterBytes() {
        return host.writeHighWaterBytes;
      },
      stateChanged: (machine, value) => host.stateChanged(machine, value),
    },
    config,
  );
  const release = (conn: string, port: number) => {
    const entry = held.get(conn);
    if (!entry) return;
    held.delete(conn);
    inner.handle({ ...entry.accepted, local: { ...entry.accepted.local, port } });
    if (entry.bytes.length > 0) inner.handle({ kind: 'conn.data', conn, bytes: entry.bytes });
  };
  return {
    start: () => inner.start(),
    stop: () => inner.stop(),
    view: () => inner.view(),
    handle: (input) => {
      if (input.kind === 'conn.accepted' && 'port' in input.local && input.local.port === ports.c2s) {
        held.set(input.conn, { accepted: input, bytes: new Uint8Array(0) });
        return;
      }
      if (input.kind !== 'conn.data' && input.kind !== 'conn.closed') return inner.handle(input);
      const entry = held.get(input.conn);
      if (!entry) return inner.handle(input);
      if (input.kind === 'conn.data') {
        entry.bytes = concatBytes(entry.bytes, input.bytes);
        const port = portOfHeader(entry.bytes, ports);
        if (port !== undefined) release(input.conn, port);
        return;
      }
      release(input.conn, ports.c2s);
      inner.handle(input);
    },
  };
}

/** The built-in gateway behind the one-port wrapper, with the fixture's DNS zone. */
export const ambrosiaTarget: Protocol<AmbrosiaConfig, AmbrosiaCommand> = {
  ...ambrosia,
  createNode: muxNode,
  dnsRecords: () => [
    { name: 'peer.test', type: 'A', value: 'peer.test' },
    { name: 'far.test', type: 'MX', value: '20 nowhere.test' },
    { name: 'far.test', type: 'MX', value: '10 peer.test' },
  ],
};
