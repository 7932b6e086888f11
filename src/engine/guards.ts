/**
 * Guards, compiled once into closures: a named guard is looked up in the machine's
 * implementations here, `and`/`or`/`not` become combinations of their parts, and params are
 * resolved per call as xstate does (`evaluateGuard`).
 */
import type { EventObject } from 'xstate';
import { UnsupportedMachineError } from './unsupported.js';
import { builtinGuard, describeRef, type Implementations } from './xstate-internals.js';

/** A machine-defined function: it takes xstate's argument objects, typed by the machine itself. */
export type Expr = (args: unknown, params: unknown) => unknown;

export type Guard = (context: unknown, event: EventObject) => boolean;

export function isFunction(value: unknown): value is Expr {
  return typeof value === 'function';
}

/** A reference's params (`{ type, params }`), resolved against the context and event when a function. */
export function paramsOf(ref: unknown, context: unknown, event: EventObject): unknown {
  if (typeof ref !== 'object' || ref === null || !('params' in ref)) return undefined;
  const params = (ref as { params: unknown }).params;
  return isFunction(params) ? params({ context, event }, undefined) : params;
}

export function compileGuard(ref: unknown, impl: Implementations, machineId: string): Guard {
  const inline = typeof ref === 'function';
  const resolved = inline ? ref : impl.guards[typeof ref === 'string' ? ref : describeRef(ref)];
  if (resolved === undefined) {
    throw new UnsupportedMachineError(`machine ${machineId}: guard '${describeRef(ref)}' is not implemented`);
  }
  if (!isFunction(resolved)) return compileGuard(resolved, impl, machineId);
  const builtin = builtinGuard(resolved);
  if (builtin !== undefined) {
    if (builtin.kind === 'stateIn') {
      throw new UnsupportedMachineError(`machine ${machineId}: guard '${describeRef(ref)}' (stateIn) is not supported`);
    }
    const parts = builtin.guards.map((part) => compileGuard(part, impl, machineId));
    if (builtin.kind === 'and') return (context, event) => parts.every((part) => part(context, event));
    if (builtin.kind === 'or') return (context, event) => parts.some((part) => part(context, event));
    const [inner] = parts;
    if (builtin.kind === 'not' && inner !== undefined) return (context, event) => !inner(context, event);
    throw new UnsupportedMachineError(`machine ${machineId}: guard '${describeRef(ref)}' is not supported`);
  }
  const usesParams = !inline && typeof ref !== 'string';
  return (context, event) =>
    Boolean(resolved({ context, event }, usesParams ? paramsOf(ref, context, event) : undefined));
}
