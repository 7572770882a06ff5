/**
 * Seeded synthetic interaction data with the shape of real rating logs:
 *
 * - item popularity is Zipf: the item at popularity rank r is drawn with p ∝ 1/(r+1)^zipf
 *   (ranks are assigned to items by a random permutation, so ids are not sorted by popularity);
 *   a user draws items until it has its count of distinct ones (sampling without replacement,
 *   so the head of the popularity curve saturates when a user's count × p(top item) nears 1);
 * - per-user activity is heavy-tailed (log-normal weights), clamped to [minPerUser, maxPerUser]
 *   and scaled so the counts add up to exactly `interactions`;
 * - explicit ratings are round(clamp(μ + b_u + b_i + p_u·q_i + ε, 1, 5)) with a rank-`factors`
 *   signal, so models have something to learn; implicit weights are 1;
 * - each user is active over a random window of the timeline; interactions are emitted in time
 *   order (a counting sort by time bucket), so the timestamp column is strictly increasing.
 *
 * Memory: the output arrays, O(users × factors + items × factors) for the latent factors and
 * an items-long stamp array for the per-user duplicate check. Same options → identical arrays.
 */
import { IdMap } from './idMap.js';
import type { Interactions } from './interactions.js';
import { Rng, permutation, sampleCdf, zipfCdf } from './random.js';
import { writeTextFile } from './readers.js';

export interface SyntheticOptions {
  users: number;
  items: number;
  interactions: number;
  /** Zipf exponent of item popularity (0 = uniform); default 1 */
  zipf?: number;
  /** ratings 1–5 (default) or implicit weights 1 */
  explicit?: boolean;
  seed?: number;
  /** fewest interactions per user; default max(1, round(mean / 5)) */
  minPerUser?: number;
  /** most interactions per user; default min(items, max(ceil(mean × 20), minPerUser)) */
  maxPerUser?: number;
  /** rank of the latent signal in explicit ratings; default 8 */
  factors?: number;
}

/** First timestamp (2000-01-01T00:00:00Z, seconds) and the timeline's length (10 years). */
const T0 = 946684800;
const SPAN = 10 * 365 * 86400;
const TIME_BUCKETS = 1 << 16;

function positiveInt(v: number, name: string): number {
  if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be an integer ≥ 1, got ${v}`);
  return v;
}

/** Per-user interaction counts: heavy-tailed, within [min, max], summing to exactly total. */
function userCounts(users: number, total: number, min: number, max: number, rng: Rng): Int32Array {
  const w = new Float64Array(users);
  for (let u = 0; u < users; u++) w[u] = Math.exp(1.2 * rng.normal());
  // find scale s with Σ clamp(min + s·w_u, min, max) = total (monotone in s: bisection)
  const sumAt = (s: number): number => {
    let acc = 0;
    for (let u = 0; u < users; u++) acc += Math.min(max, min + s * w[u]);
    return acc;
  };
  let lo = 0, hi = 1;
  while (sumAt(hi) < total && hi < 1e300) hi *= 2;
  for (let it = 0; it < 100 && hi - lo > 1e-12 * hi; it++) {
    const mid = (lo + hi) / 2;
    if (sumAt(mid) < total) lo = mid;
    else hi = mid;
  }
  const c = new Int32Array(users);
  let acc = 0;
  for (let u = 0; u < users; u++) { c[u] = Math.floor(Math.min(max, min + hi * w[u])); acc += c[u]; }
  // hand out (or take back) the rounding remainder one at a time over users in random order
  let diff = total - acc;
  const order = permutation(users, rng);
  while (diff !== 0) {
    for (let k = 0; k < users && diff !== 0; k++) {
      const u = order[k];
      if (diff > 0 && c[u] < max) { c[u]++; diff--; }
      else if (diff < 0 && c[u] > min) { c[u]--; diff++; }
    }
  }
  return c;
}

/**
 * k distinct items for one user, drawn by popularity without replacement, into out[0..k).
 * stamp[item] === tag marks items already taken (tag is unique per user, so stamp never needs clearing).
 */
function drawItems(k: number, cdf: Float64Array, rankToItem: Int32Array, stamp: Int32Array, tag: number, rng: Rng, out: Int32Array, keys: Float64Array, zipf: number): void {
  const I = cdf.length;
  let got = 0;
  if (k * 4 <= I) {
    // rejection: draw until k distinct; bounded, then fall through to the exact method
    const maxDraws = 30 * k + 1000;
    for (let d = 0; d < maxDraws && got < k; d++) {
      const it = rankToItem[sampleCdf(cdf, rng.next())];
      if (stamp[it] !== tag) { stamp[it] = tag; out[got++] = it; }
    }
    if (got === k) return;
    for (let j = 0; j < got; j++) stamp[out[j]] = tag - 1; // restart below with the same distribution
    got = 0;
  }
  // successive sampling without replacement by exponential keys (Efraimidis–Spirakis):
  // key_r = -ln(U)/w_r, take the k smallest. Same distribution as drawing until k distinct.
  for (let r = 0; r < I; r++) keys[r] = -Math.log(rng.nextOpen()) * Math.pow(r + 1, zipf);
  const t = kthSmallest(keys, k);
  for (let r = 0; r < I && got < k; r++) if (keys[r] <= t) { const it = rankToItem[r]; stamp[it] = tag; out[got++] = it; }
}

/** The k-th smallest value (1-based) of a, without modifying it. */
function kthSmallest(a: Float64Array, k: number): number {
  const b = a.slice();
  let lo = 0, hi = b.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = b[(lo + hi) >>> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (b[i] < pivot) i++;
      while (b[j] > pivot) j--;
      if (i <= j) { const t = b[i]; b[i] = b[j]; b[j] = t; i++; j--; }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return b[target];
  }
  return b[target];
}

/** Generate a synthetic interaction table (see the module comment). */
export function generateInteractions(o: SyntheticOptions): Interactions {
  const U = positiveInt(o.users, 'users');
  const I = positiveInt(o.items, 'items');
  const N = positiveInt(o.interactions, 'interactions');
  const zipf = o.zipf ?? 1.0;
  const explicit = o.explicit ?? true;
  const seed = o.seed ?? 42;
  const F = o.factors ?? 8;
  if (!(zipf >= 0 && Number.isFinite(zipf))) throw new RangeError(`zipf must be ≥ 0, got ${zipf}`);
  if (!(Number.isInteger(F) && F >= 0)) throw new RangeError(`factors must be an integer ≥ 0, got ${F}`);
  if (N > U * I) throw new RangeError(`interactions (${N}) exceeds users × items (${U * I})`);
  const mean = N / U;
  const min = o.minPerUser ?? Math.max(1, Math.min(Math.floor(mean), Math.round(mean / 5)));
  const max = o.maxPerUser ?? Math.min(I, Math.max(Math.ceil(mean * 20), min));
  if (!(Number.isInteger(min) && min >= 1)) throw new RangeError(`minPerUser must be an integer ≥ 1, got ${min}`);
  if (!(Number.isInteger(max) && max >= min)) throw new RangeError(`maxPerUser must be an integer ≥ minPerUser (${min}), got ${max}`);
  if (max > I) throw new RangeError(`maxPerUser (${max}) exceeds items (${I}): a user cannot have more distinct items than exist`);
  if (U * min > N || U * max < N) throw new RangeError(`interactions (${N}) must lie within users × [minPerUser, maxPerUser] = [${U * min}, ${U * max}]`);

  const rng = new Rng(seed);
  const rankToItem = permutation(I, rng);
  const cdf = zipfCdf(I, zipf);
  const counts = userCounts(U, N, min, max, rng);

  // latent model for explicit ratings: var(p·q) = F σ⁴ = 0.36 → std 0.6
  const mu = 3.5;
  const sigma = F > 0 ? Math.pow(0.36 / F, 0.25) : 0;
  let bu: Float32Array | null = null, bi: Float32Array | null = null, P: Float32Array | null = null, Q: Float32Array | null = null;
  if (explicit) {
    bu = new Float32Array(U); bi = new Float32Array(I);
    P = new Float32Array(U * F); Q = new Float32Array(I * F);
    for (let u = 0; u < U; u++) bu[u] = 0.35 * rng.normal();
    // popular items rate a little higher, as in real data
    const itemRank = new Int32Array(I);
    for (let r = 0; r < I; r++) itemRank[rankToItem[r]] = r;
    for (let i = 0; i < I; i++) bi[i] = 0.45 * rng.normal() + 0.25 * (1 - (2 * itemRank[i]) / Math.max(1, I - 1));
    for (let k = 0; k < U * F; k++) P[k] = sigma * rng.normal();
    for (let k = 0; k < I * F; k++) Q[k] = sigma * rng.normal();
  }

  // activity windows [s_u, e_u) ⊂ [0, 1) of the timeline; event j of user u is at
  // s_u + (e_u - s_u)(j + 0.5)/c_u, in time bucket floor(· × B)
  const wStart = new Float64Array(U), wLen = new Float64Array(U);
  for (let u = 0; u < U; u++) {
    const s = rng.next();
    const v = rng.next();
    wStart[u] = s;
    wLen[u] = (1 - s) * v * v;
  }
  const B = TIME_BUCKETS;
  const bucketOf = (u: number, j: number): number => {
    const f = wStart[u] + (wLen[u] * (j + 0.5)) / counts[u];
    const b = Math.floor(f * B);
    return b < B ? b : B - 1;
  };
  const cursor = new Float64Array(B + 1);
  for (let u = 0; u < U; u++) for (let j = 0, c = counts[u]; j < c; j++) cursor[bucketOf(u, j) + 1]++;
  for (let b = 0; b < B; b++) cursor[b + 1] += cursor[b];

  const user = new Int32Array(N), item = new Int32Array(N), rating = new Float32Array(N);
  const stamp = new Int32Array(I).fill(-1);
  const picked = new Int32Array(max);
  const keys = new Float64Array(I);
  for (let u = 0; u < U; u++) {
    const c = counts[u];
    drawItems(c, cdf, rankToItem, stamp, u, rng, picked, keys, zipf);
    // order of consumption is random, not by popularity
    for (let j = c - 1; j > 0; j--) { const r = rng.int(j + 1); const t = picked[j]; picked[j] = picked[r]; picked[r] = t; }
    for (let j = 0; j < c; j++) {
      const it = picked[j];
      const pos = cursor[bucketOf(u, j)]++;
      user[pos] = u;
      item[pos] = it;
      if (explicit) {
        let x = mu + bu![u] + bi![it];
        for (let f = 0, pu = u * F, qi = it * F; f < F; f++) x += P![pu + f] * Q![qi + f];
        x += 0.75 * rng.normal();
        rating[pos] = Math.round(x < 1 ? 1 : x > 5 ? 5 : x);
      } else rating[pos] = 1;
    }
  }

  // strictly increasing timestamps in output order, spread over the timeline
  const timestamp = new Float64Array(N);
  const span = Math.max(SPAN, N);
  for (let p = 0; p < N; p++) timestamp[p] = T0 + Math.floor((p * span) / N);

  const users = new IdMap(), items = new IdMap();
  for (let u = 0; u < U; u++) users.add('u' + u);
  for (let i = 0; i < I; i++) items.add('i' + i);
  return { users, items, user, item, rating, timestamp, implicit: !explicit };
}

/** CSV text chunks (`user,item,rating,timestamp`) of a generated table, ~1 MiB each. */
export function* syntheticCsvChunks(x: Interactions): Generator<string> {
  yield 'user,item,rating,timestamp\n';
  const n = x.user.length;
  const uText = x.users.ids() as readonly string[], iText = x.items.ids() as readonly string[];
  const ts = x.timestamp!;
  let buf = '';
  for (let p = 0; p < n; p++) {
    buf += uText[x.user[p]] + ',' + iText[x.item[p]] + ',' + x.rating[p] + ',' + ts[p] + '\n';
    if (buf.length >= 1 << 20) { yield buf; buf = ''; }
  }
  if (buf.length > 0) yield buf;
}

/** Generate and write as CSV (gzip when out ends with .gz). Same options → same bytes. */
export async function writeSyntheticCsv(o: SyntheticOptions & { out: string }): Promise<Interactions> {
  const x = generateInteractions(o);
  await writeTextFile(o.out, syntheticCsvChunks(x));
  return x;
}

/** The small default dataset used by `affinity demo`: 2000 users × 1000 items, 60 000 explicit ratings, seed 42. */
export function embeddedDataset(): Interactions {
  return generateInteractions({ users: 2000, items: 1000, interactions: 60000, zipf: 1.0, explicit: true, seed: 42 });
}
