/**
 * What a backend is: a name, a probe that says whether it can run here (and why not),
 * implementations of some kernels of the contract (src/kernels/contract.ts), and optionally
 * which calls of those kernels it cannot run (`supports`).
 */
import type { KernelArgs, KernelImpls, KernelName, KernelOutput, KernelSupport } from '../kernels/contract.js';

export interface BackendProbe {
  available: boolean;
  /** why it is (un)available, in words a user can act on */
  reason: string;
  /** e.g. { simd: 'avx2', threads: 2 } or { mode: 'webasm' } */
  details?: Record<string, unknown>;
}

export interface Backend {
  name: string;
  /** used to order backends before calibration exists; higher first */
  priority: number;
  /**
   * 'pool': the engine splits rows into tasks and runs them on Piscina workers (js, wasm);
   * 'internal': one call per kernel, the backend threads internally (native, cuda, gpujs).
   */
  threading: 'pool' | 'internal';
  probe(): BackendProbe | Promise<BackendProbe>;
  kernels: KernelImpls;
  /** per kernel: why a call's args are beyond this backend (null: it runs them); absent = every call */
  supports?: KernelSupport;
  /**
   * Kernels whose `parallel` calls a 'pool' backend runs as cooperating tasks, one per pool worker, on memory
   * the tasks share (Hogwild SGD/BPR: src/backends/wasm/hogwild.ts). The engine asks `plan` first; a plan's
   * tasks run on the pool (or one after another on the calling thread), then `finish` and `release`.
   */
  poolParallel?: PoolParallelImpls;
}

/** One task of a parallel call, with the rows it covers (for messages). `task` must be structured-cloneable. */
export interface PoolParallelTask {
  task: unknown;
  rowStart: number;
  rowEnd: number;
}

export interface PoolParallelPlan {
  /** one per worker; each runs to completion independently of the others (no waits between them) */
  tasks: PoolParallelTask[];
  /** after every task has succeeded: the results into the call's output and the caller's arrays */
  finish(): void;
  /** always, after finish or a failure: frees what the plan holds */
  release(): void;
}

export interface PoolParallelKernel<A, O> {
  /**
   * The tasks of a call over rows [rowStart, rowEnd) for up to `workers` workers (inputs validated and laid out
   * in shared memory before any task runs), or null when this call is not a parallel one (the ordinary kernel runs it).
   */
  plan(args: A, out: O, rowStart: number, rowEnd: number, workers: number): PoolParallelPlan | null;
  /** Runs one task of a plan (in a pool worker, or on the calling thread). */
  runTask(task: unknown): void | Promise<void>;
}

export type PoolParallelImpls = { [K in KernelName]?: PoolParallelKernel<KernelArgs<K>, KernelOutput<K>> };
