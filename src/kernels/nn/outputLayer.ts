/**
 * softmaxOutputLayer: the full-softmax output layer of a next-item model (SASRec's softmax
 * cross-entropy over the whole catalogue, Klenitskiy & Vasilev 2023) with its loss and both
 * gradients, in one call. Hidden states H (rows × dim), item table E (items × dim), targets t
 * (rows, each in [−1, items)), row weights w (rows, finite ≥ 0; default 1), s = gradScale
 * (default 1); per row r (lse = log Σ_j e^{z_j}):
 *   z_r = E·h_r                                   the logits over every item
 *   loss_r = w_r·(lse(z_r) − z_{r,t_r})           the softmax cross-entropy (unscaled)
 *   G_r = s·w_r·(softmax(z_r) − onehot(t_r))      ∂(s·Σ loss)/∂z_r;  t_r = −1: loss_r = 0, G_r = 0
 *   gradHidden = G·E (rows × dim),  gradTable = Gᵀ·H (items × dim)
 * It is gemm (logits), softmaxCrossEntropy (targets), gemm (G·E) and gemm (Gᵀ·H) in sequence; a
 * backend may fuse them so that the rows × items logits are never stored (the native module works
 * tile by tile of rows). gradTable sums over every row, so one call computes all rows (not
 * splittable). The reference computes in float64 and rounds once on store.
 */
import { sharedFloat32, type Dense } from '../../data/matrix.js';
import type { KernelDef } from '../kernelDef.js';
import { checkDense, checkF32, checkFinite, checkI32 } from '../shapes.js';

export interface SoftmaxOutputLayerArgs {
  /** rows × dim */
  hidden: Dense;
  /** items × dim (items ≥ 1) */
  table: Dense;
  /** the target item of each row in [0, items), or −1 to ignore the row */
  targets: Int32Array;
  /** per-row weights ≥ 0; default all 1 */
  weights?: Float32Array;
  /** multiplier of the gradients; default 1 */
  gradScale?: number;
}

export interface SoftmaxOutputLayerOut {
  /** per row, unscaled */
  loss: Float32Array;
  /** rows × dim */
  gradHidden: Float32Array;
  /** items × dim */
  gradTable: Float32Array;
}

function validate(a: SoftmaxOutputLayerArgs): void {
  const name = 'softmaxOutputLayer';
  checkDense(name, 'hidden', a.hidden);
  checkDense(name, 'table', a.table, undefined, a.hidden.cols);
  if (a.table.rows < 1) throw new RangeError(`${name}: table has ${a.table.rows} items; a softmax needs at least 1`);
  if (a.hidden.cols < 1) throw new RangeError(`${name}: dim must be ≥ 1, got ${a.hidden.cols}`);
  const rows = a.hidden.rows, items = a.table.rows;
  checkI32(name, 'targets', a.targets, rows);
  for (let r = 0; r < rows; r++) {
    const t = a.targets[r];
    if (t < -1 || t >= items) throw new RangeError(`${name}: targets[${r}] = ${t} is outside [-1, ${items})`);
  }
  if (a.weights !== undefined) {
    checkF32(name, 'weights', a.weights, rows);
    for (let r = 0; r < rows; r++) {
      if (!(a.weights[r] >= 0) || !Number.isFinite(a.weights[r])) throw new RangeError(`${name}: weights[${r}] = ${a.weights[r]} is not a finite weight ≥ 0`);
    }
  }
  checkFinite(name, 'gradScale', a.gradScale ?? 1);
}

function reference(a: SoftmaxOutputLayerArgs, out: SoftmaxOutputLayerOut, rowStart: number, rowEnd: number): void {
  const rows = a.hidden.rows, d = a.hidden.cols, items = a.table.rows;
  if (rowStart !== 0 || rowEnd !== rows) throw new RangeError(`softmaxOutputLayer: computes all ${rows} rows in one call, got rows [${rowStart}, ${rowEnd})`);
  const H = a.hidden.data, E = a.table.data, s = a.gradScale ?? 1;
  const dE = new Float64Array(items * d), z = new Float64Array(items), dh = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const t = a.targets[r], h = r * d;
    if (t < 0) {
      out.loss[r] = 0;
      out.gradHidden.fill(0, h, h + d);
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < items; j++) {
      let v = 0;
      for (let k = 0; k < d; k++) v += H[h + k] * E[j * d + k];
      z[j] = v;
      max = Math.max(max, v);
    }
    let sum = 0;
    for (let j = 0; j < items; j++) sum += Math.exp(z[j] - max);
    const lse = max + Math.log(sum), w = a.weights ? a.weights[r] : 1;
    out.loss[r] = w * (lse - z[t]);
    dh.fill(0);
    for (let j = 0; j < items; j++) {
      const g = s * w * (Math.exp(z[j] - lse) - (j === t ? 1 : 0));
      for (let k = 0; k < d; k++) {
        dh[k] += g * E[j * d + k];
        dE[j * d + k] += g * H[h + k];
      }
    }
    for (let k = 0; k < d; k++) out.gradHidden[h + k] = dh[k];
  }
  out.gradTable.set(dE);
}

export const softmaxOutputLayerKernel: KernelDef<SoftmaxOutputLayerArgs, SoftmaxOutputLayerOut> = {
  name: 'softmaxOutputLayer',
  validate,
  rows: (a) => a.hidden.rows,
  allocate: (a) => ({
    loss: sharedFloat32(a.hidden.rows),
    gradHidden: sharedFloat32(a.hidden.rows * a.hidden.cols),
    gradTable: sharedFloat32(a.table.rows * a.table.cols),
  }),
  outputShape: (a) => ({ loss: a.hidden.rows, gradHidden: a.hidden.rows * a.hidden.cols, gradTable: a.table.rows * a.table.cols }),
  reference,
  splittable: false,
  // three products of rows × items × dim, and the softmax
  flops: (a) => 6 * a.hidden.rows * a.table.rows * a.hidden.cols + 6 * a.hidden.rows * a.table.rows,
};
