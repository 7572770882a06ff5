/**
 * Early stopping for the neural models on validation users held out of training, scored as
 * Liang et al. 2018 select their models: each validation user's items are split at random
 * (seeded) into a fold-in part (80 %) that the model sees and a held-out part (20 %) that it
 * should rank; the metric is the mean NDCG@k (binary relevance, ideal DCG over
 * min(k, |held out|), the eval layer's definition) of the fold-in rankings, seen items excluded.
 */
import type { Csr } from '../../data/matrix.js';
import type { Rng } from '../../data/random.js';
import type { Recommendations } from '../types.js';

export interface ValidationRows {
  /** the validation users (rows of the training matrix) */
  users: Int32Array;
  /** users.length × items: their fold-in items (values as in the training matrix) */
  foldIn: Csr;
  /** their held-out items */
  targets: Int32Array[];
}

/**
 * Picks `count` users with ≥ 2 items at random and holds out round(share · n) of each one's items
 * (at least 1, at most n − 1). Returns the validation rows and the remaining (training) users.
 */
export function splitValidationUsers(ur: Csr, candidates: Int32Array, count: number, share: number, rng: Rng): { validation: ValidationRows; train: Int32Array } {
  const eligible = Array.from(candidates).filter((u) => ur.indptr[u + 1] - ur.indptr[u] >= 2);
  rng.shuffle(eligible);
  const chosen = eligible.slice(0, Math.min(count, eligible.length)).sort((a, b) => a - b);
  const isVal = new Set(chosen);
  const indptr = new Int32Array(chosen.length + 1), idx: number[] = [], val: number[] = [];
  const targets: Int32Array[] = [];
  chosen.forEach((u, r) => {
    const a = ur.indptr[u], n = ur.indptr[u + 1] - a;
    const order = Int32Array.from({ length: n }, (_, t) => t);
    rng.shuffle(order);
    const held = Math.min(n - 1, Math.max(1, Math.round(share * n)));
    const out = new Set(Array.from(order.subarray(0, held)));
    const t: number[] = [];
    for (let p = 0; p < n; p++) {
      if (out.has(p)) t.push(ur.indices[a + p]);
      else { idx.push(ur.indices[a + p]); val.push(ur.data[a + p]); }
    }
    indptr[r + 1] = idx.length;
    targets.push(Int32Array.from(t));
  });
  return {
    validation: { users: Int32Array.from(chosen), foldIn: { rows: chosen.length, cols: ur.cols, indptr, indices: Int32Array.from(idx), data: Float32Array.from(val) }, targets },
    train: Int32Array.from(Array.from(candidates).filter((u) => !isVal.has(u))),
  };
}

/** Mean binary NDCG@k of the lists against their targets. */
export function meanNdcg(lists: Recommendations[], targets: Int32Array[], k: number): number {
  if (lists.length === 0) return NaN;
  let sum = 0;
  lists.forEach((l, r) => {
    const rel = new Set(targets[r]);
    let dcg = 0, idcg = 0;
    for (let p = 0; p < Math.min(k, l.ids.length); p++) if (rel.has(l.ids[p])) dcg += 1 / Math.log2(p + 2);
    for (let p = 0; p < Math.min(k, rel.size); p++) idcg += 1 / Math.log2(p + 2);
    sum += idcg > 0 ? dcg / idcg : 0;
  });
  return sum / lists.length;
}
