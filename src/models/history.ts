/**
 * Models that rank items for a user described only by a history of items — a user the model was
 * not fitted on — without changing the model: EASE (scores = x·B) and Mult-VAE (the history
 * through the encoder's mean and the decoder). This is the "fold-in" of Liang et al. 2018's
 * held-out-users protocol (strong generalization): the model is fitted on the training users
 * only, and each held-out user's fold-in items are handed to it at ranking time.
 *
 * A history is a list of item indices (the model's, i.e. the training data's id maps) with
 * optional values (ratings or counts; default 1). Item indices outside the model's catalogue are
 * ignored; an item listed twice is one entry with the values summed, as in training. With `filterSeen` (default true) the history's items are not recommended.
 */
import { csrFromTriplets, type Csr } from '../data/matrix.js';
import type { RecommendOptions, Recommendations } from './types.js';

export interface History {
  items: ArrayLike<number>;
  /** one per item; default 1 each */
  values?: ArrayLike<number>;
}

export interface HistoryRecommender {
  /** The top k for one history, on the calling thread (engine.runSync, like recommend()). */
  recommendForHistory(history: History, k: number, opts?: RecommendOptions): Recommendations;
  /**
   * recommendForHistory for every row of `histories` (rows × the model's items), through the
   * engine with the context of opts; result t equals recommendForHistory(row t).
   */
  recommendForHistoryBatch(histories: Csr, k: number, opts?: RecommendOptions): Promise<Recommendations[]>;
}

export function recommendsForHistory(m: unknown): m is HistoryRecommender {
  return typeof m === 'object' && m !== null
    && typeof (m as Partial<HistoryRecommender>).recommendForHistory === 'function'
    && typeof (m as Partial<HistoryRecommender>).recommendForHistoryBatch === 'function';
}

/**
 * The histories as one Csr (rows × nItems), values default 1, items outside [0, nItems) dropped,
 * columns sorted, and an item repeated in a history merged into one entry whose value is the sum
 * (csrFromTriplets, as Trainset merges repeated training pairs; a binary model reads any value as
 * 1), so a history scores as a training user with the same items.
 */
export function historiesToCsr(histories: readonly History[], nItems: number): Csr {
  const rows: number[] = [], cols: number[] = [], vals: number[] = [];
  histories.forEach((h, r) => {
    for (let t = 0; t < h.items.length; t++) {
      const i = h.items[t];
      if (Number.isInteger(i) && i >= 0 && i < nItems) { rows.push(r); cols.push(i); vals.push(h.values ? h.values[t] : 1); }
    }
  });
  return csrFromTriplets(histories.length, nItems, rows, cols, Float32Array.from(vals));
}
