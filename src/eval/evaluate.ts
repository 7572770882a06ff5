/**
 * The evaluation protocol runner: split the data (see Protocol), fit a fresh model per fold,
 * score the test side, and summarise.
 *
 * Protocols (parseProtocol's text form → object):
 *   kfold:N            Surprise-style k-fold over all interactions            {kind:'kfold', folds}
 *   holdout:R          a random R of all interactions to test                 {kind:'holdout', ratio}
 *   user-holdout:R     per user, a random R of their interactions to test     {kind:'user-holdout', ratio}
 *   loo, leave:K       per user, K random interactions to test (loo = leave:1)  {kind:'leave-k', k}
 *                      (per-user splits keep ≥ 1 interaction of every user in train)
 *   temporal:R         the latest R of all interactions to test               {kind:'temporal', ratio, perUser:false}
 *   temporal-user:R    per user, their latest R to test                       {kind:'temporal', ratio, perUser:true}
 *                      (both need timestamps; they are deterministic, so --repeat does not apply)
 *   given              train/test files made elsewhere (givenSplits.ts; `--train`/`--test`)   {kind:'given', pairs}
 *   cold-users:F[:W]   a random F of the users become new: ALL their interactions go to test
 *                      (removeUsersProtocol); with W > 0, a random W of every other user's
 *                      interactions is held out too, so warm users are scored as well
 *                                                                            {kind:'cold-users', fraction, warmRatio}
 *   leave-last:K       per user by time, the last K interactions to test and the K before them
 *                      as validation (data/leaveLast.ts; needs timestamps, deterministic). The
 *                      validation interactions stay in train; fit receives them as
 *                      FitOptions.validation (models that early-stop hold them out of their
 *                      targets and stop on them). Users with ≤ K interactions have no test side
 *                      (usersWithoutTest), users with ≤ 2K no validation (usersWithoutValidation).
 *                                                                            {kind:'leave-last', k}
 *   heldout-users:N[:R] Liang et al. 2018's held-out users (heldoutUsers.ts): N users (a count, or
 *                      a fraction when < 1) are held out; their interactions with items no training
 *                      user has are dropped (the paper's code; SplitInfo.heldoutDropped counts them);
 *                      each keeps 80 % of the rest as fold-in and a random R (default 0.2) to test. A model that ranks histories
 *                      (EASE, Mult-VAE) is fitted on the other users only and ranks each held-out
 *                      user from the fold-in part (SplitInfo.foldIn 'history'); any other model is
 *                      fitted with the fold-in parts in its training data ('fit')
 *                                                                            {kind:'heldout-users', users, testRatio}
 * repeat N runs a seeded protocol with seeds seed, seed+1, …, seed+N−1 (k-fold: N×folds folds).
 *
 * Metrics (metrics.ts parses them; the result uses the exact keys given):
 *   rating (rmse, mae, mse, fcp): every test interaction is predicted (impossible predictions
 *   included, with their fallback estimate, as Surprise's test()); needs a model with
 *   predictsRatings, else an error before any fitting.
 *   ranking @k: for each test user (≥ 1 test item), recommend(user, max k, {filterSeen: true}) —
 *   training items filtered — and relevant = that user's test items (graded: gain = the test
 *   rating). precision, capped-precision (implicit's: Σ hits / Σ min(k, |relevant|) over the
 *   users, the one metric that is a ratio of sums rather than a mean), recall, ndcg: metrics.ts; f1, hit, map, mrr, auc@k, ndcg-graded (linear
 *   gain), recall-capped (hits / min(k, |relevant|) per user, averaged: Liang et al.'s Recall@R): rankingMetrics.ts. 'auc' without a cut-off ranks every candidate (recommend(user, all
 *   items)): the fraction of (relevant, non-relevant candidate) pairs ordered correctly, items the
 *   model does not return counted as tied below its list.
 *   beyond accuracy @k (beyondAccuracy.ts), over the same users' top-k lists:
 *     coverage  = distinct recommended items / catalogue size (all items of the data set)
 *     diversity = mean over users of 1 − mean pairwise similarity in the list, similarity = cosine
 *                 of the items' binary interaction vectors in the training fold (interactionCosine);
 *                 the same for every model, so models compare; lists shorter than 2 are skipped
 *     novelty   = mean self-information −log2(pop(i)/|training users|), pop = training users of i
 *     popbias   = mean popularity percentile (0–100) of the recommended items
 * Averages are over users with ≥ 1 test item; users with training data but no test item are
 * excluded and counted (usersWithoutTest), per fold in `splits` and as the mean over folds.
 *
 * sampledNegatives N (sampledNegatives.ts): every ranking metric with a cut-off is also computed on
 * the ranking of each test user's test items among N seeded random items the user never interacted
 * with (the NeuMF/SASRec papers' protocol), under the key `sampled:<metric>`, beside the
 * full-ranking value.
 *
 * mean and std (population standard deviation, numpy's default as Surprise prints it) are over
 * folds, for every metric key and for fitSeconds / testSeconds. A value that cannot be computed
 * (e.g. diversity when every list has one item) is NaN (null in JSON).
 *
 * coldStart 'user' | 'item': per fold, test users (items) are bucketed by their training history
 * length (coldStart.ts's buckets 0, 1-5, 6-20, 21-50, >50) and every metric is computed on the
 * bucket alone: by user, on the bucket's users (their lists, test items and predictions); by item,
 * relevant(u) = u's test items in the bucket, rating metrics on the bucket's test interactions,
 * beyond-accuracy metrics are not defined (null). A bucket's value over folds is the mean of the
 * fold values weighted by the users scored in the fold's bucket.
 */
import path from 'node:path';
import type { Interactions } from '../data/interactions.js';
import { interactionCount } from '../data/interactions.js';
import { kFold, perUserHoldout, randomHoldout, temporalSplit, type Split } from '../data/splits.js';
import { contextOf, type RunContext } from '../engine/context.js';
import type { FitOptions, Model, ModelFactory, ModelParams } from '../models/types.js';
import { attachSideInfo, type SideInfoInput } from '../models/attachSideInfo.js';
import { cappedPrecisionAtK, fcp, mae, mse, ndcgAtK, parseMetric, precisionAtK, recallAtK, rmse, type MetricSpec } from './metrics.js';
import { aucAtK, averagePrecisionAtK, cappedRecallAtK, f1AtK, hitRateAtK, hitsAtK, ndcgGradedAtK, reciprocalRankAtK, topOf } from './rankingMetrics.js';
import { activeUsers, interactionCosine, intraListDiversity, itemPopularity, novelty, popularityBias, popularityPercentiles, type ItemSimilarity } from './beyondAccuracy.js';
import { bucketOf, COLD_START_BUCKETS, historyLengths, removeUsersProtocol, type BucketName } from './coldStart.js';
import { leaveLastSplit } from '../data/leaveLast.js';
import { sampledKey, sampledLists, sampledListsBy, sampleNegatives } from './sampledNegatives.js';
import { heldoutUsersSplit, historyLists, historyRanker, type HeldoutUsers } from './heldoutUsers.js';
import { recommendsForHistory } from '../models/history.js';

export type Protocol =
  | { kind: 'kfold'; folds: number }
  | { kind: 'holdout'; ratio: number }
  | { kind: 'user-holdout'; ratio: number }
  | { kind: 'leave-k'; k: number }
  | { kind: 'temporal'; ratio: number; perUser: boolean }
  | { kind: 'cold-users'; fraction: number; warmRatio: number }
  | { kind: 'given'; pairs: GivenPair[] }
  | { kind: 'leave-last'; k: number }
  | { kind: 'heldout-users'; users: number; testRatio: number };

/** One train/test pair of files of a given split (givenSplits.ts reads them). */
export interface GivenPair { train: string; test: string }

/** What to evaluate and how; the context (engine, backend, signal) runs every fit and recommend. */
export interface EvaluateOptions extends RunContext {
  data: Interactions;
  modelName: string;
  params?: ModelParams;
  protocol: Protocol;
  seed: number;
  /** e.g. ['rmse', 'mae', 'fcp', 'ndcg@10'] — the result uses these exact keys */
  metrics: string[];
  models: Record<string, ModelFactory>;
  /** runs of a seeded protocol, seeds seed..seed+repeat−1 (default 1) */
  repeat?: number;
  /** side information given to every model that takes it (attachSideInfo) before fit */
  sideInfo?: SideInfoInput;
  /** also report every metric per cold-start bucket of users (or items) */
  coldStart?: 'user' | 'item';
  /** precomputed splits (makeSplits), e.g. shared by several models; default: made here */
  splits?: SeededSplit[];
  /** called after each fold */
  onFold?: (fold: number, result: FoldResult) => void;
  /** also rank each test user's test items among N sampled non-interacted items (keys `sampled:<metric>`) */
  sampledNegatives?: number;
  /** handed to every fit: called after each training epoch */
  onEpoch?: FitOptions['onEpoch'];
}

export type FoldResult = Record<string, number> & { fitSeconds: number; testSeconds: number };

export interface SplitInfo {
  seed: number;
  /** fold index within its run (0 for holdout-style protocols) */
  fold: number;
  train: number;
  test: number;
  /** users with ≥ 1 test interaction: the users ranking and beyond-accuracy averages are over */
  usersEvaluated: number;
  /** users with training interactions but no test interaction: excluded from the averages */
  usersWithoutTest: number;
  /** leave-last: validation interactions handed to fit, and test users without a validation side */
  validation?: number;
  usersWithoutValidation?: number;
  /** sampled negatives: test users with fewer non-interacted items than N (they got all of them) */
  sampledShort?: number;
  /** heldout-users: how the held-out users were ranked ('history': fitted without them, ranked from their fold-in items; 'fit': fold-in items in the training data) */
  foldIn?: 'history' | 'fit';
  /** heldout-users: held-out users' interactions dropped as their item has no training user (neither train nor test) */
  heldoutDropped?: number;
}

export interface ColdStartSummaryRow {
  bucket: BucketName;
  /** users scored in the bucket, summed over folds */
  users: number;
  /** by item: distinct test items in the bucket, summed over folds */
  items?: number;
  mean: Record<string, number | null>;
}

export interface EvaluateResult {
  model: string;
  params: ModelParams;
  protocol: Protocol;
  seed: number;
  repeat: number;
  folds: FoldResult[];
  mean: Record<string, number>;
  std: Record<string, number>;
  /** mean over folds of SplitInfo.usersEvaluated */
  usersEvaluated: number;
  /** mean over folds of SplitInfo.usersWithoutTest */
  usersWithoutTest: number;
  splits: SplitInfo[];
  coldStartBy?: 'user' | 'item';
  coldStart?: ColdStartSummaryRow[];
  /** N of the sampled metrics, when asked */
  sampledNegatives?: number;
}

export type SeededSplit = Split & {
  seed: number;
  fold: number;
  /** interactions of train held out for early stopping (leave-last), handed to fit */
  validation?: Interactions;
  usersWithoutValidation?: number;
  /** heldout-users: the held-out users' fold-in and test parts */
  heldout?: HeldoutUsers;
};

function ratioOf(text: string, what: string, v: string): number {
  const r = v.trim() === '' ? NaN : Number(v);
  if (!(r > 0 && r < 1)) throw new RangeError(`protocol '${text}': ${what} must be in (0, 1), got '${v}'`);
  return r;
}

/**
 * 'kfold:5', 'holdout:0.2', 'user-holdout:0.2', 'loo', 'leave:3', 'temporal:0.2', 'temporal-user:0.2',
 * 'cold-users:0.1' or 'cold-users:0.1:0.2' → a Protocol (see the module comment).
 */
export function parseProtocol(text: string): Protocol {
  const t = text.trim();
  if (t === 'loo') return { kind: 'leave-k', k: 1 };
  const m = /^([a-z-]+):(.*)$/.exec(t);
  const kind = m?.[1], arg = m?.[2] ?? '';
  switch (kind) {
    case 'kfold': {
      const folds = arg.trim() === '' ? NaN : Number(arg);
      if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`protocol '${text}': kfold needs an integer number of folds ≥ 2`);
      return { kind: 'kfold', folds };
    }
    case 'holdout': {
      const ratio = Number(arg);
      if (!(ratio > 0 && ratio < 1) || arg.trim() === '') throw new RangeError(`protocol '${text}': holdout needs a test ratio in (0, 1)`);
      return { kind: 'holdout', ratio };
    }
    case 'user-holdout': return { kind: 'user-holdout', ratio: ratioOf(text, 'the per-user test ratio', arg) };
    case 'leave':
    case 'leave-k': {
      const k = arg.trim() === '' ? NaN : Number(arg);
      if (!Number.isInteger(k) || k < 1) throw new RangeError(`protocol '${text}': leave:K needs an integer K ≥ 1 (interactions left out per user)`);
      return { kind: 'leave-k', k };
    }
    case 'temporal': return { kind: 'temporal', ratio: ratioOf(text, 'the test ratio', arg), perUser: false };
    case 'temporal-user': return { kind: 'temporal', ratio: ratioOf(text, 'the per-user test ratio', arg), perUser: true };
    case 'leave-last': {
      const k = arg.trim() === '' ? NaN : Number(arg);
      if (!Number.isInteger(k) || k < 1) throw new RangeError(`protocol '${text}': leave-last:K needs an integer K ≥ 1 (the latest interactions left out per user)`);
      return { kind: 'leave-last', k };
    }
    case 'cold-users': {
      const [f, w, ...more] = arg.split(':');
      if (more.length) throw new RangeError(`protocol '${text}': use cold-users:FRACTION or cold-users:FRACTION:WARM_RATIO`);
      const fraction = ratioOf(text, 'the share of users made new', f);
      let warmRatio = 0;
      if (w !== undefined) {
        warmRatio = w.trim() === '' ? NaN : Number(w);
        if (!(warmRatio >= 0 && warmRatio < 1)) throw new RangeError(`protocol '${text}': the warm users' test ratio must be in [0, 1), got '${w}'`);
      }
      return { kind: 'cold-users', fraction, warmRatio };
    }
    case 'heldout-users': {
      const [n, r, ...more] = arg.split(':');
      if (more.length) throw new RangeError(`protocol '${text}': use heldout-users:USERS or heldout-users:USERS:TEST_RATIO`);
      const users = n.trim() === '' ? NaN : Number(n);
      if (!(users > 0) || (users >= 1 && !Number.isInteger(users))) throw new RangeError(`protocol '${text}': the held-out users must be a count ≥ 1 or a fraction in (0, 1), got '${n}'`);
      return { kind: 'heldout-users', users, testRatio: r === undefined ? 0.2 : ratioOf(text, "the held-out users' test ratio", r) };
    }
  }
  throw new RangeError(`unknown protocol '${text}' (use kfold:N, holdout:RATIO, user-holdout:RATIO, loo, leave:K, temporal:RATIO, temporal-user:RATIO, cold-users:FRACTION[:WARM], leave-last:K or heldout-users:USERS[:RATIO], e.g. kfold:5 or holdout:0.2)`);
}

/** The text form parseProtocol reads. */
export function formatProtocol(p: Protocol): string {
  switch (p.kind) {
    case 'kfold': return `kfold:${p.folds}`;
    case 'holdout': return `holdout:${p.ratio}`;
    case 'user-holdout': return `user-holdout:${p.ratio}`;
    case 'leave-k': return p.k === 1 ? 'loo' : `leave:${p.k}`;
    case 'temporal': return `${p.perUser ? 'temporal-user' : 'temporal'}:${p.ratio}`;
    case 'cold-users': return `cold-users:${p.fraction}${p.warmRatio > 0 ? `:${p.warmRatio}` : ''}`;
    case 'given': return `given splits ${p.pairs.map((g) => `${path.basename(g.train)}|${path.basename(g.test)}`).join(', ')}`;
    case 'leave-last': return `leave-last:${p.k}`;
    case 'heldout-users': return `heldout-users:${p.users}${p.testRatio !== 0.2 ? `:${p.testRatio}` : ''}`;
  }
}

/** True for protocols whose split depends on the seed (so repeats differ). */
export function isSeeded(p: Protocol): boolean {
  return p.kind !== 'temporal' && p.kind !== 'given' && p.kind !== 'leave-last';
}

/**
 * The train/test splits of a protocol, for `repeat` runs with seeds seed..seed+repeat−1. A one-line
 * RangeError when the protocol cannot run on this data (no timestamps for a temporal split, an
 * empty test or training side).
 */
export function makeSplits(data: Interactions, protocol: Protocol, seed: number, repeat = 1): SeededSplit[] {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`repeat must be a positive integer, got ${repeat}`);
  const name = formatProtocol(protocol);
  if (repeat > 1 && !isSeeded(protocol)) throw new RangeError(`protocol '${name}' is deterministic (no seed), so repeating it gives the same split: drop --repeat`);
  if (interactionCount(data) === 0) throw new RangeError('the input has no interactions');
  if ((protocol.kind === 'temporal' || protocol.kind === 'leave-last') && !data.timestamp) throw new RangeError(`protocol '${name}' needs timestamps, and the input has none (no timestamp column)`);
  if (protocol.kind === 'given') throw new RangeError('given splits are read from their files (readGivenSplits), not made from the data');
  const out: SeededSplit[] = [];
  for (let r = 0; r < repeat; r++) {
    const s = seed + r;
    const p = protocol;
    let splits: Array<Split & Pick<SeededSplit, 'validation' | 'usersWithoutValidation' | 'heldout'>>;
    switch (p.kind) {
      case 'kfold': splits = kFold(data, { folds: p.folds, seed: s }); break;
      case 'holdout': splits = [randomHoldout(data, { ratio: p.ratio, seed: s })]; break;
      case 'user-holdout': splits = [perUserHoldout(data, { ratio: p.ratio, seed: s })]; break;
      case 'leave-k': splits = [perUserHoldout(data, { leaveK: p.k, seed: s })]; break;
      case 'temporal': splits = [temporalSplit(data, { ratio: p.ratio, perUser: p.perUser })]; break;
      case 'leave-last': {
        const sp = leaveLastSplit(data, { k: p.k });
        splits = [{ train: sp.train, test: sp.test, validation: sp.validation, usersWithoutValidation: sp.usersWithoutValidation }];
        break;
      }
      case 'cold-users': {
        const { train, test } = removeUsersProtocol(data, { fraction: p.fraction, warmRatio: p.warmRatio, seed: s });
        splits = [{ train, test }];
        break;
      }
      case 'heldout-users': splits = [heldoutUsersSplit(data, { users: p.users, testRatio: p.testRatio, seed: s })]; break;
      default: throw new RangeError(`unknown protocol kind '${(p as { kind: string }).kind}'`);
    }
    splits.forEach((sp, f) => {
      const where = `seed ${s}${splits.length > 1 ? `, fold ${f + 1}` : ''}`;
      if (interactionCount(sp.test) === 0) throw new RangeError(`protocol '${name}' gives an empty test set on this data (${where}): every user needs at least 2 interactions for a per-user split`);
      if (interactionCount(sp.train) === 0) throw new RangeError(`protocol '${name}' gives an empty training set on this data (${where})`);
      out.push({ ...sp, seed: s, fold: f });
    });
  }
  return out;
}

function makeModel(o: Pick<EvaluateOptions, 'models' | 'modelName' | 'params' | 'sideInfo'>): Model {
  const factory = o.models[o.modelName];
  if (!factory) throw new RangeError(`unknown model '${o.modelName}' (known: ${Object.keys(o.models).sort().join(', ')})`);
  const model = factory(o.params ?? {});
  if (o.sideInfo && (o.sideInfo.items || o.sideInfo.users)) attachSideInfo(model, o.sideInfo);
  return model;
}

/**
 * Build (and so validate) the model with its params, and refuse before any fitting when rating
 * metrics are asked of a model that does not predict ratings. Returns the model.
 */
export function checkModel(o: Pick<EvaluateOptions, 'models' | 'modelName' | 'params' | 'sideInfo'>, metrics: MetricSpec[]): Model {
  const probe = makeModel(o);
  const ratingKeys = metrics.filter((s) => s.kind === 'rating').map((s) => s.key);
  if (ratingKeys.length && !probe.predictsRatings) {
    throw new RangeError(`model '${o.modelName}' does not predict ratings, so it cannot be scored by ${ratingKeys.join(', ')}; use ranking metrics such as ndcg@10`);
  }
  return probe;
}

/** Parse and check a metric list (non-empty, no repeats). */
export function parseMetrics(metrics: string[]): MetricSpec[] {
  if (!metrics.length) throw new RangeError('evaluate: no metrics asked for');
  const specs = metrics.map(parseMetric);
  const dup = metrics.find((m, t) => metrics.indexOf(m) !== t);
  if (dup) throw new RangeError(`metric '${dup}' is listed twice`);
  return specs;
}

export async function evaluate(o: EvaluateOptions): Promise<EvaluateResult> {
  const specs = parseMetrics(o.metrics);
  if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
  const repeat = o.repeat ?? 1;
  const sampledSpecs = sampledMetricSpecs(specs, o.sampledNegatives);
  if (o.coldStart !== undefined && o.coldStart !== 'user' && o.coldStart !== 'item') throw new RangeError(`coldStart must be 'user' or 'item', got '${String(o.coldStart)}'`);
  const probe = checkModel(o, specs); // validates the name and params before any work
  const splits = o.splits ?? makeSplits(o.data, o.protocol, o.seed, repeat);
  const folds: FoldResult[] = [];
  const infos: SplitInfo[] = [];
  const cold = o.coldStart ? new ColdStartAccumulator(o.metrics) : null;
  for (let f = 0; f < splits.length; f++) {
    o.signal?.throwIfAborted();
    const { train, test } = splits[f];
    const model = f === 0 ? probe : makeModel(o);
    const heldout = splits[f].heldout, byHistory = heldout !== undefined && recommendsForHistory(model);
    const t0 = performance.now();
    const validation = splits[f].validation;
    await model.fit(byHistory ? heldout.train : train, {
      ...contextOf(o), ...(validation && interactionCount(validation) > 0 ? { validation } : {}), ...(o.onEpoch ? { onEpoch: o.onEpoch } : {}),
    });
    const t1 = performance.now();
    const source = byHistory ? await heldoutLists(model, heldout, specs, train.items.size, contextOf(o)) : modelLists(model, specs, train.items.size, contextOf(o));
    const ctx: ScoreContext = { train };
    const scored = scoreLists(source, test, specs, ctx);
    if (cold) cold.addFold(source, train, test, specs, o.coldStart!, ctx);
    let sampled: Record<string, number> = {}, sampledShort: number | undefined;
    if (sampledSpecs.length) {
      const negatives = sampleNegatives(train, test, o.sampledNegatives!, splits[f].seed);
      // held-out users of a history-ranking model are ranked from their fold-in items, as in the full ranking
      const lists = byHistory && recommendsForHistory(model)
        ? sampledListsBy(historyRanker(model, heldout, train.items.size, contextOf(o)), negatives, test)
        : sampledLists(model, negatives, test, contextOf(o));
      const values = scoreLists(lists, test, sampledSpecs, ctx).values;
      sampled = Object.fromEntries(sampledSpecs.map((s) => [sampledKey(s.key), values[s.key]]));
      sampledShort = negatives.short;
    }
    const t2 = performance.now();
    const result = { ...scored.values, ...sampled, fitSeconds: (t1 - t0) / 1000, testSeconds: (t2 - t1) / 1000 } as FoldResult;
    folds.push(result);
    infos.push({
      seed: splits[f].seed, fold: splits[f].fold, train: interactionCount(train), test: interactionCount(test), usersEvaluated: scored.usersEvaluated, usersWithoutTest: usersWithoutTest(train, test),
      ...(validation ? { validation: interactionCount(validation), usersWithoutValidation: splits[f].usersWithoutValidation } : {}),
      ...(sampledShort !== undefined ? { sampledShort } : {}),
      ...(heldout ? { foldIn: byHistory ? 'history' as const : 'fit' as const, heldoutDropped: heldout.dropped } : {}),
    });
    o.onFold?.(f, result);
  }
  const { mean, std } = meanStd(folds, [...o.metrics, ...sampledSpecs.map((s) => sampledKey(s.key)), 'fitSeconds', 'testSeconds']);
  const avg = (key: 'usersEvaluated' | 'usersWithoutTest'): number => infos.reduce((s, x) => s + x[key], 0) / infos.length;
  const out: EvaluateResult = {
    model: o.modelName, params: { ...(o.params ?? {}) }, protocol: o.protocol, seed: o.seed, repeat, folds, mean, std,
    usersEvaluated: avg('usersEvaluated'), usersWithoutTest: avg('usersWithoutTest'), splits: infos,
  };
  if (cold) { out.coldStartBy = o.coldStart; out.coldStart = cold.rows(); }
  if (sampledSpecs.length) out.sampledNegatives = o.sampledNegatives;
  return out;
}

/** The ranking metrics with a cut-off, computed on sampled negatives too (none when n is absent). */
function sampledMetricSpecs(specs: MetricSpec[], n: number | undefined): MetricSpec[] {
  if (n === undefined) return [];
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`sampledNegatives must be an integer ≥ 1, got ${n}`);
  const out = specs.filter((s) => s.kind === 'ranking' && Number.isFinite(s.k));
  if (!out.length) throw new RangeError('sampled negatives rank test items among sampled ones: ask for a ranking metric with a cut-off, such as hit@10 or ndcg@10');
  return out;
}

/** Mean and population std over folds of each key. */
export function meanStd(folds: Array<Record<string, number>>, keys: string[]): { mean: Record<string, number>; std: Record<string, number> } {
  const mean: Record<string, number> = {}, std: Record<string, number> = {};
  for (const key of keys) {
    const v = folds.map((r) => r[key]);
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    mean[key] = m;
    std[key] = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
  }
  return { mean, std };
}

/** Users with at least one training interaction and no test interaction. */
export function usersWithoutTest(train: Interactions, test: Interactions): number {
  const n = Math.max(train.users.size, test.users.size);
  const state = new Uint8Array(n);
  for (let p = 0; p < train.user.length; p++) state[train.user[p]] |= 1;
  for (let p = 0; p < test.user.length; p++) state[test.user[p]] |= 2;
  let c = 0;
  for (let u = 0; u < n; u++) if (state[u] === 1) c++;
  return c;
}

/** Where the scored lists come from: a model's recommend(), or a re-ranker (MMR) in a study. */
export interface ListSource {
  /** the user's list, best first, at least max k long where the model can (training items filtered) */
  top(user: number): ArrayLike<number>;
  /** every candidate item ranked (for 'auc' without a cut-off) */
  full?(user: number): ArrayLike<number>;
  /** predicted rating (rating metrics) */
  predict?(user: number, item: number): number;
}

/** A fitted model's lists (cached per user: top max-k, and the full ranking when 'auc' is asked), ranked on the context. */
export function modelLists(model: Model, specs: MetricSpec[], nItems: number, ctx: RunContext = {}): ListSource {
  const ks = specs.filter((s) => s.kind !== 'rating' && Number.isFinite((s as { k: number }).k)).map((s) => (s as { k: number }).k);
  // a cut-off beyond the catalogue (ndcg@1e9) lists every item: recommend no more than that
  const maxK = Math.min(ks.length ? Math.max(...ks) : 1, Math.max(nItems, 1));
  const tops = new Map<number, Int32Array>(), fulls = new Map<number, Int32Array>();
  return {
    top(u) {
      let l = tops.get(u);
      if (!l) tops.set(u, (l = model.recommend(u, maxK, { ...ctx, filterSeen: true }).ids));
      return l;
    },
    full(u) {
      let l = fulls.get(u);
      if (!l) fulls.set(u, (l = model.recommend(u, Math.max(nItems, 1), { ...ctx, filterSeen: true }).ids));
      return l;
    },
    predict: (u, i) => model.predict(u, i).estimate,
  };
}

/** The held-out users' lists ranked from their fold-in histories (heldout-users with a HistoryRecommender). */
async function heldoutLists(model: Model, h: HeldoutUsers, specs: MetricSpec[], nItems: number, ctx: RunContext): Promise<ListSource> {
  if (!recommendsForHistory(model)) throw new Error(`model '${model.name}' does not rank histories`);
  const ks = specs.filter((s) => s.kind !== 'rating' && Number.isFinite((s as { k: number }).k)).map((s) => (s as { k: number }).k);
  const full = specs.some((s) => s.kind === 'ranking' && s.name === 'auc' && !Number.isFinite(s.k));
  const lists = await historyLists(model, h, nItems, ks.length ? Math.max(...ks) : 1, full, ctx);
  const none = new Int32Array(0);
  return {
    top: (u) => lists.top.get(u) ?? none,
    full: (u) => lists.full?.get(u) ?? none,
    predict: (u, i) => model.predict(u, i).estimate,
  };
}

export interface ScoreContext {
  /** the training side: needed for beyond-accuracy metrics and the full 'auc' (candidates) */
  train?: Interactions;
  /** only these users (cold-start user buckets) */
  users?: ReadonlySet<number>;
  /** only these test items count as relevant / are predicted (cold-start item buckets) */
  items?: ReadonlySet<number>;
  /** false: a metric that cannot be computed is NaN instead of an error (bucket reports) */
  strict?: boolean;
  /** cache of training-derived data; filled on first use */
  cache?: TrainCache;
}

export interface TrainCache {
  popularity: Float64Array;
  percentiles: Float64Array;
  activeUsers: number;
  similarity: ItemSimilarity;
  history: Int32Array;
}

function trainCache(ctx: ScoreContext): TrainCache {
  if (ctx.cache) return ctx.cache;
  const train = ctx.train;
  if (!train) throw new RangeError('beyond-accuracy metrics and auc need the training set (pass ctx.train)');
  const popularity = itemPopularity(train);
  ctx.cache = { popularity, percentiles: popularityPercentiles(popularity), activeUsers: Math.max(1, activeUsers(train)), similarity: interactionCosine(train), history: historyLengths(train, 'user') };
  return ctx.cache;
}

export interface ScoreResult {
  values: Record<string, number>;
  /** users with ≥ 1 relevant test item (after the ctx filters) */
  usersEvaluated: number;
  /** test interactions predicted for the rating metrics */
  predictions: number;
}

/** Score one fitted model on one test set (train: needed for beyond-accuracy metrics and 'auc'). */
export function scoreFold(model: Model, test: Interactions, specs: MetricSpec[], train?: Interactions): Record<string, number> {
  if (interactionCount(test) === 0) throw new RangeError('evaluate: the test set is empty');
  return scoreLists(modelLists(model, specs, test.items.size), test, specs, { train }).values;
}

/** Every metric of `specs` for the lists of `source` against `test` (see the module comment). */
export function scoreLists(source: ListSource, test: Interactions, specs: MetricSpec[], ctx: ScoreContext = {}): ScoreResult {
  const strict = ctx.strict !== false;
  const n = interactionCount(test);
  if (n === 0) throw new RangeError('evaluate: the test set is empty');
  const keep = (t: number): boolean => (!ctx.users || ctx.users.has(test.user[t])) && (!ctx.items || ctx.items.has(test.item[t]));
  const safe = (f: () => number): number => {
    if (strict) return f();
    try { return f(); } catch { return NaN; }
  };
  const out: Record<string, number> = {};
  let predictions = 0;
  const rating = specs.filter((s) => s.kind === 'rating');
  if (rating.length) {
    if (!source.predict) throw new RangeError('rating metrics need predictions, and this list source has none');
    const idx: number[] = [];
    for (let t = 0; t < n; t++) if (keep(t)) idx.push(t);
    predictions = idx.length;
    const truth = new Float64Array(idx.length), est = new Float64Array(idx.length), users = new Int32Array(idx.length);
    idx.forEach((t, j) => { truth[j] = test.rating[t]; est[j] = source.predict!(test.user[t], test.item[t]); users[j] = test.user[t]; });
    for (const s of rating) {
      out[s.key] = safe(() => (s.name === 'rmse' ? rmse(truth, est) : s.name === 'mae' ? mae(truth, est) : s.name === 'mse' ? mse(truth, est) : fcp(users, truth, est)));
    }
  }
  // relevant items per user, with the rating as graded gain (the highest when an item repeats)
  const graded = new Map<number, Map<number, number>>();
  for (let t = 0; t < n; t++) {
    if (!keep(t)) continue;
    let g = graded.get(test.user[t]);
    if (!g) graded.set(test.user[t], (g = new Map()));
    g.set(test.item[t], Math.max(g.get(test.item[t]) ?? -Infinity, test.rating[t]));
  }
  const listSpecs = specs.filter((s): s is Exclude<MetricSpec, { kind: 'rating' }> => s.kind !== 'rating');
  if (listSpecs.length) {
    const users = [...graded.keys()].sort((a, b) => a - b);
    const sums = new Float64Array(listSpecs.length), counts = new Float64Array(listSpecs.length);
    const needTrain = listSpecs.some((s) => s.kind === 'beyond' || (s.name === 'auc'));
    const tc = needTrain ? trainCache(ctx) : null;
    const nItems = test.items.size;
    const recommended = new Map<number, Set<number>>(); // coverage@k: the union per k
    for (const u of users) {
      const g = graded.get(u)!;
      const rel = new Set(g.keys());
      const list = source.top(u);
      listSpecs.forEach((s, j) => {
        let v: number;
        if (s.kind === 'ranking' && s.name === 'capped-precision') {
          // implicit's precision_at_k: Σ hits / Σ min(k, |relevant|), a ratio of sums over the users
          sums[j] += hitsAtK(list, rel, s.k); counts[j] += Math.min(s.k, rel.size);
          return;
        }
        if (s.kind === 'ranking') {
          v = safe(() => rankingValue(s.name, s.k, list, rel, g, source, u, tc, nItems));
        } else {
          const l = topOf(list, s.k);
          if (s.name === 'coverage') {
            let set = recommended.get(s.k);
            if (!set) recommended.set(s.k, (set = new Set()));
            for (const i of l) set.add(i);
            return;
          }
          if (l.length === 0 || (s.name === 'diversity' && l.length < 2)) return; // skipped: no value for this user
          v = safe(() => (s.name === 'novelty' ? novelty(l, tc!.popularity, tc!.activeUsers) : s.name === 'popbias' ? popularityBias(l, tc!.percentiles) : intraListDiversity(l, tc!.similarity)));
        }
        if (Number.isNaN(v) && !strict) return;
        sums[j] += v; counts[j]++;
      });
    }
    listSpecs.forEach((s, j) => {
      if (s.kind === 'beyond' && s.name === 'coverage') out[s.key] = users.length ? (recommended.get(s.k)?.size ?? 0) / Math.max(1, nItems) : NaN;
      else out[s.key] = counts[j] > 0 ? sums[j] / counts[j] : NaN;
    });
    return { values: order(out, specs), usersEvaluated: users.length, predictions };
  }
  return { values: order(out, specs), usersEvaluated: graded.size, predictions };
}

function order(out: Record<string, number>, specs: MetricSpec[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const s of specs) o[s.key] = out[s.key];
  return o;
}

function rankingValue(name: string, k: number, list: ArrayLike<number>, rel: Set<number>, graded: Map<number, number>, source: ListSource, u: number, tc: TrainCache | null, nItems: number): number {
  switch (name) {
    case 'precision': return precisionAtK(topOf(list, k), rel, k);
    case 'capped-precision': return cappedPrecisionAtK(topOf(list, k), rel, k);
    case 'recall': return recallAtK(topOf(list, k), rel, k);
    case 'ndcg': return ndcgAtK(topOf(list, k), rel, k);
    case 'f1': return f1AtK(list, rel, k);
    case 'hit': return hitRateAtK(list, rel, k);
    case 'map': return averagePrecisionAtK(list, rel, k);
    case 'mrr': return reciprocalRankAtK(list, rel, k);
    case 'recall-capped': return cappedRecallAtK(list, rel, k);
    case 'ndcg-graded': {
      // linear gain = the test rating (implicit data: every gain 1 → binary NDCG)
      return ndcgGradedAtK(list, graded, k, 'linear');
    }
    case 'auc': {
      // candidates = items not in the user's training history (filterSeen), at least the list and the relevant items
      const full = Number.isFinite(k) ? topOf(list, k) : topOf(source.full ? source.full(u) : list, Infinity);
      const candidates = Math.max(nItems - (tc && u < tc.history.length ? tc.history[u] : 0), full.length, rel.size);
      return aucAtK(full, rel, Math.max(1, Number.isFinite(k) ? k : full.length), candidates);
    }
  }
  throw new RangeError(`unknown ranking metric '${name}'`);
}

/** Per-bucket cold-start values over folds (weighted by the users scored per fold). */
class ColdStartAccumulator {
  private readonly sums = new Map<BucketName, Float64Array>();
  private readonly weights = new Map<BucketName, Float64Array>();
  private readonly users = new Map<BucketName, number>();
  private readonly items = new Map<BucketName, number>();
  private by: 'user' | 'item' = 'user';
  constructor(private readonly keys: string[]) {
    for (const b of COLD_START_BUCKETS) {
      this.sums.set(b.bucket, new Float64Array(keys.length));
      this.weights.set(b.bucket, new Float64Array(keys.length));
      this.users.set(b.bucket, 0);
      this.items.set(b.bucket, 0);
    }
  }

  addFold(source: ListSource, train: Interactions, test: Interactions, specs: MetricSpec[], by: 'user' | 'item', base: ScoreContext): void {
    this.by = by;
    const len = historyLengths(train, by);
    const groups = new Map<BucketName, Set<number>>();
    const ids = by === 'user' ? test.user : test.item;
    for (let t = 0; t < ids.length; t++) {
      const b = bucketOf(len[ids[t]]);
      let g = groups.get(b);
      if (!g) groups.set(b, (g = new Set()));
      g.add(ids[t]);
    }
    const bucketSpecs = by === 'item' ? specs.filter((s) => s.kind !== 'beyond') : specs;
    for (const [b, members] of groups) {
      const r = scoreLists(source, test, bucketSpecs, { ...base, strict: false, users: by === 'user' ? members : undefined, items: by === 'item' ? members : undefined });
      if (r.usersEvaluated === 0) continue;
      this.users.set(b, this.users.get(b)! + r.usersEvaluated);
      if (by === 'item') this.items.set(b, this.items.get(b)! + members.size);
      const sums = this.sums.get(b)!, w = this.weights.get(b)!;
      this.keys.forEach((key, j) => {
        const v = r.values[key];
        if (v === undefined || !Number.isFinite(v)) return;
        sums[j] += v * r.usersEvaluated; w[j] += r.usersEvaluated;
      });
    }
  }

  rows(): ColdStartSummaryRow[] {
    return COLD_START_BUCKETS.map(({ bucket }) => {
      const sums = this.sums.get(bucket)!, w = this.weights.get(bucket)!;
      const mean: Record<string, number | null> = {};
      this.keys.forEach((key, j) => { mean[key] = w[j] > 0 ? sums[j] / w[j] : null; });
      const row: ColdStartSummaryRow = { bucket, users: this.users.get(bucket)! , mean };
      if (this.by === 'item') row.items = this.items.get(bucket)!;
      return row;
    });
  }
}

