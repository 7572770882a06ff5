/**
 * The `cuda` backend: build/Release/affinity_cuda.node, built by `npm run build:native` only
 * where nvcc is found (native/cuda + native/addon/cuda_addon.cpp). It is a separate .node file
 * with the CUDA runtime linked statically, so it loads on machines without a driver and its
 * probe says why it cannot run there ("no CUDA driver", "no CUDA device", compute capability).
 */
import type { Backend, BackendProbe, KernelCallOptions } from '../types.js';
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import type { TopK } from '../../data/matrix.js';
import { addonLoader, callDenseScoreTopK, type DenseScoreTopKAddon } from './index.js';

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

export interface CudaAddon extends DenseScoreTopKAddon {
  probe(): CudaProbe;
}

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

export const cudaBackend: Backend = {
  name: 'cuda',
  priority: 200,
  threading: 'internal',
  probe(): BackendProbe {
    const r = loadCudaAddon();
    if ('error' in r) return { available: false, reason: `${r.error}; ${BUILD_HINT}`, details: { file: r.file } };
    try {
      const p = probeOnce(r.addon);
      const { available, reason, ...details } = p;
      return { available, reason: available ? `CUDA on ${reason}` : reason, details: { ...details, file: r.file } };
    } catch (e) {
      return { available: false, reason: `CUDA probe failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  },
  kernels: {
    // threads: the GPU ignores it; async so a missing device rejects rather than throws
    denseScoreTopK: async (args: DenseScoreTopKArgs, out: TopK, rowStart: number, rowEnd: number, opts?: KernelCallOptions) =>
      callDenseScoreTopK(requireCuda(), args, out, rowStart, rowEnd, 1, opts?.signal),
  },
};
