// Goal: `fedsim soak` serves each protocol as `fedsim serve` would with its defaults: the conformance
// fixture's accounts, but not its short timers (SOLEC's 2 s login window lost exchanges under load, issue 22).
// Method: the soak's config for the SOLEC fixture, parsed by SOLEC's own schema.
import { describe, expect, it } from 'vitest';
import { withDefaultTimers } from '../../src/bench/soak.js';
import { builtinNode } from '../../src/conformance/robustness-adapters.js';
import { serverConfigSchema } from '../../src/protocols/solec/config.js';

describe('soak: the served config', () => {
  it('keeps the SOLEC fixture accounts and gives the server its default timers', async () => {
    const node = await builtinNode('solec');
    expect(serverConfigSchema.parse(node.config).authTimeoutMs).toBe(2_000);
    const soaked = serverConfigSchema.parse(withDefaultTimers(node.config));
    expect(soaked.authTimeoutMs).toBe(10_000);
    expect(soaked.responseTimeoutMs).toBe(10_000);
    expect(soaked.accounts).toEqual({ bob: 'pb', carol: 'pc' });
    expect(soaked.knownServers).toHaveLength(1);
  });
});
