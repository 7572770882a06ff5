/**
 * SASRec — self-attentive sequential recommendation (Kang & McAuley 2018), on the nn core.
 *
 * A user's history (sequences.ts: items in time order) is cut to its last n = maxLen items and
 * left-padded; position t of the window (padding: id −1, never attended to) is embedded as
 *
 *   x_t = √d · E[s_t] + P[t + maxLen − T]          (E: items × d, P: maxLen × d learned positions;
 *                                                  the last item always sits at position maxLen − 1)
 *   h   = LN(Block_b(… Block_1(Dropout(x))))        (Transformer blocks, causal self-attention
 *                                                  with a key-padding mask, ReLU feed-forward)
 *   r_{u,t}(i) = h_t · E[i]                          (tied item embeddings: the next-item score)
 *
 * The blocks' layout (option blockLayout, transformer.ts): 'pre-ln' (default), the paper's
 * equations, h = x + Dropout(Attn(LN(x))), out = h + Dropout(FFN(LN(h))); or 'sasrec-code', the
 * authors' TensorFlow code (and pmixer/SASRec.pytorch): q = LN(x), h = q + Dropout(Attn(queries q,
 * keys/values x)), u = LN(h), out = u + Dropout(FFN(u)).
 *
 * Training predicts the next item at every position of every training window (input s_1…s_{n−1},
 * targets s_2…s_n of the window's last maxLen + 1 items) with one of two losses, over the real
 * (non-padding) positions. The windows (option `windows`): 'last', one per user, its whole sequence
 * (the paper's code: items before the last maxLen + 1 are never targets); 'all', also the earlier
 * parts of a longer history, cut backwards into windows of maxLen targets (each target once per
 * epoch, as the prefix-per-example data loaders of later implementations do). The losses:
 *   'bce' (the paper): −log σ(r(s_{t+1})) − log(1 − σ(r(j_t))), one negative j_t per position,
 *         drawn uniformly from the items the user never interacted with; mean over positions.
 *   'ce'  (Klenitskiy & Vasilev 2023): full softmax cross-entropy over the catalogue,
 *         log Σ_i e^{r(i)} − r(s_{t+1}); mean over positions.
 * Adam (β = 0.9, 0.98 as the paper's code), lr 0.001, batches of 128 users, dropout 0.2, hidden 50,
 * 2 blocks, 1 head, maxLen 200 (the paper's MovieLens-1M settings). The learning rate is constant
 * by default (the paper); options: a linear warm-up from 0 over the first `warmupEpochs` epochs'
 * steps, and `lrDecay` 'linear', a linear decay after the warm-up to 0 at the last step of the
 * `epochs` budget (BERT's schedule, warmupLinearDecay; early stopping may end the fit before).
 *
 * Early stopping: with a validation set (FitOptions.validation, e.g. leave-last's second-last item
 * per user), or else each user's last training item (holdoutLast, users with ≥ 3 items), the
 * held-out items are removed from the training sequences; after every epoch the model ranks the
 * catalogue for each held-out user from the rest of its sequence (its training items excluded), and
 * the epoch with the best NDCG@10 is kept (patience: epochs without improvement; 0 = no early
 * stopping, no hold-out). The user representation used to recommend is the last position's hidden
 * state over the user's whole training sequence (held-out items included), computed once after fit;
 * recommend / recommendBatch score it against E with the denseScoreTopK kernel (scoring.ts).
 *
 * Curriculum (curriculum.ts) over training sequences: 'user-activity' (long histories first) or
 * 'item-popularity' (sequences of popular items first); balanceGamma weights each target position
 * by pop^−γ (mean 1).
 *
 * Every heavy operation is a kernel call on the fit's engine context (gemm, attention softmax,
 * layer norm, losses, embeddings, Adam); training is deterministic for a seed.
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom, sharedInt32 } from '../../data/matrix.js';
import type { Interactions } from '../../data/interactions.js';
import { Rng } from '../../data/random.js';
import { resolveContext, type RunContext } from '../../engine/context.js';
import { Adam, ParamArena, Runtime, shuffledBatches, TRANSFORMER_LAYOUTS, trainLoop, warmupLinearDecay, type TransformerLayout } from '../../nn/index.js';
import { checkPacing, curriculumFraction, pacingParams, sortByKey, type CurriculumPacing } from '../curriculum.js';
import { checkIndex, checkK, excludeRows } from '../ranking.js';
import { count, nonNeg, positive, readParams, seedSpec, type ParamTable } from '../params.js';
import { Trainset } from '../trainset.js';
import type { FitOptions, ModelParams, Prediction, RecommendOptions, Recommendations } from '../types.js';
import { recommendBatchByDot, recommendByDot, similarItemsByCosine, type DotScorer } from './scoring.js';
import { modelFromSavedParams, readNeural, saveNeural } from '../modelFileTrainset.js';
import { ArenaModel, loadArena } from './arenaModel.js';
import { heldOutSet, ndcgAt } from './validation.js';
import { holdOut, lastItems, seenExceptHeld, sequenceLength, sequenceOf, userSequences, type Sequences } from './sequences.js';
import { inferenceWindows, SasrecNet, trainingExamples, trainingWindows, type TrainingExamples, type TrainingWindowsMode, type Windows } from './sasrecNet.js';

export type SasrecLoss = 'bce' | 'ce';
export type SequenceCurriculum = 'none' | 'user-activity' | 'item-popularity';

export interface SasrecOptions {
  /** hidden units d (item and position embeddings, every block) */
  hidden: number;
  /** the last maxLen items of a history are the model's input */
  maxLen: number;
  blocks: number;
  heads: number;
  dropout: number;
  /** the Transformer blocks' layout: 'pre-ln' (default, the paper's equations) or 'sasrec-code' (the authors' code) */
  blockLayout: TransformerLayout;
  lr: number;
  /** linear learning-rate warm-up over this many epochs' steps (default 0: none) */
  warmupEpochs: number;
  /** 'none' (default): constant after the warm-up; 'linear': linear decay to 0 at the end of the epoch budget */
  lrDecay: 'none' | 'linear';
  batchSize: number;
  /** the most epochs (early stopping may stop sooner) */
  epochs: number;
  /** epochs without a better validation NDCG@10 before stopping; 0: no early stopping */
  patience: number;
  loss: SasrecLoss;
  /**
   * 'last' (default, the paper's code): each user's last maxLen + 1 items are its one training
   * window; 'all': a history longer than that is also cut, backwards, into further windows of maxLen
   * targets each, so that every item after the first is a target once per epoch
   */
  windows: TrainingWindowsMode;
  /** AdamW's decoupled weight decay (default 0) */
  weightDecay: number;
  /** without FitOptions.validation: hold out each user's last item for early stopping (default true) */
  holdoutLast: boolean;
  curriculum: SequenceCurriculum;
  curriculumPacing: CurriculumPacing;
  curriculumStart: number;
  curriculumEpochs: number;
  balanceGamma: number;
  seed: number;
}

const SASREC_PARAMS: ParamTable = {
  hidden: { names: ['hidden_units', 'factors', 'n_factors', 'dim'], type: 'int', def: 50, above: 0, must: 'must be a positive integer' },
  maxLen: { names: ['maxlen', 'max_len', 'max_length'], type: 'int', def: 200, above: 0, must: 'must be a positive integer' },
  blocks: { names: ['num_blocks', 'n_blocks'], type: 'int', def: 2, min: 1, must: 'must be an integer ≥ 1' },
  heads: { names: ['num_heads', 'n_heads'], type: 'int', def: 1, min: 1, must: 'must be an integer ≥ 1' },
  dropout: nonNeg(['dropout_rate'], 0.2),
  blockLayout: { names: ['block_layout', 'layout'], type: 'enum', def: 'pre-ln', choices: [...TRANSFORMER_LAYOUTS] },
  lr: positive(['learning_rate', 'lr_all'], 0.001),
  warmupEpochs: nonNeg(['warmup_epochs', 'warmup'], 0),
  lrDecay: { names: ['lr_decay'], type: 'enum', def: 'none', choices: ['none', 'linear'] },
  batchSize: { names: ['batch_size'], type: 'int', def: 128, min: 1, must: 'must be an integer ≥ 1' },
  epochs: count(['num_epochs', 'n_epochs', 'iterations'], 200),
  patience: count(['early_stopping_patience'], 10),
  loss: { names: [], type: 'enum', def: 'ce', choices: ['bce', 'ce'] },
  weightDecay: nonNeg(['weight_decay', 'l2_emb'], 0),
  windows: { names: ['training_windows'], type: 'enum', def: 'last', choices: ['last', 'all'] },
  holdoutLast: { names: ['holdout_last'], type: 'bool', def: true },
  curriculum: { names: [], type: 'enum', def: 'none', choices: ['none', 'user-activity', 'item-popularity'] },
  ...pacingParams(),
  seed: seedSpec,
};

/** Batches per length bucket of an epoch (see epochBatches). */
const BUCKET_BATCHES = 8;
/** Users per forward pass when computing representations (inference, validation). */
const INFERENCE_BATCH = 256;

interface Fitted {
  ts: Trainset;
  arena: ParamArena;
  /** items × d: a view of the item embeddings in the arena */
  itemVectors: Dense;
  /** users × d: the last hidden state over each user's training sequence (zeros: unknown user) */
  userVectors: Dense;
  sequences: Sequences;
}

export class SASRec extends ArenaModel<SasrecOptions, Fitted> {
  readonly name = 'sasrec';
  readonly opts: SasrecOptions;

  constructor(params?: Partial<SasrecOptions> | ModelParams) {
    super();
    const o = readParams<SasrecOptions>('sasrec', params as Record<string, unknown>, SASREC_PARAMS);
    if (o.dropout >= 1) throw new RangeError(`sasrec: dropout must be in [0, 1), got ${o.dropout}`);
    if (o.hidden % o.heads !== 0) throw new RangeError(`sasrec: hidden (${o.hidden}) must be a multiple of heads (${o.heads})`);
    checkPacing('sasrec', o);
    this.opts = o;
  }

  /** users × hidden: the representation each user is recommended from (a live view) */
  get userVectors(): Dense { return this.need('userVectors').userVectors; }
  /** items × hidden: the item embeddings (a live view) */
  get itemVectors(): Dense { return this.need('itemVectors').itemVectors; }

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    const o = this.opts;
    const ts = Trainset.of(train, this.name, { copyIds: true });
    const ctx = resolveContext(opts);
    const full = userSequences(train, ts.nUsers);
    // the held-out items of early stopping, removed from the training sequences
    let held: ReturnType<typeof holdOut> | null = null;
    if (o.patience > 0 && opts.validation) {
      const v = heldOutSet(opts.validation, train, 'sasrec');
      held = holdOut(full, v.user, v.item);
      if (held.unmatched > 0) throw new RangeError(`sasrec: ${held.unmatched} validation interactions are not training interactions (the validation set must be a subset of the training data, e.g. leave-last's second-last items)`);
    } else if (o.patience > 0 && o.holdoutLast) {
      const v = lastItems(full, 3);
      held = holdOut(full, v.user, v.item);
    }
    const seq = held ? held.train : full;
    const nItems = ts.nItems, d = o.hidden;

    const rt = new Runtime(ctx, o.seed);
    const arena = new ParamArena();
    const net = new SasrecNet(rt, arena, nItems, o);
    arena.allocate(new Rng(o.seed));
    const trainUsers: number[] = [];
    for (let u = 0; u < ts.nUsers; u++) if (sequenceLength(seq, u) >= 2) trainUsers.push(u);
    if (!trainUsers.length) throw new RangeError('sasrec: no user has 2 or more training interactions (a sequence needs an input and a next item)');
    const examples = trainingExamples(seq, trainUsers, o.maxLen, o.windows);
    const adam = new Adam(rt, arena, { lr: o.lr, beta1: 0.9, beta2: 0.98, weightDecay: o.weightDecay, decoupled: true, schedule: this.lrSchedule(examples.user.length) });
    const table = net.items.table;
    const ranked = this.rankExamples(examples, seq, ts);
    const itemWeight = this.itemWeights(seq, trainUsers, ts);
    const negRng = new Rng((o.seed ^ 0x7f4a7c15) >>> 0);
    const interacted = new Uint8Array(nItems);

    const step = async (batch: Int32Array): Promise<number> => {
      const w = trainingWindows(seq, Int32Array.from(batch, (k) => examples.user[k]), o.maxLen, Int32Array.from(batch, (k) => examples.end[k]));
      const negatives = o.loss === 'bce' ? this.sampleNegatives(w, full, negRng, interacted, nItems) : undefined;
      return (await net.trainStep(w, { loss: o.loss, negatives, itemWeight })).loss;
    };

    // validation: NDCG@10 of the held-out items, ranked from the training sequence (its items excluded)
    // by length, so that each inference batch pads little
    const byLength = (s: Sequences) => (a: number, b: number) => sequenceLength(s, a) - sequenceLength(s, b) || a - b;
    const validUsers = held ? Int32Array.from([...held.items.keys()].sort(byLength(seq))) : new Int32Array(0);
    const seenTrain = held ? seenExceptHeld(seq, ts.nUsers, nItems, held.items) : null;
    const validate = held && validUsers.length > 0 ? async (): Promise<number> => {
      let sum = 0;
      for (let at = 0; at < validUsers.length; at += INFERENCE_BATCH) {
        const users = validUsers.subarray(at, at + INFERENCE_BATCH);
        const q = await this.representations(net, seq, users);
        const top = await rt.run('denseScoreTopK', { queries: q, keys: table.dense, k: Math.min(10, nItems), metric: 'dot', exclude: excludeRows(seenTrain!, users) });
        users.forEach((u, t) => { sum += ndcgAt(top.ids.subarray(t * top.k, (t + 1) * top.k), held!.items.get(u)!, 10); });
      }
      return sum / validUsers.length;
    } : undefined;

    const result = await trainLoop({
      epochs: o.epochs, runtime: rt, arena, optimizer: adam, seed: o.seed, signal: ctx.signal,
      batches: (epoch, rng) => this.epochBatches(ranked, examples, epoch, rng),
      step,
      validate,
      patience: validate ? o.patience : undefined,
      onEpoch: (r) => opts.onEpoch?.(r.epoch, r.loss, { epochs: o.epochs, metric: r.metric, metricName: r.metric !== undefined ? 'ndcg@10' : undefined, bestEpoch: r.bestEpoch, seconds: r.seconds }),
    });

    // the representation of every user with a history, over the whole training sequence
    const userVectors = denseFrom(ts.nUsers, d);
    const known = Int32Array.from({ length: ts.nUsers }, (_, u) => u).filter((u) => sequenceLength(full, u) > 0).sort(byLength(full));
    for (let at = 0; at < known.length; at += INFERENCE_BATCH) {
      const users = known.subarray(at, at + INFERENCE_BATCH);
      const q = await this.representations(net, full, users);
      users.forEach((u, t) => userVectors.data.set(q.data.subarray(t * d, (t + 1) * d), u * d));
    }
    this.history = result.history;
    this.ts = ts;
    this.fitted = { ts, arena, itemVectors: table.dense, userVectors, sequences: full };
  }

  /**
   * The learning-rate multiplier per Adam step (undefined: constant): warm-up over warmupEpochs
   * epochs' steps, then constant or (lrDecay 'linear') linear decay to 0 at the budget's last step.
   * Steps are counted as epochBatches makes them.
   */
  private lrSchedule(examples: number): ((step: number) => number) | undefined {
    const o = this.opts;
    if (o.warmupEpochs === 0 && o.lrDecay === 'none') return undefined;
    const perEpoch = (e: number) => this.batchCount(o.curriculum === 'none' ? examples : Math.max(1, Math.ceil(curriculumFraction(e - 1, o.epochs, o) * examples)));
    let total = 0;
    for (let e = 1; e <= o.epochs; e++) total += perEpoch(e);
    const warmup = Math.round(o.warmupEpochs * perEpoch(1));
    if (o.lrDecay === 'linear') return warmupLinearDecay(warmup, total);
    return (t) => (t < warmup ? t / warmup : 1);
  }

  /** The number of batches epochBatches cuts m examples into. */
  private batchCount(m: number): number {
    const span = this.opts.batchSize * BUCKET_BATCHES, rest = m % span;
    return Math.floor(m / span) * BUCKET_BATCHES + Math.ceil(rest / this.opts.batchSize);
  }

  /** The last position's hidden state of each user's window (users × d). */
  private representations(net: SasrecNet, seq: Sequences, users: Int32Array): Promise<Dense> {
    return net.lastStates(inferenceWindows(seq, users, this.opts.maxLen));
  }

  /** One negative per training position: uniform over the items the window's user never interacted with. */
  private sampleNegatives(w: Windows, full: Sequences, rng: Rng, mark: Uint8Array, nItems: number): Int32Array {
    let n = 0;
    for (const t of w.targets!) if (t >= 0) n++;
    const out = sharedInt32(n);
    let t = 0, user = -1, free = nItems;
    for (let r = 0; r < w.targets!.length; r++) {
      if (w.targets![r] < 0) continue;
      const u = w.users[Math.floor(r / w.T)];
      if (u !== user) {
        if (user >= 0) for (const i of sequenceOf(full, user)) mark[i] = 0;
        user = u;
        free = nItems;
        for (const i of sequenceOf(full, u)) { if (!mark[i]) free--; mark[i] = 1; }
      }
      let j = rng.int(nItems);
      if (free > 0) while (mark[j]) j = rng.int(nItems);
      out[t++] = j;
    }
    if (user >= 0) for (const i of sequenceOf(full, user)) mark[i] = 0;
    return out;
  }

  /** Training examples (their indices), easiest first for a curriculum (else as given); an example ranks as its user's sequence. */
  private rankExamples(ex: TrainingExamples, seq: Sequences, ts: Trainset): Int32Array {
    const c = this.opts.curriculum;
    const list = Int32Array.from(ex.user.keys());
    if (c === 'none') return list;
    const key = new Float64Array(list.length);
    list.forEach((e, k) => {
      const s = sequenceOf(seq, ex.user[e]);
      if (c === 'user-activity') key[k] = -s.length;
      else { let p = 0; for (let j = 1; j < s.length; j++) p += ts.itemCount[s[j]]; key[k] = -p / (s.length - 1); }
    });
    const order = sortByKey(key);
    return Int32Array.from(order, (k) => list[k]);
  }

  /**
   * Epoch e's batches of training examples: the curriculum's easiest fraction (or all) in a seeded
   * random order, bucketed by length to spare padding (a batch's windows are as long as its longest):
   * each run of BUCKET_BATCHES batches of the shuffled order is sorted by window end (the window
   * length, min(maxLen, end − 1), grows with it) and cut into batches, and the batches are visited
   * in a seeded random order.
   */
  private epochBatches(ranked: Int32Array, ex: TrainingExamples, epoch: number, rng: Rng): Int32Array[] {
    const o = this.opts;
    const m = o.curriculum === 'none' ? ranked.length : Math.max(1, Math.ceil(curriculumFraction(epoch - 1, o.epochs, o) * ranked.length));
    const [order = new Int32Array(0)] = shuffledBatches(m, Math.max(1, m), rng);
    const picked = Int32Array.from(order, (k) => ranked[k]);
    const span = o.batchSize * BUCKET_BATCHES, batches: Int32Array[] = [];
    for (let at = 0; at < picked.length; at += span) {
      const bucket = picked.subarray(at, Math.min(picked.length, at + span)).sort((a, b) => ex.end[b] - ex.end[a] || a - b);
      for (let b = 0; b < bucket.length; b += o.batchSize) batches.push(bucket.slice(b, b + o.batchSize));
    }
    for (let i = batches.length - 1; i > 0; i--) {
      const j = rng.int(i + 1), t = batches[i];
      batches[i] = batches[j]; batches[j] = t;
    }
    return batches;
  }

  /** Per-item weights pop^−γ normalised to mean 1 over the training targets (undefined when γ = 0). */
  private itemWeights(seq: Sequences, users: number[], ts: Trainset): Float32Array | undefined {
    const g = this.opts.balanceGamma;
    if (!g) return undefined;
    const w = new Float32Array(ts.nItems);
    for (let i = 0; i < w.length; i++) w[i] = ts.itemCount[i] > 0 ? Math.pow(ts.itemCount[i], -g) : 0;
    let s = 0, n = 0;
    for (const u of users) {
      const q = sequenceOf(seq, u);
      for (let j = 1; j < q.length; j++) { s += w[q[j]]; n++; }
    }
    const mean = n > 0 ? s / n : 1;
    for (let i = 0; i < w.length; i++) w[i] /= mean;
    return w;
  }

  // ---- scoring

  private scorer(): DotScorer {
    const f = this.need('recommend()');
    return { model: this.name, seen: f.ts.ur, users: f.userVectors, items: f.itemVectors };
  }

  predict(user: number, item: number): Prediction {
    const f = this.need('predict()');
    const why = f.ts.unknownReason(user, item);
    if (why) return { estimate: 0, impossible: true, reason: why };
    const d = this.opts.hidden;
    let s = 0;
    for (let c = 0; c < d; c++) s += f.userVectors.data[user * d + c] * f.itemVectors.data[item * d + c];
    return { estimate: s, impossible: false };
  }

  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    return recommendByDot(this.scorer(), user, k, opts);
  }

  recommendBatch(users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    return recommendBatchByDot(this.scorer(), users, k, opts);
  }

  /** The k items whose embeddings are closest by cosine (itself excluded). */
  similarItems(item: number, k: number, ctx: RunContext = {}): Recommendations {
    const f = this.need('similarItems()');
    checkIndex(this.name, 'item', item, f.ts.nItems);
    checkK(this.name, k);
    return similarItemsByCosine(f.itemVectors, Int32Array.of(item), k, ctx, true)[0];
  }

  async similarItemsBatch(items: Int32Array, k: number, ctx: RunContext = {}): Promise<Recommendations[]> {
    const f = this.need('similarItemsBatch()');
    for (const i of items) checkIndex(this.name, 'item', i, f.ts.nItems);
    checkK(this.name, k);
    return similarItemsByCosine(f.itemVectors, items, k, ctx, false);
  }

  // ---- persistence

  /** Save to the AFFM file (kind 'sasrec'; docs/model-format.md). */
  save(path: string): void {
    const f = this.need('save()');
    saveNeural(path, this.name, {
      params: this.params, meta: { hidden: this.opts.hidden, history: this.savedHistory() },
      ts: f.ts, layout: f.arena.layout(), values: f.arena.data!,
      factors: this.opts.hidden,
      arrays: { userVectors: f.userVectors.data, sequenceIndptr: f.sequences.indptr, sequenceItems: f.sequences.items },
    });
  }

  static load(path: string): SASRec {
    const file = readNeural(path, 'sasrec');
    const model = modelFromSavedParams(path, file.params, (p) => new SASRec(p));
    const bad = file.bad;
    const nu = file.ts.nUsers, ni = file.ts.nItems, d = model.opts.hidden;
    const arena = new ParamArena();
    new SasrecNet(new Runtime({}, model.opts.seed), arena, ni, model.opts);
    arena.allocate(new Rng(0));
    loadArena(arena, file);
    const uv = file.arrays.userVectors, si = file.arrays.sequenceIndptr, sv = file.arrays.sequenceItems;
    if (!(uv instanceof Float32Array) || uv.length !== nu * d) throw bad(`array 'userVectors' is missing or has ${uv?.length} values, expected ${nu * d}`);
    if (!(si instanceof Int32Array) || si.length !== nu + 1 || !(sv instanceof Int32Array) || sv.length !== si[nu]) throw bad("arrays 'sequenceIndptr'/'sequenceItems' are missing or inconsistent");
    for (let p = 0; p < sv.length; p++) if (!(sv[p] >= 0 && sv[p] < ni)) throw bad(`sequence item ${sv[p]} out of range`);
    const ts = file.ts;
    model.ts = ts;
    model.fitted = { ts, arena, itemVectors: arena.get('item.table').dense, userVectors: { rows: nu, cols: d, data: uv }, sequences: { indptr: si, items: sv } };
    model.restoreHistory(file.meta);
    return model;
  }
}

