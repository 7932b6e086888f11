// Goal: the Ambrosia gateway the simulator runs is a real XMPP server for a client library nobody
// here wrote: @xmpp/client logs in over TCP (stream features, SASL SCRAM with the library's default
// options, or PLAIN where the gateway allows it, stream restart, resource
// binding), sends a chat message and the addressee's @xmpp/client receives it, both through a local
// IM service (seed steps 2-6) and to a second domain's gateway over real s2s (seed step 7); and
// `fedsim serve ambrosia --config <file>` in a child process serves the same login.
// Method: gateways and the IM service run in RealHosts on 127.0.0.1 with free ports; the service
// and the s2s link find their peers through `peers` and the host's static DNS zone. Most clients
// use @xmpp/client's default options (it picks SCRAM-SHA-1, the gateway's only offer without TLS
// besides SCRAM-SHA-256). One test configures `plainWithoutTls` and picks PLAIN through the library's
// documented `credentials` function (@xmpp/sasl README: "Using a SASL mechanism with specific
// requirements"), since the library uses PLAIN only on a secure connection. With `tls: optional`,
// the served gateway offers STARTTLS with a self-signed certificate made at start: @xmpp/client,
// still with default options, upgrades the stream; it trusts the certificate only as a user would
// make it, through NODE_EXTRA_CA_CERTS in its own process (test/protocols/ambrosia/fixtures/
// xmpp-tls-chat.mjs), and without that it refuses the certificate. Every wait is on an event with
// an explicit timeout (no sleeps), and every client, host, socket and child is closed in afterEach.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, xml, type Element, type XmppClient } from '@xmpp/client';
import { afterEach, describe, expect, it } from 'vitest';
import { ambrosia } from '../../../src/protocols/ambrosia/index.js';
import { ports } from '../../../src/protocols/ambrosia/config.js';
import type { DnsRecord, NodeOutput } from '../../../src/protocols/protocol.js';
import { RealHost } from '../../../src/real/host.js';
import { selfSignedTls } from '../../../src/real/tls.js';
import { freePort } from '../../support/prosody.js';
import { within } from '../../support/within.js';

/** Per operation: generous for a slow machine, short enough that a hang fails fast. */
const stepMs = 5_000;
/** The child process may build the CLI first (bin/build.mjs), then loads it. */
const childStartMs = 30_000;

const accounts = [
  { jid: 'alice@a.test', password: 'alice-secret' },
  { jid: 'bob@a.test', password: 'bob-secret' },
];

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Items that arrive over time, and waits for the first one that matches. */
class Log<T> {
  readonly items: T[] = [];
  private readonly waiters: (() => void)[] = [];

  push(item: T): void {
    this.items.push(item);
    for (const waiter of [...this.waiters]) waiter();
  }

  waitFor(what: string, matches: (item: T) => boolean): Promise<T> {
    return within(
      stepMs,
      what,
      new Promise<T>((resolve) => {
        const check = (): boolean => {
          const found = this.items.find(matches);
          if (found === undefined) return false;
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(found);
          return true;
        };
        const waiter = (): void => void check();
        this.waiters.push(waiter);
        check();
      }),
    );
  }
}

interface Started {
  readonly host: RealHost;
  readonly outputs: Log<NodeOutput>;
  /** Node port -> real port. */
  readonly port: (nodePort: number) => number;
}

async function startHost(
  id: string,
  config: unknown,
  extra: {
    peers?: Record<string, string>;
    dns?: DnsRecord[];
    tls?: { cert: string; key: string };
    portMap?: Record<number, number>;
  } = {},
): Promise<Started> {
  const outputs = new Log<NodeOutput>();
  const host = new RealHost({
    trace: 'memory',
    id,
    protocol: ambrosia,
    config: ambrosia.configSchema.parse(config),
    portMap: { [ports.c2s]: 0, [ports.s2s]: 0, [ports.service]: 0 },
    seed: 7,
    onOutput: (output) => outputs.push(output),
    ...extra,
  });
  cleanups.push(() => host.close());
  const listening = await within(stepMs, `${id} start`, host.start());
  const port = (nodePort: number): number => {
    const found = listening.find((l) => 'port' in l.endpoint && l.endpoint.port === nodePort)?.port;
    if (found === undefined) throw new Error(`${id} does not listen on ${nodePort}`);
    return found;
  };
  return { host, outputs, port };
}

interface Session {
  readonly xmpp: XmppClient;
  readonly jid: string;
  readonly stanzas: Log<Element>;
}

/**
 * Logs in with @xmpp/client over plain TCP: with its default options (username and password, the
 * library picks the mechanism), or forcing SASL PLAIN through `credentials`.
 */
async function login(
  port: number,
  domain: string,
  username: string,
  password: string,
  mode: 'default' | 'plain' = 'default',
): Promise<Session> {
  const stanzas = new Log<Element>();
  const offered: string[] = [];
  const common = { service: `xmpp://127.0.0.1:${port}`, domain, resource: 'laptop', timeout: stepMs };
  const xmpp =
    mode === 'default'
      ? client({ ...common, username, password })
      : client({
          ...common,
          credentials: async (authenticate, mechanisms) => {
            offered.push(...mechanisms);
            await authenticate({ username, password }, 'PLAIN');
          },
        });
  const used: string[] = [];
  xmpp.on('send', (element: Element) => {
    if (element.is('auth')) used.push(String(element.attrs.mechanism));
  });
  const errors: Error[] = [];
  xmpp.on('error', (error) => errors.push(error));
  xmpp.on('stanza', (stanza) => stanzas.push(stanza));
  cleanups.push(async () => {
    xmpp.reconnect.stop();
    if (xmpp.status !== 'offline') await within(stepMs, `${username} stop`, xmpp.stop()).catch(() => undefined);
  });
  const jid = await within(stepMs, `${username}@${domain} online`, xmpp.start());
  expect(xmpp.isSecure()).toBe(false);
  if (mode === 'plain') {
    // The library's own default would refuse PLAIN here: the connection is not TLS.
    expect(offered).toContain('PLAIN');
    expect(used).toEqual(['PLAIN']);
  } else {
    // Default options: the library chose SCRAM from the gateway's offer (RFC 5802).
    expect(used).toEqual(['SCRAM-SHA-1']);
  }
  expect(errors).toEqual([]);
  return { xmpp, jid: jid.toString(), stanzas };
}

function chat(to: string, id: string, body: string): Element {
  return xml('message', { type: 'chat', to, id }, xml('body', {}, body));
}

function isMessageWithBody(body: string): (stanza: Element) => boolean {
  return (stanza) => stanza.is('message') && stanza.getChildText('body') === body;
}

/** Reads `listening on` lines from a child until `count` ports are printed. */
function listeningPorts(child: ChildProcess, count: number): Promise<number[]> {
  let output = '';
  return within(
    childStartMs,
    `${count} \`listening on\` lines`,
    new Promise<number[]>((resolve, reject) => {
      const read = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        const found = [...output.matchAll(/listening on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
        if (found.length >= count) resolve(found);
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening:\n${output}`)));
    }),
  );
}

/**
 * True when `port` answers a c2s stream header with SASL features. `serve` prints its listeners
 * without the node port they stand for, so the test asks each one instead of trusting the order.
 */
function isC2sPort(port: number, domain: string): Promise<boolean> {
  return within(
    stepMs,
    `probe of 127.0.0.1:${port}`,
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(
          `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
            `xmlns:stream='http://etherx.jabber.org/streams' to='${domain}' version='1.0'>`,
        ),
      );
      cleanups.push(() => {
        socket.destroy();
      });
      let got = '';
      const done = (): void => {
        socket.destroy();
        resolve(got.includes('urn:ietf:params:xml:ns:xmpp-sasl'));
      };
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString('utf8');
        if (got.includes('</stream:features>') || got.includes('</stream:stream>')) done();
      });
      socket.on('error', done);
      socket.on('close', done);
    }),
  );
}

describe('ambrosia: real gateway with @xmpp/client (loopback)', () => {
  it('two @xmpp/client users on a.test chat through the IM service (RFC 6120 §4-§7, seed steps 2-6)', async () => {
    // This one logs in with PLAIN, which the gateway offers on an unencrypted stream only when told to.
    const gateway = await startHost('a.test', { role: 'gateway', accounts, plainWithoutTls: true });
    const service = await startHost(
      'im.a.test',
      {
        role: 'service',
        name: 'im.a.test',
        gateways: [{ host: 'a.test', port: ports.service }],
        registrations: [
          { domain: 'a.test', type: 'client' },
          { domain: 'a.test', type: 'server' },
        ],
      },
      { peers: { [`a.test:${ports.service}`]: `127.0.0.1:${gateway.port(ports.service)}` } },
    );
    await gateway.outputs.waitFor(
      'the service registers a.test for clients',
      (o) => o.kind === 'note' && o.what === 'ambrosia.registered' && JSON.stringify(o.detail).includes('"client"'),
    );

    const alice = await login(gateway.port(ports.c2s), 'a.test', 'alice', 'alice-secret', 'plain');
    const bob = await login(gateway.port(ports.c2s), 'a.test', 'bob', 'bob-secret', 'plain');
    expect(alice.jid).toBe('alice@a.test/laptop');
    expect(bob.jid).toBe('bob@a.test/laptop');

    await alice.xmpp.send(chat('bob@a.test', 'm1', 'hello bob'));
    const received = await bob.stanzas.waitFor('bob receives the message', isMessageWithBody('hello bob'));
    expect(received.attrs).toMatchObject({ from: 'alice@a.test/laptop', to: 'bob@a.test', type: 'chat', id: 'm1' });

    // The stanza went through the service (seed steps 5-6), not around it.
    const processed = service.host.view() as { processed: { id: string }[] };
    expect(processed.processed.map((p) => p.id)).toContain('m1');
    expect(gateway.outputs.items.filter((o) => o.kind === 'reject')).toEqual([]);
    for (const side of [gateway, service]) expect(side.host.trace.events.filter((e) => e.kind === 'check')).toEqual([]);
  });

  it('alice@a.test reaches carol@c.test on a second gateway over real s2s with dialback (seed step 7, DNS A record)', async () => {
    // c.test verifies a.test's dialback key with a.test itself (XEP-0220), so each finds the other.
    const aS2s = await freePort();
    const remote = await startHost(
      'c.test',
      { role: 'gateway', accounts: [{ jid: 'carol@c.test', password: 'carol-secret' }] },
      {
        dns: [{ name: 'a.test', type: 'A', value: '127.0.0.1' }],
        peers: { [`a.test:${ports.s2s}`]: `127.0.0.1:${aS2s}` },
      },
    );
    const gateway = await startHost(
      'a.test',
      { role: 'gateway', accounts },
      {
        dns: [{ name: 'c.test', type: 'A', value: '127.0.0.1' }],
        peers: { [`c.test:${ports.s2s}`]: `127.0.0.1:${remote.port(ports.s2s)}` },
        portMap: { [ports.c2s]: 0, [ports.s2s]: aS2s, [ports.service]: 0 },
      },
    );
    const alice = await login(gateway.port(ports.c2s), 'a.test', 'alice', 'alice-secret');
    const carol = await login(remote.port(ports.c2s), 'c.test', 'carol', 'carol-secret');

    await alice.xmpp.send(chat('carol@c.test', 'm2', 'hello carol'));
    const received = await carol.stanzas.waitFor('carol receives the message', isMessageWithBody('hello carol'));
    expect(received.attrs).toMatchObject({ from: 'alice@a.test/laptop', to: 'carol@c.test', type: 'chat', id: 'm2' });
    expect(gateway.host.trace.events.some((e) => e.kind === 'dns.query')).toBe(true);
    // c.test asked a.test to verify the key (XEP-0220 §2.3) and accepted the stream.
    expect(JSON.stringify(remote.host.trace.events)).toContain("<db:result from='c.test' to='a.test' type='valid'/>");
    for (const side of [gateway, remote]) {
      expect(side.outputs.items.filter((o) => o.kind === 'reject')).toEqual([]);
      expect(side.host.trace.events.filter((e) => e.kind === 'check')).toEqual([]);
    }
  });

  it('with tls: required everywhere, c2s and s2s go through STARTTLS on node:tls and alice@a.test reaches carol@c.test (Ambrosia client nodes)', async () => {
    // The clients here are fedsim's own client nodes on RealHosts (their TLS checks no certificate), so that
    // both gateways can present self-signed certificates; @xmpp/client's STARTTLS is the serve test below.
    // c.test verifies a.test's dialback key with a.test itself (XEP-0220), over TLS as well.
    const tls = (name: string) => selfSignedTls([name]).then((m) => ({ cert: m.cert, key: m.key }));
    const aS2s = await freePort();
    const remote = await startHost(
      'c.test',
      { role: 'gateway', tls: 'required', accounts: [{ jid: 'carol@c.test', password: 'carol-secret' }] },
      {
        dns: [{ name: 'a.test', type: 'A', value: '127.0.0.1' }],
        peers: { [`a.test:${ports.s2s}`]: `127.0.0.1:${aS2s}` },
        tls: await tls('c.test'),
      },
    );
    const gateway = await startHost(
      'a.test',
      { role: 'gateway', tls: 'required', accounts },
      {
        dns: [{ name: 'c.test', type: 'A', value: '127.0.0.1' }],
        peers: { [`c.test:${ports.s2s}`]: `127.0.0.1:${remote.port(ports.s2s)}` },
        portMap: { [ports.c2s]: 0, [ports.s2s]: aS2s, [ports.service]: 0 },
        tls: await tls('a.test'),
      },
    );
    const userOn = (id: string, jid: string, password: string, port: number) =>
      startHost(
        id,
        { role: 'client', jid, password, tls: 'required' },
        { peers: { [jid.split('@')[1]!]: `127.0.0.1:${port}` } },
      );
    const carol = await userOn('carol.c.test', 'carol@c.test', 'carol-secret', remote.port(ports.c2s));
    const alice = await userOn('alice.a.test', 'alice@a.test', 'alice-secret', gateway.port(ports.c2s));
    const online = (side: Started) =>
      within(
        stepMs,
        'online',
        (async () => {
          while ((side.host.view() as { boundJid: string }).boundJid === '')
            await new Promise((r) => setTimeout(r, 20));
        })(),
      );
    await online(carol);
    await online(alice);
    alice.host.command({ type: 'send', to: 'carol@c.test', body: 'hello over tls', id: 't2' });
    const delivered = await carol.outputs.waitFor('carol receives', (o) => o.kind === 'deliver');
    expect(delivered).toMatchObject({ kind: 'deliver', from: 'alice@a.test/fedsim', body: 'hello over tls' });
    const handshakes = (side: Started) =>
      side.host.trace.events.flatMap((e) => (e.kind === 'tls.done' ? [`${e.conn.replace(/\d+$/, '')} ${e.ok}`] : []));
    // Each gateway upgraded its client's c2s stream and its s2s streams: a.test's outgoing one (and c.test's
    // end of it), and c.test's verification stream to a.test (and a.test's end of it).
    expect(handshakes(gateway).sort()).toEqual(['in: true', 'in: true', 's2s: true']);
    expect(handshakes(remote).sort()).toEqual(['in: true', 'in: true', 's2s: true']);
    expect(JSON.stringify(remote.host.trace.events)).toContain("<db:result from='c.test' to='a.test' type='valid'/>");
    for (const side of [gateway, remote, alice, carol]) {
      expect(side.outputs.items.filter((o) => o.kind === 'reject')).toEqual([]);
      expect(side.host.trace.events.filter((e) => e.kind === 'check')).toEqual([]);
    }
  });

  it('a wrong password gets <not-authorized/> from SASL and no session (RFC 6120 §6.5.10)', async () => {
    const gateway = await startHost('a.test', { role: 'gateway', accounts });
    await expect(login(gateway.port(ports.c2s), 'a.test', 'alice', 'wrong')).rejects.toMatchObject({
      condition: 'not-authorized',
    });
    expect(gateway.host.view()).toMatchObject({ sessions: [] });
  });

  it('`fedsim serve ambrosia --config <file>` in a child process serves a chat to @xmpp/client with default options (SCRAM-SHA-1) and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-ambrosia-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'serve.yaml');
    writeFileSync(
      configFile,
      [
        'id: a.test',
        'seed: 7',
        'config:',
        '  role: gateway',
        '  serviceSecret: not-the-default',
        '  accounts:',
        ...accounts.flatMap((a) => [`    - jid: ${a.jid}`, `      password: ${a.password}`]),
        'ports:',
        `  ${ports.c2s}: 0`,
        `  ${ports.s2s}: 0`,
        `  ${ports.service}: 0`,
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn(
      process.execPath,
      ['bin/fedsim.mjs', 'serve', 'ambrosia', '--config', configFile],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await within(stepMs, 'child exit', exited);
    });

    const printed = await listeningPorts(child, 3);
    const c2s: number[] = [];
    for (const port of printed) if (await isC2sPort(port, 'a.test')) c2s.push(port);
    expect(c2s).toHaveLength(1);

    // No IM service registered: the gateway routes a.test's stanzas itself (spec.md §3 "Routing").
    const alice = await login(c2s[0]!, 'a.test', 'alice', 'alice-secret');
    const bob = await login(c2s[0]!, 'a.test', 'bob', 'bob-secret');
    await alice.xmpp.send(chat('bob@a.test', 'm3', 'hello from a child'));
    const received = await bob.stanzas.waitFor('bob receives the message', isMessageWithBody('hello from a child'));
    expect(received.attrs).toMatchObject({ from: 'alice@a.test/laptop', to: 'bob@a.test', id: 'm3' });

    await within(stepMs, 'alice stop', alice.xmpp.stop());
    await within(stepMs, 'bob stop', bob.xmpp.stop());
    child.kill('SIGTERM');
    expect(await within(stepMs, 'exit after SIGTERM', exited)).toBe(0);
  });

  it('`fedsim serve ambrosia` with tls: optional: @xmpp/client with default options does STARTTLS against the self-signed certificate it trusts through NODE_EXTRA_CA_CERTS, then SCRAM, and chats (RFC 6120 §5)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-ambrosia-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'serve.yaml');
    const certFile = join(dir, 'cert.pem');
    writeFileSync(
      configFile,
      [
        'id: a.test',
        'seed: 7',
        'config:',
        '  role: gateway',
        '  serviceSecret: not-the-default',
        '  tls: optional',
        '  accounts:',
        ...accounts.flatMap((a) => [`    - jid: ${a.jid}`, `      password: ${a.password}`]),
        'ports:',
        `  ${ports.c2s}: 0`,
        `  ${ports.s2s}: 0`,
        `  ${ports.service}: 0`,
        `tls: { certOut: ${certFile} }`,
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn(
      process.execPath,
      ['bin/fedsim.mjs', 'serve', 'ambrosia', '--config', configFile],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let printedText = '';
    const printedWaiters: (() => void)[] = [];
    child.stdout?.on('data', (chunk: Buffer) => {
      printedText += chunk.toString('utf8');
      for (const waiter of printedWaiters.splice(0)) waiter();
    });
    const printedLine = (text: string): Promise<void> =>
      within(
        stepMs,
        `serve prints ${text}`,
        new Promise<void>((resolve) => {
          const check = (): void => (printedText.includes(text) ? resolve() : void printedWaiters.push(check));
          check();
        }),
      );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await within(stepMs, 'child exit', exited);
    });
    const printed = await listeningPorts(child, 3);
    const c2s: number[] = [];
    for (const port of printed) if (await isC2sPort(port, 'a.test')) c2s.push(port);
    expect(c2s).toHaveLength(1);
    // The fingerprint serve prints is the certificate's it saved.
    const fingerprint = new X509Certificate(readFileSync(certFile)).fingerprint256;
    await printedLine('SHA-256 fingerprint');
    expect(printedText).toContain(`TLS certificate self-signed for a.test, SHA-256 fingerprint ${fingerprint}`);

    const chat = (env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> =>
      within(
        childStartMs,
        'the @xmpp/client child',
        new Promise((resolve, reject) => {
          execFile(
            process.execPath,
            [
              'test/protocols/ambrosia/fixtures/xmpp-tls-chat.mjs',
              String(c2s[0]),
              'a.test',
              accounts[0]!.password,
              accounts[1]!.password,
            ],
            { env, timeout: childStartMs },
            (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout.trim()) as Record<string, unknown>)),
          );
        }),
      );
    const withoutCa = { ...process.env };
    delete withoutCa.NODE_EXTRA_CA_CERTS;
    // Untrusted, the self-signed certificate is refused by the library's default TLS checks.
    expect(await chat(withoutCa)).toMatchObject({ error: expect.stringMatching(/self[- ]signed/i) });
    expect(await chat({ ...withoutCa, NODE_EXTRA_CA_CERTS: certFile })).toEqual({
      aliceSecure: true,
      bobSecure: true,
      aliceSent: ['starttls', 'auth SCRAM-SHA-1'],
      bodyFrom: 'alice@a.test/laptop',
    });
    child.kill('SIGTERM');
    expect(await within(stepMs, 'exit after SIGTERM', exited)).toBe(0);
  });
});
