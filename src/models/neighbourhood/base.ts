/**
 * Shared behaviour of the rating-prediction models (Surprise's AlgoBase):
 *
 *   predict(u, i): est = estimate(u, i); when the estimate is impossible (unknown user/item, or too
 *   few neighbours for KNNBasic) the model falls back — to the global mean by default — and says so
 *   (impossible = true, reason). The result is clipped to the training rating range.
 *
 *   recommend(u, k): the k candidate items with the highest (unclipped) estimate, best first, ties
 *   by lower item index; candidates are all items, or opts.items, minus the user's training items
 *   when filterSeen (default true).
 */
import type { Interactions } from '../../data/interactions.js';
import { TopKHeap } from '../../kernels/topk.js';
import type { FitOptions, Model, Prediction, RecommendOptions, Recommendations } from '../types.js';
import { buildTrainSet, type TrainSet } from './trainset.js';

export abstract class RatingModel implements Model {
  abstract readonly name: string;
  readonly predictsRatings: boolean = true;
  protected ts: TrainSet | null = null;
  /** set by estimate() when it returns NaN */
  protected reason = '';

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    const ts = buildTrainSet(train, this.name);
    this.fitTrainSet(ts, opts);
    this.ts = ts;
  }

  /** Fit on a prepared training view (synchronous: these models are cheap or kernel-bound). */
  protected abstract fitTrainSet(ts: TrainSet, opts: FitOptions): void;

  /** The raw estimate, or NaN with this.reason set when impossible. */
  protected abstract estimate(u: number, i: number): number;

  /** What an impossible prediction falls back to (Surprise's default_prediction: the global mean). */
  protected fallback(_u: number, _i: number): number {
    return this.trainSet().globalMean;
  }

  protected trainSet(): TrainSet {
    if (!this.ts) throw new Error(`${this.name}: the model is not fitted; call fit() first`);
    return this.ts;
  }

  predict(user: number, item: number): Prediction {
    const ts = this.trainSet();
    this.reason = '';
    let est = this.estimate(user, item);
    let impossible = false;
    if (est !== est) {
      impossible = true;
      est = this.fallback(user, item);
    }
    if (est < ts.ratingMin) est = ts.ratingMin;
    else if (est > ts.ratingMax) est = ts.ratingMax;
    return impossible ? { estimate: est, impossible, reason: this.reason || 'prediction impossible' } : { estimate: est, impossible };
  }

  /** Unclipped estimate with fallback, for ranking. */
  protected rankingScore(u: number, i: number): number {
    const e = this.estimate(u, i);
    return e === e ? e : this.fallback(u, i);
  }

  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const ts = this.trainSet();
    return topCandidates(ts, user, k, opts, (i) => this.rankingScore(user, i));
  }
}

/** Top-k of score(i) over the candidate items (see RatingModel.recommend). */
export function topCandidates(ts: TrainSet, user: number, k: number, opts: RecommendOptions, score: (i: number) => number): Recommendations {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`recommend: k must be a positive integer, got ${k}`);
  const filterSeen = opts.filterSeen ?? true;
  const seen = new Uint8Array(ts.nItems);
  if (filterSeen && user >= 0 && user < ts.nUsers) for (let p = ts.ur.indptr[user]; p < ts.ur.indptr[user + 1]; p++) seen[ts.ur.indices[p]] = 1;
  const heap = new TopKHeap(k);
  const visit = (i: number): void => {
    if (!(i >= 0 && i < ts.nItems)) throw new RangeError(`recommend: item index ${i} out of range [0, ${ts.nItems})`);
    if (seen[i]) return;
    seen[i] = 1; // also de-duplicates opts.items
    heap.push(i, score(i));
  };
  if (opts.items) for (let t = 0; t < opts.items.length; t++) visit(opts.items[t]);
  else for (let i = 0; i < ts.nItems; i++) visit(i);
  return drain(heap);
}

/** Empty a TopKHeap into a right-sized Recommendations. */
export function drain(heap: TopKHeap): Recommendations {
  const ids = new Int32Array(heap.k), scores = new Float32Array(heap.k);
  heap.drainInto(ids, scores, 0);
  let n = 0;
  while (n < heap.k && ids[n] !== -1) n++;
  return { ids: ids.slice(0, n), scores: scores.slice(0, n) };
}
