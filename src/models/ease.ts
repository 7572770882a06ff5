/**
 * EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): an item-item weight
 * matrix B learned in closed form,
 *
 *   min_B ‖X − X·B‖²_F + λ‖B‖²_F   subject to diag(B) = 0
 *   ⇒  P = (XᵀX + λI)⁻¹,   B_ij = −P_ij / P_jj  (i ≠ j),   B_jj = 0
 *   score(u, j) = x_u · B_:j = Σ_i x_ui B_ij
 *
 * X is users × items, binary by default (x_ui = 1 for any interaction; `binary: false` uses the
 * ratings). λ = 500 is the paper's order of magnitude for MovieLens-sized data (Steck tunes λ per
 * data set: 200–1000 on ML-20M/Netflix/MSD).
 *
 * Fit: the Gram matrix G = XᵀX + λI is accumulated from the sparse rows (O(Σ_u n_u²), the lower
 * triangle only — the dense product would cost users·items²), then P = G⁻¹ is one spdSolve call
 * (Cholesky, inverse mode) on the engine with the fit's context, and B is kept transposed
 * (row j of Bᵀ = −P_j: / P_jj, P symmetric) so that scoring is the denseScoreTopK kernel with
 * queries x_u and keys Bᵀ: recommend (runSync) and recommendBatch (engine.run) rank through it,
 * seen items excluded (ranking.ts). The model is a HistoryRecommender: any history x scores as x·B.
 *
 * Memory: items² floats, several times over. Before allocating anything, fit estimates what the
 * Gram matrix, its inverse and the reference Cholesky factor need (16 bytes × items²) and refuses
 * with the figure when it exceeds memory_limit_gib (default 80 % of this machine's memory) or a
 * typed array's size.
 *
 * Params: lambda (> 0, 500; alias l2, reg), binary (bool, true), memory_limit_gib (≥ 0; 0 = 80 %
 * of the machine's memory).
 */
import os from 'node:os';
import type { Csr, Dense } from '../data/matrix.js';
import { denseFrom, sharedFloat32 } from '../data/matrix.js';
import type { Interactions } from '../data/interactions.js';
import { resolveContext } from '../engine/context.js';
import type { FitOptions, ModelParams, Prediction, RecommendOptions, Recommendations } from './types.js';
import { ModelBase } from './base.js';
import { readParams } from './params.js';
import { candidateList, candidateMask, checkIndex, checkK, excludeRows, fromTopK, noRecommendations } from './ranking.js';
import { Trainset } from './trainset.js';
import { historiesToCsr, type History, type HistoryRecommender } from './history.js';
import { modelFromSavedParams, readModelWithTrainset, saveModelWithTrainset } from './modelFile.js';

export interface EaseParams {
  lambda: number;
  binary: boolean;
  memoryLimitGiB: number;
}

/** Bytes EASE's fit needs for n items: Gram (fp32) + inverse (fp32) + the reference Cholesky factor (fp64). */
export function easeFitBytes(items: number): number {
  return 16 * items * items;
}

/** Largest typed array this code allocates in one piece (elements). */
const MAX_ELEMENTS = 2 ** 31 - 1;
/** Queries per denseScoreTopK call in recommendBatch: at most this many floats (64 MiB). */
const QUERY_BLOCK_FLOATS = 16 * 2 ** 20;

const GiB = 2 ** 30;

export class EASE extends ModelBase implements HistoryRecommender {
  readonly name = 'ease';
  readonly predictsRatings = false;
  readonly params: EaseParams;
  /** Bᵀ, items × items: row j holds B_:j (the weights every item gives to j) */
  private bt: Float32Array | null = null;

  constructor(params: ModelParams | Partial<EaseParams> = {}) {
    super();
    this.params = readParams<EaseParams>('ease', params as Record<string, unknown>, {
      lambda: { names: ['l2', 'reg', 'regularization', 'lambda_'], type: 'number', def: 500, above: 0, must: 'must be > 0' },
      binary: { names: [], type: 'bool', def: true },
      memoryLimitGiB: { names: ['memory_limit_gib', 'max_memory_gib'], type: 'number', def: 0, min: 0, must: 'must be ≥ 0 (0: 80 % of this machine\'s memory)' },
    });
  }

  get isFitted(): boolean { return this.ts !== null; }
  get userIds() { return this.trainset().users; }
  get itemIds() { return this.trainset().items; }

  /** The limit fit checks against, in bytes. */
  memoryLimitBytes(): number {
    return this.params.memoryLimitGiB > 0 ? this.params.memoryLimitGiB * GiB : 0.8 * os.totalmem();
  }

  /** Throws a RangeError with the memory n items would need when it does not fit (before any allocation). */
  checkCatalogueFits(items: number): void {
    const need = easeFitBytes(items), limit = this.memoryLimitBytes();
    const what = `${items.toLocaleString('en')} items need a ${items.toLocaleString('en')} × ${items.toLocaleString('en')} item-item matrix: about ${(need / GiB).toFixed(1)} GiB for the Gram matrix, its inverse and the Cholesky factor (16 bytes × items²)`;
    if (items * items > MAX_ELEMENTS) throw new RangeError(`ease: ${what}, and ${(items * items).toLocaleString('en')} values exceed one array's ${MAX_ELEMENTS.toLocaleString('en')}; use fewer items (e.g. drop the rarest)`);
    if (need > limit) {
      const source = this.params.memoryLimitGiB > 0 ? 'memory_limit_gib' : `80 % of this machine's ${(os.totalmem() / GiB).toFixed(1)} GiB; set memory_limit_gib to change it`;
      throw new RangeError(`ease: ${what}, more than the limit of ${(limit / GiB).toFixed(1)} GiB (${source}); use fewer items (e.g. drop the rarest)`);
    }
  }

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    const ctx = resolveContext(opts);
    const ts = Trainset.of(train, this.name);
    for (let p = 0; p < ts.nRatings; p++) {
      if (!Number.isFinite(ts.ur.data[p])) throw new RangeError(`ease: a training value is ${ts.ur.data[p]}`);
    }
    const n = ts.nItems;
    this.checkCatalogueFits(n);
    ctx.signal?.throwIfAborted();
    const g = gramLower(ts.ur, this.params.binary, ctx.signal);
    for (let i = 0; i < n; i++) g[i * n + i] += this.params.lambda;
    const p = await ctx.engine.run('spdSolve', { a: { rows: n, cols: n, data: g } }, { backend: ctx.backend, signal: ctx.signal });
    // Bᵀ in place of P: row j = −P_j: / P_jj, diagonal 0
    const bt = p.data;
    for (let j = 0; j < n; j++) {
      const row = j * n, d = bt[row + j];
      for (let i = 0; i < n; i++) bt[row + i] = -bt[row + i] / d;
      bt[row + j] = 0;
    }
    opts.onEpoch?.(1, 0);
    this.ts = ts;
    this.bt = bt;
  }

  private fitted(what: string): { ts: Trainset; keys: Dense } {
    const ts = this.trainset(what);
    return { ts, keys: { rows: ts.nItems, cols: ts.nItems, data: this.bt! } };
  }

  /** The item-item weights B (items × items, B_ij = weight of item i in item j's score) as a copy. */
  weights(): Dense {
    const { keys } = this.fitted('weights()');
    const n = keys.rows, b = denseFrom(n, n);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) b.data[i * n + j] = keys.data[j * n + i];
    return b;
  }

  private value(v: number): number {
    return this.params.binary ? 1 : v;
  }

  /** x of Csr row r as a dense row (binary or the values). */
  private denseRow(m: Csr, r: number, out: Float32Array): void {
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) out[m.indices[p]] += this.value(m.data[p]);
  }

  predict(user: number, item: number): Prediction {
    const { ts, keys } = this.fitted('predict()');
    checkIndex(this.name, 'item', item, ts.nItems);
    if (!ts.knowsUser(user)) return { estimate: 0, impossible: true, reason: 'user unknown' };
    const n = keys.cols, m = ts.ur;
    let s = 0;
    for (let p = m.indptr[user]; p < m.indptr[user + 1]; p++) s += this.value(m.data[p]) * keys.data[item * n + m.indices[p]];
    return { estimate: s, impossible: false };
  }

  /** The top k for one training user (unknown users get none), by denseScoreTopK on the calling thread. */
  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const { ts } = this.fitted('recommend()');
    checkK(this.name, k);
    if (!ts.knowsUser(user)) return noRecommendations();
    return this.rankRows(ts.ur, user, ts.userItems(user), k, opts);
  }

  recommendForHistory(history: History, k: number, opts: RecommendOptions = {}): Recommendations {
    const { ts } = this.fitted('recommendForHistory()');
    checkK(this.name, k);
    const m = historiesToCsr([history], ts.nItems);
    return this.rankRows(m, 0, m.indices, k, opts);
  }

  /** One row of m ranked on the calling thread; `seen` = the items filterSeen drops. */
  private rankRows(m: Csr, row: number, seen: ArrayLike<number>, k: number, opts: RecommendOptions): Recommendations {
    const { ts, keys } = this.fitted('recommend()');
    const ctx = resolveContext(opts);
    const n = ts.nItems;
    const q = denseFrom(1, n);
    this.denseRow(m, row, q.data);
    let use: Dense = keys, map: Int32Array | undefined, exclude: Csr | undefined;
    if (opts.items) {
      map = candidateList(candidateMask(this.name, n, seen, opts));
      use = rowsOf(keys, map);
    } else if (opts.filterSeen ?? true) {
      exclude = { rows: 1, cols: n, indptr: Int32Array.of(0, seen.length), indices: Int32Array.from(seen), data: new Float32Array(seen.length) };
    }
    if (use.rows === 0) return noRecommendations();
    const top = ctx.engine.runSync('denseScoreTopK', { queries: q, keys: use, k: Math.min(k, use.rows), metric: 'dot', exclude }, { signal: ctx.signal });
    return fromTopK(top, 0, map);
  }

  /** recommend() for many users through the engine (denseScoreTopK on the context's backend), in blocks of users. */
  async recommendBatch(users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    const { ts } = this.fitted('recommendBatch()');
    checkK(this.name, k);
    if (opts.items) return Array.from(users, (u) => this.recommend(u, k, opts));
    const known = Int32Array.from(Array.from(users).filter((u) => ts.knowsUser(u)));
    const ranked = await this.rankBatch(ts.ur, known, k, opts);
    const byUser = new Map<number, Recommendations>();
    known.forEach((u, t) => byUser.set(u, ranked[t]));
    return Array.from(users, (u) => byUser.get(u) ?? noRecommendations());
  }

  async recommendForHistoryBatch(histories: Csr, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    const { ts } = this.fitted('recommendForHistoryBatch()');
    checkK(this.name, k);
    if (histories.cols !== ts.nItems) throw new RangeError(`ease: histories have ${histories.cols} columns, the model ${ts.nItems} items`);
    const rows = Int32Array.from({ length: histories.rows }, (_, r) => r);
    if (opts.items) return Array.from(rows, (r) => this.rankRows(histories, r, histories.indices.subarray(histories.indptr[r], histories.indptr[r + 1]), k, opts));
    return this.rankBatch(histories, rows, k, opts);
  }

  /** Rows `rows` of m ranked by denseScoreTopK through the engine, in blocks of ≤ 64 MiB of queries. */
  private async rankBatch(m: Csr, rows: Int32Array, k: number, opts: RecommendOptions): Promise<Recommendations[]> {
    const { keys } = this.fitted('recommendBatch()');
    const ctx = resolveContext(opts);
    const n = keys.rows, out: Recommendations[] = [];
    const block = Math.max(1, Math.floor(QUERY_BLOCK_FLOATS / Math.max(1, n)));
    for (let at = 0; at < rows.length; at += block) {
      const part = rows.subarray(at, Math.min(rows.length, at + block));
      const q = denseFrom(part.length, n);
      part.forEach((r, t) => this.denseRow(m, r, q.data.subarray(t * n, (t + 1) * n)));
      const exclude = opts.filterSeen ?? true ? excludeRows(m, part) : undefined;
      const top = await ctx.engine.run('denseScoreTopK', { queries: q, keys, k: Math.min(k, n), metric: 'dot', exclude }, { backend: ctx.backend, signal: ctx.signal });
      for (let t = 0; t < part.length; t++) out.push(fromTopK(top, t));
    }
    return out;
  }

  /** Save to the AFFM file (docs/model-format.md): kind 'ease', arrays Bt (items²) and the training matrix. */
  save(path: string): void {
    const { ts } = this.fitted('save()');
    saveModelWithTrainset(path, 'ease', ts, { ...this.params }, {}, { Bt: this.bt! }, ts.nItems);
  }

  static load(path: string): EASE {
    const s = readModelWithTrainset(path, 'ease');
    const model = modelFromSavedParams(path, s.params, (p) => new EASE(p));
    const n = s.ts.nItems;
    model.bt = s.need('Bt', n * n, 'f32') as Float32Array;
    model.ts = s.ts;
    return model;
  }
}

/**
 * The lower triangle (row-major, j ≤ i) of XᵀX for the rows of m (binary: x = 1), as a fresh
 * items × items Float32Array; the upper triangle is left 0. Columns of a Csr row are sorted, so
 * the pair (p ≥ q) lands at (indices[p], indices[q]) with indices[p] ≥ indices[q].
 */
export function gramLower(m: Csr, binary: boolean, signal?: AbortSignal): Float32Array {
  const n = m.cols, g = sharedFloat32(n * n), idx = m.indices, v = m.data;
  for (let u = 0; u < m.rows; u++) {
    if ((u & 1023) === 0) signal?.throwIfAborted();
    const a = m.indptr[u], b = m.indptr[u + 1];
    for (let p = a; p < b; p++) {
      const row = idx[p] * n, vp = binary ? 1 : v[p];
      for (let q = a; q <= p; q++) g[row + idx[q]] += binary ? 1 : vp * v[q];
    }
  }
  return g;
}

/** `rows` of m, in that order, as a new matrix. */
function rowsOf(m: Dense, rows: Int32Array): Dense {
  const d = m.cols, out = denseFrom(rows.length, d);
  for (let t = 0; t < rows.length; t++) out.data.set(m.data.subarray(rows[t] * d, rows[t] * d + d), t * d);
  return out;
}
