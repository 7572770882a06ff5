/**
 * What early stopping of the neural models needs: the validation interactions on the training
 * data's indices, and NDCG@k of one kernel top-k row against a user's held-out items,
 *
 *   NDCG@k = Σ_{n ≤ k, item_n held out} 1/log₂(n + 1)  /  Σ_{n ≤ min(k, R)} 1/log₂(n + 1)
 *
 * (binary relevance, R = the number of held-out items; the eval layer's definition).
 */
import type { Interactions } from '../../data/interactions.js';

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
