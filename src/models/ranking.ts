/**
 * Ranking, as every recommend path does it:
 *
 *   candidates(u) = opts.items (each checked to be an item index), or every item,
 *                   minus u's training items when opts.filterSeen (default true)
 *   top-k         = the k best (score, item) pairs over the candidates, best first; ties go
 *                   to the lower item index; NaN scores are never kept (TopKHeap's order);
 *                   any k is accepted, buffers are sized by min(k, catalogue size)
 *   padding       = kernel rows shorter than k end in id −1: the result is cut before them
 *
 * Scores computed in TypeScript go through `topKOf`; scores computed by the denseScoreTopK
 * kernel come back through `fromTopK`, with the seen items excluded by `excludeRows` or the
 * candidates restricted by `candidateList`.
 */
import type { Csr, TopK } from '../data/matrix.js';
import { TopKHeap } from '../kernels/topk.js';
import type { RecommendOptions, Recommendations } from './types.js';

export function checkK(model: string, k: number): void {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`${model}: k must be a positive integer, got ${k}`);
}

/** Throws a RangeError unless 0 ≤ index < size. */
export function checkIndex(model: string, what: 'user' | 'item', index: number, size: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`${model}: ${what} index ${index} out of range [0, ${size})`);
}

export function noRecommendations(): Recommendations {
  return { ids: new Int32Array(0), scores: new Float32Array(0) };
}

/** 1 where item i is a candidate of the call (see the module comment); `seen` = the user's training items. */
export function candidateMask(model: string, nItems: number, seen: ArrayLike<number>, opts: RecommendOptions): Uint8Array {
  const mask = new Uint8Array(nItems);
  if (opts.items) {
    for (let t = 0; t < opts.items.length; t++) {
      checkIndex(model, 'item', opts.items[t], nItems);
      mask[opts.items[t]] = 1;
    }
  } else mask.fill(1);
  if (opts.filterSeen ?? true) for (let t = 0; t < seen.length; t++) mask[seen[t]] = 0;
  return mask;
}

/** The candidates of a mask as an ascending item list. */
export function candidateList(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  const out = new Int32Array(n);
  for (let i = 0, w = 0; i < mask.length; i++) if (mask[i]) out[w++] = i;
  return out;
}

/**
 * The top k of score(i) over the items where mask is 1 (every index of the mask), or only over
 * `among` when given (e.g. the items a neighbour list touched).
 */
export function topKOf(k: number, score: (i: number) => number, mask: Uint8Array, among?: ArrayLike<number>): Recommendations {
  // at most every item is listed: a k beyond the catalogue (1e9) must not size the heap
  k = Math.min(k, mask.length);
  const heap = new TopKHeap(k);
  if (among) {
    for (let t = 0; t < among.length; t++) { const i = among[t]; if (mask[i]) heap.push(i, score(i)); }
  } else {
    for (let i = 0; i < mask.length; i++) if (mask[i]) heap.push(i, score(i));
  }
  const ids = new Int32Array(k), scores = new Float32Array(k);
  heap.drainInto(ids, scores, 0);
  let n = 0;
  while (n < k && ids[n] >= 0) n++;
  return { ids: ids.slice(0, n), scores: scores.slice(0, n) };
}

/**
 * Row `row` of a kernel's top-k without its padding; key t of the kernel is item map[t] when
 * the keys were a candidate list, and every score is shifted by `offset` (a per-user constant).
 */
export function fromTopK(top: TopK, row: number, map?: Int32Array, offset = 0): Recommendations {
  const o = row * top.k;
  let n = 0;
  while (n < top.k && top.ids[o + n] >= 0) n++;
  const ids = new Int32Array(n), scores = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    ids[t] = map ? map[top.ids[o + t]] : top.ids[o + t];
    scores[t] = top.scores[o + t] + offset;
  }
  return { ids, scores };
}

/** denseScoreTopK's `exclude`: row t lists row rows[t] of m (e.g. the seen items of each queried user). */
export function excludeRows(m: Csr, rows: ArrayLike<number>): Csr {
  const n = rows.length;
  const indptr = new Int32Array(n + 1);
  for (let t = 0; t < n; t++) indptr[t + 1] = indptr[t] + (m.indptr[rows[t] + 1] - m.indptr[rows[t]]);
  const indices = new Int32Array(indptr[n]);
  for (let t = 0; t < n; t++) indices.set(m.indices.subarray(m.indptr[rows[t]], m.indptr[rows[t] + 1]), indptr[t]);
  return { rows: n, cols: m.cols, indptr, indices, data: new Float32Array(indptr[n]) };
}

