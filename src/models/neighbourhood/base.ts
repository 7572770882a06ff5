/**
 * Shared behaviour of the rating-prediction models (Surprise's AlgoBase):
 *
 *   predict(u, i): est = estimate(u, i); when the estimate is impossible (unknown user/item, or too
 *   few neighbours for KNNBasic) the model falls back — to the global mean by default — and says so
 *   (impossible = true, reason). The result is clipped to the training rating range.
 *
 *   recommend(u, k): the k candidate items with the highest (unclipped) estimate (ranking.ts:
 *   candidates, ties, filterSeen).
 */
import type { Interactions } from '../../data/interactions.js';
import type { Context } from '../../engine/context.js';
import { resolveContext } from '../../engine/context.js';
import { ModelBase } from '../base.js';
import { candidateMask, checkK, topKOf } from '../ranking.js';
import { Trainset } from '../trainset.js';
import type { FitOptions, Prediction, RecommendOptions, Recommendations } from '../types.js';

export abstract class RatingModel extends ModelBase {
  readonly predictsRatings: boolean = true;
  /** set by estimate() when it returns NaN */
  protected reason = '';

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    const ts = Trainset.of(train, this.name);
    await this.fitTrainset(ts, { ...resolveContext(opts), onEpoch: opts.onEpoch });
    this.ts = ts;
  }

  /** Fit on the training view; heavy kernels run on the context's engine. */
  protected abstract fitTrainset(ts: Trainset, ctx: Context & Pick<FitOptions, 'onEpoch'>): void | Promise<void>;

  /** The raw estimate, or NaN with this.reason set when impossible. */
  protected abstract estimate(u: number, i: number): number;

  /** What an impossible prediction falls back to (Surprise's default_prediction: the global mean). */
  protected fallback(_u: number, _i: number): number {
    return this.trainset().globalMean;
  }

  predict(user: number, item: number): Prediction {
    const ts = this.trainset('predict()');
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
    const ts = this.trainset('recommend()');
    checkK(this.name, k);
    const mask = candidateMask(this.name, ts.nItems, ts.userItems(user), opts);
    return topKOf(k, (i) => this.rankingScore(user, i), mask);
  }
}
