/**
 * denseScoreTopK — for each query row q in [rowStart, rowEnd), the k keys with the
 * highest score(q, key), best first (ties: lower key id first).
 *
 *   dot:    score = Σ_f Q[q,f]·K[j,f]
 *   cosine: score = Σ_f Q[q,f]·K[j,f] / (‖Q[q]‖·‖K[j]‖), and 0 where either norm is 0
 *
 * Keys listed in row q of `exclude` (e.g. items the user has seen) are skipped; with
 * `excludeSelf`, key q is skipped for query q (self-similarity). Rows with fewer than k
 * candidates are padded with id -1 / score -Infinity.
 *
 * This file is the reference (oracle): float64 accumulation, no tricks.
 */
import type { Csr, Dense, TopK } from '../data/matrix.js';
import { emptyTopK } from '../data/matrix.js';
import { TopKHeap } from './topk.js';
import type { KernelDef } from './kernelDef.js';

export type DenseMetric = 'dot' | 'cosine';

export interface DenseScoreTopKArgs {
  queries: Dense;
  keys: Dense;
  k: number;
  metric: DenseMetric;
  exclude?: Csr;
  excludeSelf?: boolean;
}

export function validateDenseScoreTopK(a: DenseScoreTopKArgs): void {
  const { queries: q, keys } = a;
  if (q.cols !== keys.cols) throw new RangeError(`denseScoreTopK: queries have ${q.cols} columns, keys ${keys.cols}`);
  if (q.data.length !== q.rows * q.cols) throw new RangeError(`denseScoreTopK: queries.data has length ${q.data.length}, expected ${q.rows * q.cols}`);
  if (keys.data.length !== keys.rows * keys.cols) throw new RangeError(`denseScoreTopK: keys.data has length ${keys.data.length}, expected ${keys.rows * keys.cols}`);
  if (!Number.isInteger(a.k) || a.k <= 0) throw new RangeError(`denseScoreTopK: k must be a positive integer, got ${a.k}`);
  if (a.metric !== 'dot' && a.metric !== 'cosine') throw new RangeError(`denseScoreTopK: unknown metric '${a.metric}' (dot|cosine)`);
  if (a.exclude) {
    if (a.exclude.rows !== q.rows) throw new RangeError(`denseScoreTopK: exclude has ${a.exclude.rows} rows, queries ${q.rows}`);
    if (a.exclude.indptr.length !== q.rows + 1) throw new RangeError('denseScoreTopK: exclude.indptr has the wrong length');
    const total = a.exclude.indptr[a.exclude.rows];
    if (a.exclude.indices.length < total) throw new RangeError('denseScoreTopK: exclude.indices shorter than nnz');
    for (let p = 0; p < total; p++) {
      const j = a.exclude.indices[p];
      if (j < 0 || j >= keys.rows) throw new RangeError(`denseScoreTopK: exclude index ${j} out of range [0, ${keys.rows})`);
    }
  }
}

export function allocateDenseScoreTopK(a: DenseScoreTopKArgs): TopK {
  return emptyTopK(a.queries.rows, Math.min(a.k, a.keys.rows));
}

function rowNorms(m: Dense): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let f = 0, o = r * m.cols; f < m.cols; f++) s += m.data[o + f] * m.data[o + f];
    out[r] = Math.sqrt(s);
  }
  return out;
}

export function denseScoreTopKReference(a: DenseScoreTopKArgs, out: TopK, rowStart: number, rowEnd: number): void {
  const { queries: q, keys, exclude } = a;
  const d = q.cols;
  const kk = out.k;
  const cosine = a.metric === 'cosine';
  const keyNorms = cosine ? rowNorms(keys) : null;
  const heap = new TopKHeap(kk);
  const skip = new Uint8Array(keys.rows);
  for (let r = rowStart; r < rowEnd; r++) {
    if (exclude) for (let p = exclude.indptr[r]; p < exclude.indptr[r + 1]; p++) skip[exclude.indices[p]] = 1;
    const qo = r * d;
    let qn = 1;
    if (cosine) { let s = 0; for (let f = 0; f < d; f++) s += q.data[qo + f] * q.data[qo + f]; qn = Math.sqrt(s); }
    for (let j = 0; j < keys.rows; j++) {
      if (skip[j] || (a.excludeSelf && j === r)) continue;
      let s = 0;
      for (let f = 0, ko = j * d; f < d; f++) s += q.data[qo + f] * keys.data[ko + f];
      if (cosine) { const den = qn * keyNorms![j]; s = den > 0 ? s / den : 0; }
      heap.push(j, s);
    }
    heap.drainInto(out.ids, out.scores, r * kk);
    if (exclude) for (let p = exclude.indptr[r]; p < exclude.indptr[r + 1]; p++) skip[exclude.indices[p]] = 0;
  }
}

/** Floating-point operations of a full call (2·Q·K·d multiply-adds), for GFLOP/s figures. */
function denseScoreTopKFlops(a: DenseScoreTopKArgs): number {
  return 2 * a.queries.rows * a.keys.rows * a.queries.cols;
}

export const denseScoreTopKKernel: KernelDef<DenseScoreTopKArgs, TopK> = {
  name: 'denseScoreTopK',
  validate: validateDenseScoreTopK,
  rows: (a) => a.queries.rows,
  allocate: allocateDenseScoreTopK,
  reference: denseScoreTopKReference,
  flops: denseScoreTopKFlops,
};
