/**
 * ItemKNN / UserKNN for implicit feedback, as implicit's ItemItemRecommender (CosineRecommender,
 * TFIDFRecommender, BM25Recommender), and its user-based mirror.
 *
 * fit: the K nearest neighbours of every item (item-knn: rows = items, columns = users) or user
 * (user-knn) with the sparseSimilarityTopK kernel, self excluded:
 *   variant cosine  metric cosine
 *   variant tfidf   metric cosine on tfidf-weighted values (implicit normalizes tfidf rows, then dots)
 *   variant bm25    metric dot on bm25-weighted values; K1 = 1.2, B = 0.75 by default, the
 *                   defaults of implicit's BM25Recommender (its bm25_weight function's own
 *                   defaults, K1 = 100, B = 0.8, are what the kernel uses when given none)
 * (`sim` and `weighting` override the variant with any metric/weighting of the kernel.)
 *
 * k counts the neighbours other than the item (user) itself. implicit's K counts the item itself
 * too (its top-K includes the diagonal, which recommend() then filters as seen), so implicit's
 * K = 20 is k = 19 here; with that, the neighbour lists and the recommendations are implicit's.
 * On ML-100k 80/20 (holdout:0.2, seed 0), bm25 with these defaults: precision@10 0.317 and
 * capped-precision@10 (implicit's precision_at_k) 0.377, where K1 = 100, B = 0.8 gave 0.133 and
 * 0.158 (implicit reports 0.385 for its BM25Recommender on its own 80/20 split).
 *
 * score, item-knn: s(u, i) = Σ_{j ∈ I_u} r_uj · S[j, i]   (S[j, ·] = j's K neighbours, 0 elsewhere)
 * score, user-knn: s(u, i) = Σ_{v ∈ N_K(u)} S[u, v] · r_vi
 * r is the interaction value (1 for implicit input; the rating otherwise), as implicit's
 * user_items weights. recommend() returns the top-k scored items (items with no score at all are
 * not listed unless opts.items names them); predict() returns the score itself (predictsRatings is
 * false: not a rating), impossible for an unknown user.
 */
import type { TopK } from '../../data/matrix.js';
import { resolveContext } from '../../engine/context.js';
import {
  SIMILARITY_METRICS, SIMILARITY_WEIGHTINGS, type SimilarityMetric, type SimilarityWeighting, type SparseSimilarityTopKArgs,
} from '../../kernels/sparseSimilarityTopK.js';
import type { Interactions } from '../../data/interactions.js';
import type { FitOptions, ModelParams, Prediction, RecommendOptions, Recommendations } from '../types.js';
import { ModelBase } from '../base.js';
import { readParams, type ParamTable } from '../params.js';
import { candidateMask, checkIndex, checkK, topKOf } from '../ranking.js';
import { Trainset } from '../trainset.js';

interface Options {
  k: number;
  variant: 'cosine' | 'tfidf' | 'bm25';
  K1: number;
  B: number;
  sim?: SimilarityMetric;
  weighting?: SimilarityWeighting;
  shrinkage?: number;
  minSupport?: number;
}

const table: ParamTable = {
  k: { names: ['K', 'neighbours', 'neighbors'], type: 'int', def: 20, min: 1, must: 'must be a positive integer' },
  variant: { names: [], type: 'enum', def: 'cosine', choices: ['cosine', 'tfidf', 'bm25'] },
  K1: { names: ['k1', 'bm25_k1'], type: 'number', def: 1.2, min: 0, must: 'must be ≥ 0' },
  B: { names: ['b', 'bm25_b'], type: 'number', def: 0.75, min: 0, must: 'must be in [0, 1]' },
  sim: { names: ['metric', 'name', 'similarity'], type: 'enum', choices: [...SIMILARITY_METRICS] },
  weighting: { names: [], type: 'enum', choices: [...SIMILARITY_WEIGHTINGS] },
  shrinkage: { names: [], type: 'number', min: 0, must: 'must be ≥ 0' },
  minSupport: { names: ['min_support'], type: 'int', min: 0, must: 'must be a non-negative integer' },
};

export class ImplicitKnn extends ModelBase {
  readonly name: string;
  readonly predictsRatings = false;
  readonly options: Options;
  private nn: TopK | null = null;
  private acc = new Float64Array(0);
  private mark = new Uint8Array(0);
  private touched = new Int32Array(0);

  constructor(readonly by: 'item' | 'user', params: ModelParams = {}) {
    super();
    this.name = by === 'item' ? 'item-knn' : 'user-knn';
    this.options = readParams<Options>(this.name, params, table);
    if (this.options.B > 1) throw new RangeError(`${this.name}: B must be in [0, 1], got ${this.options.B}`);
  }

  /** The similarity kernel arguments this model's fit uses on matrix X. */
  similarityArgs(X: SparseSimilarityTopKArgs['matrix']): SparseSimilarityTopKArgs {
    const o = this.options;
    const metric: SimilarityMetric = o.sim ?? (o.variant === 'bm25' ? 'dot' : 'cosine');
    const weighting: SimilarityWeighting = o.weighting ?? (o.sim ? 'none' : o.variant === 'cosine' ? 'none' : o.variant);
    return { matrix: X, metric, weighting, k: o.k, bm25K1: o.K1, bm25B: o.B, shrinkage: o.shrinkage, minSupport: o.minSupport };
  }

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    const ts = Trainset.of(train, this.name);
    const X = this.by === 'item' ? ts.ir : ts.ur;
    const ctx = resolveContext(opts);
    const out = await ctx.engine.run('sparseSimilarityTopK', this.similarityArgs(X), { backend: ctx.backend, signal: ctx.signal });
    this.nn = out;
    this.ts = ts;
    this.acc = new Float64Array(ts.nItems);
    this.mark = new Uint8Array(ts.nItems);
    this.touched = new Int32Array(ts.nItems);
  }

  /** The fitted neighbour lists (rows = items for item-knn, users for user-knn). */
  get neighbours(): TopK {
    this.trainset();
    return this.nn!;
  }

  /** Accumulate s(u, ·) into acc over touched items; returns the touched count. */
  private accumulate(u: number): number {
    const ts = this.trainset(), nn = this.nn!, K = nn.k;
    const { acc, mark, touched } = this;
    let count = 0;
    const add = (i: number, v: number): void => {
      if (!mark[i]) { mark[i] = 1; touched[count++] = i; }
      acc[i] += v;
    };
    const ur = ts.ur;
    if (this.by === 'item') {
      for (let p = ur.indptr[u], pe = ur.indptr[u + 1]; p < pe; p++) {
        const j = ur.indices[p], w = ur.data[p];
        for (let t = j * K, te = t + K; t < te && nn.ids[t] >= 0; t++) add(nn.ids[t], w * nn.scores[t]);
      }
    } else {
      for (let t = u * K, te = t + K; t < te && nn.ids[t] >= 0; t++) {
        const v = nn.ids[t], s = nn.scores[t];
        for (let p = ur.indptr[v], pe = ur.indptr[v + 1]; p < pe; p++) add(ur.indices[p], s * ur.data[p]);
      }
    }
    return count;
  }

  private reset(count: number): void {
    for (let t = 0; t < count; t++) { const i = this.touched[t]; this.acc[i] = 0; this.mark[i] = 0; }
  }

  predict(user: number, item: number): Prediction {
    const ts = this.trainset();
    if (!ts.knowsUser(user)) return { estimate: 0, impossible: true, reason: 'user unknown' };
    if (!(item >= 0 && item < ts.nItems)) return { estimate: 0, impossible: true, reason: 'item unknown' };
    const count = this.accumulate(user);
    const s = this.acc[item];
    this.reset(count);
    return { estimate: s, impossible: false };
  }

  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const ts = this.trainset('recommend()');
    checkK(this.name, k);
    checkIndex(this.name, 'user', user, ts.nUsers);
    const mask = candidateMask(this.name, ts.nItems, ts.userItems(user), opts);
    const count = this.accumulate(user);
    // without a candidate list, only items some neighbour scored are listed
    const top = topKOf(k, (i) => this.acc[i], mask, opts.items ? undefined : this.touched.subarray(0, count));
    this.reset(count);
    return top;
  }

  private neighboursOf(x: number, k: number, what: 'item' | 'user'): Recommendations {
    const nn = this.neighbours;
    checkK(this.name, k);
    checkIndex(this.name, what, x, nn.rows);
    let n = 0;
    const K = Math.min(k, nn.k);
    while (n < K && nn.ids[x * nn.k + n] >= 0) n++;
    return { ids: nn.ids.slice(x * nn.k, x * nn.k + n), scores: nn.scores.slice(x * nn.k, x * nn.k + n) };
  }

  /** item-knn: the item's stored neighbours (at most K of them). */
  similarItems(item: number, k: number): Recommendations {
    if (this.by !== 'item') throw new Error(`${this.name}: similarItems is only available on item-knn`);
    return this.neighboursOf(item, k, 'item');
  }

  /** user-knn: the user's stored neighbours (at most K of them). */
  similarUsers(user: number, k: number): Recommendations {
    if (this.by !== 'user') throw new Error(`${this.name}: similarUsers is only available on user-knn`);
    return this.neighboursOf(user, k, 'user');
  }
}
