/**
 * Layer normalization (Ba, Kiros & Hinton 2016) over the columns of each row, forward and backward.
 *
 * Forward, per row r of x (n = cols):
 *   μ = (1/n)·Σ_j x_j,  σ² = (1/n)·Σ_j (x_j − μ)²  (biased),  rstd = 1/√(σ² + ε)
 *   x̂_j = (x_j − μ)·rstd,  y_j = γ_j·x̂_j + β_j
 * The output keeps μ and rstd per row for the backward pass.
 *
 * Backward with g_j = dy_j·γ_j (per row):
 *   dx_j = rstd·(g_j − mean_k g_k − x̂_j·mean_k(g_k·x̂_k))          (layerNormBackward, by rows)
 *   dγ_j = Σ_r dy_rj·x̂_rj,   dβ_j = Σ_r dy_rj                     (layerNormParamGrad, by columns)
 *
 * The reference computes in float64 (x̂ from the float32 μ and rstd it stored, so the forward and
 * backward of every backend see the same saved statistics) and rounds once on store.
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom, sharedFloat32 } from '../../data/matrix.js';
import { denseShape, type KernelDef } from '../kernelDef.js';
import { checkDense, checkF32, checkFinite } from '../shapes.js';

export interface LayerNormArgs {
  x: Dense;
  /** scale γ, length x.cols */
  gamma: Float32Array;
  /** shift β, length x.cols */
  beta: Float32Array;
  /** default 1e-5 */
  eps?: number;
}

export interface LayerNormOut {
  y: Dense;
  /** μ per row */
  mean: Float32Array;
  /** 1/√(σ² + ε) per row */
  rstd: Float32Array;
}

export interface LayerNormBackwardArgs {
  x: Dense;
  gamma: Float32Array;
  /** the forward pass's saved statistics */
  mean: Float32Array;
  rstd: Float32Array;
  /** ∂L/∂y */
  gradOut: Dense;
}

export type LayerNormParamGradArgs = Omit<LayerNormBackwardArgs, 'gamma'>;

export interface LayerNormParamGradOut {
  gradGamma: Float32Array;
  gradBeta: Float32Array;
}

const LAYER_NORM_EPS = 1e-5;

function validateForward(a: LayerNormArgs): void {
  const name = 'layerNorm';
  checkDense(name, 'x', a.x);
  checkF32(name, 'gamma', a.gamma, a.x.cols);
  checkF32(name, 'beta', a.beta, a.x.cols);
  const eps = a.eps ?? LAYER_NORM_EPS;
  checkFinite(name, 'eps', eps);
  if (!(eps > 0)) throw new RangeError(`${name}: eps must be > 0, got ${eps}`);
}

function validateSaved(name: string, a: LayerNormParamGradArgs): void {
  checkDense(name, 'x', a.x);
  checkF32(name, 'mean', a.mean, a.x.rows);
  checkF32(name, 'rstd', a.rstd, a.x.rows);
  checkDense(name, 'gradOut', a.gradOut, a.x.rows, a.x.cols);
}

function layerNormReference(a: LayerNormArgs, out: LayerNormOut, rowStart: number, rowEnd: number): void {
  const { cols, data } = a.x, { gamma, beta } = a, eps = a.eps ?? LAYER_NORM_EPS;
  const y = out.y.data;
  for (let r = rowStart; r < rowEnd; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += data[o + j];
    const mu = cols > 0 ? s / cols : 0;
    let q = 0;
    for (let j = 0; j < cols; j++) { const d = data[o + j] - mu; q += d * d; }
    out.mean[r] = mu;
    out.rstd[r] = 1 / Math.sqrt((cols > 0 ? q / cols : 0) + eps);
    const m32 = out.mean[r], rs32 = out.rstd[r];
    for (let j = 0; j < cols; j++) y[o + j] = gamma[j] * ((data[o + j] - m32) * rs32) + beta[j];
  }
}

function layerNormBackwardReference(a: LayerNormBackwardArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const { cols, data } = a.x, g = a.gradOut.data, gamma = a.gamma, dx = out.data;
  for (let r = rowStart; r < rowEnd; r++) {
    const o = r * cols, mu = a.mean[r], rs = a.rstd[r];
    let sg = 0, sgx = 0;
    for (let j = 0; j < cols; j++) {
      const gj = g[o + j] * gamma[j];
      sg += gj;
      sgx += gj * (data[o + j] - mu) * rs;
    }
    const mg = cols > 0 ? sg / cols : 0, mgx = cols > 0 ? sgx / cols : 0;
    for (let j = 0; j < cols; j++) {
      const xhat = (data[o + j] - mu) * rs;
      dx[o + j] = rs * (g[o + j] * gamma[j] - mg - xhat * mgx);
    }
  }
}

/** Fills gradGamma/gradBeta for columns [colStart, colEnd). */
function layerNormParamGradReference(a: LayerNormParamGradArgs, out: LayerNormParamGradOut, colStart: number, colEnd: number): void {
  const { rows, cols, data } = a.x, g = a.gradOut.data;
  const width = colEnd - colStart;
  const dg = new Float64Array(width), db = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    const o = r * cols, mu = a.mean[r], rs = a.rstd[r];
    for (let j = colStart; j < colEnd; j++) {
      const gv = g[o + j];
      dg[j - colStart] += gv * (data[o + j] - mu) * rs;
      db[j - colStart] += gv;
    }
  }
  out.gradGamma.set(dg, colStart);
  out.gradBeta.set(db, colStart);
}

export const layerNormKernel: KernelDef<LayerNormArgs, LayerNormOut> = {
  name: 'layerNorm',
  validate: validateForward,
  rows: (a) => a.x.rows,
  allocate: (a) => ({ y: denseFrom(a.x.rows, a.x.cols), mean: sharedFloat32(a.x.rows), rstd: sharedFloat32(a.x.rows) }),
  outputShape: (a) => ({ y: denseShape(a.x.rows, a.x.cols), mean: a.x.rows, rstd: a.x.rows }),
  reference: layerNormReference,
  flops: (a) => 8 * a.x.rows * a.x.cols,
};

export const layerNormBackwardKernel: KernelDef<LayerNormBackwardArgs, Dense> = {
  name: 'layerNormBackward',
  validate: (a) => {
    validateSaved('layerNormBackward', a);
    checkF32('layerNormBackward', 'gamma', a.gamma, a.x.cols);
  },
  rows: (a) => a.x.rows,
  allocate: (a) => denseFrom(a.x.rows, a.x.cols),
  outputShape: (a) => denseShape(a.x.rows, a.x.cols),
  reference: layerNormBackwardReference,
  flops: (a) => 12 * a.x.rows * a.x.cols,
};

export const layerNormParamGradKernel: KernelDef<LayerNormParamGradArgs, LayerNormParamGradOut> = {
  name: 'layerNormParamGrad',
  validate: (a) => validateSaved('layerNormParamGrad', a),
  rows: (a) => a.x.cols,
  allocate: (a) => ({ gradGamma: sharedFloat32(a.x.cols), gradBeta: sharedFloat32(a.x.cols) }),
  outputShape: (a) => ({ gradGamma: a.x.cols, gradBeta: a.x.cols }),
  reference: layerNormParamGradReference,
  flops: (a) => 5 * a.x.rows * a.x.cols,
};
