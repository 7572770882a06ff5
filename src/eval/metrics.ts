/**
 * Accuracy metrics.
 *
 * Rating metrics, over n predictions (r = true rating, r̂ = estimate), as Surprise's accuracy module:
 *   mse  = Σ (r − r̂)² / n
 *   rmse = √mse
 *   mae  = Σ |r − r̂| / n
 *   fcp  (fraction of concordant pairs, Koren & Sill 2011, Surprise's definition): per user u, over
 *        ordered pairs (a, b) of u's predictions,
 *          nc_u = #{r̂_a > r̂_b and r_a > r_b},   nd_u = #{r̂_a ≥ r̂_b and r_a < r_b};
 *        nc = mean of nc_u over the users with nc_u > 0, nd = mean of nd_u over the users with
 *        nd_u > 0 (Surprise averages only the users present in its defaultdicts, i.e. with a
 *        non-zero count), fcp = nc / (nc + nd); an error when nc + nd = 0.
 *
 * Ranking metrics for one user, binary relevance (relevant = the user's held-out items), over the
 * top-k list rec[0..k) (shorter lists count missing slots as misses):
 *   precision@k = hits / k                       (divides by k even when the list is shorter;
 *                                                 the mean over users, like every other metric)
 *   capped-precision@k = Σ_u hits_u / Σ_u min(k, |relevant_u|)   (implicit's precision_at_k, also
 *                 named implicit-precision@k: a user with fewer than k held-out items can still
 *                 score 1, and the ratio is of sums over the users, not a mean of per-user ratios)
 *   recall@k    = hits / |relevant|
 *   ndcg@k      = DCG / IDCG,  DCG = Σ_{rank p=1..k, rec[p] relevant} 1 / log2(p + 1),
 *                 IDCG = Σ_{p=1..min(k, |relevant|)} 1 / log2(p + 1)
 */

export const RATING_METRICS = ['rmse', 'mae', 'mse', 'fcp'] as const;
export type RatingMetric = (typeof RATING_METRICS)[number];
/**
 * Ranking metrics at k (see evaluate.ts for how each is computed and averaged):
 *   precision, recall, ndcg (binary), f1, hit (hit rate; aliases hr, hitrate), map, mrr,
 *   recall-capped (hits / min(k, |relevant|): Liang et al. 2018's Recall@R),
 *   ndcg-graded (gain = the test rating, linear), auc (with @k: the top-k list, unlisted candidates
 *   tied below it; without a cut-off, 'auc' ranks every candidate item).
 */
export const RANKING_METRICS = ['ndcg', 'precision', 'capped-precision', 'recall', 'f1', 'hit', 'map', 'mrr', 'ndcg-graded', 'auc', 'recall-capped'] as const;
export type RankingMetric = (typeof RANKING_METRICS)[number];
/** Beyond-accuracy metrics at k: catalogue coverage, intra-list diversity, novelty, popularity bias. */
export const BEYOND_METRICS = ['coverage', 'diversity', 'novelty', 'popbias'] as const;
export type BeyondMetric = (typeof BEYOND_METRICS)[number];

const ALIASES: Record<string, string> = { 'implicit-precision': 'capped-precision', hr: 'hit', hitrate: 'hit', 'hit-rate': 'hit', 'ndcg-grade': 'ndcg-graded', gndcg: 'ndcg-graded', 'popularity-bias': 'popbias', ild: 'diversity' };

/**
 * kind 'ranking' with k = Infinity is the full-catalogue AUC ('auc' without a cut-off).
 */
export type MetricSpec =
  | { key: string; kind: 'rating'; name: RatingMetric }
  | { key: string; kind: 'ranking'; name: RankingMetric; k: number }
  | { key: string; kind: 'beyond'; name: BeyondMetric; k: number };

function knownList(): string {
  return `${RATING_METRICS.join(', ')}, ${[...RANKING_METRICS, ...BEYOND_METRICS].map((r) => `${r}@K`).join(', ')}, auc`;
}

/** 'rmse' → rating metric; 'ndcg@10' → ranking metric with k = 10; 'coverage@10' → beyond-accuracy. Throws a one-line error otherwise. */
export function parseMetric(key: string): MetricSpec {
  const s = key.trim();
  if ((RATING_METRICS as readonly string[]).includes(s)) return { key, kind: 'rating', name: s as RatingMetric };
  if (s === 'auc') return { key, kind: 'ranking', name: 'auc', k: Infinity };
  const m = /^([a-z][a-z0-9-]*)@(.*)$/.exec(s);
  const base = m ? (ALIASES[m[1]] ?? m[1]) : (ALIASES[s] ?? s);
  const isRanking = (RANKING_METRICS as readonly string[]).includes(base), isBeyond = (BEYOND_METRICS as readonly string[]).includes(base);
  if (m && (isRanking || isBeyond)) {
    const k = m[2].trim() === '' ? NaN : Number(m[2]);
    if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`metric '${key}': k must be a positive integer, got '${m[2]}'`);
    return isRanking ? { key, kind: 'ranking', name: base as RankingMetric, k } : { key, kind: 'beyond', name: base as BeyondMetric, k };
  }
  if (!m && (isRanking || isBeyond)) throw new RangeError(`metric '${key}' needs a cut-off, e.g. '${s}@10'`);
  throw new RangeError(`unknown metric '${key}' (known: ${knownList()})`);
}

function checkLengths(truth: ArrayLike<number>, est: ArrayLike<number>): number {
  if (truth.length !== est.length) throw new RangeError(`metrics: ${truth.length} true ratings but ${est.length} estimates`);
  if (truth.length === 0) throw new RangeError('metrics: no predictions to score');
  return truth.length;
}

export function mse(truth: ArrayLike<number>, est: ArrayLike<number>): number {
  const n = checkLengths(truth, est);
  let s = 0;
  for (let t = 0; t < n; t++) { const d = truth[t] - est[t]; s += d * d; }
  return s / n;
}

export function rmse(truth: ArrayLike<number>, est: ArrayLike<number>): number {
  return Math.sqrt(mse(truth, est));
}

export function mae(truth: ArrayLike<number>, est: ArrayLike<number>): number {
  const n = checkLengths(truth, est);
  let s = 0;
  for (let t = 0; t < n; t++) s += Math.abs(truth[t] - est[t]);
  return s / n;
}

/** Surprise's fcp; `users` groups the predictions (any integer ids). */
export function fcp(users: ArrayLike<number>, truth: ArrayLike<number>, est: ArrayLike<number>): number {
  const n = checkLengths(truth, est);
  if (users.length !== n) throw new RangeError(`fcp: ${users.length} users for ${n} predictions`);
  const groups = new Map<number, number[]>();
  for (let t = 0; t < n; t++) {
    let g = groups.get(users[t]);
    if (!g) groups.set(users[t], (g = []));
    g.push(t);
  }
  let ncSum = 0, ncUsers = 0, ndSum = 0, ndUsers = 0;
  for (const g of groups.values()) {
    let nc = 0, nd = 0;
    for (const a of g) {
      for (const b of g) {
        if (est[a] > est[b] && truth[a] > truth[b]) nc++;
        if (est[a] >= est[b] && truth[a] < truth[b]) nd++;
      }
    }
    if (nc > 0) { ncSum += nc; ncUsers++; }
    if (nd > 0) { ndSum += nd; ndUsers++; }
  }
  const nc = ncUsers ? ncSum / ncUsers : 0, nd = ndUsers ? ndSum / ndUsers : 0;
  if (nc + nd === 0) throw new RangeError('fcp: no concordant or discordant pairs; does every user have at least two predictions with different ratings?');
  return nc / (nc + nd);
}

function hitsAt(rec: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  let h = 0;
  for (let p = 0; p < Math.min(k, rec.length); p++) if (relevant.has(rec[p])) h++;
  return h;
}

export function precisionAtK(rec: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  return hitsAt(rec, relevant, k) / k;
}

/** One user's capped precision, hits / min(k, |relevant|); over users, evaluate() takes the ratio of the sums. */
export function cappedPrecisionAtK(rec: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  if (relevant.size === 0) throw new RangeError('capped-precision@k: the user has no relevant items');
  return hitsAt(rec, relevant, k) / Math.min(k, relevant.size);
}

export function recallAtK(rec: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  if (relevant.size === 0) throw new RangeError('recall@k: the user has no relevant items');
  return hitsAt(rec, relevant, k) / relevant.size;
}

export function ndcgAtK(rec: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  if (relevant.size === 0) throw new RangeError('ndcg@k: the user has no relevant items');
  let dcg = 0;
  for (let p = 0; p < Math.min(k, rec.length); p++) if (relevant.has(rec[p])) dcg += 1 / Math.log2(p + 2);
  let idcg = 0;
  for (let p = 0; p < Math.min(k, relevant.size); p++) idcg += 1 / Math.log2(p + 2);
  return dcg / idcg;
}

export function rankingMetric(name: RankingMetric, rec: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  switch (name) {
    case 'ndcg': return ndcgAtK(rec, relevant, k);
    case 'precision': return precisionAtK(rec, relevant, k);
    case 'capped-precision': return cappedPrecisionAtK(rec, relevant, k);
    case 'recall': return recallAtK(rec, relevant, k);
    default: throw new RangeError(`rankingMetric: '${name}' is computed by evaluate.ts (scoreUsers), not here`);
  }
}
