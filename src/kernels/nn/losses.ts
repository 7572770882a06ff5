/**
 * Losses with their gradients, fused (one pass computes both): softmax cross-entropy over full or
 * sampled logits, and binary (sigmoid) cross-entropy on logits.
 *
 * softmaxCrossEntropy, per row r of logits z (p = softmax(z), lse = log Σ_j e^{z_j}):
 *   class target t_r:          loss_r = lse − z_{t}              grad_r = s·(p − onehot(t))
 *   target weights w_r (dense):  loss_r = Σ_j w_j·(lse − z_j)     grad_r = s·((Σ_j w_j)·p − w)
 *     (the multinomial log-likelihood of Mult-VAE, Liang et al. 2018, with w the user's counts)
 *   t_r = −1 ignores the row (loss 0, gradient 0: padding positions).
 * Sampled softmax is the same kernel on the logits of [positive, sampled negatives] with target 0.
 *
 * sigmoidCrossEntropy, per element (σ the logistic function, y ∈ [0, 1], weight w ≥ 0, default 1):
 *   loss = w·(max(z, 0) − z·y + log(1 + e^{−|z|}))                (= −w·(y·log σ(z) + (1−y)·log(1−σ(z))), stable)
 *   grad = s·w·(σ(z) − y)
 *
 * s = gradScale (default 1), e.g. 1/(number of rows) for a mean loss; the loss is never scaled.
 * The reference computes in float64 and rounds once on store.
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom, sharedFloat32 } from '../../data/matrix.js';
import type { KernelDef } from '../kernelDef.js';
import { checkDense, checkF32, checkFinite, checkI32 } from '../shapes.js';

export interface SoftmaxCrossEntropyArgs {
  logits: Dense;
  /** the class of each row in [0, cols), or −1 to ignore the row; exactly one of targets / targetWeights */
  targets?: Int32Array;
  /** rows × cols non-negative weights per class (multi-hot or counts) */
  targetWeights?: Dense;
  /** multiplier of the gradient; default 1 */
  gradScale?: number;
}

export interface LossOut {
  /** per row (softmax) or per element (sigmoid), unscaled */
  loss: Float32Array;
  /** ∂(s·Σ loss)/∂logits, the shape of the logits */
  grad: Float32Array;
}

export interface SigmoidCrossEntropyArgs {
  logits: Float32Array;
  /** in [0, 1], the length of logits */
  targets: Float32Array;
  /** ≥ 0, the length of logits; default all 1 (0 ignores an element) */
  weights?: Float32Array;
  gradScale?: number;
}

function validateSoftmaxCe(a: SoftmaxCrossEntropyArgs): void {
  const name = 'softmaxCrossEntropy';
  checkDense(name, 'logits', a.logits);
  checkFinite(name, 'gradScale', a.gradScale ?? 1);
  const { rows, cols } = a.logits;
  if ((a.targets === undefined) === (a.targetWeights === undefined)) throw new TypeError(`${name}: give exactly one of targets and targetWeights`);
  if (a.targets !== undefined) {
    checkI32(name, 'targets', a.targets, rows);
    for (let r = 0; r < rows; r++) {
      const t = a.targets[r];
      if (t < -1 || t >= cols) throw new RangeError(`${name}: targets[${r}] = ${t} is outside [-1, ${cols})`);
    }
  } else {
    checkDense(name, 'targetWeights', a.targetWeights, rows, cols);
    const w = a.targetWeights!.data;
    for (let i = 0; i < w.length; i++) {
      if (!(w[i] >= 0) || !Number.isFinite(w[i])) throw new RangeError(`${name}: targetWeights[${i}] = ${w[i]} is not a finite weight ≥ 0`);
    }
  }
}

function softmaxCeReference(a: SoftmaxCrossEntropyArgs, out: LossOut, rowStart: number, rowEnd: number): void {
  const { cols, data: z } = a.logits, s = a.gradScale ?? 1, g = out.grad;
  const t = a.targets, w = a.targetWeights?.data;
  for (let r = rowStart; r < rowEnd; r++) {
    const o = r * cols;
    if (t && t[r] < 0) {
      out.loss[r] = 0;
      g.fill(0, o, o + cols);
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, z[o + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(z[o + j] - max);
    const lse = max + Math.log(sum);
    if (t) {
      out.loss[r] = lse - z[o + t[r]];
      for (let j = 0; j < cols; j++) g[o + j] = s * (Math.exp(z[o + j] - lse) - (j === t[r] ? 1 : 0));
    } else {
      let loss = 0, total = 0;
      for (let j = 0; j < cols; j++) { loss += w![o + j] * (lse - z[o + j]); total += w![o + j]; }
      out.loss[r] = loss;
      for (let j = 0; j < cols; j++) g[o + j] = s * (total * Math.exp(z[o + j] - lse) - w![o + j]);
    }
  }
}

function validateSigmoidCe(a: SigmoidCrossEntropyArgs): void {
  const name = 'sigmoidCrossEntropy';
  checkF32(name, 'logits', a.logits);
  const n = a.logits.length;
  checkF32(name, 'targets', a.targets, n);
  for (let i = 0; i < n; i++) if (!(a.targets[i] >= 0 && a.targets[i] <= 1)) throw new RangeError(`${name}: targets[${i}] = ${a.targets[i]} is outside [0, 1]`);
  if (a.weights !== undefined) {
    checkF32(name, 'weights', a.weights, n);
    for (let i = 0; i < n; i++) if (!(a.weights[i] >= 0) || !Number.isFinite(a.weights[i])) throw new RangeError(`${name}: weights[${i}] = ${a.weights[i]} is not a finite weight ≥ 0`);
  }
  checkFinite(name, 'gradScale', a.gradScale ?? 1);
}

function sigmoidCeReference(a: SigmoidCrossEntropyArgs, out: LossOut, start: number, end: number): void {
  const { logits: z, targets: y, weights: w } = a, s = a.gradScale ?? 1;
  for (let i = start; i < end; i++) {
    const zi = z[i], wi = w ? w[i] : 1;
    const sig = zi >= 0 ? 1 / (1 + Math.exp(-zi)) : Math.exp(zi) / (1 + Math.exp(zi));
    out.loss[i] = wi * (Math.max(zi, 0) - zi * y[i] + Math.log1p(Math.exp(-Math.abs(zi))));
    out.grad[i] = s * wi * (sig - y[i]);
  }
}

export const softmaxCrossEntropyKernel: KernelDef<SoftmaxCrossEntropyArgs, LossOut> = {
  name: 'softmaxCrossEntropy',
  validate: validateSoftmaxCe,
  rows: (a) => a.logits.rows,
  allocate: (a) => ({ loss: sharedFloat32(a.logits.rows), grad: denseFrom(a.logits.rows, a.logits.cols).data }),
  outputShape: (a) => ({ loss: a.logits.rows, grad: a.logits.rows * a.logits.cols }),
  reference: softmaxCeReference,
  flops: (a) => 6 * a.logits.rows * a.logits.cols,
};

export const sigmoidCrossEntropyKernel: KernelDef<SigmoidCrossEntropyArgs, LossOut> = {
  name: 'sigmoidCrossEntropy',
  validate: validateSigmoidCe,
  rows: (a) => a.logits.length,
  allocate: (a) => ({ loss: sharedFloat32(a.logits.length), grad: sharedFloat32(a.logits.length) }),
  outputShape: (a) => ({ loss: a.logits.length, grad: a.logits.length }),
  reference: sigmoidCeReference,
  flops: (a) => 10 * a.logits.length,
};
