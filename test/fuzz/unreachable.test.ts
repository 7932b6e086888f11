// Goal: the committed unreachable list (src/fuzz/unreachable-list.ts) names only states and
// transitions the protocols' statecharts define, each with a reason, so a renamed state or
// transition breaks it; and a campaign's coverage sorts what it never reached into listed
// unreachable (with the reason) and gaps, and flags a listed item that a run reached (a machine
// listed whole included).
// Method: every key against the machine catalog (each statechart's definition, read from xstate);
// a synthetic campaign coverage classified against a small list.
import { describe, expect, it } from 'vitest';
import { coverageMarkdown, type CampaignCoverage } from '../../src/fuzz/coverage.js';
import { classifyCoverage, unreachableReason } from '../../src/fuzz/unreachable.js';
import { unreachableList } from '../../src/fuzz/unreachable-list.js';
import { machineCatalog } from './machine-catalog.js';

describe('fuzz: the unreachable list', () => {
  it('names only machine kinds, states and transitions the statecharts define, each with a reason', () => {
    const unknown: string[] = [];
    for (const [key, reason] of Object.entries(unreachableList)) {
      const space = key.indexOf(' ');
      const [kind, item] = [key.slice(0, space), key.slice(space + 1)];
      const definition = machineCatalog.get(kind);
      const known =
        definition !== undefined &&
        (item === '*' || (item.includes('>') ? definition.transitions : definition.states).includes(item));
      if (!known) unknown.push(key);
      expect(reason.length, key).toBeGreaterThan(20);
    }
    expect(unknown).toEqual([]);
  });

  it('sorts what a campaign never reached into listed unreachable and gaps', () => {
    const coverage: CampaignCoverage = {
      machines: [
        {
          kind: 'toy',
          states: { reached: ['idle', 'busy'], never: ['failed'] },
          transitions: { reached: ['idle>busy'], never: ['busy>failed', 'busy>idle'] },
        },
      ],
      sometimes: [],
    };
    const list = {
      'toy failed': 'dead: nothing fails',
      'toy busy>failed': 'dead: nothing fails',
      'toy idle>busy': 'x',
    };
    const unstarted = { other: { states: ['a', 'b'], transitions: ['a>b'] } };
    const classified = classifyCoverage(coverage, unstarted, { ...list, 'other *': 'never started' });
    expect(classified.states).toEqual({ all: 5, reached: 2, listed: 3, gaps: 0 });
    expect(classified.transitions).toEqual({ all: 4, reached: 1, listed: 2, gaps: 1 });
    expect(classified.gaps).toEqual(['toy busy>idle']);
    expect(classified.stale).toEqual(['toy idle>busy']);
    expect(classified.listed).toContain('toy busy>failed (dead: nothing fails)');
    expect(unreachableReason('other', 'a>b', { 'other *': 'never started' })).toBe('never started');
    // A machine listed whole that a run started is out of date, named once.
    const started = classifyCoverage(coverage, {}, { ...list, 'toy *': 'never started' });
    expect(started.stale).toEqual(['toy *']);
    expect(started.gaps).toEqual([]);
  });

  it('marks gaps in the campaign report', () => {
    const coverage: CampaignCoverage = {
      machines: [
        {
          kind: 'toy',
          states: { reached: ['idle'], never: ['busy'] },
          transitions: { reached: [], never: ['idle>busy'] },
        },
      ],
      sometimes: [],
    };
    expect(coverageMarkdown('toy', coverage)).toContain('transitions: idle>busy (gap)');
  });
});
