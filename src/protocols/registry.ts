/**
 * The protocols of a fedsim process, by the name scenario files use: the plugins registered so far.
 * The built-in ones register when this module loads; a user's plugin module registers when a
 * scenario names it (`protocol: ./my-proto/index.ts`, or a package name) or the command line does
 * (`--plugin <module>`), through `loadPlugin`. Every other list of protocols (invariants, fuzz
 * profiles, conformance suites, the CLI's help) is read from here.
 *
 * TypeScript plugin modules load through tsx's ESM API; JavaScript ones are imported directly.
 * A module whose default export is not a valid plugin is a `PluginError` (exit 2), naming the module
 * and every missing or wrong field.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError } from '../core/errors.js';
import ambrosia from './ambrosia/index.js';
import bester from './bester/index.js';
import echo from './echo/index.js';
import f140 from './f140/index.js';
import fmtp from './fmtp/index.js';
import solec from './solec/index.js';
import { pluginProblems, type AnyPlugin } from './plugin.js';
import type { Protocol } from './protocol.js';

// Protocols differ in their config and command types; the registry only hands them to code that
// validates config and commands with the protocol's own schemas first.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type AnyProtocol = Protocol<any, any>;

/** A module that does not export a valid plugin, or cannot be loaded. */
export class PluginError extends UsageError {
  override name = 'PluginError';
  constructor(
    readonly module: string,
    readonly problems: readonly string[],
  ) {
    super(`${module}: not a protocol plugin:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  }
}

const registered = new Map<string, { readonly plugin: AnyPlugin; readonly source: string }>();
/** Loaded plugin modules by resolved URL, and the protocol each registered. */
const modules = new Map<string, string>();

/**
 * Registers a plugin under its protocol's name. `source` says where it came from (a module URL, or
 * `builtin`). Registering the same plugin object again is a no-op; another plugin under a name that
 * is taken is a PluginError.
 */
export function registerPlugin(value: unknown, source: string): AnyPlugin {
  const problems = pluginProblems(value);
  if (problems.length > 0) throw new PluginError(source, problems);
  const plugin = value as AnyPlugin;
  const existing = registered.get(plugin.protocol.name);
  if (existing !== undefined) {
    if (existing.plugin === plugin) return plugin;
    throw new PluginError(source, [
      `protocol.name: \`${plugin.protocol.name}\` is already registered (by ${existing.source})`,
    ]);
  }
  registered.set(plugin.protocol.name, { plugin, source });
  return plugin;
}

for (const builtin of [echo, fmtp, f140, solec, bester, ambrosia]) registerPlugin(builtin, 'builtin');

export function pluginNamed(name: string): AnyPlugin | undefined {
  return registered.get(name)?.plugin;
}

export function protocolNamed(name: string): AnyProtocol | undefined {
  return registered.get(name)?.plugin.protocol;
}

/** Every registered plugin, in registration order (the built-in ones first). */
export function plugins(): AnyPlugin[] {
  return [...registered.values()].map((entry) => entry.plugin);
}

export function protocolNames(): string[] {
  return [...registered.keys()];
}

/** Whether a protocol came with fedsim (rather than from a user's module). */
export function isBuiltin(name: string): boolean {
  return registered.get(name)?.source === 'builtin';
}

/** The module a protocol was loaded from, as it was given (undefined for a built-in one). */
export function moduleOf(name: string): string | undefined {
  const source = registered.get(name)?.source;
  return source === 'builtin' ? undefined : source;
}

/**
 * Where a plugin protocol's module is, for a trace header: a file's path relative to `cwd` (with
 * `/`), or a package name. Undefined for a built-in protocol or one registered without a module.
 */
export function moduleLocationOf(name: string, cwd: string = process.cwd()): string | undefined {
  for (const [url, protocol] of modules) {
    if (protocol !== name) continue;
    if (!url.startsWith('file:')) return url;
    const path = relative(cwd, fileURLToPath(url)).split(sep).join('/');
    return path.startsWith('.') || isAbsolute(path) ? path : `./${path}`;
  }
  return undefined;
}

/** The URLs of the plugin modules loaded so far (a fuzz worker thread loads them again). */
export function loadedPluginModules(): string[] {
  return [...modules.keys()];
}

/** Whether a scenario's `protocol` value names a module rather than a registered protocol. */
export function isModuleSpecifier(value: string): boolean {
  return registered.get(value) === undefined;
}

/** The URL a module specifier names: a path (relative to `baseDir`) or a package name resolved from `baseDir`. */
function moduleUrl(specifier: string, baseDir: string): { url: string; isPath: boolean } {
  if (specifier.startsWith('file:')) return { url: specifier, isPath: true };
  const isPath = specifier.startsWith('.') || isAbsolute(specifier) || /\.(m|c)?(t|j)s$/.test(specifier);
  if (isPath) return { url: pathToFileURL(resolve(baseDir, specifier)).href, isPath };
  return { url: specifier, isPath };
}

/** The protocol a loaded module registered, by the specifier a scenario or flag gave. */
export function protocolOfModule(specifier: string, baseDir: string): string | undefined {
  return modules.get(moduleUrl(specifier, baseDir).url);
}

async function importModule(url: string, isPath: boolean, baseDir: string): Promise<unknown> {
  const isTypeScript = /\.(m|c)?tsx?$/.test(url);
  if (isPath && !isTypeScript) return (await import(url)) as unknown;
  // tsx resolves package names from the parent URL and compiles TypeScript on the way.
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(url, pathToFileURL(resolve(baseDir, 'plugin-parent.js')).href)) as unknown;
}

/**
 * Imports a plugin module and registers its default export. `specifier` is a path (relative to
 * `baseDir`, a scenario file's directory or the working directory) or a package name. Loading the
 * same module twice gives the same plugin.
 */
export async function loadPlugin(specifier: string, baseDir: string = process.cwd()): Promise<AnyPlugin> {
  const { url, isPath } = moduleUrl(specifier, baseDir);
  const known = modules.get(url);
  if (known !== undefined) return pluginNamed(known) as AnyPlugin;
  if (isPath && !existsSync(new URL(url))) throw new PluginError(specifier, ['no such file']);
  let namespace: unknown;
  try {
    namespace = await importModule(url, isPath, baseDir);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new PluginError(specifier, [`cannot be loaded (${reason})`]);
  }
  const exported = (namespace as { default?: unknown } | undefined)?.default;
  if (exported === undefined)
    throw new PluginError(specifier, ['default: missing (export default definePlugin({...}))']);
  // A module compiled to CommonJS puts the plugin one level down.
  const plugin =
    exported !== null && typeof exported === 'object' && !('protocol' in exported) && 'default' in exported
      ? (exported as { default: unknown }).default
      : exported;
  const registeredPlugin = registerPlugin(plugin, specifier);
  modules.set(url, registeredPlugin.protocol.name);
  return registeredPlugin;
}
