/**
 * Dense symmetric positive-definite solve by Cholesky, for closed-form models (EASE, Steck 2019:
 * P = (XᵀX + λI)⁻¹; ridge regressions):
 *
 *   A = L·Lᵀ  (L lower triangular, L_jj > 0),   X = A⁻¹·B = L⁻ᵀ·(L⁻¹·B)
 *
 * Only the lower triangle of A (row-major n × n) is read. Without `b` the kernel returns A⁻¹
 * (n × n). A matrix that is not positive definite (a pivot A_jj − Σ_k L_jk² ≤ 0, or not finite)
 * is a RangeError naming the pivot. One call solves the whole system (splittable: false; a
 * backend threads it internally). The reference factors and solves in float64 and rounds the
 * result once; an fp32 backend must agree within 1e-4·cond-scaled tolerance (tests use
 * well-conditioned systems and compare A·X with B).
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom } from '../../data/matrix.js';
import { denseShape, type KernelDef } from '../kernelDef.js';
import { checkDense } from '../shapes.js';

export interface SpdSolveArgs {
  /** n × n, symmetric positive definite; the lower triangle is read */
  a: Dense;
  /** n × r right-hand sides; absent: the identity (the result is A⁻¹) */
  b?: Dense;
}

function validateSpdSolve(s: SpdSolveArgs): void {
  checkDense('spdSolve', 'a', s.a);
  if (s.a.rows !== s.a.cols) throw new RangeError(`spdSolve: a must be square, got ${s.a.rows}×${s.a.cols}`);
  if (s.b !== undefined) checkDense('spdSolve', 'b', s.b, s.a.rows);
}

/** Cholesky factor (lower, row-major float64) of the lower triangle of a; throws on a non-positive pivot. */
function choleskyLower(a: Float32Array | Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > 0) || !Number.isFinite(d)) throw new RangeError(`spdSolve: the matrix is not positive definite (pivot ${j} is ${d})`);
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

function spdSolveReference(s: SpdSolveArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const n = s.a.rows, r = s.b ? s.b.cols : n;
  if (rowStart !== 0 || rowEnd !== n) throw new RangeError(`spdSolve: solves all ${n} rows in one call, got rows [${rowStart}, ${rowEnd})`);
  const l = choleskyLower(s.a.data, n);
  const col = new Float64Array(n);
  for (let c = 0; c < r; c++) {
    for (let i = 0; i < n; i++) col[i] = s.b ? s.b.data[i * r + c] : i === c ? 1 : 0;
    // forward: L·y = b
    for (let i = 0; i < n; i++) {
      let v = col[i];
      for (let k = 0; k < i; k++) v -= l[i * n + k] * col[k];
      col[i] = v / l[i * n + i];
    }
    // backward: Lᵀ·x = y
    for (let i = n - 1; i >= 0; i--) {
      let v = col[i];
      for (let k = i + 1; k < n; k++) v -= l[k * n + i] * col[k];
      col[i] = v / l[i * n + i];
    }
    for (let i = 0; i < n; i++) out.data[i * r + c] = col[i];
  }
}

export const spdSolveKernel: KernelDef<SpdSolveArgs, Dense> = {
  name: 'spdSolve',
  validate: validateSpdSolve,
  rows: (s) => s.a.rows,
  allocate: (s) => denseFrom(s.a.rows, s.b ? s.b.cols : s.a.rows),
  outputShape: (s) => denseShape(s.a.rows, s.b ? s.b.cols : s.a.rows),
  reference: spdSolveReference,
  splittable: false,
  flops: (s) => {
    const n = s.a.rows, r = s.b ? s.b.cols : n;
    return n * n * n / 3 + 2 * n * n * r;
  },
};
