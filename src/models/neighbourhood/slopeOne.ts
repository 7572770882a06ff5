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
 * Storage: the deviations of co-rated pairs only, as one sparse row per item (CSR: the items j
 * co-rated with i, sorted, with |U_ij| and dev(i, j)), so memory grows with the co-rated pairs,
 * not with items²; ML-latest-small's 9,724 items fit. Built row by row (for each item, its users'
 * items, accumulated in one dense row of scratch), in two passes: count the pairs, then fill.
 * Sums are float64 in user order, deviations stored as float32.
 */
import type { ModelParams } from '../types.js';
import type { Context } from '../../engine/context.js';
import { readParams, type ParamTable } from '../params.js';
import { RatingModel } from './base.js';
import { rowMeans, type Trainset } from '../trainset.js';

const table: ParamTable = {
  weighted: { names: [], type: 'bool', def: false },
};
/** Co-rated pairs are indexed by int32 (the row pointers). */
const MAX_PAIRS = 2 ** 31 - 1;

/** Deviations of the co-rated item pairs: row i lists the items j with |U_ij| > 0 (sorted). */
interface Deviations {
  indptr: Int32Array;
  /** co-rated item j */
  items: Int32Array;
  /** |U_ij| */
  freq: Int32Array;
  /** dev(i, j) */
  dev: Float32Array;
}

export class SlopeOne extends RatingModel {
  readonly name = 'slope-one';
  readonly options: { weighted: boolean };
  private devs: Deviations = { indptr: new Int32Array(1), items: new Int32Array(0), freq: new Int32Array(0), dev: new Float32Array(0) };
  private userMean: Float64Array = new Float64Array(0);

  constructor(params: ModelParams = {}) {
    super();
    this.options = readParams(this.name, params, table);
  }

  /** Co-rated pairs stored (both orders, and (i, i) for every rated item). */
  get pairs(): number {
    return this.devs.indptr[this.devs.indptr.length - 1];
  }

  protected fitTrainset(ts: Trainset, ctx: Context): void {
    const n = ts.nItems;
    const { ur, ir } = ts;
    const mark = new Int32Array(n).fill(-1);
    // pass 1: how many items each item is co-rated with
    const indptr = new Int32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 63) === 0) ctx.signal?.throwIfAborted();
      let count = 0;
      for (let p = ir.indptr[i], pe = ir.indptr[i + 1]; p < pe; p++) {
        const u = ir.indices[p];
        for (let q = ur.indptr[u], qe = ur.indptr[u + 1]; q < qe; q++) {
          const j = ur.indices[q];
          if (mark[j] !== i) { mark[j] = i; count++; }
        }
      }
      total += count;
      if (total > MAX_PAIRS) throw new RangeError(`${this.name}: more than ${MAX_PAIRS} co-rated item pairs; the data is too large for slope-one`);
      indptr[i + 1] = total;
    }
    // pass 2: Σ (r_ui − r_uj) and |U_ij| over the users of i, in user order, one dense scratch row
    const items = new Int32Array(total), freq = new Int32Array(total), dev = new Float32Array(total);
    const sum = new Float64Array(n), count = new Int32Array(n);
    mark.fill(-1);
    for (let i = 0; i < n; i++) {
      if ((i & 63) === 0) ctx.signal?.throwIfAborted();
      const start = indptr[i];
      let m = 0;
      for (let p = ir.indptr[i], pe = ir.indptr[i + 1]; p < pe; p++) {
        const u = ir.indices[p], ri = ir.data[p];
        for (let q = ur.indptr[u], qe = ur.indptr[u + 1]; q < qe; q++) {
          const j = ur.indices[q];
          if (mark[j] !== i) { mark[j] = i; items[start + m++] = j; sum[j] = 0; count[j] = 0; }
          sum[j] += ri - ur.data[q];
          count[j]++;
        }
      }
      const row = items.subarray(start, start + m).sort();
      for (let t = 0; t < m; t++) {
        const j = row[t];
        freq[start + t] = count[j];
        dev[start + t] = j === i ? 0 : sum[j] / count[j];
      }
    }
    this.devs = { indptr, items, freq, dev };
    this.userMean = rowMeans(ur);
  }

  protected estimate(u: number, i: number): number {
    const ts = this.trainset();
    const why = ts.unknownReason(u, i);
    if (why) { this.reason = why; return NaN; }
    const { ur } = ts;
    const { indptr, items, freq, dev } = this.devs;
    const weighted = this.options.weighted;
    const rowStart = indptr[i], rowEnd = indptr[i + 1];
    let count = 0, s = 0, w = 0;
    // u's items and i's co-rated items are both sorted: a merge finds the co-rated ones
    let t = rowStart;
    for (let p = ur.indptr[u], pe = ur.indptr[u + 1]; p < pe && t < rowEnd; p++) {
      const j = ur.indices[p];
      while (t < rowEnd && items[t] < j) t++;
      if (t === rowEnd || items[t] !== j) continue;
      count++;
      if (weighted) { s += (dev[t] + ur.data[p]) * freq[t]; w += freq[t]; }
      else s += dev[t];
    }
    if (count === 0) return this.userMean[u];
    return this.options.weighted ? s / w : this.userMean[u] + s / count;
  }
}
