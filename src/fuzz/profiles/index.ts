/** The fuzz profile of every protocol, by name. */
import type { FuzzProfile } from '../profile.js';
import { ambrosiaProfile } from './ambrosia.js';
import { besterProfile } from './bester.js';
import { f140Profile } from './f140.js';
import { fmtpProfile } from './fmtp.js';
import { solecProfile } from './solec.js';

export const fuzzProfiles: ReadonlyMap<string, FuzzProfile> = new Map([
  ['fmtp', fmtpProfile],
  ['f140', f140Profile],
  ['solec', solecProfile],
  ['bester', besterProfile],
  ['ambrosia', ambrosiaProfile],
]);

export function fuzzProfileNamed(name: string): FuzzProfile | undefined {
  return fuzzProfiles.get(name);
}
