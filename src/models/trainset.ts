/**
 * The training view every model family shares (Surprise's Trainset), built once per fit: the
 * ratings by user (`ur`, users × items) and by item (`ir`, items × users) as Csr with sorted
 * columns (repeated pairs merged as csrFromTriplets merges them), the id maps, the number of
 * distinct items per user and users per item, the global mean μ = Σ r / nnz over `ur` and the
 * rating range.
 *
 * Indices are the Interactions' dense indices. A user or item with no training rating is
 * "unknown" (Surprise's knows_user / knows_item). Id maps are shared between a dataset and its
 * splits, so `users`/`items` may grow after fit: an index beyond `nUsers` is valid, with an
 * empty history.
 */
import type { Interactions } from '../data/interactions.js';
import type { IdMap } from '../data/idMap.js';
import type { Csr } from '../data/matrix.js';
import { buildCsr, transposeCsr } from '../data/csrBuild.js';

export class Trainset {
  readonly nUsers: number;
  readonly nItems: number;
  /** users × items ratings */
  readonly ur: Csr;
  /** items × users ratings (the transpose of ur) */
  readonly ir: Csr;
  readonly nRatings: number;
  readonly globalMean: number;
  readonly ratingMin: number;
  readonly ratingMax: number;
  /** distinct training items of each user */
  readonly userCount: Int32Array;
  /** distinct training users of each item */
  readonly itemCount: Int32Array;

  /** `ur` as given; the other fields are derived from it */
  constructor(ur: Csr, readonly users: IdMap, readonly items: IdMap, readonly implicit = false) {
    this.ur = ur;
    this.ir = transposeCsr(ur);
    this.nUsers = ur.rows;
    this.nItems = ur.cols;
    this.userCount = rowLengths(ur);
    this.itemCount = rowLengths(this.ir);
    const total = ur.indptr[ur.rows];
    let sum = 0, lo = Infinity, hi = -Infinity;
    for (let p = 0; p < total; p++) {
      const r = ur.data[p];
      sum += r;
      if (r < lo) lo = r;
      if (r > hi) hi = r;
    }
    this.nRatings = total;
    this.globalMean = sum / total;
    this.ratingMin = lo;
    this.ratingMax = hi;
  }

  /**
   * The training view of `x`, sharing its id maps (`copyIds`: with copies of them, for models
   * that add ids of their own). Empty training data is a RangeError naming the model.
   */
  static of(x: Interactions, model: string, o: { copyIds?: boolean } = {}): Trainset {
    if (x.user.length === 0) throw new RangeError(`${model}: the training data is empty`);
    const users = o.copyIds ? x.users.clone() : x.users;
    const items = o.copyIds ? x.items.clone() : x.items;
    return new Trainset(buildCsr(users.size, items.size, x.user, x.item, x.rating), users, items, x.implicit);
  }

  knowsUser(u: number): boolean {
    return u >= 0 && u < this.nUsers && this.userCount[u] > 0;
  }

  knowsItem(i: number): boolean {
    return i >= 0 && i < this.nItems && this.itemCount[i] > 0;
  }

  /** Surprise's reason text for an unknown pair, or null when both are known. */
  unknownReason(u: number, i: number): string | null {
    const ku = this.knowsUser(u), ki = this.knowsItem(i);
    if (ku && ki) return null;
    return !ku && !ki ? 'user and item unknown' : !ku ? 'user unknown' : 'item unknown';
  }

  /** The training items of user u, ascending (empty for an index beyond the training rows). */
  userItems(u: number): Int32Array {
    if (!(u >= 0 && u < this.nUsers)) return new Int32Array(0);
    return this.ur.indices.subarray(this.ur.indptr[u], this.ur.indptr[u + 1]);
  }
}

/** Stored entries per row. */
function rowLengths(m: Csr): Int32Array {
  const out = new Int32Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = m.indptr[r + 1] - m.indptr[r];
  return out;
}

/** Mean of each row's stored values (0 for an empty row). */
export function rowMeans(m: Csr): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    const a = m.indptr[r], b = m.indptr[r + 1];
    let s = 0;
    for (let p = a; p < b; p++) s += m.data[p];
    out[r] = b > a ? s / (b - a) : 0;
  }
  return out;
}

/** Population standard deviation of each row's stored values (0 for an empty row). */
export function rowStds(m: Csr, means: Float64Array): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    const a = m.indptr[r], b = m.indptr[r + 1];
    let s = 0;
    for (let p = a; p < b; p++) s += (m.data[p] - means[r]) ** 2;
    out[r] = b > a ? Math.sqrt(s / (b - a)) : 0;
  }
  return out;
}
