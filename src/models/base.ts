/**
 * What every model shares: its name, the training view of its last fit (one Trainset, built
 * by fit), and the check that it is fitted. Families add their own scoring on top:
 * neighbourhood/base.ts (rating predictors), factorization/base.ts (factor models),
 * and the content models.
 */
import type { FitOptions, Model, Prediction, RecommendOptions, Recommendations } from './types.js';
import type { Interactions } from '../data/interactions.js';
import type { Trainset } from './trainset.js';

export abstract class ModelBase implements Model {
  abstract readonly name: string;
  abstract readonly predictsRatings: boolean;
  /** the training view of the last successful fit */
  protected ts: Trainset | null = null;

  abstract fit(train: Interactions, opts?: FitOptions): Promise<void>;
  abstract predict(user: number, item: number): Prediction;
  abstract recommend(user: number, k: number, opts?: RecommendOptions): Recommendations;

  /** The training view; `what` (e.g. 'recommend()') names the call made too early. */
  protected trainset(what = 'this call'): Trainset {
    if (!this.ts) throw new Error(`${this.name}: ${what} before fit() (the model is not fitted)`);
    return this.ts;
  }
}
