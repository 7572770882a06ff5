/**
 * Alternating least squares.
 *
 * ALS — implicit feedback (Hu, Koren & Volinsky 2008), defaults of implicit 0.7's
 * AlternatingLeastSquares: factors 100, regularization 0.01, alpha 1, iterations 15,
 * use_cg true, cg_steps 3; factors initialised uniform [0, 1)·0.01 as implicit's source
 * does (`random_state.rand(n, factors) * 0.01`). Each iteration solves all users with the
 * items fixed, then all items with the users fixed (kernel alsHalfStep).
 *   confidence 'alpha' (default, implicit's convention): c_ui = α·r_ui
 *   confidence 'hu' (the paper's): c_ui = 1 + α·r_ui
 *   balanceGamma γ > 0 scales the rating part by w_i = pop_i^−γ / mean (popularity balancing).
 * predict() returns the preference score x_uᵀy_i (not a rating; predictsRatings = false).
 *
 * ExplicitALS — ratings with weighted-λ regularisation (ALS-WR, Zhou et al. 2008):
 *   min Σ (r_ui − x_uᵀy_i)² + λ(Σ n_u‖x_u‖² + Σ n_i‖y_i‖²); predict = clip(x_uᵀy_i).
 *   Defaults (Spark MLlib's, which also scales λ by n_u): factors 10, regularization 0.1,
 *   iterations 10, exact (Cholesky) solves.
 *
 * onEpoch(iteration, loss): the objective of alsLoss() (implicit: implicit's normalised
 * training loss) after the iteration. Computed only when onEpoch is given, inside the kernel's pass
 * (alsHalfStep `loss`): iteration t is reported during the user step of t + 1, the last after it.
 */
import type { Csr, Dense } from '../../data/matrix.js';
import { denseFrom, sharedFloat32 } from '../../data/matrix.js';
import { transposeCsr } from '../../data/csrBuild.js';
import type { Interactions } from '../../data/interactions.js';
import type { FitOptions, ModelParams, Prediction } from '../types.js';
import { alsLoss, alsLossFromRows, gramian, totalConfidence, type AlsHalfStepOutput, type AlsMode } from '../../kernels/alsHalfStep.js';
import { resolveContext, type Context } from '../../engine/context.js';
import { FactorizationModel, allFinite, checkAbort, loadModel, tick, type Side } from './base.js';
import type { PlannedArray } from '../memory.js';
import { readParams, factorsSpec, seedSpec, nonNeg, count, type ParamTable } from '../params.js';
import { Rng } from '../../data/random.js';

export interface AlsOptions {
  factors: number;
  regularization: number;
  alpha: number;
  iterations: number;
  useCg: boolean;
  cgSteps: number;
  confidence: 'alpha' | 'hu';
  balanceGamma: number;
  seed: number;
}

const common = (factors: number, reg: number, iters: number, cg: boolean): ParamTable => ({
  factors: factorsSpec(factors),
  regularization: nonNeg(['reg', 'reg_all', 'regularization', 'lambda'], reg),
  iterations: count(['n_epochs', 'epochs', 'iterations', 'n_iter'], iters),
  useCg: { names: ['use_cg', 'cg'], type: 'bool', def: cg },
  cgSteps: { names: ['cg_steps'], type: 'int', def: 3, above: 0, must: 'must be a positive integer' },
  seed: seedSpec,
});

const ALS_PARAMS: ParamTable = {
  ...common(100, 0.01, 15, true),
  alpha: nonNeg(['alpha'], 1.0),
  confidence: { names: [], type: 'enum', def: 'alpha', choices: ['alpha', 'hu'] },
  balanceGamma: nonNeg(['balance_gamma', 'gamma'], 0),
};
const EXPLICIT_PARAMS: ParamTable = {
  ...common(10, 0.1, 10, false),
};

abstract class AlsBase extends FactorizationModel {
  protected readonly opts: AlsOptions;
  protected abstract readonly mode: AlsMode;
  private growRng: Rng;

  constructor(table: ParamTable, name: string, params?: Partial<AlsOptions> | ModelParams) {
    super();
    this.opts = readParams<AlsOptions>(name, params as Record<string, unknown>, table);
    if (this.opts.alpha === undefined) { this.opts.alpha = 1; this.opts.confidence = 'alpha'; this.opts.balanceGamma = 0; }
    this.growRng = new Rng(this.opts.seed ^ 0x2545f491);
  }

  get params(): ModelParams {
    const o = this.opts;
    const p: ModelParams = { factors: o.factors, regularization: o.regularization, iterations: o.iterations, useCg: o.useCg, cgSteps: o.cgSteps, seed: o.seed };
    if (this.mode === 'implicit') Object.assign(p, { alpha: o.alpha, confidence: o.confidence, balanceGamma: o.balanceGamma });
    return p;
  }

  /** per-item weights pop^−γ normalised to mean 1 over interactions (null when γ = 0) */
  private itemWeights(itemCount: Int32Array): Float64Array | null {
    const g = this.opts.balanceGamma;
    if (this.mode !== 'implicit' || !g) return null;
    const w = new Float64Array(itemCount.length);
    let s = 0, n = 0;
    for (let i = 0; i < w.length; i++) if (itemCount[i] > 0) { w[i] = Math.pow(itemCount[i], -g); s += w[i] * itemCount[i]; n += itemCount[i]; }
    const mean = n > 0 ? s / n : 1;
    for (let i = 0; i < w.length; i++) w[i] /= mean;
    return w;
  }

  /**
   * The kernel's matrix: confidences (implicit) or ratings (explicit), of `seen` (users × items) or,
   * `byItem`, of its transpose (items × users: the item of an entry is then its row), value for value
   * the transpose of the users × items one — so the item side needs no transpose of its own.
   */
  protected toSolverMatrix(seen: Csr, itemCount: Int32Array, byItem = false): Csr {
    if (this.mode === 'explicit') return seen;
    const { alpha, confidence } = this.opts;
    const w = this.itemWeights(itemCount);
    const nz = seen.indptr[seen.rows];
    // on shared memory: the native backend reads it in place (an ordinary buffer is copied for every call: pinnedCalls.ts)
    const data = sharedFloat32(nz);
    for (let row = 0; row < seen.rows; row++) {
      for (let p = seen.indptr[row], end = seen.indptr[row + 1]; p < end; p++) {
        const r = seen.data[p] * (w ? w[byItem ? row : seen.indices[p]] : 1);
        data[p] = confidence === 'hu' ? 1 + alpha * r : alpha * r;
      }
    }
    return { ...seen, data };
  }

  /** P and Q, and the factors × factors Gram matrix (float64) every half-step solves with */
  protected override fitArrays(users: number, items: number): PlannedArray[] {
    const F = this.opts.factors;
    return [...super.fitArrays(users, items), { what: `the Gram matrix (${F} × ${F} float64)`, values: F * F, bytesPerValue: 8 }];
  }

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    const prep = this.prepare(train);
    const F = this.opts.factors;
    const Cui = this.toSolverMatrix(prep.ur, prep.itemCount);
    // the trainset's items × users matrix is ur's transpose already: the same confidences, no transpose
    const Ciu = this.toSolverMatrix(prep.ir, prep.itemCount, true);
    const rng = new Rng(this.opts.seed);
    let X: Dense = denseFrom(prep.nUsers, F);
    let Y: Dense = denseFrom(prep.nItems, F);
    const ctx = resolveContext(opts);
    const runOpts = { backend: ctx.backend, signal: ctx.signal };
    for (let k = 0; k < X.data.length; k++) X.data[k] = rng.next() * 0.01;
    for (let k = 0; k < Y.data.length; k++) Y.data[k] = rng.next() * 0.01;
    const solver = this.opts.useCg ? 'cg' : 'cholesky';
    const lambda = this.opts.regularization;
    const mode = this.mode;
    // The loss, only when asked for, comes out of the kernel: the user step of iteration t + 1 evaluates
    // the objective at its starting factors (X_t, Y_t) in the pass it makes anyway (alsHalfStep `loss`),
    // so iteration t is reported then; after the last, one evaluation-only pass (solve: false).
    const onEpoch = opts.onEpoch;
    const confidence = onEpoch && mode === 'implicit' ? totalConfidence(Cui) : 0;
    const lossOf = (step: AlsHalfStepOutput, other: Dense): number => alsLossFromRows({ mode, matrix: Cui, other, regularization: lambda }, step.rowLoss!, confidence);
    for (let it = 0; it < this.opts.iterations; it++) {
      checkAbort(ctx.signal);
      // YᵀY / XᵀX (implicit) are left to the kernel: the native addon computes them in C++ over its threads
      const withLoss = onEpoch !== undefined && it > 0;
      const users = await ctx.engine.run('alsHalfStep', { mode, solver, cgSteps: this.opts.cgSteps, matrix: Cui, other: Y, regularization: lambda, initial: X, loss: withLoss }, runOpts);
      if (withLoss) onEpoch(it, lossOf(users, Y));
      X = users;
      Y = await ctx.engine.run('alsHalfStep', { mode, solver, cgSteps: this.opts.cgSteps, matrix: Ciu, other: X, regularization: lambda, initial: Y }, runOpts);
      if (!allFinite(X.data) || !allFinite(Y.data)) {
        throw new Error(`${this.name}: training diverged at iteration ${it + 1} (non-finite factors; regularization ${lambda}, no learning rate in ALS); the model is unchanged`);
      }
      await tick();
    }
    if (onEpoch) {
      const last = await ctx.engine.run('alsHalfStep', { mode, solver, cgSteps: this.opts.cgSteps, matrix: Cui, other: Y, regularization: lambda, initial: X, loss: true, solve: false }, runOpts);
      onEpoch(this.opts.iterations, lossOf(last, Y));
    }
    this.commit(prep, X.data, Y.data, F, F);
  }

  /** the objective alsLoss() of the current factors on the training data */
  trainingLoss(): number {
    this.requireFitted('trainingLoss()');
    return alsLoss({ mode: this.mode, matrix: this.toSolverMatrix(this.seen, this.trainset().itemCount), userFactors: this.userFactors, itemFactors: this.itemFactors, regularization: this.opts.regularization });
  }

  protected userQuery(u: number): Float32Array {
    return this.P.slice(u * this.dimU, (u + 1) * this.dimU);
  }

  protected dot(u: number, i: number): number {
    const F = this.dimU;
    let s = 0;
    for (let f = 0; f < F; f++) s += this.P[u * F + f] * this.Q[i * F + f];
    return s;
  }

  protected initNew(): number { return this.growRng.next() * 0.01; }

  /** exact (Cholesky) solve of `rows` of `matrix` against `other` (one alsHalfStep on the engine), written into `target` */
  private solveRows(matrix: Csr, rows: ArrayLike<number>, other: Dense, target: Float32Array, ctx: Context): void {
    const F = other.cols;
    const n = rows.length;
    if (n === 0) return;
    const indptr = new Int32Array(n + 1);
    for (let t = 0; t < n; t++) indptr[t + 1] = indptr[t] + matrix.indptr[rows[t] + 1] - matrix.indptr[rows[t]];
    const indices = new Int32Array(indptr[n]), data = new Float32Array(indptr[n]);
    for (let t = 0; t < n; t++) {
      const s = matrix.indptr[rows[t]], e = matrix.indptr[rows[t] + 1];
      indices.set(matrix.indices.subarray(s, e), indptr[t]);
      data.set(matrix.data.subarray(s, e), indptr[t]);
    }
    const sub: Csr = { rows: n, cols: matrix.cols, indptr, indices, data };
    const gram = this.mode === 'implicit' ? gramian(other) : undefined;
    const out = ctx.engine.runSync('alsHalfStep', { mode: this.mode, solver: 'cholesky', matrix: sub, other, gram, regularization: this.opts.regularization }, { signal: ctx.signal });
    for (let t = 0; t < n; t++) target.set(out.data.subarray(t * F, t * F + F), rows[t] * F);
  }

  /** implicit: values of repeated pairs add up; explicit: the new rating replaces the old */
  protected get mergeMode(): 'add' | 'replace' { return this.mode === 'implicit' ? 'add' : 'replace'; }

  protected override foldInValues(what: string, idx: number[], values: number[] | undefined): number[] {
    if (!values && this.mode === 'explicit') throw new RangeError(`${this.name}: ${what} needs ratings for an explicit model`);
    return super.foldInValues(what, idx, values);
  }

  /** a new row starts from 0 (the exact solve does not depend on it) */
  protected override clearRow(side: Side, r: number): void {
    if (side === 'user') this.P.fill(0, r * this.dimU, (r + 1) * this.dimU);
    else this.Q.fill(0, r * this.dimI, (r + 1) * this.dimI);
  }

  /** the exact least-squares solve of one ALS half step for `rows` */
  protected refitRows(side: Side, rows: number[], ctx: Context): void {
    const C = this.toSolverMatrix(this.seen, this.trainset().itemCount);
    if (side === 'user') this.solveRows(C, rows, this.itemFactors, this.P, ctx);
    else this.solveRows(transposeCsr(C), rows, this.userFactors, this.Q, ctx);
  }
}

export class ALS extends AlsBase {
  readonly name = 'als';
  readonly predictsRatings = false;
  protected readonly mode = 'implicit' as const;

  constructor(params?: Partial<AlsOptions> | ModelParams) {
    super(ALS_PARAMS, 'als', params);
  }

  /** the preference score x_uᵀy_i (not a rating) */
  predict(user: number, item: number): Prediction {
    this.requireFitted('predict()');
    const uk = this.userKnown(user), ik = this.itemKnown(item);
    if (!uk || !ik) return { estimate: 0, impossible: true, reason: !uk ? 'user unknown' : 'item unknown' };
    return { estimate: this.dot(user, item), impossible: false };
  }

  static load(path: string): ALS {
    return loadModel(path, 'als', (p) => new ALS(p));
  }
}

export type ExplicitAlsOptions = Omit<AlsOptions, 'alpha' | 'confidence' | 'balanceGamma'>;

export class ExplicitALS extends AlsBase {
  readonly name = 'als-explicit';
  readonly predictsRatings = true;
  protected readonly mode = 'explicit' as const;

  constructor(params?: Partial<ExplicitAlsOptions> | ModelParams) {
    super(EXPLICIT_PARAMS, 'als-explicit', params);
  }

  /** clip(x_uᵀy_i) to the training rating range; the global mean when the user or item is unknown */
  predict(user: number, item: number): Prediction {
    this.requireFitted('predict()');
    const uk = this.userKnown(user), ik = this.itemKnown(item);
    if (!uk || !ik) return { estimate: this.globalMean, impossible: true, reason: !uk ? 'user unknown' : 'item unknown' };
    return { estimate: this.clip(this.dot(user, item)), impossible: false };
  }

  static load(path: string): ExplicitALS {
    return loadModel(path, 'als-explicit', (p) => new ExplicitALS(p));
  }
}
