/**
 * The `cuda` backend: build/Release/affinity_cuda.node, built by `npx affinity build` only
 * where nvcc is found (native/cuda, its binding native/cuda/addon/cuda_addon.cpp). It is a
 * separate .node file with the CUDA runtime linked statically, so it loads on machines without a
 * driver and its probe says why it cannot run there ("no CUDA driver", "no CUDA device",
 * compute capability).
 *
 * Kernels (cudaKernelLimits, also in the probe's details): denseScoreTopK (all of it);
 * sparseSimilarityTopK for the module's limits.similarityMetrics (dot, cosine, jaccard; any
 * weighting: X' is prepared here, as for the native addon); alsHalfStep with the solvers of
 * limits.alsSolvers ('cg', implicit and explicit), up to limits.maxAlsFactors (1024) factors. The
 * limits are the module's own (native/cuda/addon/cuda_addon.cpp), read from it, not restated in code
 * here. A call outside them rejects with an Error saying so, and the engine retries it on the
 * next backend (native, wasm, js).
 *
 * gemm runs on cuBLAS (native/cuda/gemm.cu) where the module was built with it (limits.gemm;
 * else the backend does not list gemm, and the probe's details.notBuilt says why), through the
 * native backend's callGemm (same options object). The neural-network kernels
 * (src/kernels/nn; native/cuda/nn_kernels.cu, spd_solve.cu) take the native addon's options
 * objects (nnCalls.ts, native/addon/nn_args.h) and are called through callNnKernel as they are;
 * spdSolve runs on cuSOLVER where the module has it (limits.spdSolve; else not listed, as gemm),
 * up to limits.maxSpdSolveN (larger calls are declined by supports).
 */
import type { Backend, BackendProbe } from '../types.js';
import { isKernelName, type KernelArgs, type KernelCallOptions, type KernelImpl, type KernelOutput } from '../../kernels/contract.js';
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import type { Dense, TopK } from '../../data/matrix.js';
import type { SparseSimilarityTopKArgs } from '../../kernels/sparseSimilarityTopK.js';
import type { AlsHalfStepArgs } from '../../kernels/alsHalfStep.js';
import type { GemmArgs } from '../../kernels/gemm.js';
import type { SpdSolveArgs } from '../../kernels/nn/spdSolve.js';
import {
  kernelModuleLoader, callAlsHalfStep, callDenseScoreTopK, callGemm, callSparseSimilarityTopK, unavailableReason,
  type DenseScoreTopKAddon, type NativeAlsHalfStepCall, type NativeGemmCall, type NativeModuleLimits, type NativeSparseSimilarityCall,
} from './index.js';
import { callNnKernel, type NativeNnAddon, type NnKernelName } from './nnCalls.js';

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

/** The CUDA module's `limits` (native/cuda/addon/cuda_addon.cpp). */
export interface CudaLimits extends NativeModuleLimits {
  /** largest factor count alsHalfStep runs on the GPU (one thread per factor) */
  maxAlsFactors: number;
  /** the alsHalfStep solvers the GPU runs */
  alsSolvers: readonly string[];
  /** the sparseSimilarityTopK metrics the GPU runs */
  similarityMetrics: readonly string[];
  /** lowest compute capability (major·10 + minor) the module runs on */
  minComputeCapability: number;
  /** whether gemm can run (built with cuBLAS); absent in a module built before gemm was bound */
  gemm?: boolean;
  /** whether spdSolve can run (built with cuSOLVER); absent in a module built before it was bound */
  spdSolve?: boolean;
  /** largest n spdSolve runs on the GPU (cuSOLVER's 32-bit API) */
  maxSpdSolveN?: number;
}

export interface CudaAddon extends DenseScoreTopKAddon, NativeNnAddon {
  limits: CudaLimits;
  probe(): CudaProbe;
  /** absent in a module built before the kernel was bound */
  sparseSimilarityTopK?(call: CudaSparseSimilarityCall): Promise<void>;
  /** absent in a module built before the kernel was bound */
  alsHalfStep?(call: CudaAlsHalfStepCall): Promise<void>;
  /** absent in a module built before the kernel was bound */
  gemm?(call: NativeGemmCall): Promise<void>;
}

/** What each kernel covers on the GPU, in words, from the module's limits; outside it a call rejects and the engine falls back. */
function cudaKernelLimits(limits: CudaLimits): Record<string, string> {
  const quoted = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');
  return {
    denseScoreTopK: 'all metrics and options',
    sparseSimilarityTopK: `metrics ${limits.similarityMetrics.join(', ')} (any weighting and options); others fall back`,
    alsHalfStep: `solver ${quoted(limits.alsSolvers)} (implicit and explicit), up to ${limits.maxAlsFactors} factors; other solvers fall back`,
    gemm: 'cuBLAS sgemm (float32, no TF32), any transposes, batch and row range',
    spdSolve: `cuSOLVER potrf/potrs in float64, n up to ${limits.maxSpdSolveN ?? '?'}; larger falls back`,
  };
}

/** Why a gemm call cannot run on this module (built without cuBLAS), or null. */
export function cudaGemmUnsupported(limits: CudaLimits): string | null {
  return limits.gemm ? null : 'gemm: this affinity_cuda.node was built without cuBLAS';
}

/** Why an spdSolve call is beyond the CUDA kernel (built without cuSOLVER, or n too large), or null. */
export function cudaSpdSolveUnsupported(limits: CudaLimits, a: SpdSolveArgs): string | null {
  if (!limits.spdSolve) return 'spdSolve: this affinity_cuda.node was built without cuSOLVER';
  const max = limits.maxSpdSolveN ?? 0;
  return a.a.rows > max ? `spdSolve with n = ${a.a.rows} exceeds the CUDA kernel's ${max}` : null;
}

/** Why a sparseSimilarityTopK call is beyond the CUDA kernel (its metric), or null. */
export function cudaSimilarityUnsupported(limits: CudaLimits, a: SparseSimilarityTopKArgs): string | null {
  const metrics = limits.similarityMetrics;
  return metrics.includes(a.metric) ? null : `sparseSimilarityTopK metric '${a.metric}' is not implemented on CUDA (${metrics.join(', ')})`;
}

/** Why an alsHalfStep call is beyond the CUDA kernel (its solver or its factors), or null. */
export function cudaAlsUnsupported(limits: CudaLimits, a: AlsHalfStepArgs): string | null {
  const { alsSolvers, maxAlsFactors } = limits;
  if (a.loss) return 'alsHalfStep loss terms (loss: true) are not computed on CUDA';
  if (!alsSolvers.includes(a.solver)) return `alsHalfStep solver '${a.solver}' is not implemented on CUDA (solvers there: ${alsSolvers.map((x) => `'${x}'`).join(', ')})`;
  if (a.other.cols > maxAlsFactors) return `alsHalfStep with ${a.other.cols} factors exceeds the CUDA kernel's ${maxAlsFactors}`;
  return null;
}

/** The loaded CUDA module, or the reason it could not be loaded. */
export const loadCudaAddon = kernelModuleLoader<CudaAddon>('affinity_cuda.node');

const BUILD_HINT = 'it is built by `npx affinity build` where the CUDA toolkit (nvcc) is installed';

let probed: CudaProbe | undefined;

function probeOnce(addon: CudaAddon): CudaProbe {
  probed ??= addon.probe();
  return probed;
}

function requireCuda(): CudaAddon {
  const r = loadCudaAddon();
  if ('error' in r) throw new Error(`cuda backend unavailable: ${unavailableReason(r, BUILD_HINT)}`);
  const p = probeOnce(r.addon);
  if (!p.available) throw new Error(`cuda backend unavailable: ${p.reason}`);
  return r.addon;
}

/**
 * sparseSimilarityTopK on the GPU through the native backend's call (X' from similarityValues, the reference's
 * defaults applied). Metrics outside the module's limits.similarityMetrics reject here, before X' is prepared,
 * and the engine falls back.
 */
async function callCudaSparseSimilarityTopK(
  addon: CudaAddon, a: SparseSimilarityTopKArgs, out: TopK, rowStart: number, rowEnd: number, signal?: AbortSignal,
): Promise<void> {
  if (!addon.sparseSimilarityTopK) throw new Error('cuda backend: this affinity_cuda.node has no sparseSimilarityTopK; rebuild it (`npx affinity build`)');
  const why = cudaSimilarityUnsupported(addon.limits, a);
  if (why) throw new Error(`cuda backend: ${why}`);
  return callSparseSimilarityTopK(addon, a, out, rowStart, rowEnd, 1, signal);
}

/**
 * alsHalfStep on the GPU (solver 'cg') through the native backend's call; out is the engine's allocation (a copy
 * of `initial` or zeros), the CG start. Solvers outside the module's limits.alsSolvers and more than
 * limits.maxAlsFactors factors reject (the engine falls back).
 */
async function callCudaAlsHalfStep(
  addon: CudaAddon, a: AlsHalfStepArgs, out: Dense, rowStart: number, rowEnd: number, signal?: AbortSignal,
): Promise<void> {
  if (!addon.alsHalfStep) throw new Error('cuda backend: this affinity_cuda.node has no alsHalfStep; rebuild it (`npx affinity build`)');
  const why = cudaAlsUnsupported(addon.limits, a);
  if (why) throw new Error(`cuda backend: ${why}`);
  return callAlsHalfStep(addon, a, out, rowStart, rowEnd, 1, signal, true);
}

/**
 * gemm on cuBLAS (the native backend's call: the module takes the same options object; threads is
 * ignored). A module built without cuBLAS rejects here and the engine falls back.
 */
async function callCudaGemm(addon: CudaAddon, a: GemmArgs, out: Dense, rowStart: number, rowEnd: number, signal?: AbortSignal): Promise<void> {
  const why = cudaGemmUnsupported(addon.limits);
  if (why) throw new Error(`cuda backend: ${why}`);
  return callGemm(addon, a, out, rowStart, rowEnd, 1, signal);
}

/** A neural-network kernel on the GPU (nnCalls.ts: the native addon's options objects; threads ignored). */
function cudaNnKernel<K extends NnKernelName>(kernel: K): KernelImpl<KernelArgs<K>, KernelOutput<K>> {
  // async: a missing module or device, or a bad argument, rejects the promise rather than throwing
  return async (args, out, rowStart, rowEnd, opts) => {
    const addon = requireCuda();
    if (kernel === 'spdSolve') {
      const why = cudaSpdSolveUnsupported(addon.limits, args as SpdSolveArgs);
      if (why) throw new Error(`cuda backend: ${why}`);
    }
    return callNnKernel(addon, kernel, args, out, rowStart, rowEnd, 1, opts?.signal);
  };
}

export const cudaBackend: Backend = {
  name: 'cuda',
  priority: 200,
  threading: 'internal',
  probe(): BackendProbe {
    const r = loadCudaAddon();
    if ('error' in r) return { available: false, reason: unavailableReason(r, BUILD_HINT), details: { file: r.file } };
    // list only the kernels this build of the module implements (an older .node may lack some);
    // the engine reads `kernels` after the probe and falls back for the rest
    for (const name of Object.keys(cudaBackend.kernels).filter(isKernelName)) {
      if (typeof (r.addon as unknown as Record<string, unknown>)[name] !== 'function') delete cudaBackend.kernels[name];
    }
    // a module built without cuBLAS / cuSOLVER binds gemm / spdSolve but refuses every call:
    // not listed, so the engine and the conformance tests see the kernel as not implemented here
    if (!r.addon.limits.gemm) delete cudaBackend.kernels.gemm;
    if (!r.addon.limits.spdSolve) delete cudaBackend.kernels.spdSolve;
    try {
      const p = probeOnce(r.addon);
      const { available, reason, ...details } = p;
      const words = cudaKernelLimits(r.addon.limits);
      const kernelLimits = Object.fromEntries(Object.keys(cudaBackend.kernels).map((k) => [k, words[k] ?? '']));
      const notBuilt = {
        ...(r.addon.limits.gemm ? {} : { gemm: 'this affinity_cuda.node was built without cuBLAS' }),
        ...(r.addon.limits.spdSolve ? {} : { spdSolve: 'this affinity_cuda.node was built without cuSOLVER' }),
      };
      return {
        available, reason: available ? `CUDA on ${reason}` : reason,
        details: { ...details, file: r.file, version: r.addon.version, limits: { ...r.addon.limits }, kernelLimits, notBuilt },
      };
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
    gemm: async (args: GemmArgs, out: Dense, rowStart: number, rowEnd: number, opts?: KernelCallOptions) =>
      callCudaGemm(requireCuda(), args, out, rowStart, rowEnd, opts?.signal),
    // the neural-network kernels (src/kernels/nn)
    biasActivation: cudaNnKernel('biasActivation'),
    activationBackward: cudaNnKernel('activationBackward'),
    columnSums: cudaNnKernel('columnSums'),
    layerNorm: cudaNnKernel('layerNorm'),
    layerNormBackward: cudaNnKernel('layerNormBackward'),
    layerNormParamGrad: cudaNnKernel('layerNormParamGrad'),
    maskedSoftmax: cudaNnKernel('maskedSoftmax'),
    softmaxBackward: cudaNnKernel('softmaxBackward'),
    softmaxCrossEntropy: cudaNnKernel('softmaxCrossEntropy'),
    sigmoidCrossEntropy: cudaNnKernel('sigmoidCrossEntropy'),
    embeddingGather: cudaNnKernel('embeddingGather'),
    segmentSum: cudaNnKernel('segmentSum'),
    dropout: cudaNnKernel('dropout'),
    adamUpdate: cudaNnKernel('adamUpdate'),
    spdSolve: cudaNnKernel('spdSolve'),
    elementwise: cudaNnKernel('elementwise'),
  },
  // calls beyond the module's limits are skipped by dispatch (the engine never tries and fails over)
  supports: {
    sparseSimilarityTopK: (args) => cudaLimitsOrNull(args, cudaSimilarityUnsupported),
    alsHalfStep: (args) => cudaLimitsOrNull(args, cudaAlsUnsupported),
    gemm: (args) => cudaLimitsOrNull(args, (limits) => cudaGemmUnsupported(limits)),
    spdSolve: (args) => cudaLimitsOrNull(args, cudaSpdSolveUnsupported),
  },
};

/** `check` against the loaded module's limits; null when no module is loaded (the probe has already said why). */
function cudaLimitsOrNull<A>(args: A, check: (limits: CudaLimits, a: A) => string | null): string | null {
  const r = loadCudaAddon();
  return 'error' in r ? null : check(r.addon.limits, args);
}
