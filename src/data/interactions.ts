/**
 * A table of (user, item, rating[, timestamp]) interactions on dense indices,
 * with the IdMaps that turn them back into external ids.
 */
import { IdMap } from './idMap.js';
import type { Csr } from './matrix.js';
import { buildCsr } from './csrBuild.js';

export interface Interactions {
  users: IdMap;
  items: IdMap;
  /** dense user index per interaction */
  user: Int32Array;
  /** dense item index per interaction */
  item: Int32Array;
  /** rating, or weight (1 for implicit input) */
  rating: Float32Array;
  /** seconds (or whatever unit the input uses); absent when the input has none */
  timestamp?: Float64Array;
  /** true when the input had no rating column */
  implicit: boolean;
}

export function interactionCount(x: Interactions): number {
  return x.user.length;
}

/** users × items (by 'user') or items × users (by 'item') Csr of ratings. Duplicate pairs are summed. */
export function toCsr(x: Interactions, by: 'user' | 'item' = 'user'): Csr {
  return by === 'user'
    ? buildCsr(x.users.size, x.items.size, x.user, x.item, x.rating)
    : buildCsr(x.items.size, x.users.size, x.item, x.user, x.rating);
}

/** A subset of x by interaction positions, sharing x's id maps (so indices stay comparable across splits). */
export function subset(x: Interactions, positions: ArrayLike<number>): Interactions {
  const n = positions.length;
  const user = new Int32Array(n), item = new Int32Array(n), rating = new Float32Array(n);
  const timestamp = x.timestamp ? new Float64Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const p = positions[i];
    user[i] = x.user[p]; item[i] = x.item[p]; rating[i] = x.rating[p];
    if (timestamp) timestamp[i] = x.timestamp![p];
  }
  return { users: x.users, items: x.items, user, item, rating, timestamp, implicit: x.implicit };
}

/** The largest finite float32 (ratings are stored as float32: beyond it a value becomes ±Infinity). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Build Interactions from external-id triplets (tests, small inline data). A rating that is not a
 * finite number within float32 range, or a timestamp that is not finite, is a RangeError naming
 * the row: stored as it is, it would become ±Infinity or NaN and silently poison every score.
 */
export function fromTriplets(rows: Array<[string | number, string | number, number?, number?]>, implicit = false): Interactions {
  const users = new IdMap(), items = new IdMap();
  const n = rows.length;
  const user = new Int32Array(n), item = new Int32Array(n), rating = new Float32Array(n);
  const hasTs = rows.some((r) => r[3] !== undefined);
  const timestamp = hasTs ? new Float64Array(n) : undefined;
  rows.forEach(([u, i, r, t], k) => {
    if (r !== undefined && !(typeof r === 'number' && Math.abs(r) <= FLOAT32_MAX)) throw new RangeError(`fromTriplets: row ${k} (${String(u)}, ${String(i)}): rating ${String(r)} is not a number within the float32 range ±${FLOAT32_MAX}`);
    if (t !== undefined && !(typeof t === 'number' && Number.isFinite(t))) throw new RangeError(`fromTriplets: row ${k} (${String(u)}, ${String(i)}): timestamp ${String(t)} is not a finite number`);
    user[k] = users.add(u); item[k] = items.add(i); rating[k] = r ?? 1;
    if (timestamp) timestamp[k] = t ?? 0;
  });
  return { users, items, user, item, rating, timestamp, implicit };
}
