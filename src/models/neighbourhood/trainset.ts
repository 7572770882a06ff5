/**
 * The training view the neighbourhood models share (Surprise's Trainset): ratings by user and by
 * item as Csr, the global mean and the rating range. Indices are the Interactions' dense indices;
 * a user or item with no training rating is "unknown" (Surprise's knows_user / knows_item).
 */
import type { Interactions } from '../../data/interactions.js';
import { csrFromTriplets, transpose, type Csr } from '../../data/matrix.js';

export interface TrainSet {
  nUsers: number;
  nItems: number;
  /** users × items ratings */
  ur: Csr;
  /** items × users ratings */
  ir: Csr;
  nRatings: number;
  globalMean: number;
  ratingMin: number;
  ratingMax: number;
  implicit: boolean;
}

export function buildTrainSet(x: Interactions, model: string): TrainSet {
  const n = x.user.length;
  if (n === 0) throw new RangeError(`${model}: the training data is empty`);
  const nUsers = x.users.size, nItems = x.items.size;
  const ur = csrFromTriplets(nUsers, nItems, x.user, x.item, x.rating);
  const ir = transpose(ur);
  const total = ur.indptr[nUsers];
  let sum = 0, lo = Infinity, hi = -Infinity;
  for (let p = 0; p < total; p++) {
    const r = ur.data[p];
    sum += r;
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  return { nUsers, nItems, ur, ir, nRatings: total, globalMean: sum / total, ratingMin: lo, ratingMax: hi, implicit: x.implicit };
}

export function knowsUser(t: TrainSet, u: number): boolean {
  return u >= 0 && u < t.nUsers && t.ur.indptr[u + 1] > t.ur.indptr[u];
}

export function knowsItem(t: TrainSet, i: number): boolean {
  return i >= 0 && i < t.nItems && t.ir.indptr[i + 1] > t.ir.indptr[i];
}

/** Surprise's reason text for an unknown pair, or null when both are known. */
export function unknownReason(t: TrainSet, u: number, i: number): string | null {
  const ku = knowsUser(t, u), ki = knowsItem(t, i);
  if (ku && ki) return null;
  return !ku && !ki ? 'user and item unknown' : !ku ? 'user unknown' : 'item unknown';
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
