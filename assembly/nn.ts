// The neural-network kernels of src/kernels/nn (the references; their formulas are repeated at each function).
// Each function works on a block of rows (or columns, or elements) that the JS side (src/backends/wasm/nn.ts)
// copied into linear memory, dense and row-major; outputs go to their own regions (or over an input, where the
// JS side says so) and are copied out by the JS side.
//
// Numerics: element-wise work is f32x4 (exp/log/tanh from ./nnmath.ts, within 1–2 ulp), sums over rows or
// columns and the statistics that must match the reference's float64 (layerNorm's μ and rstd, the
// cross-entropy losses, segment sums, column sums) are f64 (f64x2), as are the kernels whose reference is
// cheap to follow exactly in f64 (Adam, elementwise, dropout's scaling, the Cholesky solve): those round once
// on store as the reference does, and so equal it to the bit (up to the f64 summation order).

import { activate4, derivative4, exp4, log4 } from './nnmath';
import { demote2, hi64, lo64 } from './lanes';

@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }
@inline function at8(p: usize, i: i32): usize { return p + (<usize>i << 3); }
@inline function lane0(v: v128): f32 { return f32x4.extract_lane(v, 0); }
/** a scalar as a vector (tails run through the vector code: the same result as a full lane) */
@inline function splatAt(p: usize, i: i32): v128 { return f32x4.splat(load<f32>(at(p, i))); }
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}
@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}
@inline function hsum64(v: v128): f64 { return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1); }

// ---- biasActivation / activationBackward: y = act(x + b), dz = dy ⊙ act'(x + b) ----

/** y = act(x + b) for rows × cols (bias = 0: none). y may be x. */
export function nnBiasActivation(x: usize, rows: i32, cols: i32, bias: usize, act: i32, y: usize): void {
  for (let r = 0; r < rows; r++) {
    const xo = x + (<usize>r * <usize>cols << 2), yo = y + (<usize>r * <usize>cols << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      let z = v128.load(at(xo, j));
      if (bias) z = f32x4.add(z, v128.load(at(bias, j)));
      v128.store(at(yo, j), activate4(act, z));
    }
    for (; j < cols; j++) {
      let z = splatAt(xo, j);
      if (bias) z = f32x4.add(z, splatAt(bias, j));
      store<f32>(at(yo, j), lane0(activate4(act, z)));
    }
  }
}

/** dz = g ⊙ act'(x + b) for rows × cols. dz may be g. */
export function nnActivationBackward(x: usize, g: usize, rows: i32, cols: i32, bias: usize, act: i32, dz: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const xo = x + off, go = g + off, oo = dz + off;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      let z = v128.load(at(xo, j));
      if (bias) z = f32x4.add(z, v128.load(at(bias, j)));
      v128.store(at(oo, j), f32x4.mul(v128.load(at(go, j)), derivative4(act, z)));
    }
    for (; j < cols; j++) {
      let z = splatAt(xo, j);
      if (bias) z = f32x4.add(z, splatAt(bias, j));
      store<f32>(at(oo, j), lane0(f32x4.mul(splatAt(go, j), derivative4(act, z))));
    }
  }
}

// ---- column sums (f64): columnSums and layerNorm's parameter gradients ----

/** acc[j] += Σ_r x[r][j] (f64) for a dense rows × cols block. */
export function nnColumnSums(x: usize, rows: i32, cols: i32, acc: usize): void {
  for (let r = 0; r < rows; r++) {
    const xo = x + (<usize>r * <usize>cols << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const v = v128.load(at(xo, j));
      const a = at8(acc, j);
      v128.store(a, f64x2.add(v128.load(a), lo64(v)));
      v128.store(a, f64x2.add(v128.load(a, 16), hi64(v)), 16);
    }
    for (; j < cols; j++) store<f64>(at8(acc, j), load<f64>(at8(acc, j)) + <f64>load<f32>(at(xo, j)));
  }
}

/**
 * dγ_j += Σ_r dy_rj·(x_rj − μ_r)·rstd_r,  dβ_j += Σ_r dy_rj   (f64, a dense rows × cols block; mean/rstd per row)
 */
export function nnLayerNormParamGrad(x: usize, g: usize, rows: i32, cols: i32, mean: usize, rstd: usize, dg: usize, db: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const xo = x + off, go = g + off;
    const mu = <f64>load<f32>(at(mean, r)), rs = <f64>load<f32>(at(rstd, r));
    const muv = f64x2.splat(mu), rsv = f64x2.splat(rs);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const xv = v128.load(at(xo, j)), gv = v128.load(at(go, j));
      const g0 = lo64(gv), g1 = hi64(gv);
      const h0 = f64x2.mul(f64x2.sub(lo64(xv), muv), rsv), h1 = f64x2.mul(f64x2.sub(hi64(xv), muv), rsv);
      const pg = at8(dg, j), pb = at8(db, j);
      v128.store(pg, f64x2.add(v128.load(pg), f64x2.mul(g0, h0)));
      v128.store(pg, f64x2.add(v128.load(pg, 16), f64x2.mul(g1, h1)), 16);
      v128.store(pb, f64x2.add(v128.load(pb), g0));
      v128.store(pb, f64x2.add(v128.load(pb, 16), g1), 16);
    }
    for (; j < cols; j++) {
      const gv = <f64>load<f32>(at(go, j));
      store<f64>(at8(dg, j), load<f64>(at8(dg, j)) + gv * ((<f64>load<f32>(at(xo, j)) - mu) * rs));
      store<f64>(at8(db, j), load<f64>(at8(db, j)) + gv);
    }
  }
}

// ---- layerNorm ----

/**
 * Per row: μ = mean x, σ² = mean (x − μ)² (f64, two passes), rstd = 1/√(σ² + ε); μ and rstd stored as f32, then
 * y = γ·((x − μ₃₂)·rstd₃₂) + β. y may be x.
 */
export function nnLayerNorm(x: usize, rows: i32, cols: i32, gamma: usize, beta: usize, eps: f64, y: usize, mean: usize, rstd: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const xo = x + off, yo = y + off;
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const v = v128.load(at(xo, j));
      s0 = f64x2.add(s0, lo64(v));
      s1 = f64x2.add(s1, hi64(v));
    }
    let s = hsum64(f64x2.add(s0, s1));
    for (; j < cols; j++) s += <f64>load<f32>(at(xo, j));
    const mu: f64 = cols > 0 ? s / <f64>cols : 0;
    const muv = f64x2.splat(mu);
    let q0 = f64x2.splat(0), q1 = f64x2.splat(0);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const v = v128.load(at(xo, j));
      const d0 = f64x2.sub(lo64(v), muv), d1 = f64x2.sub(hi64(v), muv);
      q0 = f64x2.add(q0, f64x2.mul(d0, d0));
      q1 = f64x2.add(q1, f64x2.mul(d1, d1));
    }
    let q = hsum64(f64x2.add(q0, q1));
    for (; j < cols; j++) { const d = <f64>load<f32>(at(xo, j)) - mu; q += d * d; }
    const m32 = <f32>mu;
    const rs32 = <f32>(1.0 / Math.sqrt((cols > 0 ? q / <f64>cols : 0) + eps));
    store<f32>(at(mean, r), m32);
    store<f32>(at(rstd, r), rs32);
    const mv = f32x4.splat(m32), rv = f32x4.splat(rs32);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(at(xo, j)), mv), rv);
      v128.store(at(yo, j), f32x4.add(f32x4.mul(v128.load(at(gamma, j)), xh), v128.load(at(beta, j))));
    }
    for (; j < cols; j++) {
      store<f32>(at(yo, j), load<f32>(at(gamma, j)) * ((load<f32>(at(xo, j)) - m32) * rs32) + load<f32>(at(beta, j)));
    }
  }
}

/**
 * dx_j = rstd·(g_j − mean_k g_k − x̂_j·mean_k(g_k·x̂_k)), g_j = dy_j·γ_j, x̂_j = (x_j − μ)·rstd; the two means in
 * f64. dx may be dy.
 */
export function nnLayerNormBackward(x: usize, dy: usize, rows: i32, cols: i32, gamma: usize, mean: usize, rstd: usize, dx: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const xo = x + off, go = dy + off, oo = dx + off;
    const mu = load<f32>(at(mean, r)), rs = load<f32>(at(rstd, r));
    const muv = f32x4.splat(mu), rsv = f32x4.splat(rs);
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const gj = f32x4.mul(v128.load(at(go, j)), v128.load(at(gamma, j)));
      const xh = f32x4.mul(f32x4.sub(v128.load(at(xo, j)), muv), rsv);
      const gx = f32x4.mul(gj, xh);
      a0 = f64x2.add(a0, lo64(gj)); a1 = f64x2.add(a1, hi64(gj));
      b0 = f64x2.add(b0, lo64(gx)); b1 = f64x2.add(b1, hi64(gx));
    }
    let sg = hsum64(f64x2.add(a0, a1)), sgx = hsum64(f64x2.add(b0, b1));
    for (; j < cols; j++) {
      const gj = <f64>load<f32>(at(go, j)) * <f64>load<f32>(at(gamma, j));
      sg += gj;
      sgx += gj * ((<f64>load<f32>(at(xo, j)) - <f64>mu) * <f64>rs);
    }
    const mg = <f32>(cols > 0 ? sg / <f64>cols : 0), mgx = <f32>(cols > 0 ? sgx / <f64>cols : 0);
    const mgv = f32x4.splat(mg), mgxv = f32x4.splat(mgx);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const gj = f32x4.mul(v128.load(at(go, j)), v128.load(at(gamma, j)));
      const xh = f32x4.mul(f32x4.sub(v128.load(at(xo, j)), muv), rsv);
      v128.store(at(oo, j), f32x4.mul(rsv, f32x4.sub(f32x4.sub(gj, mgv), f32x4.mul(xh, mgxv))));
    }
    for (; j < cols; j++) {
      const gj = load<f32>(at(go, j)) * load<f32>(at(gamma, j));
      const xh = (load<f32>(at(xo, j)) - mu) * rs;
      store<f32>(at(oo, j), rs * ((gj - mg) - xh * mgx));
    }
  }
}

// ---- softmax ----

/**
 * Masked row softmax of scale·x: row r (global row rowBase + r) is query i = row mod q of block ⌊row/q⌋, whose
 * key mask is valid[(block mod sequences)·cols ..] (valid = 0: none) and, when causal, keys j ≤ i. Masked
 * entries are 0; a row with nothing unmasked is all zeros. p may be x.
 */
export function nnMaskedSoftmax(x: usize, rows: i32, cols: i32, rowBase: i32, q: i32, causal: bool, valid: usize, sequences: i32, scale: f32, p: usize): void {
  const sv = f32x4.splat(scale);
  const ninf = f32x4.splat(-Infinity);
  for (let r = 0; r < rows; r++) {
    const row = rowBase + r;
    const block = row / q, i = row - block * q;
    const vb = valid ? valid + <usize>((block % sequences) * cols) : 0;
    const last = causal ? min(cols, i + 1) : cols;
    const off = <usize>r * <usize>cols << 2;
    const xo = x + off, po = p + off;
    // max over the unmasked keys of [0, last)
    let mv = ninf;
    let j = 0;
    for (; j + 4 <= last; j += 4) {
      let v = f32x4.mul(sv, v128.load(at(xo, j)));
      if (vb) v = v128.bitselect(v, ninf, validMask(vb, j));
      mv = f32x4.max(mv, v);
    }
    let m = hmax(mv);
    for (; j < last; j++) if (!vb || load<u8>(vb + <usize>j)) m = max(m, scale * load<f32>(at(xo, j)));
    // e_j, Σ e_j
    const mm = f32x4.splat(m);
    let sumv = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= last; j += 4) {
      let e = exp4(f32x4.sub(f32x4.mul(sv, v128.load(at(xo, j))), mm));
      if (vb) e = v128.and(e, validMask(vb, j));
      sumv = f32x4.add(sumv, e);
      v128.store(at(po, j), e);
    }
    let sum = hsum(sumv);
    for (; j < last; j++) {
      let e: f32 = 0;
      if (!vb || load<u8>(vb + <usize>j)) e = lane0(exp4(f32x4.sub(f32x4.mul(sv, splatAt(xo, j)), mm)));
      sum += e;
      store<f32>(at(po, j), e);
    }
    for (j = last; j < cols; j++) store<f32>(at(po, j), 0);
    if (sum > 0) {
      const d = f32x4.splat(sum);
      j = 0;
      for (; j + 4 <= last; j += 4) v128.store(at(po, j), f32x4.div(v128.load(at(po, j)), d));
      for (; j < last; j++) store<f32>(at(po, j), load<f32>(at(po, j)) / sum);
    } else {
      for (j = 0; j < last; j++) store<f32>(at(po, j), 0);
    }
  }
}

/** all-ones lanes where the 4 key-valid bytes at vb + j are nonzero */
@inline function validMask(vb: usize, j: i32): v128 {
  const b = v128.load32_zero(vb + <usize>j);
  return v128.not(i32x4.eq(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(b)), i32x4.splat(0)));
}

/** dx = s·p ⊙ (dp − Σ_k dp_k·p_k) per row (the dot in f64). dx may be dp. */
export function nnSoftmaxBackward(p: usize, dp: usize, rows: i32, cols: i32, scale: f32, dx: usize): void {
  const sv = f32x4.splat(scale);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const po = p + off, go = dp + off, oo = dx + off;
    let d0 = f64x2.splat(0), d1 = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const t = f32x4.mul(v128.load(at(go, j)), v128.load(at(po, j)));
      d0 = f64x2.add(d0, lo64(t));
      d1 = f64x2.add(d1, hi64(t));
    }
    let dot = hsum64(f64x2.add(d0, d1));
    for (; j < cols; j++) dot += <f64>load<f32>(at(go, j)) * <f64>load<f32>(at(po, j));
    const dv = f32x4.splat(<f32>dot), d32 = <f32>dot;
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const pv = v128.load(at(po, j));
      v128.store(at(oo, j), f32x4.mul(f32x4.mul(sv, pv), f32x4.sub(v128.load(at(go, j)), dv)));
    }
    for (; j < cols; j++) {
      const pv = load<f32>(at(po, j));
      store<f32>(at(oo, j), scale * pv * (load<f32>(at(go, j)) - d32));
    }
  }
}

// ---- losses ----

/**
 * Softmax cross-entropy per row of z (lse = max + log Σ e^{z − max}, in f64 from an f32 sum):
 *   targets (i32 per row, −1 ignores the row): loss = lse − z_t, grad = s·(e^{z − lse} − onehot(t))
 *   weights (rows × cols):                     loss = Σ_j w_j·(lse − z_j), grad = s·((Σ w)·e^{z − lse} − w)
 * grad may be z.
 */
export function nnSoftmaxCe(z: usize, rows: i32, cols: i32, targets: usize, weights: usize, s: f32, loss: usize, grad: usize): void {
  const sv = f32x4.splat(s);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const zo = z + off, go = grad + off;
    const t = targets ? load<i32>(at(targets, r)) : 0;
    if (targets && t < 0) {
      store<f32>(at(loss, r), 0);
      memory.fill(go, 0, <usize>cols << 2);
      continue;
    }
    let mv = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= cols; j += 4) mv = f32x4.max(mv, v128.load(at(zo, j)));
    let m = hmax(mv);
    for (; j < cols; j++) m = max(m, load<f32>(at(zo, j)));
    const mm = f32x4.splat(m);
    let sumv = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= cols; j += 4) sumv = f32x4.add(sumv, exp4(f32x4.sub(v128.load(at(zo, j)), mm)));
    let sum = hsum(sumv);
    for (; j < cols; j++) sum += lane0(exp4(f32x4.sub(splatAt(zo, j), mm)));
    const lse: f64 = <f64>m + Math.log(<f64>sum);
    const lv = f32x4.splat(<f32>lse);
    let total: f32 = 1;
    if (targets) {
      store<f32>(at(loss, r), <f32>(lse - <f64>load<f32>(at(zo, t))));
    } else {
      // loss = Σ w_j·(lse − z_j) in f64
      const wo = weights + off;
      let l0 = f64x2.splat(0), l1 = f64x2.splat(0), w0 = f64x2.splat(0), w1 = f64x2.splat(0);
      const lse2 = f64x2.splat(lse);
      j = 0;
      for (; j + 4 <= cols; j += 4) {
        const wv = v128.load(at(wo, j)), zv = v128.load(at(zo, j));
        const a = lo64(wv), b = hi64(wv);
        l0 = f64x2.add(l0, f64x2.mul(a, f64x2.sub(lse2, lo64(zv))));
        l1 = f64x2.add(l1, f64x2.mul(b, f64x2.sub(lse2, hi64(zv))));
        w0 = f64x2.add(w0, a);
        w1 = f64x2.add(w1, b);
      }
      let l = hsum64(f64x2.add(l0, l1)), w = hsum64(f64x2.add(w0, w1));
      for (; j < cols; j++) {
        const wj = <f64>load<f32>(at(wo, j));
        l += wj * (lse - <f64>load<f32>(at(zo, j)));
        w += wj;
      }
      store<f32>(at(loss, r), <f32>l);
      total = <f32>w;
    }
    // gradient (grad may be z: z_t is read first)
    const zt = targets ? load<f32>(at(zo, t)) : 0;
    const tv = f32x4.splat(total);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      let gv = f32x4.mul(tv, exp4(f32x4.sub(v128.load(at(zo, j)), lv)));
      if (weights) gv = f32x4.sub(gv, v128.load(at(weights + off, j)));
      v128.store(at(go, j), f32x4.mul(sv, gv));
    }
    for (; j < cols; j++) {
      let gv = total * lane0(exp4(f32x4.sub(splatAt(zo, j), lv)));
      if (weights) gv -= load<f32>(at(weights + off, j));
      store<f32>(at(go, j), s * gv);
    }
    // the target's entry: s·(e^{z_t − lse} − 1) (the same e as its lane above)
    if (targets) store<f32>(at(go, t), s * (lane0(exp4(f32x4.sub(f32x4.splat(zt), lv))) - 1));
  }
}

/**
 * Binary cross-entropy on logits per element: loss = w·(max(z, 0) − z·y + log(1 + e^{−|z|})) (the linear part in
 * f64), grad = s·w·(σ(z) − y). weights = 0: all 1.
 */
export function nnSigmoidCe(z: usize, y: usize, weights: usize, n: i32, s: f32, loss: usize, grad: usize): void {
  const one = f32x4.splat(1), zero = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) {
    // buffers are padded to 16 bytes: the last vector's extra lanes are computed and not copied out
    const zv = v128.load(at(z, i)), yv = v128.load(at(y, i));
    const wv = weights ? v128.load(at(weights, i)) : one;
    const e = exp4(f32x4.neg(f32x4.abs(zv)));          // e^{−|z|} in (0, 1]
    const l1p = log4(f32x4.add(one, e));                  // log(1 + e^{−|z|})
    // σ(z) = 1/(1 + e^{−z}) for z ≥ 0, e^{z}/(1 + e^{z}) below: both are e'/(1 + e) forms of e = e^{−|z|}
    const sig = f32x4.div(v128.bitselect(one, e, f32x4.ge(zv, zero)), f32x4.add(one, e));
    v128.store(at(grad, i), f32x4.mul(f32x4.mul(f32x4.splat(s), wv), f32x4.sub(sig, yv)));
    const z0 = lo64(zv), z1 = hi64(zv);
    const lin0 = f64x2.sub(f64x2.max(z0, f64x2.splat(0)), f64x2.mul(z0, lo64(yv)));
    const lin1 = f64x2.sub(f64x2.max(z1, f64x2.splat(0)), f64x2.mul(z1, hi64(yv)));
    const l0 = f64x2.mul(lo64(wv), f64x2.add(lin0, lo64(l1p)));
    const l1 = f64x2.mul(hi64(wv), f64x2.add(lin1, hi64(l1p)));
    v128.store(at(loss, i), demote2(l0, l1));
  }
}

// ---- segment sums ----

/**
 * out_g = Σ_{p ∈ [offsets_g, offsets_{g+1})} w_p·src[positions_p] for groups g < groups (f64 accumulation in acc,
 * dim f64): positions index rows of src (dim floats each), −1 contributes nothing; w one weight per position
 * (0: all 1); offsets local to positions.
 */
export function nnSegmentSum(src: usize, positions: usize, w: usize, offsets: usize, groups: i32, dim: i32, acc: usize, out: usize): void {
  for (let g = 0; g < groups; g++) {
    memory.fill(acc, 0, <usize>dim << 3);
    const p1 = load<i32>(at(offsets, g + 1));
    for (let p = load<i32>(at(offsets, g)); p < p1; p++) {
      const rowId = load<i32>(at(positions, p));
      if (rowId < 0) continue;
      const wp: f64 = w ? <f64>load<f32>(at(w, p)) : 1;
      const wv = f64x2.splat(wp);
      const row = src + (<usize>rowId * <usize>dim << 2);
      let j = 0;
      for (; j + 4 <= dim; j += 4) {
        const v = v128.load(at(row, j));
        const a = at8(acc, j);
        v128.store(a, f64x2.add(v128.load(a), f64x2.mul(wv, lo64(v))));
        v128.store(a, f64x2.add(v128.load(a, 16), f64x2.mul(wv, hi64(v))), 16);
      }
      for (; j < dim; j++) store<f64>(at8(acc, j), load<f64>(at8(acc, j)) + wp * <f64>load<f32>(at(row, j)));
    }
    const o = out + (<usize>g * <usize>dim << 2);
    for (let j = 0; j < dim; j++) store<f32>(at(o, j), <f32>load<f64>(at8(acc, j)));
  }
}

// ---- dropout ----

/** MurmurHash3's fmix32 per lane (multiplications mod 2³²). */
@inline function fmix4(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

/**
 * Inverted dropout of n elements whose counters start at `counter` (mod 2³²): u = fmix32(key ⊕ fmix32(counter +
 * i)), key = fmix32(seed ⊕ 0x9E3779B9); kept when u ≥ threshold (unsigned), then y = x·scale in f64 rounded once.
 * Buffers are padded to 16 bytes (the extra lanes are not copied out).
 */
export function nnDropout(x: usize, n: i32, counter: u32, seed: u32, threshold: u32, scale: f64, y: usize): void {
  const key = fmix4(i32x4.splat(seed ^ 0x9e3779b9));
  const thr = i32x4.splat(threshold);
  const sc = f64x2.splat(scale);
  let c = i32x4.add(i32x4.splat(counter), i32x4(0, 1, 2, 3));
  const four = i32x4.splat(4);
  for (let i = 0; i < n; i += 4) {
    const u = fmix4(v128.xor(key, fmix4(c)));
    const keep = i32x4.ge_u(u, thr);
    const xv = v128.load(at(x, i));
    const scaled = demote2(f64x2.mul(lo64(xv), sc), f64x2.mul(hi64(xv), sc));
    v128.store(at(y, i), v128.and(scaled, keep));
    c = i32x4.add(c, four);
  }
}

// ---- Adam / AdamW ----

/**
 * n elements of Adam (decoupled = false: L2 added to the gradient) or AdamW, in place, each in f64 with the
 * reference's expressions: g = gs·grad [+ λ·θ]; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; [θ −= lr·λ·θ];
 * θ −= lr·(m/c1)/(√(v/c2) + ε). Buffers are padded to 16 bytes.
 */
export function nnAdam(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f64, b1: f64, b2: f64, eps: f64, wd: f64, decoupled: bool, gs: f64, c1: f64, c2: f64): void {
  const vb1 = f64x2.splat(b1), vb2 = f64x2.splat(b2), vb1c = f64x2.splat(1 - b1), vb2c = f64x2.splat(1 - b2);
  const vlr = f64x2.splat(lr), vwd = f64x2.splat(wd), vgs = f64x2.splat(gs), vc1 = f64x2.splat(c1), vc2 = f64x2.splat(c2), veps = f64x2.splat(eps);
  const vlrwd = f64x2.splat(lr * wd);
  for (let i = 0; i < n; i += 4) {
    const pv = v128.load(at(p, i)), gv = v128.load(at(g, i)), mv = v128.load(at(m, i)), vv = v128.load(at(v, i));
    let th0 = lo64(pv), th1 = hi64(pv);
    let g0 = f64x2.mul(vgs, lo64(gv)), g1 = f64x2.mul(vgs, hi64(gv));
    if (!decoupled) {
      g0 = f64x2.add(g0, f64x2.mul(vwd, th0));
      g1 = f64x2.add(g1, f64x2.mul(vwd, th1));
    }
    const m0 = f64x2.add(f64x2.mul(vb1, lo64(mv)), f64x2.mul(vb1c, g0));
    const m1 = f64x2.add(f64x2.mul(vb1, hi64(mv)), f64x2.mul(vb1c, g1));
    const v0 = f64x2.add(f64x2.mul(vb2, lo64(vv)), f64x2.mul(f64x2.mul(vb2c, g0), g0));
    const v1 = f64x2.add(f64x2.mul(vb2, hi64(vv)), f64x2.mul(f64x2.mul(vb2c, g1), g1));
    v128.store(at(m, i), demote2(m0, m1));
    v128.store(at(v, i), demote2(v0, v1));
    if (decoupled) {
      th0 = f64x2.sub(th0, f64x2.mul(vlrwd, th0));
      th1 = f64x2.sub(th1, f64x2.mul(vlrwd, th1));
    }
    const u0 = f64x2.div(f64x2.mul(vlr, f64x2.div(m0, vc1)), f64x2.add(f64x2.sqrt(f64x2.div(v0, vc2)), veps));
    const u1 = f64x2.div(f64x2.mul(vlr, f64x2.div(m1, vc1)), f64x2.add(f64x2.sqrt(f64x2.div(v1, vc2)), veps));
    v128.store(at(p, i), demote2(f64x2.sub(th0, u0), f64x2.sub(th1, u1)));
  }
}

// ---- elementwise ----

/** op 0 (axpby): out = α·x + β·y (y = 0: α·x); op 1 (mul): out = α·x·y; in f64, rounded once. Padded buffers. */
export function nnElementwise(op: i32, x: usize, y: usize, n: i32, alpha: f64, beta: f64, out: usize): void {
  const va = f64x2.splat(alpha), vb = f64x2.splat(beta);
  for (let i = 0; i < n; i += 4) {
    const xv = v128.load(at(x, i));
    let r0 = f64x2.mul(va, lo64(xv)), r1 = f64x2.mul(va, hi64(xv));
    if (y) {
      const yv = v128.load(at(y, i));
      if (op == 1) {
        r0 = f64x2.mul(r0, lo64(yv));
        r1 = f64x2.mul(r1, hi64(yv));
      } else {
        r0 = f64x2.add(r0, f64x2.mul(vb, lo64(yv)));
        r1 = f64x2.add(r1, f64x2.mul(vb, hi64(yv)));
      }
    }
    v128.store(at(out, i), demote2(r0, r1));
  }
}

// ---- Cholesky solve (f64) ----

/**
 * L·Lᵀ = A from the lower triangle of A (n × n f32, row-major) into l (n × n f64, lower triangle written, the
 * upper left as it was). Returns −1, or the first pivot j whose A_jj − Σ_k L_jk² is not > 0 and finite (its value
 * then at info).
 */
export function nnCholesky(a: usize, n: i32, l: usize, info: usize): i32 {
  for (let i = 0; i < n; i++) {
    const li = l + (<usize>i * <usize>n << 3);
    const ai = a + (<usize>i * <usize>n << 2);
    for (let j = 0; j <= i; j++) {
      const lj = l + (<usize>j * <usize>n << 3);
      const s = <f64>load<f32>(at(ai, j)) - dot64(li, lj, j);
      if (j < i) {
        store<f64>(at8(li, j), s / load<f64>(at8(lj, j)));
      } else {
        if (!(s > 0) || !isFinite(s)) { store<f64>(info, s); return i; }
        store<f64>(at8(li, i), Math.sqrt(s));
      }
    }
  }
  return -1;
}

/** Σ_{k<len} a_k·b_k (f64) */
@inline function dot64(a: usize, b: usize, len: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    s0 = f64x2.add(s0, f64x2.mul(v128.load(at8(a, k)), v128.load(at8(b, k))));
    s1 = f64x2.add(s1, f64x2.mul(v128.load(at8(a, k), 16), v128.load(at8(b, k), 16)));
  }
  let s = hsum64(f64x2.add(s0, s1));
  for (; k < len; k++) s += load<f64>(at8(a, k)) * load<f64>(at8(b, k));
  return s;
}

/** x_row(i) −= c·x_row(k) over r columns (f64) */
@inline function axpyRow(xi: usize, c: f64, xk: usize, r: i32): void {
  const cv = f64x2.splat(c);
  let j = 0;
  for (; j + 2 <= r; j += 2) v128.store(at8(xi, j), f64x2.sub(v128.load(at8(xi, j)), f64x2.mul(cv, v128.load(at8(xk, j)))));
  if (j < r) store<f64>(at8(xi, j), load<f64>(at8(xi, j)) - c * load<f64>(at8(xk, j)));
}

/**
 * X = L⁻ᵀ·(L⁻¹·X) in place for X n × r (f64, row-major): all right-hand sides at once, by rows. identity: X is
 * the identity (r = n), so Y = L⁻¹ is lower triangular and the forward pass touches only columns ≤ the row.
 */
export function nnCholeskySolve(l: usize, n: i32, x: usize, r: i32, identity: bool): void {
  const rowBytes = <usize>r << 3;
  // forward: L·Y = B
  for (let i = 0; i < n; i++) {
    const xi = x + <usize>i * rowBytes;
    const li = l + (<usize>i * <usize>n << 3);
    for (let k = 0; k < i; k++) {
      const c = load<f64>(at8(li, k));
      if (c != 0) axpyRow(xi, c, x + <usize>k * rowBytes, identity ? k + 1 : r);
    }
    divRow(xi, load<f64>(at8(li, i)), identity ? i + 1 : r);
  }
  // backward: Lᵀ·X = Y
  for (let i = n - 1; i >= 0; i--) {
    const xi = x + <usize>i * rowBytes;
    for (let k = i + 1; k < n; k++) {
      const c = load<f64>(l + ((<usize>k * <usize>n + <usize>i) << 3));
      if (c != 0) axpyRow(xi, c, x + <usize>k * rowBytes, r);
    }
    divRow(xi, load<f64>(l + ((<usize>i * <usize>n + <usize>i) << 3)), r);
  }
}

/** x_row(i) /= d over r columns (f64; divided, as the reference does) */
@inline function divRow(xi: usize, d: f64, r: i32): void {
  const dv = f64x2.splat(d);
  let j = 0;
  for (; j + 2 <= r; j += 2) v128.store(at8(xi, j), f64x2.div(v128.load(at8(xi, j)), dv));
  if (j < r) store<f64>(at8(xi, j), load<f64>(at8(xi, j)) / d);
}
