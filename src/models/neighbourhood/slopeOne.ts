/**
 * SlopeOne (Surprise's, Lemire & Maclachlan 2005):
 *
 *   dev(i, j) = Σ_{u ∈ U_ij} (r_ui − r_uj) / |U_ij|          U_ij: users who rated both i and j
 *   R_i(u)    = { j ∈ I_u : |U_ij| > 0 }
 *   r̂_ui     = μ_u + Σ_{j ∈ R_i(u)} dev(i, j) / |R_i(u)|     (μ_u alone when R_i(u) is empty)
 *
 * That is Surprise's formula (an unweighted mean of the deviations). With weighted=true it is the
 * weighted Slope One of the paper instead: r̂_ui = Σ_j (dev(i,j) + r_uj)·|U_ij| / Σ_j |U_ij|
 * (μ_u when R_i(u) is empty). Unknown user or item: impossible, falling back to μ.
 * Memory: two items × items arrays, so at most 8192 items.
 */
import type { ModelParams } from '../types.js';
import type { Context } from '../../engine/context.js';
import { readParams, type ParamTable } from '../params.js';
import { RatingModel } from './base.js';
import { rowMeans, type Trainset } from '../trainset.js';

const table: ParamTable = {
  weighted: { names: [], type: 'bool', def: false },
};
const MAX_ITEMS = 8192;

export class SlopeOne extends RatingModel {
  readonly name = 'slope-one';
  readonly options: { weighted: boolean };
  private freq = new Int32Array(0);
  /** mean deviation dev(i, j) */
  private dev = new Float32Array(0);
  private userMean: Float64Array = new Float64Array(0);

  constructor(params: ModelParams = {}) {
    super();
    this.options = readParams(this.name, params, table);
  }

  protected fitTrainset(ts: Trainset, ctx: Context): void {
    const n = ts.nItems;
    if (n > MAX_ITEMS) throw new RangeError(`${this.name}: ${n} items would need two ${n}×${n} arrays; at most ${MAX_ITEMS} items are supported`);
    const freq = new Int32Array(n * n);
    const sum = new Float64Array(n * n);
    const { ur } = ts;
    for (let u = 0; u < ts.nUsers; u++) {
      if ((u & 255) === 0) ctx.signal?.throwIfAborted();
      const a = ur.indptr[u], b = ur.indptr[u + 1];
      for (let p = a; p < b; p++) {
        const i = ur.indices[p], ri = ur.data[p], o = i * n;
        for (let q = a; q < b; q++) {
          freq[o + ur.indices[q]]++;
          sum[o + ur.indices[q]] += ri - ur.data[q];
        }
      }
    }
    const dev = new Float32Array(n * n);
    for (let t = 0; t < n * n; t++) if (freq[t] > 0) dev[t] = sum[t] / freq[t];
    for (let i = 0; i < n; i++) dev[i * n + i] = 0;
    this.freq = freq;
    this.dev = dev;
    this.userMean = rowMeans(ur);
  }

  protected estimate(u: number, i: number): number {
    const ts = this.trainset();
    const why = ts.unknownReason(u, i);
    if (why) { this.reason = why; return NaN; }
    const { ur, nItems: n } = ts;
    const o = i * n;
    let count = 0, s = 0, w = 0;
    for (let p = ur.indptr[u], pe = ur.indptr[u + 1]; p < pe; p++) {
      const j = ur.indices[p];
      const f = this.freq[o + j];
      if (f > 0) {
        count++;
        if (this.options.weighted) { s += (this.dev[o + j] + ur.data[p]) * f; w += f; }
        else s += this.dev[o + j];
      }
    }
    if (count === 0) return this.userMean[u];
    return this.options.weighted ? s / w : this.userMean[u] + s / count;
  }
}
