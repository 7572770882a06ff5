/**
 * CoClustering (Surprise's, George & Merugu 2005). Users are put in n_cltr_u clusters and items in
 * n_cltr_i clusters (random, seeded, initial assignment), and
 *
 *   r̂_ui = C̄_{c(u) c(i)} + (μ_u − C̄u_{c(u)}) + (μ_i − C̄i_{c(i)})
 *
 * with C̄ the mean rating of a co-cluster, C̄u / C̄i the mean rating of a user / item cluster (μ when
 * empty) and μ_u, μ_i the user / item means. Each of n_epochs epochs recomputes the averages, then
 * moves every user to the cluster minimizing the squared error of its ratings, then every item
 * likewise (with the averages of the epoch's start, as Surprise); the averages are recomputed once
 * more at the end. Unknown user or item: impossible, falling back to μ.
 */
import { Rng } from '../../data/random.js';
import type { ModelParams } from '../types.js';
import type { Context } from '../../engine/context.js';
import { readParams, seedSpec, type ParamTable } from '../params.js';
import { RatingModel } from './base.js';
import { rowMeans, type Trainset } from '../trainset.js';

interface Options { nCltrU: number; nCltrI: number; nEpochs: number; seed: number }
const table: ParamTable = {
  nCltrU: { names: ['n_cltr_u'], type: 'int', def: 3, min: 1, must: 'must be a positive integer' },
  nCltrI: { names: ['n_cltr_i'], type: 'int', def: 3, min: 1, must: 'must be a positive integer' },
  nEpochs: { names: ['n_epochs'], type: 'int', def: 20, min: 0, must: 'must be a non-negative integer' },
  seed: seedSpec,
};

interface Averages { user: Float64Array; item: Float64Array; co: Float64Array }

export class CoClustering extends RatingModel {
  readonly name = 'co-clustering';
  readonly options: Options;
  private cltrU: Int32Array = new Int32Array(0);
  private cltrI: Int32Array = new Int32Array(0);
  private userMean: Float64Array = new Float64Array(0);
  private itemMean: Float64Array = new Float64Array(0);
  private avg: Averages | null = null;

  constructor(params: ModelParams = {}) {
    super();
    this.options = readParams<Options>(this.name, params, table);
  }

  protected fitTrainset(ts: Trainset, ctx: Context): void {
    const { nCltrU: cu, nCltrI: ci, nEpochs } = this.options;
    const rng = new Rng(this.options.seed);
    const cltrU = new Int32Array(ts.nUsers), cltrI = new Int32Array(ts.nItems);
    for (let u = 0; u < ts.nUsers; u++) cltrU[u] = rng.int(cu);
    for (let i = 0; i < ts.nItems; i++) cltrI[i] = rng.int(ci);
    const userMean = rowMeans(ts.ur), itemMean = rowMeans(ts.ir);
    const { ur, ir } = ts;
    const errors = new Float64Array(Math.max(cu, ci));
    for (let e = 0; e < nEpochs; e++) {
      ctx.signal?.throwIfAborted();
      const avg = this.averages(ts, cltrU, cltrI);
      for (let u = 0; u < ts.nUsers; u++) {
        const a = ur.indptr[u], b = ur.indptr[u + 1];
        if (a === b) continue;
        for (let uc = 0; uc < cu; uc++) {
          let err = 0;
          for (let p = a; p < b; p++) {
            const i = ur.indices[p], ic = cltrI[i];
            const est = avg.co[uc * ci + ic] + userMean[u] - avg.user[uc] + itemMean[i] - avg.item[ic];
            err += (ur.data[p] - est) ** 2;
          }
          errors[uc] = err;
        }
        cltrU[u] = argmin(errors, cu);
      }
      for (let i = 0; i < ts.nItems; i++) {
        const a = ir.indptr[i], b = ir.indptr[i + 1];
        if (a === b) continue;
        for (let ic = 0; ic < ci; ic++) {
          let err = 0;
          for (let p = a; p < b; p++) {
            const u = ir.indices[p], uc = cltrU[u];
            const est = avg.co[uc * ci + ic] + userMean[u] - avg.user[uc] + itemMean[i] - avg.item[ic];
            err += (ir.data[p] - est) ** 2;
          }
          errors[ic] = err;
        }
        cltrI[i] = argmin(errors, ci);
      }
    }
    this.avg = this.averages(ts, cltrU, cltrI);
    this.cltrU = cltrU; this.cltrI = cltrI; this.userMean = userMean; this.itemMean = itemMean;
  }

  private averages(ts: Trainset, cltrU: Int32Array, cltrI: Int32Array): Averages {
    const { nCltrU: cu, nCltrI: ci } = this.options;
    const cntU = new Float64Array(cu), cntI = new Float64Array(ci), cntC = new Float64Array(cu * ci);
    const sumU = new Float64Array(cu), sumI = new Float64Array(ci), sumC = new Float64Array(cu * ci);
    const { ur } = ts;
    for (let u = 0; u < ts.nUsers; u++) {
      const uc = cltrU[u];
      for (let p = ur.indptr[u], pe = ur.indptr[u + 1]; p < pe; p++) {
        const ic = cltrI[ur.indices[p]], r = ur.data[p];
        cntU[uc]++; cntI[ic]++; cntC[uc * ci + ic]++;
        sumU[uc] += r; sumI[ic] += r; sumC[uc * ci + ic] += r;
      }
    }
    const mu = ts.globalMean;
    const div = (s: Float64Array, c: Float64Array) => s.map((v, t) => (c[t] > 0 ? v / c[t] : mu));
    return { user: div(sumU, cntU), item: div(sumI, cntI), co: div(sumC, cntC) };
  }

  /** Cluster of each user and item (index order). */
  get clusters(): { users: Int32Array; items: Int32Array } {
    this.trainset();
    return { users: this.cltrU, items: this.cltrI };
  }

  protected estimate(u: number, i: number): number {
    const ts = this.trainset();
    const why = ts.unknownReason(u, i);
    if (why) { this.reason = why; return NaN; }
    const avg = this.avg!, uc = this.cltrU[u], ic = this.cltrI[i];
    return avg.co[uc * this.options.nCltrI + ic] + this.userMean[u] - avg.user[uc] + this.itemMean[i] - avg.item[ic];
  }
}

/** First index of the smallest of a[0..n) (numpy's argmin). */
function argmin(a: Float64Array, n: number): number {
  let best = 0;
  for (let t = 1; t < n; t++) if (a[t] < a[best]) best = t;
  return best;
}
