/**
 * The explicit engine context every heavy call carries: which engine runs the kernels, which
 * backend to pin ('auto' lets the engine choose per kernel and size), and an AbortSignal.
 *
 * Library calls take the context's fields in their options (`fit(x, { backend: 'wasm' })`,
 * `recommendBatch(users, k, { engine, backend, signal })`); `resolveContext` fills what is
 * missing: the process engine (`getEngine()`) and that engine's default backend. Nothing in the
 * library reads or writes `process.env` to choose a backend: the CLI reads AFFINITY_BACKEND once,
 * at its edge, and passes the context down.
 */
import type { Engine } from './engine.js';
import { getEngine } from './processEngine.js';

/** The context's fields as callers give them: every one optional. */
export interface RunContext {
  /** the engine that runs the kernels (default: the process engine, getEngine()) */
  engine?: Engine;
  /** a backend name to pin, or 'auto' (default: the engine's default backend) */
  backend?: string;
  signal?: AbortSignal;
}

/** A context with the engine and backend filled in. */
export interface Context {
  readonly engine: Engine;
  readonly backend: string;
  readonly signal?: AbortSignal;
}

/** The context of `given`, with the defaults filled in (the process engine, its default backend). */
export function resolveContext(given: RunContext = {}): Context {
  const engine = given.engine ?? getEngine();
  return { engine, backend: given.backend ?? engine.defaultBackend, signal: given.signal };
}

/** Only the context fields of an options object (so a context can be handed on without the rest). */
export function contextOf(o: RunContext | undefined): RunContext {
  return o ? { engine: o.engine, backend: o.backend, signal: o.signal } : {};
}
