// gemm, the same contract as src/kernels/gemm.ts (the reference): C = α·op(A)·op(B) + β·C0, row-major, fp32
// storage. This module computes one batch entry's block of rows; the JS side (src/backends/wasm/gemm.ts) copies
// the stored A rows, B and (β ≠ 0) C0 in, walks the batch entries and row chunks, and copies C out.
// Accumulation is f32 (the contract's fp32 bound: |C − C_ref| ≤ 2·k·2⁻²⁴·(|α|·Σ|a||b| + |β||C0|)); α and β
// are applied in f64 when a tile is stored, so each element is rounded once more, not three times.
//
// How it is fast (the BLIS/GotoBLAS scheme):
//  * op(B) is packed once per call (gemmPackB) into panels of NR = 8 columns, k-major within a panel
//    ([p][8], 32 bytes per p), in blocks of KC rows of k: block p0 holds ceil(n/8) panels of kcb × 8.
//  * op(A) is packed per (k block, MC-row block) into panels of MR = 4 rows, k-major ([p][4], 16 bytes per p).
//  * the micro-kernel computes a 4 × 8 tile of C in 8 f32x4 accumulators: per p, 2 B-vector loads and 4
//    broadcast loads feed 8 mul + 8 add, so each loaded B vector is used 4 times and each A scalar 8 times,
//    with 8 + 2 + 1 of V8's 16 xmm registers live (more accumulators spill). Padding rows/columns of the
//    panels are zero, so the micro-kernel has no edge cases; partial tiles are stored through a scratch tile.
//    TurboFan (Node 20) compiles its loop to 16 vmulps/vaddps, 6 loads and ~11 integer uops (u32 index
//    zero-extensions, an lea per offset splat load, the loop's interrupt check, two compares): ≈ 80–87 % of the
//    f32x4 mul+add ceiling of one core (bench/study/tfjsGemm.ts measures both). Unrolling it twice was 0.8×:
//    TurboFan hoists the second step's loads and spills accumulators. Reading A's rows in place instead of
//    packing them (4 row pointers) measured the same within noise.
//  * loops: jc (NC columns, the B block stays in L2) → k blocks → ic (MC rows of A packed: in L2) → jr (one
//    B micro-panel, in L1) → ir (A micro-panels from L2). Later k blocks add to C (C += α·acc).
//
// β = 0 never reads C; β ≠ 0 reads C0 from the output region (the JS side copied it there).

import { demote2, hi64, lo64 } from './lanes';

const MR: i32 = 4;
const NR: i32 = 8;

/** Rows of k per packed block (the micro-panels of B: KC × 8 × 4 bytes = 8 KiB stay in L1). */
export function gemmKc(): i32 { return 256; }
/** Rows of op(A) packed per block (MC × KC × 4 bytes = 128 KiB, in L2). */
export function gemmMc(): i32 { return 128; }
/** Columns of C per outer block (KC × NC × 4 bytes = 1 MiB of packed B, in L2). */
const NC: i32 = 1024;

export function gemmMr(): i32 { return MR; }
export function gemmNr(): i32 { return NR; }

/**
 * Pack op(B) (k × n) from `src` (stored row-major with leading dimension ldb; transB: stored n × k) into `dst`:
 * k blocks of kc rows, each ceil(n/8) panels of kcb × 8 floats (zero-padded past column n).
 */
export function gemmPackB(src: usize, ldb: i32, transB: bool, k: i32, n: i32, kc: i32, dst: usize): void {
  const panels = (n + NR - 1) / NR;
  const ld = <usize>ldb << 2;
  let out = dst;
  for (let p0 = 0; p0 < k; p0 += kc) {
    const kcb = min(kc, k - p0);
    for (let jp = 0; jp < panels; jp++) {
      const j0 = jp * NR;
      const w = min(NR, n - j0);
      if (!transB) {
        // op(B)[p][j] = src[p·ldb + j]: each p is 8 contiguous floats
        let s = src + <usize>p0 * ld + (<usize>j0 << 2);
        if (w == NR) {
          for (let p = 0; p < kcb; p++) {
            v128.store(out, v128.load(s));
            v128.store(out, v128.load(s, 16), 16);
            s += ld;
            out += 32;
          }
        } else {
          for (let p = 0; p < kcb; p++) {
            for (let j = 0; j < w; j++) store<f32>(out + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
            for (let j = w; j < NR; j++) store<f32>(out + (<usize>j << 2), 0);
            s += ld;
            out += 32;
          }
        }
      } else {
        // op(B)[p][j] = src[j·ldb + p]: column p of 8 stored rows; 4 × 4 transposes where the block is full
        const row0 = src + <usize>j0 * ld + (<usize>p0 << 2);
        if (w == NR) {
          let p = 0;
          for (; p + 4 <= kcb; p += 4) {
            const po = <usize>p << 2;
            for (let h = 0; h < 2; h++) {
              const r = row0 + <usize>(h * 4) * ld + po;
              const x0 = v128.load(r), x1 = v128.load(r + ld), x2 = v128.load(r + 2 * ld), x3 = v128.load(r + 3 * ld);
              // transpose 4 × 4: t0 = [x0_0 x1_0 x0_1 x1_1], ...
              const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
              const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
              const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
              const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
              const o = out + (<usize>p << 5) + (<usize>h << 4);
              v128.store(o, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
              v128.store(o + 32, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
              v128.store(o + 64, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
              v128.store(o + 96, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
            }
          }
          for (; p < kcb; p++) {
            for (let j = 0; j < NR; j++) store<f32>(out + (<usize>p << 5) + (<usize>j << 2), load<f32>(row0 + <usize>j * ld + (<usize>p << 2)));
          }
        } else {
          for (let p = 0; p < kcb; p++) {
            for (let j = 0; j < w; j++) store<f32>(out + (<usize>p << 5) + (<usize>j << 2), load<f32>(row0 + <usize>j * ld + (<usize>p << 2)));
            for (let j = w; j < NR; j++) store<f32>(out + (<usize>p << 5) + (<usize>j << 2), 0);
          }
        }
        out += <usize>kcb << 5;
      }
    }
  }
}

/** Pack op(A) rows [i0, i0 + mcb) × k [p0, p0 + kcb) into panels of 4 rows ([p][4]), zero-padded past mcb. */
function packA(src: usize, lda: i32, transA: bool, i0: i32, mcb: i32, p0: i32, kcb: i32, dst: usize): void {
  const ld = <usize>lda << 2;
  let out = dst;
  for (let i = 0; i < mcb; i += MR) {
    const h = min(MR, mcb - i);
    if (!transA) {
      // op(A)[i][p] = src[i·lda + p]: 4 stored rows, 4 × 4 transposes
      const r0 = src + <usize>(i0 + i) * ld + (<usize>p0 << 2);
      if (h == MR) {
        let p = 0;
        for (; p + 4 <= kcb; p += 4) {
          const po = <usize>p << 2;
          const x0 = v128.load(r0 + po), x1 = v128.load(r0 + ld + po), x2 = v128.load(r0 + 2 * ld + po), x3 = v128.load(r0 + 3 * ld + po);
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const o = out + (<usize>p << 4);
          v128.store(o, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(o, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
          v128.store(o, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
          v128.store(o, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
        }
        for (; p < kcb; p++) {
          for (let r = 0; r < MR; r++) store<f32>(out + (<usize>p << 4) + (<usize>r << 2), load<f32>(r0 + <usize>r * ld + (<usize>p << 2)));
        }
      } else {
        for (let p = 0; p < kcb; p++) {
          for (let r = 0; r < h; r++) store<f32>(out + (<usize>p << 4) + (<usize>r << 2), load<f32>(r0 + <usize>r * ld + (<usize>p << 2)));
          for (let r = h; r < MR; r++) store<f32>(out + (<usize>p << 4) + (<usize>r << 2), 0);
        }
      }
    } else {
      // op(A)[i][p] = src[p·lda + i]: 4 contiguous floats per p
      let s = src + <usize>p0 * ld + (<usize>(i0 + i) << 2);
      if (h == MR) {
        for (let p = 0; p < kcb; p++) {
          v128.store(out + (<usize>p << 4), v128.load(s));
          s += ld;
        }
      } else {
        for (let p = 0; p < kcb; p++) {
          for (let r = 0; r < h; r++) store<f32>(out + (<usize>p << 4) + (<usize>r << 2), load<f32>(s + (<usize>r << 2)));
          for (let r = h; r < MR; r++) store<f32>(out + (<usize>p << 4) + (<usize>r << 2), 0);
          s += ld;
        }
      }
    }
    out += <usize>kcb << 4;
  }
}

// store modes of a tile
const STORE_SET: i32 = 0;   // C = α·acc            (β = 0, first k block: C is not read)
const STORE_BETA: i32 = 1;  // C = α·acc + β·C      (β ≠ 0, first k block)
const STORE_ADD: i32 = 2;   // C = C + α·acc        (later k blocks)

let scratchTile: usize = 0; // 4 × 8 f32 for partial tiles

/**
 * One row of a tile (8 accumulators in x0, x1) into C. α and β are applied in f64 and each element is rounded
 * once (in f32, α·acc + β·C would add three roundings: over the contract's bound 2·k·2⁻²⁴ for k = 1); with α = 1
 * and no β the f32 sum is already one rounding.
 */
@inline function storeRow(c: usize, x0: v128, x1: v128, alpha: f64, beta: f64, mode: i32): void {
  if (alpha == 1 && mode != STORE_BETA) {
    if (mode == STORE_ADD) {
      x0 = f32x4.add(v128.load(c), x0);
      x1 = f32x4.add(v128.load(c, 16), x1);
    }
    v128.store(c, x0);
    v128.store(c, x1, 16);
    return;
  }
  const av = f64x2.splat(alpha);
  let a0 = f64x2.mul(av, lo64(x0)), a1 = f64x2.mul(av, hi64(x0)), a2 = f64x2.mul(av, lo64(x1)), a3 = f64x2.mul(av, hi64(x1));
  if (mode != STORE_SET) {
    const c0 = v128.load(c), c1 = v128.load(c, 16);
    // β·C0 (first block) or C (later blocks: β = 1)
    const bv = f64x2.splat(mode == STORE_BETA ? beta : 1);
    a0 = f64x2.add(a0, f64x2.mul(bv, lo64(c0)));
    a1 = f64x2.add(a1, f64x2.mul(bv, hi64(c0)));
    a2 = f64x2.add(a2, f64x2.mul(bv, lo64(c1)));
    a3 = f64x2.add(a3, f64x2.mul(bv, hi64(c1)));
  }
  v128.store(c, demote2(a0, a1));
  v128.store(c, demote2(a2, a3), 16);
}

/** The 4 × 8 micro-kernel: acc = Σ_p a[p][0..4) ⊗ b[p][0..8), then stored into C (ldc bytes between rows). */
function micro(kc: i32, a: usize, b: usize, c: usize, ldc: usize, alpha: f64, beta: f64, mode: i32, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const aEnd = a + (<usize>kc << 4);
  while (a < aEnd) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
    a += 16;
    b += 32;
  }
  if (mr == MR && nr == NR) {
    storeRow(c, c00, c01, alpha, beta, mode);
    storeRow(c + ldc, c10, c11, alpha, beta, mode);
    storeRow(c + 2 * ldc, c20, c21, alpha, beta, mode);
    storeRow(c + 3 * ldc, c30, c31, alpha, beta, mode);
    return;
  }
  // partial tile: spill acc, then store the valid elements one by one (the same f64 arithmetic)
  const t = scratchTile;
  v128.store(t, c00); v128.store(t, c01, 16);
  v128.store(t, c10, 32); v128.store(t, c11, 48);
  v128.store(t, c20, 64); v128.store(t, c21, 80);
  v128.store(t, c30, 96); v128.store(t, c31, 112);
  const exact = alpha == 1 && mode != STORE_BETA;
  for (let i = 0; i < mr; i++) {
    const row = c + <usize>i * ldc;
    for (let j = 0; j < nr; j++) {
      const o = row + (<usize>j << 2);
      const v = load<f32>(t + (<usize>(i * NR + j) << 2));
      if (exact) store<f32>(o, mode == STORE_ADD ? load<f32>(o) + v : v);
      else if (mode == STORE_SET) store<f32>(o, <f32>(alpha * <f64>v));
      else if (mode == STORE_BETA) store<f32>(o, <f32>(alpha * <f64>v + beta * <f64>load<f32>(o)));
      else store<f32>(o, <f32>(alpha * <f64>v + <f64>load<f32>(o)));
    }
  }
}

/**
 * C (rows × n, leading dimension ldc) = α·op(A)·op(B) [+ β·C]: op(A) rows [0, rows) of `a` (stored with lda;
 * transA: stored k × rows-or-more, columns [0, rows) used), op(B) packed by gemmPackB with the same kc.
 * Needs k ≥ 1. packA: MC × KC floats of workspace; scratch: 128 bytes.
 */
export function gemmBlock(
  a: usize, lda: i32, transA: bool, rows: i32, n: i32, k: i32, kc: i32, mc: i32,
  packedB: usize, packedA: usize, c: usize, ldc: i32, alpha: f64, beta: f64, scratch: usize,
): void {
  scratchTile = scratch;
  const panels = (n + NR - 1) / NR;
  const nPad = panels * NR;
  const ldcB = <usize>ldc << 2;
  const ncPanels = NC / NR;
  for (let jc = 0; jc < panels; jc += ncPanels) {
    const jcEnd = min(panels, jc + ncPanels);
    for (let p0 = 0; p0 < k; p0 += kc) {
      const kcb = min(kc, k - p0);
      const mode = p0 > 0 ? STORE_ADD : beta != 0 ? STORE_BETA : STORE_SET;
      const bBlock = packedB + (<usize>p0 * <usize>nPad << 2);
      const bPanelBytes = <usize>kcb << 5;
      const aPanelBytes = <usize>kcb << 4;
      for (let i0 = 0; i0 < rows; i0 += mc) {
        const mcb = min(mc, rows - i0);
        packA(a, lda, transA, i0, mcb, p0, kcb, packedA);
        for (let jp = jc; jp < jcEnd; jp++) {
          const j0 = jp * NR;
          const nr = min(NR, n - j0);
          const bp = bBlock + <usize>jp * bPanelBytes;
          let ap = packedA;
          for (let i = 0; i < mcb; i += MR) {
            micro(kcb, ap, bp, c + <usize>(i0 + i) * ldcB + (<usize>j0 << 2), ldcB, alpha, beta, mode, min(MR, mcb - i), nr);
            ap += aPanelBytes;
          }
        }
      }
    }
  }
}
