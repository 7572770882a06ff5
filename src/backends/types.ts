/**
 * What a backend is: a name, a probe that says whether it can run here (and why not),
 * and implementations of some kernels on the kernel contract
 * (pure function of typed-array args, writing rows [rowStart, rowEnd) of `out`).
 */
import type { DenseScoreTopKArgs } from '../kernels/denseScoreTopK.js';
import type { TopK } from '../data/matrix.js';

export interface BackendProbe {
  available: boolean;
  /** why it is (un)available, in words a user can act on */
  reason: string;
  /** e.g. { simd: 'avx2', threads: 2 } or { mode: 'webasm' } */
  details?: Record<string, unknown>;
}

export interface KernelCallOptions {
  /** threads a backend with its own thread pool may use */
  threads?: number;
  signal?: AbortSignal;
}

export type KernelImpl<A, O> = (args: A, out: O, rowStart: number, rowEnd: number, opts?: KernelCallOptions) => void | Promise<void>;

/** The kernels of the contract, by name: args type and output type. */
export interface KernelSignatures {
  denseScoreTopK: { args: DenseScoreTopKArgs; out: TopK };
}
export type KernelName = keyof KernelSignatures;

/** Kernel implementations by kernel name; typed for the kernels listed in KernelSignatures. */
export type KernelImpls = { [K in KernelName]?: KernelImpl<KernelSignatures[K]['args'], KernelSignatures[K]['out']> } & {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [name: string]: KernelImpl<any, any> | undefined;
};

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
}
