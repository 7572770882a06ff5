/**
 * NeuMF — neural matrix factorization (He et al. 2017, "Neural Collaborative Filtering"): a
 * generalized matrix factorization (GMF) tower and a multi-layer perceptron (MLP) tower over
 * separate user and item embeddings, fused by one output layer:
 *
 *   φ_GMF = p_u ⊙ q_i                                         (p, q: f-dimensional)
 *   φ_MLP = a_L(W_Lᵀ(… a_1(W_1ᵀ[p'_u; q'_i] + b_1) …) + b_L)   (ReLU; p', q': e-dimensional)
 *   ŷ_ui  = σ(h_Gᵀ φ_GMF + h_Mᵀ φ_MLP + b)
 *
 * The tower halves at every layer and ends at the predictive factors f: with `layers` = L hidden
 * layers, the concatenated input has f·2^L units, the hidden layers f·2^(L−1), …, f, and each side's
 * MLP embedding e = f·2^(L−1) (the paper's code defaults: f = 8, layers [64, 32, 16, 8]).
 * W_1 is applied as W_1ᵀ[p'; q'] = W_1,userᵀp' + W_1,itemᵀq' (no concatenation needed).
 *
 * Training (the paper's): binary cross-entropy on each training interaction (label 1) and 4
 * negatives per positive drawn uniformly, every epoch anew, from the items the user never
 * interacted with (label 0); mean over the batch; Adam lr 0.001, batches of 256; embeddings
 * N(0, 0.01²), dense layers Glorot. No pre-training of the towers (the paper's best figures use
 * GMF and MLP pre-training; without it they report somewhat lower accuracy).
 *
 * Early stopping as SASRec's (sasrec.ts): the validation set (FitOptions.validation) or each user's
 * last training interaction (holdoutLast) is held out; after each epoch the model ranks the
 * catalogue for the held-out users (their other training items excluded), and the epoch with the
 * best NDCG@10 is kept. Curriculum over the positives ('item-popularity': interactions with popular
 * items first; 'user-activity': interactions of active users first) and balanceGamma (a positive
 * and its negatives weigh pop_i^−γ, mean 1) as in curriculum.ts.
 *
 * Scoring a user against many items: the item side of W_1 (q'·W_1,item) is computed once per call,
 * and the towers run as gemm + biasActivation over the items (one batched gemm adds each user's
 * W_1,userᵀp'_u + b_1 to it); recommend ranks the scores with ranking.ts (seen items excluded).
 * The same steps run synchronously (engine.runSync: recommend, predict) or through the engine
 * (recommendBatch, validation).
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom, sharedFloat32, sharedInt32 } from '../../data/matrix.js';
import type { Interactions } from '../../data/interactions.js';
import { Rng } from '../../data/random.js';
import { resolveContext, type Context } from '../../engine/context.js';
import type { KernelArgs, KernelName, KernelOutput } from '../../kernels/contract.js';
import { Adam, Embedding, Linear, ParamArena, Runtime, shuffledBatches, trainLoop, type Param } from '../../nn/index.js';
import { checkPacing, curriculumFraction, pacingParams, sortByKey, type CurriculumPacing } from '../curriculum.js';
import { candidateList, candidateMask, checkK, noRecommendations, topKOf } from '../ranking.js';
import { count, nonNeg, positive, readParams, seedSpec, type ParamTable } from '../params.js';
import { Trainset } from '../trainset.js';
import type { FitOptions, ModelParams, Prediction, RecommendOptions, Recommendations } from '../types.js';
import { modelFromSavedParams, readNeural, saveNeural } from '../modelFileTrainset.js';
import { ArenaModel, loadArena } from './arenaModel.js';
import { holdOut, lastItems, userSequences } from './sequences.js';
import { heldOutSet, ndcgAt } from './validation.js';

export type PairCurriculum = 'none' | 'item-popularity' | 'user-activity';

export interface NeumfOptions {
  /** predictive factors f: GMF's dimension and the MLP's last layer */
  factors: number;
  /** hidden layers of the MLP tower */
  layers: number;
  /** negatives per positive */
  negatives: number;
  lr: number;
  batchSize: number;
  epochs: number;
  /** epochs without a better validation NDCG@10 before stopping; 0: no early stopping */
  patience: number;
  weightDecay: number;
  /** without FitOptions.validation: hold out each user's last interaction for early stopping (default true) */
  holdoutLast: boolean;
  curriculum: PairCurriculum;
  curriculumPacing: CurriculumPacing;
  curriculumStart: number;
  curriculumEpochs: number;
  balanceGamma: number;
  seed: number;
}

const NEUMF_PARAMS: ParamTable = {
  factors: { names: ['predictive_factors', 'n_factors', 'num_factors'], type: 'int', def: 8, above: 0, must: 'must be a positive integer' },
  layers: { names: ['mlp_layers', 'num_layers'], type: 'int', def: 3, min: 1, must: 'must be an integer ≥ 1' },
  negatives: { names: ['num_neg', 'n_negatives'], type: 'int', def: 4, min: 1, must: 'must be an integer ≥ 1' },
  lr: positive(['learning_rate', 'lr_all'], 0.001),
  batchSize: { names: ['batch_size'], type: 'int', def: 256, min: 1, must: 'must be an integer ≥ 1' },
  epochs: count(['num_epochs', 'n_epochs', 'iterations'], 20),
  patience: count(['early_stopping_patience'], 5),
  weightDecay: nonNeg(['weight_decay', 'reg'], 0),
  holdoutLast: { names: ['holdout_last'], type: 'bool', def: true },
  curriculum: { names: [], type: 'enum', def: 'none', choices: ['none', 'item-popularity', 'user-activity'] },
  ...pacingParams(),
  seed: seedSpec,
};

/** Most rows × units of one scoring call (users × items × the widest layer): ~64 MiB of activations. */
const SCORE_ELEMENTS = 1 << 24;
/** The MLP's hidden sizes must stay below this (f·2^(L−1)). */
const MAX_UNITS = 1 << 16;

/** The network's modules (training forward/backward on a batch of (user, item) pairs). */
export class NeumfNet {
  readonly gmfUser: Embedding;
  readonly gmfItem: Embedding;
  readonly mlpUser: Embedding;
  readonly mlpItem: Embedding;
  readonly firstUser: Linear;
  readonly firstItem: Linear;
  readonly hidden: Linear[];
  readonly outGmf: Linear;
  readonly outMlp: Linear;
  private saved: { g: Dense; gu: Dense; gi: Dense; z1: Dense } | null = null;

  constructor(private readonly rt: Runtime, arena: ParamArena, nUsers: number, nItems: number, readonly o: NeumfOptions) {
    const f = o.factors, e = f * 2 ** (o.layers - 1), init = { kind: 'normal' as const, std: 0.01 };
    this.gmfUser = new Embedding(rt, arena, 'gmf.user', nUsers, f, { init, lazy: false });
    this.gmfItem = new Embedding(rt, arena, 'gmf.item', nItems, f, { init, lazy: false });
    this.mlpUser = new Embedding(rt, arena, 'mlp.user', nUsers, e, { init, lazy: false });
    this.mlpItem = new Embedding(rt, arena, 'mlp.item', nItems, e, { init, lazy: false });
    this.firstUser = new Linear(rt, arena, 'mlp.layer1.user', e, e);
    this.firstItem = new Linear(rt, arena, 'mlp.layer1.item', e, e, { bias: false });
    this.hidden = [];
    for (let l = 1, units = e; l < o.layers; l++, units /= 2) this.hidden.push(new Linear(rt, arena, `mlp.layer${l + 1}`, units, units / 2, { activation: 'relu' }));
    this.outGmf = new Linear(rt, arena, 'output.gmf', f, 1);
    this.outMlp = new Linear(rt, arena, 'output.mlp', f, 1, { bias: false });
  }

  /** Logits of the pairs (users[t], items[t]). */
  async forward(users: Int32Array, items: Int32Array): Promise<Float32Array> {
    const rt = this.rt;
    const gu = await this.gmfUser.forward(users), gi = await this.gmfItem.forward(items);
    const g: Dense = { rows: gu.rows, cols: gu.cols, data: await rt.run('elementwise', { op: 'mul', x: gu.data, y: gi.data }) };
    const pu = await this.mlpUser.forward(users), qi = await this.mlpItem.forward(items);
    const z1: Dense = { rows: pu.rows, cols: this.firstUser.outputs, data: await rt.add((await this.firstUser.forward(pu)).data, (await this.firstItem.forward(qi)).data) };
    let h = await rt.run('biasActivation', { x: z1, activation: 'relu' });
    for (const layer of this.hidden) h = await layer.forward(h);
    this.saved = { g, gu, gi, z1 };
    return rt.add((await this.outGmf.forward(g)).data, (await this.outMlp.forward(h)).data);
  }

  /** Adds every parameter's gradient for ∂L/∂logits. */
  async backward(dLogits: Float32Array): Promise<void> {
    const rt = this.rt, s = this.saved;
    if (!s) throw new Error('neumf: backward before forward');
    const dy: Dense = { rows: dLogits.length, cols: 1, data: dLogits };
    const dg = (await this.outGmf.backward(dy))!;
    let dh = (await this.outMlp.backward(dy))!;
    for (let l = this.hidden.length - 1; l >= 0; l--) dh = (await this.hidden[l].backward(dh))!;
    const dz1 = await rt.run('activationBackward', { x: s.z1, activation: 'relu', gradOut: dh });
    await this.mlpUser.backward((await this.firstUser.backward(dz1))!);
    await this.mlpItem.backward((await this.firstItem.backward(dz1))!);
    // φ = p ⊙ q: ∂L/∂p = ∂L/∂φ ⊙ q, ∂L/∂q = ∂L/∂φ ⊙ p
    await this.gmfUser.backward({ rows: dg.rows, cols: dg.cols, data: await rt.run('elementwise', { op: 'mul', x: dg.data, y: s.gi.data }) });
    await this.gmfItem.backward({ rows: dg.rows, cols: dg.cols, data: await rt.run('elementwise', { op: 'mul', x: dg.data, y: s.gu.data }) });
  }
}

/** The parameters scoring reads, by role (views of the arena). */
interface Weights {
  f: number;
  e: number;
  gmfUser: Param; gmfItem: Param; mlpUser: Param; mlpItem: Param;
  w1User: Param; b1: Param; w1Item: Param;
  hidden: Array<{ w: Param; b: Param }>;
  outGmf: Param; outBias: Param; outMlp: Param;
}

function weightsOf(net: NeumfNet): Weights {
  return {
    f: net.o.factors, e: net.mlpUser.dim,
    gmfUser: net.gmfUser.table, gmfItem: net.gmfItem.table, mlpUser: net.mlpUser.table, mlpItem: net.mlpItem.table,
    w1User: net.firstUser.weight, b1: net.firstUser.bias!, w1Item: net.firstItem.weight,
    hidden: net.hidden.map((l) => ({ w: l.weight, b: l.bias! })),
    outGmf: net.outGmf.weight, outBias: net.outGmf.bias!, outMlp: net.outMlp.weight,
  };
}

type KernelCall = { [K in KernelName]: { kernel: K; args: KernelArgs<K> } }[KernelName];
/** A computation as a sequence of kernel calls: it yields each call and receives its output. */
type Steps<T> = Generator<KernelCall, T, KernelOutput<KernelName>>;

function call<K extends KernelName>(kernel: K, args: KernelArgs<K>): KernelCall {
  return { kernel, args } as KernelCall;
}

/** Run the steps on the calling thread (engine.runSync: the reference kernels). */
function runStepsSync<T>(steps: Steps<T>, ctx: Context): T {
  let r = steps.next();
  while (!r.done) r = steps.next(ctx.engine.runSync(r.value.kernel, r.value.args as never, { signal: ctx.signal }) as KernelOutput<KernelName>);
  return r.value;
}

/** Run the steps through the engine (each call on the context's backend). */
async function runSteps<T>(steps: Steps<T>, ctx: Context): Promise<T> {
  let r = steps.next();
  while (!r.done) r = steps.next(await ctx.engine.run(r.value.kernel, r.value.args as never, { backend: ctx.backend, signal: ctx.signal }) as KernelOutput<KernelName>);
  return r.value;
}

/** Rows `rows` of a matrix as a new matrix. */
function gatherDenseRows(m: Dense, rows: Int32Array): Dense {
  const d = m.cols, out = denseFrom(rows.length, d);
  for (let t = 0; t < rows.length; t++) out.data.set(m.data.subarray(rows[t] * d, (rows[t] + 1) * d), t * d);
  return out;
}

function gatherRows(p: Param, rows: Int32Array): Dense {
  return gatherDenseRows(p.dense, rows);
}

/** The item side of the MLP's first layer, Q'·W_1,item, for every item (items × e). */
function* itemPartSteps(w: Weights): Steps<Dense> {
  return (yield call('gemm', { m: w.mlpItem.rows, n: w.e, k: w.e, a: w.mlpItem.value, b: w.w1Item.value })) as Dense;
}

/**
 * Logits of users × items (row b = users[b], column j = items[j]) as kernel calls, given the item
 * part Q'·W_1,item of every item (itemPartSteps):
 *   Z  = 1·(W_1,userᵀ p'_u + b_1) + (Q'·W_1,item)[items]   (one batched gemm: rank-1 per user onto the shared item part)
 *   H  = the tower (ReLU layers) on Z;  s_mlp = H·h_M
 *   s_gmf = Q·(p_u ⊙ h_G);   logit = s_gmf + s_mlp + b
 */
function* scoreSteps(w: Weights, itemPartAll: Dense, users: Int32Array, items: Int32Array): Steps<Float32Array> {
  const B = users.length, J = items.length, f = w.f, e = w.e;
  const itemPart = J === itemPartAll.rows ? itemPartAll : gatherDenseRows(itemPartAll, items);
  const userPart = (yield call('gemm', { m: B, n: e, k: e, a: gatherRows(w.mlpUser, users).data, b: w.w1User.value })) as Dense;
  const withBias = (yield call('biasActivation', { x: userPart, bias: w.b1.value, activation: 'identity' })) as Dense;
  const ones = sharedFloat32(J).fill(1);
  const z = (yield call('gemm', { batch: B, m: J, n: e, k: 1, a: ones, strideA: 0, b: withBias.data, strideB: e, beta: 1, c: itemPart.data, strideC: 0 })) as Dense;
  let h = (yield call('biasActivation', { x: z, activation: 'relu' })) as Dense;
  for (const layer of w.hidden) {
    const y = (yield call('gemm', { m: h.rows, n: layer.w.cols, k: h.cols, a: h.data, b: layer.w.value })) as Dense;
    h = (yield call('biasActivation', { x: y, bias: layer.b.value, activation: 'relu' })) as Dense;
  }
  const mlp = (yield call('gemm', { m: B * J, n: 1, k: f, a: h.data, b: w.outMlp.value })) as Dense;
  const pu = gatherRows(w.gmfUser, users);
  for (let b = 0; b < B; b++) for (let c = 0; c < f; c++) pu.data[b * f + c] *= w.outGmf.value[c];
  const gmf = (yield call('gemm', { batch: B, m: J, n: 1, k: f, a: gatherRows(w.gmfItem, items).data, strideA: 0, b: pu.data, strideB: f, beta: 1, c: mlp.data })) as Dense;
  const out = gmf.data, bias = w.outBias.value[0];
  for (let t = 0; t < out.length; t++) out[t] += bias;
  return out;
}

interface Fitted {
  ts: Trainset;
  arena: ParamArena;
  weights: Weights;
  /** 0 … nItems − 1 */
  allItems: Int32Array;
  /** Q'·W_1,item of every item, computed on first use */
  itemPart: Dense | null;
}

export class NeuMF extends ArenaModel<NeumfOptions, Fitted> {
  readonly name = 'neumf';
  readonly opts: NeumfOptions;

  constructor(params?: Partial<NeumfOptions> | ModelParams) {
    super();
    const o = readParams<NeumfOptions>('neumf', params as Record<string, unknown>, NEUMF_PARAMS);
    if (o.factors * 2 ** (o.layers - 1) > MAX_UNITS) throw new RangeError(`neumf: factors × 2^(layers − 1) = ${o.factors * 2 ** (o.layers - 1)} MLP units is more than ${MAX_UNITS}; use fewer factors or layers`);
    checkPacing('neumf', o);
    this.opts = o;
  }


  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    const o = this.opts;
    const ts = Trainset.of(train, this.name, { copyIds: true });
    const ctx = resolveContext(opts);
    const nU = ts.nUsers, nI = ts.nItems;
    // held-out pairs for early stopping
    let heldUser: Int32Array = new Int32Array(0), heldItem: Int32Array = new Int32Array(0);
    if (o.patience > 0 && opts.validation) {
      ({ user: heldUser, item: heldItem } = heldOutSet(opts.validation, train, 'neumf'));
      const h = holdOut(userSequences(train, nU), heldUser, heldItem);
      if (h.unmatched > 0) throw new RangeError(`neumf: ${h.unmatched} validation interactions are not training interactions (the validation set must be a subset of the training data, e.g. leave-last's second-last items)`);
    } else if (o.patience > 0 && o.holdoutLast) {
      ({ user: heldUser, item: heldItem } = lastItems(userSequences(train, nU), 3));
    }
    const held = new Map<number, Set<number>>();
    heldUser.forEach((u, t) => { if (!held.has(u)) held.set(u, new Set()); held.get(u)!.add(heldItem[t]); });
    // training positives: the distinct (user, item) pairs of train, the held-out ones left out
    const posUser: number[] = [], posItem: number[] = [];
    for (let u = 0; u < nU; u++) {
      const h = held.get(u);
      for (const i of ts.userItems(u)) if (!h?.has(i)) { posUser.push(u); posItem.push(i); }
    }
    if (!posUser.length) throw new RangeError('neumf: no training interactions left to train on');

    const rt = new Runtime(ctx, o.seed);
    const arena = new ParamArena();
    const net = new NeumfNet(rt, arena, nU, nI, o);
    arena.allocate(new Rng(o.seed));
    const adam = new Adam(rt, arena, { lr: o.lr, weightDecay: o.weightDecay, decoupled: true });
    const weights = weightsOf(net);
    const ranked = this.rankPositives(posUser, posItem, ts);
    const balance = this.itemWeights(posItem, ts);
    const negRng = new Rng((o.seed ^ 0x5851f42d) >>> 0);
    const per = 1 + o.negatives;

    // one epoch's instances: each used positive with its negatives, then batches of rows
    let inst: { user: Int32Array; item: Int32Array; label: Float32Array; weight?: Float32Array } | null = null;
    const batches = (epoch: number, rng: Rng): Iterable<Int32Array> => {
      const m = o.curriculum === 'none' ? ranked.length : Math.max(1, Math.ceil(curriculumFraction(epoch - 1, o.epochs, o) * ranked.length));
      inst = this.instances(ranked.subarray(0, m), posUser, posItem, ts, negRng, balance);
      return shuffledBatches(m * per, o.batchSize, rng);
    };
    const step = async (rows: Int32Array): Promise<number> => {
      const x = inst!, n = rows.length;
      const users = sharedInt32(n), items = sharedInt32(n), labels = sharedFloat32(n);
      const w = x.weight ? sharedFloat32(n) : undefined;
      rows.forEach((r, t) => { users[t] = x.user[r]; items[t] = x.item[r]; labels[t] = x.label[r]; if (w) w[t] = x.weight![r]; });
      const logits = await net.forward(users, items);
      const bce = await rt.run('sigmoidCrossEntropy', { logits, targets: labels, weights: w, gradScale: 1 / n });
      await net.backward(bce.grad);
      let loss = 0;
      for (let t = 0; t < n; t++) loss += bce.loss[t];
      return loss / n;
    };
    const validUsers = Int32Array.from([...held.keys()].sort((a, b) => a - b));
    const allItems = Int32Array.from({ length: nI }, (_, i) => i);
    const validate = validUsers.length ? async (): Promise<number> => {
      let sum = 0;
      const lists = await this.topLists(weights, ts, validUsers, 10, allItems, ctx, held);
      lists.forEach((l, t) => { sum += ndcgAt(l.ids, held.get(validUsers[t])!, 10); });
      return sum / validUsers.length;
    } : undefined;

    const result = await trainLoop({
      epochs: o.epochs, runtime: rt, arena, optimizer: adam, seed: o.seed, signal: ctx.signal,
      batches, step, validate, patience: validate ? o.patience : undefined,
      onEpoch: (r) => opts.onEpoch?.(r.epoch, r.loss, { epochs: o.epochs, metric: r.metric, metricName: r.metric !== undefined ? 'ndcg@10' : undefined, bestEpoch: r.bestEpoch, seconds: r.seconds }),
    });
    this.history = result.history;
    this.ts = ts;
    this.fitted = { ts, arena, weights, allItems, itemPart: null };
  }

  /** The instances of an epoch: each positive of `chosen` followed by its negatives (uniform over the user's non-interacted items). */
  private instances(chosen: Int32Array, posUser: number[], posItem: number[], ts: Trainset, rng: Rng, balance: Float32Array | undefined) {
    const per = 1 + this.opts.negatives, n = chosen.length * per, nI = ts.nItems;
    const user = new Int32Array(n), item = new Int32Array(n), label = new Float32Array(n);
    const weight = balance ? new Float32Array(n) : undefined;
    let r = 0;
    for (const p of chosen) {
      const u = posUser[p], seen = ts.userItems(u);
      const free = nI - seen.length;
      for (let j = 0; j < per; j++, r++) {
        user[r] = u;
        if (weight) weight[r] = balance![posItem[p]];
        if (j === 0) { item[r] = posItem[p]; label[r] = 1; continue; }
        let i = rng.int(nI);
        if (free > 0) while (contains(seen, i)) i = rng.int(nI);
        item[r] = i;
      }
    }
    return { user, item, label, weight };
  }

  /** Positives (indices into posUser/posItem), easiest first for a curriculum. */
  private rankPositives(posUser: number[], posItem: number[], ts: Trainset): Int32Array {
    const c = this.opts.curriculum, n = posUser.length;
    if (c === 'none') return Int32Array.from({ length: n }, (_, k) => k);
    const key = new Float64Array(n);
    for (let k = 0; k < n; k++) key[k] = c === 'item-popularity' ? -ts.itemCount[posItem[k]] : -ts.userCount[posUser[k]];
    return sortByKey(key);
  }

  /** Per-item weights pop^−γ normalised to mean 1 over the positives (undefined when γ = 0). */
  private itemWeights(posItem: number[], ts: Trainset): Float32Array | undefined {
    const g = this.opts.balanceGamma;
    if (!g) return undefined;
    const w = new Float32Array(ts.nItems);
    for (let i = 0; i < w.length; i++) w[i] = ts.itemCount[i] > 0 ? Math.pow(ts.itemCount[i], -g) : 0;
    let s = 0;
    for (const i of posItem) s += w[i];
    const mean = s / posItem.length;
    for (let i = 0; i < w.length; i++) w[i] /= mean;
    return w;
  }

  /** Top-k lists of many users over `items`, scored through the engine in blocks; `extraSeen` also excluded per user. */
  private async topLists(w: Weights, ts: Trainset, users: Int32Array, k: number, items: Int32Array, ctx: Context, keep?: Map<number, Set<number>>, filterSeen = true): Promise<Recommendations[]> {
    const J = items.length, widest = Math.max(w.e, 1);
    const itemPart = await runSteps(itemPartSteps(w), ctx);
    const block = Math.max(1, Math.floor(SCORE_ELEMENTS / Math.max(1, J * widest)));
    const out: Recommendations[] = [];
    for (let at = 0; at < users.length; at += block) {
      const us = users.subarray(at, at + block);
      const scores = await runSteps(scoreSteps(w, itemPart, us, items), ctx);
      us.forEach((u, b) => {
        // candidates: `items`, minus the user's training items (keep: held-out ones stay candidates)
        const mask = new Uint8Array(ts.nItems);
        for (const i of items) mask[i] = 1;
        if (filterSeen) for (const i of ts.userItems(u)) if (!keep?.get(u)?.has(i)) mask[i] = 0;
        const pos = new Int32Array(ts.nItems);
        items.forEach((i, j) => { pos[i] = j; });
        out.push(topKOf(k, (i) => scores[b * J + pos[i]], mask, items));
      });
    }
    return out;
  }

  /** The fitted model's item part of the first layer (derived once, on the calling thread). */
  private itemPart(): Dense {
    const f = this.fitted!;
    f.itemPart ??= runStepsSync(itemPartSteps(f.weights), resolveContext());
    return f.itemPart;
  }

  predict(user: number, item: number): Prediction {
    const f = this.need('predict()');
    const why = f.ts.unknownReason(user, item);
    if (why) return { estimate: 0, impossible: true, reason: why };
    const s = runStepsSync(scoreSteps(f.weights, this.itemPart(), Int32Array.of(user), Int32Array.of(item)), resolveContext());
    return { estimate: s[0], impossible: false };
  }

  /** The k best candidates (ranking.ts), scored on the calling thread (engine.runSync). */
  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const f = this.need('recommend()');
    checkK(this.name, k);
    if (!f.ts.knowsUser(user)) return noRecommendations();
    const mask = candidateMask(this.name, f.ts.nItems, f.ts.userItems(user), opts);
    const items = candidateList(mask);
    if (!items.length) return noRecommendations();
    const scores = runStepsSync(scoreSteps(f.weights, this.itemPart(), Int32Array.of(user), items), resolveContext(opts));
    const at = new Int32Array(f.ts.nItems);
    items.forEach((i, j) => { at[i] = j; });
    return topKOf(k, (i) => scores[at[i]], mask, items);
  }

  /** recommend() for many users, scored through the engine in blocks of users. Equals recommend(u, k, opts) per user. */
  async recommendBatch(users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    const f = this.need('recommendBatch()');
    checkK(this.name, k);
    if (opts.items) return Array.from(users, (u) => this.recommend(u, k, opts));
    const known = Int32Array.from(Array.from(users).filter((u) => f.ts.knowsUser(u)));
    const lists = await this.topLists(f.weights, f.ts, known, k, f.allItems, resolveContext(opts), undefined, opts.filterSeen ?? true);
    const byUser = new Map<number, Recommendations>();
    known.forEach((u, t) => byUser.set(u, lists[t]));
    return Array.from(users, (u) => byUser.get(u) ?? noRecommendations());
  }

  // ---- persistence

  /** Save to the AFFM file (kind 'neumf'; docs/model-format.md). */
  save(path: string): void {
    const f = this.need('save()');
    saveNeural(path, this.name, {
      params: this.params, meta: { history: this.savedHistory() },
      ts: f.ts, layout: f.arena.layout(), values: f.arena.data!, factors: this.opts.factors, arrays: {},
    });
  }

  static load(path: string): NeuMF {
    const file = readNeural(path, 'neumf');
    const model = modelFromSavedParams(path, file.params, (p) => new NeuMF(p));
    const arena = new ParamArena();
    const net = new NeumfNet(new Runtime({}, model.opts.seed), arena, file.ts.nUsers, file.ts.nItems, model.opts);
    arena.allocate(new Rng(0));
    loadArena(arena, file);
    const ts = file.ts;
    model.ts = ts;
    model.fitted = { ts, arena, weights: weightsOf(net), allItems: Int32Array.from({ length: file.ts.nItems }, (_, i) => i), itemPart: null };
    model.restoreHistory(file.meta);
    return model;
  }
}

/** True when the ascending list holds v (binary search). */
function contains(sorted: Int32Array, v: number): boolean {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1; else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === v;
}
