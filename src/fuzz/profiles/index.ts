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
 * The profile `fedsim fuzz <name>` uses: the plugin's own, or the generic one (undefined for an
 * unknown name); with `variant` (`--profile`), or a name `<protocol>:<variant>`, its campaign under
 * that protocol profile (undefined when it has none of that name).
 */
export function fuzzProfileNamed(name: string, variant?: string): FuzzProfile | undefined {
  const colon = name.indexOf(':');
  if (colon > 0 && variant === undefined) return fuzzProfileNamed(name.slice(0, colon), name.slice(colon + 1));
  if (variant !== undefined) {
    const variants = fuzzProfileNamed(name)?.variants;
    return variants !== undefined && Object.hasOwn(variants, variant) ? variants[variant] : undefined;
  }
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
