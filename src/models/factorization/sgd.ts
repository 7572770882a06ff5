/**
 * SGD-trained rating models, Surprise's algorithms and defaults (kernel sgdEpoch has the
 * exact update rules):
 *
 *   SVD    r̂ = μ + b_u + b_i + q_iᵀp_u; n_factors 100, n_epochs 20, lr_all 0.005,
 *          reg_all 0.02, init N(0, 0.1), biased true.
 *   SVDpp  r̂ = μ + b_u + b_i + q_iᵀ(p_u + |N(u)|^-½ Σ_{j∈N(u)} y_j); n_factors 20,
 *          n_epochs 20, lr_all 0.007, reg_all 0.02, init N(0, 0.1).
 *   NMF    r̂ = q_iᵀp_u (biased false, Surprise's default), multiplicative updates;
 *          n_factors 15, n_epochs 50, reg_pu = reg_qi = 0.06, reg_bu = reg_bi = 0.02,
 *          lr_bu = lr_bi = 0.005, init U[0, 1).
 *
 * Predictions are clipped to the training rating range, as Surprise clips to the rating
 * scale. Unknown user or item: SVD/SVDpp use μ plus whichever bias is known (Surprise's
 * estimate), NMF the global mean; `impossible` says so.
 *
 * Visiting order per epoch ('order'): 'shuffle' (a fresh seeded permutation each epoch;
 * SVD's default), 'user' (users in a fresh random order, each user's ratings together in
 * random order; SVDpp's default — grouping by user lets the kernel update y_j lazily, O(f) per
 * rating), 'fixed' (input order), 'surprise' (Surprise's trainset.all_ratings(), the same every
 * epoch: users in the order they first appear in the training data, each user's ratings in input
 * order). 'surprise' is the setting that reproduces Surprise's SVD/SVDpp visiting order; the
 * initial factors still differ (Surprise draws them from numpy's generator), so results agree in
 * distribution, not bit for bit. On ML-100k 5-fold (split seed 0, init seed 0) SVD's RMSE is
 * 0.9379 with either 'shuffle' or 'surprise'; Surprise reports 0.934.
 *
 * Curriculum (SVD/SVDpp): 'item-popularity' (ratings of popular items first), 'user-activity'
 * (ratings of active users first) or 'loss' (lowest current squared error first, re-ranked
 * every epoch). Epoch e (0-based) trains on the easiest fraction
 *   linear: c(e) = s + (1 − s)·min(1, e / E)      root: c(e) = √(s² + (1 − s²)·min(1, e / E))
 * of the examples (s = curriculumStart, E = curriculumEpochs, default ⌈n_epochs/2⌉), visited
 * in the 'order' above. balanceGamma γ > 0 weights each rating by pop_i^−γ (mean weight 1).
 *
 * onEpoch(epoch, loss): training RMSE of the epoch (errors before each update).
 */
import type { Csr } from '../../data/matrix.js';
import type { Interactions } from '../../data/interactions.js';
import type { FitOptions, ModelParams, Prediction } from '../types.js';
import { resolveContext, type Context } from '../../engine/context.js';
import type { SgdAlgorithm, SgdEpochArgs, SgdRates } from '../../kernels/sgdEpoch.js';
import type { Trainset } from '../trainset.js';
import { FactorizationModel, allFinite, checkAbort, loadModel, needArray, tick, type Side } from './base.js';
import type { ModelArray } from './format.js';
import { readParams, factorsSpec, seedSpec, nonNeg, positive, count, deterministicSpec, type ParamTable } from '../params.js';
import { Rng } from '../../data/random.js';
import { checkPacing, curriculumFraction, pacingParams, popularityWeights, sortByKey } from '../curriculum.js';

export type SgdOrder = 'shuffle' | 'user' | 'fixed' | 'surprise';
export type Curriculum = 'none' | 'item-popularity' | 'user-activity' | 'loss';

export interface SgdOptions {
  factors: number;
  epochs: number;
  lrAll: number;
  regAll: number;
  lrBu?: number; lrBi?: number; lrPu?: number; lrQi?: number; lrYj?: number;
  regBu?: number; regBi?: number; regPu?: number; regQi?: number; regYj?: number;
  initMean: number;
  initStd: number;
  initLow: number;
  initHigh: number;
  biased: boolean;
  order: SgdOrder;
  curriculum: Curriculum;
  curriculumPacing: 'linear' | 'root';
  curriculumStart: number;
  curriculumEpochs: number;
  balanceGamma: number;
  /** SGD passes for foldInUser/foldInItem/partialFit (0: n_epochs) */
  foldInEpochs: number;
  /** true (default): sequential SGD, bit-identical run to run; false: 'svd' epochs as Hogwild over the engine's threads (sgdEpoch `parallel`; svdpp and nmf stay sequential) */
  deterministic: boolean;
  seed: number;
}

function table(d: { factors: number; epochs: number; lr: number; reg: number; order: SgdOrder; nmf?: boolean }): ParamTable {
  const t: ParamTable = {
    factors: factorsSpec(d.factors),
    epochs: count(['n_epochs', 'iterations', 'n_iter'], d.epochs),
    lrAll: positive(['lr_all', 'lr', 'learning_rate', 'learningRate'], d.lr),
    regAll: nonNeg(['reg_all', 'reg', 'regularization'], d.reg),
    lrBu: positive(['lr_bu']), lrBi: positive(['lr_bi']), lrPu: positive(['lr_pu']), lrQi: positive(['lr_qi']), lrYj: positive(['lr_yj']),
    regBu: nonNeg(['reg_bu']), regBi: nonNeg(['reg_bi']), regPu: nonNeg(['reg_pu']), regQi: nonNeg(['reg_qi']), regYj: nonNeg(['reg_yj']),
    initMean: { names: ['init_mean'], type: 'number', def: 0 },
    initStd: nonNeg(['init_std_dev', 'init_std'], 0.1),
    initLow: nonNeg(['init_low'], 0),
    initHigh: nonNeg(['init_high'], 1),
    biased: { names: [], type: 'bool', def: !d.nmf },
    order: { names: [], type: 'enum', def: d.order, choices: ['shuffle', 'user', 'fixed', 'surprise'] },
    curriculum: { names: [], type: 'enum', def: 'none', choices: ['none', 'item-popularity', 'user-activity', 'loss'] },
    ...pacingParams(),
    foldInEpochs: count(['fold_in_epochs'], 0),
    deterministic: deterministicSpec,
    seed: seedSpec,
  };
  return t;
}

const SVD_PARAMS = table({ factors: 100, epochs: 20, lr: 0.005, reg: 0.02, order: 'shuffle' });
const SVDPP_PARAMS = table({ factors: 20, epochs: 20, lr: 0.007, reg: 0.02, order: 'user' });
const NMF_PARAMS = table({ factors: 15, epochs: 50, lr: 0.005, reg: 0.02, order: 'shuffle', nmf: true });

interface Params {
  bu: Float32Array; bi: Float32Array; pu: Float32Array; qi: Float32Array; yj?: Float32Array;
}

abstract class SgdModel extends FactorizationModel {
  readonly predictsRatings = true;
  protected readonly opts: SgdOptions;
  protected abstract readonly algorithm: SgdAlgorithm;
  protected bu: Float32Array = new Float32Array(0);
  protected bi: Float32Array = new Float32Array(0);
  protected yj: Float32Array | null = null;
  private growRng: Rng;

  constructor(tbl: ParamTable, name: string, params?: Partial<SgdOptions> | ModelParams) {
    super();
    const o = readParams<SgdOptions>(name, params as Record<string, unknown>, tbl);
    checkPacing(name, o);
    if (o.initHigh < o.initLow) throw new RangeError(`${name}: init_high (${o.initHigh}) must be ≥ init_low (${o.initLow})`);
    this.opts = o;
    this.growRng = new Rng(o.seed ^ 0x68e31da4);
  }

  get params(): ModelParams {
    const out: ModelParams = {};
    for (const [k, v] of Object.entries(this.opts)) if (v !== undefined) out[k] = v as number | string | boolean;
    return out;
  }

  protected get rates(): { lr: SgdRates; reg: SgdRates } {
    const o = this.opts;
    const nmf = this.algorithm === 'nmf';
    return {
      lr: { bu: o.lrBu ?? o.lrAll, bi: o.lrBi ?? o.lrAll, pu: o.lrPu ?? o.lrAll, qi: o.lrQi ?? o.lrAll, yj: o.lrYj ?? o.lrAll },
      reg: {
        bu: o.regBu ?? o.regAll, bi: o.regBi ?? o.regAll,
        pu: o.regPu ?? (nmf ? 0.06 : o.regAll), qi: o.regQi ?? (nmf ? 0.06 : o.regAll), yj: o.regYj ?? o.regAll,
      },
    };
  }

  protected get biased(): boolean { return this.algorithm === 'svdpp' ? true : this.opts.biased; }

  private initValue(rng: Rng): number {
    const o = this.opts;
    return this.algorithm === 'nmf' ? o.initLow + (o.initHigh - o.initLow) * rng.next() : o.initMean + o.initStd * rng.normalScaled();
  }

  protected initNew(): number { return this.initValue(this.growRng); }

  protected override growExtra(side: Side, n: number): void {
    if (side === 'user') { const b = new Float32Array(n); b.set(this.bu); this.bu = b; }
    else {
      const b = new Float32Array(n); b.set(this.bi); this.bi = b;
      if (this.yj) { const y = new Float32Array(n * this.dimI); y.set(this.yj); this.yj = y; }
    }
  }

  private learningRateText(): string {
    const { lr } = this.rates;
    return this.algorithm === 'nmf' ? `lr_bu ${lr.bu}, lr_bi ${lr.bi} (multiplicative factor updates)` : `lr_all ${this.opts.lrAll}${lr.pu !== this.opts.lrAll || lr.qi !== this.opts.lrAll ? ` (lr_pu ${lr.pu}, lr_qi ${lr.qi})` : ''}`;
  }

  async fit(train: Interactions, fitOpts: FitOptions = {}): Promise<void> {
    const prep = this.prepare(train);
    const o = this.opts, F = o.factors;
    const rng = new Rng(o.seed);
    const nU = prep.nUsers, nI = prep.nItems;
    const pu = new Float32Array(nU * F), qi = new Float32Array(nI * F);
    for (let k = 0; k < pu.length; k++) pu[k] = this.initValue(rng);
    for (let k = 0; k < qi.length; k++) qi[k] = this.initValue(rng);
    let yj: Float32Array | undefined;
    if (this.algorithm === 'svdpp') { yj = new Float32Array(nI * F); for (let k = 0; k < yj.length; k++) yj[k] = this.initValue(rng); }
    const state: Params = { bu: new Float32Array(nU), bi: new Float32Array(nI), pu, qi, yj };
    const n = train.user.length;
    const weight = this.balanceWeights(train.item, prep.itemCount);
    const { lr, reg } = this.rates;
    const args: SgdEpochArgs = {
      algorithm: this.algorithm, factors: F, user: train.user, item: train.item, rating: train.rating, weight,
      order: new Int32Array(0), globalMean: prep.globalMean, biased: this.biased, lr, reg, ...state,
      implicitItems: this.algorithm === 'svdpp' ? prep.ur : undefined,
      // Hogwild over the engine's threads when asked for (svd only: svdpp and nmf have no parallel kernel)
      parallel: !o.deterministic && this.algorithm === 'svd',
    };
    const curriculum = this.algorithm === 'nmf' ? 'none' : o.curriculum;
    const ranked = curriculum === 'item-popularity' || curriculum === 'user-activity' ? this.rankStatic(train, prep, curriculum) : null;
    const all = new Int32Array(n);
    for (let k = 0; k < n; k++) all[k] = k;
    const buf = new Int32Array(n);
    const rank = new Int32Array(nU);
    const ctx = resolveContext(fitOpts);
    for (let e = 0; e < o.epochs; e++) {
      checkAbort(ctx.signal);
      let pool: Int32Array = all, m = n;
      if (curriculum !== 'none') {
        m = Math.max(1, Math.ceil(this.pacing(e) * n));
        pool = curriculum === 'loss' ? this.rankByLoss(train, prep, state) : ranked!;
      }
      args.order = this.visitOrder(pool, m, train.user, nU, rng, buf, rank);
      // one epoch on the engine's fastest backend for sgdEpoch (updates args' arrays in place)
      const out = await ctx.engine.run('sgdEpoch', args, { backend: ctx.backend, signal: ctx.signal });
      const rmse = Math.sqrt(out[0] / m);
      if (!Number.isFinite(rmse) || !allFinite(pu) || !allFinite(qi) || !allFinite(state.bu) || !allFinite(state.bi) || (yj && !allFinite(yj))) {
        throw new Error(`${this.name}: training diverged at epoch ${e + 1} of ${o.epochs} (training RMSE ${rmse}) with learning rate ${this.learningRateText()}; lower the learning rate. The model is unchanged.`);
      }
      fitOpts.onEpoch?.(e + 1, rmse);
      await tick();
    }
    this.bu = state.bu; this.bi = state.bi; this.yj = yj ?? null;
    this.commit(prep, pu, qi, F, F);
  }

  private balanceWeights(item: Int32Array, itemCount: Int32Array): Float32Array | undefined {
    return this.algorithm === 'nmf' ? undefined : popularityWeights(item, itemCount, this.opts.balanceGamma);
  }

  /** fraction of the (ranked) examples used in epoch e */
  pacing(e: number): number {
    return curriculumFraction(e, this.opts.epochs, this.opts);
  }

  private rankStatic(train: Interactions, prep: Trainset, kind: Curriculum): Int32Array {
    const n = train.user.length;
    const key = new Float64Array(n);
    for (let k = 0; k < n; k++) key[k] = kind === 'item-popularity' ? -prep.itemCount[train.item[k]] : -prep.userCount[train.user[k]];
    return sortByKey(key);
  }

  private rankByLoss(train: Interactions, prep: Trainset, s: Params): Int32Array {
    const F = this.opts.factors, n = train.user.length;
    const eff = this.algorithm === 'svdpp' ? effectiveUsers(s.pu, s.yj!, prep.ur, F) : s.pu;
    const mu = this.biased ? prep.globalMean : 0;
    const key = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const u = train.user[k], i = train.item[k];
      let dot = 0;
      for (let f = 0; f < F; f++) dot += eff[u * F + f] * s.qi[i * F + f];
      const err = train.rating[k] - (this.biased ? mu + s.bu[u] + s.bi[i] + dot : dot);
      key[k] = err * err;
    }
    return sortByKey(key);
  }

  /** the first m of `pool`, in this model's visiting order */
  private visitOrder(pool: Int32Array, m: number, user: Int32Array, nU: number, rng: Rng, buf: Int32Array, rank: Int32Array): Int32Array {
    const order = this.opts.order;
    if (order === 'fixed') {
      buf.set(pool.subarray(0, m));
      return buf.subarray(0, m).sort();
    }
    if (order === 'surprise') {
      // Surprise's all_ratings(): users by first appearance in input order, each user's ratings in input order
      const sel = pool.slice(0, m).sort();
      rank.fill(-1);
      let next = 0;
      for (let t = 0; t < m; t++) if (rank[user[sel[t]]] < 0) rank[user[sel[t]]] = next++;
      const start = new Int32Array(next + 1);
      for (let t = 0; t < m; t++) start[rank[user[sel[t]]] + 1]++;
      for (let r = 0; r < next; r++) start[r + 1] += start[r];
      for (let t = 0; t < m; t++) buf[start[rank[user[sel[t]]]]++] = sel[t];
      return buf.subarray(0, m);
    }
    const sel = pool.slice(0, m);
    rng.scaledShuffle(sel);
    if (order === 'shuffle') { buf.set(sel); return buf.subarray(0, m); }
    // grouped by user: users in random order (counting sort on a random rank, stable)
    for (let u = 0; u < nU; u++) rank[u] = u;
    rng.scaledShuffle(rank);
    const start = new Int32Array(nU + 1);
    for (let t = 0; t < m; t++) start[rank[user[sel[t]]] + 1]++;
    for (let r = 0; r < nU; r++) start[r + 1] += start[r];
    for (let t = 0; t < m; t++) buf[start[rank[user[sel[t]]]]++] = sel[t];
    return buf.subarray(0, m);
  }

  // ---- prediction

  /** p_u + |N(u)|^-½ Σ y_j for SVD++ (derived state), p_u otherwise */
  protected effectiveP(): Float32Array {
    if (this.algorithm !== 'svdpp') return this.P;
    return this.derive('effectiveP', () => effectiveUsers(this.P, this.yj!, this.seen, this.dimU));
  }

  predict(user: number, item: number): Prediction {
    this.requireFitted('predict()');
    const uk = this.userKnown(user), ik = this.itemKnown(item);
    if (!this.biased && (!uk || !ik)) return { estimate: this.globalMean, impossible: true, reason: !uk ? 'user unknown' : 'item unknown' };
    let est = this.biased ? this.globalMean : 0;
    if (this.biased && uk) est += this.bu[user];
    if (this.biased && ik) est += this.bi[item];
    if (uk && ik) {
      const F = this.dimU, P = this.effectiveP(), Q = this.Q;
      let dot = 0;
      for (let f = 0; f < F; f++) dot += Q[item * F + f] * P[user * F + f];
      est += dot;
      return { estimate: this.clip(est), impossible: false };
    }
    return { estimate: this.clip(est), impossible: true, reason: !uk && !ik ? 'user and item unknown' : !uk ? 'user unknown' : 'item unknown' };
  }

  protected userQuery(u: number): Float32Array {
    const F = this.dimU, P = this.effectiveP();
    if (!this.biased) return P.slice(u * F, u * F + F);
    const q = new Float32Array(F + 1);
    q.set(P.subarray(u * F, u * F + F));
    q[F] = 1;
    return q;
  }

  protected override buildScoringItems() {
    const F = this.dimI;
    if (!this.biased) return this.itemFactors;
    const data = new Float32Array(this.nItems * (F + 1));
    for (let i = 0; i < this.nItems; i++) {
      data.set(this.Q.subarray(i * F, i * F + F), i * (F + 1));
      data[i * (F + 1) + F] = this.bi[i];
    }
    return { rows: this.nItems, cols: F + 1, data };
  }

  protected override scoreOffset(u: number): number {
    return this.biased ? this.globalMean + this.bu[u] : 0;
  }

  // ---- updates

  private get foldEpochs(): number { return this.opts.foldInEpochs > 0 ? this.opts.foldInEpochs : this.opts.epochs; }

  /** SGD passes (sgdEpoch on the engine, calling thread) over the full training rows of `users`, item-side parameters fixed */
  private userPass(users: ArrayLike<number>, ctx: Context): void {
    const ex = rowsToExamples(this.seen, users);
    if (ex.user.length === 0) return;
    const rng = new Rng((this.opts.seed ^ 0x1234567 ^ (users[0] * 2654435761)) >>> 0);
    const { lr, reg } = this.rates;
    const args: SgdEpochArgs = {
      algorithm: this.algorithm, factors: this.dimU, ...ex, order: ex.order, globalMean: this.globalMean, biased: this.biased, lr, reg,
      bu: this.bu, bi: this.bi, pu: this.P, qi: this.Q, yj: this.yj ?? undefined, implicitItems: this.algorithm === 'svdpp' ? this.seen : undefined, update: 'users',
    };
    for (let e = 0; e < this.foldEpochs; e++) {
      if (this.algorithm !== 'nmf') shuffleGrouped(ex.order, ex.user, rng);
      ctx.engine.runSync('sgdEpoch', args, { signal: ctx.signal });
    }
  }

  /** SGD passes over the full training columns of `items`, user-side parameters fixed (roles swapped) */
  private itemPass(items: ArrayLike<number>, ctx: Context): void {
    const ex = rowsToExamples(this.trainset().ir, items);
    if (ex.user.length === 0) return;
    const rng = new Rng((this.opts.seed ^ 0x7654321 ^ (items[0] * 2654435761)) >>> 0);
    const { lr, reg } = this.rates;
    const swap = (r: SgdRates): SgdRates => ({ bu: r.bi, bi: r.bu, pu: r.qi, qi: r.pu, yj: r.yj });
    const args: SgdEpochArgs = {
      algorithm: this.algorithm === 'svdpp' ? 'svd' : this.algorithm, factors: this.dimU, ...ex, order: ex.order,
      globalMean: this.globalMean, biased: this.biased, lr: swap(lr), reg: swap(reg),
      bu: this.bi, bi: this.bu, pu: this.Q, qi: this.effectiveP(), update: 'users',
    };
    for (let e = 0; e < this.foldEpochs; e++) {
      if (this.algorithm !== 'nmf') shuffleGrouped(ex.order, ex.user, rng);
      ctx.engine.runSync('sgdEpoch', args, { signal: ctx.signal });
    }
  }

  /** a fold-in needs ratings (a rating model) */
  protected override foldInValues(what: string, idx: number[], ratings: number[] | undefined): number[] {
    if (!ratings) throw new RangeError(`${this.name}: ${what} needs ratings (a rating model)`);
    return super.foldInValues(what, idx, ratings);
  }

  /** a repeated pair's rating is replaced */
  protected readonly mergeMode = 'replace' as const;

  /** a new item's implicit factor y_j starts at 0 */
  protected override clearRow(side: Side, r: number): void {
    if (side === 'item' && this.yj) this.yj.fill(0, r * this.dimI, (r + 1) * this.dimI);
  }

  /** `fold_in_epochs` SGD passes over the rows' ratings, the other side fixed */
  protected refitRows(side: Side, rows: number[], ctx: Context): void {
    if (side === 'user') this.userPass(rows, ctx); else this.itemPass(rows, ctx);
  }

  // ---- persistence

  protected override extraArrays(): Record<string, ModelArray> {
    const a: Record<string, ModelArray> = { bu: this.bu, bi: this.bi };
    if (this.yj) a.yj = this.yj;
    return a;
  }

  protected override restoreExtra(arrays: Record<string, ModelArray>): void {
    this.bu = needArray(arrays, 'bu', this.nUsers);
    this.bi = needArray(arrays, 'bi', this.nItems);
    this.yj = this.algorithm === 'svdpp' ? needArray(arrays, 'yj', this.nItems * this.dimI) : null;
  }
}

/** p_u + |N(u)|^-½ Σ_{j∈N(u)} y_j for every user */
function effectiveUsers(pu: Float32Array, yj: Float32Array, seen: Csr, F: number): Float32Array {
  const out = new Float32Array(pu.length);
  const acc = new Float64Array(F);
  for (let u = 0; u < seen.rows; u++) {
    const s = seen.indptr[u], e = seen.indptr[u + 1];
    acc.fill(0);
    for (let q = s; q < e; q++) { const jo = seen.indices[q] * F; for (let f = 0; f < F; f++) acc[f] += yj[jo + f]; }
    const c = e > s ? 1 / Math.sqrt(e - s) : 0;
    for (let f = 0; f < F; f++) out[u * F + f] = pu[u * F + f] + c * acc[f];
  }
  return out;
}

/** the entries of `rows` of m as examples (user = row, item = column) with an order array */
function rowsToExamples(m: Csr, rows: ArrayLike<number>): { user: Int32Array; item: Int32Array; rating: Float32Array; order: Int32Array } {
  let n = 0;
  for (let t = 0; t < rows.length; t++) n += m.indptr[rows[t] + 1] - m.indptr[rows[t]];
  const user = new Int32Array(n), item = new Int32Array(n), rating = new Float32Array(n), order = new Int32Array(n);
  let w = 0;
  for (let t = 0; t < rows.length; t++) {
    const r = rows[t];
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) { user[w] = r; item[w] = m.indices[p]; rating[w] = m.data[p]; order[w] = w; w++; }
  }
  return { user, item, rating, order };
}

/** shuffle examples within each run of equal `user` (runs stay in place) */
function shuffleGrouped(order: Int32Array, user: Int32Array, rng: Rng): void {
  let s = 0;
  while (s < order.length) {
    let e = s + 1;
    while (e < order.length && user[order[e]] === user[order[s]]) e++;
    for (let k = e - 1; k > s; k--) { const j = s + rng.scaledInt(k - s + 1); const t = order[k]; order[k] = order[j]; order[j] = t; }
    s = e;
  }
}

export class SVD extends SgdModel {
  readonly name = 'svd';
  protected readonly algorithm = 'svd' as const;
  constructor(params?: Partial<SgdOptions> | ModelParams) { super(SVD_PARAMS, 'svd', params); }
  static load(path: string): SVD { return loadModel(path, 'svd', (p) => new SVD(p)); }
}

export class SVDpp extends SgdModel {
  readonly name = 'svdpp';
  protected readonly algorithm = 'svdpp' as const;
  constructor(params?: Partial<SgdOptions> | ModelParams) { super(SVDPP_PARAMS, 'svdpp', params); }
  static load(path: string): SVDpp { return loadModel(path, 'svdpp', (p) => new SVDpp(p)); }
}

export class NMF extends SgdModel {
  readonly name = 'nmf';
  protected readonly algorithm = 'nmf' as const;
  constructor(params?: Partial<SgdOptions> | ModelParams) { super(NMF_PARAMS, 'nmf', params); }
  static load(path: string): NMF { return loadModel(path, 'nmf', (p) => new NMF(p)); }
}
