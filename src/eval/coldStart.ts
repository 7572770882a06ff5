/**
 * Cold-start analysis: how a model does for users (or items) by the length of their training
 * history, and a protocol that makes a share of users entirely new.
 *
 * Buckets by the number of distinct training items of a user (or distinct training users of an
 * item): '0', '1-5', '6-20', '21-50', '>50'.
 *
 * evaluateColdStart(model, train, test, {k, by}) scores a FITTED model per bucket:
 *   by 'user' (default): each test user lands in the bucket of their training history length;
 *     relevant(u) = u's test items (rating ≥ minRating when given), and the user's top-k list
 *     (training items filtered) is scored with every metric; the bucket's value is the mean over
 *     its users. Users whose relevant set is empty are excluded and counted.
 *   by 'item': for bucket B, relevant(u) = u's relevant test items whose training popularity falls
 *     in B; the same top-k list is scored against it (so recall/hit rate read "how well are items
 *     of this popularity found"); users with no relevant item in B are left out of B.
 * Metrics (keys of `mean`): precision, recall, ndcg (binary; the evaluation module's definitions),
 * hitRate, f1, map, mrr, auc (rankingMetrics.ts); ndcgGraded (exponential gain = the test rating)
 * on explicit data. Output, ready for JSON:
 *   { k, by, coldStart: [{ bucket, users, excluded, mean: { precision: …, … } }] }
 * (all five buckets, in order; a bucket without users has users 0 and null values).
 *
 * removeUsersProtocol(x, {fraction: 0.1, seed}) → {train, test, removedUsers}: a seeded random
 * `fraction` of the users (those with interactions) have ALL their interactions moved to test, so
 * they are new at test time (bucket '0'). With warmRatio > 0, that share of every other user's
 * interactions (rounded, at least one kept in train) is held out too, so the report also has warm
 * buckets to compare against.
 */
import type { Interactions } from '../data/interactions.js';
import { interactionCount } from '../data/interactions.js';
import { splitByMask, groupByUser, type Split } from '../data/splits.js';
import { Rng } from '../data/random.js';
import { contextOf, type RunContext } from '../engine/context.js';
import type { Model } from '../models/types.js';
import { precisionAtK, recallAtK, ndcgAtK } from './metrics.js';
import { aucAtK, averagePrecisionAtK, checkK, f1AtK, hitRateAtK, ndcgGradedAtK, reciprocalRankAtK, type Relevance } from './rankingMetrics.js';

export const COLD_START_BUCKETS = [
  { bucket: '0', min: 0, max: 0 },
  { bucket: '1-5', min: 1, max: 5 },
  { bucket: '6-20', min: 6, max: 20 },
  { bucket: '21-50', min: 21, max: 50 },
  { bucket: '>50', min: 51, max: Infinity },
] as const;

export type BucketName = (typeof COLD_START_BUCKETS)[number]['bucket'];

export function bucketOf(historyLength: number): BucketName {
  for (const b of COLD_START_BUCKETS) if (historyLength >= b.min && historyLength <= b.max) return b.bucket;
  throw new RangeError(`history length must be ≥ 0, got ${historyLength}`);
}

/** Distinct training items per user (by 'user') or distinct training users per item (by 'item'), over the whole id map. */
export function historyLengths(train: Interactions, by: 'user' | 'item' = 'user'): Int32Array {
  const n = by === 'user' ? train.users.size : train.items.size;
  const out = new Int32Array(n);
  const seen = new Set<number>();
  const nI = train.items.size;
  for (let p = 0; p < train.user.length; p++) {
    const key = train.user[p] * nI + train.item[p];
    if (seen.has(key)) continue;
    seen.add(key);
    out[by === 'user' ? train.user[p] : train.item[p]]++;
  }
  return out;
}

export interface ColdStartBucket {
  bucket: BucketName;
  /** test users (by 'user') or test items (by 'item') in the bucket, ascending indices */
  members: number[];
}

/** Test users (or test items) grouped by their training history length. All five buckets, in order. */
export function coldStartBuckets(train: Interactions, test: Interactions, o: { by?: 'user' | 'item' } = {}): ColdStartBucket[] {
  const by = o.by ?? 'user';
  if (train.users !== test.users || train.items !== test.items) throw new RangeError('train and test must share their id maps (take both from one split)');
  if (interactionCount(test) === 0) throw new RangeError('the test set is empty');
  const len = historyLengths(train, by);
  const ids = new Set<number>(by === 'user' ? test.user : test.item);
  const out: ColdStartBucket[] = COLD_START_BUCKETS.map((b) => ({ bucket: b.bucket, members: [] }));
  for (const id of [...ids].sort((a, b) => a - b)) out[COLD_START_BUCKETS.findIndex((b) => b.bucket === bucketOf(len[id]))].members.push(id);
  return out;
}

const COLD_START_METRICS = ['precision', 'recall', 'ndcg', 'hitRate', 'f1', 'map', 'mrr', 'auc', 'ndcgGraded'] as const;
export type ColdStartMetric = (typeof COLD_START_METRICS)[number];

function metricValue(name: ColdStartMetric, rec: ArrayLike<number>, rel: Set<number>, graded: Map<number, number>, k: number): number {
  switch (name) {
    case 'precision': return precisionAtK(rec, rel, k);
    case 'recall': return recallAtK(rec, rel, k);
    case 'ndcg': return ndcgAtK(rec, rel, k);
    case 'hitRate': return hitRateAtK(rec, rel, k);
    case 'f1': return f1AtK(rec, rel, k);
    case 'map': return averagePrecisionAtK(rec, rel, k);
    case 'mrr': return reciprocalRankAtK(rec, rel, k);
    case 'auc': return aucAtK(rec, rel as Relevance, k);
    case 'ndcgGraded': return ndcgGradedAtK(rec, graded, k);
  }
}

/** The report's options; the context (engine, backend, signal) runs the model's fit and recommend. */
export interface ColdStartOptions extends RunContext {
  /** list length (default 10) */
  k?: number;
  by?: 'user' | 'item';
  /** metrics to compute (default: all; ndcgGraded only on explicit data) */
  metrics?: ColdStartMetric[];
  /** a test interaction is relevant when its rating ≥ minRating (default: every test interaction) */
  minRating?: number;
}

export interface ColdStartRow {
  bucket: BucketName;
  /** users averaged in this bucket */
  users: number;
  /** users of the bucket left out for an empty relevant set */
  excluded: number;
  mean: Record<string, number | null>;
}

export interface ColdStartReport {
  k: number;
  by: 'user' | 'item';
  coldStart: ColdStartRow[];
}

/** Per-bucket metrics of a fitted model (see the module comment). */
export function evaluateColdStart(model: Model, train: Interactions, test: Interactions, o: ColdStartOptions = {}): ColdStartReport {
  const k = o.k ?? 10;
  checkK(k);
  const by = o.by ?? 'user';
  if (by !== 'user' && by !== 'item') throw new RangeError(`by must be 'user' or 'item', got '${String(by)}'`);
  const buckets = coldStartBuckets(train, test, { by });
  const metrics = (o.metrics ?? COLD_START_METRICS.filter((m) => m !== 'ndcgGraded' || !test.implicit)) as ColdStartMetric[];
  for (const m of metrics) if (!COLD_START_METRICS.includes(m)) throw new RangeError(`unknown cold-start metric '${m}' (${COLD_START_METRICS.join('|')})`);
  // relevant test items per user, with the rating as graded gain
  const graded = new Map<number, Map<number, number>>();
  const testUsers = new Set<number>();
  for (let p = 0; p < test.user.length; p++) {
    const u = test.user[p];
    testUsers.add(u);
    if (o.minRating !== undefined && test.rating[p] < o.minRating) continue;
    let g = graded.get(u);
    if (!g) graded.set(u, (g = new Map()));
    g.set(test.item[p], Math.max(g.get(test.item[p]) ?? 0, test.rating[p]));
  }
  const lists = new Map<number, Int32Array>();
  const listOf = (u: number): Int32Array => {
    let l = lists.get(u);
    if (!l) lists.set(u, (l = model.recommend(u, k, { ...contextOf(o), filterSeen: true }).ids));
    return l;
  };
  const itemBucket = by === 'item' ? historyLengths(train, 'item') : null;
  const rows: ColdStartRow[] = [];
  for (const b of buckets) {
    const sums = new Float64Array(metrics.length);
    let users = 0, excluded = 0;
    const score = (u: number, g: Map<number, number>): void => {
      const rel = new Set<number>();
      for (const [i, v] of g) if (v > 0) rel.add(i);
      if (rel.size === 0) { excluded++; return; }
      const rec = listOf(u);
      metrics.forEach((m, j) => { sums[j] += metricValue(m, rec, rel, g, k); });
      users++;
    };
    if (by === 'user') {
      for (const u of b.members) score(u, graded.get(u) ?? new Map());
    } else {
      const inBucket = new Set(b.members);
      for (const u of [...testUsers].sort((x, y) => x - y)) {
        const g = new Map<number, number>();
        for (const [i, v] of graded.get(u) ?? []) if (inBucket.has(i) && bucketOf(itemBucket![i]) === b.bucket) g.set(i, v);
        if (g.size > 0) score(u, g);
      }
    }
    const mean: Record<string, number | null> = {};
    metrics.forEach((m, j) => { mean[m] = users > 0 ? sums[j] / users : null; });
    rows.push({ bucket: b.bucket, users, excluded, mean });
  }
  return { k, by, coldStart: rows };
}

export interface RemoveUsersOptions {
  /** share of users made new (default 0.1) */
  fraction?: number;
  seed: number;
  /** share of each remaining user's interactions also held out (default 0) */
  warmRatio?: number;
}

/** The new-user protocol (see the module comment). */
export function removeUsersProtocol(x: Interactions, o: RemoveUsersOptions): Split & { removedUsers: Int32Array } {
  const fraction = o.fraction ?? 0.1;
  const warm = o.warmRatio ?? 0;
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`fraction must be in (0, 1), got ${fraction}`);
  if (!(warm >= 0 && warm < 1)) throw new RangeError(`warmRatio must be in [0, 1), got ${warm}`);
  if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
  const n = interactionCount(x);
  if (n === 0) throw new RangeError('cannot split an empty interaction set');
  const { start, order } = groupByUser(x);
  const active: number[] = [];
  for (let u = 0; u < x.users.size; u++) if (start[u + 1] > start[u]) active.push(u);
  const nRemove = Math.round(active.length * fraction);
  if (nRemove === 0) throw new RangeError(`fraction ${fraction} of ${active.length} users rounds to 0 users`);
  if (nRemove >= active.length) throw new RangeError(`fraction ${fraction} would remove all ${active.length} users`);
  const rng = new Rng(o.seed);
  const perm = rng.shuffle(Int32Array.from(active));
  const removed = perm.slice(0, nRemove).sort();
  const isRemoved = new Uint8Array(x.users.size);
  for (const u of removed) isRemoved[u] = 1;
  const mask = new Uint8Array(n);
  for (const u of active) {
    const a = start[u], e = start[u + 1];
    if (isRemoved[u]) { for (let q = a; q < e; q++) mask[order[q]] = 1; continue; }
    if (warm > 0) {
      const count = e - a;
      const hold = Math.min(Math.round(count * warm), count - 1);
      if (hold <= 0) continue;
      const pos = rng.shuffle(order.slice(a, e));
      for (let q = 0; q < hold; q++) mask[pos[q]] = 1;
    }
  }
  return { ...splitByMask(x, mask), removedUsers: removed };
}

/**
 * The whole new-user experiment in one call: removeUsersProtocol, fit the model on train,
 * evaluateColdStart on test. Returns the report plus the number of removed users.
 */
export async function runColdStartProtocol(model: Model, x: Interactions, o: RemoveUsersOptions & ColdStartOptions): Promise<ColdStartReport & { removedUsers: number }> {
  const split = removeUsersProtocol(x, o);
  await model.fit(split.train, contextOf(o));
  return { ...evaluateColdStart(model, split.train, split.test, o), removedUsers: split.removedUsers.length };
}
