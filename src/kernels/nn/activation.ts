/**
 * Bias + activation, forward and backward, and the column sums that give a bias's gradient.
 *
 *   biasActivation:      y = act(x + b)                      (b broadcast over rows; optional)
 *   activationBackward:  dz = dy ⊙ act'(x + b)               (z recomputed from x and b: nothing saved)
 *   columnSums:          s_j = Σ_r x_rj                      (db = columnSums(dz))
 *
 * Activations (z = x + b):
 *   identity  z                                   1
 *   relu      max(z, 0)                           1 if z > 0 else 0
 *   sigmoid   σ(z) = 1 / (1 + e^−z)               σ(z)·(1 − σ(z))
 *   tanh      tanh z                              1 − tanh² z
 *   gelu      ½·z·(1 + tanh u), u = c·(z + 0.044715·z³), c = √(2/π)
 *             (the tanh approximation of Hendrycks & Gimpel 2016, as BERT and GPT-2 use)
 *             ½·(1 + tanh u) + ½·z·(1 − tanh² u)·c·(1 + 3·0.044715·z²)
 *
 * The reference evaluates each element in float64 and rounds once on store; other backends
 * evaluate in float32 and must agree within 1e-5·(1 + |y|) per element (tests).
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom, sharedFloat32 } from '../../data/matrix.js';
import { denseShape, type KernelDef } from '../kernelDef.js';
import { checkDense, checkF32 } from '../shapes.js';

export type Activation = 'identity' | 'relu' | 'sigmoid' | 'tanh' | 'gelu';
const activations: readonly Activation[] = ['identity', 'relu', 'sigmoid', 'tanh', 'gelu'];

export interface BiasActivationArgs {
  x: Dense;
  /** length x.cols; absent = no bias */
  bias?: Float32Array;
  activation: Activation;
}

export interface ActivationBackwardArgs extends BiasActivationArgs {
  /** ∂L/∂y, the same shape as x */
  gradOut: Dense;
}

export interface ColumnSumsArgs {
  x: Dense;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

function sigmoid(z: number): number {
  // stable on both sides: e^−|z| never overflows
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** act(z) in float64. */
function activate(act: Activation, z: number): number {
  switch (act) {
    case 'identity': return z;
    case 'relu': return z > 0 ? z : 0;
    case 'sigmoid': return sigmoid(z);
    case 'tanh': return Math.tanh(z);
    case 'gelu': return 0.5 * z * (1 + Math.tanh(GELU_C * (z + GELU_A * z * z * z)));
  }
}

/** act'(z) in float64. */
function activateDerivative(act: Activation, z: number): number {
  switch (act) {
    case 'identity': return 1;
    case 'relu': return z > 0 ? 1 : 0;
    case 'sigmoid': { const s = sigmoid(z); return s * (1 - s); }
    case 'tanh': { const t = Math.tanh(z); return 1 - t * t; }
    case 'gelu': {
      const t = Math.tanh(GELU_C * (z + GELU_A * z * z * z));
      return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * z * z);
    }
  }
}

function validateBiasActivation(name: string, a: BiasActivationArgs): void {
  checkDense(name, 'x', a.x);
  if (a.bias !== undefined) checkF32(name, 'bias', a.bias, a.x.cols);
  if (!activations.includes(a.activation)) throw new RangeError(`${name}: unknown activation '${String(a.activation)}' (${activations.join('|')})`);
}

function biasActivationReference(a: BiasActivationArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const { cols, data } = a.x, b = a.bias, y = out.data, act = a.activation;
  for (let r = rowStart; r < rowEnd; r++) {
    for (let j = 0, o = r * cols; j < cols; j++) y[o + j] = activate(act, data[o + j] + (b ? b[j] : 0));
  }
}

function activationBackwardReference(a: ActivationBackwardArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const { cols, data } = a.x, b = a.bias, g = a.gradOut.data, dz = out.data, act = a.activation;
  for (let r = rowStart; r < rowEnd; r++) {
    for (let j = 0, o = r * cols; j < cols; j++) dz[o + j] = g[o + j] * activateDerivative(act, data[o + j] + (b ? b[j] : 0));
  }
}

/** Fills sums [colStart, colEnd): a "row" of this kernel's output is one column of x. */
function columnSumsReference(a: ColumnSumsArgs, out: Float32Array, colStart: number, colEnd: number): void {
  const { rows, cols, data } = a.x;
  const acc = new Float64Array(colEnd - colStart);
  for (let r = 0; r < rows; r++) {
    for (let j = colStart, o = r * cols; j < colEnd; j++) acc[j - colStart] += data[o + j];
  }
  out.set(acc, colStart);
}

export const biasActivationKernel: KernelDef<BiasActivationArgs, Dense> = {
  name: 'biasActivation',
  validate: (a) => validateBiasActivation('biasActivation', a),
  rows: (a) => a.x.rows,
  allocate: (a) => denseFrom(a.x.rows, a.x.cols),
  outputShape: (a) => denseShape(a.x.rows, a.x.cols),
  reference: biasActivationReference,
  flops: (a) => a.x.rows * a.x.cols * (a.activation === 'gelu' ? 10 : 2),
};

export const activationBackwardKernel: KernelDef<ActivationBackwardArgs, Dense> = {
  name: 'activationBackward',
  validate: (a) => {
    validateBiasActivation('activationBackward', a);
    checkDense('activationBackward', 'gradOut', a.gradOut, a.x.rows, a.x.cols);
  },
  rows: (a) => a.x.rows,
  allocate: (a) => denseFrom(a.x.rows, a.x.cols),
  outputShape: (a) => denseShape(a.x.rows, a.x.cols),
  reference: activationBackwardReference,
  flops: (a) => a.x.rows * a.x.cols * (a.activation === 'gelu' ? 14 : 3),
};

export const columnSumsKernel: KernelDef<ColumnSumsArgs, Float32Array> = {
  name: 'columnSums',
  validate: (a) => checkDense('columnSums', 'x', a.x),
  rows: (a) => a.x.cols,
  allocate: (a) => sharedFloat32(a.x.cols),
  outputShape: (a) => a.x.cols,
  reference: columnSumsReference,
  flops: (a) => a.x.rows * a.x.cols,
};
