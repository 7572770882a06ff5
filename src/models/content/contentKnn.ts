/**
 * ContentKNN: content-based recommendation from item side information (TF-IDF profiles).
 *
 * Item profile (one sparse vector per item over the vocabulary of tokens: categorical features
 * such as 'genre=Comedy', plus 'word=<w>' per title word when `text` is on):
 *
 *   tf(t, i)  = count of t in i                          (tf 'raw', default)
 *             | count / total tokens of i                 (tf 'relative')
 *             | 1 + ln count                              (tf 'log')
 *   idf(t)    = ln(N / df(t))                             (idf on, default; N = items with side info,
 *                                                          df = how many of them have t)
 *   v_i[t]    = tf(t, i) · idf(t), then v_i /= ‖v_i‖₂     (normalize on, default)
 *
 * User profile = weighted mean of the profiles of the items the user consumed in training:
 *
 *   p_u = Σ_{i ∈ I(u)} w_ui · v_i / Σ_{i ∈ I(u)} w_ui,   w_ui = rating/weight (weighting 'rating',
 *                                                         default) or 1 (weighting 'uniform')
 *
 * Score (metric 'cosine', default):  s(u, i) = p_u·v_i / (‖p_u‖ ‖v_i‖), 0 where a norm is 0;
 *       (metric 'dot'):              s(u, i) = p_u·v_i.
 * The seed example: p_u = (0.2, 0.3, 0.5), v_i = (0.1, 0.4, 0.5) → p_u·v_i = 0.02+0.12+0.25 = 0.39.
 *
 * Cold start: items with features but no training interactions are scored like any other item
 * (content needs no interactions); a user with no training history has no profile, so
 * recommend() returns an empty list and predict() is impossible ('user unknown') — put a
 * Hybrid (switching to popularity) in front for new users. Items without side info get a zero
 * profile (score 0). similarItems() ranks items by cosine between profiles.
 *
 * Side info: setSideInfo({items}) before fit(), or the param items=FILE (read with
 * readItemFeatures, format from the file name). Without item side info fit() throws.
 * Params: metric (cosine|dot), tf (raw|relative|log), idf (bool), normalize (bool), text (bool),
 * weighting (rating|uniform), items (path).
 */
import type { Interactions } from '../../data/interactions.js';
import type { Csr } from '../../data/matrix.js';
import type { IdMap } from '../../data/idMap.js';
import { sideTokens, type SideInfo } from '../../data/sideInfo.js';
import type { FitOptions, ModelParams, Prediction, Recommendations, RecommendOptions } from '../types.js';
import { ModelBase } from '../base.js';
import { readParams } from '../params.js';
import { candidateMask, checkIndex, checkK, noRecommendations, topKOf } from '../ranking.js';
import { Trainset } from '../trainset.js';
import { pathParams, sideInfoFromParams, type SideInfoAware, type SideInfoInput } from '../attachSideInfo.js';

export interface ContentKnnParams {
  metric: 'cosine' | 'dot';
  tf: 'raw' | 'relative' | 'log';
  idf: boolean;
  normalize: boolean;
  text: boolean;
  weighting: 'rating' | 'uniform';
  items?: string;
}

/** p·v (dot) or p·v/(‖p‖‖v‖) (cosine; 0 when a norm is 0) for two dense vectors. */
export function profileScore(profile: ArrayLike<number>, item: ArrayLike<number>, metric: 'cosine' | 'dot' = 'dot'): number {
  if (profile.length !== item.length) throw new RangeError(`profileScore: vectors differ in length (${profile.length} vs ${item.length})`);
  let dot = 0, pp = 0, ii = 0;
  for (let f = 0; f < profile.length; f++) { dot += profile[f] * item[f]; pp += profile[f] * profile[f]; ii += item[f] * item[f]; }
  if (metric === 'dot') return dot;
  const den = Math.sqrt(pp) * Math.sqrt(ii);
  return den > 0 ? dot / den : 0;
}

/** Σ w_j·v_j / Σ w_j over dense vectors (all of one length); throws when Σ w_j = 0. */
export function weightedMeanProfile(vectors: ArrayLike<number>[], weights: ArrayLike<number>): Float64Array {
  if (vectors.length !== weights.length) throw new RangeError(`weightedMeanProfile: ${vectors.length} vectors but ${weights.length} weights`);
  if (vectors.length === 0) throw new RangeError('weightedMeanProfile: no vectors');
  const d = vectors[0].length;
  const out = new Float64Array(d);
  let wsum = 0;
  vectors.forEach((v, j) => {
    if (v.length !== d) throw new RangeError('weightedMeanProfile: vectors differ in length');
    const w = weights[j];
    wsum += w;
    for (let f = 0; f < d; f++) out[f] += w * v[f];
  });
  if (wsum === 0) throw new RangeError('weightedMeanProfile: the weights sum to 0');
  for (let f = 0; f < d; f++) out[f] /= wsum;
  return out;
}

export interface ItemProfiles {
  /** items × vocabulary, rows aligned with the item IdMap */
  matrix: Csr;
  vocabulary: string[];
  /** ‖v_i‖₂ per item */
  norms: Float64Array;
  /** items that had a side-info row */
  covered: number;
}

/** TF-IDF item profiles aligned with `items` (see the module comment for the formulas). */
export function buildItemProfiles(info: SideInfo, items: IdMap, o: Pick<ContentKnnParams, 'tf' | 'idf' | 'normalize' | 'text'>): ItemProfiles {
  const n = items.size;
  const vocab = new Map<string, number>();
  const rows: Array<Map<number, number> | null> = new Array(n).fill(null);
  let covered = 0;
  for (let i = 0; i < n; i++) {
    const id = String(items.external(i));
    if (!info.features.has(id)) continue;
    covered++;
    const counts = new Map<number, number>();
    for (const t of sideTokens(info, id, { text: o.text })) {
      let j = vocab.get(t);
      if (j === undefined) { j = vocab.size; vocab.set(t, j); }
      counts.set(j, (counts.get(j) ?? 0) + 1);
    }
    rows[i] = counts;
  }
  if (covered === 0) throw new RangeError(`content-knn: none of the ${n} items has a row in the item side info (ids are matched as strings, e.g. '${n > 0 ? String(items.external(0)) : ''}')`);
  const V = vocab.size;
  const df = new Float64Array(V);
  for (const r of rows) if (r) for (const j of r.keys()) df[j]++;
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) indptr[i + 1] = indptr[i] + (rows[i]?.size ?? 0);
  const indices = new Int32Array(indptr[n]);
  const data = new Float32Array(indptr[n]);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!r) continue;
    let total = 0;
    for (const c of r.values()) total += c;
    const entries = [...r.entries()].sort((a, b) => a[0] - b[0]);
    const vals = entries.map(([j, c]) => {
      const tf = o.tf === 'relative' ? c / total : o.tf === 'log' ? 1 + Math.log(c) : c;
      return tf * (o.idf ? Math.log(covered / df[j]) : 1);
    });
    let ss = 0;
    for (const v of vals) ss += v * v;
    const norm = Math.sqrt(ss);
    const scale = o.normalize && norm > 0 ? 1 / norm : 1;
    entries.forEach(([j], e) => { indices[indptr[i] + e] = j; data[indptr[i] + e] = vals[e] * scale; });
    norms[i] = o.normalize ? (norm > 0 ? 1 : 0) : norm;
  }
  // float32 storage: recompute norms from the stored values
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) ss += data[p] * data[p];
    norms[i] = Math.sqrt(ss);
  }
  const vocabulary = new Array<string>(V);
  for (const [t, j] of vocab) vocabulary[j] = t;
  return { matrix: { rows: n, cols: V, indptr, indices, data }, vocabulary, norms, covered };
}

export class ContentKNN extends ModelBase implements SideInfoAware {
  readonly name = 'content-knn';
  readonly predictsRatings = false;
  readonly params: ContentKnnParams;
  private side: SideInfoInput = {};
  private profiles: ItemProfiles | null = null;

  constructor(params: ModelParams | Partial<ContentKnnParams> = {}) {
    super();
    const { rest, paths } = pathParams('content-knn', params as Record<string, unknown>, { items: ['items', 'item_features', 'itemFeatures'] });
    this.params = { ...readParams<Omit<ContentKnnParams, 'items'>>('content-knn', rest, {
      metric: { names: ['sim', 'similarity'], type: 'enum', def: 'cosine', choices: ['cosine', 'dot'] },
      tf: { names: [], type: 'enum', def: 'raw', choices: ['raw', 'relative', 'log'] },
      idf: { names: [], type: 'bool', def: true },
      normalize: { names: [], type: 'bool', def: true },
      text: { names: ['words'], type: 'bool', def: true },
      weighting: { names: [], type: 'enum', def: 'rating', choices: ['rating', 'uniform'] },
    }), items: paths.items };
  }

  setSideInfo(info: SideInfoInput): void {
    this.side = { ...this.side, ...info };
  }

  async fit(train: Interactions, _opts: FitOptions = {}): Promise<void> {
    this.side = await sideInfoFromParams(this.side, this.params.items, undefined);
    if (!this.side.items) throw new RangeError('content-knn: needs item side info: call setSideInfo({items}) or pass items=FILE');
    const profiles = buildItemProfiles(this.side.items, train.items, this.params);
    this.ts = Trainset.of(train, this.name);
    this.profiles = profiles;
  }

  private fitted(what = 'this call'): { profiles: ItemProfiles; ts: Trainset } {
    const ts = this.trainset(what);
    return { profiles: this.profiles!, ts };
  }

  get itemProfiles(): ItemProfiles { return this.fitted('itemProfiles').profiles; }

  /** The user's profile p_u (dense over the vocabulary), or null when the user has no training history. */
  userProfile(user: number): Float64Array | null {
    const { profiles, ts } = this.fitted('userProfile()');
    checkIndex(this.name, 'user', user, ts.users.size);
    if (ts.userItems(user).length === 0) return null;
    const m = profiles.matrix, ur = ts.ur;
    const p = new Float64Array(m.cols);
    let wsum = 0;
    const uniform = this.params.weighting === 'uniform';
    for (let e = ur.indptr[user]; e < ur.indptr[user + 1]; e++) {
      const i = ur.indices[e], w = uniform ? 1 : ur.data[e];
      wsum += w;
      for (let q = m.indptr[i]; q < m.indptr[i + 1]; q++) p[m.indices[q]] += w * m.data[q];
    }
    if (wsum === 0) return null;
    for (let f = 0; f < p.length; f++) p[f] /= wsum;
    return p;
  }

  private scoreAll(profile: Float64Array, mask: Uint8Array | null, metric = this.params.metric): Float64Array {
    const { matrix: m, norms } = this.fitted().profiles;
    const cosine = metric === 'cosine';
    let pn = 0;
    for (let f = 0; f < profile.length; f++) pn += profile[f] * profile[f];
    pn = Math.sqrt(pn);
    const out = new Float64Array(m.rows);
    for (let i = 0; i < m.rows; i++) {
      if (mask && !mask[i]) continue;
      let s = 0;
      for (let q = m.indptr[i]; q < m.indptr[i + 1]; q++) s += m.data[q] * profile[m.indices[q]];
      if (cosine) { const den = pn * norms[i]; s = den > 0 ? s / den : 0; }
      out[i] = s;
    }
    return out;
  }

  predict(user: number, item: number): Prediction {
    const { profiles } = this.fitted('predict()');
    checkIndex(this.name, 'item', item, profiles.matrix.rows);
    const p = this.userProfile(user);
    if (!p) return { estimate: 0, impossible: true, reason: 'user unknown' };
    const mask = new Uint8Array(profiles.matrix.rows);
    mask[item] = 1;
    const s = this.scoreAll(p, mask)[item];
    if (profiles.matrix.indptr[item + 1] === profiles.matrix.indptr[item]) return { estimate: s, impossible: true, reason: 'item has no features' };
    return { estimate: s, impossible: false };
  }

  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const { profiles, ts } = this.fitted('recommend()');
    checkK(this.name, k);
    const p = this.userProfile(user);
    if (!p) return noRecommendations();
    const mask = candidateMask(this.name, profiles.matrix.rows, ts.userItems(user), opts);
    const scores = this.scoreAll(p, mask);
    return topKOf(k, (i) => scores[i], mask);
  }

  similarItems(item: number, k: number): Recommendations {
    const { profiles } = this.fitted();
    checkK(this.name, k);
    const m = profiles.matrix;
    checkIndex(this.name, 'item', item, m.rows);
    const q = new Float64Array(m.cols);
    for (let p = m.indptr[item]; p < m.indptr[item + 1]; p++) q[m.indices[p]] = m.data[p];
    const mask = new Uint8Array(m.rows).fill(1);
    mask[item] = 0;
    const scores = this.scoreAll(q, mask, 'cosine');
    return topKOf(k, (i) => scores[i], mask);
  }

  /** Cosine similarity of two items' profiles (for intra-list diversity and MMR). */
  itemSimilarity(a: number, b: number): number {
    const { matrix: m, norms } = this.fitted().profiles;
    checkIndex(this.name, 'item', a, m.rows);
    checkIndex(this.name, 'item', b, m.rows);
    return csrRowCosine(m, norms, a, b);
  }
}

/** Cosine of rows a and b of a Csr with sorted indices (norms precomputed). */
export function csrRowCosine(m: Csr, norms: ArrayLike<number>, a: number, b: number): number {
  const den = norms[a] * norms[b];
  if (!(den > 0)) return 0;
  let p = m.indptr[a], q = m.indptr[b];
  const pe = m.indptr[a + 1], qe = m.indptr[b + 1];
  let s = 0;
  while (p < pe && q < qe) {
    const x = m.indices[p], y = m.indices[q];
    if (x === y) { s += m.data[p] * m.data[q]; p++; q++; }
    else if (x < y) p++;
    else q++;
  }
  return s / den;
}
