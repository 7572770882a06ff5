/**
 * Row softmax with the masks of scaled dot-product attention, and its backward.
 *
 *   maskedSoftmax:    p_ij = exp(s·x_ij − m_i) / Σ_{k unmasked} exp(s·x_ik − m_i)   for unmasked j, 0 for masked j
 *                     (m_i = max over the unmasked entries; a row with every entry masked is all zeros)
 *   softmaxBackward:  dx_ij = s·p_ij·(dp_ij − Σ_k dp_ik·p_ik)                        (the gradient w.r.t. x)
 *
 * Attention layout (Vaswani et al. 2017: softmax(QKᵀ/√d)·V): `scores` holds `entries` blocks of
 * `queries` rows × cols keys, one block per (head, sequence) pair, head-major: block e is sequence
 * e mod S of head ⌊e/S⌋, where S = keyValid.length / cols (1 without keyValid). Row r is query
 * i = r mod queries of block e = ⌊r / queries⌋. Masks:
 *   causal:    key j > query i is masked (a position attends to itself and the past);
 *   keyValid:  S × cols bytes, 0 = a padding key, masked for every query of that sequence.
 * Without masks and with queries = rows, this is a plain row softmax of s·x.
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom } from '../../data/matrix.js';
import { denseShape, type KernelDef } from '../kernelDef.js';
import { checkDense, checkFinite, checkInt } from '../shapes.js';

export interface MaskedSoftmaxArgs {
  scores: Dense;
  /** multiplier of the scores before the softmax (attention: 1/√d); default 1 */
  scale?: number;
  /** rows per block; default scores.rows (one block) */
  queries?: number;
  causal?: boolean;
  /** S × cols: 1 = a real key, 0 = padding (masked) */
  keyValid?: Uint8Array;
}

export interface SoftmaxBackwardArgs {
  /** the forward output p */
  probs: Dense;
  /** ∂L/∂p */
  gradProbs: Dense;
  /** the forward's scale; default 1 */
  scale?: number;
}

function validateMaskedSoftmax(a: MaskedSoftmaxArgs): void {
  const name = 'maskedSoftmax';
  checkDense(name, 'scores', a.scores);
  checkFinite(name, 'scale', a.scale ?? 1);
  const q = a.queries ?? a.scores.rows;
  checkInt(name, 'queries', q);
  if (a.scores.rows > 0 && (q === 0 || a.scores.rows % q !== 0)) throw new RangeError(`${name}: scores has ${a.scores.rows} rows, not a multiple of queries = ${q}`);
  if (a.keyValid !== undefined) {
    if (!(a.keyValid instanceof Uint8Array)) throw new TypeError(`${name}: keyValid must be a Uint8Array`);
    const cols = a.scores.cols;
    if (cols === 0 ? a.keyValid.length !== 0 : a.keyValid.length % cols !== 0 || a.keyValid.length === 0) {
      throw new RangeError(`${name}: keyValid has length ${a.keyValid.length}, not a positive multiple of the ${cols} keys`);
    }
  }
}

function maskedSoftmaxReference(a: MaskedSoftmaxArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const { cols, data } = a.scores, scale = a.scale ?? 1, q = a.queries ?? a.scores.rows;
  const valid = a.keyValid, sequences = valid && cols > 0 ? valid.length / cols : 1;
  const p = out.data;
  const e = new Float64Array(cols);
  for (let r = rowStart; r < rowEnd; r++) {
    const block = Math.floor(r / q), i = r - block * q;
    const vBase = valid ? (block % sequences) * cols : 0;
    const last = a.causal ? Math.min(cols, i + 1) : cols; // keys [0, last) pass the causal mask
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < last; j++) if (!valid || valid[vBase + j]) max = Math.max(max, scale * data[o + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const on = j < last && (!valid || valid[vBase + j] !== 0);
      e[j] = on ? Math.exp(scale * data[o + j] - max) : 0;
      sum += e[j];
    }
    for (let j = 0; j < cols; j++) p[o + j] = sum > 0 ? e[j] / sum : 0;
  }
}

function softmaxBackwardReference(a: SoftmaxBackwardArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const { cols } = a.probs, p = a.probs.data, dp = a.gradProbs.data, dx = out.data, scale = a.scale ?? 1;
  for (let r = rowStart; r < rowEnd; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dp[o + j] * p[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = scale * p[o + j] * (dp[o + j] - dot);
  }
}

export const maskedSoftmaxKernel: KernelDef<MaskedSoftmaxArgs, Dense> = {
  name: 'maskedSoftmax',
  validate: validateMaskedSoftmax,
  rows: (a) => a.scores.rows,
  allocate: (a) => denseFrom(a.scores.rows, a.scores.cols),
  outputShape: (a) => denseShape(a.scores.rows, a.scores.cols),
  reference: maskedSoftmaxReference,
  flops: (a) => 5 * a.scores.rows * a.scores.cols,
};

export const softmaxBackwardKernel: KernelDef<SoftmaxBackwardArgs, Dense> = {
  name: 'softmaxBackward',
  validate: (a) => {
    checkDense('softmaxBackward', 'probs', a.probs);
    checkDense('softmaxBackward', 'gradProbs', a.gradProbs, a.probs.rows, a.probs.cols);
    checkFinite('softmaxBackward', 'scale', a.scale ?? 1);
  },
  rows: (a) => a.probs.rows,
  allocate: (a) => denseFrom(a.probs.rows, a.probs.cols),
  outputShape: (a) => denseShape(a.probs.rows, a.probs.cols),
  reference: softmaxBackwardReference,
  flops: (a) => 4 * a.probs.rows * a.probs.cols,
};
