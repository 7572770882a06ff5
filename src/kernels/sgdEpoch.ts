/**
 * sgdEpoch — one pass over the training examples order[rowStart..rowEnd) (positions into
 * user/item/rating), updating the model parameters in place. Surprise's update rules,
 * exactly (Surprise's matrix_factorization.pyx), with μ the global mean:
 *
 * 'svd' (Funk / Koren biased MF):  r̂ = μ + b_u + b_i + q_iᵀp_u,  e = r − r̂
 *     b_u += γ_bu (e − λ_bu b_u)          b_i += γ_bi (e − λ_bi b_i)        (only when biased)
 *     p_u += γ_pu (e·q_i − λ_pu p_u)      q_i += γ_qi (e·p_u − λ_qi q_i)    (old values on the right)
 *   biased = false drops μ, b_u, b_i from r̂ (Surprise's SVD(biased=False)).
 *
 * 'svdpp' (Koren 2008, eq. 15):  r̂ = μ + b_u + b_i + q_iᵀ(p_u + |N(u)|^-½ Σ_{j∈N(u)} y_j)
 *     biases, p_u as 'svd';  q_i += γ_qi (e·(p_u + |N(u)|^-½ Σ y_j) − λ_qi q_i)
 *     ∀ j ∈ N(u):  y_j += γ_yj (e·|N(u)|^-½·q_i − λ_yj y_j)
 *   N(u) is row u of `implicitItems` (the items u rated in training, as Surprise).
 *   Exactness without Surprise's O(|N(u)|·f) cost per rating: within a run of consecutive
 *   examples of the same user, the y_j update is one affine map shared by all j ∈ N(u)
 *   (y ← d·y + c, d = 1 − γ_yj λ_yj), so it is composed lazily (y_j = A·ŷ_j + B) and applied
 *   to the rows when the user changes; the implicit term follows exactly:
 *   imp ← d·imp + γ_yj·e·q_i. Same arithmetic as updating every y_j each time (up to
 *   rounding); an order grouped by user makes the pass O(f) per example.
 *
 * 'nmf' (Luo et al. 2014, Surprise's NMF): over the pass accumulate, with r̂ as 'svd'
 *   (μ, b dropped unless biased — Surprise's default biased = False),
 *     num_pu += q_i·r   den_pu += q_i·r̂   num_qi += p_u·r   den_qi += p_u·r̂
 *   (biases, when biased, get the 'svd' SGD update per example), then at the end
 *     p_uf ← p_uf · num_pu,f / (den_pu,f + n_u λ_pu p_uf)    (only where p_uf ≠ 0)
 *     q_if ← q_if · num_qi,f / (den_qi,f + n_i λ_qi q_if)
 *   with n_u, n_i the example counts in this pass. An 'nmf' call must cover the whole pass.
 *
 * `weight` (optional, per example): the error in every gradient is scaled by it (weighted
 * squared loss Σ w·e²; the regularisation is not) — used for popularity balancing.
 * `update: 'users'` keeps item-side parameters (b_i, q_i, y_j) fixed: fold-in of new users.
 *
 * Loss: returns the sum of squared errors Σ e² of the pass (each e taken before that
 * example's update, unweighted) and adds [sse, count] to out[0], out[1]; models report
 * RMSE = √(sse / count) per epoch.
 *
 * Parameters are Float32Array; each update is computed in float64 and stored rounded.
 * Sequential by nature: not splittable (one task per call); deterministic.
 *
 * `parallel: true` ('svd' only) lets a backend with threads run the pass as Hogwild (Recht et al.
 * 2011): the order cut into one contiguous part per thread, all updating the shared parameters
 * without locks, in float32 — the same update rules, not bit-exact, and with more than one thread
 * not reproducible run to run. The native backend does (native/core hogwild.cpp), and the wasm backend over
 * the engine's pool workers on a shared memory (src/backends/wasm/hogwild.ts; with one worker it is the
 * sequential pass, bit for bit); the reference runs the pass sequentially (one valid Hogwild schedule).
 */
import type { Csr } from '../data/matrix.js';
import type { KernelDef } from './kernelDef.js';
import { indicesInRange } from './indexRange.js';

export type SgdAlgorithm = 'svd' | 'svdpp' | 'nmf';

export interface SgdRates {
  bu: number; bi: number; pu: number; qi: number; yj: number;
}

export interface SgdEpochArgs {
  algorithm: SgdAlgorithm;
  factors: number;
  user: Int32Array;
  item: Int32Array;
  rating: Float32Array;
  /** per-example weight (svd/svdpp) */
  weight?: Float32Array;
  /** positions into user/item/rating, in visiting order */
  order: Int32Array;
  globalMean: number;
  biased: boolean;
  lr: SgdRates;
  reg: SgdRates;
  bu: Float32Array;
  bi: Float32Array;
  /** users × factors */
  pu: Float32Array;
  /** items × factors */
  qi: Float32Array;
  /** items × factors (svdpp) */
  yj?: Float32Array;
  /** svdpp: N(u), users × items pattern (values unused) */
  implicitItems?: Csr;
  /** 'all' (default) or 'users': item-side parameters stay fixed */
  update?: 'all' | 'users';
  /** Hogwild over the backend's threads ('svd' only; see above); default false: sequential, bit-exact across backends */
  parallel?: boolean;
}

/** Whether every v[k] is in [0, limit). */
export function validateSgdEpoch(a: SgdEpochArgs): void {
  const F = a.factors;
  if (a.algorithm !== 'svd' && a.algorithm !== 'svdpp' && a.algorithm !== 'nmf') throw new RangeError(`sgdEpoch: unknown algorithm '${a.algorithm}' (svd|svdpp|nmf)`);
  if (!Number.isInteger(F) || F <= 0) throw new RangeError(`sgdEpoch: factors must be a positive integer, got ${F}`);
  if (a.parallel && a.algorithm !== 'svd') throw new RangeError(`sgdEpoch: parallel (Hogwild) is implemented for algorithm 'svd' only, got '${a.algorithm}'`);
  const nu = a.bu.length, ni = a.bi.length;
  if (a.pu.length !== nu * F) throw new RangeError(`sgdEpoch: pu has length ${a.pu.length}, expected ${nu}×${F}`);
  if (a.qi.length !== ni * F) throw new RangeError(`sgdEpoch: qi has length ${a.qi.length}, expected ${ni}×${F}`);
  const n = a.user.length;
  if (a.item.length !== n || a.rating.length !== n) throw new RangeError('sgdEpoch: user/item/rating differ in length');
  if (a.weight && a.weight.length !== n) throw new RangeError(`sgdEpoch: weight has length ${a.weight.length}, expected ${n}`);
  // Sequential passes first: walking user/item in the (shuffled) order costs a cache miss per read, about a
  // second of serial time on a 20M-example epoch. Only when one finds an index out of range (or the order is
  // short), the walk names the first bad index a step reads (an index no step reads is not an error).
  const surelyValid = a.order.length >= n / 8 && indicesInRange(a.order, n) && indicesInRange(a.user, nu) && indicesInRange(a.item, ni);
  if (!surelyValid) {
    for (let t = 0; t < a.order.length; t++) {
      const p = a.order[t];
      if (!(p >= 0 && p < n)) throw new RangeError(`sgdEpoch: order[${t}] = ${p} out of range [0, ${n})`);
      const u = a.user[p], i = a.item[p];
      if (!(u >= 0 && u < nu)) throw new RangeError(`sgdEpoch: user index ${u} at position ${p} out of range [0, ${nu})`);
      if (!(i >= 0 && i < ni)) throw new RangeError(`sgdEpoch: item index ${i} at position ${p} out of range [0, ${ni})`);
    }
  }
  if (a.algorithm === 'svdpp') {
    if (!a.yj || a.yj.length !== ni * F) throw new RangeError(`sgdEpoch: svdpp needs yj of length ${ni}×${F}`);
    const m = a.implicitItems;
    if (!m) throw new RangeError('sgdEpoch: svdpp needs implicitItems (N(u))');
    if (m.rows !== nu || m.cols !== ni) throw new RangeError(`sgdEpoch: implicitItems is ${m.rows}×${m.cols}, expected ${nu}×${ni}`);
    const total = m.indptr[m.rows];
    for (let p = 0; p < total; p++) if (!(m.indices[p] >= 0 && m.indices[p] < ni)) throw new RangeError(`sgdEpoch: implicitItems index ${m.indices[p]} out of range`);
  }
}

/** [sum of squared errors, examples] */
export function allocateSgdEpoch(): Float64Array {
  return new Float64Array(2);
}

export function sgdEpochReference(a: SgdEpochArgs, out: Float64Array, rowStart: number, rowEnd: number): number {
  let sse: number;
  if (a.algorithm === 'svd') sse = svdPass(a, rowStart, rowEnd);
  else if (a.algorithm === 'svdpp') sse = svdppPass(a, rowStart, rowEnd);
  else sse = nmfPass(a, rowStart, rowEnd);
  out[0] += sse;
  out[1] += rowEnd - rowStart;
  return sse;
}

function svdPass(a: SgdEpochArgs, rowStart: number, rowEnd: number): number {
  const F = a.factors;
  const { user, item, rating, weight, order, bu, bi, pu, qi } = a;
  const biased = a.biased;
  const mu = biased ? a.globalMean : 0;
  const lrBu = a.lr.bu, lrBi = a.lr.bi, lrPu = a.lr.pu, lrQi = a.lr.qi;
  const regBu = a.reg.bu, regBi = a.reg.bi, regPu = a.reg.pu, regQi = a.reg.qi;
  const items = a.update !== 'users';
  let sse = 0;
  for (let t = rowStart; t < rowEnd; t++) {
    const pos = order[t];
    const u = user[pos], i = item[pos];
    const uo = u * F, io = i * F;
    let dot = 0;
    for (let f = 0; f < F; f++) dot += qi[io + f] * pu[uo + f];
    const err = biased ? rating[pos] - (mu + bu[u] + bi[i] + dot) : rating[pos] - dot;
    sse += err * err;
    const e = weight ? err * weight[pos] : err;
    if (biased) {
      bu[u] += lrBu * (e - regBu * bu[u]);
      if (items) bi[i] += lrBi * (e - regBi * bi[i]);
    }
    if (items) {
      for (let f = 0; f < F; f++) {
        const puf = pu[uo + f], qif = qi[io + f];
        pu[uo + f] = puf + lrPu * (e * qif - regPu * puf);
        qi[io + f] = qif + lrQi * (e * puf - regQi * qif);
      }
    } else {
      for (let f = 0; f < F; f++) {
        const puf = pu[uo + f];
        pu[uo + f] = puf + lrPu * (e * qi[io + f] - regPu * puf);
      }
    }
  }
  return sse;
}

function svdppPass(a: SgdEpochArgs, rowStart: number, rowEnd: number): number {
  const F = a.factors;
  const { user, item, rating, weight, order, bu, bi, pu, qi } = a;
  const yj = a.yj!;
  const { indptr, indices } = a.implicitItems!;
  const mu = a.globalMean;
  const lrBu = a.lr.bu, lrBi = a.lr.bi, lrPu = a.lr.pu, lrQi = a.lr.qi, lrYj = a.lr.yj;
  const regBu = a.reg.bu, regBi = a.reg.bi, regPu = a.reg.pu, regQi = a.reg.qi, regYj = a.reg.yj;
  const items = a.update !== 'users';
  const d = 1 - lrYj * regYj;
  const imp = new Float64Array(F);
  const B = new Float64Array(F);
  let A = 1;
  let cur = -1, s = 0, nStart = 0, nEnd = 0;
  let sse = 0;

  const flush = (): void => {
    if (cur < 0 || !items || nEnd === nStart) return;
    for (let q = nStart; q < nEnd; q++) {
      const jo = indices[q] * F;
      for (let f = 0; f < F; f++) yj[jo + f] = A * yj[jo + f] + B[f];
    }
  };

  for (let t = rowStart; t < rowEnd; t++) {
    const pos = order[t];
    const u = user[pos], i = item[pos];
    if (u !== cur) {
      flush();
      cur = u;
      nStart = indptr[u]; nEnd = indptr[u + 1];
      const n = nEnd - nStart;
      s = n > 0 ? 1 / Math.sqrt(n) : 0;
      imp.fill(0);
      for (let q = nStart; q < nEnd; q++) {
        const jo = indices[q] * F;
        for (let f = 0; f < F; f++) imp[f] += yj[jo + f];
      }
      for (let f = 0; f < F; f++) imp[f] *= s;
      A = 1; B.fill(0);
    }
    const uo = u * F, io = i * F;
    let dot = 0;
    for (let f = 0; f < F; f++) dot += qi[io + f] * (pu[uo + f] + imp[f]);
    const err = rating[pos] - (mu + bu[u] + bi[i] + dot);
    sse += err * err;
    const e = weight ? err * weight[pos] : err;
    bu[u] += lrBu * (e - regBu * bu[u]);
    if (items) bi[i] += lrBi * (e - regBi * bi[i]);
    if (items) {
      const hasY = nEnd > nStart;
      const ys = lrYj * e * s;
      for (let f = 0; f < F; f++) {
        const puf = pu[uo + f], qif = qi[io + f], impf = imp[f];
        pu[uo + f] = puf + lrPu * (e * qif - regPu * puf);
        qi[io + f] = qif + lrQi * (e * (puf + impf) - regQi * qif);
        if (hasY) {
          B[f] = d * B[f] + ys * qif;
          imp[f] = d * impf + lrYj * e * qif;
        }
      }
      if (hasY) A *= d;
    } else {
      for (let f = 0; f < F; f++) {
        const puf = pu[uo + f];
        pu[uo + f] = puf + lrPu * (e * qi[io + f] - regPu * puf);
      }
    }
  }
  flush();
  return sse;
}

function nmfPass(a: SgdEpochArgs, rowStart: number, rowEnd: number): number {
  const F = a.factors;
  const { user, item, rating, order, bu, bi, pu, qi } = a;
  const biased = a.biased;
  const mu = biased ? a.globalMean : 0;
  const items = a.update !== 'users';
  const nu = bu.length, ni = bi.length;
  const userNum = new Float64Array(nu * F), userDen = new Float64Array(nu * F), userN = new Float64Array(nu);
  const itemNum = items ? new Float64Array(ni * F) : null, itemDen = items ? new Float64Array(ni * F) : null;
  const itemN = new Float64Array(ni);
  let sse = 0;
  for (let t = rowStart; t < rowEnd; t++) {
    const pos = order[t];
    const u = user[pos], i = item[pos], r = rating[pos];
    const uo = u * F, io = i * F;
    let dot = 0;
    for (let f = 0; f < F; f++) dot += qi[io + f] * pu[uo + f];
    const est = biased ? mu + bu[u] + bi[i] + dot : dot;
    const err = r - est;
    sse += err * err;
    if (biased) {
      bu[u] += a.lr.bu * (err - a.reg.bu * bu[u]);
      if (items) bi[i] += a.lr.bi * (err - a.reg.bi * bi[i]);
    }
    for (let f = 0; f < F; f++) {
      const q = qi[io + f];
      userNum[uo + f] += q * r;
      userDen[uo + f] += q * est;
    }
    if (items) {
      for (let f = 0; f < F; f++) {
        const p = pu[uo + f];
        itemNum![io + f] += p * r;
        itemDen![io + f] += p * est;
      }
    }
    userN[u]++;
    itemN[i]++;
  }
  const regPu = a.reg.pu, regQi = a.reg.qi;
  for (let u = 0; u < nu; u++) {
    const n = userN[u];
    if (n === 0) continue;
    for (let f = 0, o = u * F; f < F; f++) {
      const p = pu[o + f];
      if (p !== 0) pu[o + f] = p * (userNum[o + f] / (userDen[o + f] + n * regPu * p));
    }
  }
  if (items) {
    for (let i = 0; i < ni; i++) {
      const n = itemN[i];
      if (n === 0) continue;
      for (let f = 0, o = i * F; f < F; f++) {
        const q = qi[o + f];
        if (q !== 0) qi[o + f] = q * (itemNum![o + f] / (itemDen![o + f] + n * regQi * q));
      }
    }
  }
  return sse;
}

/** Floating-point operations of a full call (rough), for GFLOP/s figures. */
function sgdEpochFlops(a: SgdEpochArgs): number {
  return a.order.length * a.factors * (a.algorithm === 'svd' ? 8 : 12);
}

export const sgdEpochKernel: KernelDef<SgdEpochArgs, Float64Array> = {
  name: 'sgdEpoch',
  validate: validateSgdEpoch,
  rows: (a) => a.order.length,
  allocate: allocateSgdEpoch,
  reference: (a, out, rowStart, rowEnd) => { sgdEpochReference(a, out, rowStart, rowEnd); },
  splittable: false,
  mutatesArgs: true,
  flops: sgdEpochFlops,
};
