/**
 * sparseSimilarityTopK — pairwise similarity between the rows of a sparse matrix X (rows = the
 * entities compared: items for item-item, users for user-user; columns = their co-raters), keeping
 * for each row r in [rowStart, rowEnd) the k most similar other rows, best first (ties: lower id).
 *
 * Notation: for rows a, b let C(a,b) be the columns stored in both rows ("co-raters"), n = |C(a,b)|
 * (the support), x = X'[a,c], y = X'[b,c] for c ∈ C(a,b), where X' is X after the weighting and
 * centring below. Stored zeros count as stored (they are ratings of 0).
 *
 *   dot              s = Σ_C x·y
 *   cosine           s = Σ_C x·y / (‖X'[a]‖·‖X'[b]‖)           full-row norms (implicit's cosine)
 *   cosine-common    s = Σ_C x·y / √(Σ_C x² · Σ_C y²)           co-rated only (Surprise's cosine)
 *   adjusted-cosine  cosine-common on values centred by their column's mean: x = X[a,c] − mean(X[·,c])
 *                    (Sarwar et al.: item ratings centred by each co-rating user's mean)
 *   pearson          s = (n·Σxy − Σx·Σy) / √((n·Σx² − (Σx)²)·(n·Σy² − (Σy)²))   over C (Surprise's pearson)
 *   pearson-baseline s = Σ_C x·y / √(Σ_C x² · Σ_C y²) · (n−1)/(n−1+shrinkage), on residuals
 *                    x = X[a,c] − (μ + b_a + b_c) from `baselines` (Surprise's pearson_baseline;
 *                    shrinkage defaults to 100 and min support is at least 2, as there)
 *   msd              s = 1 / (Σ_C (x−y)² / n + 1)                (Surprise's msd)
 *   jaccard          s = n / (|X[a]| + |X[b]| − n)              stored-entry counts
 *
 * Where a denominator is 0 the similarity is 0 (as Surprise). Options, applied in this order:
 *   weighting (before anything else; implicit's tfidf_weight / bm25_weight with rows as documents
 *   and columns as terms, N = rows, df(c) = stored entries in column c):
 *     tfidf  X'[r,c] = √X[r,c] · idf(c),   idf(c) = ln N − ln(1 + df(c))
 *     bm25   X'[r,c] = X[r,c]·(K1+1) / (K1·L(r) + X[r,c]) · idf(c),
 *            L(r) = (1−B) + B·Σ_c X[r,c] / mean_r'(Σ_c X[r',c]);  K1 = 100, B = 0.8 by default
 *   minSupport     pairs with n < minSupport get similarity 0 (default 1)
 *   shrinkage      s ← s · n/(n + shrinkage) (every metric but pearson-baseline, which shrinks as above)
 *   minSimilarity  pairs with s < minSimilarity are dropped
 *   excludeSelf    row r is never its own neighbour (default true)
 *
 * The top-k output holds the pairs with a non-zero similarity that pass the options (k = 'all':
 * every such pair, k = rows). Unused slots have id −1 and score −Infinity.
 *
 * Algorithm (SMMP / Gustavson): for row a, walk its stored columns c, and for each walk the
 * transpose's row c (the rows b that store c), accumulating the metric's sums into dense scratch
 * arrays of length rows with a touched-list; then score each touched b, push it into a bounded
 * heap, and clear only the touched slots. Work is Σ_c df(c)² over a whole call; memory is the
 * transpose (O(nnz)), a few scratch arrays of length rows, and the output — never rows × cols.
 *
 * This file is the reference (oracle): float64 accumulation, no tricks.
 */
import type { Csr, Dense, TopK } from '../data/matrix.js';
import { denseFrom, emptyTopK, sharedFloat64, sharedInt32, validateCsr } from '../data/matrix.js';
import { TopKHeap } from './topk.js';
import type { KernelDef } from './kernelDef.js';

export const SIMILARITY_METRICS = [
  'cosine', 'cosine-common', 'adjusted-cosine', 'pearson', 'pearson-baseline', 'msd', 'jaccard', 'dot',
] as const;
export type SimilarityMetric = (typeof SIMILARITY_METRICS)[number];

export const SIMILARITY_WEIGHTINGS = ['none', 'tfidf', 'bm25'] as const;
export type SimilarityWeighting = (typeof SIMILARITY_WEIGHTINGS)[number];

export interface SimilarityBaselines {
  /** μ: the global mean rating */
  globalMean: number;
  /** b_r for each row (entity) of the matrix */
  rowBias: Float64Array | Float32Array;
  /** b_c for each column (co-rater) of the matrix */
  colBias: Float64Array | Float32Array;
}

/** Data derived from the args once per call (or once per job, see prepareSparseSimilarity). */
export interface PreparedSimilarity {
  /** X' values, aligned with matrix.indices */
  values: Float64Array;
  /** the transpose of X': row c lists the rows b storing column c */
  tIndptr: Int32Array | Float64Array;
  tIndices: Int32Array;
  tValues: Float64Array;
  /** ‖X'[r]‖ (cosine) */
  rowNorm: Float64Array;
  /** shrinkage, min support and min similarity with their defaults applied (similarityThresholds) */
  thresholds: SimilarityThresholds;
}

export interface SparseSimilarityTopKArgs {
  /** rows = entities compared, columns = co-raters */
  matrix: Csr;
  metric: SimilarityMetric;
  /** neighbours kept per row, or 'all' for every non-zero pair */
  k: number | 'all';
  /** value transform applied first (default 'none') */
  weighting?: SimilarityWeighting;
  /** BM25 K1 (default 100) */
  bm25K1?: number;
  /** BM25 B (default 0.8) */
  bm25B?: number;
  /** s·n/(n+shrinkage) (default 0; pearson-baseline: (n−1)/(n−1+shrinkage), default 100) */
  shrinkage?: number;
  /** minimum number of co-raters for a non-zero similarity (default 1) */
  minSupport?: number;
  /** drop pairs below this similarity (default: keep all) */
  minSimilarity?: number;
  /** never list a row as its own neighbour (default true) */
  excludeSelf?: boolean;
  /** needed by pearson-baseline */
  baselines?: SimilarityBaselines;
  /** precomputed derived data (prepareSparseSimilarity); computed on the fly when absent */
  prepared?: PreparedSimilarity;
}

function isMetric(m: unknown): m is SimilarityMetric {
  return typeof m === 'string' && (SIMILARITY_METRICS as readonly string[]).includes(m);
}

/** The options every backend applies, with the defaults filled in (pearson-baseline: shrinkage 100, min support ≥ 2, as Surprise). */
export interface SimilarityThresholds { shrinkage: number; minSupport: number; minSimilarity: number }

export function similarityThresholds(a: SparseSimilarityTopKArgs): SimilarityThresholds {
  const pb = a.metric === 'pearson-baseline';
  return {
    shrinkage: a.shrinkage ?? (pb ? 100 : 0),
    minSupport: pb ? Math.max(2, a.minSupport ?? 1) : (a.minSupport ?? 1),
    minSimilarity: a.minSimilarity ?? -Infinity,
  };
}

export function validateSparseSimilarityTopK(a: SparseSimilarityTopKArgs): void {
  const name = 'sparseSimilarityTopK';
  if (!a || !a.matrix) throw new TypeError(`${name}: args.matrix is required`);
  if (!isMetric(a.metric)) throw new RangeError(`${name}: unknown metric '${String(a.metric)}' (${SIMILARITY_METRICS.join('|')})`);
  if (a.k !== 'all' && (!Number.isInteger(a.k) || a.k <= 0)) throw new RangeError(`${name}: k must be a positive integer or 'all', got ${String(a.k)}`);
  validateCsr(a.matrix, `${name}: matrix`);
  const m = a.matrix;
  if (m.rows === 0 || m.cols === 0 || m.indptr[m.rows] === 0) throw new RangeError(`${name}: the matrix is empty (${m.rows}×${m.cols}, ${m.indptr[m.rows] ?? 0} stored entries)`);
  const w = a.weighting ?? 'none';
  if (!(SIMILARITY_WEIGHTINGS as readonly string[]).includes(w)) throw new RangeError(`${name}: unknown weighting '${String(w)}' (${SIMILARITY_WEIGHTINGS.join('|')})`);
  if (a.bm25K1 !== undefined && !(a.bm25K1 >= 0 && Number.isFinite(a.bm25K1))) throw new RangeError(`${name}: bm25K1 must be a non-negative number, got ${a.bm25K1}`);
  if (a.bm25B !== undefined && !(a.bm25B >= 0 && a.bm25B <= 1)) throw new RangeError(`${name}: bm25B must be in [0, 1], got ${a.bm25B}`);
  if (a.shrinkage !== undefined && !(a.shrinkage >= 0 && Number.isFinite(a.shrinkage))) throw new RangeError(`${name}: shrinkage must be a non-negative number, got ${a.shrinkage}`);
  if (a.minSupport !== undefined && !(a.minSupport >= 0 && Number.isFinite(a.minSupport))) throw new RangeError(`${name}: minSupport must be a non-negative number, got ${a.minSupport}`);
  if (a.minSimilarity !== undefined && Number.isNaN(a.minSimilarity)) throw new RangeError(`${name}: minSimilarity is NaN`);
  if (a.metric === 'pearson-baseline') {
    const b = a.baselines;
    if (!b) throw new RangeError(`${name}: metric 'pearson-baseline' needs baselines {globalMean, rowBias, colBias}`);
    if (!Number.isFinite(b.globalMean)) throw new RangeError(`${name}: baselines.globalMean must be finite, got ${b.globalMean}`);
    if (b.rowBias.length !== m.rows) throw new RangeError(`${name}: baselines.rowBias has length ${b.rowBias.length}, expected rows = ${m.rows}`);
    if (b.colBias.length !== m.cols) throw new RangeError(`${name}: baselines.colBias has length ${b.colBias.length}, expected cols = ${m.cols}`);
  }
  if (a.prepared) {
    const p = a.prepared, total = m.indptr[m.rows];
    if (p.values.length < total || p.tIndices.length < total || p.tValues.length < total || p.tIndptr.length !== m.cols + 1 || p.rowNorm.length !== m.rows)
      throw new RangeError(`${name}: prepared data does not match the matrix`);
  }
}

/** Output rows = matrix rows, k = min(k, rows) (or rows for 'all'). */
export function allocateSparseSimilarityTopK(a: SparseSimilarityTopKArgs): TopK {
  const rows = a.matrix.rows;
  return emptyTopK(rows, a.k === 'all' ? rows : Math.min(a.k, rows));
}

/**
 * X' as a backend with its own transpose needs it: the prepared values when there are, else the matrix's
 * own data when X' = X (no weighting, no centring; no copy), else the weighted and centred values.
 */
export function similarityValues(a: SparseSimilarityTopKArgs): Float32Array | Float64Array {
  if (a.prepared) return a.prepared.values;
  const plain = (a.weighting ?? 'none') === 'none' && a.metric !== 'adjusted-cosine' && a.metric !== 'pearson-baseline';
  return plain ? a.matrix.data.subarray(0, a.matrix.indptr[a.matrix.rows]) : transformedValues(a);
}

/** Weighted and centred values X' (aligned with matrix.indices). */
function transformedValues(a: SparseSimilarityTopKArgs): Float64Array {
  const m = a.matrix;
  const total = m.indptr[m.rows];
  const v = sharedFloat64(total);
  for (let p = 0; p < total; p++) v[p] = m.data[p];
  const weighting = a.weighting ?? 'none';
  if (weighting !== 'none') {
    const N = m.rows;
    const df = new Float64Array(m.cols);
    for (let p = 0; p < total; p++) df[m.indices[p]]++;
    const idf = new Float64Array(m.cols);
    for (let c = 0; c < m.cols; c++) idf[c] = Math.log(N) - Math.log1p(df[c]);
    if (weighting === 'tfidf') {
      for (let p = 0; p < total; p++) v[p] = Math.sqrt(v[p]) * idf[m.indices[p]];
    } else {
      const K1 = a.bm25K1 ?? 100, B = a.bm25B ?? 0.8;
      const rowSum = new Float64Array(m.rows);
      let all = 0;
      for (let r = 0; r < m.rows; r++) {
        let s = 0;
        for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) s += v[p];
        rowSum[r] = s; all += s;
      }
      const avg = all / m.rows;
      for (let r = 0; r < m.rows; r++) {
        const L = 1 - B + (B * rowSum[r]) / avg;
        for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) v[p] = ((v[p] * (K1 + 1)) / (K1 * L + v[p])) * idf[m.indices[p]];
      }
    }
  }
  if (a.metric === 'adjusted-cosine') {
    const sum = new Float64Array(m.cols), cnt = new Float64Array(m.cols);
    for (let p = 0; p < total; p++) { sum[m.indices[p]] += v[p]; cnt[m.indices[p]]++; }
    for (let p = 0; p < total; p++) { const c = m.indices[p]; v[p] -= sum[c] / cnt[c]; }
  } else if (a.metric === 'pearson-baseline') {
    const b = a.baselines!;
    for (let r = 0; r < m.rows; r++) {
      const partial = b.globalMean + b.rowBias[r];
      for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) v[p] -= partial + b.colBias[m.indices[p]];
    }
  }
  return v;
}

/** Compute the derived data (transformed values, transpose, norms) once; pass the result as args.prepared to every row-block call. */
export function prepareSparseSimilarity(a: SparseSimilarityTopKArgs): PreparedSimilarity {
  const m = a.matrix;
  const total = m.indptr[m.rows];
  const values = transformedValues(a);
  const tIndptr = sharedInt32(m.cols + 1);
  for (let p = 0; p < total; p++) tIndptr[m.indices[p] + 1]++;
  for (let c = 0; c < m.cols; c++) tIndptr[c + 1] += tIndptr[c];
  const cursor = tIndptr.slice(0, m.cols);
  const tIndices = sharedInt32(total);
  const tValues = sharedFloat64(total);
  const rowNorm = sharedFloat64(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) {
      const q = cursor[m.indices[p]]++;
      tIndices[q] = r; tValues[q] = values[p];
      s += values[p] * values[p];
    }
    rowNorm[r] = Math.sqrt(s);
  }
  return { values, tIndptr, tIndices, tValues, rowNorm, thresholds: similarityThresholds(a) };
}

/** args with `prepared` filled in (a new object; args is not modified). */
export function withPreparedSimilarity(a: SparseSimilarityTopKArgs): SparseSimilarityTopKArgs {
  return a.prepared ? a : { ...a, prepared: prepareSparseSimilarity(a) };
}

// Derived data for args objects without `prepared`, so that consecutive row blocks of one call
// in one thread do not redo it. Keyed weakly on the args object: pure caching, no visible state.
const preparedCache = new WeakMap<SparseSimilarityTopKArgs, PreparedSimilarity>();
function preparedFor(a: SparseSimilarityTopKArgs): PreparedSimilarity {
  if (a.prepared) return a.prepared;
  let p = preparedCache.get(a);
  if (!p) { p = prepareSparseSimilarity(a); preparedCache.set(a, p); }
  return p;
}

const enum Acc { Dot = 0, Common = 1, Pearson = 2, Msd = 3, Count = 4 }

function accumulatorKind(metric: SimilarityMetric): Acc {
  switch (metric) {
    case 'dot': case 'cosine': return Acc.Dot;
    case 'cosine-common': case 'adjusted-cosine': case 'pearson-baseline': return Acc.Common;
    case 'pearson': return Acc.Pearson;
    case 'msd': return Acc.Msd;
    case 'jaccard': return Acc.Count;
  }
}

/**
 * Computes one row of similarities at a time into scratch space: after computeRow(a),
 * touched[0..count) are the rows sharing a co-rater with a, and score(b) the similarity
 * (NaN when the pair is filtered out by minSupport/minSimilarity).
 */
class RowSimilarity {
  readonly touched: Int32Array;
  count = 0;
  private readonly n: Float64Array;
  private readonly sxy: Float64Array;
  private readonly sxx: Float64Array | null;
  private readonly syy: Float64Array | null;
  private readonly sx: Float64Array | null;
  private readonly sy: Float64Array | null;
  private readonly acc: Acc;
  private readonly metric: SimilarityMetric;
  private readonly shrink: number;
  private readonly minSupport: number;
  private readonly minSim: number;
  private readonly rowCount: Float64Array;
  private row = -1;

  constructor(private readonly m: Csr, private readonly p: PreparedSimilarity, a: SparseSimilarityTopKArgs) {
    const rows = m.rows;
    this.metric = a.metric;
    this.acc = accumulatorKind(a.metric);
    this.touched = new Int32Array(rows);
    this.n = new Float64Array(rows);
    this.sxy = new Float64Array(this.acc === Acc.Count ? 0 : rows);
    const common = this.acc === Acc.Common || this.acc === Acc.Pearson;
    this.sxx = common ? new Float64Array(rows) : null;
    this.syy = common ? new Float64Array(rows) : null;
    this.sx = this.acc === Acc.Pearson ? new Float64Array(rows) : null;
    this.sy = this.acc === Acc.Pearson ? new Float64Array(rows) : null;
    const t = similarityThresholds(a);
    this.shrink = t.shrinkage;
    this.minSupport = t.minSupport;
    this.minSim = t.minSimilarity;
    this.rowCount = new Float64Array(rows);
    for (let r = 0; r < rows; r++) this.rowCount[r] = m.indptr[r + 1] - m.indptr[r];
  }

  computeRow(a: number): void {
    this.clear();
    this.row = a;
    const { m, p, touched, n } = this;
    const { tIndptr, tIndices, tValues, values } = p;
    let count = 0;
    const sxy = this.sxy, sxx = this.sxx!, syy = this.syy!, sx = this.sx!, sy = this.sy!;
    const acc = this.acc;
    for (let q = m.indptr[a], qe = m.indptr[a + 1]; q < qe; q++) {
      const c = m.indices[q];
      const x = values[q];
      for (let t = tIndptr[c], te = tIndptr[c + 1]; t < te; t++) {
        const b = tIndices[t];
        const y = tValues[t];
        if (n[b] === 0) touched[count++] = b;
        n[b]++;
        switch (acc) {
          case Acc.Dot: sxy[b] += x * y; break;
          case Acc.Common: sxy[b] += x * y; sxx[b] += x * x; syy[b] += y * y; break;
          case Acc.Pearson: sxy[b] += x * y; sxx[b] += x * x; syy[b] += y * y; sx[b] += x; sy[b] += y; break;
          case Acc.Msd: { const d = x - y; sxy[b] += d * d; break; }
          case Acc.Count: break;
        }
      }
    }
    this.count = count;
  }

  /** Similarity of the current row with b (b must be touched); NaN when filtered out. */
  score(b: number): number {
    const n = this.n[b];
    if (n < this.minSupport || n === 0) return NaN;
    let s: number;
    switch (this.metric) {
      case 'dot': s = this.sxy[b]; break;
      case 'cosine': { const den = this.p.rowNorm[this.row] * this.p.rowNorm[b]; s = den > 0 ? this.sxy[b] / den : 0; break; }
      case 'cosine-common': case 'adjusted-cosine': case 'pearson-baseline': {
        const den = Math.sqrt(this.sxx![b] * this.syy![b]);
        s = den > 0 ? this.sxy[b] / den : 0;
        break;
      }
      case 'pearson': {
        const sx = this.sx![b], sy = this.sy![b];
        const vx = n * this.sxx![b] - sx * sx, vy = n * this.syy![b] - sy * sy;
        const den = Math.sqrt(vx * vy);
        s = vx > 0 && vy > 0 && den > 0 ? (n * this.sxy[b] - sx * sy) / den : 0;
        if (s > 1) s = 1; else if (s < -1) s = -1;
        break;
      }
      case 'msd': s = 1 / (this.sxy[b] / n + 1); break;
      case 'jaccard': s = n / (this.rowCount[this.row] + this.rowCount[b] - n); break;
    }
    if (this.metric === 'pearson-baseline') s *= (n - 1) / (n - 1 + this.shrink);
    else if (this.shrink > 0) s *= n / (n + this.shrink);
    if (s < this.minSim) return NaN;
    return s;
  }

  clear(): void {
    const { touched, n } = this;
    for (let i = 0; i < this.count; i++) {
      const b = touched[i];
      n[b] = 0;
      if (this.sxy.length) this.sxy[b] = 0;
      if (this.sxx) { this.sxx[b] = 0; this.syy![b] = 0; }
      if (this.sx) { this.sx[b] = 0; this.sy![b] = 0; }
    }
    this.count = 0;
  }
}

export function sparseSimilarityTopKReference(a: SparseSimilarityTopKArgs, out: TopK, rowStart: number, rowEnd: number): void {
  const m = a.matrix;
  if (!(rowStart >= 0 && rowEnd <= m.rows && rowStart <= rowEnd)) throw new RangeError(`sparseSimilarityTopK: row range [${rowStart}, ${rowEnd}) out of [0, ${m.rows})`);
  const rs = new RowSimilarity(m, preparedFor(a), a);
  const excludeSelf = a.excludeSelf ?? true;
  const kk = out.k;
  const heap = new TopKHeap(kk);
  for (let r = rowStart; r < rowEnd; r++) {
    rs.computeRow(r);
    for (let t = 0; t < rs.count; t++) {
      const b = rs.touched[t];
      if (excludeSelf && b === r) continue;
      const s = rs.score(b);
      if (s !== 0) heap.push(b, s); // NaN (filtered) is never kept by the heap
    }
    heap.drainInto(out.ids, out.scores, r * kk);
  }
  rs.clear();
}

/**
 * The full rows × rows similarity matrix (float32), for small inputs (e.g. the kNN models on
 * ML-100k's 943 users / 1682 items). Same formulas and options as the top-k kernel; pairs
 * without co-raters or filtered out are 0, and so is the diagonal when excludeSelf (default true).
 */
export function similarityMatrixDense(a: SparseSimilarityTopKArgs): Dense {
  validateSparseSimilarityTopK(a);
  const m = a.matrix;
  const rows = m.rows;
  if (rows * rows > 2 ** 31 - 1) throw new RangeError(`similarityMatrixDense: ${rows}×${rows} is too large for a dense matrix; use the top-k kernel`);
  const out = denseFrom(rows, rows);
  const rs = new RowSimilarity(m, preparedFor(a), a);
  const excludeSelf = a.excludeSelf ?? true;
  for (let r = 0; r < rows; r++) {
    rs.computeRow(r);
    const o = r * rows;
    for (let t = 0; t < rs.count; t++) {
      const b = rs.touched[t];
      if (excludeSelf && b === r) continue;
      const s = rs.score(b);
      if (s === s) out.data[o + b] = s;
    }
  }
  rs.clear();
  return out;
}

/** Multiply-adds of a whole call: Σ_c df(c)² (each co-rater pair of column c), times 2. */
function sparseSimilarityTopKFlops(a: SparseSimilarityTopKArgs): number {
  const m = a.matrix;
  const df = new Float64Array(m.cols);
  for (let p = 0, total = m.indptr[m.rows]; p < total; p++) df[m.indices[p]]++;
  let s = 0;
  for (let c = 0; c < m.cols; c++) s += df[c] * df[c];
  return 2 * s;
}

/**
 * Callers splitting one job into many row blocks should pass args through withPreparedSimilarity()
 * first, so the transpose and weighting are computed once.
 */
export const sparseSimilarityTopKKernel: KernelDef<SparseSimilarityTopKArgs, TopK> = {
  name: 'sparseSimilarityTopK',
  validate: validateSparseSimilarityTopK,
  rows: (a) => a.matrix.rows,
  allocate: allocateSparseSimilarityTopK,
  reference: sparseSimilarityTopKReference,
  prepare: withPreparedSimilarity,
  flops: sparseSimilarityTopKFlops,
};
