/**
 * Models that rank items for a user described only by a history of items — a user the model was
 * not fitted on — without changing the model: EASE (scores = x·B) and Mult-VAE (the history
 * through the encoder's mean and the decoder). This is the "fold-in" of Liang et al. 2018's
 * held-out-users protocol (strong generalization): the model is fitted on the training users
 * only, and each held-out user's fold-in items are handed to it at ranking time.
 *
 * A history is a list of item indices (the model's, i.e. the training data's id maps) with
 * optional values (ratings or counts; default 1). Item indices outside the model's catalogue are
 * ignored. With `filterSeen` (default true) the history's items are not recommended.
 */
import type { Csr } from '../data/matrix.js';
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

/** The histories as one Csr (rows × nItems), values default 1, items outside [0, nItems) dropped, columns sorted. */
export function historiesToCsr(histories: readonly History[], nItems: number): Csr {
  const rows = histories.length;
  const indptr = new Int32Array(rows + 1);
  const cols: number[] = [], vals: number[] = [];
  histories.forEach((h, r) => {
    const pairs: Array<[number, number]> = [];
    for (let t = 0; t < h.items.length; t++) {
      const i = h.items[t];
      if (Number.isInteger(i) && i >= 0 && i < nItems) pairs.push([i, h.values ? h.values[t] : 1]);
    }
    pairs.sort((a, b) => a[0] - b[0]);
    for (const [i, v] of pairs) { cols.push(i); vals.push(v); }
    indptr[r + 1] = cols.length;
  });
  return { rows, cols: nItems, indptr, indices: Int32Array.from(cols), data: Float32Array.from(vals) };
}
