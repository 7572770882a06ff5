/**
 * Mult-VAE (Liang, Krishnan, Hoffman & Jebara 2018, "Variational Autoencoders for Collaborative
 * Filtering"): a user's items x_u (a row of the training matrix, binary by default) are encoded
 * into a Gaussian latent and decoded into a multinomial over every item.
 *
 *   x̃ = dropout(x_u / ‖x_u‖₂, 0.5)                                  (training only)
 *   h = tanh(x̃·W1 + b1)                     I → 600      (SparseLinear: segmentSum over W1's rows)
 *   [μ | log σ²] = h·W2 + b2                 600 → 2·200
 *   z = μ + ε ⊙ exp(½ log σ²),  ε ~ N(0, I)  (training: seeded noise; ranking: z = μ)
 *   g = tanh(z·W3 + b3)                      200 → 600
 *   logits = g·W4 + b4                       600 → I,   π = softmax(logits)
 *
 * Loss per user (β-ELBO, averaged over the batch):
 *   −Σ_i x_ui·log π_i  +  β·½·Σ_d (−log σ²_d + σ²_d + μ²_d − 1)
 * The multinomial log-likelihood is the softmaxCrossEntropy kernel with targetWeights = x (or
 * x_ui·w_i with popularity balancing); its gradient comes from the kernel, the KL's in closed
 * form: ∂KL/∂μ = μ, ∂KL/∂log σ² = ½(σ² − 1); through z: ∂z/∂μ = 1, ∂z/∂log σ² = ½·ε·σ.
 * β is annealed linearly from 0 to beta (0.2) over anneal_steps updates, then kept (the paper
 * anneals to 0.2 over ~40k updates on ML-20M); with total_anneal_steps T instead, β follows the
 * paper's code under its names: min(anneal_cap, t/T) (annealedBeta). Adam, lr 1e-3, batches of 500 users; weights
 * Glorot-uniform, biases 0.
 *
 * Every dense product is a gemm, the sparse input layer a segmentSum, dropout/activations/loss
 * their kernels, all through the engine with the fit's context (Runtime). Ranking: a user's
 * history is folded in — encoder mean → decoder — and the last layer is scored by denseScoreTopK
 * with queries [g | 1] and keys [W4ᵀ | b4] (seen items excluded). A training user is ranked from
 * their training row; any other history through recommendForHistory (the held-out-users
 * protocol's fold-in). recommend/recommendForHistory run on the calling thread (runSync),
 * the batch forms through the engine.
 *
 * Early stopping: `validation` > 0 holds that many training users out (a fraction when < 1),
 * scores NDCG@100 of their 20 % held-out items from their 80 % after every epoch, stops after
 * `patience` epochs without improvement and keeps the best epoch's parameters.
 * Curriculum and popularity balancing (curriculum.ts): examples are users; 'user-activity' ranks
 * users with more items first, 'item-popularity' users whose items are more popular on average
 * first, 'loss' users with the lowest current per-item negative log-likelihood first.
 *
 * Params: hidden (600), latent (200), epochs (100), batch_size (500), lr (1e-3), beta (0.2;
 * alias anneal_cap), anneal_steps (0: 80 % of the planned updates; β = beta·min(1, t/anneal_steps)),
 * total_anneal_steps (0; when set, β = min(beta, t/total_anneal_steps) as in Liang et al.'s code;
 * not with anneal_steps), dropout (0.5), weight_decay (0; AdamW's decoupled decay, applied to
 * every parameter — NOT the paper code's `lam`, an L2 penalty λ·Σ‖W‖² on the weights added to the
 * loss, which is not offered, so there is no `lam` alias), binary (true), validation (0),
 * patience (10), seed (42), and the curriculum parameters (curriculum.ts).
 */
import type { Csr, Dense } from '../../data/matrix.js';
import { denseFrom, sharedFloat32, sharedInt32 } from '../../data/matrix.js';
import type { Interactions } from '../../data/interactions.js';
import { Rng } from '../../data/random.js';
import type { Engine } from '../../engine/engine.js';
import { resolveContext } from '../../engine/context.js';
import { Runtime } from '../../nn/runtime.js';
import { ParamArena, type ArenaLayout } from '../../nn/params.js';
import { Linear } from '../../nn/layers/linear.js';
import { SparseLinear } from '../../nn/layers/sparseLinear.js';
import { Adam } from '../../nn/optimizer.js';
import { shuffledBatches, trainLoop } from '../../nn/train.js';
import type { FitOptions, ModelParams, Prediction, RecommendOptions, Recommendations } from '../types.js';
import { ModelBase } from '../base.js';
import { readParams, type ParamTable } from '../params.js';
import { checkIndex, checkK, noRecommendations } from '../ranking.js';
import { Trainset } from '../trainset.js';
import { historiesToCsr, type History, type HistoryRecommender } from '../history.js';
import { modelFromSavedParams, readModelWithTrainset, saveModelWithTrainset } from '../modelFileTrainset.js';
import { checkCurriculum, curriculumParamTable, epochFraction, type CurriculumParams } from './curriculum.js';
import { popularityWeights, sortByKey } from '../curriculum.js';
import { meanNdcg, splitValidationUsers, type ValidationRows } from './validation.js';
import { rankQueries, rankQuery } from './scoring.js';

export interface MultVaeParams extends CurriculumParams {
  hidden: number;
  latent: number;
  epochs: number;
  batchSize: number;
  lr: number;
  beta: number;
  annealSteps: number;
  /** Liang et al.'s schedule min(beta, t/total_anneal_steps) when > 0 (annealedBeta) */
  totalAnnealSteps: number;
  dropout: number;
  weightDecay: number;
  binary: boolean;
  validation: number;
  patience: number;
  seed: number;
}

/** The network: parameters in one arena, layers for training (exported for the gradient tests). */
export class MultVaeNet {
  readonly arena = new ParamArena();
  readonly enc1: SparseLinear;
  readonly enc2: Linear;
  readonly dec1: Linear;
  readonly dec2: Linear;

  constructor(rt: Runtime, readonly items: number, readonly hidden: number, readonly latent: number) {
    this.enc1 = new SparseLinear(rt, this.arena, 'encoder.1', items, hidden, { activation: 'tanh' });
    this.enc2 = new Linear(rt, this.arena, 'encoder.2', hidden, 2 * latent);
    this.dec1 = new Linear(rt, this.arena, 'decoder.1', latent, hidden, { activation: 'tanh' });
    this.dec2 = new Linear(rt, this.arena, 'decoder.2', hidden, items);
  }

  /** denseScoreTopK keys of the last layer: items × (hidden + 1), row i = [W4_:i | b4_i]. */
  outputKeys(): Dense {
    const H = this.hidden, I = this.items, w = this.dec2.weight.value, b = this.dec2.bias!.value;
    const keys = denseFrom(I, H + 1);
    for (let h = 0; h < H; h++) for (let i = 0; i < I; i++) keys.data[i * (H + 1) + h] = w[h * I + i];
    for (let i = 0; i < I; i++) keys.data[i * (H + 1) + H] = b[i];
    return keys;
  }
}

/** x / ‖x‖₂ of the rows of m (binary: x = 1), as a batch Csr with indptr from 0. */
function normalizedRows(m: Csr, rows: ArrayLike<number>, binary: boolean): Csr {
  const indptr = sharedInt32(rows.length + 1);
  for (let t = 0; t < rows.length; t++) indptr[t + 1] = indptr[t] + (m.indptr[rows[t] + 1] - m.indptr[rows[t]]);
  const nnz = indptr[rows.length], indices = sharedInt32(nnz), data = sharedFloat32(nnz);
  for (let t = 0; t < rows.length; t++) {
    const a = m.indptr[rows[t]], b = m.indptr[rows[t] + 1];
    let sq = 0;
    for (let p = a; p < b; p++) { const v = binary ? 1 : m.data[p]; sq += v * v; }
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let p = a, w = indptr[t]; p < b; p++, w++) { indices[w] = m.indices[p]; data[w] = (binary ? 1 : m.data[p]) * inv; }
  }
  return { rows: rows.length, cols: m.cols, indptr, indices, data };
}

/**
 * β after t updates: beta·min(1, t/T) with T = anneal_steps (0: 80 % of the planned updates) —
 * the cap reached at the end of the ramp; with total_anneal_steps T instead, Liang et al.'s code's
 * min(beta, t/T) — a ramp of slope 1/T cut at the cap (their anneal_cap 0.2, total_anneal_steps
 * 200000: the cap is reached after 40000 updates).
 */
export function annealedBeta(p: Pick<MultVaeParams, 'beta' | 'totalAnnealSteps'>, annealSteps: number, t: number): number {
  return p.totalAnnealSteps > 0 ? Math.min(p.beta, t / p.totalAnnealSteps) : p.beta * Math.min(1, t / annealSteps);
}

/**
 * One batch's β-ELBO per user, averaged over the batch (the module comment's loss), with its
 * gradients accumulated into the network's parameters: x the batch's input rows (normalized,
 * after dropout), targets the multinomial weights (batch × items), eps the reparameterisation
 * noise ε (batch × latent), beta the KL weight. Exported for the finite-difference test.
 */
export async function elboLossAndGrads(rt: Runtime, net: MultVaeNet, x: Csr, targets: Dense, eps: Float64Array, beta: number): Promise<number> {
  const B = x.rows, L = net.latent, I = net.items;
  const h = await net.enc1.forward(x);
  const e = await net.enc2.forward(h);
  const z = denseFrom(B, L);
  let kl = 0;
  for (let r = 0; r < B; r++) {
    for (let d = 0; d < L; d++) {
      const mu = e.data[r * 2 * L + d], lv = e.data[r * 2 * L + L + d];
      z.data[r * L + d] = mu + eps[r * L + d] * Math.exp(0.5 * lv);
      kl += 0.5 * (-lv + Math.exp(lv) + mu * mu - 1);
    }
  }
  kl /= B;
  const g = await net.dec1.forward(z);
  const logits = await net.dec2.forward(g);
  const ce = await rt.run('softmaxCrossEntropy', { logits, targetWeights: targets, gradScale: 1 / B });
  let nll = 0;
  for (let r = 0; r < B; r++) nll += ce.loss[r];
  nll /= B;
  const dz = (await net.dec1.backward((await net.dec2.backward({ rows: B, cols: I, data: ce.grad }))!))!;
  // ∂/∂μ = ∂z + β·μ/B;  ∂/∂log σ² = ∂z·ε·½σ + β·½(σ² − 1)/B  (reparameterisation + closed-form KL)
  const de = denseFrom(B, 2 * L);
  for (let r = 0; r < B; r++) {
    for (let d = 0; d < L; d++) {
      const mu = e.data[r * 2 * L + d], lv = e.data[r * 2 * L + L + d], sd = Math.exp(0.5 * lv), gz = dz.data[r * L + d];
      de.data[r * 2 * L + d] = gz + beta * mu / B;
      de.data[r * 2 * L + L + d] = gz * eps[r * L + d] * 0.5 * sd + beta * 0.5 * (sd * sd - 1) / B;
    }
  }
  await net.enc1.backward((await net.enc2.backward(de))!);
  return nll + beta * kl;
}

const PARAMS: ParamTable = {
  hidden: { names: ['hidden_units', 'p_dims_hidden'], type: 'int', def: 600, above: 0, must: 'must be a positive integer' },
  latent: { names: ['latent_dim', 'factors', 'n_factors'], type: 'int', def: 200, above: 0, must: 'must be a positive integer' },
  epochs: { names: ['n_epochs', 'iterations'], type: 'int', def: 100, min: 0, must: 'must be a non-negative integer' },
  batchSize: { names: ['batch_size', 'batch'], type: 'int', def: 500, above: 0, must: 'must be a positive integer' },
  lr: { names: ['learning_rate'], type: 'number', def: 1e-3, above: 0, must: 'must be > 0' },
  beta: { names: ['anneal_cap', 'beta_cap'], type: 'number', def: 0.2, min: 0, must: 'must be ≥ 0' },
  annealSteps: { names: ['anneal_steps'], type: 'int', def: 0, min: 0, must: 'must be a non-negative integer (0: 80 % of the planned updates)' },
  totalAnnealSteps: { names: ['total_anneal_steps'], type: 'int', def: 0, min: 0, must: 'must be a non-negative integer (0: use anneal_steps)' },
  dropout: { names: ['input_dropout', 'dropout_rate'], type: 'number', def: 0.5, min: 0, must: 'must be in [0, 1)' },
  weightDecay: { names: ['weight_decay'], type: 'number', def: 0, min: 0, must: 'must be ≥ 0' },
  binary: { names: [], type: 'bool', def: true },
  validation: { names: ['validation_users'], type: 'number', def: 0, min: 0, must: 'must be ≥ 0 (a count, or a fraction of the training users when < 1)' },
  patience: { names: [], type: 'int', def: 10, above: 0, must: 'must be a positive integer' },
  seed: { names: ['random_state', 'randomState'], type: 'int', def: 42, min: 0 },
  ...curriculumParamTable,
};

export class MultVAE extends ModelBase implements HistoryRecommender {
  readonly name = 'multvae';
  readonly predictsRatings = false;
  readonly params: MultVaeParams;
  private net: MultVaeNet | null = null;
  private keys: Dense | null = null;
  /** per epoch: loss, validation NDCG@100 when there is a validation set, seconds */
  history: Array<{ epoch: number; loss: number; metric?: number; seconds: number }> = [];

  constructor(params: ModelParams | Partial<MultVaeParams> = {}) {
    super();
    this.params = readParams<MultVaeParams>('multvae', params as Record<string, unknown>, PARAMS);
    if (this.params.annealSteps > 0 && this.params.totalAnnealSteps > 0) throw new RangeError('multvae: give anneal_steps (β = beta·min(1, t/anneal_steps)) or total_anneal_steps (Liang et al.\'s β = min(beta, t/total_anneal_steps)), not both');
    if (this.params.dropout >= 1) throw new RangeError(`multvae: dropout must be in [0, 1), got ${this.params.dropout}`);
    checkCurriculum('multvae', this.params);
  }

  get isFitted(): boolean { return this.ts !== null && this.net !== null; }
  get userIds() { return this.trainset().users; }
  get itemIds() { return this.trainset().items; }

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    const p = this.params, ctx = resolveContext(opts);
    const ts = Trainset.of(train, this.name);
    const rt = new Runtime(ctx, p.seed);
    const net = new MultVaeNet(rt, ts.nItems, p.hidden, p.latent);
    net.arena.allocate(new Rng(p.seed));
    const noise = new Rng(p.seed + 1);
    const users = Int32Array.from({ length: ts.nUsers }, (_, u) => u).filter((u) => ts.userCount[u] > 0);
    let trainUsers: Int32Array = users, validation: ValidationRows | null = null;
    if (p.validation > 0) {
      const count = p.validation < 1 ? Math.round(p.validation * users.length) : Math.round(p.validation);
      const split = splitValidationUsers(ts.ur, users, count, 0.2, new Rng(p.seed + 2));
      if (split.validation.users.length === 0 || split.train.length === 0) throw new RangeError(`multvae: validation ${p.validation} leaves no validation or no training users (${users.length} users with items)`);
      trainUsers = split.train;
      validation = split.validation;
    }
    const ur = ts.ur, I = ts.nItems, L = p.latent;
    // multinomial target weights per training entry: x_ui (binary: 1), times pop_i^−γ when balancing
    const balance = popularityWeights(ur.indices, ts.itemCount, p.balanceGamma);
    const batchesPerEpoch = Math.ceil(trainUsers.length / p.batchSize);
    const annealSteps = p.annealSteps > 0 ? p.annealSteps : Math.max(1, Math.round(0.8 * p.epochs * batchesPerEpoch));
    const adam = new Adam(rt, net.arena, { lr: p.lr, weightDecay: p.weightDecay, decoupled: true });
    const ranked = p.curriculum === 'user-activity' || p.curriculum === 'item-popularity' ? this.rankUsers(ts, trainUsers, p.curriculum) : null;

    const step = async (batch: Int32Array): Promise<number> => {
      const B = batch.length;
      const x = normalizedRows(ur, batch, p.binary);
      if (p.dropout > 0) x.data = await rt.run('dropout', { x: x.data, rate: p.dropout, seed: rt.rng.nextU32() });
      const eps = new Float64Array(B * L);
      for (let t = 0; t < eps.length; t++) eps[t] = noise.normal();
      const targets = denseFrom(B, I);
      batch.forEach((u, r) => {
        for (let q = ur.indptr[u]; q < ur.indptr[u + 1]; q++) targets.data[r * I + ur.indices[q]] = (p.binary ? 1 : ur.data[q]) * (balance ? balance[q] : 1);
      });
      return elboLossAndGrads(rt, net, x, targets, eps, annealedBeta(p, annealSteps, adam.steps));
    };

    this.history = [];
    await trainLoop<Int32Array>({
      epochs: p.epochs, runtime: rt, arena: net.arena, optimizer: adam, seed: p.seed, signal: ctx.signal,
      batches: (epoch, rng) => this.epochBatches(epoch, rng, trainUsers, ranked, () => this.rankUsersByLoss(net, ctx.engine, ctx.backend, ts, trainUsers, ctx.signal)),
      step,
      ...(validation ? {
        patience: p.patience,
        validate: async () => meanNdcg(await this.rankRows(net, net.outputKeys(), validation.foldIn, Int32Array.from(validation.users, (_, r) => r), 100, ctx), validation.targets, 100),
      } : {}),
      onEpoch: (r) => {
        this.history.push({ epoch: r.epoch, loss: r.loss, ...(r.metric !== undefined ? { metric: r.metric } : {}), seconds: r.seconds });
        opts.onEpoch?.(r.epoch, r.loss, { epochs: p.epochs, ...(r.metric !== undefined ? { metric: r.metric, metricName: 'ndcg@100', bestEpoch: r.bestEpoch } : {}), seconds: r.seconds });
      },
    });
    this.ts = ts;
    this.net = net;
    this.keys = null;
  }

  /** An epoch's batches of users: all training users, or the curriculum's easiest fraction, shuffled. */
  private async *epochBatches(epoch: number, rng: Rng, users: Int32Array, ranked: Int32Array | null, byLoss: () => Promise<Int32Array>): AsyncGenerator<Int32Array> {
    const p = this.params;
    let pool = users;
    if (p.curriculum !== 'none') {
      const order = ranked ?? (await byLoss());
      pool = order.slice(0, Math.max(1, Math.ceil(epochFraction(p, epoch - 1, p.epochs) * order.length)));
    }
    for (const idx of shuffledBatches(pool.length, p.batchSize, rng)) yield Int32Array.from(idx, (t) => pool[t]);
  }

  /** Users easiest first by a static key: more items first, or more popular items (mean count) first. */
  private rankUsers(ts: Trainset, users: Int32Array, kind: 'user-activity' | 'item-popularity'): Int32Array {
    const key = new Float64Array(users.length);
    users.forEach((u, t) => {
      if (kind === 'user-activity') { key[t] = -ts.userCount[u]; return; }
      let s = 0;
      for (let q = ts.ur.indptr[u]; q < ts.ur.indptr[u + 1]; q++) s += ts.itemCount[ts.ur.indices[q]];
      key[t] = -s / Math.max(1, ts.userCount[u]);
    });
    return Int32Array.from(sortByKey(key), (t) => users[t]);
  }

  /** Users by their current per-item negative log-likelihood (z = μ, no dropout), lowest first. */
  private async rankUsersByLoss(net: MultVaeNet, engine: Engine, backend: string, ts: Trainset, users: Int32Array, signal?: AbortSignal): Promise<Int32Array> {
    const key = new Float64Array(users.length), I = ts.nItems, block = 512;
    for (let at = 0; at < users.length; at += block) {
      const part = users.subarray(at, Math.min(users.length, at + block));
      const g = await this.decoderInput(net, engine, backend, normalizedRows(ts.ur, part, this.params.binary), signal);
      const logits = await engine.run('gemm', { m: part.length, n: I, k: net.hidden, a: g.data, b: net.dec2.weight.value }, { backend, signal });
      const targets = denseFrom(part.length, I);
      part.forEach((u, r) => { for (let q = ts.ur.indptr[u]; q < ts.ur.indptr[u + 1]; q++) targets.data[r * I + ts.ur.indices[q]] = 1; });
      const biased = await engine.run('biasActivation', { x: logits, bias: net.dec2.bias!.value, activation: 'identity' }, { backend, signal });
      const ce = await engine.run('softmaxCrossEntropy', { logits: biased, targetWeights: targets }, { backend, signal });
      part.forEach((u, r) => { key[at + r] = ce.loss[r] / Math.max(1, ts.userCount[u]); });
    }
    return Int32Array.from(sortByKey(key), (t) => users[t]);
  }

  /** g = tanh(μ·W3 + b3) of normalized input rows, through the engine (no dropout, z = μ). */
  private async decoderInput(net: MultVaeNet, engine: Engine, backend: string, x: Csr, signal?: AbortSignal): Promise<Dense> {
    const o = { backend, signal }, H = net.hidden, L = net.latent, B = x.rows;
    const e1 = await engine.run('segmentSum', { src: net.enc1.weight.dense, offsets: x.indptr as Int32Array, positions: x.indices, weights: x.data }, o);
    const h = await engine.run('biasActivation', { x: e1, bias: net.enc1.bias!.value, activation: 'tanh' }, o);
    const e2 = await engine.run('gemm', { m: B, n: L, k: H, a: h.data, b: net.enc2.weight.value, ldb: 2 * L }, o);
    const mu = await engine.run('biasActivation', { x: e2, bias: net.enc2.bias!.value.subarray(0, L), activation: 'identity' }, o);
    const z3 = await engine.run('gemm', { m: B, n: H, k: L, a: mu.data, b: net.dec1.weight.value }, o);
    return engine.run('biasActivation', { x: z3, bias: net.dec1.bias!.value, activation: 'tanh' }, o);
  }

  /** decoderInput on the calling thread (engine.runSync), for one history. */
  private decoderInputSync(net: MultVaeNet, engine: Engine, x: Csr, signal?: AbortSignal): Dense {
    const o = { signal }, H = net.hidden, L = net.latent, B = x.rows;
    const e1 = engine.runSync('segmentSum', { src: net.enc1.weight.dense, offsets: x.indptr as Int32Array, positions: x.indices, weights: x.data }, o);
    const h = engine.runSync('biasActivation', { x: e1, bias: net.enc1.bias!.value, activation: 'tanh' }, o);
    const e2 = engine.runSync('gemm', { m: B, n: L, k: H, a: h.data, b: net.enc2.weight.value, ldb: 2 * L }, o);
    const mu = engine.runSync('biasActivation', { x: e2, bias: net.enc2.bias!.value.subarray(0, L), activation: 'identity' }, o);
    const z3 = engine.runSync('gemm', { m: B, n: H, k: L, a: mu.data, b: net.dec1.weight.value }, o);
    return engine.runSync('biasActivation', { x: z3, bias: net.dec1.bias!.value, activation: 'tanh' }, o);
  }

  /** [g | 1] rows: the denseScoreTopK queries against outputKeys(). */
  private static queries(g: Dense): Dense {
    const H = g.cols, q = denseFrom(g.rows, H + 1);
    for (let r = 0; r < g.rows; r++) { q.data.set(g.data.subarray(r * H, (r + 1) * H), r * (H + 1)); q.data[r * (H + 1) + H] = 1; }
    return q;
  }

  /** Rows `rows` of m folded in and ranked through the engine, in blocks of users (seen = the row's items). */
  private async rankRows(net: MultVaeNet, keys: Dense, m: Csr, rows: Int32Array, k: number, opts: RecommendOptions): Promise<Recommendations[]> {
    const ctx = resolveContext(opts), out: Recommendations[] = [], block = 1024;
    for (let at = 0; at < rows.length; at += block) {
      const part = rows.subarray(at, Math.min(rows.length, at + block));
      const g = await this.decoderInput(net, ctx.engine, ctx.backend, normalizedRows(m, part, this.params.binary), ctx.signal);
      out.push(...(await rankQueries(this.name, MultVAE.queries(g), keys, m, part, k, opts)));
    }
    return out;
  }

  private fitted(what: string): { ts: Trainset; net: MultVaeNet; keys: Dense } {
    const ts = this.trainset(what);
    const net = this.net!;
    this.keys ??= net.outputKeys();
    return { ts, net, keys: this.keys };
  }

  /** The score (logit) of item for a training user; impossible for a user without training items. */
  predict(user: number, item: number): Prediction {
    const { ts, net, keys } = this.fitted('predict()');
    checkIndex(this.name, 'item', item, ts.nItems);
    if (!ts.knowsUser(user)) return { estimate: 0, impossible: true, reason: 'user unknown' };
    const q = MultVAE.queries(this.decoderInputSync(net, resolveContext().engine, normalizedRows(ts.ur, [user], this.params.binary)));
    let s = 0;
    for (let h = 0; h < q.cols; h++) s += q.data[h] * keys.data[item * keys.cols + h];
    return { estimate: s, impossible: false };
  }

  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const { ts } = this.fitted('recommend()');
    checkK(this.name, k);
    if (!ts.knowsUser(user)) return noRecommendations();
    return this.rankOne(ts.ur, user, k, opts);
  }

  recommendForHistory(history: History, k: number, opts: RecommendOptions = {}): Recommendations {
    const { ts } = this.fitted('recommendForHistory()');
    checkK(this.name, k);
    const m = historiesToCsr([history], ts.nItems);
    if (m.indptr[1] === 0) return noRecommendations();
    return this.rankOne(m, 0, k, opts);
  }

  private rankOne(m: Csr, row: number, k: number, opts: RecommendOptions): Recommendations {
    const { net, keys } = this.fitted('recommend()');
    const ctx = resolveContext(opts);
    const q = MultVAE.queries(this.decoderInputSync(net, ctx.engine, normalizedRows(m, [row], this.params.binary), ctx.signal));
    return rankQuery(this.name, q.data, keys, m.indices.subarray(m.indptr[row], m.indptr[row + 1]), k, opts);
  }

  async recommendBatch(users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    const { ts, net, keys } = this.fitted('recommendBatch()');
    checkK(this.name, k);
    for (const u of users) checkIndex(this.name, 'user', u, ts.users.size);
    const known = Int32Array.from(Array.from(users).filter((u) => ts.knowsUser(u)));
    const ranked = await this.rankRows(net, keys, ts.ur, known, k, opts);
    const byUser = new Map<number, Recommendations>();
    known.forEach((u, t) => byUser.set(u, ranked[t]));
    return Array.from(users, (u) => byUser.get(u) ?? noRecommendations());
  }

  async recommendForHistoryBatch(histories: Csr, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    const { ts, net, keys } = this.fitted('recommendForHistoryBatch()');
    checkK(this.name, k);
    if (histories.cols !== ts.nItems) throw new RangeError(`multvae: histories have ${histories.cols} columns, the model ${ts.nItems} items`);
    const rows = Int32Array.from({ length: histories.rows }, (_, r) => r);
    const nonEmpty = rows.filter((r) => histories.indptr[r + 1] > histories.indptr[r]);
    const ranked = await this.rankRows(net, keys, histories, nonEmpty, k, opts);
    const byRow = new Map<number, Recommendations>();
    nonEmpty.forEach((r, t) => byRow.set(r, ranked[t]));
    return Array.from(rows, (r) => byRow.get(r) ?? noRecommendations());
  }

  /** Save to the AFFM file (docs/model-format.md): kind 'multvae', the parameter arena with its layout in meta. */
  save(path: string): void {
    const { ts, net } = this.fitted('save()');
    saveModelWithTrainset(path, 'multvae', ts, { ...this.params }, { layout: net.arena.layout() }, { parameters: net.arena.data! }, this.params.latent);
  }

  static load(path: string): MultVAE {
    const s = readModelWithTrainset(path, 'multvae');
    const model = modelFromSavedParams(path, s.params, (p) => new MultVAE(p));
    const p = model.params;
    const net = new MultVaeNet(new Runtime({}, p.seed), s.ts.nItems, p.hidden, p.latent);
    net.arena.allocate(new Rng(p.seed));
    try {
      net.arena.load(s.meta.layout as ArenaLayout[], s.need('parameters', net.arena.size, 'f32') as Float32Array);
    } catch (e) {
      throw s.bad((e as Error).message);
    }
    model.ts = s.ts;
    model.net = net;
    return model;
  }
}
