/**
 * What a backend is: a name, a probe that says whether it can run here (and why not),
 * implementations of some kernels of the contract (src/kernels/contract.ts), and optionally
 * which calls of those kernels it cannot run (`supports`).
 */
import type { KernelImpls, KernelSupport } from '../kernels/contract.js';

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
}
