/**
 * The `cuda` backend: build/Release/affinity_cuda.node, built by `npm run build:native` only
 * where nvcc is found (native/cuda, its binding native/cuda/addon/cuda_addon.cpp). It is a
 * separate .node file with the CUDA runtime linked statically, so it loads on machines without a
 * driver and its probe says why it cannot run there ("no CUDA driver", "no CUDA device",
 * compute capability).
 *
 * Kernels (CUDA_KERNEL_LIMITS, also in the probe's details): denseScoreTopK (all of it);
 * sparseSimilarityTopK for the metrics dot, cosine and jaccard (any weighting: X' is prepared
 * here, as for the native addon); alsHalfStep with solver 'cg' (implicit and explicit), up to
 * 1024 factors. A call outside those limits rejects with an Error saying so, and the engine
 * retries it on the next backend (native, wasm, js).
 */
import type { Backend, BackendProbe } from '../types.js';
import { isKernelName, type KernelCallOptions } from '../../kernels/contract.js';
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import type { Dense, TopK } from '../../data/matrix.js';
import type { SparseSimilarityTopKArgs } from '../../kernels/sparseSimilarityTopK.js';
import type { AlsHalfStepArgs } from '../../kernels/alsHalfStep.js';
import {
  addonLoader, callAlsHalfStep, callDenseScoreTopK, callSparseSimilarityTopK,
  type DenseScoreTopKAddon, type NativeAlsHalfStepCall, type NativeSparseSimilarityCall,
} from './index.js';

export interface CudaProbe {
  available: boolean;
  reason: string;
  driverVersion: number;
  runtimeVersion: number;
  deviceCount: number;
  device?: number;
  name?: string;
  computeCapability?: string;
  memoryBytes?: number;
}

/** The CUDA module's kernel calls take the native addon's options objects (threads and path are ignored). */
export type CudaSparseSimilarityCall = NativeSparseSimilarityCall;
export type CudaAlsHalfStepCall = NativeAlsHalfStepCall;

export interface CudaAddon extends DenseScoreTopKAddon {
  probe(): CudaProbe;
  /** absent in a module built before the kernel was bound */
  sparseSimilarityTopK?(call: CudaSparseSimilarityCall): Promise<void>;
  /** absent in a module built before the kernel was bound */
  alsHalfStep?(call: CudaAlsHalfStepCall): Promise<void>;
}

/** The metrics sparseSimilarityTopK runs on the GPU. */
export const CUDA_SIMILARITY_METRICS = ['dot', 'cosine', 'jaccard'] as const;
/** Largest factor count alsHalfStep runs on the GPU (one thread per factor). */
export const CUDA_MAX_ALS_FACTORS = 1024;

/** What each kernel covers on the GPU; outside it a call rejects and the engine falls back. */
export const CUDA_KERNEL_LIMITS: Record<string, string> = {
  denseScoreTopK: 'all metrics and options',
  sparseSimilarityTopK: `metrics ${CUDA_SIMILARITY_METRICS.join(', ')} (any weighting and options); others fall back`,
  alsHalfStep: `solver 'cg' (implicit and explicit), up to ${CUDA_MAX_ALS_FACTORS} factors; cholesky falls back`,
};

/** The loaded CUDA module, or the reason it could not be loaded. */
export const loadCudaAddon = addonLoader<CudaAddon>('affinity_cuda.node');

const BUILD_HINT = 'it is built by `npm run build:native` where the CUDA toolkit (nvcc) is installed';

let probed: CudaProbe | undefined;

function probeOnce(addon: CudaAddon): CudaProbe {
  probed ??= addon.probe();
  return probed;
}

function requireCuda(): CudaAddon {
  const r = loadCudaAddon();
  if ('error' in r) throw new Error(`cuda backend unavailable: ${r.error}; ${BUILD_HINT}`);
  const p = probeOnce(r.addon);
  if (!p.available) throw new Error(`cuda backend unavailable: ${p.reason}`);
  return r.addon;
}

function isCudaMetric(m: string): m is (typeof CUDA_SIMILARITY_METRICS)[number] {
  return (CUDA_SIMILARITY_METRICS as readonly string[]).includes(m);
}

/**
 * sparseSimilarityTopK on the GPU through the native backend's call (X' from similarityValues, the reference's
 * defaults applied). Metrics other than dot/cosine/jaccard reject here, before any
 * transfer, and the engine falls back.
 */
export async function callCudaSparseSimilarityTopK(
  addon: CudaAddon, a: SparseSimilarityTopKArgs, out: TopK, rowStart: number, rowEnd: number, signal?: AbortSignal,
): Promise<void> {
  if (!addon.sparseSimilarityTopK) throw new Error('cuda backend: this affinity_cuda.node has no sparseSimilarityTopK; rebuild it (`npm run build:native`)');
  if (!isCudaMetric(a.metric)) throw new Error(`cuda backend: sparseSimilarityTopK metric '${a.metric}' is not implemented on CUDA (${CUDA_SIMILARITY_METRICS.join(', ')})`);
  return callSparseSimilarityTopK(addon, a, out, rowStart, rowEnd, 1, signal);
}

/**
 * alsHalfStep on the GPU (solver 'cg') through the native backend's call; out is the engine's allocation (a copy
 * of `initial` or zeros), the CG start. Solver 'cholesky' and more than CUDA_MAX_ALS_FACTORS factors reject (the
 * engine falls back).
 */
export async function callCudaAlsHalfStep(
  addon: CudaAddon, a: AlsHalfStepArgs, out: Dense, rowStart: number, rowEnd: number, signal?: AbortSignal,
): Promise<void> {
  if (!addon.alsHalfStep) throw new Error('cuda backend: this affinity_cuda.node has no alsHalfStep; rebuild it (`npm run build:native`)');
  if (a.solver !== 'cg') throw new Error(`cuda backend: alsHalfStep solver '${a.solver}' is not implemented on CUDA (solver 'cg' is)`);
  if (a.other.cols > CUDA_MAX_ALS_FACTORS) throw new Error(`cuda backend: alsHalfStep with ${a.other.cols} factors exceeds the CUDA kernel's ${CUDA_MAX_ALS_FACTORS}`);
  return callAlsHalfStep(addon, a, out, rowStart, rowEnd, 1, signal);
}

export const cudaBackend: Backend = {
  name: 'cuda',
  priority: 200,
  threading: 'internal',
  probe(): BackendProbe {
    const r = loadCudaAddon();
    if ('error' in r) return { available: false, reason: `${r.error}; ${BUILD_HINT}`, details: { file: r.file } };
    // list only the kernels this build of the module implements (an older .node may lack some);
    // the engine reads `kernels` after the probe and falls back for the rest
    for (const name of Object.keys(cudaBackend.kernels).filter(isKernelName)) {
      if (typeof (r.addon as unknown as Record<string, unknown>)[name] !== 'function') delete cudaBackend.kernels[name];
    }
    try {
      const p = probeOnce(r.addon);
      const { available, reason, ...details } = p;
      const limits = Object.fromEntries(Object.keys(cudaBackend.kernels).map((k) => [k, CUDA_KERNEL_LIMITS[k] ?? '']));
      return { available, reason: available ? `CUDA on ${reason}` : reason, details: { ...details, file: r.file, kernelLimits: limits } };
    } catch (e) {
      return { available: false, reason: `CUDA probe failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  },
  kernels: {
    // threads: the GPU ignores it; async so a missing device rejects rather than throws
    denseScoreTopK: async (args: DenseScoreTopKArgs, out: TopK, rowStart: number, rowEnd: number, opts?: KernelCallOptions) =>
      callDenseScoreTopK(requireCuda(), args, out, rowStart, rowEnd, 1, opts?.signal),
    sparseSimilarityTopK: async (args: SparseSimilarityTopKArgs, out: TopK, rowStart: number, rowEnd: number, opts?: KernelCallOptions) =>
      callCudaSparseSimilarityTopK(requireCuda(), args, out, rowStart, rowEnd, opts?.signal),
    alsHalfStep: async (args: AlsHalfStepArgs, out: Dense, rowStart: number, rowEnd: number, opts?: KernelCallOptions) =>
      callCudaAlsHalfStep(requireCuda(), args, out, rowStart, rowEnd, opts?.signal),
  },
};
