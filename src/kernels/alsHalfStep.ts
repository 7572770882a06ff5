/**
 * alsHalfStep — one half of an alternating-least-squares sweep: with the other side's
 * factors Y (m × f) fixed, solve the factor row x_u of every row u in [rowStart, rowEnd)
 * of `matrix` (n × m) and write it into `out` (n × f, row-major Float32Array) in place.
 *
 * implicit (Hu, Koren & Volinsky 2008), `matrix.data` holds the confidence c_ui of each
 * observed pair (the model turns ratings into confidences: c = α·r as implicit 0.7 does,
 * or c = 1 + α·r as in the paper); unobserved pairs have c = 1 and p = 0; a negative
 * stored value means "observed, p = 0, confidence |c|" (as in implicit):
 *
 *     x_u = (YᵀY + Yᵀ(C_u − I)Y + λI)⁻¹ · Yᵀ C_u p_u
 *         = (YᵀY + λI + Σ_{i∈u} (c_ui − 1)·y_i y_iᵀ)⁻¹ · Σ_{i∈u, c_ui>0} c_ui·y_i
 *
 *   YᵀY is the same for every row, so it is computed once per half step: `gram` when the
 *   caller passes it (gramian(Y)), else by the backend — the native addon in C++ over its
 *   threads, the pool once per call before the rows are split (the kernel's prepare).
 *
 * explicit ALS with weighted-λ regularisation (ALS-WR, Zhou et al. 2008), `matrix.data`
 * holds ratings r_ui:
 *
 *     x_u = (Σ_{i∈u} y_i y_iᵀ + λ·n_u·I)⁻¹ · Σ_{i∈u} r_ui·y_i
 *
 * solver 'cholesky': the exact solve (float64 Cholesky of the f×f system).
 * solver 'cg': `cgSteps` conjugate-gradient steps (Takács, Pilászy & Tikk 2011) warm-
 *   started from the current contents of `out` row u, the system never formed
 *   (A·p = (YᵀY + λI)p + Σ (c−1)(y_i·p) y_i), as implicit's least_squares_cg.
 *
 * Rows with no entries get x_u = 0 (as implicit does).
 * Accumulation in float64; output rounded to float32.
 *
 * `loss: true` also evaluates, in the same pass, each row's terms of the objective alsLoss() at
 * the row's factors BEFORE the step (out's starting row: `initial`, or 0), into out.rowLoss[u]:
 *   rowLoss[u] = x_uᵀ(YᵀY)x_u + ridge·‖x_u‖² + Σ_{i∈u} ℓ(c_ui, s_ui),   s_ui = x_uᵀy_i,
 *   implicit ℓ = a − 2a·s + (|c| − 1)·s², a = max(c, 0)  (c(p − s)² − s² with p = [c > 0]: the
 *     entry's term with the unobserved default c = 1, p = 0 removed; ridge = λ)
 *   explicit ℓ = (r − s)²                                  (no Gram term; ridge = λ·n_u)
 * A CG step computes every s_ui anyway (the residual b − A·x₀), so the loss costs a few flops per
 * entry; alsLossFromRows() turns the row terms into alsLoss(). `solve: false` evaluates only
 * (out = initial). The ALS model takes the loss of iteration t from the user step of t + 1.
 */
import type { Csr, Dense } from '../data/matrix.js';
import { denseFrom, sharedFloat64 } from '../data/matrix.js';
import type { KernelDef } from './kernelDef.js';

export type AlsMode = 'implicit' | 'explicit';
export type AlsSolver = 'cholesky' | 'cg';

export interface AlsHalfStepArgs {
  mode: AlsMode;
  solver: AlsSolver;
  /** CG iterations per row (solver 'cg'); default 3 */
  cgSteps?: number;
  /** rows being solved × the other side; data = confidence (implicit) or rating (explicit) */
  matrix: Csr;
  /** the other side's factors, fixed (m × f) */
  other: Dense;
  /** YᵀY (f × f, row-major, float64), gramian(other), for mode 'implicit'; computed from `other` when absent */
  gram?: Float64Array;
  /** λ ≥ 0 */
  regularization: number;
  /** the rows' previous factors (rows × f): the output starts as a copy, so CG warm-starts from them */
  initial?: Dense;
  /** also fill out.rowLoss with each row's objective terms at its factors before the step (see above) */
  loss?: boolean;
  /** false: evaluate the loss only, the factors stay (needs loss: true); default true */
  solve?: boolean;
}

/** alsHalfStep's output: the solved rows, and with `loss` each row's objective terms before the step. */
export interface AlsHalfStepOutput extends Dense {
  rowLoss?: Float64Array;
}

/**
 * YᵀY (f × f, float64, full symmetric) of a dense m × f matrix. Rows are taken four at a time
 * (one read-modify-write of g per four products: ~2.5× faster in V8); products of float32
 * values are exact in float64, so only the order of the additions differs from row by row.
 */
export function gramian(y: Dense): Float64Array {
  const f = y.cols, m = y.rows, d = y.data;
  const g = new Float64Array(f * f);
  let r0 = 0;
  for (; r0 + 4 <= m; r0 += 4) {
    const o0 = r0 * f, o1 = o0 + f, o2 = o1 + f, o3 = o2 + f;
    for (let a = 0; a < f; a++) {
      const y0 = d[o0 + a], y1 = d[o1 + a], y2 = d[o2 + a], y3 = d[o3 + a];
      if (y0 === 0 && y1 === 0 && y2 === 0 && y3 === 0) continue;
      const ga = a * f;
      for (let b = 0; b <= a; b++) g[ga + b] += y0 * d[o0 + b] + y1 * d[o1 + b] + y2 * d[o2 + b] + y3 * d[o3 + b];
    }
  }
  for (let r = r0; r < m; r++) {
    const o = r * f;
    for (let a = 0; a < f; a++) {
      const ya = d[o + a];
      if (ya === 0) continue;
      const ga = a * f;
      for (let b = 0; b <= a; b++) g[ga + b] += ya * d[o + b];
    }
  }
  for (let a = 0; a < f; a++) for (let b = 0; b < a; b++) g[b * f + a] = g[a * f + b];
  return g;
}

export function validateAlsHalfStep(a: AlsHalfStepArgs): void {
  const { matrix: m, other: y } = a;
  if (a.mode !== 'implicit' && a.mode !== 'explicit') throw new RangeError(`alsHalfStep: unknown mode '${a.mode}' (implicit|explicit)`);
  if (a.solver !== 'cholesky' && a.solver !== 'cg') throw new RangeError(`alsHalfStep: unknown solver '${a.solver}' (cholesky|cg)`);
  if (a.cgSteps !== undefined && (!Number.isInteger(a.cgSteps) || a.cgSteps < 1)) throw new RangeError(`alsHalfStep: cgSteps must be a positive integer, got ${a.cgSteps}`);
  if (!(a.regularization >= 0)) throw new RangeError(`alsHalfStep: regularization must be ≥ 0, got ${a.regularization}`);
  if (m.cols !== y.rows) throw new RangeError(`alsHalfStep: matrix has ${m.cols} columns, other factors ${y.rows} rows`);
  if (y.data.length !== y.rows * y.cols) throw new RangeError(`alsHalfStep: other.data has length ${y.data.length}, expected ${y.rows * y.cols}`);
  if (m.indptr.length !== m.rows + 1) throw new RangeError('alsHalfStep: matrix.indptr has the wrong length');
  const total = m.indptr[m.rows];
  if (m.indices.length < total || m.data.length < total) throw new RangeError('alsHalfStep: matrix indices/data shorter than nnz');
  // one unsigned compare per entry (a negative index is ≥ 2^31 as unsigned): this runs before every half step
  const indices = m.indices, cols = m.cols;
  for (let p = 0; p < total; p++) {
    if ((indices[p] >>> 0) >= cols) throw new RangeError(`alsHalfStep: column index ${indices[p]} at ${p} out of range [0, ${cols})`);
  }
  if (a.initial && (a.initial.rows !== m.rows || a.initial.cols !== y.cols || a.initial.data.length !== m.rows * y.cols)) {
    throw new RangeError(`alsHalfStep: initial is ${a.initial.rows}×${a.initial.cols}, expected ${m.rows}×${y.cols}`);
  }
  if (a.solve === false && a.loss !== true) throw new RangeError('alsHalfStep: solve: false evaluates the loss only, so it needs loss: true');
  if (a.mode === 'implicit' && a.gram && a.gram.length !== y.cols * y.cols) {
    throw new RangeError(`alsHalfStep: gram has length ${a.gram.length}, expected ${y.cols}² = ${y.cols * y.cols}`);
  }
}

export function allocateAlsHalfStep(a: AlsHalfStepArgs): AlsHalfStepOutput {
  const out: AlsHalfStepOutput = denseFrom(a.matrix.rows, a.other.cols);
  if (a.initial) out.data.set(a.initial.data);
  if (a.loss) out.rowLoss = sharedFloat64(a.matrix.rows);
  return out;
}

/**
 * In-place Cholesky A = LLᵀ of the f×f row-major matrix (lower triangle used and
 * overwritten), then solves LLᵀx = b in b. Returns false when A is not positive definite.
 */
export function choleskySolve(A: Float64Array, b: Float64Array, f: number): boolean {
  for (let j = 0; j < f; j++) {
    const jo = j * f;
    let s = A[jo + j];
    for (let k = 0; k < j; k++) s -= A[jo + k] * A[jo + k];
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    A[jo + j] = d;
    const inv = 1 / d;
    for (let i = j + 1; i < f; i++) {
      const io = i * f;
      let t = A[io + j];
      for (let k = 0; k < j; k++) t -= A[io + k] * A[jo + k];
      A[io + j] = t * inv;
    }
  }
  // forward: L z = b
  for (let i = 0; i < f; i++) {
    const io = i * f;
    let t = b[i];
    for (let k = 0; k < i; k++) t -= A[io + k] * b[k];
    b[i] = t / A[io + i];
  }
  // back: Lᵀ x = z
  for (let i = f - 1; i >= 0; i--) {
    let t = b[i];
    for (let k = i + 1; k < f; k++) t -= A[k * f + i] * b[k];
    b[i] = t / A[i * f + i];
  }
  return true;
}

/**
 * `steps` conjugate-gradient iterations on A·x = b from the warm start x, given its residual
 * r = b − A·x; A enters only through `mulA` (o = A·v), so it may be formed or not. Stops early
 * when the residual vanishes (‖r‖² < 1e-20) or A is not positive definite along p. Updates x and
 * r in place; p and Ap are scratch of length f.
 */
export function conjugateGradientSteps(
  mulA: (v: Float64Array, o: Float64Array) => void,
  x: Float64Array, r: Float64Array, p: Float64Array, Ap: Float64Array, f: number, steps: number,
): void {
  let rsold = 0;
  for (let k = 0; k < f; k++) { p[k] = r[k]; rsold += r[k] * r[k]; }
  if (rsold < 1e-20) return;
  for (let it = 0; it < steps; it++) {
    mulA(p, Ap);
    let pAp = 0;
    for (let k = 0; k < f; k++) pAp += p[k] * Ap[k];
    if (!(pAp > 0)) break;
    const alpha = rsold / pAp;
    let rsnew = 0;
    for (let k = 0; k < f; k++) { x[k] += alpha * p[k]; r[k] -= alpha * Ap[k]; rsnew += r[k] * r[k]; }
    if (rsnew < 1e-20) break;
    const beta = rsnew / rsold;
    for (let k = 0; k < f; k++) p[k] = r[k] + beta * p[k];
    rsold = rsnew;
  }
}

export function alsHalfStepReference(a: AlsHalfStepArgs, out: AlsHalfStepOutput, rowStart: number, rowEnd: number): void {
  const { matrix: m, other: y, mode } = a;
  const f = y.cols, Y = y.data, X = out.data;
  const lambda = a.regularization;
  const implicit = mode === 'implicit';
  const gram = implicit ? (a.gram ?? gramian(y)) : undefined;
  const A = new Float64Array(f * f);
  const b = new Float64Array(f);
  const x = new Float64Array(f), r = new Float64Array(f), p = new Float64Array(f), Ap = new Float64Array(f);
  const steps = a.cgSteps ?? 3;
  const { indptr, indices, data } = m;
  const rowLoss = a.loss ? out.rowLoss : undefined;
  if (a.loss && !rowLoss) throw new RangeError('alsHalfStep: loss: true needs out.rowLoss (allocateAlsHalfStep makes it)');
  const solve = a.solve !== false;

  /** Row u's terms of alsLoss() at its current factors (out's row), in float64. */
  function rowObjective(u: number, ridge: number): number {
    const xo = u * f;
    let t = 0, norm = 0;
    for (let k = 0; k < f; k++) norm += X[xo + k] * X[xo + k];
    if (implicit) {
      for (let i = 0; i < f; i++) {
        let s = 0;
        for (let j = 0; j < f; j++) s += gram![i * f + j] * X[xo + j];
        t += s * X[xo + i];
      }
    }
    t += ridge * norm;
    for (let q = indptr[u]; q < indptr[u + 1]; q++) {
      const yo = indices[q] * f;
      let s = 0;
      for (let k = 0; k < f; k++) s += X[xo + k] * Y[yo + k];
      const c = data[q];
      if (implicit) {
        const av = c > 0 ? c : 0;
        t += av - 2 * av * s + ((c < 0 ? -c : c) - 1) * s * s;
      } else {
        t += (c - s) * (c - s);
      }
    }
    return t;
  }

  for (let u = rowStart; u < rowEnd; u++) {
    const start = indptr[u], end = indptr[u + 1];
    const xo = u * f;
    const n = end - start;
    const ridge = implicit ? lambda : lambda * n;
    if (rowLoss) rowLoss[u] = rowObjective(u, ridge);
    if (!solve) continue;
    if (start === end) { X.fill(0, xo, xo + f); continue; }

    if (a.solver === 'cholesky') {
      if (implicit) { A.set(gram!); } else A.fill(0);
      for (let k = 0; k < f; k++) A[k * f + k] += ridge;
      b.fill(0);
      for (let q = start; q < end; q++) {
        const yo = indices[q] * f;
        let c = data[q], w: number;
        if (implicit) {
          if (c > 0) { for (let k = 0; k < f; k++) b[k] += c * Y[yo + k]; } else c = -c;
          w = c - 1;
        } else {
          for (let k = 0; k < f; k++) b[k] += c * Y[yo + k];
          w = 1;
        }
        if (w === 0) continue;
        for (let i = 0; i < f; i++) {
          const wi = w * Y[yo + i];
          if (wi === 0) continue;
          const io = i * f;
          for (let j = 0; j <= i; j++) A[io + j] += wi * Y[yo + j];
        }
      }
      if (!choleskySolve(A, b, f)) {
        throw new RangeError(`alsHalfStep: the system of row ${u} is not positive definite; increase regularization (now ${lambda})`);
      }
      for (let k = 0; k < f; k++) X[xo + k] = b[k];
      continue;
    }

    // conjugate gradient, warm start from the current row
    for (let k = 0; k < f; k++) x[k] = X[xo + k];
    // r = b − A x
    mulA(x, r);
    for (let k = 0; k < f; k++) r[k] = -r[k];
    for (let q = start; q < end; q++) {
      const yo = indices[q] * f;
      const c = data[q];
      if (implicit) { if (c > 0) for (let k = 0; k < f; k++) r[k] += c * Y[yo + k]; }
      else for (let k = 0; k < f; k++) r[k] += c * Y[yo + k];
    }
    conjugateGradientSteps(mulA, x, r, p, Ap, f, steps);
    for (let k = 0; k < f; k++) X[xo + k] = x[k];

    /** o = A·v for the current row, A never formed */
    function mulA(v: Float64Array, o: Float64Array): void {
      if (implicit) {
        for (let i = 0; i < f; i++) {
          let s = ridge * v[i];
          const go = i * f;
          for (let j = 0; j < f; j++) s += gram![go + j] * v[j];
          o[i] = s;
        }
      } else {
        for (let i = 0; i < f; i++) o[i] = ridge * v[i];
      }
      for (let q = start; q < end; q++) {
        const yo = indices[q] * f;
        let w: number;
        if (implicit) { const c = data[q]; w = (c < 0 ? -c : c) - 1; } else w = 1;
        if (w === 0) continue;
        let s = 0;
        for (let k = 0; k < f; k++) s += Y[yo + k] * v[k];
        s *= w;
        for (let k = 0; k < f; k++) o[k] += s * Y[yo + k];
      }
    }
  }
}

export interface AlsLossArgs {
  mode: AlsMode;
  /** users × items, as given to the user half step */
  matrix: Csr;
  userFactors: Dense;
  itemFactors: Dense;
  regularization: number;
}

/**
 * The objective both half steps minimise (so it never increases under exact solves):
 *   implicit: Σ_{u,i} c_ui (p_ui − x_uᵀy_i)² + λ(Σ‖x_u‖² + Σ‖y_i‖²), with c = 1, p = 0 off the data,
 *             divided by (Σ c_ui + users·items − nnz) as implicit's calculate_loss reports it;
 *   explicit: [Σ_{(u,i)} (r_ui − x_uᵀy_i)² + λ(Σ n_u‖x_u‖² + Σ n_i‖y_i‖²)] / nnz.
 */
export function alsLoss(a: AlsLossArgs): number {
  const { matrix: m, userFactors: xf, itemFactors: yf } = a;
  const f = xf.cols, X = xf.data, Y = yf.data;
  const { indptr, indices, data } = m;
  const lambda = a.regularization;
  let loss = 0, userNorm = 0, itemNorm = 0;
  if (a.mode === 'implicit') {
    const g = gramian(yf);
    let totalConf = 0;
    for (let u = 0; u < m.rows; u++) {
      const xo = u * f;
      // xᵀ(YᵀY)x: every item, c = 1, p = 0
      let quad = 0;
      for (let i = 0; i < f; i++) {
        let s = 0;
        for (let j = 0; j < f; j++) s += g[i * f + j] * X[xo + j];
        quad += s * X[xo + i];
      }
      loss += quad;
      for (let q = indptr[u]; q < indptr[u + 1]; q++) {
        const yo = indices[q] * f;
        let s = 0;
        for (let k = 0; k < f; k++) s += X[xo + k] * Y[yo + k];
        let c = data[q];
        const pos = c > 0;
        if (!pos) c = -c;
        // c(p − s)² − s²  (replacing the c=1, p=0 term already counted)
        loss += pos ? c - 2 * c * s + (c - 1) * s * s : (c - 1) * s * s;
        totalConf += c;
      }
      for (let k = 0; k < f; k++) userNorm += X[xo + k] * X[xo + k];
    }
    for (let k = 0; k < yf.data.length; k++) itemNorm += Y[k] * Y[k];
    const nz = indptr[m.rows];
    return (loss + lambda * (userNorm + itemNorm)) / (totalConf + m.rows * m.cols - nz);
  }
  const itemCount = new Float64Array(m.cols);
  for (let u = 0; u < m.rows; u++) {
    const xo = u * f;
    const n = indptr[u + 1] - indptr[u];
    for (let q = indptr[u]; q < indptr[u + 1]; q++) {
      const yo = indices[q] * f;
      let s = 0;
      for (let k = 0; k < f; k++) s += X[xo + k] * Y[yo + k];
      const e = data[q] - s;
      loss += e * e;
      itemCount[indices[q]]++;
    }
    let nn = 0;
    for (let k = 0; k < f; k++) nn += X[xo + k] * X[xo + k];
    userNorm += n * nn;
  }
  for (let i = 0; i < m.cols; i++) {
    let nn = 0;
    for (let k = 0, yo = i * f; k < f; k++) nn += Y[yo + k] * Y[yo + k];
    itemNorm += itemCount[i] * nn;
  }
  const nz = indptr[m.rows];
  return nz > 0 ? (loss + lambda * (userNorm + itemNorm)) / nz : 0;
}

/**
 * alsLoss() from the row terms a `loss: true` half step over the rows of `matrix` produced (their
 * sum), adding the other side's regularisation: λΣ‖y_i‖² (implicit) or λΣ n_i‖y_i‖² (explicit,
 * n_i = stored entries of column i), and dividing as alsLoss() does. `confidence`: Σ|c| over the
 * matrix's entries (implicit; constant across iterations, so the caller computes it once).
 */
export function alsLossFromRows(a: { mode: AlsMode; matrix: Csr; other: Dense; regularization: number }, rowLoss: Float64Array, confidence: number): number {
  const { matrix: m, other: yf } = a;
  const f = yf.cols, Y = yf.data;
  let rows = 0;
  for (let u = 0; u < rowLoss.length; u++) rows += rowLoss[u];
  const nz = m.indptr[m.rows];
  let other = 0;
  if (a.mode === 'implicit') {
    for (let k = 0; k < yf.data.length; k++) other += Y[k] * Y[k];
    return (rows + a.regularization * other) / (confidence + m.rows * m.cols - nz);
  }
  const count = new Float64Array(m.cols);
  for (let p = 0; p < nz; p++) count[m.indices[p]]++;
  for (let i = 0; i < m.cols; i++) {
    let nn = 0;
    for (let k = 0, yo = i * f; k < f; k++) nn += Y[yo + k] * Y[yo + k];
    other += count[i] * nn;
  }
  return nz > 0 ? (rows + a.regularization * other) / nz : 0;
}

/** Σ|c| over a matrix's stored values (alsLossFromRows' `confidence`). */
export function totalConfidence(m: Csr): number {
  let s = 0;
  for (let p = 0, nz = m.indptr[m.rows]; p < nz; p++) s += Math.abs(m.data[p]);
  return s;
}

/** Floating-point operations of a full call (rough: system build + solve per row), for GFLOP/s figures. */
function alsHalfStepFlops(a: AlsHalfStepArgs): number {
  const f = a.other.cols, nz = a.matrix.indptr[a.matrix.rows], n = a.matrix.rows;
  if (a.solver === 'cholesky') return nz * f * f + n * (f * f * f / 3 + 2 * f * f);
  const steps = a.cgSteps ?? 3;
  return (steps + 1) * (n * 2 * f * f + nz * 4 * f);
}

/** The args with `gram` filled in (implicit): what every row block of a call shares. */
export function withGram(a: AlsHalfStepArgs): AlsHalfStepArgs {
  return a.mode === 'implicit' && !a.gram ? { ...a, gram: gramian(a.other) } : a;
}

export const alsHalfStepKernel: KernelDef<AlsHalfStepArgs, AlsHalfStepOutput> = {
  name: 'alsHalfStep',
  validate: validateAlsHalfStep,
  rows: (a) => a.matrix.rows,
  allocate: allocateAlsHalfStep,
  reference: alsHalfStepReference,
  prepare: withGram,
  flops: alsHalfStepFlops,
};
