/**
 * The evaluation protocol runner: split the data (k-fold, Surprise style, or a random holdout),
 * fit a fresh model per fold, score the test side, and summarise.
 *
 *   rating metrics (rmse, mae, mse, fcp): every test interaction is predicted (impossible
 *   predictions included, with their fallback estimate, as Surprise's test()); needs a model with
 *   predictsRatings, else an error before any fitting.
 *   ranking metrics (ndcg@k, precision@k, recall@k): for each test user with ≥ 1 test item,
 *   recommend(user, max k, {filterSeen: true}) — training items filtered — and relevant = that
 *   user's test items; the metric is averaged over those users (users without test items are
 *   excluded).
 *
 * mean and std (population standard deviation, numpy's default as Surprise prints it) are over
 * folds, for every metric key and for fitSeconds / testSeconds.
 */
import type { Interactions } from '../data/interactions.js';
import { kFold, randomHoldout, type Split } from '../data/splits.js';
import type { Model, ModelFactory, ModelParams } from '../models/types.js';
import { fcp, mae, mse, parseMetric, rankingMetric, rmse, type MetricSpec } from './metrics.js';

export type Protocol = { kind: 'kfold'; folds: number } | { kind: 'holdout'; ratio: number };

export interface EvaluateOptions {
  data: Interactions;
  modelName: string;
  params?: ModelParams;
  protocol: Protocol;
  seed: number;
  /** e.g. ['rmse', 'mae', 'fcp', 'ndcg@10'] — the result uses these exact keys */
  metrics: string[];
  models: Record<string, ModelFactory>;
  /** called after each fold */
  onFold?: (fold: number, result: FoldResult) => void;
  signal?: AbortSignal;
}

export type FoldResult = Record<string, number> & { fitSeconds: number; testSeconds: number };

export interface EvaluateResult {
  model: string;
  params: ModelParams;
  protocol: Protocol;
  seed: number;
  folds: FoldResult[];
  mean: Record<string, number>;
  std: Record<string, number>;
}

/** 'kfold:5' → {kind:'kfold', folds:5}; 'holdout:0.2' → {kind:'holdout', ratio:0.2}. */
export function parseProtocol(text: string): Protocol {
  const m = /^(kfold|holdout):(.+)$/.exec(text.trim());
  if (m && m[1] === 'kfold') {
    const folds = Number(m[2]);
    if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`protocol '${text}': kfold needs an integer number of folds ≥ 2`);
    return { kind: 'kfold', folds };
  }
  if (m && m[1] === 'holdout') {
    const ratio = Number(m[2]);
    if (!(ratio > 0 && ratio < 1)) throw new RangeError(`protocol '${text}': holdout needs a test ratio in (0, 1)`);
    return { kind: 'holdout', ratio };
  }
  throw new RangeError(`unknown protocol '${text}' (use kfold:N or holdout:RATIO, e.g. kfold:5 or holdout:0.2)`);
}

function makeModel(o: EvaluateOptions): Model {
  const factory = o.models[o.modelName];
  if (!factory) throw new RangeError(`unknown model '${o.modelName}' (known: ${Object.keys(o.models).sort().join(', ')})`);
  return factory(o.params ?? {});
}

function splitsFor(o: EvaluateOptions): Split[] {
  const p = o.protocol;
  if (p.kind === 'kfold') return kFold(o.data, { folds: p.folds, seed: o.seed });
  if (p.kind === 'holdout') return [randomHoldout(o.data, { ratio: p.ratio, seed: o.seed })];
  throw new RangeError(`unknown protocol kind '${(p as { kind: string }).kind}'`);
}

export async function evaluate(o: EvaluateOptions): Promise<EvaluateResult> {
  if (!o.metrics.length) throw new RangeError('evaluate: no metrics asked for');
  const specs = o.metrics.map(parseMetric);
  const dup = o.metrics.find((m, t) => o.metrics.indexOf(m) !== t);
  if (dup) throw new RangeError(`metric '${dup}' is listed twice`);
  if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
  const probe = makeModel(o); // validates the name and params before any work
  const ratingKeys = specs.filter((s) => s.kind === 'rating').map((s) => s.key);
  if (ratingKeys.length && !probe.predictsRatings) {
    throw new RangeError(`model '${o.modelName}' does not predict ratings, so it cannot be scored by ${ratingKeys.join(', ')}; use ranking metrics such as ndcg@10`);
  }
  const splits = splitsFor(o);
  const folds: FoldResult[] = [];
  for (let f = 0; f < splits.length; f++) {
    o.signal?.throwIfAborted();
    const { train, test } = splits[f];
    const model = f === 0 ? probe : makeModel(o);
    const t0 = performance.now();
    await model.fit(train, { signal: o.signal });
    const t1 = performance.now();
    const scores = scoreFold(model, test, specs);
    const t2 = performance.now();
    const result = { ...scores, fitSeconds: (t1 - t0) / 1000, testSeconds: (t2 - t1) / 1000 } as FoldResult;
    folds.push(result);
    o.onFold?.(f, result);
  }
  const keys = [...o.metrics, 'fitSeconds', 'testSeconds'];
  const mean: Record<string, number> = {}, std: Record<string, number> = {};
  for (const key of keys) {
    const v = folds.map((r) => r[key]);
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    mean[key] = m;
    std[key] = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
  }
  return { model: o.modelName, params: { ...(o.params ?? {}) }, protocol: o.protocol, seed: o.seed, folds, mean, std };
}

/** Score one fitted model on one test set. */
export function scoreFold(model: Model, test: Interactions, specs: MetricSpec[]): Record<string, number> {
  const out: Record<string, number> = {};
  const n = test.user.length;
  if (n === 0) throw new RangeError('evaluate: the test set is empty');
  if (specs.some((s) => s.kind === 'rating')) {
    const truth = new Float64Array(n), est = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      truth[t] = test.rating[t];
      est[t] = model.predict(test.user[t], test.item[t]).estimate;
    }
    for (const s of specs) {
      if (s.kind !== 'rating') continue;
      out[s.key] = s.name === 'rmse' ? rmse(truth, est) : s.name === 'mae' ? mae(truth, est) : s.name === 'mse' ? mse(truth, est) : fcp(test.user, truth, est);
    }
  }
  const ranking = specs.filter((s): s is Extract<MetricSpec, { kind: 'ranking' }> => s.kind === 'ranking');
  if (ranking.length) {
    const maxK = Math.max(...ranking.map((s) => s.k));
    const relevant = new Map<number, Set<number>>();
    for (let t = 0; t < n; t++) {
      let set = relevant.get(test.user[t]);
      if (!set) relevant.set(test.user[t], (set = new Set()));
      set.add(test.item[t]);
    }
    const sums = new Float64Array(ranking.length);
    for (const [u, rel] of relevant) {
      const rec = model.recommend(u, maxK, { filterSeen: true }).ids;
      ranking.forEach((s, j) => { sums[j] += rankingMetric(s.name, rec, rel, s.k); });
    }
    ranking.forEach((s, j) => { out[s.key] = sums[j] / relevant.size; });
  }
  return out;
}
