/** `fedsim/fuzz`: fuzz profiles, one generated run, and campaigns (docs/fuzzing.md). */
export type { FuzzProfile, FuzzUser, Topology, DeliveryPromise } from '../fuzz/profile.js';
export { genericProfile } from '../fuzz/generic.js';
export { fuzzProfileNamed, ownFuzzProfiles } from '../fuzz/profiles/index.js';
export { hostNames, networkArbitrary } from '../fuzz/profiles/network.js';
export { runOne, fuzzProperty, type FuzzRunOptions, type FuzzRunResult, type FuzzFailure } from '../fuzz/run-one.js';
export { runCampaign, type CampaignOptions, type CampaignResult } from '../fuzz/campaign.js';
export { canaryKinds, canaryProtocol, type CanaryKind } from '../fuzz/canary.js';
