/**
 * Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019) updates, in place, dense or lazy.
 *
 * Per element, at step t ≥ 1 (g = gradScale·grad, e.g. the global-norm clipping factor):
 *   Adam (L2):   g ← g + λ·θ
 *   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
 *   m̂ = m/(1 − β1^t),  v̂ = v/(1 − β2^t)
 *   AdamW:       θ ← θ − lr·λ·θ                     (decoupled weight decay, applied first, as PyTorch)
 *   θ ← θ − lr·m̂/(√v̂ + ε)
 *
 * Dense: params, grads, m and v have the same length, a multiple of `dim`; a "row" of this kernel is
 * `dim` consecutive elements. Lazy (rowIds given): grads is compact, rowIds.length × dim, and row r
 * updates row rowIds[r] of params, m and v; rows not listed are untouched, their moments not decayed
 * (TensorFlow's LazyAdam, for embedding tables: a step costs the rows a batch touched). rowIds
 * must be distinct.
 *
 * The kernel updates params, m and v in place (mutatesArgs) and is not split across pool workers
 * (splittable: false); its output is empty. The reference computes each element in float64.
 */
import type { KernelDef } from '../kernelDef.js';
import { checkF32, checkFinite, checkI32, checkInt } from '../shapes.js';

export interface AdamUpdateArgs {
  params: Float32Array;
  grads: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** elements per row (1 for a flat vector) */
  dim: number;
  /** lazy update of these rows only (grads compact) */
  rowIds?: Int32Array;
  /** 1-based step count (bias correction) */
  step: number;
  lr: number;
  /** defaults 0.9, 0.999, 1e-8 */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** λ, default 0 */
  weightDecay?: number;
  /** true (default): AdamW's decoupled decay; false: L2 added to the gradient */
  decoupled?: boolean;
  /** multiplier of grads, default 1 */
  gradScale?: number;
}

/** Nothing: the update is in place. */
export type AdamUpdateOut = Record<string, never>;

function validateAdam(a: AdamUpdateArgs): void {
  const name = 'adamUpdate';
  checkInt(name, 'dim', a.dim, 1);
  checkF32(name, 'params', a.params);
  const n = a.params.length;
  if (n % a.dim !== 0) throw new RangeError(`${name}: params has length ${n}, not a multiple of dim = ${a.dim}`);
  checkF32(name, 'm', a.m, n);
  checkF32(name, 'v', a.v, n);
  if (a.rowIds !== undefined) {
    checkI32(name, 'rowIds', a.rowIds);
    checkF32(name, 'grads', a.grads, a.rowIds.length * a.dim);
    const rows = n / a.dim, seen = new Uint8Array(rows);
    for (let r = 0; r < a.rowIds.length; r++) {
      const id = a.rowIds[r];
      if (!(id >= 0 && id < rows)) throw new RangeError(`${name}: rowIds[${r}] = ${id} is outside [0, ${rows})`);
      if (seen[id]) throw new RangeError(`${name}: rowIds[${r}] = ${id} repeats an earlier row`);
      seen[id] = 1;
    }
  } else {
    checkF32(name, 'grads', a.grads, n);
  }
  checkInt(name, 'step', a.step, 1);
  for (const [f, v] of [['lr', a.lr], ['eps', a.eps ?? 1e-8], ['weightDecay', a.weightDecay ?? 0], ['gradScale', a.gradScale ?? 1]] as const) checkFinite(name, f, v);
  for (const [f, v] of [['beta1', a.beta1 ?? 0.9], ['beta2', a.beta2 ?? 0.999]] as const) {
    checkFinite(name, f, v);
    if (!(v >= 0 && v < 1)) throw new RangeError(`${name}: ${f} must be in [0, 1), got ${v}`);
  }
  if (!((a.eps ?? 1e-8) > 0)) throw new RangeError(`${name}: eps must be > 0, got ${a.eps}`);
}

function adamReference(a: AdamUpdateArgs, _out: AdamUpdateOut, rowStart: number, rowEnd: number): void {
  const { params: p, grads, m, v, dim, lr } = a;
  const b1 = a.beta1 ?? 0.9, b2 = a.beta2 ?? 0.999, eps = a.eps ?? 1e-8, wd = a.weightDecay ?? 0;
  const decoupled = a.decoupled ?? true, gs = a.gradScale ?? 1;
  const c1 = 1 - b1 ** a.step, c2 = 1 - b2 ** a.step;
  for (let r = rowStart; r < rowEnd; r++) {
    const base = (a.rowIds ? a.rowIds[r] : r) * dim, gBase = r * dim;
    for (let j = 0; j < dim; j++) {
      const i = base + j;
      let theta: number = p[i];
      let g = gs * grads[gBase + j];
      if (!decoupled) g += wd * theta;
      const mi = b1 * m[i] + (1 - b1) * g, vi = b2 * v[i] + (1 - b2) * g * g;
      m[i] = mi; v[i] = vi;
      if (decoupled) theta -= lr * wd * theta;
      p[i] = theta - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
    }
  }
}

export const adamUpdateKernel: KernelDef<AdamUpdateArgs, AdamUpdateOut> = {
  name: 'adamUpdate',
  validate: validateAdam,
  rows: (a) => (a.rowIds ? a.rowIds.length : a.params.length / a.dim),
  allocate: () => ({}),
  reference: adamReference,
  splittable: false,
  mutatesArgs: true,
  flops: (a) => 12 * (a.rowIds ? a.rowIds.length * a.dim : a.params.length),
};
