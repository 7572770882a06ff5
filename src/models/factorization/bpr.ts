/**
 * BPR — Bayesian Personalized Ranking (Rendle et al. 2009) as implicit 0.7's
 * BayesianPersonalizedRanking: factors 100, learning_rate 0.01, regularization 0.01,
 * iterations 100, verify_negative_samples true; factor rows carry an extra column for the
 * item bias (users' entry fixed at 1); init (U[0,1) − 0.5) / factors, zero rows for users
 * and items without interactions. Each iteration takes nnz steps of kernel bprEpoch.
 *
 * Negative sampling: negativeBeta β — P(j) ∝ popularity(j)^β. β = 1 (default) is exactly
 * implicit's scheme (j = the item of a uniformly drawn interaction); β = 0 is Rendle's
 * uniform sampling over all items; other β use a cumulative table.
 *
 * predict() returns the score x_uᵀy_i (+ b_i) — a ranking score, not a rating.
 * onEpoch(iteration, loss): mean −ln σ(x_uij) over the iteration's (non-skipped) steps.
 * deterministic: true (default) is sequential and bit-identical run to run; false runs each epoch
 * as Hogwild over the engine's threads (implicit's multithreaded scheme; bprEpoch `parallel`).
 */
import type { Csr } from '../../data/matrix.js';
import { csrFromTriplets } from '../../data/matrix.js';
import type { Interactions } from '../../data/interactions.js';
import type { FitOptions, ModelParams, Prediction } from '../types.js';
import { resolveContext, type Context } from '../../engine/context.js';
import type { BprEpochArgs } from '../../kernels/bprEpoch.js';
import { FactorizationModel, allFinite, checkAbort, loadModel, tick, type Side } from './base.js';
import { readParams, factorsSpec, seedSpec, nonNeg, positive, count, deterministicSpec, type ParamTable } from '../params.js';
import { Rng } from '../../data/random.js';

export interface BprOptions {
  factors: number;
  learningRate: number;
  regularization: number;
  iterations: number;
  verifyNegative: boolean;
  negativeBeta: number;
  /** iterations for foldInUser/foldInItem/partialFit (0: iterations) */
  foldInIterations: number;
  /** true (default): sequential SGD, bit-identical run to run; false: Hogwild over the engine's threads (bprEpoch `parallel`) */
  deterministic: boolean;
  seed: number;
}

const BPR_PARAMS: ParamTable = {
  factors: factorsSpec(100),
  learningRate: positive(['learning_rate', 'lr', 'lr_all'], 0.01),
  regularization: nonNeg(['reg', 'reg_all', 'regularization'], 0.01),
  iterations: count(['n_epochs', 'epochs', 'n_iter'], 100),
  verifyNegative: { names: ['verify_negative_samples', 'verify_negative'], type: 'bool', def: true },
  negativeBeta: nonNeg(['negative_beta', 'beta'], 1),
  foldInIterations: count(['fold_in_iterations', 'fold_in_epochs'], 0),
  deterministic: deterministicSpec,
  seed: seedSpec,
};

function entryUsers(m: Csr): Int32Array {
  const out = new Int32Array(m.indptr[m.rows]);
  for (let u = 0; u < m.rows; u++) out.fill(u, m.indptr[u], m.indptr[u + 1]);
  return out;
}

export class BPR extends FactorizationModel {
  readonly name = 'bpr';
  readonly predictsRatings = false;
  protected readonly opts: BprOptions;
  private growRng: Rng;
  private stepRng: Uint32Array;

  constructor(params?: Partial<BprOptions> | ModelParams) {
    super();
    this.opts = readParams<BprOptions>('bpr', params as Record<string, unknown>, BPR_PARAMS);
    this.growRng = new Rng(this.opts.seed ^ 0x3c6ef372);
    this.stepRng = new Rng(this.opts.seed ^ 0x1b873593).fork();
  }

  get params(): ModelParams { return { ...this.opts }; }

  private negatives(itemCount: Int32Array): Pick<BprEpochArgs, 'negatives' | 'negativeCdf'> {
    const beta = this.opts.negativeBeta;
    if (beta === 1) return { negatives: 'popularity' };
    const cdf = new Float64Array(itemCount.length);
    let s = 0;
    for (let i = 0; i < cdf.length; i++) { s += itemCount[i] > 0 ? Math.pow(itemCount[i], beta) : beta === 0 ? 1 : 0; cdf[i] = s; }
    for (let i = 0; i < cdf.length; i++) cdf[i] /= s;
    return { negatives: 'table', negativeCdf: cdf };
  }

  async fit(train: Interactions, fitOpts: FitOptions = {}): Promise<void> {
    const prep = this.prepare(train);
    const F = this.opts.factors, D = F + 1;
    const rng = new Rng(this.opts.seed);
    const nU = prep.nUsers, nI = prep.nItems;
    const Y = new Float32Array(nI * D), X = new Float32Array(nU * D);
    for (let k = 0; k < Y.length; k++) Y[k] = (rng.next() - 0.5) / F;
    for (let i = 0; i < nI; i++) if (prep.itemCount[i] === 0) Y.fill(0, i * D, i * D + D);
    for (let k = 0; k < X.length; k++) X[k] = (rng.next() - 0.5) / F;
    for (let u = 0; u < nU; u++) { if (prep.userCount[u] === 0) X.fill(0, u * D, u * D + D); X[u * D + F] = 1; }
    const nnz = prep.ur.indptr[nU];
    const args: BprEpochArgs = {
      userItems: prep.ur, entryUser: entryUsers(prep.ur), userFactors: X, itemFactors: Y, factors: F,
      learningRate: this.opts.learningRate, regularization: this.opts.regularization, verifyNegative: this.opts.verifyNegative,
      ...this.negatives(prep.itemCount), samples: nnz, rng: rng.fork(), parallel: !this.opts.deterministic,
    };
    const ctx = resolveContext(fitOpts);
    for (let e = 0; e < this.opts.iterations; e++) {
      checkAbort(ctx.signal);
      // one epoch on the engine's fastest backend for bprEpoch (updates args' arrays in place);
      // out = [correctly ordered pairs, skipped samples, Σ −ln σ(x_uij)]
      const out = await ctx.engine.run('bprEpoch', args, { backend: ctx.backend, signal: ctx.signal });
      const used = nnz - out[1];
      const loss = used > 0 ? out[2] / used : 0;
      if (!Number.isFinite(loss) || !allFinite(X) || !allFinite(Y)) {
        throw new Error(`bpr: training diverged at iteration ${e + 1} of ${this.opts.iterations} (loss ${loss}) with learning rate ${this.opts.learningRate}; lower the learning rate. The model is unchanged.`);
      }
      fitOpts.onEpoch?.(e + 1, loss);
      await tick();
    }
    this.commit(prep, X, Y, D, D);
  }

  predict(user: number, item: number): Prediction {
    this.requireFitted('predict()');
    const uk = this.userKnown(user), ik = this.itemKnown(item);
    if (!uk || !ik) return { estimate: 0, impossible: true, reason: !uk ? 'user unknown' : 'item unknown' };
    const D = this.dimU;
    let s = 0;
    for (let k = 0; k < D; k++) s += this.P[user * D + k] * this.Q[item * D + k];
    return { estimate: s, impossible: false };
  }

  protected userQuery(u: number): Float32Array {
    return this.P.slice(u * this.dimU, (u + 1) * this.dimU);
  }

  protected initNew(side: 'user' | 'item', _r: number, c: number): number {
    const F = this.opts.factors;
    if (c === F) return side === 'user' ? 1 : 0;
    return (this.growRng.next() - 0.5) / F;
  }

  private get foldIters(): number { return this.opts.foldInIterations > 0 ? this.opts.foldInIterations : this.opts.iterations; }

  /** BPR steps (bprEpoch on the engine, calling thread) drawing positives from `positives` (rows = all users), updating per `update` */
  private steps(positives: Csr, update: BprEpochArgs['update'], ctx: Context): void {
    const nnz = positives.indptr[positives.rows];
    if (nnz === 0) return;
    const seen = this.seen;
    const args: BprEpochArgs = {
      userItems: positives, entryUser: entryUsers(positives), seen, popularityItems: seen.indices,
      userFactors: this.P, itemFactors: this.Q, factors: this.opts.factors,
      learningRate: this.opts.learningRate, regularization: this.opts.regularization, verifyNegative: this.opts.verifyNegative,
      ...this.negatives(this.trainset().itemCount), samples: nnz, rng: this.stepRng, update,
    };
    for (let e = 0; e < this.foldIters; e++) ctx.engine.runSync('bprEpoch', args, { signal: ctx.signal });
  }

  /** the training rows of `users` as positives (values 1), other rows empty */
  private rowsOf(users: number[]): Csr {
    const seen = this.seen;
    const uu: number[] = [], ii: number[] = [];
    for (const u of users) for (let p = seen.indptr[u]; p < seen.indptr[u + 1]; p++) { uu.push(u); ii.push(seen.indices[p]); }
    return csrFromTriplets(this.nUsers, this.nItems, uu, ii, uu.map(() => 1));
  }

  /** the training column of `item` as positives: one entry (u, item) per user u who has it */
  private columnOf(item: number): Csr {
    const ir = this.trainset().ir;
    const users = Array.from(ir.indices.subarray(ir.indptr[item], ir.indptr[item + 1]));
    return csrFromTriplets(this.nUsers, this.nItems, users, users.map(() => item), users.map(() => 1));
  }

  /** values of repeated pairs add up */
  protected readonly mergeMode = 'add' as const;

  /** users: BPR steps on their rows, items fixed; an item: steps updating only its row */
  protected refitRows(side: Side, rows: number[], ctx: Context): void {
    if (side === 'user') this.steps(this.rowsOf(rows), 'users', ctx);
    else for (const i of rows) this.steps(this.columnOf(i), 'positive', ctx);
  }

  /** partialFit: BPR steps drawing positives from the affected users' full rows, updating users and the items sampled */
  protected override refit(users: number[], _items: number[], ctx: Context): void {
    this.steps(this.rowsOf(users), 'all', ctx);
  }

  /** factor columns: the factors and the item-bias column */
  protected override get factorColumns(): number { return this.opts.factors + 1; }

  static load(path: string): BPR {
    return loadModel(path, 'bpr', (p) => new BPR(p));
  }
}
