/**
 * Embedding lookups and their sparse gradients.
 *
 *   embeddingGather:  out_r = table[ids_r]          (ids_r = −1: a zero row, for padding)
 *   segmentSum:       out_g = Σ_{p ∈ [offsets_g, offsets_{g+1})} w_p · src[positions_p]
 *
 * segmentSum is both directions of a bag of embeddings and the backward of a lookup:
 * - the gradient of embeddingGather w.r.t. the table is nonzero only in the rows that were looked
 *   up: with the batch's positions grouped by id (groupByIndex), row g of segmentSum(dOut) is the
 *   gradient of table row `rows[g]` — a compact (touched rows × dim) gradient for lazy Adam;
 * - a user's history pooled as a (weighted) sum of item embeddings is segmentSum over the table,
 *   with offsets per user and positions the item ids (weights 1/n for a mean).
 * positions_p = −1 contributes nothing. Sums are in float64, rounded once on store.
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom, sharedInt32 } from '../../data/matrix.js';
import { denseShape, type KernelDef } from '../kernelDef.js';
import { checkDense, checkF32, checkI32 } from '../shapes.js';

export interface EmbeddingGatherArgs {
  /** vocab × dim */
  table: Dense;
  /** row of the table per output row, in [−1, vocab) */
  ids: Int32Array;
}

export interface SegmentSumArgs {
  /** rows × dim */
  src: Dense;
  /** groups + 1 non-decreasing offsets into positions, from 0 to positions.length */
  offsets: Int32Array;
  /** rows of src, in [−1, src.rows) */
  positions: Int32Array;
  /** per position; default 1 */
  weights?: Float32Array;
}

function checkIdRange(name: string, field: string, ids: Int32Array, rows: number): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (v < -1 || v >= rows) throw new RangeError(`${name}: ${field}[${i}] = ${v} is outside [-1, ${rows})`);
  }
}

function embeddingGatherReference(a: EmbeddingGatherArgs, out: Dense, rowStart: number, rowEnd: number): void {
  const dim = a.table.cols, t = a.table.data, o = out.data;
  for (let r = rowStart; r < rowEnd; r++) {
    const id = a.ids[r];
    if (id < 0) o.fill(0, r * dim, (r + 1) * dim);
    else o.set(t.subarray(id * dim, (id + 1) * dim), r * dim);
  }
}

function validateSegmentSum(a: SegmentSumArgs): void {
  const name = 'segmentSum';
  checkDense(name, 'src', a.src);
  checkI32(name, 'offsets', a.offsets);
  checkI32(name, 'positions', a.positions);
  const off = a.offsets, n = a.positions.length;
  if (off.length < 1) throw new RangeError(`${name}: offsets must have at least one entry (groups + 1)`);
  if (off[0] !== 0) throw new RangeError(`${name}: offsets[0] = ${off[0]}, expected 0`);
  for (let g = 0; g + 1 < off.length; g++) if (off[g + 1] < off[g]) throw new RangeError(`${name}: offsets decrease at ${g + 1} (${off[g]} → ${off[g + 1]})`);
  if (off[off.length - 1] !== n) throw new RangeError(`${name}: offsets end at ${off[off.length - 1]}, expected positions.length = ${n}`);
  checkIdRange(name, 'positions', a.positions, a.src.rows);
  if (a.weights !== undefined) checkF32(name, 'weights', a.weights, n);
}

function segmentSumReference(a: SegmentSumArgs, out: Dense, groupStart: number, groupEnd: number): void {
  const dim = a.src.cols, s = a.src.data, o = out.data, w = a.weights;
  const acc = new Float64Array(dim);
  for (let g = groupStart; g < groupEnd; g++) {
    acc.fill(0);
    for (let p = a.offsets[g]; p < a.offsets[g + 1]; p++) {
      const row = a.positions[p];
      if (row < 0) continue;
      const wp = w ? w[p] : 1, base = row * dim;
      for (let j = 0; j < dim; j++) acc[j] += wp * s[base + j];
    }
    o.set(acc, g * dim);
  }
}

/**
 * The positions of `ids` grouped by id, for segmentSum: `rows` the distinct ids ≥ 0 in increasing
 * order, `offsets` per distinct id into `positions` (the indices i with ids[i] = rows[g], in
 * increasing order). O(n + vocab) by counting sort; ids of −1 are left out.
 */
export function groupByIndex(ids: Int32Array, vocab: number): { rows: Int32Array; offsets: Int32Array; positions: Int32Array } {
  const count = new Int32Array(vocab + 1);
  let kept = 0;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (v < -1 || v >= vocab) throw new RangeError(`groupByIndex: ids[${i}] = ${v} is outside [-1, ${vocab})`);
    if (v >= 0) { count[v + 1]++; kept++; }
  }
  let distinct = 0;
  for (let v = 0; v < vocab; v++) if (count[v + 1] > 0) distinct++;
  for (let v = 0; v < vocab; v++) count[v + 1] += count[v];
  const positions = sharedInt32(kept), cursor = count.slice(0, vocab);
  for (let i = 0; i < ids.length; i++) if (ids[i] >= 0) positions[cursor[ids[i]]++] = i;
  const rows = sharedInt32(distinct), offsets = sharedInt32(distinct + 1);
  let g = 0;
  for (let v = 0; v < vocab; v++) {
    if (count[v + 1] > count[v]) { rows[g] = v; offsets[g] = count[v]; g++; }
  }
  offsets[distinct] = kept;
  return { rows, offsets, positions };
}

export const embeddingGatherKernel: KernelDef<EmbeddingGatherArgs, Dense> = {
  name: 'embeddingGather',
  validate: (a) => {
    checkDense('embeddingGather', 'table', a.table);
    checkI32('embeddingGather', 'ids', a.ids);
    checkIdRange('embeddingGather', 'ids', a.ids, a.table.rows);
  },
  rows: (a) => a.ids.length,
  allocate: (a) => denseFrom(a.ids.length, a.table.cols),
  outputShape: (a) => denseShape(a.ids.length, a.table.cols),
  reference: embeddingGatherReference,
  flops: (a) => a.ids.length * a.table.cols,
};

export const segmentSumKernel: KernelDef<SegmentSumArgs, Dense> = {
  name: 'segmentSum',
  validate: validateSegmentSum,
  rows: (a) => a.offsets.length - 1,
  allocate: (a) => denseFrom(Math.max(0, a.offsets.length - 1), a.src.cols),
  outputShape: (a) => denseShape(Math.max(0, a.offsets.length - 1), a.src.cols),
  reference: segmentSumReference,
  flops: (a) => 2 * a.positions.length * a.src.cols,
};
