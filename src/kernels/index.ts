/** Registers every kernel of the contract (import for side effects). */
import './denseScoreTopKKernel.js';
import './sparseSimilarityTopKKernel.js';
import './alsHalfStep.js'; import './sgdEpoch.js'; import './bprEpoch.js';
export { getKernel, kernelNames, defineKernel, type KernelDef } from './registry.js';
