// Goal: the real host runs the same node code as the simulator on real loopback sockets: listeners,
// outbound connections by mapped peer name, data both ways, timers on the wall clock, and bad peer
// input that never takes the node down.
// Method: echo nodes in RealHosts on 127.0.0.1 with free ports, driven by a raw node:net client and
// by each other; every wait is on an event with an explicit timeout.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { echo } from '../../src/protocols/echo/index.js';
import type { NodeOutput } from '../../src/protocols/protocol.js';
import { RealHost } from '../../src/real/host.js';
import { within } from '../support/within.js';

const config = { port: 7, idleMs: 5_000, retryMs: 50, attemptsMax: 3 };
const hosts: RealHost[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(hosts.splice(0).map((host) => host.close()));
});

function startEcho(id: string, extra: Partial<ConstructorParameters<typeof RealHost>[0]> = {}): RealHost {
  const host = new RealHost({ id, protocol: echo, config, portMap: { 7: 0 }, seed: 1, ...extra });
  hosts.push(host);
  return host;
}

/** Sends `text` on a fresh socket and resolves with everything read until `until` matches. */
function exchange(port: number, text: string | Uint8Array, until: RegExp): Promise<string> {
  return within(
    5_000,
    `reply matching ${until}`,
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(text));
      sockets.push(socket);
      let got = '';
      socket.on('data', (chunk) => {
        got += chunk.toString('utf8');
        if (until.test(got)) resolve(got);
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(got));
    }),
  );
}

describe('real: host (echo on loopback)', () => {
  it('serves a raw TCP client: ECHO lines get REPLY lines, split across writes', async () => {
    const server = startEcho('b.test');
    const [listening] = await server.start();
    expect(listening?.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const reply = await exchange(listening!.port!, 'ECHO one\nECHO two\n', /REPLY two\n/);
    expect(reply).toBe('REPLY one\nREPLY two\n');
  });

  it('closes a connection on bad bytes and keeps serving new ones', async () => {
    const server = startEcho('b.test');
    const [listening] = await server.start();
    const port = listening!.port!;
    expect(await exchange(port, new Uint8Array([0xff, 0xfe, 0x0a]), /$^/)).toBe('');
    expect(await exchange(port, 'ECHO still here\n', /\n/)).toBe('REPLY still here\n');
    const rejects = server.trace.events.filter((event) => event.kind === 'reject');
    expect(rejects).toHaveLength(1);
    expect(server.trace.events.some((event) => event.kind === 'check')).toBe(false);
  });

  it('connects one node to another by peer name and delivers the reply', async () => {
    const server = startEcho('b.test');
    const [listening] = await server.start();
    const delivered = new Promise<NodeOutput>((resolve) => {
      const client = startEcho('a.test', {
        peers: { 'b.test': `127.0.0.1:${listening!.port}` },
        onOutput: (output) => output.kind === 'deliver' && resolve(output),
      });
      void client.start().then(() => client.command({ type: 'send', to: 'b.test', body: 'over the wire' }));
    });
    expect(await within(5_000, 'delivery', delivered)).toEqual({
      kind: 'deliver',
      user: 'user@a.test',
      from: 'b.test',
      body: 'over the wire',
    });
  });

  it('retries a refused connect on wall-clock timers, then gives up with a reject', async () => {
    const rejected = new Promise<NodeOutput>((resolve) => {
      const client = startEcho('a.test', {
        peers: { 'b.test': '127.0.0.1:1' },
        onOutput: (output) => output.kind === 'reject' && resolve(output),
      });
      void client.start().then(() => client.command({ type: 'send', to: 'b.test', body: 'nobody home' }));
    });
    expect(await within(5_000, 'reject after retries', rejected)).toMatchObject({ code: 'echo.unreachable' });
    const refusals = hosts[0]!.trace.events.filter((event) => event.kind === 'conn.refuse');
    expect(refusals).toHaveLength(3);
  });
});
