/**
 * What the content/hybrid models need to know about each user's training history: the items
 * they interacted with (a users × items Csr, duplicates summed) and how many distinct items
 * that is. Indices beyond the training data (shared id maps) simply have an empty row.
 */
import { toCsr, type Interactions } from '../../data/interactions.js';
import type { Csr } from '../../data/matrix.js';
import type { IdMap } from '../../data/idMap.js';

export class UserHistory {
  readonly byUser: Csr;
  /** the (shared, live) user id map: users added to it after fit are valid, with no history */
  readonly userIds: IdMap;
  constructor(train: Interactions) {
    this.byUser = toCsr(train, 'user');
    this.userIds = train.users;
  }
  /** valid user indices: the id map's size now (≥ the size at fit time) */
  get users(): number { return Math.max(this.userIds.size, this.byUser.rows); }
  get items(): number { return this.byUser.cols; }
  /** number of distinct training items of user u (0 for unknown users) */
  length(u: number): number {
    if (u >= this.byUser.rows) return 0;
    return this.byUser.indptr[u + 1] - this.byUser.indptr[u];
  }
  forEach(u: number, f: (item: number, weight: number) => void): void {
    if (u >= this.byUser.rows) return;
    const m = this.byUser;
    for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) f(m.indices[p], m.data[p]);
  }
}

/** Throws a RangeError unless 0 ≤ index < size (an index of the model's id maps). */
export function checkIndex(model: string, what: 'user' | 'item', index: number, size: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`${model}: ${what} index ${index} out of range [0, ${size})`);
}

export function checkK(model: string, k: number): void {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`${model}: k must be a positive integer, got ${k}`);
}

/**
 * Candidate mask for recommend(): 1 where the item may be returned. Starts from opts.items
 * (or all items) and removes the user's training items when filterSeen (default true).
 */
export function candidateMask(model: string, history: UserHistory, u: number, nItems: number, opts: { filterSeen?: boolean; items?: ArrayLike<number> } = {}): Uint8Array {
  const mask = new Uint8Array(nItems);
  if (opts.items) {
    for (let j = 0; j < opts.items.length; j++) {
      const i = opts.items[j];
      checkIndex(model, 'item', i, nItems);
      mask[i] = 1;
    }
  } else mask.fill(1);
  if (opts.filterSeen !== false && u < history.users) history.forEach(u, (i) => { mask[i] = 0; });
  return mask;
}
