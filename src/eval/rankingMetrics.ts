/**
 * Ranking metrics at k, as pure functions of one user's list:
 *
 *   metric(recommended, relevant, k) → number
 *
 * recommended: item indices best first (ids < 0, e.g. top-k padding, are skipped; repeats count once);
 * relevant:    the user's test items, a Set (binary relevance) or a Map item → gain (graded; an
 *              item with gain ≤ 0 is not relevant);
 * k:           a positive integer; only the first k entries of `recommended` are read.
 * Notation: L = the first k usable entries of the list, rel(n) = 1 when the n-th entry (1-based)
 * is relevant, R = number of relevant items, hits = Σ_{n ≤ k} rel(n).
 *
 * An empty relevant set is an error (RangeError): a user without test items has no defined
 * value, and averages exclude such users and count them (see averageOverUsers).
 * precision@k / recall@k / binary NDCG are the evaluation module's; F1 below uses the same
 * definitions (precision = hits / k, recall = hits / R).
 */

export type Relevance = Set<number> | Map<number, number>;

/** RangeError unless k is a positive integer. */
export function checkK(k: number): void {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`k must be a positive integer, got ${k}`);
}

function relevantCount(relevant: Relevance): number {
  if (relevant instanceof Set) return relevant.size;
  let n = 0;
  for (const g of relevant.values()) if (g > 0) n++;
  return n;
}

function gainOf(relevant: Relevance, item: number): number {
  if (relevant instanceof Set) return relevant.has(item) ? 1 : 0;
  const g = relevant.get(item);
  return g !== undefined && g > 0 ? g : 0;
}

function checkArgs(relevant: Relevance, k: number): number {
  checkK(k);
  const R = relevantCount(relevant);
  if (R === 0) throw new RangeError('the relevant set is empty: users without test items have no value (averages exclude and count them)');
  return R;
}

/** The first k usable entries (id ≥ 0, first occurrence only). */
export function topOf(recommended: ArrayLike<number>, k: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  for (let n = 0; n < recommended.length && out.length < k; n++) {
    const i = recommended[n];
    if (!(i >= 0) || seen.has(i)) continue;
    seen.add(i);
    out.push(i);
  }
  return out;
}

/** hits@k = Σ_{n ≤ k} rel(n): the number of relevant items in the top k. */
export function hitsAtK(recommended: ArrayLike<number>, relevant: Relevance, k: number): number {
  checkArgs(relevant, k);
  let h = 0;
  for (const i of topOf(recommended, k)) if (gainOf(relevant, i) > 0) h++;
  return h;
}

/** HR@k = 1 if hits@k > 0 else 0. */
export function hitRateAtK(recommended: ArrayLike<number>, relevant: Relevance, k: number): number {
  return hitsAtK(recommended, relevant, k) > 0 ? 1 : 0;
}

/**
 * capped recall@k = hits@k / min(k, R): Liang et al. 2018's Recall@R (their Mult-VAE paper), which
 * divides by the most hits a list of k can have, so a user with more than k test items can reach 1.
 */
export function cappedRecallAtK(recommended: ArrayLike<number>, relevant: Relevance, k: number): number {
  return hitsAtK(recommended, relevant, k) / Math.min(k, relevantCount(relevant));
}

/** F1@k = 2·P·R / (P + R) with P = hits/k, R = hits/|relevant|; 0 when hits = 0. */
export function f1AtK(recommended: ArrayLike<number>, relevant: Relevance, k: number): number {
  const h = hitsAtK(recommended, relevant, k);
  if (h === 0) return 0;
  const p = h / k, r = h / relevantCount(relevant);
  return (2 * p * r) / (p + r);
}

/**
 * AP@k = (1 / min(R, k)) · Σ_{n ≤ k} P@n · rel(n),  P@n = hits in the first n / n.
 * (Normalised by min(R, k), so a list that is perfect within its length scores 1.)
 * MAP@k is its mean over users.
 */
export function averagePrecisionAtK(recommended: ArrayLike<number>, relevant: Relevance, k: number): number {
  const R = checkArgs(relevant, k);
  let hits = 0, sum = 0;
  topOf(recommended, k).forEach((i, n) => {
    if (gainOf(relevant, i) > 0) { hits++; sum += hits / (n + 1); }
  });
  return sum / Math.min(R, k);
}

/** RR@k = 1 / rank of the first relevant item within the top k (1-based), 0 when none; MRR = its mean. */
export function reciprocalRankAtK(recommended: ArrayLike<number>, relevant: Relevance, k: number): number {
  checkArgs(relevant, k);
  const top = topOf(recommended, k);
  for (let n = 0; n < top.length; n++) if (gainOf(relevant, top[n]) > 0) return 1 / (n + 1);
  return 0;
}

export type GainKind = 'exponential' | 'linear';

/**
 * NDCG@k with graded gain:
 *   DCG@k  = Σ_{n ≤ k} G(g_n) / log2(n + 1),  g_n = gain of the n-th item (0 if not relevant)
 *   G(g)   = 2^g − 1 ('exponential', default) or g ('linear')
 *   IDCG@k = DCG of the relevant items sorted by gain, best first, cut at k
 *   NDCG@k = DCG@k / IDCG@k
 * With a Set every relevant item has gain 1 and both G give binary NDCG.
 */
export function ndcgGradedAtK(recommended: ArrayLike<number>, relevant: Relevance, k: number, gain: GainKind = 'exponential'): number {
  checkArgs(relevant, k);
  if (gain !== 'exponential' && gain !== 'linear') throw new RangeError(`gain must be 'exponential' or 'linear', got '${String(gain)}'`);
  const G = (g: number): number => (g <= 0 ? 0 : gain === 'exponential' ? Math.pow(2, g) - 1 : g);
  let dcg = 0;
  topOf(recommended, k).forEach((i, n) => { dcg += G(gainOf(relevant, i)) / Math.log2(n + 2); });
  const gains: number[] = [];
  if (relevant instanceof Set) for (let n = 0; n < relevant.size; n++) gains.push(1);
  else for (const g of relevant.values()) if (g > 0) gains.push(g);
  gains.sort((a, b) => b - a);
  let idcg = 0;
  for (let n = 0; n < Math.min(k, gains.length); n++) idcg += G(gains[n]) / Math.log2(n + 2);
  return dcg / idcg;
}

/**
 * AUC@k: the fraction of (relevant, non-relevant) pairs ordered correctly.
 * Without nItems: the pairs are formed within the top-k list, except that relevant items missing
 * from it count as ranked below every listed item:
 *   AUC = Σ_{relevant listed at n} (non-relevant listed after n) / (R · N),  N = non-relevant listed
 *   (when N = 0: 1 if some relevant item is listed, else 0).
 * With nItems (the size of the candidate catalogue): every unlisted item is tied below the list,
 * tied pairs count ½: N = nItems − R, and each relevant item is credited with the non-relevant
 * items below it (unlisted ones: ½ each for an unlisted relevant item, 1 for a listed one).
 */
export function aucAtK(recommended: ArrayLike<number>, relevant: Relevance, k: number, nItems?: number): number {
  const R = checkArgs(relevant, k);
  const top = topOf(recommended, k);
  const isRel = top.map((i) => gainOf(relevant, i) > 0);
  const listedNeg = isRel.filter((x) => !x).length;
  const listedPos = top.length - listedNeg;
  if (nItems === undefined) {
    if (listedNeg === 0) return listedPos > 0 ? 1 : 0;
    let correct = 0, negAfter = listedNeg;
    for (const r of isRel) { if (r) correct += negAfter; else negAfter--; }
    return correct / (R * listedNeg);
  }
  if (!Number.isInteger(nItems) || nItems < top.length || nItems < R) throw new RangeError(`nItems must be an integer ≥ the list length and the relevant count, got ${nItems}`);
  const N = nItems - R;
  if (N === 0) return 1;
  const unlistedNeg = N - listedNeg;
  let correct = 0, negAfter = listedNeg;
  for (const r of isRel) { if (r) correct += negAfter + unlistedNeg; else negAfter--; }
  correct += (R - listedPos) * unlistedNeg * 0.5;
  return correct / (R * N);
}

export interface UserAverage {
  /** mean over the users that have relevant items (NaN when none) */
  mean: number;
  /** users averaged */
  users: number;
  /** users skipped because they have no relevant (test) items */
  excluded: number;
}

/**
 * Mean of a per-user metric over users: `lists` maps user → recommended list, `relevant` maps
 * user → relevant items. Users with an empty or missing relevant set are excluded and counted.
 * Users with relevant items but no list get an empty list (the metric's value for no hits).
 */
export function averageOverUsers(
  lists: Map<number, ArrayLike<number>>,
  relevant: Map<number, Relevance>,
  metric: (recommended: ArrayLike<number>, relevant: Relevance, k: number) => number,
  k: number,
): UserAverage {
  checkK(k);
  let sum = 0, users = 0, excluded = 0;
  const all = new Set<number>([...lists.keys(), ...relevant.keys()]);
  for (const u of all) {
    const rel = relevant.get(u);
    if (!rel || relevantCount(rel) === 0) { excluded++; continue; }
    sum += metric(lists.get(u) ?? [], rel, k);
    users++;
  }
  return { mean: users > 0 ? sum / users : NaN, users, excluded };
}
