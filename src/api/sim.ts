/** `fedsim/sim`: the simulator and the world it runs nodes in (docs/simulator.md). */
export { Simulator, type RunLimits, type RunOutcome, type StopReason } from '../sim/simulator.js';
export { World, defaultNetwork, type NetworkModel, type NodeSpec } from '../sim/world.js';
export { TraceRecorder } from '../trace/recorder.js';
