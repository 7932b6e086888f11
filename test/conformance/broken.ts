/**
 * Deliberately broken servers for the conformance tests: each wraps a built-in node and gets exactly
 * one rule wrong, by rewriting what the peer sent before the real node reads it.
 * - F140: accepts a wrong challenge from a friend (spec.md §4.1): the challenge is replaced by the right one.
 * - SOLEC: answers Success to a bad password (spec.md §4): the password is replaced by the account's.
 * Everything else (bad requests, strangers, unknown users) reaches the node unchanged.
 */
import { f140, type F140Config } from '../../src/protocols/f140/index.js';
import { encodeForm, encodeRequest, formOfRequest, HttpRequestParser } from '../../src/protocols/f140/wire.js';
import type { NodeInput, Protocol, ProtocolNode } from '../../src/protocols/protocol.js';
import { solec, type SolecConfig } from '../../src/protocols/solec/index.js';
import { decodePayload, encodeFrame, FrameDecoder, headerBytes } from '../../src/protocols/solec/wire.js';

function wrap<C, K>(protocol: Protocol<C, K>, rewrite: (config: C) => (input: NodeInput) => NodeInput): Protocol<C, K> {
  return {
    ...protocol,
    name: protocol.name,
    createNode: (host, config) => {
      const inner: ProtocolNode = protocol.createNode(host, config);
      const transform = rewrite(config);
      return {
        start: () => inner.start(),
        stop: () => inner.stop(),
        view: () => inner.view(),
        handle: (input) => inner.handle(transform(input)),
      };
    },
  };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** F140 that takes any challenge from a friend: rewrites whole requests that arrive in one chunk. */
export const brokenF140 = wrap(f140, (config: F140Config) => {
  const challenges = new Map<string, string>();
  for (const user of config.users)
    for (const friend of user.friends) challenges.set(`${user.name} ${friend.user}`, friend.inbound.challenge);
  return (input) => {
    if (input.kind !== 'conn.data') return input;
    const parser = new HttpRequestParser();
    const parsed = parser.push(input.bytes);
    if (!parsed.ok || parser.error || parsed.value.length === 0) return input;
    const rewritten = parsed.value.map((request) => {
      const form = formOfRequest(request);
      const right = form.ok ? challenges.get(`${form.value.get('to_user')} ${form.value.get('from_user')}`) : undefined;
      const given = form.ok ? form.value.get('challenge') : undefined;
      if (!form.ok || right === undefined || given === undefined || given === right) return encodeRequest(request);
      form.value.set('challenge', right);
      const body = new TextEncoder().encode(encodeForm(form.value));
      const path = request.target.split('?')[0] ?? '/';
      return request.method.toUpperCase() === 'POST'
        ? encodeRequest({ ...request, target: path, body })
        : encodeRequest({ ...request, target: `${path}?${encodeForm(form.value)}` });
    });
    return { ...input, bytes: concat(rewritten) };
  };
});

/** SOLEC that logs in any password for a known account. */
export const brokenSolec = wrap(solec, (config: SolecConfig) => {
  const accounts: Record<string, string> = config.role === 'server' ? config.accounts : {};
  const decoders = new Map<string, FrameDecoder | 'raw'>();
  return (input) => {
    if (input.kind !== 'conn.data') return input;
    // The same limit as the node, so an oversize header fails here too and reaches the node unchanged.
    const decoder = decoders.get(input.conn) ?? new FrameDecoder(config.payloadBytesMax);
    if (decoder === 'raw') return input;
    const frames = decoder.push(input.bytes);
    if (!frames.ok) {
      decoders.set(input.conn, 'raw');
      return input;
    }
    decoders.set(input.conn, decoder);
    const out = frames.value.map((frame) => {
      const payload = decodePayload(frame, 'client');
      if (payload.ok && payload.value.type === 'userAuth') {
        const right = accounts[payload.value.username];
        if (right !== undefined) return encodeFrame({ ...payload.value, password: right });
      }
      const raw = new Uint8Array(headerBytes + frame.payload.length);
      raw.set([frame.type, frame.payload.length >> 8, frame.payload.length & 0xff]);
      raw.set(frame.payload, headerBytes);
      return raw;
    });
    return { ...input, bytes: concat(out) };
  };
});
