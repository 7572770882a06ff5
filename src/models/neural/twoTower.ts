/**
 * A two-tower DNN with side features, for cold start (the documents' input layer → hidden layers →
 * output DNN; Covington et al. 2016's candidate generator, Yi et al. 2019's two towers):
 *
 *   user tower:  u = W2ᵤ·relu(W1ᵤ·x_u + b1ᵤ) + b2ᵤ     x_u = [side tokens of u | mean of u's recent items]
 *   item tower:  v = W2ᵢ·relu(W1ᵢ·x_i + b1ᵢ) + b2ᵢ     x_i = [side tokens of i | identity of i]
 *   score(u, i) = u·v_i / τ + prior_i          (prior = log q(i) under logq 'rank', below; else 0)
 *
 * (towerFeatures.ts: u.user's age bucket, gender, occupation and zip region; u.item's genres,
 * decade and title words, or any text/categorical column of `--items`/`--users`; the first layer
 * of each tower is a SparseLinear, the sum of one embedding per present feature.) A user with no
 * interactions is scored from their side tokens alone, an item with none from its own — the
 * cold-start case; a user with neither falls back to the towers' biases (a popularity-like
 * ranking; predict says impossible).
 *
 * Training: in-batch softmax (Yi et al. 2019) over batches of B training interactions (u_r, i_r):
 *   logits_rc = u_r·v_c / τ − c(i_c),   loss = mean_r [ −log softmax_r(logits)_r ]
 * with columns whose item is the row's own positive (a repeat in the batch) masked out. In-batch
 * negatives are drawn by popularity, q(i) = the share of training interactions on item i; the
 * `logq` parameter says where that sampling bias is corrected:
 *   'rank' (default): c = 0 in training, so u·v learns log p(i|u) − log q(i) (a PMI); ranking adds
 *           log q(i) back: score = u·v_i + log q(i). A user the towers know little about (a cold
 *           user with uninformative features) is then ranked by popularity, and the features move
 *           the ranking away from it only as far as training supports.
 *   'train': c = log q(i) (Yi et al. 2019's logQ correction), so u·v itself learns log p(i|u);
 *           score = u·v_i.
 *   'none':  c = 0, score = u·v_i (the uncorrected in-batch softmax). The history of an example excludes its own
 * item, and is dropped whole with probability history_dropout so that the user tower also learns
 * to score users from side tokens alone. Adam (lazy on the input layers' rows), every product a
 * gemm, the sparse layers segmentSum, the loss softmaxCrossEntropy — all through the engine with
 * the fit's context. Early stopping: `validation` users (a count, or a fraction when < 1) are held
 * out, ranked from their features and 80 % of their items, NDCG@10 of the other 20 %.
 * Curriculum and popularity balancing (curriculum.ts) on the training interactions; balancing
 * weights each row's loss by pop_i^−γ.
 *
 * Ranking: every item's [v_i | prior_i] (the item tower on all items, kept until the next fit) is
 * the key of denseScoreTopK, the user's [u / τ | 1] its query; seen items excluded (ranking.ts).
 *
 * Params (defaults tuned on ML-100k's cold-users split, seeds 0–2; see the study): dim (32),
 * hidden (64), epochs (5), batch_size (1024), lr (0.005), temperature (1),
 * history_dropout (0.5), max_history (20: the most recent by timestamp when the data has them,
 * else the first in item order), item_text (true: title/text words as item tokens), identity
 * (true: item identity columns), logq ('rank' | 'train' | 'none', 'rank'), feature_dropout (0.5:
 * the share of a user's side tokens dropped per training example, inverted scaling; a user's
 * tokens nearly identify them on small data, and without it the tower memorizes users instead of
 * learning what the tokens say), weight_decay (0),
 * validation (0), patience (5),
 * seed (42), items / users (side-information file paths), and the curriculum parameters.
 */
import type { Csr, Dense } from '../../data/matrix.js';
import { denseFrom } from '../../data/matrix.js';
import type { Interactions } from '../../data/interactions.js';
import { IdMap } from '../../data/idMap.js';
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
import { checkIndex, checkK } from '../ranking.js';
import { Trainset } from '../trainset.js';
import { pathParams, sideInfoFromParams, type SideInfoAware, type SideInfoInput } from '../attachSideInfo.js';
import { modelFromSavedParams, readModelWithTrainset, saveModelWithTrainset } from '../modelFileTrainset.js';
import { checkCurriculum, curriculumParamTable, epochFraction, type CurriculumParams } from './curriculum.js';
import { popularityWeights, sortByKey } from '../curriculum.js';
import { itemRow, rowsToCsr, tokenSets, userRow, type InputRow, type TokenSets } from './towerFeatures.js';
import { meanNdcg, splitValidationUsers, type ValidationRows } from './validation.js';
import { rankQueries, rankQuery } from './scoring.js';

export interface TwoTowerParams extends CurriculumParams {
  dim: number;
  hidden: number;
  epochs: number;
  batchSize: number;
  lr: number;
  temperature: number;
  historyDropout: number;
  featureDropout: number;
  maxHistory: number;
  itemText: boolean;
  identity: boolean;
  logq: 'rank' | 'train' | 'none';
  weightDecay: number;
  validation: number;
  patience: number;
  seed: number;
}

const PARAMS: ParamTable = {
  dim: { names: ['factors', 'n_factors', 'output_dim'], type: 'int', def: 32, above: 0, must: 'must be a positive integer' },
  hidden: { names: ['hidden_units'], type: 'int', def: 64, above: 0, must: 'must be a positive integer' },
  epochs: { names: ['n_epochs', 'iterations'], type: 'int', def: 5, min: 0, must: 'must be a non-negative integer' },
  batchSize: { names: ['batch_size', 'batch'], type: 'int', def: 1024, min: 2, must: 'must be an integer ≥ 2 (in-batch negatives)' },
  lr: { names: ['learning_rate'], type: 'number', def: 0.005, above: 0, must: 'must be > 0' },
  temperature: { names: ['tau'], type: 'number', def: 1, above: 0, must: 'must be > 0' },
  historyDropout: { names: ['history_dropout'], type: 'number', def: 0.5, min: 0, must: 'must be in [0, 1]' },
  featureDropout: { names: ['feature_dropout'], type: 'number', def: 0.5, min: 0, must: 'must be in [0, 1)' },
  maxHistory: { names: ['max_history'], type: 'int', def: 20, min: 0, must: 'must be a non-negative integer' },
  itemText: { names: ['item_text', 'text'], type: 'bool', def: true },
  identity: { names: [], type: 'bool', def: true },
  logq: { names: ['logq_correction'], type: 'enum', def: 'rank', choices: ['rank', 'train', 'none'] },
  weightDecay: { names: ['weight_decay'], type: 'number', def: 0, min: 0, must: 'must be ≥ 0' },
  validation: { names: ['validation_users'], type: 'number', def: 0, min: 0, must: 'must be ≥ 0 (a count, or a fraction of the training users when < 1)' },
  patience: { names: [], type: 'int', def: 5, above: 0, must: 'must be a positive integer' },
  seed: { names: ['random_state', 'randomState'], type: 'int', def: 42, min: 0 },
  ...curriculumParamTable,
};

/** Input (sparse) → hidden (relu) → output. */
class Tower {
  readonly input: SparseLinear;
  readonly output: Linear;
  constructor(rt: Runtime, arena: ParamArena, name: string, readonly width: number, hidden: number, dim: number) {
    this.input = new SparseLinear(rt, arena, `${name}.input`, width, hidden, { activation: 'relu', lazy: true });
    this.output = new Linear(rt, arena, `${name}.output`, hidden, dim);
  }

  async forward(x: Csr): Promise<Dense> {
    return this.output.forward(await this.input.forward(x));
  }

  async backward(dy: Dense): Promise<void> {
    await this.input.backward((await this.output.backward(dy))!);
  }

  /** forward through the engine without keeping anything for backward (ranking). */
  async infer(engine: Engine, backend: string, x: Csr, signal?: AbortSignal): Promise<Dense> {
    const o = { backend, signal }, H = this.output.inputs, D = this.output.outputs;
    const e = await engine.run('segmentSum', { src: this.input.weight.dense, offsets: x.indptr as Int32Array, positions: x.indices, weights: x.data }, o);
    const h = await engine.run('biasActivation', { x: e, bias: this.input.bias!.value, activation: 'relu' }, o);
    const z = await engine.run('gemm', { m: x.rows, n: D, k: H, a: h.data, b: this.output.weight.value }, o);
    return engine.run('biasActivation', { x: z, bias: this.output.bias!.value, activation: 'identity' }, o);
  }

  /** infer on the calling thread (engine.runSync). */
  inferSync(engine: Engine, x: Csr, signal?: AbortSignal): Dense {
    const o = { signal }, H = this.output.inputs, D = this.output.outputs;
    const e = engine.runSync('segmentSum', { src: this.input.weight.dense, offsets: x.indptr as Int32Array, positions: x.indices, weights: x.data }, o);
    const h = engine.runSync('biasActivation', { x: e, bias: this.input.bias!.value, activation: 'relu' }, o);
    const z = engine.runSync('gemm', { m: x.rows, n: D, k: H, a: h.data, b: this.output.weight.value }, o);
    return engine.runSync('biasActivation', { x: z, bias: this.output.bias!.value, activation: 'identity' }, o);
  }
}

/** Inverted dropout of a user row's side tokens (columns < tokens): each dropped with probability rate, the kept ones scaled by 1/(1 − rate). */
function dropTokens(row: InputRow, tokens: number, rate: number, rng: Rng): InputRow {
  const cols: number[] = [], weights: number[] = [];
  row.cols.forEach((c, t) => {
    if (c >= tokens) { cols.push(c); weights.push(row.weights[t]); return; }
    if (rng.next() >= rate) { cols.push(c); weights.push(row.weights[t] / (1 - rate)); }
  });
  return { cols, weights };
}

/** m with one more column: `last` per row (null: 1), the first columns scaled by 1/τ when τ applies to them (queries) or not (keys). */
function withColumn(m: Dense, last: Float32Array | null, tau: number): Dense {
  const d = m.cols, out = denseFrom(m.rows, d + 1), scale = last ? 1 : 1 / tau;
  for (let r = 0; r < m.rows; r++) {
    for (let f = 0; f < d; f++) out.data[r * (d + 1) + f] = m.data[r * d + f] * scale;
    out.data[r * (d + 1) + d] = last ? last[r] : 1;
  }
  return out;
}

/** Every item's tower input. */
function allItemRows(s: { itemTokens: TokenSets; itemHasData: Int32Array; item: Tower }): Csr {
  return rowsToCsr(Array.from({ length: s.itemHasData.length }, (_, i) => itemRow(s.itemTokens, i, s.itemHasData[i] === 1)), s.item.width);
}

/** Everything a fitted model ranks with. */
interface State {
  arena: ParamArena;
  user: Tower;
  item: Tower;
  userTokens: TokenSets;
  itemTokens: TokenSets;
  /** 1 for items with training interactions (they have an identity column) */
  itemHasData: Int32Array;
  /** users × items: each user's recent training items (at most max_history) */
  recent: Csr;
  /** per item, added to u·v when ranking (log q(i) under logq 'rank', else 0) */
  prior: Float32Array;
}

function buildTowers(rt: Runtime, p: TwoTowerParams, userTokens: TokenSets, itemTokens: TokenSets, nItems: number): { arena: ParamArena; user: Tower; item: Tower } {
  const arena = new ParamArena();
  const user = new Tower(rt, arena, 'user', userTokens.vocab.length + nItems, p.hidden, p.dim);
  const item = new Tower(rt, arena, 'item', itemTokens.vocab.length + nItems, p.hidden, p.dim);
  return { arena, user, item };
}

/** Each user's recent items: the last max_history by timestamp (or the first in item order without timestamps). */
function recentItems(x: Interactions, ts: Trainset, maxHistory: number): Csr {
  const U = ts.nUsers, indptr = new Int32Array(U + 1), lists: number[][] = [];
  if (x.timestamp) {
    const latest = new Map<number, number>();
    for (let p = 0; p < x.user.length; p++) {
      const key = x.user[p] * ts.nItems + x.item[p];
      latest.set(key, Math.max(latest.get(key) ?? -Infinity, x.timestamp[p]));
    }
    for (let u = 0; u < U; u++) {
      const items = Array.from(ts.userItems(u));
      items.sort((a, b) => latest.get(u * ts.nItems + b)! - latest.get(u * ts.nItems + a)! || a - b);
      lists.push(items.slice(0, maxHistory).sort((a, b) => a - b));
    }
  } else {
    for (let u = 0; u < U; u++) lists.push(Array.from(ts.userItems(u).subarray(0, maxHistory)));
  }
  lists.forEach((l, u) => { indptr[u + 1] = indptr[u] + l.length; });
  const indices = new Int32Array(indptr[U]);
  lists.forEach((l, u) => indices.set(l, indptr[u]));
  return { rows: U, cols: ts.nItems, indptr, indices, data: new Float32Array(indices.length).fill(1) };
}

export class TwoTower extends ModelBase implements SideInfoAware {
  readonly name = 'two-tower';
  readonly predictsRatings = false;
  readonly params: TwoTowerParams;
  private side: SideInfoInput = {};
  private readonly paths: { items?: string; users?: string };
  private state: State | null = null;
  private keys: Dense | null = null;
  /** per epoch: loss, validation NDCG@10 when there is a validation set, seconds */
  history: Array<{ epoch: number; loss: number; metric?: number; seconds: number }> = [];

  constructor(params: ModelParams | Partial<TwoTowerParams> = {}) {
    super();
    const { rest, paths } = pathParams('two-tower', params as Record<string, unknown>, { items: ['items', 'item_features'], users: ['users', 'user_features'] });
    this.paths = paths;
    this.params = readParams<TwoTowerParams>('two-tower', rest, PARAMS);
    if (this.params.historyDropout > 1) throw new RangeError(`two-tower: history_dropout must be in [0, 1], got ${this.params.historyDropout}`);
    if (this.params.featureDropout >= 1) throw new RangeError(`two-tower: feature_dropout must be in [0, 1), got ${this.params.featureDropout}`);
    checkCurriculum('two-tower', this.params);
  }

  setSideInfo(info: SideInfoInput): void {
    this.side = { ...this.side, ...info };
  }

  get isFitted(): boolean { return this.ts !== null && this.state !== null; }
  get userIds(): IdMap { return this.trainset().users; }
  get itemIds(): IdMap { return this.trainset().items; }

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    this.side = await sideInfoFromParams(this.side, this.paths.items, this.paths.users);
    const p = this.params, ctx = resolveContext(opts);
    const ts = Trainset.of(train, this.name);
    const I = ts.nItems;
    const userTokens = tokenSets(ts.users, this.side.users, false);
    const itemTokens = tokenSets(ts.items, this.side.items, p.itemText);
    const itemHasData = Int32Array.from(ts.itemCount, (c) => (p.identity && c > 0 ? 1 : 0));
    const recent = recentItems(train, ts, p.maxHistory);
    const rt = new Runtime(ctx, p.seed);
    const { arena, user, item } = buildTowers(rt, p, userTokens, itemTokens, I);
    arena.allocate(new Rng(p.seed));
    const state: State = { arena, user, item, userTokens, itemTokens, itemHasData, recent, prior: new Float32Array(I) };

    // examples: the training interactions (u, i) of the training users, in ur's order
    const users = Int32Array.from({ length: ts.nUsers }, (_, u) => u).filter((u) => ts.userCount[u] > 0);
    let validation: ValidationRows | null = null, trainUsers: Int32Array = users;
    if (p.validation > 0) {
      const count = p.validation < 1 ? Math.round(p.validation * users.length) : Math.round(p.validation);
      const split = splitValidationUsers(ts.ur, users, count, 0.2, new Rng(p.seed + 2));
      if (split.validation.users.length === 0 || split.train.length === 0) throw new RangeError(`two-tower: validation ${p.validation} leaves no validation or no training users (${users.length} users with items)`);
      validation = split.validation;
      trainUsers = split.train;
    }
    const exU: number[] = [], exI: number[] = [];
    for (const u of trainUsers) for (let q = ts.ur.indptr[u]; q < ts.ur.indptr[u + 1]; q++) { exU.push(u); exI.push(ts.ur.indices[q]); }
    const exUser = Int32Array.from(exU), exItem = Int32Array.from(exI), n = exUser.length;
    const itemFreq = new Float64Array(I);
    for (let t = 0; t < n; t++) itemFreq[exItem[t]]++;
    // log q(i); an item without training interactions counts as one (its prior is the lowest)
    const logQ = Float64Array.from(itemFreq, (c) => Math.log(Math.max(c, 1) / n));
    const shift = Float64Array.from(logQ, (v) => (p.logq === 'train' ? v : 0));
    state.prior = Float32Array.from(logQ, (v) => (p.logq === 'rank' ? v : 0));
    const balance = popularityWeights(exItem, ts.itemCount, p.balanceGamma);
    const noise = new Rng(p.seed + 1);
    const adam = new Adam(rt, arena, { lr: p.lr, weightDecay: p.weightDecay, decoupled: true });
    const tau = p.temperature;
    const ranked = p.curriculum === 'item-popularity' || p.curriculum === 'user-activity'
      ? sortByKey(Float64Array.from(exUser, (u, t) => (p.curriculum === 'item-popularity' ? -ts.itemCount[exItem[t]] : -ts.userCount[u])))
      : null;

    const step = async (batch: Int32Array): Promise<number> => {
      const B = batch.length;
      const urows: InputRow[] = [], irows: InputRow[] = [];
      for (const t of batch) {
        const u = exUser[t], i = exItem[t];
        const drop = p.historyDropout > 0 && noise.next() < p.historyDropout;
        const row = userRow(userTokens, u, drop ? [] : recent.indices.subarray(recent.indptr[u], recent.indptr[u + 1]), i);
        urows.push(p.featureDropout > 0 ? dropTokens(row, userTokens.vocab.length, p.featureDropout, noise) : row);
        irows.push(itemRow(itemTokens, i, itemHasData[i] === 1));
      }
      const U = await user.forward(rowsToCsr(urows, user.width));
      const V = await item.forward(rowsToCsr(irows, item.width));
      const logits = await rt.run('gemm', { m: B, n: B, k: p.dim, a: U.data, b: V.data, transB: 'T', alpha: 1 / tau });
      for (let r = 0; r < B; r++) {
        const own = exItem[batch[r]];
        for (let c = 0; c < B; c++) {
          const ic = exItem[batch[c]];
          logits.data[r * B + c] = c !== r && ic === own ? -1e9 : logits.data[r * B + c] - shift[ic];
        }
      }
      let ce;
      if (balance) {
        const w = denseFrom(B, B);
        for (let r = 0; r < B; r++) w.data[r * B + r] = balance[batch[r]];
        ce = await rt.run('softmaxCrossEntropy', { logits, targetWeights: w, gradScale: 1 / B });
      } else {
        ce = await rt.run('softmaxCrossEntropy', { logits, targets: Int32Array.from({ length: B }, (_, r) => r), gradScale: 1 / B });
      }
      let loss = 0;
      for (let r = 0; r < B; r++) loss += ce.loss[r];
      // logits = U·Vᵀ/τ (− constants): ∂L/∂U = G·V/τ, ∂L/∂V = Gᵀ·U/τ
      const dU = await rt.run('gemm', { m: B, n: p.dim, k: B, a: ce.grad, b: V.data, alpha: 1 / tau });
      const dV = await rt.run('gemm', { m: B, n: p.dim, k: B, a: ce.grad, b: U.data, transA: 'T', alpha: 1 / tau });
      await user.backward(dU);
      await item.backward(dV);
      return loss / B;
    };

    this.history = [];
    const all = Int32Array.from({ length: n }, (_, t) => t);
    await trainLoop<Int32Array>({
      epochs: p.epochs, runtime: rt, arena, optimizer: adam, seed: p.seed, signal: ctx.signal,
      batches: (epoch, rng) => this.epochBatches(epoch, rng, all, ranked, () => this.rankExamplesByLoss(state, ctx.engine, ctx.backend, exUser, exItem, ctx.signal)),
      step,
      ...(validation ? {
        patience: p.patience,
        validate: async () => {
          const keys = await this.itemVectors(state, ctx.engine, ctx.backend, ctx.signal);
          const rows = Int32Array.from({ length: validation.users.length }, (_, r) => r);
          const q = await this.userQueries(state, ctx.engine, ctx.backend, rowsToCsr(Array.from(validation.users, (u, r) => userRow(userTokens, u, validation.foldIn.indices.subarray(validation.foldIn.indptr[r], validation.foldIn.indptr[r + 1]).slice(0, p.maxHistory))), user.width), ctx.signal);
          return meanNdcg(await rankQueries(this.name, q, keys, validation.foldIn, rows, 10, ctx), validation.targets, 10);
        },
      } : {}),
      onEpoch: (r) => {
        this.history.push({ epoch: r.epoch, loss: r.loss, ...(r.metric !== undefined ? { metric: r.metric } : {}), seconds: r.seconds });
        opts.onEpoch?.(r.epoch, r.loss, { epochs: p.epochs, ...(r.metric !== undefined ? { metric: r.metric, metricName: 'ndcg@10', bestEpoch: r.bestEpoch } : {}), seconds: r.seconds });
      },
    });
    this.ts = ts;
    this.state = state;
    // the item keys are computed on first use, by the synchronous path a loaded model takes too, so a
    // fitted and a saved-and-loaded model score bit for bit alike (the pooled path may round otherwise)
    this.keys = null;
  }

  /** An epoch's batches of examples: all, or the curriculum's easiest fraction, shuffled. */
  private async *epochBatches(epoch: number, rng: Rng, all: Int32Array, ranked: Int32Array | null, byLoss: () => Promise<Int32Array>): AsyncGenerator<Int32Array> {
    const p = this.params;
    let pool = all;
    if (p.curriculum !== 'none') {
      const order = ranked ?? (await byLoss());
      pool = order.slice(0, Math.max(2, Math.ceil(epochFraction(p, epoch - 1, p.epochs) * order.length)));
    }
    for (const idx of shuffledBatches(pool.length, p.batchSize, rng)) {
      if (idx.length < 2) continue; // one example has no in-batch negative
      yield Int32Array.from(idx, (t) => pool[t]);
    }
  }

  /**
   * Examples by their current full-softmax loss, lowest first: log Σ_j e^{score(u,j)} − score(u,i), the
   * ranking score with every user's whole recent history (the loss curriculum).
   */
  private async rankExamplesByLoss(s: State, engine: Engine, backend: string, exUser: Int32Array, exItem: Int32Array, signal?: AbortSignal): Promise<Int32Array> {
    const V = await this.itemVectors(s, engine, backend, signal);
    const users = [...new Set(exUser)].sort((a, b) => a - b), row = new Map(users.map((u, r) => [u, r]));
    const Uq = await this.userQueries(s, engine, backend, rowsToCsr(users.map((u) => userRow(s.userTokens, u, s.recent.indices.subarray(s.recent.indptr[u], s.recent.indptr[u + 1]))), s.user.width), signal);
    const I = V.rows;
    const logits = await engine.run('gemm', { m: users.length, n: I, k: V.cols, a: Uq.data, b: V.data, transB: 'T' }, { backend, signal });
    const ce = await engine.run('softmaxCrossEntropy', { logits, targets: new Int32Array(users.length) }, { backend, signal });
    // lse_r = loss_r + logit_r0
    const key = Float64Array.from(exUser, (u, t) => {
      const r = row.get(u)!;
      return ce.loss[r] + logits.data[r * I] - logits.data[r * I + exItem[t]];
    });
    return sortByKey(key);
  }

  /** The denseScoreTopK keys: [v_i | prior_i] for every item (items × (dim + 1)). */
  private async itemVectors(s: State, engine: Engine, backend: string, signal?: AbortSignal): Promise<Dense> {
    return withColumn(await s.item.infer(engine, backend, allItemRows(s), signal), s.prior, this.params.temperature);
  }

  /** The denseScoreTopK queries: [u / τ | 1] for input rows x. */
  private async userQueries(s: State, engine: Engine, backend: string, x: Csr, signal?: AbortSignal): Promise<Dense> {
    return withColumn(await s.user.infer(engine, backend, x, signal), null, this.params.temperature);
  }

  private userQueriesSync(s: State, engine: Engine, x: Csr, signal?: AbortSignal): Dense {
    return withColumn(s.user.inferSync(engine, x, signal), null, this.params.temperature);
  }

  private fitted(what: string): { ts: Trainset; s: State; keys: Dense } {
    const ts = this.trainset(what);
    const s = this.state!;
    this.keys ??= withColumn(s.item.inferSync(resolveContext().engine, allItemRows(s)), s.prior, this.params.temperature);
    return { ts, s, keys: this.keys };
  }

  /** The user tower's input row of a user index: their side tokens and recent training items. */
  private userInput(s: State, ts: Trainset, u: number): InputRow {
    const hist = u < s.recent.rows ? s.recent.indices.subarray(s.recent.indptr[u], s.recent.indptr[u + 1]) : new Int32Array(0);
    if (u + 1 < s.userTokens.ptr.length) return userRow(s.userTokens, u, hist);
    // a user added to the id map after fit: tokens from the side info, if it has them
    const extra = tokenSets(ts.users, this.side.users, false, s.userTokens.vocab);
    return userRow(extra, u, hist);
  }

  predict(user: number, item: number): Prediction {
    const { ts, s, keys } = this.fitted('predict()');
    checkIndex(this.name, 'user', user, ts.users.size);
    checkIndex(this.name, 'item', item, keys.rows);
    const row = this.userInput(s, ts, user);
    const q = this.userQueriesSync(s, resolveContext().engine, rowsToCsr([row], s.user.width));
    let v = 0;
    for (let f = 0; f < q.cols; f++) v += q.data[f] * keys.data[item * keys.cols + f];
    return row.cols.length === 0 ? { estimate: v, impossible: true, reason: 'user without interactions or side features' } : { estimate: v, impossible: false };
  }

  /** The top k for a user index, from their side tokens and recent items (so also for users without interactions). */
  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const { ts, s, keys } = this.fitted('recommend()');
    checkK(this.name, k);
    checkIndex(this.name, 'user', user, ts.users.size);
    const ctx = resolveContext(opts);
    const q = this.userQueriesSync(s, ctx.engine, rowsToCsr([this.userInput(s, ts, user)], s.user.width), ctx.signal);
    return rankQuery(this.name, q.data, keys, ts.userItems(user), k, opts);
  }

  /** The top k for side tokens alone (a brand-new user, e.g. ['age=25-34', 'gender=F']); unknown tokens are ignored. */
  recommendForFeatures(features: string[], k: number, opts: RecommendOptions = {}): Recommendations {
    const { s, keys } = this.fitted('recommendForFeatures()');
    checkK(this.name, k);
    const index = new Map(s.userTokens.vocab.map((t, j) => [t, j]));
    const cols = [...new Set(features)].map((t) => index.get(t)).filter((j): j is number => j !== undefined);
    const ctx = resolveContext(opts);
    const q = this.userQueriesSync(s, ctx.engine, rowsToCsr([{ cols, weights: cols.map(() => 1) }], s.user.width), ctx.signal);
    return rankQuery(this.name, q.data, keys, [], k, opts);
  }

  async recommendBatch(users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    const { ts, s, keys } = this.fitted('recommendBatch()');
    checkK(this.name, k);
    for (const u of users) checkIndex(this.name, 'user', u, ts.users.size);
    const ctx = resolveContext(opts), out: Recommendations[] = [], block = 1024;
    // users beyond the training matrix (the id map grew after fit) have no seen items: an empty last row stands for them
    const seen = ts.ur, empty = seen.rows;
    const seenRows: Csr = { ...seen, rows: seen.rows + 1, indptr: Int32Array.from([...seen.indptr, seen.indptr[seen.rows]]) };
    for (let at = 0; at < users.length; at += block) {
      const part = users.subarray(at, Math.min(users.length, at + block));
      const q = await this.userQueries(s, ctx.engine, ctx.backend, rowsToCsr(Array.from(part, (u) => this.userInput(s, ts, u)), s.user.width), ctx.signal);
      out.push(...(await rankQueries(this.name, q, keys, seenRows, Array.from(part, (u) => (u < seen.rows ? u : empty)), k, opts)));
    }
    return out;
  }

  /** Save to the AFFM file (docs/model-format.md): kind 'two-tower', the parameter arena, the feature vocabularies and token sets, the recent items. */
  save(path: string): void {
    const { ts, s } = this.fitted('save()');
    saveModelWithTrainset(path, 'two-tower', ts, { ...this.params }, {
      layout: s.arena.layout(), userVocab: s.userTokens.vocab, itemVocab: s.itemTokens.vocab,
    }, {
      parameters: s.arena.data!,
      userTokenPtr: s.userTokens.ptr, userTokenIdx: s.userTokens.idx, itemTokenPtr: s.itemTokens.ptr, itemTokenIdx: s.itemTokens.idx,
      itemHasData: s.itemHasData, prior: s.prior, recentIndptr: Int32Array.from(s.recent.indptr), recentIndices: s.recent.indices,
    }, this.params.dim);
  }

  static load(path: string): TwoTower {
    const f = readModelWithTrainset(path, 'two-tower');
    const model = modelFromSavedParams(path, f.params, (p) => new TwoTower(p));
    const p = model.params, ts = f.ts, U = ts.nUsers, I = ts.nItems;
    const vocab = (v: unknown, what: string): string[] => {
      if (!Array.isArray(v) || !v.every((t) => typeof t === 'string')) throw f.bad(`meta.${what} is not a list of tokens`);
      return v as string[];
    };
    const tokens = (vocabList: string[], ptrName: string, idxName: string, rows: number): TokenSets => {
      const ptr = f.need(ptrName, rows + 1, 'i32') as Int32Array;
      const idx = f.need(idxName, ptr[rows], 'i32') as Int32Array;
      for (let t = 0; t < idx.length; t++) if (!(idx[t] >= 0 && idx[t] < vocabList.length)) throw f.bad(`${idxName}[${t}] = ${idx[t]} is outside the vocabulary of ${vocabList.length}`);
      return { vocab: vocabList, ptr, idx };
    };
    const userTokens = tokens(vocab(f.meta.userVocab, 'userVocab'), 'userTokenPtr', 'userTokenIdx', U);
    const itemTokens = tokens(vocab(f.meta.itemVocab, 'itemVocab'), 'itemTokenPtr', 'itemTokenIdx', I);
    const itemHasData = f.need('itemHasData', I, 'i32') as Int32Array;
    const prior = f.need('prior', I, 'f32') as Float32Array;
    const rIndptr = f.need('recentIndptr', U + 1, 'i32') as Int32Array;
    const rIndices = f.need('recentIndices', rIndptr[U], 'i32') as Int32Array;
    for (const i of rIndices) if (!(i >= 0 && i < I)) throw f.bad(`recent item ${i} out of range`);
    const { arena, user, item } = buildTowers(new Runtime({}, p.seed), p, userTokens, itemTokens, I);
    arena.allocate(new Rng(p.seed));
    try {
      arena.load(f.meta.layout as ArenaLayout[], f.need('parameters', arena.size, 'f32') as Float32Array);
    } catch (e) {
      throw f.bad((e as Error).message);
    }
    model.ts = ts;
    model.state = { arena, user, item, userTokens, itemTokens, itemHasData, recent: { rows: U, cols: I, indptr: rIndptr, indices: rIndices, data: new Float32Array(rIndices.length).fill(1) }, prior };
    return model;
  }
}
