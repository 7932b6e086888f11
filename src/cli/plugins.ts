/**
 * Protocol plugins on the command line: `--plugin <module>` (any command, repeatable) loads a
 * plugin module before the command runs, and a command's `<protocol>` argument may itself be a
 * module path (`fedsim fuzz ./my-proto/index.ts`). Paths are relative to the working directory.
 */
import { Option } from 'commander';
import { loadPlugin, protocolNamed, protocolNames } from '../protocols/registry.js';

export function pluginOption(): Option {
  return new Option('--plugin <module>', 'load a protocol plugin module first (a path or a package name; repeatable)')
    .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .default(undefined);
}

export async function loadPlugins(modules: readonly string[] | undefined): Promise<void> {
  for (const module of modules ?? []) await loadPlugin(module);
}

/** The protocol name a `<protocol>` argument gives: a registered name, or a plugin module to load. */
export async function protocolArgument(value: string): Promise<string> {
  if (protocolNamed(value) !== undefined || value === 'all') return value;
  if (!/^[./]|\.(m|c)?(t|j)s$/.test(value) && !value.includes('/')) return value;
  return (await loadPlugin(value)).protocol.name;
}

/** The known protocols, for help and messages. */
export function knownProtocols(): string {
  return protocolNames().join(', ');
}
