// Goal: `ambrosia.no-duplicate-delivery` tells two different messages whose ids a damage made equal
// from a second copy of one message (spec.md §3: a damage that leaves a valid stanza is not caught).
// Regression for fuzz seed 448 of a 2,000-run soak (shrunk: test/fixtures/ambrosia/damaged-ids-collide.yaml).
// The excuse is narrow: a repeat with a body seen before under that id, or any repeat before a
// damage acted, still fails.
// Method: the shrunk case under the Ambrosia invariant and under the generic one; `orDamagedIds`
// over synthetic deliveries and faults.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DuplicateExcuse } from '../../src/check/invariants.js';
import { noDuplicateDelivery } from '../../src/check/invariants.js';
import { orDamagedIds } from '../../src/protocols/ambrosia/invariants.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import type { TraceEvent } from '../../src/trace/events.js';

describe('fuzz: Ambrosia ids a damage made equal', () => {
  const fixture = readFileSync('test/fixtures/ambrosia/damaged-ids-collide.yaml', 'utf8');

  it('the shrunk seed 448 passes, and the generic invariant sees two deliveries of one id', () => {
    const report = runScenario(parseScenario(fixture, 'damaged-ids-collide.yaml'));
    expect(report.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
    const generic = fixture.replace('always: ambrosia.no-duplicate-delivery', 'always: noDuplicateDelivery');
    const strict = runScenario(parseScenario(generic, 'damaged-ids-collide.yaml'));
    expect(strict.results.filter((r) => !r.ok).map((r) => r.message)).toEqual([
      'u2@a.test at u2.a.test received m- twice',
    ]);
  });

  let seq = 0;
  const deliver = (body: string): TraceEvent =>
    ({
      seq: ++seq,
      atMs: seq,
      node: 'u2.a.test',
      lamport: seq,
      kind: 'deliver',
      user: 'u2@a.test',
      from: 'u1@a.test/fedsim',
      body,
      id: 'm-',
    }) as TraceEvent;
  const damage = (disarmed: boolean): TraceEvent =>
    ({
      seq: ++seq,
      atMs: seq,
      node: 'sim',
      lamport: 0,
      kind: 'fault',
      fault: 'corrupt',
      phase: 'end',
      detail: disarmed ? { disarmed: true } : { field: 'id', op: 'dec' },
    }) as TraceEvent;
  const never: DuplicateExcuse = { kinds: [], observe: () => undefined, excuses: () => false };
  const violations = (events: TraceEvent[]) => {
    const invariant = noDuplicateDelivery(orDamagedIds(never), 'x');
    return events.map((event) => invariant.observe(event)).filter((v) => v !== undefined);
  };

  it('excuses a new body under a repeated id only after a damage acted', () => {
    expect(violations([damage(false), deliver('m1'), deliver('m2')])).toEqual([]);
    expect(violations([deliver('m1'), deliver('m2')])).toEqual(['u2@a.test at u2.a.test received m- twice']);
    expect(violations([damage(true), deliver('m1'), deliver('m2')])).toEqual([
      'u2@a.test at u2.a.test received m- twice',
    ]);
  });

  it('still fails a second copy of one body', () => {
    expect(violations([damage(false), deliver('m1'), deliver('m2'), deliver('m1')])).toEqual([
      'u2@a.test at u2.a.test received m- twice',
    ]);
  });
});
