// sgdEpoch, the same contract as src/kernels/sgdEpoch.ts (the reference): one pass of Surprise's SGD updates
// ('svd', 'svdpp' with the lazily composed y_j update, 'nmf') over examples order[t0..t1), mutating the
// parameters in place. Sequential (one task); deterministic.
//
// Bit-for-bit the reference: the parameters are f32, every update is computed in f64 from the f32 values with
// the reference's expressions in the reference's order, and stored rounded to f32 — so a pass leaves exactly
// the parameters the reference leaves. (The element-wise factor updates are written with f64x2 lanes; each lane
// does the scalar computation, so vectorising them changes nothing. Dot products stay sequential.)

let gF: i32 = 0;
let gUser: usize = 0;     // i32[n]
let gItem: usize = 0;     // i32[n]
let gRating: usize = 0;   // f32[n]
let gWeight: usize = 0;   // f32[n] or 0
let gOrder: usize = 0;    // i32[len]
let gBu: usize = 0;       // f32[nu]
let gBi: usize = 0;       // f32[ni]
let gPu: usize = 0;       // f32[nu × F]
let gQi: usize = 0;       // f32[ni × F]
let gYj: usize = 0;       // f32[ni × F] (svdpp)
let gNIndptr: usize = 0;  // i32[nu+1] N(u) (svdpp)
let gNIndices: usize = 0; // i32
let gScratch: usize = 0;  // f64: svdpp imp, B (2F); nmf num/den arrays and counts
let gItems: bool = true;  // update item-side parameters

export function sgdSetup(
  f: i32, user: usize, item: usize, rating: usize, weight: usize, order: usize, bu: usize, bi: usize, pu: usize, qi: usize,
  yj: usize, nIndptr: usize, nIndices: usize, scratch: usize, items: bool,
): void {
  gF = f; gUser = user; gItem = item; gRating = rating; gWeight = weight; gOrder = order; gBu = bu; gBi = bi;
  gPu = pu; gQi = qi; gYj = yj; gNIndptr = nIndptr; gNIndices = nIndices; gScratch = scratch; gItems = items;
}

@inline function ldf(p: usize, i: i32): f64 { return <f64>load<f32>(p + (<usize>i << 2)); }
@inline function stf(p: usize, i: i32, v: f64): void { store<f32>(p + (<usize>i << 2), <f32>v); }
@inline function ldi(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }

/** 'svd' over order[t0, t1); returns Σ e². */
export function sgdSvd(t0: i32, t1: i32, biased: bool, globalMean: f64,
  lrBu: f64, lrBi: f64, lrPu: f64, lrQi: f64, regBu: f64, regBi: f64, regPu: f64, regQi: f64): f64 {
  const F = gF, pu = gPu, qi = gQi, bu = gBu, bi = gBi, weight = gWeight, items = gItems;
  const mu = biased ? globalMean : 0;
  let sse: f64 = 0;
  for (let t = t0; t < t1; t++) {
    const pos = ldi(gOrder, t);
    const u = ldi(gUser, pos), i = ldi(gItem, pos);
    const uo = u * F, io = i * F;
    let dot: f64 = 0;
    for (let f = 0; f < F; f++) dot += ldf(qi, io + f) * ldf(pu, uo + f);
    const r = ldf(gRating, pos);
    const err = biased ? r - (mu + ldf(bu, u) + ldf(bi, i) + dot) : r - dot;
    sse += err * err;
    const e = weight ? err * ldf(weight, pos) : err;
    if (biased) {
      stf(bu, u, ldf(bu, u) + lrBu * (e - regBu * ldf(bu, u)));
      if (items) stf(bi, i, ldf(bi, i) + lrBi * (e - regBi * ldf(bi, i)));
    }
    const pp = pu + (<usize>uo << 2), qp = qi + (<usize>io << 2);
    let f = 0;
    if (items) {
      const ev = f64x2.splat(e), lp = f64x2.splat(lrPu), lq = f64x2.splat(lrQi), rp = f64x2.splat(regPu), rq = f64x2.splat(regQi);
      for (; f + 2 <= F; f += 2) {
        const o = <usize>f << 2;
        const puf = f64x2.promote_low_f32x4(v128.load64_zero(pp + o));
        const qif = f64x2.promote_low_f32x4(v128.load64_zero(qp + o));
        const np = f64x2.add(puf, f64x2.mul(lp, f64x2.sub(f64x2.mul(ev, qif), f64x2.mul(rp, puf))));
        const nq = f64x2.add(qif, f64x2.mul(lq, f64x2.sub(f64x2.mul(ev, puf), f64x2.mul(rq, qif))));
        v128.store64_lane(pp + o, f32x4.demote_f64x2_zero(np), 0);
        v128.store64_lane(qp + o, f32x4.demote_f64x2_zero(nq), 0);
      }
      for (; f < F; f++) {
        const puf = ldf(pu, uo + f), qif = ldf(qi, io + f);
        stf(pu, uo + f, puf + lrPu * (e * qif - regPu * puf));
        stf(qi, io + f, qif + lrQi * (e * puf - regQi * qif));
      }
    } else {
      for (; f < F; f++) {
        const puf = ldf(pu, uo + f);
        stf(pu, uo + f, puf + lrPu * (e * ldf(qi, io + f) - regPu * puf));
      }
    }
  }
  return sse;
}

/** 'svdpp' over order[t0, t1); returns Σ e². Scratch: imp f64[F], B f64[F]. */
export function sgdSvdpp(t0: i32, t1: i32, globalMean: f64,
  lrBu: f64, lrBi: f64, lrPu: f64, lrQi: f64, lrYj: f64, regBu: f64, regBi: f64, regPu: f64, regQi: f64, regYj: f64): f64 {
  const F = gF, pu = gPu, qi = gQi, bu = gBu, bi = gBi, yj = gYj, weight = gWeight, items = gItems;
  const indptr = gNIndptr, indices = gNIndices;
  const imp = gScratch, B = gScratch + (<usize>F << 3);
  const mu = globalMean;
  const d = 1 - lrYj * regYj;
  let A: f64 = 1;
  let cur = -1, nStart = 0, nEnd = 0;
  let s: f64 = 0;
  let sse: f64 = 0;
  for (let t = t0; t <= t1; t++) {
    // t == t1: the final flush
    const pos = t < t1 ? ldi(gOrder, t) : 0;
    const u = t < t1 ? ldi(gUser, pos) : -2;
    if (u != cur) {
      // flush the composed y_j ← A·y_j + B of the previous user
      if (cur >= 0 && items && nEnd != nStart) {
        for (let q = nStart; q < nEnd; q++) {
          const jo = ldi(indices, q) * F;
          for (let f = 0; f < F; f++) stf(yj, jo + f, A * ldf(yj, jo + f) + load<f64>(B + (<usize>f << 3)));
        }
      }
      if (t == t1) break;
      cur = u;
      nStart = ldi(indptr, u); nEnd = ldi(indptr, u + 1);
      const n = nEnd - nStart;
      s = n > 0 ? 1 / Math.sqrt(<f64>n) : 0;
      memory.fill(imp, 0, <usize>F << 3);
      for (let q = nStart; q < nEnd; q++) {
        const jo = ldi(indices, q) * F;
        for (let f = 0; f < F; f++) {
          const p = imp + (<usize>f << 3);
          store<f64>(p, load<f64>(p) + ldf(yj, jo + f));
        }
      }
      for (let f = 0; f < F; f++) {
        const p = imp + (<usize>f << 3);
        store<f64>(p, load<f64>(p) * s);
      }
      A = 1;
      memory.fill(B, 0, <usize>F << 3);
    }
    const i = ldi(gItem, pos);
    const uo = u * F, io = i * F;
    let dot: f64 = 0;
    for (let f = 0; f < F; f++) dot += ldf(qi, io + f) * (ldf(pu, uo + f) + load<f64>(imp + (<usize>f << 3)));
    const err = ldf(gRating, pos) - (mu + ldf(bu, u) + ldf(bi, i) + dot);
    sse += err * err;
    const e = weight ? err * ldf(weight, pos) : err;
    stf(bu, u, ldf(bu, u) + lrBu * (e - regBu * ldf(bu, u)));
    if (items) stf(bi, i, ldf(bi, i) + lrBi * (e - regBi * ldf(bi, i)));
    if (items) {
      const hasY = nEnd > nStart;
      const ys = lrYj * e * s;
      for (let f = 0; f < F; f++) {
        const puf = ldf(pu, uo + f), qif = ldf(qi, io + f);
        const ip = imp + (<usize>f << 3);
        const impf = load<f64>(ip);
        stf(pu, uo + f, puf + lrPu * (e * qif - regPu * puf));
        stf(qi, io + f, qif + lrQi * (e * (puf + impf) - regQi * qif));
        if (hasY) {
          const bp = B + (<usize>f << 3);
          store<f64>(bp, d * load<f64>(bp) + ys * qif);
          store<f64>(ip, d * impf + lrYj * e * qif);
        }
      }
      if (hasY) A *= d;
    } else {
      for (let f = 0; f < F; f++) {
        const puf = ldf(pu, uo + f);
        stf(pu, uo + f, puf + lrPu * (e * ldf(qi, io + f) - regPu * puf));
      }
    }
  }
  return sse;
}

/**
 * 'nmf' over order[t0, t1) then the multiplicative updates; returns Σ e².
 * Scratch (zeroed by the caller): userNum, userDen f64[nu × F], userN f64[nu], itemNum, itemDen f64[ni × F], itemN f64[ni].
 */
export function sgdNmf(t0: i32, t1: i32, nu: i32, ni: i32, biased: bool, globalMean: f64,
  lrBu: f64, lrBi: f64, regBu: f64, regBi: f64, regPu: f64, regQi: f64): f64 {
  const F = gF, pu = gPu, qi = gQi, bu = gBu, bi = gBi, items = gItems;
  const mu = biased ? globalMean : 0;
  const userNum = gScratch;
  const userDen = userNum + (<usize>nu * <usize>F << 3);
  const userN = userDen + (<usize>nu * <usize>F << 3);
  const itemNum = userN + (<usize>nu << 3);
  const itemDen = itemNum + (<usize>ni * <usize>F << 3);
  const itemN = itemDen + (<usize>ni * <usize>F << 3);
  let sse: f64 = 0;
  for (let t = t0; t < t1; t++) {
    const pos = ldi(gOrder, t);
    const u = ldi(gUser, pos), i = ldi(gItem, pos);
    const r = ldf(gRating, pos);
    const uo = u * F, io = i * F;
    let dot: f64 = 0;
    for (let f = 0; f < F; f++) dot += ldf(qi, io + f) * ldf(pu, uo + f);
    const est = biased ? mu + ldf(bu, u) + ldf(bi, i) + dot : dot;
    const err = r - est;
    sse += err * err;
    if (biased) {
      stf(bu, u, ldf(bu, u) + lrBu * (err - regBu * ldf(bu, u)));
      if (items) stf(bi, i, ldf(bi, i) + lrBi * (err - regBi * ldf(bi, i)));
    }
    for (let f = 0; f < F; f++) {
      const q = ldf(qi, io + f);
      const o = <usize>(uo + f) << 3;
      store<f64>(userNum + o, load<f64>(userNum + o) + q * r);
      store<f64>(userDen + o, load<f64>(userDen + o) + q * est);
    }
    if (items) {
      for (let f = 0; f < F; f++) {
        const p = ldf(pu, uo + f);
        const o = <usize>(io + f) << 3;
        store<f64>(itemNum + o, load<f64>(itemNum + o) + p * r);
        store<f64>(itemDen + o, load<f64>(itemDen + o) + p * est);
      }
    }
    store<f64>(userN + (<usize>u << 3), load<f64>(userN + (<usize>u << 3)) + 1);
    store<f64>(itemN + (<usize>i << 3), load<f64>(itemN + (<usize>i << 3)) + 1);
  }
  for (let u = 0; u < nu; u++) {
    const n = load<f64>(userN + (<usize>u << 3));
    if (n == 0) continue;
    for (let f = 0, o = u * F; f < F; f++) {
      const p = ldf(pu, o + f);
      const b = <usize>(o + f) << 3;
      if (p != 0) stf(pu, o + f, p * (load<f64>(userNum + b) / (load<f64>(userDen + b) + n * regPu * p)));
    }
  }
  if (items) {
    for (let i = 0; i < ni; i++) {
      const n = load<f64>(itemN + (<usize>i << 3));
      if (n == 0) continue;
      for (let f = 0, o = i * F; f < F; f++) {
        const q = ldf(qi, o + f);
        const b = <usize>(o + f) << 3;
        if (q != 0) stf(qi, o + f, q * (load<f64>(itemNum + b) / (load<f64>(itemDen + b) + n * regQi * q)));
      }
    }
  }
  return sse;
}
