/**
 * Popularity: recommend the items with the most (optionally time-decayed) interactions.
 *
 *   score(i) = Σ_{training interactions p of item i} w_p · exp(−λ · (t_max − t_p))
 *
 * w_p = 1 (weighting 'count', default: "most interacted") or the rating/weight (weighting
 * 'rating'); λ = `decay` (per timestamp unit, default 0 = no decay), or ln 2 / `half_life`;
 * t_max is the latest training timestamp. A decay needs timestamps: without them fit() throws.
 *
 * The score is the same for every user, so it works for users with no history (cold start);
 * recommend() drops the user's training items (filterSeen, default true). Items without
 * training interactions score 0 and predict() marks them impossible ('item unknown').
 * predict().estimate is the popularity score, not a rating (predictsRatings = false).
 *
 * Params: decay|lambda (≥ 0), half_life|halfLife (> 0; exclusive with decay), weighting (count|rating).
 */
import type { Interactions } from '../../data/interactions.js';
import type { FitOptions, ModelParams, Prediction, Recommendations, RecommendOptions } from '../types.js';
import { ModelBase } from '../base.js';
import { readParams } from '../params.js';
import { candidateMask, checkIndex, checkK, topKOf } from '../ranking.js';
import { Trainset } from '../trainset.js';

export interface PopularityParams {
  decay: number;
  halfLife?: number;
  weighting: 'count' | 'rating';
}

export class Popularity extends ModelBase {
  readonly name = 'popularity';
  readonly predictsRatings = false;
  readonly params: PopularityParams;
  private scores: Float64Array | null = null;
  private counts: Int32Array | null = null;

  constructor(params: ModelParams | Partial<PopularityParams> = {}) {
    super();
    const p = readParams<PopularityParams>('popularity', params as Record<string, unknown>, {
      decay: { names: ['lambda'], type: 'number', min: 0, must: 'must be ≥ 0' },
      halfLife: { names: ['half_life'], type: 'number', above: 0, must: 'must be > 0' },
      weighting: { names: [], type: 'enum', def: 'count', choices: ['count', 'rating'] },
    });
    if (p.decay !== undefined && p.halfLife !== undefined) throw new RangeError('popularity: give decay or half_life, not both');
    this.params = { decay: p.halfLife !== undefined ? Math.LN2 / p.halfLife : p.decay ?? 0, halfLife: p.halfLife, weighting: p.weighting };
  }

  async fit(train: Interactions, _opts: FitOptions = {}): Promise<void> {
    const n = train.user.length;
    const lambda = this.params.decay;
    if (lambda > 0 && !train.timestamp) throw new RangeError('popularity: time decay (decay/half_life) needs timestamps, but the training data has none');
    let tMax = -Infinity;
    if (lambda > 0) for (let p = 0; p < n; p++) if (train.timestamp![p] > tMax) tMax = train.timestamp![p];
    const scores = new Float64Array(train.items.size);
    const counts = new Int32Array(train.items.size);
    const byRating = this.params.weighting === 'rating';
    for (let p = 0; p < n; p++) {
      const i = train.item[p];
      let w = byRating ? train.rating[p] : 1;
      if (lambda > 0) w *= Math.exp(-lambda * (tMax - train.timestamp![p]));
      scores[i] += w;
      counts[i]++;
    }
    this.scores = scores;
    this.counts = counts;
    this.ts = Trainset.of(train, this.name);
  }

  private fitted(what: string): { scores: Float64Array; counts: Int32Array; ts: Trainset } {
    const ts = this.trainset(what);
    return { scores: this.scores!, counts: this.counts!, ts };
  }

  /** The popularity score of every item (index = item). */
  itemScores(): Float64Array {
    return this.fitted('itemScores()').scores;
  }

  predict(user: number, item: number): Prediction {
    const { scores, counts, ts } = this.fitted('predict()');
    checkIndex(this.name, 'user', user, ts.users.size);
    checkIndex(this.name, 'item', item, scores.length);
    if (counts[item] === 0) return { estimate: 0, impossible: true, reason: 'item unknown' };
    return { estimate: scores[item], impossible: false };
  }

  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const { scores, ts } = this.fitted('recommend()');
    checkK(this.name, k);
    checkIndex(this.name, 'user', user, ts.users.size);
    const mask = candidateMask(this.name, scores.length, ts.userItems(user), opts);
    return topKOf(k, (i) => scores[i], mask);
  }
}

