// Goal: the bench's fuzz rows time what they say: the protocol's own campaign on its default
// profile, the runs it names, passing as `fedsim fuzz` does. No figure is asserted (figures belong
// to the bench); what is asserted is that the cases ran and passed, and that the whole-campaign
// row runs the real command to its end.
// Method: a few cases through each helper.
import { describe, expect, it } from 'vitest';
import { campaignFuzzRate, steadyFuzzRate } from '../../src/bench/fuzz.js';

describe('bench: fuzz rows', () => {
  it('steady state runs the warm-up and then the timed cases of the default profile', () => {
    const steady = steadyFuzzRate('f140', 1, 3);
    expect(steady.passed).toBe(3);
    expect(Number.isFinite(steady.casesPerSecond) && steady.casesPerSecond > 0).toBe(true);
  });

  it('refuses a protocol without a fuzz profile', () => {
    expect(() => steadyFuzzRate('nope', 0, 1)).toThrow(/no fuzz profile for nope/);
  });

  it('a whole campaign is the fedsim fuzz command, run to its end', () => {
    const campaign = campaignFuzzRate('solec', 2);
    expect(campaign.status).toBe(0);
    expect(campaign.casesPerSecond).toBeCloseTo(2 / campaign.seconds, 6);
  }, 120_000);
});
