/**
 * The neural-network kernels (src/kernels/nn) on a native module: each kernel's options object
 * (native/addon/nn_args.h) built from the kernel contract's args and output, and the call helper
 * that runs it off the event loop under the caller's AbortSignal. The native backend (index.ts)
 * registers them; a CUDA module that exports the same functions with the same options objects
 * can reuse callNnKernel as it is (its `threads` is then ignored).
 *
 * The module validates every buffer, shape, scalar and index itself (and copies the index arrays
 * before its worker reads them); the checks here are only what the module cannot see: that the
 * contract's output has the shape of its args.
 */
import type { KernelArgs, KernelOutput } from '../../kernels/contract.js';
import type { Activation } from '../../kernels/nn/activation.js';
import type { Dense } from '../../data/matrix.js';
import { withCancelFlag } from './cancelFlag.js';

/** The kernels of src/kernels/nn that native/addon/nn_args.h binds in both modules (AFFINITY_NN_KERNELS: native and CUDA). */
export const NN_KERNELS = [
  'biasActivation', 'activationBackward', 'columnSums', 'layerNorm', 'layerNormBackward', 'layerNormParamGrad',
  'maskedSoftmax', 'softmaxBackward', 'softmaxCrossEntropy', 'sigmoidCrossEntropy', 'embeddingGather', 'segmentSum',
  'dropout', 'adamUpdate', 'spdSolve', 'elementwise',
] as const;
/** Those the native module alone binds (the CUDA backend lacks them; its callers compose the separate kernels). */
export const NATIVE_ONLY_NN_KERNELS = ['softmaxOutputLayer'] as const;
export type NnKernelName = (typeof NN_KERNELS)[number] | (typeof NATIVE_ONLY_NN_KERNELS)[number];

/** What every options object takes besides its kernel's fields. */
export interface NativeNnCallBase {
  /** the kernel's rows (see each kernel's contract: rows, columns, groups, elements) */
  rowStart: number;
  rowEnd: number;
  threads: number;
  /** cancellation flag (withCancelFlag) */
  cancel: Int32Array | null;
  /** run on the calling thread, not a worker (small calls: native/addon/kernel_args.h queue_kernel) */
  inline?: boolean;
}

// The options object of each kernel (native/addon/nn_args.h), without NativeNnCallBase's fields.
export interface NativeBiasActivationCall { rows: number; cols: number; x: Float32Array; bias?: Float32Array; activation: Activation; out: Float32Array }
export interface NativeActivationBackwardCall extends NativeBiasActivationCall { gradOut: Float32Array }
export interface NativeColumnSumsCall { rows: number; cols: number; x: Float32Array; out: Float32Array }
export interface NativeLayerNormCall {
  rows: number; cols: number; x: Float32Array; gamma: Float32Array; beta: Float32Array; eps?: number;
  y: Float32Array; mean: Float32Array; rstd: Float32Array;
}
export interface NativeLayerNormBackwardCall {
  rows: number; cols: number; x: Float32Array; gamma: Float32Array; mean: Float32Array; rstd: Float32Array; gradOut: Float32Array; out: Float32Array;
}
export interface NativeLayerNormParamGradCall {
  rows: number; cols: number; x: Float32Array; mean: Float32Array; rstd: Float32Array; gradOut: Float32Array;
  gradGamma: Float32Array; gradBeta: Float32Array;
}
export interface NativeMaskedSoftmaxCall {
  rows: number; cols: number; scores: Float32Array; scale?: number; queries?: number; causal?: boolean; keyValid?: Uint8Array; out: Float32Array;
}
export interface NativeSoftmaxBackwardCall { rows: number; cols: number; probs: Float32Array; gradProbs: Float32Array; scale?: number; out: Float32Array }
export interface NativeSoftmaxCrossEntropyCall {
  rows: number; cols: number; logits: Float32Array;
  /** exactly one of targets and targetWeights */
  targets?: Int32Array; targetWeights?: Float32Array;
  gradScale?: number; loss: Float32Array; grad: Float32Array;
}
export interface NativeSigmoidCrossEntropyCall {
  logits: Float32Array; targets: Float32Array; weights?: Float32Array; gradScale?: number; loss: Float32Array; grad: Float32Array;
}
export interface NativeEmbeddingGatherCall { vocab: number; dim: number; table: Float32Array; ids: Int32Array; out: Float32Array }
export interface NativeSegmentSumCall {
  rows: number; dim: number; src: Float32Array; offsets: Int32Array; positions: Int32Array; weights?: Float32Array; out: Float32Array;
}
export interface NativeDropoutCall { x: Float32Array; rate: number; seed: number; offset?: number; out: Float32Array }
/** In place: params, m and v are updated. rowIds present: the lazy update of those rows. */
export interface NativeAdamUpdateCall {
  dim: number; params: Float32Array; grads: Float32Array; m: Float32Array; v: Float32Array; rowIds?: Int32Array;
  step: number; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; decoupled?: boolean; gradScale?: number;
}
/** b absent: out = A⁻¹ (n × n); else out = A⁻¹·b (n × r). block: the factorization's block size (0 automatic). */
export interface NativeSpdSolveCall { n: number; a: Float32Array; b?: Float32Array; r?: number; out: Float32Array; block?: number }
export interface NativeElementwiseCall { op: 'axpby' | 'mul'; x: Float32Array; y?: Float32Array; alpha?: number; beta?: number; out: Float32Array }

/** The fused full-softmax output layer (the native module only; one call, all rows). */
export interface NativeSoftmaxOutputLayerCall {
  rows: number; items: number; dim: number; hidden: Float32Array; table: Float32Array; targets: Int32Array; weights?: Float32Array;
  gradScale?: number; loss: Float32Array; gradHidden: Float32Array; gradTable: Float32Array;
}

/** Each kernel's options object (without NativeNnCallBase). */
export interface NativeNnCalls {
  biasActivation: NativeBiasActivationCall;
  activationBackward: NativeActivationBackwardCall;
  columnSums: NativeColumnSumsCall;
  layerNorm: NativeLayerNormCall;
  layerNormBackward: NativeLayerNormBackwardCall;
  layerNormParamGrad: NativeLayerNormParamGradCall;
  maskedSoftmax: NativeMaskedSoftmaxCall;
  softmaxBackward: NativeSoftmaxBackwardCall;
  softmaxCrossEntropy: NativeSoftmaxCrossEntropyCall;
  sigmoidCrossEntropy: NativeSigmoidCrossEntropyCall;
  embeddingGather: NativeEmbeddingGatherCall;
  segmentSum: NativeSegmentSumCall;
  dropout: NativeDropoutCall;
  adamUpdate: NativeAdamUpdateCall;
  spdSolve: NativeSpdSolveCall;
  elementwise: NativeElementwiseCall;
  softmaxOutputLayer: NativeSoftmaxOutputLayerCall;
}

/** A module's nn kernel functions (each absent in a module built before it was bound). */
export type NativeNnAddon = { [K in NnKernelName]?: (call: NativeNnCalls[K] & NativeNnCallBase) => Promise<void> };

/** out.data, after checking that the contract's output has the shape the args give it. */
function outData(kernel: string, out: Dense, rows: number, cols: number): Float32Array {
  if (out.rows !== rows || out.cols !== cols) throw new RangeError(`${kernel}: out is ${out.rows}×${out.cols}, expected ${rows}×${cols}`);
  return out.data;
}

type Builders = { [K in NnKernelName]: (a: KernelArgs<K>, out: KernelOutput<K>) => NativeNnCalls[K] };

const builders: Builders = {
  biasActivation: (a, out) => ({
    rows: a.x.rows, cols: a.x.cols, x: a.x.data, ...(a.bias ? { bias: a.bias } : {}), activation: a.activation,
    out: outData('biasActivation', out, a.x.rows, a.x.cols),
  }),
  activationBackward: (a, out) => ({
    rows: a.x.rows, cols: a.x.cols, x: a.x.data, ...(a.bias ? { bias: a.bias } : {}), activation: a.activation,
    gradOut: a.gradOut.data, out: outData('activationBackward', out, a.x.rows, a.x.cols),
  }),
  columnSums: (a, out) => ({ rows: a.x.rows, cols: a.x.cols, x: a.x.data, out }),
  layerNorm: (a, out) => ({
    rows: a.x.rows, cols: a.x.cols, x: a.x.data, gamma: a.gamma, beta: a.beta, ...(a.eps !== undefined ? { eps: a.eps } : {}),
    y: outData('layerNorm', out.y, a.x.rows, a.x.cols), mean: out.mean, rstd: out.rstd,
  }),
  layerNormBackward: (a, out) => ({
    rows: a.x.rows, cols: a.x.cols, x: a.x.data, gamma: a.gamma, mean: a.mean, rstd: a.rstd, gradOut: a.gradOut.data,
    out: outData('layerNormBackward', out, a.x.rows, a.x.cols),
  }),
  layerNormParamGrad: (a, out) => ({
    rows: a.x.rows, cols: a.x.cols, x: a.x.data, mean: a.mean, rstd: a.rstd, gradOut: a.gradOut.data,
    gradGamma: out.gradGamma, gradBeta: out.gradBeta,
  }),
  maskedSoftmax: (a, out) => ({
    rows: a.scores.rows, cols: a.scores.cols, scores: a.scores.data, scale: a.scale ?? 1, queries: a.queries ?? a.scores.rows,
    causal: a.causal === true, ...(a.keyValid ? { keyValid: a.keyValid } : {}),
    out: outData('maskedSoftmax', out, a.scores.rows, a.scores.cols),
  }),
  softmaxBackward: (a, out) => ({
    rows: a.probs.rows, cols: a.probs.cols, probs: a.probs.data, gradProbs: a.gradProbs.data, scale: a.scale ?? 1,
    out: outData('softmaxBackward', out, a.probs.rows, a.probs.cols),
  }),
  softmaxCrossEntropy: (a, out) => ({
    rows: a.logits.rows, cols: a.logits.cols, logits: a.logits.data,
    ...(a.targets ? { targets: a.targets } : {}), ...(a.targetWeights ? { targetWeights: a.targetWeights.data } : {}),
    gradScale: a.gradScale ?? 1, loss: out.loss, grad: out.grad,
  }),
  sigmoidCrossEntropy: (a, out) => ({
    logits: a.logits, targets: a.targets, ...(a.weights ? { weights: a.weights } : {}), gradScale: a.gradScale ?? 1,
    loss: out.loss, grad: out.grad,
  }),
  embeddingGather: (a, out) => ({
    vocab: a.table.rows, dim: a.table.cols, table: a.table.data, ids: a.ids,
    out: outData('embeddingGather', out, a.ids.length, a.table.cols),
  }),
  segmentSum: (a, out) => ({
    rows: a.src.rows, dim: a.src.cols, src: a.src.data, offsets: a.offsets, positions: a.positions,
    ...(a.weights ? { weights: a.weights } : {}), out: outData('segmentSum', out, Math.max(0, a.offsets.length - 1), a.src.cols),
  }),
  dropout: (a, out) => ({ x: a.x, rate: a.rate, seed: a.seed, offset: a.offset ?? 0, out }),
  adamUpdate: (a) => ({
    dim: a.dim, params: a.params, grads: a.grads, m: a.m, v: a.v, ...(a.rowIds ? { rowIds: a.rowIds } : {}),
    step: a.step, lr: a.lr, beta1: a.beta1 ?? 0.9, beta2: a.beta2 ?? 0.999, eps: a.eps ?? 1e-8,
    weightDecay: a.weightDecay ?? 0, decoupled: a.decoupled ?? true, gradScale: a.gradScale ?? 1,
  }),
  spdSolve: (a, out) => ({
    n: a.a.rows, a: a.a.data, ...(a.b ? { b: a.b.data, r: a.b.cols } : {}),
    out: outData('spdSolve', out, a.a.rows, a.b ? a.b.cols : a.a.rows),
  }),
  elementwise: (a, out) => ({
    op: a.op, x: a.x, ...(a.y ? { y: a.y } : {}), alpha: a.alpha ?? 1, beta: a.beta ?? 1, out,
  }),
  softmaxOutputLayer: (a, out) => ({
    rows: a.hidden.rows, items: a.table.rows, dim: a.hidden.cols, hidden: a.hidden.data, table: a.table.data, targets: a.targets,
    ...(a.weights ? { weights: a.weights } : {}), gradScale: a.gradScale ?? 1,
    loss: out.loss, gradHidden: out.gradHidden, gradTable: out.gradTable,
  }),
};

/** The options object of `kernel` for the contract's args and output (without rows, threads, cancel). */
function nnCallOptions<K extends NnKernelName>(kernel: K, args: KernelArgs<K>, out: KernelOutput<K>): NativeNnCalls[K] {
  return (builders[kernel] as (a: KernelArgs<K>, o: KernelOutput<K>) => NativeNnCalls[K])(args, out);
}

/**
 * Runs `kernel` on a module for rows [rowStart, rowEnd) of `out` (in place for adamUpdate). A bad
 * argument rejects with the module's TypeError/RangeError; an abort with the signal's reason; a
 * matrix that spdSolve finds not positive definite with a RangeError naming the pivot, as the
 * reference's.
 */
export async function callNnKernel<K extends NnKernelName>(
  addon: NativeNnAddon, kernel: K, args: KernelArgs<K>, out: KernelOutput<K>, rowStart: number, rowEnd: number, threads: number,
  signal?: AbortSignal, inline = false,
): Promise<void> {
  const fn = addon[kernel] as ((call: NativeNnCalls[K] & NativeNnCallBase) => Promise<void>) | undefined;
  if (typeof fn !== 'function') throw new Error(`this affinity module has no ${kernel}; rebuild it (\`npm run build:native\`)`);
  const options = nnCallOptions(kernel, args, out);
  try {
    await withCancelFlag(signal, (cancel) => fn({ ...options, rowStart, rowEnd, threads, cancel, ...(inline ? { inline } : {}) }));
  } catch (e) {
    // the worker rejects with a plain Error; the reference throws a RangeError for this one
    if (kernel === 'spdSolve' && e instanceof Error && !(e instanceof RangeError) && /is not positive definite/.test(e.message)) {
      throw new RangeError(e.message, { cause: e });
    }
    throw e;
  }
}
