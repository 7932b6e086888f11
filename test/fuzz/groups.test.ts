// Goal: failures group by signature (same broken invariants, same shrunk shape), each group
// with its count, seeds and smallest counterexample, and the grouping does not depend on the
// order the counterexamples arrive in (merged shards group as one run does).
// Method: hand-built counterexample records, and the shape of a real scenario source.
import { describe, expect, it } from 'vitest';
import { groupFailures, invariantOf, shapeOf, type CounterexampleRecord } from '../../src/fuzz/groups.js';
import type { ScenarioFile } from '../../src/scenario/schema.js';

function record(seed: number, steps: number, failure: string, shape: string): CounterexampleRecord {
  return { seed, file: `f-${seed}.yaml`, replay: `fedsim run f-${seed}.yaml`, steps, failures: [failure], shape };
}

const oneSend = '2 nodes: command send';
const withCorrupt = '2 nodes: corrupt, command send, disarm, command send';
const records = [
  record(4, 4, 'by 12102ms u1@n2.test received ["m1","m2"]: missing ["m1","m2"]; got []', withCorrupt),
  record(1, 1, 'by 3100ms u1@n1.test received ["m1"]: missing ["m1"]; got []', oneSend),
  record(7, 4, 'by 12101ms u1@n2.test received ["m1","m2"]: missing ["m1","m2"]; got []', withCorrupt),
  record(2, 1, 'by 3100ms u1@n2.test received ["m1"]: missing ["m1"]; got []', oneSend),
  record(9, 1, 'noDuplicateDelivery: m1 delivered twice to u1@n2.test', oneSend),
  record(5, 1, 'by 3100ms u1@n1.test received ["m1"]: missing ["m1"]; got []', oneSend),
];

describe('fuzz: failure groups', () => {
  it('normalises an invariant: numbers and listed values left out, the message dropped', () => {
    expect(invariantOf('by 3100ms u1@n1.test received ["m1"]: missing ["m1"]; got []')).toBe(
      'by #ms u#@n#.test received […]',
    );
    expect(invariantOf('f140.authentic: forged')).toBe('f#.authentic');
  });

  it('groups by invariant and shape, the largest first, with the smallest counterexample', () => {
    const groups = groupFailures([{ protocol: 'f140', canary: 'drop', counterexamples: records }]);
    expect(groups.map((g) => [g.count, g.seeds])).toEqual([
      [3, [1, 2, 5]],
      [2, [4, 7]],
      [1, [9]],
    ]);
    expect(groups[0]?.smallest.seed).toBe(1);
    expect(groups[0]?.shape).toBe(oneSend);
    expect(groups[1]?.smallest.seed).toBe(4);
    expect(groups[2]?.invariants).toEqual(['noDuplicateDelivery']);
    expect(new Set(groups.map((g) => g.id)).size).toBe(3);
    for (const group of groups) expect(group.id).toMatch(/^[0-9a-f]{8}$/);
  });

  it('picks the fewest steps, then the lowest seed, as the smallest', () => {
    const groups = groupFailures([
      {
        protocol: 'fmtp',
        counterexamples: [record(3, 5, 'x: a', 's'), record(8, 2, 'x: b', 's'), record(6, 2, 'x: c', 's')],
      },
    ]);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.smallest.seed).toBe(6);
  });

  it('does not depend on the order of the counterexamples, and keeps protocols apart', () => {
    const forward = groupFailures([
      { protocol: 'f140', counterexamples: records },
      { protocol: 'solec', counterexamples: records.slice(0, 2) },
    ]);
    const backward = groupFailures([
      { protocol: 'f140', counterexamples: [...records].reverse() },
      { protocol: 'solec', counterexamples: records.slice(0, 2).reverse() },
    ]);
    expect(backward).toEqual(forward);
    expect(forward.filter((g) => g.protocol === 'solec')).toHaveLength(2);
    const f140Ids = forward.filter((g) => g.protocol === 'f140').map((g) => g.id);
    expect(forward.filter((g) => g.protocol === 'solec').some((g) => f140Ids.includes(g.id))).toBe(false);
  });

  it('reads a shape from a scenario source: nodes and step kinds, without times or values', () => {
    const source = {
      name: 'x',
      protocol: 'f140',
      nodes: { 'a.test': {}, 'b.test': {} },
      steps: [
        { atMs: 100, do: 'corrupt', between: ['a.test', 'b.test'] },
        { atMs: 102, do: 'command', node: 'a.test', command: { type: 'send', text: 'm1' } },
      ],
    } as unknown as ScenarioFile;
    expect(shapeOf(source)).toBe('2 nodes: corrupt, command send');
  });
});
