/**
 * fedsim's package entry (`import ... from 'fedsim'`): the node contract a protocol implements, the
 * plugin type that carries it, and the registry that loads plugins. The simulator, scenarios,
 * fuzzing, conformance and the vitest helpers have their own entries (`fedsim/sim`,
 * `fedsim/scenario`, `fedsim/fuzz`, `fedsim/conformance`, `fedsim/vitest`); docs/protocols.md
 * walks through writing a plugin.
 */
export * from './protocols/protocol.js';
export {
  definePlugin,
  pluginProblems,
  type AnyPlugin,
  type GenericFuzzOptions,
  type Lazy,
  type ProtocolPlugin,
} from './protocols/plugin.js';
export {
  PluginError,
  loadPlugin,
  pluginNamed,
  plugins,
  protocolNamed,
  protocolNames,
  registerPlugin,
  type AnyProtocol,
} from './protocols/registry.js';
export type { Requirement } from './protocols/requirements.js';
export type { Invariant } from './check/invariants.js';
export {
  field,
  list,
  text,
  type InvariantContext,
  type InvariantFactory,
  type InvariantNode,
} from './check/context.js';
export type { TraceEvent } from './trace/events.js';
export type { ConnId, NodeId } from './core/ids.js';
export type { Ms } from './core/time.js';
export type { Prng } from './core/prng.js';
