/**
 * Users' interaction histories as item sequences in time order, and the training examples the
 * neural models draw from them.
 *
 *   order within a user: by timestamp, ties by input position (later position = later); by input
 *   position alone when the interactions have no timestamps
 *
 * `holdOut` removes held-out interactions (a validation set) from the sequences: each held-out
 * (user, item) removes that user's latest occurrence of the item. The models train on what is
 * left and stop early on their ranking of the held-out items; the full sequences stay the input
 * of the final user representations.
 */
import type { Interactions } from '../../data/interactions.js';
import { csrFromTriplets, type Csr } from '../../data/matrix.js';

/** Row u = user u's items in time order: items[indptr[u] … indptr[u+1]). */
export interface Sequences {
  indptr: Int32Array;
  items: Int32Array;
}

export function sequenceOf(s: Sequences, u: number): Int32Array {
  return u + 1 < s.indptr.length ? s.items.subarray(s.indptr[u], s.indptr[u + 1]) : new Int32Array(0);
}

export function sequenceLength(s: Sequences, u: number): number {
  return u + 1 < s.indptr.length ? s.indptr[u + 1] - s.indptr[u] : 0;
}

/** The time-ordered item sequence of every user index in [0, nUsers). */
export function userSequences(x: Interactions, nUsers: number): Sequences {
  const n = x.user.length, ts = x.timestamp;
  const indptr = new Int32Array(nUsers + 1);
  for (let p = 0; p < n; p++) indptr[x.user[p] + 1]++;
  for (let u = 0; u < nUsers; u++) indptr[u + 1] += indptr[u];
  const cursor = indptr.slice(0, nUsers);
  const pos = new Int32Array(n);
  for (let p = 0; p < n; p++) pos[cursor[x.user[p]]++] = p;
  if (ts) {
    for (let u = 0; u < nUsers; u++) pos.subarray(indptr[u], indptr[u + 1]).sort((a, b) => ts[a] - ts[b] || a - b);
  }
  const items = new Int32Array(n);
  for (let k = 0; k < n; k++) items[k] = x.item[pos[k]];
  return { indptr, items };
}

export interface HeldOut {
  /** the sequences without the held-out interactions */
  train: Sequences;
  /** per user, the held-out items (only users that have some) */
  items: Map<number, Int32Array>;
  /** held-out interactions that matched nothing in the sequences (not a training interaction) */
  unmatched: number;
}

/** Remove `held` (user, item pairs on the same indices) from `s` (see the module comment). */
export function holdOut(s: Sequences, user: ArrayLike<number>, item: ArrayLike<number>): HeldOut {
  const nUsers = s.indptr.length - 1;
  const drop = new Uint8Array(s.items.length);
  const items = new Map<number, number[]>();
  let unmatched = 0;
  for (let t = 0; t < user.length; t++) {
    const u = user[t], i = item[t];
    let at = -1;
    if (u >= 0 && u < nUsers) {
      for (let p = s.indptr[u + 1] - 1; p >= s.indptr[u]; p--) if (s.items[p] === i && !drop[p]) { at = p; break; }
    }
    if (at < 0) { unmatched++; continue; }
    drop[at] = 1;
    if (!items.has(u)) items.set(u, []);
    items.get(u)!.push(i);
  }
  const indptr = new Int32Array(nUsers + 1), kept = new Int32Array(s.items.length);
  let w = 0;
  for (let u = 0; u < nUsers; u++) {
    for (let p = s.indptr[u]; p < s.indptr[u + 1]; p++) if (!drop[p]) kept[w++] = s.items[p];
    indptr[u + 1] = w;
  }
  const out = new Map<number, Int32Array>();
  for (const [u, l] of items) out.set(u, Int32Array.from(l));
  return { train: { indptr, items: kept.slice(0, w) }, items: out, unmatched };
}

/** Each user's last item as the held-out set (users with at least `minLength` items), for a validation split of one's own. */
export function lastItems(s: Sequences, minLength: number): { user: Int32Array; item: Int32Array } {
  const user: number[] = [], item: number[] = [];
  for (let u = 0; u + 1 < s.indptr.length; u++) {
    if (s.indptr[u + 1] - s.indptr[u] >= minLength) { user.push(u); item.push(s.items[s.indptr[u + 1] - 1]); }
  }
  return { user: Int32Array.from(user), item: Int32Array.from(item) };
}

/**
 * users × items CSR (sorted, duplicates merged) of the items in each user's training sequence,
 * less the user's held-out items: the items validation excludes from a user's ranking. An item the
 * user also consumed before the held-out one (a repeat) stays a candidate, as in the evaluation
 * protocols; excluded, its target could never be ranked and would score 0.
 */
export function seenExceptHeld(seq: Sequences, nUsers: number, nItems: number, held: ReadonlyMap<number, ArrayLike<number>>): Csr {
  const n = seq.items.length;
  const user = new Int32Array(n), item = new Int32Array(n);
  let w = 0;
  for (let u = 0; u < nUsers; u++) {
    const h = held.get(u);
    for (let p = seq.indptr[u]; p < seq.indptr[u + 1]; p++) {
      const i = seq.items[p];
      if (h && Array.prototype.includes.call(h, i)) continue;
      user[w] = u; item[w] = i; w++;
    }
  }
  return csrFromTriplets(nUsers, nItems, user.subarray(0, w), item.subarray(0, w), new Float32Array(w).fill(1));
}
