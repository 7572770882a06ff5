/**
 * Elementwise arithmetic on equal-length vectors (residual connections, gradient sums, the
 * generalized matrix factorization layer's product):
 *
 *   axpby:  out_i = α·x_i + β·y_i      (y absent: α·x_i)
 *   mul:    out_i = α·x_i·y_i
 *
 * The reference computes in float64 and rounds once on store.
 */
import { sharedFloat32 } from '../../data/matrix.js';
import type { KernelDef } from '../kernelDef.js';
import { checkF32, checkFinite } from '../shapes.js';

export interface ElementwiseArgs {
  op: 'axpby' | 'mul';
  x: Float32Array;
  /** the length of x; required for 'mul' */
  y?: Float32Array;
  /** default 1 */
  alpha?: number;
  /** default 1 (axpby only) */
  beta?: number;
}

function elementwiseReference(a: ElementwiseArgs, out: Float32Array, start: number, end: number): void {
  const { x, y } = a, alpha = a.alpha ?? 1, beta = a.beta ?? 1;
  if (a.op === 'mul') {
    for (let i = start; i < end; i++) out[i] = alpha * x[i] * y![i];
  } else if (y) {
    for (let i = start; i < end; i++) out[i] = alpha * x[i] + beta * y[i];
  } else {
    for (let i = start; i < end; i++) out[i] = alpha * x[i];
  }
}

export const elementwiseKernel: KernelDef<ElementwiseArgs, Float32Array> = {
  name: 'elementwise',
  validate: (a) => {
    if (a.op !== 'axpby' && a.op !== 'mul') throw new RangeError(`elementwise: op must be 'axpby' or 'mul', got '${String(a.op)}'`);
    checkF32('elementwise', 'x', a.x);
    if (a.y !== undefined || a.op === 'mul') checkF32('elementwise', 'y', a.y, a.x.length);
    checkFinite('elementwise', 'alpha', a.alpha ?? 1);
    checkFinite('elementwise', 'beta', a.beta ?? 1);
  },
  rows: (a) => a.x.length,
  allocate: (a) => sharedFloat32(a.x.length),
  outputShape: (a) => a.x.length,
  reference: elementwiseReference,
  flops: (a) => 3 * a.x.length,
};
