/**
 * How each protocol is spoken for the robustness cases (robustness.ts): a valid exchange, a partial
 * frame, an oversized length, a request the server answers, and a login where there is one. Built
 * on each protocol's own wire.ts encoders and decoders, against the suites' `fixtures.main`.
 *
 * Must not: judge anything (robustness.ts does), or wait without the bound it is given.
 */
import {
  authMessage,
  clientMessage,
  encodeFrame as besterFrame,
  FrameDecoder as BesterFrames,
  frameBytesMax,
} from '../protocols/bester/wire.js';
import { stanzaCharsMax } from '../protocols/ambrosia/wire.js';
import { lineBytesMax } from '../protocols/fmtp/wire.js';
import {
  decodePayload,
  encodeFrame as solecFrame,
  FrameDecoder as SolecFrames,
  payloadTypeCode,
  type Payload,
} from '../protocols/solec/wire.js';
import { suiteFor } from './index.js';
import type { RawConn, RobustnessAdapter } from './robustness.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

// ---- F140 (HTTP/1.1) ----------------------------------------------------------------------------

/** A complete HTTP response: a status line, the head, and Content-Length bytes of body. */
function httpAnswered(bytes: Uint8Array): boolean {
  const all = latin1(bytes);
  const end = all.indexOf('\r\n\r\n');
  if (!/^HTTP\/1\.[01] \d{3} /.test(all) || end === -1) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(all.slice(0, end))?.[1];
  return all.length >= end + 4 + Number(length ?? 0);
}

const f140Get = text('GET /f140?Command=Ping HTTP/1.1\r\nHost: b.test\r\n\r\n');

const f140: RobustnessAdapter = {
  protocol: 'f140',
  title: 'F140',
  port: 8140,
  exchange: async (conn, ms) => {
    conn.write(f140Get);
    return conn.until(httpAnswered, ms);
  },
  partial: text('GET /f140?Command=Ping HTTP/1.1\r\nHost: b.test\r\n'),
  oversized: text('POST /f140 HTTP/1.1\r\nHost: b.test\r\nContent-Length: 999999999999\r\n\r\n'),
  chatty: { request: f140Get },
};

// ---- SOLEC (binary frames) ----------------------------------------------------------------------

const solecHandshake: Payload = { type: 'handshake', verMajor: 0, verMinor: 4, connType: 1 };
const solecBytes = (...payloads: Payload[]): Uint8Array =>
  Uint8Array.from(payloads.flatMap((payload) => [...solecFrame(payload)]));

/** The payloads the server sent on `conn` so far (undefined ones are left out). */
function solecPayloads(bytes: Uint8Array): Payload[] {
  const frames = new SolecFrames(0xffff).push(bytes);
  if (!frames.ok) return [];
  return frames.value.flatMap((frame) => {
    const payload = decodePayload(frame, 'server');
    return payload.ok ? [payload.value] : [];
  });
}

async function solecLogin(conn: RawConn, password: string, fresh: boolean, ms: number) {
  conn.clear();
  conn.write(
    fresh
      ? solecBytes(solecHandshake, { type: 'userAuth', username: 'bob', password })
      : solecBytes({ type: 'userAuth', username: 'bob', password }),
  );
  await conn.until((bytes) => solecPayloads(bytes).length > 0, ms);
  const [answer] = solecPayloads(conn.received());
  if (answer?.type === 'success') return 'accepted' as const;
  if (answer?.type === 'error') return 'refused' as const;
  return conn.isClosed ? ('closed' as const) : ('timeout' as const);
}

const solec: RobustnessAdapter = {
  protocol: 'solec',
  title: 'SOLEC',
  port: 7000,
  exchange: async (conn, ms) => (await solecLogin(conn, 'pb', true, ms)) === 'accepted',
  partial: solecFrame(solecHandshake).slice(0, 2),
  // A userAuth header declaring 65,535 bytes, over payloadBytesMax (4 KiB by default).
  oversized: Uint8Array.from([payloadTypeCode.userAuth, 0xff, 0xff]),
  chatty: {
    setup: async (conn, ms) => (await solecLogin(conn, 'pb', true, ms)) === 'accepted',
    request: solecFrame({
      type: 'message',
      id: '00000000000000ab',
      from: 'bob@b.test',
      to: 'nobody@b.test',
      timeMs: 0,
      body: 'x',
    }),
  },
  // One UserAuth per connection (spec.md, ours); a blocked address gets the same Error 0x01.
  login: { right: 'pb', attempt: solecLogin, attemptsPerConnection: 1 },
};

// ---- Bester (length-prefixed JSON) --------------------------------------------------------------

function besterAnswered(bytes: Uint8Array): boolean {
  const frames = new BesterFrames().push(bytes);
  return frames.ok && frames.value.length > 0;
}

function lengthPrefix(length: number): Uint8Array {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setInt32(0, length, true);
  return prefix;
}

const bester: RobustnessAdapter = {
  protocol: 'bester',
  title: 'Bester',
  port: 2223,
  exchange: async (conn, ms) => {
    conn.write(besterFrame(authMessage('alice', 'pw')));
    return conn.until(besterAnswered, ms);
  },
  partial: Uint8Array.from([...lengthPrefix(100), ...text('{"header":')]),
  oversized: lengthPrefix(frameBytesMax + 1),
  // A frame declaring 1 MiB (the largest allowed) of which `bytes` arrive.
  bigPartial: (bytes) => {
    const body = new Uint8Array(Math.min(bytes, frameBytesMax - 1)).fill(0x20);
    return Uint8Array.from([...lengthPrefix(frameBytesMax), ...body]);
  },
  chatty: {
    setup: async (conn, ms) => {
      conn.write(besterFrame(authMessage('alice', 'pw')));
      return conn.until(besterAnswered, ms);
    },
    request: besterFrame(clientMessage({ type: 'no-such-handler', id: 'x', data: null })),
  },
};

// ---- FMTP (KEY: value lines) --------------------------------------------------------------------

const fmtpMisaddressed = text('TYPE: HELLO\nFROM: peer.test\nTO: elsewhere.test\nNONCE: 1\nHASH: 00\n\n');

const fmtp: RobustnessAdapter = {
  protocol: 'fmtp',
  title: 'FMTP',
  port: 7465,
  // Without the peer's keys a HELLO cannot be verified: the answer served is a REFUSED for another domain.
  exchange: async (conn, ms) => {
    conn.write(fmtpMisaddressed);
    return conn.until((bytes) => /TYPE: REFUSED\n[\s\S]*\n\n/.test(latin1(bytes)), ms);
  },
  partial: text('TYPE: HELLO\nFROM: peer.test\n'),
  oversized: text(`TYPE: HELLO\nFROM: ${'x'.repeat(lineBytesMax + 100)}`),
  chatty: { request: fmtpMisaddressed },
};

// ---- Ambrosia (XMPP c2s) ------------------------------------------------------------------------

const streamHeader = `<?xml version='1.0'?><stream:stream to='b.test' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
const featuresEnd = (bytes: Uint8Array): boolean => latin1(bytes).includes('</stream:features>');

async function ambrosiaLogin(conn: RawConn, password: string, fresh: boolean, ms: number) {
  if (fresh) {
    conn.write(streamHeader);
    if (!(await conn.until(featuresEnd, ms))) return conn.isClosed ? ('closed' as const) : ('timeout' as const);
  }
  conn.clear();
  const plain = Buffer.from(`\u0000bob\u0000${password}`).toString('base64');
  conn.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain}</auth>`);
  await conn.until((bytes) => /<success|<failure/.test(latin1(bytes)), ms);
  const answer = latin1(conn.received());
  if (answer.includes('<success')) return 'accepted' as const;
  if (answer.includes('<temporary-auth-failure')) return 'throttled' as const;
  if (answer.includes('<failure')) return 'refused' as const;
  return conn.isClosed ? ('closed' as const) : ('timeout' as const);
}

const ambrosia: RobustnessAdapter = {
  protocol: 'ambrosia',
  title: 'Ambrosia',
  port: 5222,
  exchange: async (conn, ms) => {
    conn.write(streamHeader);
    return conn.until(featuresEnd, ms);
  },
  partial: text(streamHeader.slice(0, -1)),
  // XML declares no length: a stanza over stanzaCharsMax is the oversized frame.
  oversized: text(`${streamHeader}<message to='x@b.test'><body>${'x'.repeat(stanzaCharsMax + 1024)}`),
  bigPartial: (bytes) =>
    text(`${streamHeader}<message to='x@b.test'><body>${'x'.repeat(Math.min(bytes, stanzaCharsMax / 2))}`),
  chatty: { request: text(`${streamHeader}`) },
  login: { right: 'pb', attempt: ambrosiaLogin },
};

export const robustnessAdapters: Readonly<Record<string, RobustnessAdapter>> = { f140, solec, bester, fmtp, ambrosia };

/** The built-in server a robustness run serves: the suite's `main` fixture, on the ports it listens on. */
export async function builtinNode(protocol: string): Promise<{
  id: string;
  config: unknown;
  ports: number[];
  servicePort: number;
}> {
  const suite = await suiteFor(protocol);
  if (!suite) throw new Error(`no suite for ${protocol}`);
  const main = suite.fixtures.main as Record<string, unknown>;
  // serve requires an Ambrosia gateway to give its own secret (the fixture's), not the default.
  const config = protocol === 'ambrosia' ? { serviceSecret: 'robustness', ...main } : main;
  const ports = protocol === 'ambrosia' ? [5222, 5269, 5347] : [suite.target.port];
  return { id: suite.target.id, config, ports, servicePort: suite.target.port };
}
