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
 * (Cholesky, inverse mode) on the engine with the fit's context, and B replaces P in place.
 *
 * Scoring: a user's scores are the sparse row x_u times B, i.e. the weighted sum of the rows B_i:
 * of the user's items — the segmentSum kernel (offsets per user, positions = items, weights =
 * x_ui), O(n_u·items) per user instead of the dense product's items². recommend runs it on the
 * calling thread (engine.runSync), recommendBatch through the engine for a block of users; the
 * top k of each row is ranking.ts's (seen items excluded, ties to the lower index). The model is
 * a HistoryRecommender: any history x scores as x·B.
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
import { denseFrom, sharedFloat32, sharedInt32 } from '../data/matrix.js';
import type { Interactions } from '../data/interactions.js';
import { resolveContext } from '../engine/context.js';
import type { FitOptions, ModelParams, Prediction, RecommendOptions, Recommendations } from './types.js';
import { ModelBase } from './base.js';
import { readParams } from './params.js';
import { candidateMask, checkIndex, checkK, noRecommendations, topKOf } from './ranking.js';
import { Trainset } from './trainset.js';
import { historiesToCsr, type History, type HistoryRecommender } from './history.js';
import { modelFromSavedParams, readModelWithTrainset, saveModelWithTrainset } from './modelFileTrainset.js';

export interface EaseParams {
  lambda: number;
  binary: boolean;
  memoryLimitGiB: number;
}

/** Bytes EASE's fit needs for n items: Gram (fp32) + inverse (fp32) + the reference Cholesky factor (fp64). */
function easeFitBytes(items: number): number {
  return 16 * items * items;
}

/** Largest typed array this code allocates in one piece (elements). */
const MAX_ELEMENTS = 2 ** 31 - 1;
/** Scores per segmentSum call in recommendBatch: at most this many floats (64 MiB). */
const SCORE_BLOCK_FLOATS = 16 * 2 ** 20;

const GiB = 2 ** 30;

export class EASE extends ModelBase implements HistoryRecommender {
  readonly name = 'ease';
  readonly predictsRatings = false;
  readonly params: EaseParams;
  /** B, items × items row-major: row i holds the weights item i gives to every item */
  private b: Float32Array | null = null;

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
    // B in place of P: B_ij = −P_ij / P_jj, diagonal 0
    const b = p.data, diag = new Float64Array(n);
    for (let j = 0; j < n; j++) diag[j] = b[j * n + j];
    for (let i = 0; i < n; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) b[row + j] = -b[row + j] / diag[j];
      b[row + i] = 0;
    }
    opts.onEpoch?.(1, 0);
    this.ts = ts;
    this.b = b;
  }

  private fitted(what: string): { ts: Trainset; b: Dense } {
    const ts = this.trainset(what);
    return { ts, b: { rows: ts.nItems, cols: ts.nItems, data: this.b! } };
  }

  /** The item-item weights B (items × items, B_ij = weight of item i in item j's score), a copy. */
  weights(): Dense {
    const { b } = this.fitted('weights()');
    return denseFrom(b.rows, b.cols, b.data);
  }

  private value(v: number): number {
    return this.params.binary ? 1 : v;
  }

  predict(user: number, item: number): Prediction {
    const { ts, b } = this.fitted('predict()');
    checkIndex(this.name, 'item', item, ts.nItems);
    if (!ts.knowsUser(user)) return { estimate: 0, impossible: true, reason: 'user unknown' };
    const n = b.cols, m = ts.ur;
    let s = 0;
    for (let p = m.indptr[user]; p < m.indptr[user + 1]; p++) s += this.value(m.data[p]) * b.data[m.indices[p] * n + item];
    return { estimate: s, impossible: false };
  }

  /** The top k for one training user (unknown users get none), scored by segmentSum on the calling thread. */
  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const { ts } = this.fitted('recommend()');
    checkK(this.name, k);
    if (!ts.knowsUser(user)) return noRecommendations();
    const one = Int32Array.of(user);
    const scores = resolveContext(opts).engine.runSync('segmentSum', this.scoreArgs(ts.ur, one), { signal: opts.signal });
    return topKOf(k, (i) => scores.data[i], candidateMask(this.name, ts.nItems, ts.userItems(user), opts));
  }

  recommendForHistory(history: History, k: number, opts: RecommendOptions = {}): Recommendations {
    const { ts } = this.fitted('recommendForHistory()');
    checkK(this.name, k);
    const m = historiesToCsr([history], ts.nItems);
    const scores = resolveContext(opts).engine.runSync('segmentSum', this.scoreArgs(m, Int32Array.of(0)), { signal: opts.signal });
    return topKOf(k, (i) => scores.data[i], candidateMask(this.name, ts.nItems, m.indices, opts));
  }

  /** recommend() for many users: their scores by segmentSum through the engine (the context's backend), in blocks. */
  async recommendBatch(users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    const { ts } = this.fitted('recommendBatch()');
    checkK(this.name, k);
    for (const u of users) checkIndex(this.name, 'user', u, ts.users.size);
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
    return this.rankBatch(histories, Int32Array.from({ length: histories.rows }, (_, r) => r), k, opts);
  }

  /** segmentSum's args for the scores of rows `rows` of m: x_r·B = Σ_i x_ri·B_i: */
  private scoreArgs(m: Csr, rows: Int32Array) {
    const { b } = this.fitted('scoring');
    const offsets = new Int32Array(rows.length + 1);
    rows.forEach((r, t) => { offsets[t + 1] = offsets[t] + (m.indptr[r + 1] - m.indptr[r]); });
    const positions = sharedInt32(offsets[rows.length]), weights = sharedFloat32(offsets[rows.length]);
    rows.forEach((r, t) => {
      for (let p = m.indptr[r], w = offsets[t]; p < m.indptr[r + 1]; p++, w++) { positions[w] = m.indices[p]; weights[w] = this.value(m.data[p]); }
    });
    return { src: b, offsets, positions, weights };
  }

  /** Rows `rows` of m scored through the engine in blocks of ≤ 64 MiB of scores, each row's top k by ranking.ts. */
  private async rankBatch(m: Csr, rows: Int32Array, k: number, opts: RecommendOptions): Promise<Recommendations[]> {
    const ctx = resolveContext(opts);
    const n = m.cols, out: Recommendations[] = [];
    const block = Math.max(1, Math.floor(SCORE_BLOCK_FLOATS / Math.max(1, n)));
    for (let at = 0; at < rows.length; at += block) {
      const part = rows.subarray(at, Math.min(rows.length, at + block));
      const scores = await ctx.engine.run('segmentSum', this.scoreArgs(m, part), { backend: ctx.backend, signal: ctx.signal });
      part.forEach((r, t) => {
        const row = scores.data.subarray(t * n, (t + 1) * n);
        out.push(topKOf(k, (i) => row[i], candidateMask(this.name, n, m.indices.subarray(m.indptr[r], m.indptr[r + 1]), opts)));
      });
    }
    return out;
  }

  /** Save to the AFFM file (docs/model-format.md): kind 'ease', arrays B (items², row-major) and the training matrix. */
  save(path: string): void {
    const { ts } = this.fitted('save()');
    saveModelWithTrainset(path, 'ease', ts, { ...this.params }, {}, { B: this.b! }, ts.nItems);
  }

  static load(path: string): EASE {
    const s = readModelWithTrainset(path, 'ease');
    const model = modelFromSavedParams(path, s.params, (p) => new EASE(p));
    const n = s.ts.nItems;
    model.b = s.need('B', n * n, 'f32') as Float32Array;
    model.ts = s.ts;
    return model;
  }
}

/**
 * The lower triangle (row-major, j ≤ i) of XᵀX for the rows of m (binary: x = 1), as a fresh
 * items × items Float32Array; the upper triangle is left 0. Columns of a Csr row are sorted, so
 * the pair (p ≥ q) lands at (indices[p], indices[q]) with indices[p] ≥ indices[q].
 */
function gramLower(m: Csr, binary: boolean, signal?: AbortSignal): Float32Array {
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
