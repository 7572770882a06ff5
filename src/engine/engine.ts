/**
 * The engine: `run(kernel, args)` validates the args, picks a backend (pinned, or the
 * fastest available for this kernel), cuts the rows into tasks for the Piscina pool (or
 * makes one call to a backend that threads internally), and returns the stitched output.
 * If a backend throws mid-run, the failure is reported and the whole call is retried on
 * the next backend, into a fresh output, so a result never mixes backends.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import '../kernels/index.js';
import { getKernel } from '../kernels/index.js';
import { loadBackend, probeBackend, type BackendStatus } from '../backends/registry.js';
import { isShared, shareArgs } from './share.js';
import type { WorkerTask } from './worker.js';
import { useCalibration } from './calibration.js';

export interface RunOptions {
  /** backend name or 'auto' (default: the engine's defaultBackend) */
  backend?: string;
  signal?: AbortSignal;
  /** threads to use (default: all cores) */
  threads?: number;
  /** false: run pool backends on the calling thread (no workers) */
  pool?: boolean;
}

export interface RunResult<O> {
  out: O;
  backend: string;
  seconds: number;
  /** backends that failed before this one succeeded, with their errors */
  failures: Array<{ backend: string; error: string }>;
}

/** Ranks backends for a kernel and a problem size; the calibration layer plugs in here. */
export type BackendRanker = (kernel: string, size: number, candidates: BackendStatus[]) => BackendStatus[];

const byPriority: BackendRanker = (_k, _s, c) => [...c].sort((a, b) => b.priority - a.priority);

/** Calls below this many output rows × work stay on the calling thread: a pool round trip costs ~0.1 ms. */
const INLINE_WORK = 2e6;

/** What an observer hears after every successful engine call. */
export interface RunRecord {
  kernel: string;
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
      });
    }
    return this.pool;
  }

  /** Backends that are available and implement `kernel`, best first for this size. */
  async candidates(kernel: string, size: number): Promise<BackendStatus[]> {
    const { backendNames } = await import('../backends/registry.js');
    const all = await Promise.all(backendNames().map(probeBackend));
    const usable = all.filter((b) => b.available && b.kernels.includes(kernel));
    return this.ranker(kernel, size, usable);
  }

  async resolveBackends(kernel: string, size: number, requested?: string): Promise<BackendStatus[]> {
    const name = requested ?? this.defaultBackend;
    if (name === 'auto') {
      const c = await this.candidates(kernel, size);
      if (!c.length) throw new Error(`no available backend implements '${kernel}'`);
      return c;
    }
    const st = await probeBackend(name);
    if (!st.available) throw new Error(`backend '${name}' is not available: ${st.reason}`);
    if (!st.kernels.includes(kernel)) {
      // the TF.js rule: a pinned backend without this kernel falls back to the reference, said once
      const key = `${name}/${kernel}`;
      if (!this.fallbackNoted.has(key)) {
        this.fallbackNoted.add(key);
        this.log(`backend '${name}' has no '${kernel}' kernel; running it on 'js'`);
      }
      return [await probeBackend('js')];
    }
    return [st];
  }

  /**
   * Run a small call synchronously on the calling thread (single-user recommend, fold-in): on
   * the pinned backend when its kernel is synchronous there, else on the reference ('js').
   */
  runSync<O = unknown>(kernelName: string, args: unknown, opts: RunOptions = {}): O {
    const kernel = getKernel(kernelName);
    kernel.validate(args);
    opts.signal?.throwIfAborted();
    const rows = kernel.rows(args);
    const out = kernel.allocate(args) as O;
    const res = kernel.reference(args, out, 0, rows);
    if (res instanceof Promise) throw new Error(`kernel '${kernelName}': the reference is asynchronous; use run()`);
    return out;
  }

  async run<O = unknown>(kernelName: string, args: unknown, opts: RunOptions = {}): Promise<O> {
    return (await this.runDetailed<O>(kernelName, args, opts)).out;
  }

  async runDetailed<O = unknown>(kernelName: string, args: unknown, opts: RunOptions = {}): Promise<RunResult<O>> {
    const kernel = getKernel(kernelName);
    kernel.validate(args);
    const rows = kernel.rows(args);
    const work = kernel.flops ? kernel.flops(args) : rows * 1e4;
    const order = await this.resolveBackends(kernelName, work, opts.backend);
    const failures: RunResult<O>['failures'] = [];
    for (const st of order) {
      opts.signal?.throwIfAborted();
      const out = kernel.allocate(args) as O;
      const t0 = performance.now();
      try {
        await this.runOn(st, kernelName, args, out, rows, work, opts);
        const seconds = (performance.now() - t0) / 1000;
        for (const fn of this.observers) fn({ kernel: kernelName, backend: st.name, seconds, rows });
        return { out, backend: st.name, seconds, failures };
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        const msg = e instanceof Error ? e.message : String(e);
        failures.push({ backend: st.name, error: msg });
        if (kernel.mutatesArgs) throw new Error(`kernel '${kernelName}' failed on backend '${st.name}' (${msg}); it updates its inputs in place, so it is not retried on another backend`);
        const next = order[order.indexOf(st) + 1];
        if (!next) throw new Error(`kernel '${kernelName}' failed on every backend: ${failures.map((f) => `${f.backend}: ${f.error}`).join('; ')}`);
        this.log(`backend '${st.name}' failed on ${kernelName} (${msg}); retrying on '${next.name}'`);
      }
    }
    throw new Error('unreachable');
  }

  private async runOn(st: BackendStatus, kernelName: string, args: unknown, out: unknown, rows: number, work: number, opts: RunOptions): Promise<void> {
    const backend = await loadBackend(st.name);
    if (backend instanceof Error) throw backend;
    const impl = backend.kernels[kernelName]!;
    const kernel = getKernel(kernelName);
    const threads = Math.max(1, Math.min(opts.threads ?? this.threads, this.threads));
    const inline = backend.threading === 'internal' || opts.pool === false || threads === 1 || rows < 2 || work < INLINE_WORK || kernel.splittable === false;
    if (inline) {
      await impl(args, out, 0, rows, { threads, signal: opts.signal });
      return;
    }
    assertSharedOutput(kernelName, out);
    // derived data every row block needs (kernel.prepare) is computed once here, not in each worker;
    // an inline call computes what its backend needs itself (the native addon, its own transpose)
    const shared = shareArgs(kernel.prepare ? kernel.prepare(args) : args);
    // several tasks per thread so uneven rows still balance
    const tasks = Math.min(rows, threads * 4);
    const step = Math.ceil(rows / tasks);
    const pool = this.getPool();
    const jobs: Promise<unknown>[] = [];
    for (let r = 0; r < rows; r += step) {
      const task: WorkerTask = { backend: st.name, kernel: kernelName, args: shared, out, rowStart: r, rowEnd: Math.min(rows, r + step) };
      jobs.push(pool.run(task, { signal: opts.signal }));
    }
    await Promise.all(jobs);
  }

  /** Stop the worker pool (the process can then exit). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.destroy();
  }
}

/** Pool workers write into `out` in place, so every typed array in it must be on shared memory. */
function assertSharedOutput(kernel: string, out: unknown): void {
  for (const [k, v] of Object.entries(out as Record<string, unknown>)) {
    if (ArrayBuffer.isView(v) && !isShared(v)) throw new Error(`kernel '${kernel}' allocated output field '${k}' outside shared memory`);
  }
}

let defaultEngine: Engine | null = null;

/** The process-wide engine. */
export function getEngine(): Engine {
  if (!defaultEngine) {
    // the library's one read of the environment: AFFINITY_BACKEND / AFFINITY_THREADS configure the process engine
    defaultEngine = new Engine({
      threads: Number(process.env.AFFINITY_THREADS) || undefined,
      backend: process.env.AFFINITY_BACKEND || undefined,
    });
    // rank backends by this machine's cached calibration table (affinity calibrate), when there is one
    useCalibration(defaultEngine);
  }
  return defaultEngine;
}

export async function closeEngine(): Promise<void> {
  if (defaultEngine) await defaultEngine.close();
}
