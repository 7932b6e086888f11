// Goal: as a TLS client (an outgoing STARTTLS), the real host checks the peer's certificate only when
// `verifyPeer` is on: then a self-signed certificate it was not given as `ca` fails the handshake, and
// the same certificate given as `ca` passes; with `verifyPeer` off (the default) any certificate does.
// Method: two RealHosts on loopback running a two-role test node that upgrades every connection
// (server: a self-signed certificate for b.test; client: connects to b.test by peer name and starts
// TLS); the client node notes the `conn.tls` it gets.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NodeHost, NodeInput, Protocol } from '../../src/protocols/protocol.js';
import { RealHost, type RealHostOptions } from '../../src/real/host.js';
import { selfSignedTls } from '../../src/real/tls.js';
import { within } from '../support/within.js';

interface UpgraderConfig {
  readonly role: 'server' | 'client';
}

const upgrader: Protocol<UpgraderConfig> = {
  name: 'upgrader',
  configSchema: z.strictObject({ role: z.enum(['server', 'client']) }),
  commandSchema: z.unknown(),
  createNode: (host: NodeHost, { role }: UpgraderConfig) => ({
    start: () =>
      role === 'server'
        ? host.emit({ kind: 'listen', endpoint: { host: host.hostName, port: 7 } })
        : host.emit({ kind: 'connect', conn: 'out:1', target: { host: 'b.test', port: 7 } }),
    stop: () => undefined,
    view: () => ({}),
    handle: (input: NodeInput) => {
      if (input.kind === 'conn.accepted') host.emit({ kind: 'tls.start', conn: input.conn, role: 'server' });
      if (input.kind === 'conn.opened') host.emit({ kind: 'tls.start', conn: input.conn, role: 'client' });
      if (input.kind === 'conn.tls' && role === 'client')
        host.emit({ kind: 'note', what: 'tls', detail: { ok: input.ok, reason: input.reason } });
    },
  }),
};

/** Upgrades one connection from a client host with `tls` to a server presenting `cert`; resolves with the client's `conn.tls`. */
async function handshake(
  material: { cert: string; key: string },
  tls: RealHostOptions['tls'],
): Promise<{ ok: boolean; reason?: string }> {
  const server = new RealHost({
    id: 'b.test',
    protocol: upgrader,
    config: { role: 'server' },
    portMap: { 7: 0 },
    seed: 1,
    tls: material,
  });
  let client: RealHost | undefined;
  try {
    const [listening] = await server.start();
    const result = new Promise<{ ok: boolean; reason?: string }>((resolve) => {
      client = new RealHost({
        id: 'a.test',
        protocol: upgrader,
        config: { role: 'client' },
        peers: { 'b.test': `127.0.0.1:${listening!.port}` },
        seed: 1,
        ...(tls === undefined ? {} : { tls }),
        onOutput: (output) => {
          if (output.kind === 'note' && output.what === 'tls')
            resolve(output.detail as { ok: boolean; reason?: string });
        },
      });
    });
    await client!.start();
    return await within(5_000, 'the client to see conn.tls', result);
  } finally {
    await client?.close();
    await server.close();
  }
}

describe('real: TLS client verification (verifyPeer)', () => {
  it('accepts any certificate by default, refuses an untrusted one with verifyPeer, accepts it given as ca', async () => {
    const material = await selfSignedTls(['b.test']);
    expect(await handshake(material, undefined)).toEqual({ ok: true });
    const refused = await handshake(material, { verifyPeer: true });
    expect(refused.ok).toBe(false);
    expect(refused.reason).toMatch(/SELF_SIGNED|self[- ]signed/i);
    expect(await handshake(material, { verifyPeer: true, ca: material.cert })).toEqual({ ok: true });
  });

  it('with verifyPeer, refuses a trusted certificate made for another host name', async () => {
    const other = await selfSignedTls(['c.test']);
    const refused = await handshake(other, { verifyPeer: true, ca: other.cert });
    expect(refused.ok).toBe(false);
    expect(refused.reason).toMatch(/ALTNAME|host ?name|IP/i);
  });
});
