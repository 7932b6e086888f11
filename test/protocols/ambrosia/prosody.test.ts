// Goal: Ambrosia agrees with a real XMPP server nobody here wrote, Debian's Prosody 0.12.
// 1. The suite's generic-XMPP cases (stream, SASL, bind, stream errors) run with `--target` against
//    Prosody: none is FAILED, and each case gets the verdict recorded in docs/conformance.md (a case
//    that starts failing or passing against Prosody is a change to look at, so the whole table is asserted).
// 2. Federation: alice on `fedsim serve ambrosia` (a.test) and bob on Prosody (b.test) exchange chat
//    messages both ways through @xmpp/client with its default options, over s2s with Server Dialback
//    (XEP-0220) in both directions.
// Method: test/support/prosody.ts starts Prosody on free loopback ports with TLS off. For (1), accounts
// bob@b.test (pb) and carol@b.test (pc) as the suite's fixture wants; the suite runs in this process
// against it as an external target (the cases that need the gateway's service or s2s port, or the
// fixture's DNS zone, are UNIMPLEMENTED there). For (2), Prosody finds a.test through
// `s2s_connect_overrides` (its plugin in test/support/prosody.ts) and the served gateway finds b.test
// through its config's `peers` and an A record in `dns`; both s2s ports are chosen before either starts.
// Without Prosody the file is skipped outside CI and fails under CI=true.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, xml, type Element, type XmppClient } from '@xmpp/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadSuites, runSuite } from '../../../src/conformance/index.js';
import type { SuiteReport } from '../../../src/conformance/types.js';
import { root } from '../../support/fedsim.js';
import { freePort, skipWithoutProsody, startProsody, type Prosody } from '../../support/prosody.js';
import { within } from '../../support/within.js';

/** Per operation: generous for a slow machine, short enough that a hang fails fast. */
const stepMs = 10_000;
/** The child process may build the CLI first (bin/build.mjs), then loads it. */
const childStartMs = 30_000;

/** The verdicts against Prosody 0.12.3 (docs/conformance.md, "Against Prosody"). */
const expected: Readonly<Record<string, string>> = {
  'ambrosia/3/no-config': 'UNIMPLEMENTED',
  'ambrosia/3/c2s-login': 'OK',
  'ambrosia/3/c2s-wrong-password': 'OK',
  'ambrosia/3/bind-conflict': 'OK',
  'ambrosia/3/stamp-from': 'OK',
  'ambrosia/6/valid-from': 'OK',
  'ambrosia/3/header-first': 'OK',
  'ambrosia/3/not-well-formed': 'OK',
  'ambrosia/3/restricted-xml': 'NON-STRICT',
  'ambrosia/3/invalid-namespace': 'INFORMATIONAL',
  'ambrosia/3/not-authorized': 'NON-STRICT',
  'ambrosia/3/s2s-invalid-from': 'UNIMPLEMENTED',
  'ambrosia/3/dialback-refused': 'UNIMPLEMENTED',
  'ambrosia/3/starttls': 'UNIMPLEMENTED',
  'ambrosia/3/see-other-host': 'UNIMPLEMENTED',
  'ambrosia/3/see-other-host-none': 'UNIMPLEMENTED',
  'ambrosia/3/route-to-service/client': 'UNIMPLEMENTED',
  'ambrosia/3/route-to-service/server': 'UNIMPLEMENTED',
  'ambrosia/3/route-out': 'UNIMPLEMENTED',
  'ambrosia/3/round-robin': 'UNIMPLEMENTED',
  'ambrosia/3/failover': 'UNIMPLEMENTED',
  'ambrosia/3/s2s-dns': 'UNIMPLEMENTED',
  'ambrosia/4.2/mutual-auth': 'UNIMPLEMENTED',
  'ambrosia/4.2/bad-handshake': 'UNIMPLEMENTED',
  'ambrosia/4.3/register': 'UNIMPLEMENTED',
  'ambrosia/4.4/chunking': 'UNIMPLEMENTED',
  'ambrosia/4.4/interleaved': 'UNIMPLEMENTED',
  'ambrosia/4.5/acks': 'UNIMPLEMENTED',
  'ambrosia/4.5/retransmit': 'UNIMPLEMENTED',
  'ambrosia/W/round-trip': 'NON-STRICT',
};

describe.skipIf(skipWithoutProsody())('Ambrosia conformance against Prosody', () => {
  let prosody: Prosody;
  let report: SuiteReport;

  beforeAll(async () => {
    prosody = await startProsody({
      accounts: [
        { local: 'bob', password: 'pb' },
        { local: 'carol', password: 'pc' },
      ],
    });
    const suite = (await loadSuites()).ambrosia!;
    const url = `tcp://127.0.0.1:${prosody.c2sPort}`;
    report = await runSuite(suite, { kind: 'external', host: '127.0.0.1', port: prosody.c2sPort, url });
  });

  afterAll(async () => {
    await prosody?.stop();
  });

  it('no case is FAILED', () => {
    const failed = report.results
      .filter((r) => r.verdict === 'FAILED')
      .map((r) => `${r.id}: ${r.message} (expected ${r.expected}, actual ${r.actual})`);
    expect(failed, prosody.log().slice(-4000)).toEqual([]);
  });

  it('each case has the verdict docs/conformance.md records for Prosody 0.12', () => {
    const verdicts = Object.fromEntries(report.results.map((r) => [r.id, r.verdict]));
    expect(verdicts).toEqual(expected);
  });

  it('the cases that differ from the built-in gateway say why', () => {
    const byId = new Map(report.results.map((r) => [r.id, r]));
    expect(byId.get('ambrosia/3/not-authorized')?.actual).toContain('service-unavailable');
    expect(byId.get('ambrosia/3/restricted-xml')?.actual).toContain('not-well-formed');
    expect(byId.get('ambrosia/W/round-trip')?.message).toContain('&#9;');
    expect(byId.get('ambrosia/3/s2s-dns')?.message).toContain('DNS zone');
  });
});

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Session {
  readonly xmpp: XmppClient;
  readonly stanzas: Element[];
  readonly mechanisms: string[];
  waitFor(what: string, matches: (stanza: Element) => boolean): Promise<Element>;
}

/** @xmpp/client with its default options (it picks the SASL mechanism), over plain TCP. */
async function login(port: number, domain: string, username: string, password: string): Promise<Session> {
  const stanzas: Element[] = [];
  const waiters: (() => void)[] = [];
  const mechanisms: string[] = [];
  const xmpp = client({
    service: `xmpp://127.0.0.1:${port}`,
    domain,
    resource: 'laptop',
    username,
    password,
    timeout: stepMs,
  });
  xmpp.on('send', (element: Element) => {
    if (element.is('auth')) mechanisms.push(String(element.attrs.mechanism));
  });
  xmpp.on('error', () => undefined);
  xmpp.on('stanza', (stanza: Element) => {
    stanzas.push(stanza);
    for (const waiter of [...waiters]) waiter();
  });
  cleanups.push(async () => {
    xmpp.reconnect.stop();
    if (xmpp.status !== 'offline') await within(stepMs, `${username} stop`, xmpp.stop()).catch(() => undefined);
  });
  await within(stepMs, `${username}@${domain} online`, xmpp.start());
  const waitFor = (what: string, matches: (stanza: Element) => boolean): Promise<Element> =>
    within(
      stepMs,
      what,
      new Promise<Element>((resolve) => {
        const check = (): void => {
          const found = stanzas.find(matches);
          if (found === undefined) return;
          waiters.splice(waiters.indexOf(check), 1);
          resolve(found);
        };
        waiters.push(check);
        check();
      }),
    );
  return { xmpp, stanzas, mechanisms, waitFor };
}

const chat = (to: string, id: string, body: string): Element =>
  xml('message', { type: 'chat', to, id }, xml('body', {}, body));

const withBody = (body: string) => (stanza: Element) => stanza.is('message') && stanza.getChildText('body') === body;

/** `fedsim serve ambrosia` as a.test in a child process, on the given real ports; resolves once it listens. */
async function serveGateway(c2sPort: number, s2sPort: number, prosodyS2s: number): Promise<{ output: () => string }> {
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
      '    - { jid: alice@a.test, password: alice-secret }',
      'ports:',
      `  5222: ${c2sPort}`,
      `  5269: ${s2sPort}`,
      '  5347: 0',
      '# b.test is Prosody: its s2s port, and an A record so that the lookup (SRV, MX, A) ends there.',
      'peers:',
      `  "b.test:5269": "127.0.0.1:${prosodyS2s}"`,
      'dns:',
      '  - { name: b.test, type: A, value: 127.0.0.1 }',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(process.execPath, ['bin/fedsim.mjs', 'serve', 'ambrosia', '--config', configFile], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await within(stepMs, 'serve exit', exited);
  });
  let output = '';
  await within(
    childStartMs,
    'fedsim serve listening',
    new Promise<void>((resolve, reject) => {
      const read = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if ((output.match(/listening on/g) ?? []).length >= 3) resolve();
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening:\n${output}`)));
    }),
  );
  return { output: () => output };
}

describe.skipIf(skipWithoutProsody())('federation between fedsim serve ambrosia (a.test) and Prosody (b.test)', () => {
  it('alice@a.test and bob@b.test chat both ways through @xmpp/client with default options, over s2s with dialback', async () => {
    const [aC2s, aS2s] = [await freePort(), await freePort()];
    const prosody = await startProsody({ accounts: [{ local: 'bob', password: 'pb' }], s2sPeers: { 'a.test': aS2s } });
    cleanups.push(() => prosody.stop());
    const gateway = await serveGateway(aC2s, aS2s, prosody.s2sPort);

    const alice = await login(aC2s, 'a.test', 'alice', 'alice-secret');
    const bob = await login(prosody.c2sPort, 'b.test', 'bob', 'pb');
    // Default options: SCRAM from each server's offer (no TLS, so the library never picks PLAIN).
    expect(alice.mechanisms).toEqual(['SCRAM-SHA-1']);
    expect(bob.mechanisms).toEqual(['SCRAM-SHA-1']);
    const context = () => `prosody log:\n${prosody.log().slice(-6000)}\nserve output:\n${gateway.output()}`;

    await alice.xmpp.send(chat('bob@b.test/laptop', 'a1', 'hello from the gateway'));
    const atBob = await bob
      .waitFor("bob receives alice's message", withBody('hello from the gateway'))
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${context()}`);
      });
    expect(atBob.attrs).toMatchObject({ from: 'alice@a.test/laptop', to: 'bob@b.test/laptop', id: 'a1' });

    await bob.xmpp.send(chat('alice@a.test/laptop', 'b1', 'hello from prosody'));
    const atAlice = await alice
      .waitFor("alice receives bob's message", withBody('hello from prosody'))
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${context()}`);
      });
    expect(atAlice.attrs).toMatchObject({ from: 'bob@b.test/laptop', to: 'alice@a.test/laptop', id: 'b1' });

    // Dialback both ways, as Prosody logs it: it verified our key with a.test (its incoming stream from us),
    // and we verified its key with b.test (its outgoing stream to us got <db:result type='valid'/>).
    expect(prosody.log()).toContain('connection a.test->b.test is now authenticated for a.test');
    expect(prosody.log()).toContain('connection b.test->a.test is now authenticated for a.test');
  });
});
