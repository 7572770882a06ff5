/**
 * The kernel contract: every kernel of affinity, by name, with its argument and output types.
 * `engine.run('denseScoreTopK', args)` is checked against this table at compile time (a wrong
 * name or wrong args fail `tsc`), and a backend implements a typed part of it (`KernelImpls`).
 *
 * To add a kernel: define it next to its reference implementation (`export const fooKernel:
 * KernelDef<FooArgs, FooOut> = {...}`) and add it to `kernels` below.
 */
import type { KernelDef, KernelImpl } from './kernelDef.js';
import { denseScoreTopKKernel } from './denseScoreTopK.js';
import { sparseSimilarityTopKKernel } from './sparseSimilarityTopK.js';
import { alsHalfStepKernel } from './alsHalfStep.js';
import { sgdEpochKernel } from './sgdEpoch.js';
import { bprEpochKernel } from './bprEpoch.js';
import { gemmKernel } from './gemm.js';
import { activationBackwardKernel, biasActivationKernel, columnSumsKernel } from './nn/activation.js';
import { layerNormBackwardKernel, layerNormKernel, layerNormParamGradKernel } from './nn/layerNorm.js';
import { maskedSoftmaxKernel, softmaxBackwardKernel } from './nn/softmax.js';
import { sigmoidCrossEntropyKernel, softmaxCrossEntropyKernel } from './nn/losses.js';
import { softmaxOutputLayerKernel } from './nn/outputLayer.js';
import { embeddingGatherKernel, segmentSumKernel } from './nn/embedding.js';
import { dropoutKernel } from './nn/dropout.js';
import { adamUpdateKernel } from './nn/adam.js';
import { spdSolveKernel } from './nn/spdSolve.js';
import { elementwiseKernel } from './nn/elementwise.js';

export type { KernelDef, KernelImpl, KernelCallOptions } from './kernelDef.js';

export const kernels = {
  denseScoreTopK: denseScoreTopKKernel,
  sparseSimilarityTopK: sparseSimilarityTopKKernel,
  alsHalfStep: alsHalfStepKernel,
  sgdEpoch: sgdEpochKernel,
  bprEpoch: bprEpochKernel,
  gemm: gemmKernel,
  // the neural-network kernels (src/kernels/nn): layers' forward and backward, losses, optimizers
  biasActivation: biasActivationKernel,
  activationBackward: activationBackwardKernel,
  columnSums: columnSumsKernel,
  layerNorm: layerNormKernel,
  layerNormBackward: layerNormBackwardKernel,
  layerNormParamGrad: layerNormParamGradKernel,
  maskedSoftmax: maskedSoftmaxKernel,
  softmaxBackward: softmaxBackwardKernel,
  softmaxCrossEntropy: softmaxCrossEntropyKernel,
  sigmoidCrossEntropy: sigmoidCrossEntropyKernel,
  softmaxOutputLayer: softmaxOutputLayerKernel,
  embeddingGather: embeddingGatherKernel,
  segmentSum: segmentSumKernel,
  dropout: dropoutKernel,
  adamUpdate: adamUpdateKernel,
  spdSolve: spdSolveKernel,
  elementwise: elementwiseKernel,
} as const;

export type Kernels = typeof kernels;
export type KernelName = keyof Kernels;
type ArgsOfDef<D> = D extends KernelDef<infer A, infer _O> ? A : never;
type OutputOfDef<D> = D extends KernelDef<infer _A, infer O> ? O : never;
/** The args of kernel K (of any of them, for a union K: the pairing is then the caller's to keep). */
export type KernelArgs<K extends KernelName> = K extends KernelName ? ArgsOfDef<Kernels[K]> : never;
export type KernelOutput<K extends KernelName> = K extends KernelName ? OutputOfDef<Kernels[K]> : never;

/** Implementations of some kernels, by name: what a backend provides. */
export type KernelImpls = { [K in KernelName]?: KernelImpl<KernelArgs<K>, KernelOutput<K>> };

/**
 * Why a backend cannot run a call of a kernel it implements (e.g. a metric CUDA lacks, more
 * factors than a GPU kernel takes), or null when it can. The engine skips such a backend for that
 * call instead of trying it and logging a failover.
 */
export type KernelSupport = { [K in KernelName]?: (args: KernelArgs<K>) => string | null };

export function isKernelName(name: string): name is KernelName {
  return Object.hasOwn(kernels, name);
}

/** The kernel named `name`; a RangeError listing the known ones for a name from outside (CLI, config). */
export function getKernel<K extends KernelName>(name: K): KernelDef<KernelArgs<K>, KernelOutput<K>>;
export function getKernel(name: string): KernelDef<KernelArgs<KernelName>, KernelOutput<KernelName>>;
export function getKernel(name: string): unknown {
  if (!isKernelName(name)) throw new RangeError(`unknown kernel '${name}' (known: ${kernelNames().join(', ')})`);
  return kernels[name];
}

export function kernelNames(): KernelName[] {
  return Object.keys(kernels) as KernelName[];
}
