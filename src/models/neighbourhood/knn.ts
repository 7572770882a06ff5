/**
 * Surprise's k-NN rating predictors (knns.py), user-based (x = user, y = item) or item-based
 * (x = item, y = user). N^k_y(x) is the k entities x' with the highest sim(x, x') among those that
 * rated y (ties: lower index first); only neighbours with sim > 0 contribute, and actual_k counts them.
 *
 *   KNNBasic      r̂ = Σ sim(x,x')·r_x'y / Σ sim(x,x')
 *                 actual_k < min_k → impossible ('not enough neighbours'), falls back to μ
 *   KNNWithMeans  r̂ = μ_x + Σ sim(x,x')·(r_x'y − μ_x') / Σ sim(x,x')
 *   KNNWithZScore r̂ = μ_x + σ_x · Σ sim(x,x')·(r_x'y − μ_x')/σ_x' / Σ sim(x,x')
 *                 σ = population std of the entity's ratings; a σ of 0 is replaced by the std of all ratings
 *   KNNBaseline   r̂ = b_xy + Σ sim(x,x')·(r_x'y − b_x'y) / Σ sim(x,x'),  b_xy = μ + b_x + b_y (baselines.ts)
 *
 * For the last three, actual_k < min_k drops the neighbour term (r̂ = μ_x or b_xy), as Surprise.
 * Unknown user or item: impossible, falling back to μ (KNNBaseline: to μ + the known biases).
 *
 * The similarity is the full x × x matrix of the sparseSimilarityTopK kernel's metrics (the
 * kernel with k = 'all' through the engine, scattered into a dense matrix), computed once in fit — fine for ML-100k/1M sizes; an x side above
 * 16384 entities is refused with advice (use the other orientation, or item-knn/user-knn).
 * Metric names are affinity's: Surprise's 'cosine' (over co-rated entries) is 'cosine-common' here;
 * Surprise spellings with '_' (pearson_baseline) are accepted.
 */
import { denseFrom, type Dense, type TopK } from '../../data/matrix.js';
import type { Context } from '../../engine/context.js';
import { SIMILARITY_METRICS, type SimilarityMetric } from '../../kernels/sparseSimilarityTopK.js';
import { TopKHeap } from '../../kernels/topk.js';
import type { ModelParams, Recommendations } from '../types.js';
import { readParams, type ParamTable } from '../params.js';
import { checkIndex, checkK, topKOf } from '../ranking.js';
import { baselineParamTable, computeBaselines, similarityBaselines, type BaselineOptions, type Baselines } from './baselines.js';
import { RatingModel } from './base.js';
import { rowMeans, rowStds, type Trainset } from '../trainset.js';

export type KnnVariant = 'basic' | 'means' | 'zscore' | 'baseline';

export interface KnnOptions extends BaselineOptions {
  k: number;
  minK: number;
  sim: SimilarityMetric;
  userBased: boolean;
  shrinkage?: number;
  minSupport?: number;
}

const METRIC_CHOICES = [...SIMILARITY_METRICS, ...SIMILARITY_METRICS.filter((m) => m.includes('-')).map((m) => m.replace(/-/g, '_'))];

const knnParamTable: ParamTable = {
  k: { names: [], type: 'int', def: 40, min: 1, must: 'must be a positive integer' },
  minK: { names: ['min_k'], type: 'int', def: 1, min: 0, must: 'must be a non-negative integer' },
  sim: { names: ['name', 'similarity', 'metric'], type: 'enum', def: 'msd', choices: METRIC_CHOICES },
  userBased: { names: ['user_based'], type: 'bool', def: true },
  shrinkage: { names: [], type: 'number', min: 0, must: 'must be ≥ 0' },
  minSupport: { names: ['min_support'], type: 'int', min: 0, must: 'must be a non-negative integer' },
  ...baselineParamTable,
};

const MAX_DENSE_SIDE = 16384;

const NAMES: Record<KnnVariant, string> = { basic: 'knn-basic', means: 'knn-means', zscore: 'knn-zscore', baseline: 'knn-baseline' };

export class KnnModel extends RatingModel {
  readonly name: string;
  readonly options: KnnOptions;
  private sim: Dense | null = null;
  private bsl: Baselines | null = null;
  private means: Float64Array | null = null;
  private sigmas: Float64Array | null = null;
  // scratch for neighbour selection
  private candPos = new Int32Array(0);
  private candSim = new Float64Array(0);
  private heap: TopKHeap;
  private heapIds: Int32Array;
  private heapScores: Float32Array;

  constructor(readonly variant: KnnVariant, params: ModelParams = {}) {
    super();
    this.name = NAMES[variant];
    const o = readParams<KnnOptions>(this.name, params, knnParamTable);
    o.sim = o.sim.replace(/_/g, '-') as SimilarityMetric;
    this.options = o;
    this.heap = new TopKHeap(0);
    this.heapIds = new Int32Array(0);
    this.heapScores = new Float32Array(0);
  }

  protected async fitTrainset(ts: Trainset, ctx: Context): Promise<void> {
    const o = this.options;
    const X = o.userBased ? ts.ur : ts.ir;
    const Y = o.userBased ? ts.ir : ts.ur;
    if (X.rows > MAX_DENSE_SIDE) {
      throw new RangeError(`${this.name}: ${X.rows} ${o.userBased ? 'users' : 'items'} would need a ${X.rows}×${X.rows} similarity matrix; use user_based=${!o.userBased} or the item-knn/user-knn models`);
    }
    const needBaselines = this.variant === 'baseline' || o.sim === 'pearson-baseline';
    this.bsl = needBaselines ? computeBaselines(ts, o, ctx.signal) : null;
    ctx.signal?.throwIfAborted();
    const all = await ctx.engine.run('sparseSimilarityTopK', {
      matrix: X, metric: o.sim, k: 'all', shrinkage: o.shrinkage, minSupport: o.minSupport,
      baselines: this.bsl ? similarityBaselines(ts, this.bsl, o.userBased) : undefined,
    }, { backend: ctx.backend, signal: ctx.signal }) as TopK;
    this.sim = scatter(all);
    // at most every other entity is a neighbour: k = 1e9 must not size the scratch
    const k = Math.min(o.k, X.rows);
    this.heap = new TopKHeap(k);
    this.heapIds = new Int32Array(k);
    this.heapScores = new Float32Array(k);
    if (this.variant === 'means' || this.variant === 'zscore') this.means = rowMeans(X);
    if (this.variant === 'zscore') {
      const sigmas = rowStds(X, this.means!);
      let s = 0;
      for (let p = 0; p < ts.nRatings; p++) s += (ts.ur.data[p] - ts.globalMean) ** 2;
      const overall = Math.sqrt(s / ts.nRatings);
      for (let x = 0; x < sigmas.length; x++) if (sigmas[x] === 0) sigmas[x] = overall;
      this.sigmas = sigmas;
    }
    let longest = 0;
    for (let y = 0; y < Y.rows; y++) longest = Math.max(longest, Y.indptr[y + 1] - Y.indptr[y]);
    this.candPos = new Int32Array(longest);
    this.candSim = new Float64Array(longest);
  }

  protected override fallback(u: number, i: number): number {
    const ts = this.trainset();
    if (this.variant !== 'baseline') return ts.globalMean;
    let est = ts.globalMean;
    if (ts.knowsUser(u)) est += this.bsl!.bu[u];
    if (ts.knowsItem(i)) est += this.bsl!.bi[i];
    return est;
  }

  protected estimate(u: number, i: number): number {
    const ts = this.trainset();
    const why = ts.unknownReason(u, i);
    if (why) { this.reason = why; return NaN; }
    const o = this.options;
    const x = o.userBased ? u : i, y = o.userBased ? i : u;
    const Y = o.userBased ? ts.ir : ts.ur;
    const sim = this.sim!.data, nx = this.sim!.cols, off = x * nx;
    const { candPos, candSim } = this;
    // neighbours of x among the raters of y, positive similarity only
    let c = 0;
    for (let p = Y.indptr[y], pe = Y.indptr[y + 1]; p < pe; p++) {
      const s = sim[off + Y.indices[p]];
      if (s > 0) { candPos[c] = p; candSim[c] = s; c++; }
    }
    if (c > o.k) {
      // partial selection of the k most similar (positions are in index order, so ties go to lower index)
      const heap = this.heap;
      for (let t = 0; t < c; t++) heap.push(candPos[t], candSim[t]);
      heap.drainInto(this.heapIds, this.heapScores, 0);
      for (let t = 0; t < o.k; t++) { candPos[t] = this.heapIds[t]; candSim[t] = sim[off + Y.indices[candPos[t]]]; }
      c = o.k;
    }
    const actualK = c;
    let sumSim = 0, sumRatings = 0;
    switch (this.variant) {
      case 'basic': {
        for (let t = 0; t < c; t++) { const p = candPos[t]; sumSim += candSim[t]; sumRatings += candSim[t] * Y.data[p]; }
        if (actualK < o.minK || sumSim === 0) { this.reason = 'not enough neighbours'; return NaN; }
        return sumRatings / sumSim;
      }
      case 'means': {
        const means = this.means!;
        for (let t = 0; t < c; t++) { const p = candPos[t]; sumSim += candSim[t]; sumRatings += candSim[t] * (Y.data[p] - means[Y.indices[p]]); }
        return actualK < o.minK || sumSim === 0 ? means[x] : means[x] + sumRatings / sumSim;
      }
      case 'zscore': {
        const means = this.means!, sigmas = this.sigmas!;
        for (let t = 0; t < c; t++) {
          const p = candPos[t], nb = Y.indices[p];
          sumSim += candSim[t];
          sumRatings += (candSim[t] * (Y.data[p] - means[nb])) / sigmas[nb];
        }
        return actualK < o.minK || sumSim === 0 ? means[x] : means[x] + (sumRatings / sumSim) * sigmas[x];
      }
      case 'baseline': {
        const { bu, bi } = this.bsl!;
        const bx = o.userBased ? bu : bi, by = o.userBased ? bi : bu;
        const base = ts.globalMean + bu[u] + bi[i];
        const partial = ts.globalMean + by[y];
        for (let t = 0; t < c; t++) {
          const p = candPos[t];
          sumSim += candSim[t];
          sumRatings += candSim[t] * (Y.data[p] - (partial + bx[Y.indices[p]]));
        }
        return actualK < o.minK || sumSim === 0 ? base : base + sumRatings / sumSim;
      }
    }
  }

  /** The k most similar entities of the model's own orientation (non-zero similarity, self excluded). */
  private similar(x: number, k: number): Recommendations {
    this.trainset();
    checkK(this.name, k);
    const sim = this.sim!;
    checkIndex(this.name, this.options.userBased ? 'user' : 'item', x, sim.rows);
    const o = x * sim.cols;
    const mask = new Uint8Array(sim.cols);
    for (let j = 0; j < sim.cols; j++) mask[j] = j !== x && sim.data[o + j] !== 0 ? 1 : 0;
    return topKOf(Math.min(k, sim.rows), (j) => sim.data[o + j], mask);
  }

  similarUsers(user: number, k: number): Recommendations {
    if (!this.options.userBased) throw new Error(`${this.name}: similarUsers needs user_based=true (this model compares items)`);
    return this.similar(user, k);
  }

  similarItems(item: number, k: number): Recommendations {
    if (this.options.userBased) throw new Error(`${this.name}: similarItems needs user_based=false (this model compares users)`);
    return this.similar(item, k);
  }
}

/** The dense rows × rows matrix of an all-pairs top-k (0 where a pair is not listed). */
function scatter(top: TopK): Dense {
  const out = denseFrom(top.rows, top.rows);
  for (let r = 0; r < top.rows; r++) {
    for (let t = r * top.k, te = t + top.k; t < te && top.ids[t] >= 0; t++) out.data[r * top.rows + top.ids[t]] = top.scores[t];
  }
  return out;
}
