/**
 * gemm — batched general matrix multiply, the product behind every dense layer:
 *
 *   C_b = α · op(A_b) · op(B_b) + β · C0_b      for b in [0, batch)
 *
 * op(X) is X ('N') or Xᵀ ('T'). op(A_b) is m×k, op(B_b) is k×n, C_b is m×n. Every matrix is
 * row-major: A_b is stored m×k ('N') or k×m ('T') starting at b·strideA of `a`, with `lda`
 * elements between its stored rows (default: dense, the stored row length); likewise B_b (k×n or
 * n×k) at b·strideB with `ldb`, and C0_b (m×n, dense) at b·strideC of `c`. A stride of 0
 * broadcasts one matrix to every batch entry (e.g. one weight matrix); a leading dimension larger
 * than the row reads a column block of a wider matrix (one attention head's slice of [T, heads·d]).
 *
 * The output is a separate buffer (`out`, batch·m rows × n, contiguous): `c` is only read, and
 * only when β ≠ 0 (β = 0 ignores c entirely, NaNs included, as BLAS does). Rows of the output
 * (batch × m of them) are the unit of splitting: row r is row r mod m of batch entry ⌊r/m⌋.
 *
 * Numerics: fp32 storage. This reference accumulates each dot product in float64 and rounds
 * once on store, so it is within one fp32 rounding of the exact product of the fp32 inputs.
 * Another backend accumulating in fp32 must meet, per element,
 *   |C − C_ref| ≤ 2·k·2⁻²⁴·(|α|·Σ_p |op(A)_ip|·|op(B)_pj| + |β|·|C0_ij|) + 1e-30
 * (the standard fp32 dot-product bound with slack 2; backend tests use 1e-5 relative to that sum).
 * Like the reference BLAS, this reference skips the products of a zero element of A, so a 0·∞ or
 * 0·NaN term does not reach C here, while a backend that multiplies may give NaN; no test relies
 * on either behaviour.
 */
import type { Dense } from '../data/matrix.js';
import { denseFrom } from '../data/matrix.js';
import type { KernelDef } from './kernelDef.js';
import { checkF32, checkFinite, checkInt } from './shapes.js';

export type Transpose = 'N' | 'T';

export interface GemmArgs {
  m: number;
  n: number;
  k: number;
  a: Float32Array;
  b: Float32Array;
  transA?: Transpose;
  transB?: Transpose;
  /** default 1 */
  alpha?: number;
  /** default 0; when ≠ 0, `c` is required */
  beta?: number;
  c?: Float32Array;
  /** default 1 */
  batch?: number;
  /** elements between stored rows of A: ≥ its stored row length (k for 'N', m for 'T'), the default */
  lda?: number;
  /** elements between stored rows of B: ≥ its stored row length (n for 'N', k for 'T'), the default */
  ldb?: number;
  /** elements between batch entries; default (stored rows)·ld for a and b, m·n for c; 0 broadcasts */
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

const NAME = 'gemm';

/** Stored shape of A and B: rows × cols as they lie in memory (before op). */
function storedShapes(g: GemmArgs): { aRows: number; aCols: number; bRows: number; bCols: number } {
  const tA = g.transA === 'T', tB = g.transB === 'T';
  return { aRows: tA ? g.k : g.m, aCols: tA ? g.m : g.k, bRows: tB ? g.n : g.k, bCols: tB ? g.k : g.n };
}

/** The leading dimensions (elements between stored rows) of A and B, defaults applied. */
export function gemmLeadingDims(g: GemmArgs): { lda: number; ldb: number } {
  const s = storedShapes(g);
  return { lda: g.lda ?? s.aCols, ldb: g.ldb ?? s.bCols };
}

function strides(g: GemmArgs): { sa: number; sb: number; sc: number } {
  const s = storedShapes(g), { lda, ldb } = gemmLeadingDims(g);
  return { sa: g.strideA ?? s.aRows * lda, sb: g.strideB ?? s.bRows * ldb, sc: g.strideC ?? g.m * g.n };
}

function validateGemm(g: GemmArgs): void {
  checkInt(NAME, 'm', g.m); checkInt(NAME, 'n', g.n); checkInt(NAME, 'k', g.k);
  const batch = g.batch ?? 1;
  checkInt(NAME, 'batch', batch);
  for (const [f, t] of [['transA', g.transA], ['transB', g.transB]] as const) {
    if (t !== undefined && t !== 'N' && t !== 'T') throw new RangeError(`${NAME}: ${f} must be 'N' or 'T', got '${t}'`);
  }
  checkFinite(NAME, 'alpha', g.alpha ?? 1);
  checkFinite(NAME, 'beta', g.beta ?? 0);
  const shape = storedShapes(g), { lda, ldb } = gemmLeadingDims(g);
  checkInt(NAME, 'lda', lda, shape.aCols);
  checkInt(NAME, 'ldb', ldb, shape.bCols);
  const { sa, sb, sc } = strides(g);
  checkInt(NAME, 'strideA', sa); checkInt(NAME, 'strideB', sb); checkInt(NAME, 'strideC', sc);
  const need = (field: string, arr: Float32Array | undefined, stride: number, rows: number, ld: number, cols: number): void => {
    checkF32(NAME, field, arr);
    const len = batch === 0 || rows === 0 || cols === 0 ? 0 : (batch - 1) * stride + (rows - 1) * ld + cols;
    if (arr!.length < len) throw new RangeError(`${NAME}: ${field} has length ${arr!.length}, needs ${len} (batch ${batch}, stride ${stride}, ${rows}×${cols} per entry, leading dimension ${ld})`);
  };
  need('a', g.a, sa, shape.aRows, lda, shape.aCols);
  need('b', g.b, sb, shape.bRows, ldb, shape.bCols);
  if ((g.beta ?? 0) !== 0) {
    if (!g.c) throw new TypeError(`${NAME}: beta = ${g.beta} needs c`);
    need('c', g.c, sc, g.m, g.n, g.n);
  }
}

export function gemmReference(g: GemmArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const { m, n, k, a, b } = g;
  const alpha = g.alpha ?? 1, beta = g.beta ?? 0;
  const tA = g.transA === 'T', tB = g.transB === 'T';
  const { sa, sb, sc } = strides(g);
  const { lda, ldb } = gemmLeadingDims(g);
  const acc = new Float64Array(n);
  const o = out.data;
  for (let r = rowStart; r < rowEnd; r++) {
    const bi = Math.floor(r / m), i = r - bi * m;
    const aBase = bi * sa, bBase = bi * sb;
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const av = tA ? a[aBase + p * lda + i] : a[aBase + i * lda + p];
      if (av === 0) continue;
      if (tB) for (let j = 0; j < n; j++) acc[j] += av * b[bBase + j * ldb + p];
      else for (let j = 0, bo = bBase + p * ldb; j < n; j++) acc[j] += av * b[bo + j];
    }
    const ro = r * n;
    if (beta !== 0) {
      const co = bi * sc + i * n;
      for (let j = 0; j < n; j++) o[ro + j] = alpha * acc[j] + beta * g.c![co + j];
    } else {
      for (let j = 0; j < n; j++) o[ro + j] = alpha * acc[j];
    }
  }
}

export const gemmKernel: KernelDef<GemmArgs, Dense> = {
  name: NAME,
  validate: validateGemm,
  rows: (g) => (g.batch ?? 1) * g.m,
  allocate: (g) => denseFrom((g.batch ?? 1) * g.m, g.n),
  outputShape: (g) => { const rows = (g.batch ?? 1) * g.m; return { rows, cols: g.n, data: rows * g.n }; },
  reference: gemmReference,
  flops: (g) => 2 * (g.batch ?? 1) * g.m * g.n * g.k,
};
