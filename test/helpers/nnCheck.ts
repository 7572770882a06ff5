/**
 * Helpers for the neural-network kernel tests: seeded inputs on a grid that makes x ± h exact in
 * float32, a central finite difference, and the gradient check every backward kernel goes through.
 */
import * as assert from 'uvu/assert';
import { getKernel, type KernelArgs, type KernelName, type KernelOutput } from '../../src/kernels/contract.js';
import { denseFrom, sharedFloat32, type Dense } from '../../src/data/matrix.js';
import { mulberry32 } from './random.js';

/** Finite-difference step: a power of two, so x ± H is exact for inputs on the 2⁻¹² grid below 8. */
export const H = 2 ** -8;

/** Values uniform in [lo, hi) rounded to multiples of 2⁻¹²; entries with |v| < avoid are pushed out to ±avoid (kinks). */
export function gridValues(n: number, seed: number, lo = -1, hi = 1, avoid = 0): Float32Array {
  const rnd = mulberry32(seed);
  const a = sharedFloat32(n);
  for (let i = 0; i < n; i++) {
    let v = Math.round((lo + (hi - lo) * rnd()) * 4096) / 4096;
    if (Math.abs(v) < avoid) v = v < 0 ? -avoid : avoid;
    a[i] = v;
  }
  return a;
}

export function gridDense(rows: number, cols: number, seed: number, lo = -1, hi = 1, avoid = 0): Dense {
  return { rows, cols, data: rows * cols ? gridValues(rows * cols, seed, lo, hi, avoid) : denseFrom(rows, cols).data };
}

/** Runs a kernel's reference whole (validate, allocate, fill every row). */
export function runReference<K extends KernelName>(name: K, args: KernelArgs<K>): KernelOutput<K> {
  const def = getKernel(name);
  def.validate(args);
  const out = def.allocate(args);
  const r = def.reference(args, out, 0, def.rows(args));
  if (r instanceof Promise) throw new Error(`${name}: asynchronous reference`);
  return out;
}

/** Σ g ⊙ y in float64. */
export function weightedSum(g: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * y[i];
  return s;
}

/** (f(x + h e_i) − f(x − h e_i)) / 2h, restoring x[i]. */
export function centralDifference(f: () => number, x: Float32Array, i: number, h = H): number {
  const x0 = x[i];
  x[i] = x0 + h;
  const up = f();
  x[i] = x0 - h;
  const down = f();
  x[i] = x0;
  return (up - down) / (2 * h);
}

/**
 * Checks analytic[i] against the finite difference of `loss` w.r.t. x[i] for every i (or a
 * sample of at most `limit`): |numeric − analytic| ≤ tol·(1 + |analytic|).
 */
export function checkGradient(label: string, loss: () => number, x: Float32Array, analytic: ArrayLike<number>, tol = 2e-3, limit = 64): void {
  assert.is(analytic.length, x.length, `${label}: gradient length`);
  const step = Math.max(1, Math.floor(x.length / limit));
  for (let i = 0; i < x.length; i += step) {
    const num = centralDifference(loss, x, i);
    const ana = analytic[i];
    if (!(Math.abs(num - ana) <= tol * (1 + Math.abs(ana)))) {
      assert.unreachable(`${label}: ∂L/∂x[${i}] analytic ${ana}, finite difference ${num}`);
    }
  }
}
