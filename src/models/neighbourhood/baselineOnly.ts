/**
 * BaselineOnly (Surprise): r̂_ui = b_ui = μ + b_u + b_i, the biases fitted by ALS (default) or SGD
 * as in baselines.ts. Unknown user or item: impossible, falling back to μ plus the known biases.
 */
import type { ModelParams } from '../types.js';
import type { Context } from '../../engine/context.js';
import { readParams } from '../params.js';
import { baselineParamTable, computeBaselines, type BaselineOptions, type Baselines } from './baselines.js';
import { RatingModel } from './base.js';
import type { Trainset } from '../trainset.js';

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
    this.trainset();
    return this.bsl!;
  }

  protected fitTrainset(ts: Trainset, ctx: Context): void {
    this.bsl = computeBaselines(ts, this.options, ctx.signal);
  }

  protected estimate(u: number, i: number): number {
    const ts = this.trainset();
    const why = ts.unknownReason(u, i);
    if (why) { this.reason = why; return NaN; }
    return ts.globalMean + this.bsl!.bu[u] + this.bsl!.bi[i];
  }

  protected override fallback(u: number, i: number): number {
    const ts = this.trainset();
    let est = ts.globalMean;
    if (ts.knowsUser(u)) est += this.bsl!.bu[u];
    if (ts.knowsItem(i)) est += this.bsl!.bi[i];
    return est;
  }
}
