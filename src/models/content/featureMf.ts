/**
 * FeatureMF: a LightFM-style hybrid factorization. Users and items are described by sets of
 * features; a user's (item's) vector is the SUM of its features' embeddings:
 *
 *   F(u) = {identity of u (when u has training data)} ∪ side features of u ('age=25-34', 'gender=F', …)
 *   F(i) = {identity of i (when i has training data)} ∪ side features of i ('genre=Comedy', …)
 *   p_u = Σ_{f ∈ F(u)} e^U_f,   q_i = Σ_{g ∈ F(i)} e^I_g,   b_i = Σ_{g ∈ F(i)} β_g
 *   s(u, i) = p_u · q_i + b_i
 *
 * so a user or item with no interactions (identity never trained, and left out) is still
 * scored through its side features. A user with neither history nor side features gets
 * p_u = 0 and is ranked by item bias alone (a popularity-like fallback).
 *
 * Training: the positives are the training interactions with rating ≥ min_rating (default: all).
 * Each epoch visits them in a seeded random order; negatives j are drawn uniformly from the items
 * the user has no positive for. SGD (learning rate lr, L2 reg on the embeddings/biases touched):
 *   loss 'bpr' (default): maximise ln σ(s_ui − s_uj); with g = σ(−(s_ui − s_uj)):
 *       e^U_f += lr (g (q_i − q_j) − reg e^U_f)    for f ∈ F(u)
 *       e^I_g += lr (g p_u − reg e^I_g),  β_g += lr (g − reg β_g)        for g ∈ F(i)
 *       e^I_g += lr (−g p_u − reg e^I_g), β_g += lr (−g − reg β_g)       for g ∈ F(j)
 *   loss 'logistic': each positive (label 1) and `negatives` sampled items (label 0),
 *       minimise −[y ln σ(s) + (1 − y) ln(1 − σ(s))]; with e = y − σ(s_ui):
 *       e^U_f += lr (e q_i − reg e^U_f),  e^I_g += lr (e p_u − reg e^I_g),  β_g += lr (e − reg β_g)
 * Embeddings start as N(0, init²) from the seeded generator; same seed → same model.
 *
 * Side info: setSideInfo({items, users}) before fit(), or params items=FILE / users=FILE. Works
 * without any (it is then a plain BPR/logistic MF with item biases). After fit, userFactors /
 * itemFactors hold p_u / q_i for every index (Dense, rows aligned with the IdMaps), and
 * recommendForFeatures(['age=25-34', 'gender=F', …], k) scores a brand-new user that is not
 * even in the IdMap. predict().estimate is the score (predictsRatings = false).
 *
 * Params: factors (int > 0, 32), epochs (int ≥ 0, 20), lr (> 0, 0.05), reg (≥ 0, 1e-4),
 * loss (bpr|logistic), negatives (int > 0, logistic only, 1), init (> 0, 0.1), seed (int, 42),
 * min_rating (≥ 0, 0), item_text (bool: title words as item features, false),
 * identity (bool: identity features, true), items, users (paths).
 */
import type { Interactions } from '../../data/interactions.js';
import type { IdMap } from '../../data/idMap.js';
import { denseFrom, type Dense } from '../../data/matrix.js';
import { Rng } from '../../data/random.js';
import { sideTokens, type SideInfo } from '../../data/sideInfo.js';
import type { FitOptions, ModelParams, Prediction, Recommendations, RecommendOptions } from '../types.js';
import { ModelBase } from '../base.js';
import { readParams } from '../params.js';
import { candidateMask, checkIndex, checkK, topKOf } from '../ranking.js';
import { Trainset } from '../trainset.js';
import { pathParams, sideInfoFromParams, type SideInfoAware, type SideInfoInput } from '../attachSideInfo.js';

export interface FeatureMfParams {
  factors: number;
  epochs: number;
  lr: number;
  reg: number;
  loss: 'bpr' | 'logistic';
  negatives: number;
  init: number;
  seed: number;
  minRating: number;
  itemText: boolean;
  identity: boolean;
}

/** Feature sets per row as a ragged array (row r's features are idx[ptr[r] .. ptr[r+1])), with the vocabulary. */
interface FeatureSets {
  ptr: Int32Array;
  idx: Int32Array;
  vocab: Map<string, number>;
}

function featureSets(ids: IdMap, hasData: Uint8Array, info: SideInfo | undefined, identity: boolean, text: boolean, prefix: string): FeatureSets {
  const vocab = new Map<string, number>();
  const lists: number[][] = [];
  const id = (t: string): number => {
    let j = vocab.get(t);
    if (j === undefined) { j = vocab.size; vocab.set(t, j); }
    return j;
  };
  // side features first so their indices do not depend on which ids have data
  const side: string[][] = [];
  for (let r = 0; r < ids.size; r++) {
    const toks = info ? [...new Set(sideTokens(info, String(ids.external(r)), { text }))] : [];
    side.push(toks);
    for (const t of toks) id(t);
  }
  for (let r = 0; r < ids.size; r++) {
    const l = side[r].map((t) => vocab.get(t)!);
    if (identity && hasData[r]) l.unshift(id(`${prefix}#${r}`));
    lists.push(l);
  }
  const ptr = new Int32Array(ids.size + 1);
  lists.forEach((l, r) => { ptr[r + 1] = ptr[r] + l.length; });
  const idx = new Int32Array(ptr[ids.size]);
  lists.forEach((l, r) => idx.set(l, ptr[r]));
  return { ptr, idx, vocab };
}

export class FeatureMF extends ModelBase implements SideInfoAware {
  readonly name = 'feature-mf';
  readonly predictsRatings = false;
  readonly params: FeatureMfParams;
  private side: SideInfoInput = {};
  private readonly paths: { items?: string; users?: string };
  private userSets: FeatureSets | null = null;
  private eU: Float64Array | null = null;
  private P: Dense | null = null;
  private Q: Dense | null = null;
  private bias: Float64Array | null = null;

  constructor(params: ModelParams | Partial<FeatureMfParams> = {}) {
    super();
    const { rest, paths } = pathParams('feature-mf', params as Record<string, unknown>, { items: ['items', 'item_features'], users: ['users', 'user_features'] });
    this.paths = paths;
    this.params = readParams<FeatureMfParams>('feature-mf', rest, {
      factors: { names: ['n_factors', 'no_components', 'k'], type: 'int', def: 32, above: 0, must: 'must be a positive integer' },
      epochs: { names: ['n_epochs', 'iterations'], type: 'int', def: 20, min: 0, must: 'must be a non-negative integer' },
      lr: { names: ['learning_rate', 'lr_all'], type: 'number', def: 0.05, above: 0, must: 'must be > 0' },
      reg: { names: ['regularization', 'alpha', 'reg_all'], type: 'number', def: 1e-4, min: 0, must: 'must be ≥ 0' },
      loss: { names: [], type: 'enum', def: 'bpr', choices: ['bpr', 'logistic'] },
      negatives: { names: ['n_negatives', 'neg'], type: 'int', def: 1, above: 0, must: 'must be a positive integer' },
      init: { names: ['init_std', 'init_scale'], type: 'number', def: 0.1, above: 0, must: 'must be > 0' },
      seed: { names: ['random_state', 'randomState'], type: 'int', def: 42, min: 0 },
      minRating: { names: ['min_rating', 'threshold'], type: 'number', def: 0, min: 0, must: 'must be ≥ 0' },
      itemText: { names: ['item_text', 'text'], type: 'bool', def: false },
      identity: { names: [], type: 'bool', def: true },
    });
  }

  setSideInfo(info: SideInfoInput): void {
    this.side = { ...this.side, ...info };
  }

  async fit(train: Interactions, opts: FitOptions = {}): Promise<void> {
    this.side = await sideInfoFromParams(this.side, this.paths.items, this.paths.users);
    const p = this.params, d = p.factors;
    const nU = train.users.size, nI = train.items.size;
    if (nI < 2) throw new RangeError('feature-mf: needs at least 2 items');
    // positives
    const pos: number[] = [];
    const userHas = new Uint8Array(nU), itemHas = new Uint8Array(nI);
    for (let q = 0; q < train.user.length; q++) {
      userHas[train.user[q]] = 1; itemHas[train.item[q]] = 1;
      if (train.rating[q] >= p.minRating) pos.push(q);
    }
    if (pos.length === 0) throw new RangeError(`feature-mf: no training interaction has rating ≥ min_rating ${p.minRating}`);
    const ts = Trainset.of(train, this.name);
    const positiveSet = new Set<number>();
    for (const q of pos) positiveSet.add(train.user[q] * nI + train.item[q]);
    const us = featureSets(train.users, userHas, this.side.users, p.identity, false, 'user');
    const is = featureSets(train.items, itemHas, this.side.items, p.identity, p.itemText, 'item');
    const rng = new Rng(p.seed);
    const eU = new Float64Array(us.vocab.size * d), eI = new Float64Array(is.vocab.size * d), bI = new Float64Array(is.vocab.size);
    for (let x = 0; x < eU.length; x++) eU[x] = rng.normal() * p.init;
    for (let x = 0; x < eI.length; x++) eI[x] = rng.normal() * p.init;

    const pu = new Float64Array(d), qi = new Float64Array(d), qj = new Float64Array(d);
    const sum = (sets: FeatureSets, e: Float64Array, r: number, out: Float64Array): void => {
      out.fill(0);
      for (let t = sets.ptr[r]; t < sets.ptr[r + 1]; t++) { const o = sets.idx[t] * d; for (let f = 0; f < d; f++) out[f] += e[o + f]; }
    };
    const biasOf = (r: number): number => { let b = 0; for (let t = is.ptr[r]; t < is.ptr[r + 1]; t++) b += bI[is.idx[t]]; return b; };
    const dot = (a: Float64Array, b: Float64Array): number => { let s = 0; for (let f = 0; f < d; f++) s += a[f] * b[f]; return s; };
    /** e^U_f += lr (g·dir − reg e^U_f) for f ∈ F(u) */
    const stepUser = (u: number, g: number, dir: (f: number) => number): void => {
      for (let t = us.ptr[u]; t < us.ptr[u + 1]; t++) { const o = us.idx[t] * d; for (let f = 0; f < d; f++) eU[o + f] += p.lr * (g * dir(f) - p.reg * eU[o + f]); }
    };
    const stepItem = (i: number, g: number): void => {
      for (let t = is.ptr[i]; t < is.ptr[i + 1]; t++) {
        const fe = is.idx[t], o = fe * d;
        for (let f = 0; f < d; f++) eI[o + f] += p.lr * (g * pu[f] - p.reg * eI[o + f]);
        bI[fe] += p.lr * (g - p.reg * bI[fe]);
      }
    };
    const sampleNegative = (u: number): number => {
      let j = rng.int(nI);
      for (let tries = 0; tries < 20 && positiveSet.has(u * nI + j); tries++) j = rng.int(nI);
      return j;
    };
    const order = Int32Array.from(pos);
    for (let epoch = 0; epoch < p.epochs; epoch++) {
      if (opts.signal?.aborted) throw new Error('feature-mf: fit aborted');
      rng.shuffle(order);
      let loss = 0;
      for (let n = 0; n < order.length; n++) {
        const u = train.user[order[n]], i = train.item[order[n]];
        if (p.loss === 'bpr') {
          const j = sampleNegative(u);
          sum(us, eU, u, pu); sum(is, eI, i, qi); sum(is, eI, j, qj);
          const x = dot(pu, qi) + biasOf(i) - dot(pu, qj) - biasOf(j);
          const g = 1 / (1 + Math.exp(x));
          loss += x > 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x));
          stepUser(u, g, (f) => qi[f] - qj[f]);
          stepItem(i, g);
          stepItem(j, -g);
        } else {
          for (let m = 0; m <= p.negatives; m++) {
            const y = m === 0 ? 1 : 0;
            const it = m === 0 ? i : sampleNegative(u);
            sum(us, eU, u, pu); sum(is, eI, it, qi);
            const s = dot(pu, qi) + biasOf(it);
            const sig = 1 / (1 + Math.exp(-s));
            const z = y === 1 ? s : -s;
            loss += z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
            const e = y - sig;
            stepUser(u, e, (f) => qi[f]);
            stepItem(it, e);
          }
        }
      }
      opts.onEpoch?.(epoch, loss / order.length);
    }
    this.userSets = us; this.eU = eU; this.ts = ts;
    // materialise p_u, q_i, b_i
    const P = denseFrom(nU, d), Q = denseFrom(nI, d), bias = new Float64Array(nI);
    for (let u = 0; u < nU; u++) { sum(us, eU, u, pu); P.data.set(pu, u * d); }
    for (let i = 0; i < nI; i++) { sum(is, eI, i, qi); Q.data.set(qi, i * d); bias[i] = biasOf(i); }
    this.P = P; this.Q = Q; this.bias = bias;
  }

  private fitted(what = 'this call'): { P: Dense; Q: Dense; bias: Float64Array; ts: Trainset } {
    const ts = this.trainset(what);
    return { P: this.P!, Q: this.Q!, bias: this.bias!, ts };
  }

  /** p_u for every user index (users × factors). */
  get userFactors(): Dense { return this.fitted().P; }
  /** q_i for every item index (items × factors). */
  get itemFactors(): Dense { return this.fitted().Q; }
  /** b_i for every item index. */
  get itemBias(): Float64Array { return this.fitted().bias; }

  /** The user vector of a feature set (unknown features are ignored; returns how many were known). */
  userVector(features: string[]): { vector: Float64Array; known: number } {
    this.fitted();
    const d = this.params.factors;
    const v = new Float64Array(d);
    let known = 0;
    for (const t of new Set(features)) {
      const j = this.userSets!.vocab.get(t);
      if (j === undefined) continue;
      known++;
      for (let f = 0; f < d; f++) v[f] += this.eU![j * d + f];
    }
    return { vector: v, known };
  }

  private scores(pu: ArrayLike<number>, mask: Uint8Array | null): Float64Array {
    const { Q, bias } = this.fitted();
    const d = Q.cols;
    const out = new Float64Array(Q.rows);
    for (let i = 0; i < Q.rows; i++) {
      if (mask && !mask[i]) continue;
      let s = bias[i];
      for (let f = 0, o = i * d; f < d; f++) s += pu[f] * Q.data[o + f];
      out[i] = s;
    }
    return out;
  }

  /**
   * p_u of a user index and whether it has any feature. Users added to the id map after fit are
   * described by their side features (when the user side info has a row for them).
   */
  private userVectorOf(user: number): { vector: ArrayLike<number>; features: number } {
    const { P, ts } = this.fitted();
    checkIndex(this.name, 'user', user, ts.users.size);
    if (user < P.rows) return { vector: P.data.subarray(user * P.cols, (user + 1) * P.cols), features: this.userSets!.ptr[user + 1] - this.userSets!.ptr[user] };
    const info = this.side.users;
    const { vector, known } = this.userVector(info ? sideTokens(info, String(ts.users.external(user)), { text: false }) : []);
    return { vector, features: known };
  }

  predict(user: number, item: number): Prediction {
    const { Q, ts } = this.fitted('predict()');
    checkIndex(this.name, 'item', item, Q.rows);
    const { vector, features } = this.userVectorOf(user);
    const mask = new Uint8Array(Q.rows); mask[item] = 1;
    const s = this.scores(vector, mask)[item];
    if (features === 0) return { estimate: s, impossible: true, reason: ts.userItems(user).length === 0 ? 'user unknown and without side features' : 'user without features' };
    return { estimate: s, impossible: false };
  }

  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const { Q, ts } = this.fitted('recommend()');
    checkK(this.name, k);
    const { vector } = this.userVectorOf(user);
    const mask = candidateMask(this.name, Q.rows, ts.userItems(user), opts);
    const scores = this.scores(vector, mask);
    return topKOf(k, (i) => scores[i], mask);
  }

  /** Recommendations for a brand-new user described only by side features (e.g. ['age=25-34', 'gender=F']). */
  recommendForFeatures(features: string[], k: number, opts: { items?: ArrayLike<number> } = {}): Recommendations {
    const { Q } = this.fitted('recommendForFeatures()');
    checkK(this.name, k);
    const { vector } = this.userVector(features);
    const mask = candidateMask(this.name, Q.rows, [], { items: opts.items });
    const scores = this.scores(vector, mask);
    return topKOf(k, (i) => scores[i], mask);
  }
}
