/** The fuzz profile of every protocol, by name. */
import type { FuzzProfile } from '../profile.js';
import { ambrosiaProfile } from '../../protocols/ambrosia/fuzz.js';
import { besterProfile } from '../../protocols/bester/fuzz.js';
import { f140Profile } from '../../protocols/f140/fuzz.js';
import { fmtpProfile } from '../../protocols/fmtp/fuzz.js';
import { solecProfile } from '../../protocols/solec/fuzz.js';

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
