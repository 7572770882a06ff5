/**
 * bprEpoch — `samples` SGD steps of Rendle et al.'s BPR-Opt (UAI 2009), as implicit's
 * bpr_update does it. Each step draws a positive (u, i) uniformly from the stored entries
 * of `userItems` (so active users are drawn more often) and a negative item j:
 *
 *   negatives 'popularity' (default β = 1, implicit's own scheme): j = the item of another
 *     uniformly drawn entry, i.e. P(j) ∝ popularity(j);
 *   negatives 'table': j drawn from the cumulative distribution `negativeCdf`
 *     (the model builds it as P(j) ∝ popularity(j)^β; β = 0 is uniform over all items).
 *
 * With verifyNegative, a j the user has interacted with is skipped (counted, no update).
 * Factor rows have f+1 columns; the last is a bias: 1 for every user, b_j for items.
 *
 *   x_uij = x_u·(y_i − y_j)   (bias included),   z = σ(−x_uij) = 1 / (1 + e^{x_uij})
 *   ∂ ln σ(x_uij) / ∂θ = z · ∂x_uij/∂θ, so for k < f (old x_uk on the right):
 *     x_uk += η (z (y_ik − y_jk) − λ x_uk)
 *     y_ik += η (z x_uk − λ y_ik)         y_jk += η (−z x_uk − λ y_jk)
 *   and the item biases  b_i += η (z − λ b_i),  b_j += η (−z − λ b_j).
 *
 * Randomness: `rng` is a xoshiro128** state advanced in place, so a run is reproducible
 * from its seed. Sequential and deterministic by default; rows are sample indices, not splittable.
 *
 * `parallel: true` lets a backend with threads run the steps as Hogwild (Recht et al. 2011, as
 * implicit's bpr_update does): the steps split over its threads, each drawing from its own stream
 * seeded from `rng`, all updating the shared factors without locks, in float32 — the same
 * sampling and update rules, not the same draws or arithmetic, and with more than one thread not
 * reproducible run to run. The native backend does (native/core hogwild.cpp), and the wasm backend over
 * the engine's pool workers on a shared memory (src/backends/wasm/hogwild.ts, the same streams, f64 step
 * arithmetic); the reference (and a backend without threads) runs the steps sequentially, which is one
 * valid Hogwild schedule.
 *
 * out: [correct (x_uij > 0 before the step), skipped, Σ −ln σ(x_uij)] accumulated.
 * Returns the mean −ln σ(x_uij) over the non-skipped steps of this call.
 */
import type { Csr } from '../data/matrix.js';
import type { KernelDef } from './kernelDef.js';
import { indicesInRange } from './indexRange.js';
import { xoshiroNext } from '../data/xoshiro128.js';

export interface BprEpochArgs {
  /** users × items positives to sample from, sorted indices; values ignored (any stored entry is a positive) */
  userItems: Csr;
  /** the user of each stored entry of userItems (length nnz) */
  entryUser: Int32Array;
  /** the full training matrix for verifyNegative (default userItems; sorted indices) */
  seen?: Csr;
  /** negatives 'popularity': the item of every training interaction (default userItems.indices) */
  popularityItems?: Int32Array;
  /** users × (factors + 1), last column 1 */
  userFactors: Float32Array;
  /** items × (factors + 1), last column the item bias */
  itemFactors: Float32Array;
  factors: number;
  learningRate: number;
  regularization: number;
  verifyNegative: boolean;
  negatives: 'popularity' | 'table';
  /** cumulative distribution over items (length items, last = 1) for negatives 'table' */
  negativeCdf?: Float64Array;
  /** steps in a full call (implicit: nnz per epoch) */
  samples: number;
  /** xoshiro128** state (Uint32Array(4)), advanced in place */
  rng: Uint32Array;
  /**
   * 'all' (default); 'users': only x_u changes (fold-in of a user);
   * 'positive': only the positive item's row y_i (and b_i) changes (fold-in of an item)
   */
  update?: 'all' | 'users' | 'positive';
  /** Hogwild over the backend's threads (see above); default false: sequential, bit-exact across backends */
  parallel?: boolean;
}

export function validateBprEpoch(a: BprEpochArgs): void {
  const m = a.userItems, F = a.factors, D = F + 1;
  if (!Number.isInteger(F) || F <= 0) throw new RangeError(`bprEpoch: factors must be a positive integer, got ${F}`);
  if (a.userFactors.length !== m.rows * D) throw new RangeError(`bprEpoch: userFactors has length ${a.userFactors.length}, expected ${m.rows}×${D}`);
  if (a.itemFactors.length !== m.cols * D) throw new RangeError(`bprEpoch: itemFactors has length ${a.itemFactors.length}, expected ${m.cols}×${D}`);
  const nz = m.indptr[m.rows];
  if (a.entryUser.length !== nz) throw new RangeError(`bprEpoch: entryUser has length ${a.entryUser.length}, expected nnz ${nz}`);
  if (nz === 0) throw new RangeError('bprEpoch: no interactions to sample from');
  if (!indicesInRange(m.indices.length === nz ? m.indices : m.indices.subarray(0, nz), m.cols)) {
    for (let p = 0; p < nz; p++) if (!(m.indices[p] >= 0 && m.indices[p] < m.cols)) throw new RangeError(`bprEpoch: item index ${m.indices[p]} out of range`);
  }
  if (a.seen && (a.seen.rows !== m.rows || a.seen.cols !== m.cols)) throw new RangeError('bprEpoch: seen has a different shape from userItems');
  if (a.popularityItems && !indicesInRange(a.popularityItems, m.cols)) throw new RangeError('bprEpoch: popularityItems index out of range');
  if (a.popularityItems && a.popularityItems.length === 0) throw new RangeError('bprEpoch: popularityItems is empty');
  if (a.negatives === 'table') {
    if (!a.negativeCdf || a.negativeCdf.length !== m.cols) throw new RangeError(`bprEpoch: negatives 'table' needs negativeCdf of length ${m.cols}`);
  } else if (a.negatives !== 'popularity') throw new RangeError(`bprEpoch: unknown negatives '${a.negatives}' (popularity|table)`);
  if (!(a.rng instanceof Uint32Array) || a.rng.length !== 4) throw new RangeError('bprEpoch: rng must be a Uint32Array(4) xoshiro state');
}

export function allocateBprEpoch(): Float64Array {
  return new Float64Array(3);
}

function hasEntry(indices: Int32Array, lo: number, hi: number, col: number): boolean {
  hi--;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = indices[mid];
    if (v === col) return true;
    if (v < col) lo = mid + 1; else hi = mid - 1;
  }
  return false;
}

export function bprEpochReference(a: BprEpochArgs, out: Float64Array, rowStart: number, rowEnd: number): number {
  const { userItems: m, entryUser, userFactors: X, itemFactors: Y, rng } = a;
  const F = a.factors, D = F + 1;
  const { indptr, indices } = m;
  const nz = indptr[m.rows];
  const seen = a.seen ?? m;
  const sIndptr = seen.indptr, sIndices = seen.indices;
  const popItems = a.popularityItems ?? indices;
  const npop = popItems.length;
  const lr = a.learningRate, reg = a.regularization;
  const verify = a.verifyNegative;
  const cdf = a.negatives === 'table' ? a.negativeCdf! : null;
  const nItems = m.cols;
  const mode = a.update ?? 'all';
  let correct = 0, skipped = 0, lossSum = 0;
  for (let t = rowStart; t < rowEnd; t++) {
    const liked = Math.floor((xoshiroNext(rng) / 4294967296) * nz);
    const i = indices[liked];
    const u = entryUser[liked];
    let j: number;
    if (cdf) {
      const x = xoshiroNext(rng) / 4294967296;
      let lo = 0, hi = nItems - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] > x) hi = mid; else lo = mid + 1; }
      j = lo;
    } else {
      j = popItems[Math.floor((xoshiroNext(rng) / 4294967296) * npop)];
    }
    if (verify && hasEntry(sIndices, sIndptr[u], sIndptr[u + 1], j)) { skipped++; continue; }
    if (j === i) { skipped++; continue; }
    const uo = u * D, io = i * D, jo = j * D;
    let score = 0;
    for (let k = 0; k < D; k++) score += X[uo + k] * (Y[io + k] - Y[jo + k]);
    const z = 1 / (1 + Math.exp(score));
    if (z < 0.5) correct++;
    // −ln σ(x) = ln(1 + e^{−x}), computed stably
    lossSum += score > 0 ? Math.log1p(Math.exp(-score)) : -score + Math.log1p(Math.exp(score));
    if (mode === 'all') {
      for (let k = 0; k < F; k++) {
        const xu = X[uo + k], yi = Y[io + k], yjk = Y[jo + k];
        X[uo + k] = xu + lr * (z * (yi - yjk) - reg * xu);
        Y[io + k] = yi + lr * (z * xu - reg * yi);
        Y[jo + k] = yjk + lr * (-z * xu - reg * yjk);
      }
      Y[io + F] += lr * (z - reg * Y[io + F]);
      Y[jo + F] += lr * (-z - reg * Y[jo + F]);
    } else if (mode === 'users') {
      for (let k = 0; k < F; k++) {
        const xu = X[uo + k];
        X[uo + k] = xu + lr * (z * (Y[io + k] - Y[jo + k]) - reg * xu);
      }
    } else {
      for (let k = 0; k < F; k++) {
        const yi = Y[io + k];
        Y[io + k] = yi + lr * (z * X[uo + k] - reg * yi);
      }
      Y[io + F] += lr * (z - reg * Y[io + F]);
    }
  }
  out[0] += correct; out[1] += skipped; out[2] += lossSum;
  const used = rowEnd - rowStart - skipped;
  return used > 0 ? lossSum / used : 0;
}

function bprEpochFlops(a: BprEpochArgs): number {
  return a.samples * (a.factors + 1) * 10;
}

export const bprEpochKernel: KernelDef<BprEpochArgs, Float64Array> = {
  name: 'bprEpoch',
  validate: validateBprEpoch,
  rows: (a) => a.samples,
  allocate: allocateBprEpoch,
  reference: (a, out, rowStart, rowEnd) => { bprEpochReference(a, out, rowStart, rowEnd); },
  splittable: false,
  mutatesArgs: true,
  flops: bprEpochFlops,
};
