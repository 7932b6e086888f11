// Goal: the seed's connection limit ("until a connection limit is reached", spec.md §2) is reached:
// a server at `connectionsMax` closes each new connection at once, and the connections it holds
// stay open. Method: run test/fixtures/fmtp/connection-limit.yaml (limit 2, three users logging in)
// on several seeds; it asserts the refusals, and this test counts them.
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../../src/scenario/load.js';
import { runScenario } from '../../../src/scenario/run.js';

describe('fmtp: connection limit', () => {
  it.each([1, 2, 3, 4, 5])(
    'refuses the third login at connectionsMax 2, and keeps the two it holds (seed %i)',
    (seed) => {
      const report = runScenario(loadScenario('test/fixtures/fmtp/connection-limit.yaml'), { seed });
      expect(report.results.filter((result) => !result.ok)).toEqual([]);
      const full = report.trace.events.filter((e) => e.kind === 'reject' && e.code === 'fmtp.connections.full');
      // bea retries every second from 500 ms to the 5 s limit: each retry is refused.
      expect(full.length).toBeGreaterThanOrEqual(4);
      expect(full.every((e) => e.node === 'mail.lenore.org')).toBe(true);
      const logins = report.trace.events.filter((e) => e.kind === 'note' && e.what === 'fmtp.login');
      expect(logins).toHaveLength(2);
    },
  );
});
