/**
 * A deliberately broken Bester server for the conformance tests: it gets exactly one rule wrong. It
 * accepts an empty password (spec.md §3: "any non-empty password"; refused credentials close silently),
 * by rewriting a client first message with `"password": ""` to one with a password before the real node
 * reads it. Everything else (blank usernames, other scopes, later messages) reaches the node unchanged.
 */
import { bester, type BesterCommand, type BesterConfig } from '../../src/protocols/bester/index.js';
import { encodeFrame, FrameDecoder, parseJson } from '../../src/protocols/bester/wire.js';
import type { NodeInput, Protocol, ProtocolNode } from '../../src/protocols/protocol.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The frame with an empty client password filled in; undefined when there is nothing to rewrite. */
function withPassword(value: unknown): unknown {
  if (!isRecord(value) || !isRecord(value['header'])) return undefined;
  const header = value['header'];
  const auth = header['authentication'];
  if (header['scope'] !== 'client' || !isRecord(auth) || auth['password'] !== '') return undefined;
  return { ...value, header: { ...header, authentication: { ...auth, password: 'broken' } } };
}

/** Rewrites whole frames that arrive in one chunk (each case writes a first message as one write). */
function rewrite(input: NodeInput): NodeInput {
  if (input.kind !== 'conn.data') return input;
  const bodies = new FrameDecoder().push(input.bytes);
  if (!bodies.ok || bodies.value.length !== 1) return input;
  const body = bodies.value[0];
  const json = body === undefined ? undefined : parseJson(body);
  const fixed = json?.ok ? withPassword(json.value) : undefined;
  return fixed === undefined ? input : { ...input, bytes: encodeFrame(fixed) };
}

export const brokenBester: Protocol<BesterConfig, BesterCommand> = {
  ...bester,
  createNode: (host, config) => {
    const inner: ProtocolNode = bester.createNode(host, config);
    return {
      start: () => inner.start(),
      stop: () => inner.stop(),
      view: () => inner.view(),
      handle: (input) => inner.handle(rewrite(input)),
    };
  },
};
