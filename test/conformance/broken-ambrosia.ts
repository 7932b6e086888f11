/**
 * A deliberately broken Ambrosia gateway for the conformance tests: it gets exactly one rule wrong.
 * It accepts any password for a known account (spec.md §3: "Wrong password: <failure><not-authorized/>"),
 * by rewriting the SASL PLAIN `<auth>` a client sends before the real gateway reads it. Unknown users,
 * bad XML and every other stream reach the gateway unchanged.
 */
import { ambrosiaSuite } from '../../src/protocols/ambrosia/conformance/index.js';
import type { AmbrosiaConfig } from '../../src/protocols/ambrosia/config.js';
import type { NodeInput, Protocol } from '../../src/protocols/protocol.js';

/** A whole `<auth>` element in one read (real clients write it at once). */
const authPattern = /(<auth\b[^>]*mechanism=['"]PLAIN['"][^>]*>)([A-Za-z0-9+/=]+)(<\/auth>)/;

function acceptAnyPassword(config: AmbrosiaConfig): (input: NodeInput) => NodeInput {
  const accounts = new Map(config.role === 'gateway' ? config.accounts.map((a) => [a.jid.split('@')[0], a]) : []);
  return (input) => {
    if (input.kind !== 'conn.data') return input;
    const text = new TextDecoder().decode(input.bytes);
    const match = authPattern.exec(text);
    if (!match) return input;
    const [authzid = '', authcid = '', password = ''] = Buffer.from(match[2] ?? '', 'base64')
      .toString('utf8')
      .split('\u0000');
    const account = accounts.get(authcid);
    if (!account || account.password === password) return input;
    const right = Buffer.from(`${authzid}\u0000${authcid}\u0000${account.password}`, 'utf8').toString('base64');
    const rewritten = text.replace(authPattern, `$1${right}$3`);
    return { ...input, bytes: new TextEncoder().encode(rewritten) };
  };
}

const builtin = ambrosiaSuite.builtin as Protocol<AmbrosiaConfig, unknown>;

export const brokenAmbrosia: Protocol<AmbrosiaConfig, unknown> = {
  ...builtin,
  createNode: (host, config) => {
    const inner = builtin.createNode(host, config);
    const rewrite = acceptAnyPassword(config);
    return {
      start: () => inner.start(),
      stop: () => inner.stop(),
      view: () => inner.view(),
      handle: (input) => inner.handle(rewrite(input)),
    };
  },
};
