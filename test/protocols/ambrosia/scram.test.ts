// Goal: SASL SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) on the gateway's c2s streams: the
// published test vectors hold, a client with the right password logs in and gets the server's
// signature, a wrong proof gets <failure><not-authorized/></failure> and the client may try again,
// and PLAIN is neither offered nor accepted on an unencrypted stream unless configured.
// Method: the SCRAM functions against the RFC vectors; one gateway on a ManualHost, the test playing
// the client with literal XML and the scram module's client half.
import { describe, expect, it } from 'vitest';
import { ambrosia } from '../../../src/protocols/ambrosia/index.js';
import {
  checkClientFinal,
  clientFinal,
  clientFirst,
  parseClientFirst,
  saltFor,
  serverFirst,
  type ScramMechanism,
} from '../../../src/protocols/ambrosia/scram.js';
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');
const texts = (outputs: NodeOutput[]) =>
  outputs
    .filter((o): o is Extract<NodeOutput, { kind: 'write' }> => o.kind === 'write')
    .map((o) => new TextDecoder().decode(o.bytes));
const sasl = "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";
const clientHeader = `<?xml version='1.0'?><stream:stream to='a.test' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;

/** RFC 5802 §5 and RFC 7677 §3: user `user`, password `pencil`. */
const vectors = [
  {
    mechanism: 'SCRAM-SHA-1' as const,
    nonce: 'fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    final: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    verifier: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    mechanism: 'SCRAM-SHA-256' as const,
    nonce: 'rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    final: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    verifier: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
];

describe('ambrosia: SCRAM functions (RFC 5802 §5, RFC 7677 §3 test vectors)', () => {
  it('parses each client-first-message as itself, asked in turn and again (its last answer is kept)', () => {
    const alice = b64('n,,n=alice,r=abc');
    const bob = b64('y,,n=b=2Cob,r=xyz');
    const bad = b64('n,,n=alice,m=ext,r=abc');
    for (let round = 0; round < 2; round++) {
      expect(parseClientFirst(alice)).toEqual({
        gs2Header: 'n,,',
        user: 'alice',
        clientNonce: 'abc',
        bare: 'n=alice,r=abc',
      });
      expect(parseClientFirst(alice)?.user).toBe('alice');
      expect(parseClientFirst(bob)).toEqual({
        gs2Header: 'y,,',
        user: 'b,ob',
        clientNonce: 'xyz',
        bare: 'n=b=2Cob,r=xyz',
      });
      expect(parseClientFirst(bad)).toBeUndefined();
      expect(parseClientFirst('%%%')).toBeUndefined();
    }
    expect(saltFor('a@a.test').toString('hex')).toBe(saltFor('a@a.test').toString('hex'));
    expect(saltFor('a@a.test').equals(saltFor('b@a.test'))).toBe(false);
  });

  it.each(vectors)(
    '$mechanism: the gateway accepts the published proof, alone and after the client made it',
    (vector) => {
      // Signatures are remembered by all their inputs: the first round's check computes them, the
      // second's reads what the client's half left; a wrong password or a changed proof is refused.
      const salt = Buffer.from(/,s=([^,]*),/.exec(vector.serverFirst)?.[1] ?? '', 'base64');
      const first = parseClientFirst(b64(`n,,n=user,r=${vector.nonce}`));
      if (!first) throw new Error('client-first');
      const serverNonce = /^r=([^,]*),/.exec(vector.serverFirst)?.[1]?.slice(vector.nonce.length) ?? '';
      const exchange = serverFirst(vector.mechanism, first, serverNonce, salt);
      expect(exchange.serverFirst).toBe(vector.serverFirst);
      const changed = vector.final.replace(/p=(.)/, (_, c: string) => `p=${c === 'A' ? 'B' : 'A'}`);
      for (let round = 0; round < 2; round++) {
        expect(checkClientFinal(exchange, b64(vector.final), 'pencil', salt)).toEqual({
          outcome: 'ok',
          serverFinal: b64(vector.verifier),
        });
        expect(checkClientFinal(exchange, b64(vector.final), 'pen', salt)).toEqual({ outcome: 'bad-proof' });
        expect(checkClientFinal(exchange, b64(changed), 'pencil', salt)).toEqual({ outcome: 'bad-proof' });
        const client = clientFirst(vector.mechanism, 'user', vector.nonce);
        expect(clientFinal(client.exchange, b64(vector.serverFirst), 'pencil')?.serverFinal).toBe(vector.verifier);
      }
    },
  );

  it.each(vectors)('$mechanism: user/pencil gives the published proof and server signature', (vector) => {
    const first = clientFirst(vector.mechanism, 'user', vector.nonce);
    expect(unb64(first.message)).toBe(`n,,n=user,r=${vector.nonce}`);
    const final = clientFinal(first.exchange, b64(vector.serverFirst), 'pencil');
    expect(final && unb64(final.message)).toBe(vector.final);
    expect(final?.serverFinal).toBe(vector.verifier);
    // A server nonce that does not extend the client's is refused (RFC 5802 §5.1).
    expect(clientFinal(first.exchange, b64(vector.serverFirst.replace(vector.nonce, 'X')), 'pencil')).toBeUndefined();
  });
});

function gateway(extra: Record<string, unknown> = {}) {
  const host = new ManualHost('gw.test');
  const node = ambrosia.createNode(
    host,
    ambrosia.configSchema.parse({ role: 'gateway', accounts: [{ jid: 'alice@a.test', password: 'secret' }], ...extra }),
  );
  node.start();
  host.take();
  node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'gw.test', port: 5222 }, remote: 'c' });
  const send = (text: string) => {
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: new TextEncoder().encode(text) });
    return texts(host.take());
  };
  return { host, send };
}

/** Runs a SCRAM exchange for alice with `password`; returns what came back to the `<response/>`. */
function scramLogin(send: (text: string) => string[], mechanism: ScramMechanism, password: string) {
  const first = clientFirst(mechanism, 'alice', 'cnonce1');
  const [challenge = ''] = send(`<auth ${sasl} mechanism='${mechanism}'>${first.message}</auth>`);
  const data = /^<challenge [^>]*>([^<]*)<\/challenge>$/.exec(challenge)?.[1] ?? '';
  expect(unb64(data)).toMatch(/^r=cnonce1[\x21-\x2b\x2d-\x7e]+,s=[A-Za-z0-9+/=]+,i=4096$/);
  const final = clientFinal(first.exchange, data, password);
  if (!final) throw new Error(`bad challenge ${challenge}`);
  return { answer: send(`<response ${sasl}>${final.message}</response>`), serverFinal: final.serverFinal };
}

describe('ambrosia: gateway SASL SCRAM (ManualHost, RFC 5802, RFC 7677, RFC 6120 §6)', () => {
  it('offers SCRAM-SHA-256 and SCRAM-SHA-1 and no PLAIN on an unencrypted stream by default, and refuses PLAIN', () => {
    const { send } = gateway();
    const [features] = send(clientHeader);
    expect(features).toContain(
      `<mechanisms ${sasl}><mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>`,
    );
    const plain = b64('\u0000alice\u0000secret');
    expect(send(`<auth ${sasl} mechanism='PLAIN'>${plain}</auth>`)).toEqual([
      `<failure ${sasl}><invalid-mechanism/></failure>`,
    ]);
  });

  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-1'] as const)(
    '%s: the right password gets <success/> with the server signature, then the stream restarts to binding',
    (mechanism) => {
      const { host, send } = gateway();
      send(clientHeader);
      const { answer, serverFinal } = scramLogin(send, mechanism, 'secret');
      expect(answer).toEqual([`<success ${sasl}>${b64(serverFinal)}</success>`]);
      expect(host.stateOf('ambrosia.c2s in:1')).toBe('restarting');
      send(clientHeader);
      expect(host.stateOf('ambrosia.c2s in:1')).toBe('binding');
    },
  );

  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-1'] as const)(
    '%s: a wrong proof gets <failure><not-authorized/></failure>, the stream stays open and a retry succeeds (RFC 6120 §6.4.5)',
    (mechanism) => {
      const { host, send } = gateway();
      send(clientHeader);
      expect(scramLogin(send, mechanism, 'wrong').answer).toEqual([`<failure ${sasl}><not-authorized/></failure>`]);
      expect(host.stateOf('ambrosia.c2s in:1')).toBe('authenticating');
      expect(scramLogin(send, mechanism, 'secret').answer[0]).toMatch(/^<success /);
    },
  );

  it('a malformed client-first or client-final gets malformed-request, a tampered nonce too, and the node does not throw', () => {
    const { host, send } = gateway();
    send(clientHeader);
    expect(send(`<auth ${sasl} mechanism='SCRAM-SHA-1'>${b64('p=tls-unique,,n=alice,r=x')}</auth>`)).toEqual([
      `<failure ${sasl}><malformed-request/></failure>`,
    ]);
    expect(send(`<auth ${sasl} mechanism='SCRAM-SHA-1'>!!</auth>`)).toEqual([
      `<failure ${sasl}><malformed-request/></failure>`,
    ]);
    const first = clientFirst('SCRAM-SHA-1', 'alice', 'abc');
    send(`<auth ${sasl} mechanism='SCRAM-SHA-1'>${first.message}</auth>`);
    expect(send(`<response ${sasl}>${b64('c=biws,r=abcOTHER,p=AAAA')}</response>`)).toEqual([
      `<failure ${sasl}><malformed-request/></failure>`,
    ]);
    send(`<auth ${sasl} mechanism='SCRAM-SHA-1'>${first.message}</auth>`);
    expect(send(`<abort ${sasl}/>`)).toEqual([`<failure ${sasl}><aborted/></failure>`]);
    expect(host.stateOf('ambrosia.c2s in:1')).toBe('authenticating');
  });

  it('draws a different server nonce for each exchange on a stream', () => {
    const { send } = gateway();
    send(clientHeader);
    const first = clientFirst('SCRAM-SHA-256', 'alice', 'n');
    const one = send(`<auth ${sasl} mechanism='SCRAM-SHA-256'>${first.message}</auth>`)[0];
    send(`<abort ${sasl}/>`);
    const two = send(`<auth ${sasl} mechanism='SCRAM-SHA-256'>${first.message}</auth>`)[0];
    expect(one).toMatch(/^<challenge /);
    expect(one).not.toBe(two);
  });
});
