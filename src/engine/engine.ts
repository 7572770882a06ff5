/**
 * The engine: `run(kernel, args)` validates the args, picks a backend (pinned, or the fastest
 * available one that implements and supports this call), cuts the rows into tasks for the
 * Piscina pool (or makes one call to a backend that threads internally), and returns the
 * stitched output. If a backend throws mid-run, the failure is reported and the whole call is
 * retried on the next backend, into a fresh output, so a result never mixes backends.
 *
 * Calls are typed by the kernel contract (src/kernels/contract.ts): `run('denseScoreTopK', args)`
 * takes DenseScoreTopKArgs and resolves to a TopK.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import { getKernel, type KernelArgs, type KernelDef, type KernelName, type KernelOutput } from '../kernels/contract.js';
import { outputMismatch } from '../kernels/kernelDef.js';
import { backendModule, backendNames, loadBackend, probeBackend, type BackendStatus } from '../backends/registry.js';
import type { PoolParallelKernel, PoolParallelPlan } from '../backends/types.js';
import { isShared, shareArgs } from './sharedArgs.js';
import type { WorkerTask } from './worker.js';

export interface RunOptions {
  /** backend name or 'auto' (default: the engine's defaultBackend) */
  backend?: string;
  signal?: AbortSignal;
  /** threads to use (default: all the engine's threads) */
  threads?: number;
  /** false: run pool backends on the calling thread (no workers) */
  pool?: boolean;
}

/**
 * Options of one call of kernel K: `out` is an output to write into instead of a fresh one (its
 * shape must be the kernel's outputShape; kernels without one do not take it). Reusing outputs
 * across training steps saves the allocation and the page faults of fresh memory.
 */
export type CallOptions<K extends KernelName> = RunOptions & { out?: KernelOutput<K> };

export interface RunResult<O> {
  out: O;
  backend: string;
  seconds: number;
  /** backends that failed before this one succeeded, with their errors */
  failures: Array<{ backend: string; error: string }>;
}

/** Ranks backends for a kernel and a problem size; the calibration layer plugs in here. */
export type BackendRanker = (kernel: KernelName, size: number, candidates: BackendStatus[]) => BackendStatus[];

const byPriority: BackendRanker = (_k, _s, c) => [...c].sort((a, b) => b.priority - a.priority);

/** Calls below this many output rows × work stay on the calling thread: a pool round trip costs ~0.1 ms. */
const INLINE_WORK = 2e6;

/** Whether this Node's require() loads ES modules (absent from older @types/node, hence the cast). */
function requireLoadsEsm(): boolean {
  return (process.features as { require_module?: boolean }).require_module === true;
}

/** What an observer hears after every successful engine call. */
export interface RunRecord {
  kernel: KernelName;
  backend: string;
  seconds: number;
  rows: number;
}

export interface EngineOptions {
  /** threads to use (default: all cores) */
  threads?: number;
  /** backend for calls that name none (default 'auto') */
  backend?: string;
}

export class Engine {
  private pool: Piscina | null = null;
  private readonly observers = new Set<(r: RunRecord) => void>();
  private readonly fallbackNoted = new Set<string>();
  private ranker: BackendRanker = byPriority;
  /** where failover messages go */
  log: (msg: string) => void = (m) => process.stderr.write(`affinity: ${m}\n`);
  readonly threads: number;
  /** the backend of calls that name none: 'auto' or a backend name */
  readonly defaultBackend: string;

  /** `new Engine(2)` is short for `new Engine({ threads: 2 })` */
  constructor(options: EngineOptions | number = {}) {
    const opts = typeof options === 'number' ? { threads: options } : options;
    this.threads = Math.max(1, opts.threads ?? os.availableParallelism());
    this.defaultBackend = opts.backend ?? 'auto';
  }

  /** Listen to every successful call (kernel, backend, time); returns the function that stops listening. */
  observe(fn: (r: RunRecord) => void): () => void {
    this.observers.add(fn);
    return () => { this.observers.delete(fn); };
  }

  setRanker(r: BackendRanker | null): void {
    this.ranker = r ?? byPriority;
  }

  private getPool(): Piscina {
    if (!this.pool) {
      this.pool = new Piscina({
        filename: new URL('./worker.js', import.meta.url).href,
        maxThreads: this.threads,
        minThreads: 0,
        idleTimeout: 2000,
        // Piscina's worker loads the task file with require() first, import() when that throws. Where
        // Node's require() loads ES modules (Node ≥ 20.19, 22.12: process.features.require_module),
        // that require() of this package's ESM worker has crashed Node outright, now and then, as
        // workers started together ("FATAL ERROR: v8::Module::IsGraphAsync must be used on an
        // instantiated module", from ModuleWrap::InstantiateSync under piscina/dist/worker.js). With
        // require(esm) off in the workers the require() throws ERR_REQUIRE_ESM and Piscina imports.
        ...(requireLoadsEsm() ? { execArgv: [...process.execArgv, '--no-experimental-require-module'] } : {}),
      });
    }
    return this.pool;
  }

  /** Backends that are available, implement `kernel` and support these args, best first for this size. */
  async candidates<K extends KernelName>(kernel: K, size: number, args?: KernelArgs<K>): Promise<BackendStatus[]> {
    const all = await Promise.all(backendNames().map(probeBackend));
    const usable: BackendStatus[] = [];
    for (const st of all) {
      if (!st.available || !st.kernels.includes(kernel)) continue;
      if (args !== undefined && (await unsupportedReason(st.name, kernel, args)) !== null) continue;
      usable.push(st);
    }
    return this.ranker(kernel, size, usable);
  }

  /** The backends to try for a call, in order: the pinned one (or 'js' when it cannot run the call), or the ranked candidates. */
  async resolveBackends<K extends KernelName>(kernel: K, size: number, requested?: string, args?: KernelArgs<K>): Promise<BackendStatus[]> {
    const name = requested ?? this.defaultBackend;
    if (name === 'auto') {
      const c = await this.candidates(kernel, size, args);
      if (!c.length) throw new Error(`no available backend implements '${kernel}' for these arguments`);
      return c;
    }
    const st = await probeBackend(name);
    if (!st.available) throw new Error(`backend '${name}' is not available: ${st.reason}`);
    // the TF.js rule: a pinned backend without this kernel (or beyond its limits) falls back to the reference, said once
    const why = !st.kernels.includes(kernel) ? `has no '${kernel}' kernel` : args === undefined ? null : await unsupportedReason(name, kernel, args);
    if (why !== null) {
      const key = `${name}/${kernel}/${why}`;
      if (!this.fallbackNoted.has(key)) {
        this.fallbackNoted.add(key);
        this.log(`backend '${name}' ${why.startsWith('has no') ? why : `cannot run this ${kernel} call (${why})`}; running it on 'js'`);
      }
      return [await probeBackend('js')];
    }
    return [st];
  }

  /**
   * Run a small call synchronously on the calling thread (single-user recommend, fold-in) with the
   * reference kernel: below INLINE_WORK no backend beats it once its call overhead is counted, and
   * the reference is what every backend is tested against, so the result is the same on any backend.
   */
  runSync<K extends KernelName>(kernelName: K, args: KernelArgs<K>, opts: Pick<RunOptions, 'signal'> = {}): KernelOutput<K> {
    const kernel = getKernel(kernelName);
    kernel.validate(args);
    opts.signal?.throwIfAborted();
    const out = kernel.allocate(args);
    const res = kernel.reference(args, out, 0, kernel.rows(args));
    if (res instanceof Promise) throw new Error(`kernel '${kernelName}': the reference is asynchronous; use run()`);
    return out;
  }

  async run<K extends KernelName>(kernelName: K, args: KernelArgs<K>, opts: CallOptions<K> = {}): Promise<KernelOutput<K>> {
    return (await this.runDetailed(kernelName, args, opts)).out;
  }

  async runDetailed<K extends KernelName>(kernelName: K, args: KernelArgs<K>, opts: CallOptions<K> = {}): Promise<RunResult<KernelOutput<K>>> {
    const kernel = getKernel(kernelName);
    kernel.validate(args);
    if (opts.out !== undefined) {
      if (!kernel.outputShape) throw new TypeError(`kernel '${kernelName}' does not write into a caller's output (RunOptions.out)`);
      const why = outputMismatch(opts.out, kernel.outputShape(args));
      if (why) throw new RangeError(`kernel '${kernelName}': the caller's output does not fit these args: ${why}`);
    }
    const rows = kernel.rows(args);
    const work = kernel.flops ? kernel.flops(args) : rows * 1e4;
    const order = await this.resolveBackends(kernelName, work, opts.backend, args);
    const failures: RunResult<KernelOutput<K>>['failures'] = [];
    for (const st of order) {
      opts.signal?.throwIfAborted();
      // a retry on the next backend rewrites every row of the caller's output
      const out = opts.out ?? kernel.allocate(args);
      const t0 = performance.now();
      try {
        await this.runOn(st, kernelName, kernel, args, out, work, opts);
        const seconds = (performance.now() - t0) / 1000;
        for (const fn of this.observers) fn({ kernel: kernelName, backend: st.name, seconds, rows });
        return { out, backend: st.name, seconds, failures };
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        const msg = e instanceof Error ? e.message : String(e);
        failures.push({ backend: st.name, error: msg });
        if (kernel.mutatesArgs) throw new Error(`kernel '${kernelName}' failed on backend '${st.name}' (${msg}); it updates its inputs in place, so it is not retried on another backend`, { cause: e });
        const next = order[order.indexOf(st) + 1];
        if (!next) throw new Error(`kernel '${kernelName}' failed on every backend: ${failures.map((f) => `${f.backend}: ${f.error}`).join('; ')}`, { cause: e });
        this.log(`backend '${st.name}' failed on ${kernelName} (${msg}); retrying on '${next.name}'`);
      }
    }
    throw new Error('unreachable');
  }

  private async runOn<K extends KernelName>(st: BackendStatus, kernelName: K, kernel: KernelDef<KernelArgs<K>, KernelOutput<K>>, args: KernelArgs<K>, out: KernelOutput<K>, work: number, opts: RunOptions): Promise<void> {
    const backend = await loadBackend(st.name);
    if (backend instanceof Error) throw backend;
    const impl = backend.kernels[kernelName] as KernelDef<KernelArgs<K>, KernelOutput<K>>['reference'];
    const rows = kernel.rows(args);
    const threads = Math.max(1, Math.min(opts.threads ?? this.threads, this.threads));
    // a backend registered from code without a module URL cannot be loaded by the workers: it runs inline
    const poolable = backend.threading === 'pool' && st.loadableInWorkers;
    // a parallel call the backend runs as cooperating tasks over shared memory (Hogwild on wasm)
    const parallel = backend.poolParallel?.[kernelName] as PoolParallelKernel<KernelArgs<K>, KernelOutput<K>> | undefined;
    if (parallel) {
      const pooled = poolable && opts.pool !== false && threads > 1;
      const plan = parallel.plan(args, out, 0, rows, pooled ? threads : 1);
      if (plan) {
        await this.runPlan(st.name, kernelName, parallel, plan, pooled, opts.signal);
        return;
      }
    }
    const inline = !poolable || opts.pool === false || threads === 1 || rows < 2 || work < INLINE_WORK || kernel.splittable === false;
    if (inline) {
      await impl(args, out, 0, rows, { threads, signal: opts.signal });
      return;
    }
    assertSharedOutput(kernelName, out);
    // derived data every row block needs (kernel.prepare) is computed once here, not in each worker;
    // an inline call computes what its backend needs itself (the native addon, its own transpose)
    const shared = shareArgs(kernel.prepare ? kernel.prepare(args) : args);
    // several tasks per thread so uneven rows still balance
    const step = Math.ceil(rows / Math.min(rows, threads * 4));
    const module = backendModule(st.name);
    const tasks: WorkerTask[] = [];
    for (let r = 0; r < rows; r += step) {
      tasks.push({ backend: st.name, backendModule: module, kernel: kernelName, args: shared, out, rowStart: r, rowEnd: Math.min(rows, r + step) });
    }
    await this.runTasks(tasks, opts.signal);
  }

  /**
   * Run the tasks of a parallel call (Backend.poolParallel): on the pool, one per worker, or one after another on
   * the calling thread (one task, or no pool); then the plan's finish, and its release whatever happened.
   */
  private async runPlan<A, O>(backend: string, kernel: KernelName, parallel: PoolParallelKernel<A, O>, plan: PoolParallelPlan, pooled: boolean, signal: AbortSignal | undefined): Promise<void> {
    try {
      if (!pooled || plan.tasks.length <= 1) {
        for (const t of plan.tasks) {
          signal?.throwIfAborted();
          await parallel.runTask(t.task);
        }
      } else {
        const module = backendModule(backend);
        await this.runTasks(plan.tasks.map((t) => ({ backend, backendModule: module, kernel, args: null, out: null, part: t.task, rowStart: t.rowStart, rowEnd: t.rowEnd })), signal);
      }
      plan.finish();
    } finally {
      plan.release();
    }
  }

  /**
   * Run row-range tasks on the pool. A task whose worker died (process.exit, a fatal error in the
   * thread) is run again on a fresh pool, at most MAX_TASK_ATTEMPTS times in all: its rows are
   * recomputed whole, so the output is what one clean run gives. A kernel that throws is not retried
   * here (the caller fails over). After the last attempt the call rejects naming the kernel and rows.
   */
  private async runTasks(tasks: WorkerTask[], signal: AbortSignal | undefined): Promise<void> {
    let pending = tasks;
    for (let attempt = 1; ; attempt++) {
      const pool = this.getPool();
      // on the first death, end this pool: Piscina may start no worker for the tasks still queued
      // (it stops after a failed bootstrap), which would leave their promises pending forever
      let ending: Promise<void> | null = null;
      const endPool = (e: unknown): never => {
        if (isWorkerDeath(e) && !ending) { if (this.pool === pool) this.pool = null; ending = pool.destroy(); }
        throw e;
      };
      const settled = await Promise.allSettled(pending.map((t) => pool.run(t, { signal }).catch(endPool)));
      await ending;
      const failed: Array<{ task: WorkerTask; error: unknown }> = [];
      settled.forEach((r, i) => { if (r.status === 'rejected') failed.push({ task: pending[i], error: r.reason }); });
      if (!failed.length) return;
      signal?.throwIfAborted();
      const kernelError = failed.find((f) => !isWorkerDeath(f.error));
      if (kernelError) throw kernelError.error;
      const what = `${tasks[0].kernel} on '${tasks[0].backend}'`;
      const ranges = failed.map((f) => `[${f.task.rowStart}, ${f.task.rowEnd})`).join(', ');
      const cause = failed.find((f) => !/^Terminating/.test(errorText(f.error)))?.error ?? failed[0].error;
      if (attempt >= MAX_TASK_ATTEMPTS) {
        throw new Error(`kernel ${what}: a pool worker died running rows ${ranges} on each of ${attempt} attempts (${errorText(cause)})`, { cause });
      }
      this.log(`a pool worker died running ${what} rows ${ranges} (${errorText(cause)}); running ${failed.length === 1 ? 'that task' : `those ${failed.length} tasks`} again on fresh workers (attempt ${attempt + 1} of ${MAX_TASK_ATTEMPTS})`);
      pending = failed.map((f) => f.task);
    }
  }

  /** Stop the worker pool (the process can then exit). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.destroy();
  }
}

/** Attempts of one pool task whose worker dies, before the call fails. */
const MAX_TASK_ATTEMPTS = 3;

/** Piscina's errors for a task whose worker thread ended under it (not an error the kernel threw). */
function isWorkerDeath(e: unknown): boolean {
  return e instanceof Error && /^(worker exited with code|Terminating worker thread)/.test(e.message);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Why backend `name` cannot run this call of `kernel` (its `supports` entry), or null when it can. */
async function unsupportedReason<K extends KernelName>(name: string, kernel: K, args: KernelArgs<K>): Promise<string | null> {
  const b = await loadBackend(name);
  if (b instanceof Error) return b.message;
  const check = b.supports?.[kernel] as ((a: KernelArgs<K>) => string | null) | undefined;
  return check ? check(args) : null;
}

/** Pool workers write into `out` in place, so every typed array in it must be on shared memory. */
function assertSharedOutput(kernel: string, out: unknown): void {
  // an output that is itself a typed array (elementwise, dropout, …): check it, never enumerate its elements
  if (ArrayBuffer.isView(out)) {
    if (!isShared(out)) throw new Error(`kernel '${kernel}' allocated its output outside shared memory`);
    return;
  }
  for (const [k, v] of Object.entries(out as Record<string, unknown>)) {
    if (ArrayBuffer.isView(v) && !isShared(v)) throw new Error(`kernel '${kernel}' allocated output field '${k}' outside shared memory`);
  }
}
