/**
 * Beyond-accuracy metrics of recommendation lists (each list: item indices, best first; ids < 0
 * and repeats are skipped, only the first k entries are read).
 *
 *   catalogue coverage   = |∪_u L_u| / nItems                       (share of the catalogue ever recommended)
 *   intra-list diversity = 1 − (2 / (n(n−1))) Σ_{a<b ∈ L} sim(a, b)  (1 − mean pairwise similarity; n = |L| ≥ 2)
 *   novelty              = (1/n) Σ_{i ∈ L} −log2(pop(i) / nUsers)    (mean self-information; pop(i) = distinct
 *                          training users of i, counted as at least 1 so an unseen item has the finite maximum
 *                          log2(nUsers))
 *   popularity bias      = (1/n) Σ_{i ∈ L} pct(i)                    (mean popularity percentile, 0–100)
 *       pct(i) = 100 · (#{j : pop(j) < pop(i)} + ½ #{j ≠ i : pop(j) = pop(i)}) / (nItems − 1)
 *       (mid-rank over the other catalogue items: the least popular item is near 0, the most popular 100)
 *
 * Averages over users (summarizeBeyondAccuracy) take users with a non-empty list; diversity needs
 * at least 2 items and users with shorter lists are excluded from it and counted.
 */
import type { Interactions } from '../data/interactions.js';
import { toCsr } from '../data/interactions.js';
import { checkK, topOf } from './rankingMetrics.js';

export type ItemSimilarity = (a: number, b: number) => number;

/** pop(i): the number of distinct training users of each item (length = items.size). */
export function itemPopularity(train: Interactions): Float64Array {
  const m = toCsr(train, 'item');
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = m.indptr[i + 1] - m.indptr[i];
  return out;
}

/** Users with at least one training interaction (the denominator of novelty). */
export function activeUsers(train: Interactions): number {
  const seen = new Uint8Array(train.users.size);
  let n = 0;
  for (let p = 0; p < train.user.length; p++) if (!seen[train.user[p]]) { seen[train.user[p]] = 1; n++; }
  return n;
}

/** pct(i) for every item (see the module comment). */
export function popularityPercentiles(pop: ArrayLike<number>): Float64Array {
  const n = pop.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  if (n === 1) { out[0] = 50; return out; }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => pop[a] - pop[b]);
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && pop[order[e + 1]] === pop[order[s]]) e++;
    // items order[s..e] tie: s items are strictly less popular, e − s others are equal
    const v = (100 * (s + 0.5 * (e - s))) / (n - 1);
    for (let t = s; t <= e; t++) out[order[t]] = v;
    s = e + 1;
  }
  return out;
}

/** Share of the catalogue that appears in at least one top-k list. */
export function catalogueCoverage(lists: Iterable<ArrayLike<number>>, nItems: number, k?: number): number {
  if (!Number.isInteger(nItems) || nItems <= 0) throw new RangeError(`nItems must be a positive integer, got ${nItems}`);
  if (k !== undefined) checkK(k);
  const seen = new Set<number>();
  for (const l of lists) for (const i of topOf(l, k ?? Infinity)) {
    if (i >= nItems) throw new RangeError(`item ${i} out of range [0, ${nItems})`);
    seen.add(i);
  }
  return seen.size / nItems;
}

/** 1 − mean pairwise similarity of the top-k list; a RangeError for fewer than 2 items. */
export function intraListDiversity(list: ArrayLike<number>, sim: ItemSimilarity, k?: number): number {
  if (k !== undefined) checkK(k);
  const l = topOf(list, k ?? Infinity);
  if (l.length < 2) throw new RangeError(`intra-list diversity needs at least 2 items, the list has ${l.length}`);
  let s = 0, pairs = 0;
  for (let a = 0; a < l.length; a++) for (let b = a + 1; b < l.length; b++) { s += sim(l[a], l[b]); pairs++; }
  return 1 - s / pairs;
}

/** Mean self-information −log2(pop(i)/nUsers) of the top-k list (pop clamped to ≥ 1). */
export function novelty(list: ArrayLike<number>, pop: ArrayLike<number>, nUsers: number, k?: number): number {
  if (!(nUsers >= 1)) throw new RangeError(`nUsers must be ≥ 1, got ${nUsers}`);
  if (k !== undefined) checkK(k);
  const l = topOf(list, k ?? Infinity);
  if (l.length === 0) throw new RangeError('novelty of an empty list is undefined');
  let s = 0;
  for (const i of l) {
    if (i >= pop.length) throw new RangeError(`item ${i} out of range [0, ${pop.length})`);
    s += -Math.log2(Math.max(pop[i], 1) / nUsers);
  }
  return s / l.length;
}

/** Mean popularity percentile (0–100) of the top-k list; `percentiles` from popularityPercentiles(pop). */
export function popularityBias(list: ArrayLike<number>, percentiles: ArrayLike<number>, k?: number): number {
  if (k !== undefined) checkK(k);
  const l = topOf(list, k ?? Infinity);
  if (l.length === 0) throw new RangeError('popularity bias of an empty list is undefined');
  let s = 0;
  for (const i of l) {
    if (i >= percentiles.length) throw new RangeError(`item ${i} out of range [0, ${percentiles.length})`);
    s += percentiles[i];
  }
  return s / l.length;
}

export interface BeyondAccuracyOptions {
  k: number;
  nItems: number;
  /** pop(i) per item, e.g. itemPopularity(train) */
  popularity: ArrayLike<number>;
  /** users of the training data, e.g. activeUsers(train) */
  nUsers: number;
  /** item-item similarity for diversity (e.g. ContentKNN#itemSimilarity, or cosine of factors); no diversity without */
  similarity?: ItemSimilarity;
}

export interface BeyondAccuracyResult {
  coverage: number;
  novelty: number;
  popularityBias: number;
  /** absent without a similarity */
  diversity?: number;
  /** users with a non-empty list */
  users: number;
  /** users with an empty list (excluded) */
  emptyLists: number;
  /** users excluded from diversity for lists shorter than 2 */
  diversityExcluded: number;
}

/** The beyond-accuracy metrics of many users' lists, averaged over users (see the module comment). */
export function summarizeBeyondAccuracy(lists: Map<number, ArrayLike<number>>, o: BeyondAccuracyOptions): BeyondAccuracyResult {
  checkK(o.k);
  const pct = popularityPercentiles(o.popularity);
  let nov = 0, bias = 0, div = 0, users = 0, empty = 0, divUsers = 0, divExcluded = 0;
  for (const list of lists.values()) {
    const l = topOf(list, o.k);
    if (l.length === 0) { empty++; continue; }
    users++;
    nov += novelty(l, o.popularity, o.nUsers);
    bias += popularityBias(l, pct);
    if (o.similarity) {
      if (l.length < 2) divExcluded++;
      else { div += intraListDiversity(l, o.similarity); divUsers++; }
    }
  }
  if (users === 0) throw new RangeError('no user has a non-empty recommendation list');
  const out: BeyondAccuracyResult = {
    coverage: catalogueCoverage(lists.values(), o.nItems, o.k),
    novelty: nov / users,
    popularityBias: bias / users,
    users,
    emptyLists: empty,
    diversityExcluded: divExcluded,
  };
  if (o.similarity) out.diversity = divUsers > 0 ? div / divUsers : NaN;
  return out;
}

/**
 * Cosine similarity of two items' binary interaction vectors in `train` (the users who interacted
 * with each): sim(a, b) = |U_a ∩ U_b| / √(|U_a|·|U_b|), 0 when either has no user. The item
 * similarity evaluate.ts uses for diversity@k, the same for every model. Pairs are memoised.
 */
export function interactionCosine(train: Interactions): ItemSimilarity {
  const m = toCsr(train, 'item');
  const rows: Int32Array[] = [];
  for (let i = 0; i < m.rows; i++) {
    const r = Int32Array.from(m.indices.subarray(m.indptr[i], m.indptr[i + 1])).sort();
    // distinct users only (a repeated interaction counts once)
    let w = 0;
    for (let p = 0; p < r.length; p++) if (p === 0 || r[p] !== r[p - 1]) r[w++] = r[p];
    rows.push(r.subarray(0, w));
  }
  const memo = new Map<number, number>();
  const n = m.rows;
  return (a, b) => {
    if (a === b) return rows[a]?.length ? 1 : 0;
    if (a > b) { const t = a; a = b; b = t; }
    if (a < 0 || b >= n) throw new RangeError(`item ${b >= n ? b : a} out of range [0, ${n})`);
    const key = a * n + b;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const x = rows[a], y = rows[b];
    let v = 0;
    if (x.length && y.length) {
      let common = 0;
      for (let p = 0, q = 0; p < x.length && q < y.length; ) {
        if (x[p] === y[q]) { common++; p++; q++; } else if (x[p] < y[q]) p++; else q++;
      }
      v = common / Math.sqrt(x.length * y.length);
    }
    memo.set(key, v);
    return v;
  };
}
