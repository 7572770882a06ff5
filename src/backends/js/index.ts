/**
 * The `js` backend: the reference kernels, always available. Runs in Piscina workers
 * (the engine splits rows) or on the main thread for small calls.
 */
import type { Backend } from '../types.js';
import { kernels, type KernelImpls } from '../../kernels/contract.js';

const referenceKernels: KernelImpls = {
  denseScoreTopK: kernels.denseScoreTopK.reference,
  sparseSimilarityTopK: kernels.sparseSimilarityTopK.reference,
  alsHalfStep: kernels.alsHalfStep.reference,
  sgdEpoch: kernels.sgdEpoch.reference,
  bprEpoch: kernels.bprEpoch.reference,
  gemm: kernels.gemm.reference,
};

export const jsBackend: Backend = {
  name: 'js',
  priority: 0,
  threading: 'pool',
  probe: () => ({ available: true, reason: 'reference TypeScript kernels; always available' }),
  kernels: referenceKernels,
};
