/**
 * BaselineOnly (Surprise): r̂_ui = b_ui = μ + b_u + b_i, the biases fitted by ALS (default) or SGD
 * as in baselines.ts. Unknown user or item: impossible, falling back to μ plus the known biases.
 */
import type { FitOptions, ModelParams } from '../types.js';
import { readParams } from '../factorization/params.js';
import { baselineParamTable, computeBaselines, type BaselineOptions, type Baselines } from './baselines.js';
import { RatingModel } from './base.js';
import { knowsItem, knowsUser, unknownReason, type TrainSet } from './trainset.js';

export class BaselineOnly extends RatingModel {
  readonly name = 'baseline';
  readonly options: BaselineOptions;
  private bsl: Baselines | null = null;

  constructor(params: ModelParams = {}) {
    super();
    this.options = readParams<BaselineOptions>(this.name, params, baselineParamTable);
  }

  /** The fitted biases (b_u by user index, b_i by item index). */
  get biases(): Baselines {
    this.trainSet();
    return this.bsl!;
  }

  protected fitTrainSet(ts: TrainSet, opts: FitOptions): void {
    this.bsl = computeBaselines(ts, this.options, opts.signal);
  }

  protected estimate(u: number, i: number): number {
    const ts = this.trainSet();
    const why = unknownReason(ts, u, i);
    if (why) { this.reason = why; return NaN; }
    return ts.globalMean + this.bsl!.bu[u] + this.bsl!.bi[i];
  }

  protected override fallback(u: number, i: number): number {
    const ts = this.trainSet();
    let est = ts.globalMean;
    if (knowsUser(ts, u)) est += this.bsl!.bu[u];
    if (knowsItem(ts, i)) est += this.bsl!.bi[i];
    return est;
  }
}
