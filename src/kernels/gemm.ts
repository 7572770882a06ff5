/**
 * gemm — batched general matrix multiply, the product behind every dense layer:
 *
 *   C_b = α · op(A_b) · op(B_b) + β · C0_b      for b in [0, batch)
 *
 * op(X) is X ('N') or Xᵀ ('T'). op(A_b) is m×k, op(B_b) is k×n, C_b is m×n. Every matrix is
 * row-major and dense within a batch entry: A_b is m×k ('N') or k×m ('T') starting at
 * b·strideA of `a`; likewise B_b (k×n or n×k) at b·strideB, and C0_b (m×n) at b·strideC of `c`.
 * A stride of 0 broadcasts one matrix to every batch entry (e.g. one weight matrix).
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
  /** elements between batch entries; default m·k, k·n, m·n; 0 broadcasts */
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

const NAME = 'gemm';

function strides(g: GemmArgs): { sa: number; sb: number; sc: number } {
  return { sa: g.strideA ?? g.m * g.k, sb: g.strideB ?? g.k * g.n, sc: g.strideC ?? g.m * g.n };
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
  const { sa, sb, sc } = strides(g);
  checkInt(NAME, 'strideA', sa); checkInt(NAME, 'strideB', sb); checkInt(NAME, 'strideC', sc);
  const need = (field: string, arr: Float32Array | undefined, stride: number, size: number): void => {
    checkF32(NAME, field, arr);
    const len = batch === 0 || size === 0 ? 0 : (batch - 1) * stride + size;
    if (arr!.length < len) throw new RangeError(`${NAME}: ${field} has length ${arr!.length}, needs ${len} (batch ${batch}, stride ${stride}, ${size} per entry)`);
  };
  need('a', g.a, sa, g.m * g.k);
  need('b', g.b, sb, g.k * g.n);
  if ((g.beta ?? 0) !== 0) {
    if (!g.c) throw new TypeError(`${NAME}: beta = ${g.beta} needs c`);
    need('c', g.c, sc, g.m * g.n);
  }
}

export function gemmReference(g: GemmArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const { m, n, k, a, b } = g;
  const alpha = g.alpha ?? 1, beta = g.beta ?? 0;
  const tA = g.transA === 'T', tB = g.transB === 'T';
  const { sa, sb, sc } = strides(g);
  const acc = new Float64Array(n);
  const o = out.data;
  for (let r = rowStart; r < rowEnd; r++) {
    const bi = Math.floor(r / m), i = r - bi * m;
    const aBase = bi * sa, bBase = bi * sb;
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const av = tA ? a[aBase + p * m + i] : a[aBase + i * k + p];
      if (av === 0) continue;
      if (tB) for (let j = 0; j < n; j++) acc[j] += av * b[bBase + j * k + p];
      else for (let j = 0, bo = bBase + p * n; j < n; j++) acc[j] += av * b[bo + j];
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
  reference: gemmReference,
  flops: (g) => 2 * (g.batch ?? 1) * g.m * g.n * g.k,
};
