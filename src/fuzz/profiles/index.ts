/**
 * The fuzz profile of every registered protocol plugin (src/protocols/registry.ts): its own, or
 * the generic one derived from it (src/fuzz/generic.ts).
 */
import type { FuzzProfile } from '../profile.js';
import { genericProfile } from '../generic.js';
import { isFuzzProfile, type AnyPlugin } from '../../protocols/plugin.js';
import { pluginNamed, plugins } from '../../protocols/registry.js';

const derived = new WeakMap<AnyPlugin, FuzzProfile>();

/**
 * The profile `fedsim fuzz <name>` uses: the plugin's own, or the generic one; `<protocol>:<variant>`
 * names one of its variants (undefined for an unknown name).
 */
export function fuzzProfileNamed(name: string): FuzzProfile | undefined {
  const colon = name.indexOf(':');
  if (colon > 0) return fuzzProfileNamed(name.slice(0, colon))?.variants?.[name.slice(colon + 1)];
  const plugin = pluginNamed(name);
  if (plugin === undefined) return undefined;
  if (isFuzzProfile(plugin.fuzz)) return plugin.fuzz;
  let profile = derived.get(plugin);
  if (profile === undefined) {
    profile = genericProfile(plugin, plugin.fuzz);
    derived.set(plugin, profile);
  }
  return profile;
}

/** The protocols that give a fuzz profile of their own (what `fedsim fuzz all` runs), in registration order. */
export function ownFuzzProfiles(): Map<string, FuzzProfile> {
  return new Map(
    plugins().flatMap((plugin) => (isFuzzProfile(plugin.fuzz) ? [[plugin.protocol.name, plugin.fuzz] as const] : [])),
  );
}

/** The same, read when used: the built-in protocols' profiles and those of plugins loaded since. */
export const fuzzProfiles: ReadonlyMap<string, FuzzProfile> = {
  get size() {
    return ownFuzzProfiles().size;
  },
  get: (name) => ownFuzzProfiles().get(name),
  has: (name) => ownFuzzProfiles().has(name),
  keys: () => ownFuzzProfiles().keys(),
  values: () => ownFuzzProfiles().values(),
  entries: () => ownFuzzProfiles().entries(),
  forEach: (fn, self?: unknown) => ownFuzzProfiles().forEach((value, key) => fn.call(self, value, key, fuzzProfiles)),
  [Symbol.iterator]: () => ownFuzzProfiles()[Symbol.iterator](),
};
