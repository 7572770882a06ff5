/**
 * Early stopping for the neural models, scored by NDCG@k (binary relevance, the eval layer's
 * definition):
 *
 *   NDCG@k = Σ_{n ≤ k, item_n held out} 1/log₂(n + 1)  /  Σ_{n ≤ min(k, R)} 1/log₂(n + 1)
 *
 * (R = the number of held-out items). Two protocols: validation interactions given with the fit
 * (SASRec, NeuMF: heldOutSet puts them on the training data's indices), and validation users
 * held out of training as Liang et al. 2018 select their models (Mult-VAE, two-tower): each
 * validation user's items are split at random (seeded) into a fold-in part (80 %) that the model
 * sees and a held-out part (20 %) that it should rank; the metric is the mean NDCG@k of the
 * fold-in rankings, seen items excluded.
 */
import type { Interactions } from '../../data/interactions.js';
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

/**
 * The (user, item) indices of `validation` in `train`'s index space: shared id maps are used as
 * they are, other maps are translated by external id (an id the training data lacks is -1).
 */
export function heldOutSet(validation: Interactions, train: Interactions, model: string): { user: Int32Array; item: Int32Array } {
  const n = validation.user.length;
  if (n === 0) throw new RangeError(`${model}: the validation set is empty`);
  if (validation.users === train.users && validation.items === train.items) return { user: validation.user, item: validation.item };
  const user = new Int32Array(n), item = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const u = validation.users.external(validation.user[t]), i = validation.items.external(validation.item[t]);
    user[t] = train.users.index(u) ?? -1;
    item[t] = train.items.index(i) ?? -1;
  }
  return { user, item };
}

/** NDCG@k of a ranked list (ids < 0: padding, skipped) against the relevant items. */
export function ndcgAt(list: ArrayLike<number>, relevant: Iterable<number>, k: number): number {
  const rel = new Set(relevant);
  let dcg = 0, ideal = 0;
  for (let t = 0; t < Math.min(k, list.length); t++) if (list[t] >= 0 && rel.has(list[t])) dcg += 1 / Math.log2(t + 2);
  for (let t = 0; t < Math.min(k, rel.size); t++) ideal += 1 / Math.log2(t + 2);
  return ideal > 0 ? dcg / ideal : 0;
}

/** Mean binary NDCG@k of the lists against their targets. */
export function meanNdcg(lists: Recommendations[], targets: Int32Array[], k: number): number {
  if (lists.length === 0) return NaN;
  let sum = 0;
  lists.forEach((l, r) => { sum += ndcgAt(l.ids, targets[r], k); });
  return sum / lists.length;
}
