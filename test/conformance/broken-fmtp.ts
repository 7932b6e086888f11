/**
 * A deliberately broken FMTP server for the conformance tests: it gets exactly one rule wrong,
 * spec.md §5.3, by ignoring HOPS. It wraps the suite's own target (the built-in node with the
 * fixture's DNS records) and drops every `HOPS: n` line from what peers send before the real node
 * reads it, so a REQUEST with HOPS 0 is proxied as if it had the full budget (a peer without the rule).
 * Everything else (greetings, bad bytes, messages, answers) reaches the node unchanged.
 */
import { fmtpSuite } from '../../src/protocols/fmtp/conformance/index.js';
import type { Protocol, ProtocolNode } from '../../src/protocols/protocol.js';

const hopsLine = /^HOPS: [^\n]*\n/gm;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the suite's builtin is typed for any protocol
const inner: Protocol<any, any> = fmtpSuite.builtin;

/** FMTP that reads every REQUEST as if it carried no HOPS (whole frames arrive in one chunk here). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export const brokenFmtp: Protocol<any, any> = {
  ...inner,
  createNode: (host, config) => {
    const node: ProtocolNode = inner.createNode(host, config);
    return {
      start: () => node.start(),
      stop: () => node.stop(),
      view: () => node.view(),
      handle: (input) => {
        if (input.kind !== 'conn.data') return node.handle(input);
        const text = new TextDecoder().decode(input.bytes);
        const stripped = text.replace(hopsLine, '');
        // Bytes without a HOPS line pass untouched (decoding would change bytes that are not UTF-8).
        if (stripped === text) return node.handle(input);
        node.handle({ ...input, bytes: new TextEncoder().encode(stripped) });
      },
    };
  },
};
