/**
 * NormalPredictor (Surprise's, here 'random'): r̂_ui is drawn from N(μ̂, σ̂²), the maximum-likelihood
 * estimates over the training ratings: μ̂ = Σ r / n, σ̂ = √(Σ (r − μ̂)² / n). Seeded: the same seed
 * and the same sequence of predict() calls give the same estimates. Clipped to the rating range.
 */
import { Rng } from '../../data/random.js';
import type { ModelParams } from '../types.js';
import { readParams, seedSpec } from '../params.js';
import { RatingModel } from './base.js';
import type { Trainset } from '../trainset.js';

export class NormalPredictor extends RatingModel {
  readonly name = 'random';
  readonly options: { seed: number };
  private rng: Rng;
  mean = NaN;
  sigma = NaN;

  constructor(params: ModelParams = {}) {
    super();
    this.options = readParams(this.name, params, { seed: seedSpec });
    this.rng = new Rng(this.options.seed);
  }

  protected fitTrainset(ts: Trainset): void {
    this.rng = new Rng(this.options.seed);
    this.mean = ts.globalMean;
    let s = 0;
    for (let p = 0; p < ts.nRatings; p++) s += (ts.ur.data[p] - ts.globalMean) ** 2;
    this.sigma = Math.sqrt(s / ts.nRatings);
  }

  protected estimate(_u: number, _i: number): number {
    return this.mean + this.sigma * this.rng.normal();
  }
}
