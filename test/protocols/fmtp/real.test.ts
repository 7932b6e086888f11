// Goal: the FMTP node the simulator runs also serves real loopback sockets, unchanged: a raw TCP
// client that speaks FMTP greets it (HELLO with poe.net's hash), gets a WELCOME whose hash verifies
// against fmtpkey.lenore.org, asks "Do you know lost@lenore.org?" and gets the OBJECT; both in
// process (RealHost) and as `fedsim serve fmtp` in a child process.
// Method: the test plays poe.net with the node's own wire and key helpers over node:net; the
// node's DNS zone holds both keys. Every wait is on an event with an explicit timeout (no sleeps),
// and every socket, host and child is closed in afterEach.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fmtp, fmtpConfig } from '../../../src/protocols/fmtp/index.js';
import {
  formatKeyRecord,
  helloText,
  publicKeyOf,
  secretKeyFor,
  sign,
  verifyByAny,
  welcomeText,
} from '../../../src/protocols/fmtp/keys.js';
import { BlockBuffer, encodeFrame, type Frame } from '../../../src/protocols/fmtp/wire.js';
import type { DnsRecord } from '../../../src/protocols/protocol.js';
import { RealHost } from '../../../src/real/host.js';
import { within } from '../../support/within.js';

const seed = 5;
const serverId = 'mail.lenore.org';
const serverConfig = { domain: 'lenore.org', users: [{ address: 'lost@lenore.org', status: 'AWAY' as const }] };
const clientSecret = secretKeyFor(seed, 'poe.net');
/** The zone the node answers its queries from: its own key and poe.net's. */
const zone: DnsRecord[] = [
  ...(fmtp.dnsRecords?.({ id: serverId, hostName: serverId, config: fmtpConfig(serverConfig), seed }) ?? []),
  { name: 'fmtpkey.poe.net', type: 'TXT', value: formatKeyRecord(publicKeyOf(clientSecret)) },
];
const serverKey = (zone[0]?.value ?? '').replace(/^.*p=/, '');

/** Per operation: generous for a slow machine, short enough that a hang fails fast. */
const stepMs = 5_000;
/** The child process may build the CLI first (bin/build.mjs), then loads it. */
const childStartMs = 30_000;

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A raw FMTP client over node:net: writes frames and waits for the next one. */
class Client {
  private readonly buffer = new BlockBuffer();
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | undefined;
  private problem: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const pushed = this.buffer.push(new Uint8Array(chunk));
      if (pushed.ok) this.frames.push(...pushed.value);
      else this.problem = new Error(`undecodable bytes from the node: ${pushed.error.code}`);
      this.waiter?.();
    });
    socket.on('error', (error) => {
      this.problem = error;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.problem ??= new Error('the node closed the connection');
      this.waiter?.();
    });
  }

  static open(port: number): Promise<Client> {
    return within(
      stepMs,
      `connect to 127.0.0.1:${port}`,
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        cleanups.push(() => {
          socket.destroy();
        });
        socket.once('connect', () => resolve(new Client(socket)));
        socket.once('error', reject);
      }),
    );
  }

  send(frame: Frame): void {
    this.socket.write(encodeFrame(frame));
  }

  next(what: string): Promise<Frame> {
    return within(
      stepMs,
      what,
      new Promise((resolve, reject) => {
        const check = () => {
          const frame = this.frames.shift();
          if (frame) {
            this.waiter = undefined;
            resolve(frame);
          } else if (this.problem) {
            this.waiter = undefined;
            reject(this.problem);
          }
        };
        this.waiter = check;
        check();
      }),
    );
  }
}

/** Plays poe.net: greets lenore.org, verifies its WELCOME, asks for lost@lenore.org. */
async function greetAndAsk(port: number): Promise<{ welcome: Frame; answer: Frame }> {
  const client = await Client.open(port);
  const nonce = '0123456789abcdef0123456789abcdef';
  client.send({
    type: 'HELLO',
    from: 'poe.net',
    to: 'lenore.org',
    nonce,
    hash: sign(helloText('poe.net', 'lenore.org', nonce), clientSecret),
  });
  const welcome = await client.next('WELCOME');
  expect(welcome).toMatchObject({ type: 'WELCOME', from: 'lenore.org', to: 'poe.net' });
  if (welcome.type !== 'WELCOME') throw new Error('unreachable');
  expect(verifyByAny(welcomeText('lenore.org', 'poe.net', welcome.nonce, nonce), welcome.hash, [serverKey])).toBe(true);
  client.send({ type: 'REQUEST', from: 'poe.net', object: 'lost@lenore.org', transaction: '1.poe.net' });
  const answer = await client.next('OBJECT');
  return { welcome, answer };
}

const expectedObject = {
  type: 'OBJECT',
  object: 'lost@lenore.org',
  transaction: '1.poe.net',
  properties: { address: 'lost@lenore.org', status: 'AWAY' },
};

describe('fmtp: real sockets (loopback)', () => {
  it('RealHost in process: HELLO/WELCOME with verified hashes, then a lookup answered with OBJECT', async () => {
    const host = new RealHost({
      trace: 'memory',
      id: serverId,
      protocol: fmtp,
      config: fmtpConfig(serverConfig),
      portMap: { 7465: 0 },
      dns: zone,
      seed,
    });
    cleanups.push(() => host.close());
    const [listening] = await within(stepMs, 'host.start', host.start());
    expect(listening?.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const { answer } = await greetAndAsk(listening?.port ?? 0);
    expect(answer).toEqual(expectedObject);
    const notes = host.trace.events.flatMap((event) => (event.kind === 'note' ? [event.what] : []));
    expect(notes).toEqual(expect.arrayContaining(['fmtp.key.cached', 'fmtp.peer.verified']));
  });

  it('`fedsim serve fmtp --config <file>` in a child process answers the same exchange and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-fmtp-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'serve.json');
    writeFileSync(
      configFile,
      JSON.stringify({ id: serverId, config: serverConfig, ports: { 7465: 0 }, dns: zone, seed }, null, 2),
    );
    const child: ChildProcess = spawn(process.execPath, ['bin/fedsim.mjs', 'serve', 'fmtp', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await within(stepMs, 'child exit', exited);
    });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const port = await within(
      childStartMs,
      'the `listening on` line',
      new Promise<number>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
          if (match?.[1]) resolve(Number(match[1]));
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening:\n${output}`)));
      }),
    );
    const { answer } = await greetAndAsk(port);
    expect(answer).toEqual(expectedObject);
    child.kill('SIGTERM');
    expect(await within(stepMs, 'exit after SIGTERM', exited)).toBe(0);
  });
});
