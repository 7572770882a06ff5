// alsHalfStep, the same contract as src/kernels/alsHalfStep.ts (the reference): with the other side's factors Y
// fixed, solve the factor row of each row u of the task (implicit with YᵀY passed in, or explicit ALS-WR), by
// Cholesky (exact) or by warm-started conjugate gradient. f64 arithmetic throughout, f64x2 SIMD; output f32.
//
// Layout (set by the JS side, src/backends/wasm/core.ts): every f-vector is padded to fp = f rounded up to 4
// with zeros, so the SIMD loops need no tails: Y is m × fp f32, the Gramian fp × fp f64, the task's output rows
// n × fp f32. The task's rows of the matrix are a CSR slice (indptr rebased to it, indices, f32 data).
//
// Cholesky: the system A = [YᵀY +] λ'I + Σ w_q y_q y_qᵀ is built on its lower triangle (tiles of 4 × 4) in
// chunks of entries gathered to f64: U[e] = w_e·y_e and V[e] = y_e, and A_ij += Σ_e U[e]_i · V[e]_j — the same
// products added in the same order as the reference's rank-1 updates, so A is the reference's A. The
// factorisation and the solves use f64x2 dot products / axpys (a different summation order: results agree with
// the reference to rounding).
// CG: the reference's iteration; A·p never formed: (YᵀY + λ'I)p + Σ w_q (y_q·p) y_q, Y read as f32x4 promoted to
// f64x2.

const CHUNK: i32 = 32;     // entries per gathered chunk of the Cholesky system build

let aF: i32 = 0;           // factors
let aFp: i32 = 0;          // padded factors (multiple of 4)
let aY: usize = 0;         // f32[m × fp]
let aGram: usize = 0;      // f64[fp × fp] or 0 (explicit)
let aImplicit: bool = true;
let aLambda: f64 = 0;
let aIndptr: usize = 0;    // i32[n+1] rebased
let aIndices: usize = 0;   // i32
let aData: usize = 0;      // f32
let aX: usize = 0;         // f32[n × fp] the task's output rows (CG: start values)
let aA: usize = 0;         // f64[fp × fp]
let aB: usize = 0;         // f64[fp]
let aU: usize = 0;         // f64[CHUNK × fp]
let aV: usize = 0;         // f64[CHUNK × fp]
let aXv: usize = 0;        // f64[fp] CG vectors
let aR: usize = 0;
let aP: usize = 0;
let aAp: usize = 0;
let aSteps: i32 = 3;

export function alsChunk(): i32 {
  return CHUNK;
}

export function alsSetup(
  f: i32, fp: i32, y: usize, gram: usize, implicit: bool, lambda: f64, indptr: usize, indices: usize, data: usize,
  x: usize, a: usize, b: usize, u: usize, v: usize, xv: usize, r: usize, p: usize, ap: usize, steps: i32,
): void {
  aF = f; aFp = fp; aY = y; aGram = gram; aImplicit = implicit; aLambda = lambda;
  aIndptr = indptr; aIndices = indices; aData = data; aX = x; aA = a; aB = b; aU = u; aV = v;
  aXv = xv; aR = r; aP = p; aAp = ap; aSteps = steps;
}

// ---- small f64 vector helpers (lengths multiples of 2 unless stated) ----

/** Σ a[k]·b[k], k < n (any n). */
@inline function dotF64(a: usize, b: usize, n: i32): f64 {
  let acc = f64x2.splat(0);
  let k = 0;
  for (; k + 2 <= n; k += 2) acc = f64x2.add(acc, f64x2.mul(v128.load(a + (<usize>k << 3)), v128.load(b + (<usize>k << 3))));
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (k < n) s += load<f64>(a + (<usize>k << 3)) * load<f64>(b + (<usize>k << 3));
  return s;
}

/** Σ y[k]·v[k] over fp (y f32, v f64). */
@inline function dotF32F64(y: usize, v: usize, fp: i32): f64 {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  for (let k = 0; k < fp; k += 4) {
    const y4 = v128.load(y + (<usize>k << 2));
    const lo = f64x2.promote_low_f32x4(y4);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(y4, y4, 2, 3, 0, 1));
    a0 = f64x2.add(a0, f64x2.mul(lo, v128.load(v + (<usize>k << 3))));
    a1 = f64x2.add(a1, f64x2.mul(hi, v128.load(v + (<usize>k << 3), 16)));
  }
  const a = f64x2.add(a0, a1);
  return f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
}

/** o[k] += s·y[k] over fp (y f32, o f64). */
@inline function axpyF32(o: usize, s: f64, y: usize, fp: i32): void {
  const sv = f64x2.splat(s);
  for (let k = 0; k < fp; k += 4) {
    const y4 = v128.load(y + (<usize>k << 2));
    const lo = f64x2.promote_low_f32x4(y4);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(y4, y4, 2, 3, 0, 1));
    const p = o + (<usize>k << 3);
    v128.store(p, f64x2.add(v128.load(p), f64x2.mul(sv, lo)));
    v128.store(p, f64x2.add(v128.load(p, 16), f64x2.mul(sv, hi)), 16);
  }
}

/** The row's weight of entry q in the system: implicit |c| − 1, explicit 1. */
@inline function entryWeight(c: f64): f64 {
  if (!aImplicit) return 1;
  return (c < 0 ? -c : c) - 1;
}

// ---- Cholesky ----

/** Gather chunk entries [e0, e0+ne) of the row into U (w·y) and V (y); also b += c·y in entry order. */
function gather(q0: i32, ne: i32): i32 {
  const fp = aFp, implicit = aImplicit;
  let kept = 0;
  for (let e = 0; e < ne; e++) {
    const q = q0 + e;
    const yrow = aY + (<usize>load<i32>(aIndices + (<usize>q << 2)) * <usize>fp << 2);
    let c = <f64>load<f32>(aData + (<usize>q << 2));
    let w: f64;
    if (implicit) {
      if (c > 0) axpyF32(aB, c, yrow, fp); else c = -c;
      w = c - 1;
    } else {
      axpyF32(aB, c, yrow, fp);
      w = 1;
    }
    if (w == 0) continue;
    const u = aU + (<usize>kept * <usize>fp << 3), v = aV + (<usize>kept * <usize>fp << 3);
    const wv = f64x2.splat(w);
    for (let k = 0; k < fp; k += 4) {
      const y4 = v128.load(yrow + (<usize>k << 2));
      const lo = f64x2.promote_low_f32x4(y4);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(y4, y4, 2, 3, 0, 1));
      v128.store(v + (<usize>k << 3), lo);
      v128.store(v + (<usize>k << 3), hi, 16);
      v128.store(u + (<usize>k << 3), f64x2.mul(wv, lo));
      v128.store(u + (<usize>k << 3), f64x2.mul(wv, hi), 16);
    }
    kept++;
  }
  return kept;
}

/** A (lower triangle, 4 × 4 tiles) += Σ_{e < ne} U[e] V[e]ᵀ. */
function syrkChunk(ne: i32): void {
  const fp = aFp;
  const rowBytes = <usize>fp << 3;
  for (let i0 = 0; i0 < fp; i0 += 4) {
    const ar = aA + <usize>i0 * rowBytes;
    for (let j0 = 0; j0 <= i0; j0 += 4) {
      const t0 = ar + (<usize>j0 << 3);
      const t1 = t0 + rowBytes, t2 = t1 + rowBytes, t3 = t2 + rowBytes;
      let c00 = v128.load(t0), c01 = v128.load(t0, 16);
      let c10 = v128.load(t1), c11 = v128.load(t1, 16);
      let c20 = v128.load(t2), c21 = v128.load(t2, 16);
      let c30 = v128.load(t3), c31 = v128.load(t3, 16);
      let up = aU + (<usize>i0 << 3), vp = aV + (<usize>j0 << 3);
      for (let e = 0; e < ne; e++) {
        const v0 = v128.load(vp), v1 = v128.load(vp, 16);
        const u0 = v128.load64_splat(up);
        c00 = f64x2.add(c00, f64x2.mul(u0, v0)); c01 = f64x2.add(c01, f64x2.mul(u0, v1));
        const u1 = v128.load64_splat(up, 8);
        c10 = f64x2.add(c10, f64x2.mul(u1, v0)); c11 = f64x2.add(c11, f64x2.mul(u1, v1));
        const u2 = v128.load64_splat(up, 16);
        c20 = f64x2.add(c20, f64x2.mul(u2, v0)); c21 = f64x2.add(c21, f64x2.mul(u2, v1));
        const u3 = v128.load64_splat(up, 24);
        c30 = f64x2.add(c30, f64x2.mul(u3, v0)); c31 = f64x2.add(c31, f64x2.mul(u3, v1));
        up += rowBytes; vp += rowBytes;
      }
      v128.store(t0, c00); v128.store(t0, c01, 16);
      v128.store(t1, c10); v128.store(t1, c11, 16);
      v128.store(t2, c20); v128.store(t2, c21, 16);
      v128.store(t3, c30); v128.store(t3, c31, 16);
    }
  }
}

/** In-place Cholesky of A's leading f × f lower triangle and the solve of L Lᵀ x = b in b; false if not PD. */
function choleskySolve(): bool {
  const f = aF, A = aA, b = aB;
  const rowBytes = <usize>aFp << 3;
  for (let j = 0; j < f; j++) {
    const jr = A + <usize>j * rowBytes;
    const s = load<f64>(jr + (<usize>j << 3)) - dotF64(jr, jr, j);
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    store<f64>(jr + (<usize>j << 3), d);
    const inv = 1 / d;
    for (let i = j + 1; i < f; i++) {
      const ir = A + <usize>i * rowBytes;
      store<f64>(ir + (<usize>j << 3), (load<f64>(ir + (<usize>j << 3)) - dotF64(ir, jr, j)) * inv);
    }
  }
  // forward: L z = b
  for (let i = 0; i < f; i++) {
    const ir = A + <usize>i * rowBytes;
    store<f64>(b + (<usize>i << 3), (load<f64>(b + (<usize>i << 3)) - dotF64(ir, b, i)) / load<f64>(ir + (<usize>i << 3)));
  }
  // back: Lᵀ x = z, column-oriented: x_i = z_i / L_ii, then z_k −= L_ik x_i for k < i (row i of L, contiguous)
  for (let i = f - 1; i >= 0; i--) {
    const ir = A + <usize>i * rowBytes;
    const xi = load<f64>(b + (<usize>i << 3)) / load<f64>(ir + (<usize>i << 3));
    store<f64>(b + (<usize>i << 3), xi);
    const xv = f64x2.splat(xi);
    let k = 0;
    for (; k + 2 <= i; k += 2) {
      const p = b + (<usize>k << 3);
      v128.store(p, f64x2.sub(v128.load(p), f64x2.mul(v128.load(ir + (<usize>k << 3)), xv)));
    }
    if (k < i) store<f64>(b + (<usize>k << 3), load<f64>(b + (<usize>k << 3)) - load<f64>(ir + (<usize>k << 3)) * xi);
  }
  return true;
}

/** Cholesky solves of local rows [r0, r1); returns the first local row whose system is not PD, or -1. */
export function alsRowsCholesky(r0: i32, r1: i32): i32 {
  const f = aF, fp = aFp;
  const sysBytes = <usize>fp * <usize>fp << 3;
  for (let r = r0; r < r1; r++) {
    const start = load<i32>(aIndptr + (<usize>r << 2)), end = load<i32>(aIndptr + (<usize>(r + 1) << 2));
    const xo = aX + (<usize>r * <usize>fp << 2);
    if (start == end) { memory.fill(xo, 0, <usize>fp << 2); continue; }
    const ridge = aImplicit ? aLambda : aLambda * <f64>(end - start);
    if (aImplicit) memory.copy(aA, aGram, sysBytes); else memory.fill(aA, 0, sysBytes);
    const rowBytes = <usize>fp << 3;
    for (let k = 0; k < f; k++) {
      const p = aA + <usize>k * rowBytes + (<usize>k << 3);
      store<f64>(p, load<f64>(p) + ridge);
    }
    memory.fill(aB, 0, <usize>fp << 3);
    for (let q = start; q < end; q += CHUNK) {
      const kept = gather(q, min(CHUNK, end - q));
      if (kept > 0) syrkChunk(kept);
    }
    if (!choleskySolve()) return r;
    for (let k = 0; k < f; k++) store<f32>(xo + (<usize>k << 2), <f32>load<f64>(aB + (<usize>k << 3)));
  }
  return -1;
}

// ---- conjugate gradient ----

/** o = (YᵀY + ridge·I)·v (implicit) or ridge·v (explicit). */
function mulGram(v: usize, o: usize, ridge: f64): void {
  const fp = aFp;
  const rv = f64x2.splat(ridge);
  for (let k = 0; k < fp; k += 2) v128.store(o + (<usize>k << 3), f64x2.mul(rv, v128.load(v + (<usize>k << 3))));
  if (aImplicit) {
    // o += G v = Σ_j v_j G[j, :] (G symmetric)
    const g = aGram;
    const rowBytes = <usize>fp << 3;
    for (let j = 0; j < fp; j++) {
      const vj = f64x2.splat(load<f64>(v + (<usize>j << 3)));
      const gr = g + <usize>j * rowBytes;
      for (let k = 0; k < fp; k += 2) {
        const p = o + (<usize>k << 3);
        v128.store(p, f64x2.add(v128.load(p), f64x2.mul(vj, v128.load(gr + (<usize>k << 3)))));
      }
    }
  }
}

/** o = A·v for the row with entries [start, end) and the given ridge; A never formed. */
function mulA(v: usize, o: usize, start: i32, end: i32, ridge: f64): void {
  mulGram(v, o, ridge);
  const fp = aFp;
  for (let q = start; q < end; q++) {
    const w = entryWeight(<f64>load<f32>(aData + (<usize>q << 2)));
    if (w == 0) continue;
    const yrow = aY + (<usize>load<i32>(aIndices + (<usize>q << 2)) * <usize>fp << 2);
    axpyF32(o, w * dotF32F64(yrow, v, fp), yrow, fp);
  }
}

/** CG solves of local rows [r0, r1), warm-started from the task's output rows. */
export function alsRowsCg(r0: i32, r1: i32): void {
  const f = aF, fp = aFp, steps = aSteps;
  const x = aXv, r = aR, p = aP, ap = aAp;
  for (let u = r0; u < r1; u++) {
    const start = load<i32>(aIndptr + (<usize>u << 2)), end = load<i32>(aIndptr + (<usize>(u + 1) << 2));
    const xo = aX + (<usize>u * <usize>fp << 2);
    if (start == end) { memory.fill(xo, 0, <usize>fp << 2); continue; }
    const ridge = aImplicit ? aLambda : aLambda * <f64>(end - start);
    for (let k = 0; k < fp; k++) store<f64>(x + (<usize>k << 3), <f64>load<f32>(xo + (<usize>k << 2)));
    // r = b − A x
    mulA(x, r, start, end, ridge);
    for (let k = 0; k < fp; k += 2) v128.store(r + (<usize>k << 3), f64x2.neg(v128.load(r + (<usize>k << 3))));
    for (let q = start; q < end; q++) {
      const c = <f64>load<f32>(aData + (<usize>q << 2));
      if (aImplicit && !(c > 0)) continue;
      axpyF32(r, c, aY + (<usize>load<i32>(aIndices + (<usize>q << 2)) * <usize>fp << 2), fp);
    }
    memory.copy(p, r, <usize>fp << 3);
    let rsold = dotF64(r, r, fp);
    if (rsold < 1e-20) continue;
    for (let it = 0; it < steps; it++) {
      mulA(p, ap, start, end, ridge);
      const pAp = dotF64(p, ap, fp);
      if (!(pAp > 0)) break;
      const alpha = f64x2.splat(rsold / pAp);
      let rs = f64x2.splat(0);
      for (let k = 0; k < fp; k += 2) {
        const o = <usize>k << 3;
        const pk = v128.load(p + o);
        v128.store(x + o, f64x2.add(v128.load(x + o), f64x2.mul(alpha, pk)));
        const rk = f64x2.sub(v128.load(r + o), f64x2.mul(alpha, v128.load(ap + o)));
        v128.store(r + o, rk);
        rs = f64x2.add(rs, f64x2.mul(rk, rk));
      }
      const rsnew = f64x2.extract_lane(rs, 0) + f64x2.extract_lane(rs, 1);
      if (rsnew < 1e-20) break;
      const beta = f64x2.splat(rsnew / rsold);
      for (let k = 0; k < fp; k += 2) {
        const o = <usize>k << 3;
        v128.store(p + o, f64x2.add(v128.load(r + o), f64x2.mul(beta, v128.load(p + o))));
      }
      rsold = rsnew;
    }
    for (let k = 0; k < f; k++) store<f32>(xo + (<usize>k << 2), <f32>load<f64>(x + (<usize>k << 3)));
  }
}

// ---- the objective's row terms (the kernel's `loss`) ----

/**
 * Each local row's terms of alsLoss() at its factors in the task's output rows (before the step), into
 * out f64[n]: xᵀ(YᵀY + ridge·I)x + Σ_q ℓ(c_q, y_q·x) with ℓ = a − 2as + (|c| − 1)s², a = max(c, 0) (implicit)
 * or (r − s)² (explicit). Uses the CG scratch vectors.
 */
export function alsRowsLoss(r0: i32, r1: i32, out: usize): void {
  const fp = aFp, x = aXv, o = aR, implicit = aImplicit;
  for (let u = r0; u < r1; u++) {
    const start = load<i32>(aIndptr + (<usize>u << 2)), end = load<i32>(aIndptr + (<usize>(u + 1) << 2));
    const xo = aX + (<usize>u * <usize>fp << 2);
    const ridge = implicit ? aLambda : aLambda * <f64>(end - start);
    for (let k = 0; k < fp; k++) store<f64>(x + (<usize>k << 3), <f64>load<f32>(xo + (<usize>k << 2)));
    mulGram(x, o, ridge);
    let t = dotF64(x, o, fp);
    for (let q = start; q < end; q++) {
      const c = <f64>load<f32>(aData + (<usize>q << 2));
      const s = dotF32F64(aY + (<usize>load<i32>(aIndices + (<usize>q << 2)) * <usize>fp << 2), x, fp);
      const a = implicit ? (c > 0 ? c : 0) : c;
      t += (implicit ? a : a * a) + s * (entryWeight(c) * s - 2 * a);
    }
    store<f64>(out + (<usize>u << 3), t);
  }
}
