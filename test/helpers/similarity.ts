/**
 * sparseSimilarityTopK conformance helpers shared by the backends' tests (native, cuda): random
 * CSR inputs and the comparison of a backend's TopK with the reference's.
 */
import * as assert from 'uvu/assert';
import { allocateSparseSimilarityTopK, similarityMatrixDense, sparseSimilarityTopKReference, type SparseSimilarityTopKArgs } from '../../src/kernels/sparseSimilarityTopK.js';
import { csrFromTriplets, type Csr, type Dense, type TopK } from '../../src/data/matrix.js';
import { mulberry32 } from './random.js';

/** Score tolerance: 1e-4·max(1, |reference|). */
export const tol = (ref: number) => 1e-4 * Math.max(1, Math.abs(ref));

/** rows × cols with about `density` of the cells stored; `denseCols` columns stored in every row; `emptyEvery` rows left empty. */
export function randomCsr(rows: number, cols: number, density: number, seed: number, value: (rnd: () => number) => number, emptyEvery = 0, denseCols = 0): Csr {
  const rnd = mulberry32(seed);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (emptyEvery && i % emptyEvery === 0) continue;
    for (let j = 0; j < cols; j++) if (j < denseCols || rnd() < density) { r.push(i); c.push(j); v.push(value(rnd)); }
  }
  return csrFromTriplets(rows, cols, r, c, v);
}
export const ratings = (rnd: () => number) => 1 + Math.floor(rnd() * 5);
export const reals = (rnd: () => number) => rnd() * 4 - 1;
export const ones = () => 1;

/**
 * Rows [r0, r1) of `got` (from `backend`) against the reference; `exact`: identical ids and scores. Otherwise
 * scores within `tol`, and ids identical except at a near tie (the reference's own score of the backend's id,
 * from the dense similarity matrix, within tolerance of the reference's score in that slot).
 */
export function compareSimilarity(
  backend: string, a: SparseSimilarityTopKArgs, got: TopK, r0: number, r1: number, exact: boolean, label: string, dense?: Dense,
): void {
  const want = allocateSparseSimilarityTopK(a);
  sparseSimilarityTopKReference(a, want, r0, r1);
  assert.is(got.k, want.k, `${label} k`);
  const k = want.k;
  const full = dense ?? (exact ? undefined : similarityMatrixDense(a));
  const refScore = (r: number, b: number) => (full ? full.data[r * a.matrix.rows + b] : NaN);
  for (let r = r0; r < r1; r++) {
    const seen = new Set<number>();
    for (let slot = 0; slot < k; slot++) {
      const o = r * k + slot;
      const wid = want.ids[o], ws = want.scores[o], gid = got.ids[o], gs = got.scores[o];
      const where = `${label} row ${r} slot ${slot}: ${backend} (${gid}, ${gs}) reference (${wid}, ${ws})`;
      if (exact) { assert.is(gid, wid, where); assert.is(gs, ws, where); continue; }
      if (wid === -1 || gid === -1) {
        // a pair at the edge of a filter (0 or minSimilarity) may be kept on one side only
        if (wid === gid) { assert.is(gs, -Infinity, where); continue; }
        const s = wid === -1 ? refScore(r, gid) : ws;
        const edge = Math.abs(s) <= tol(0) || (a.minSimilarity !== undefined && Math.abs(s - a.minSimilarity) <= tol(s));
        assert.ok(edge, `${where}: kept on one side only`);
        continue;
      }
      assert.ok(gid >= 0 && gid < a.matrix.rows, `${where}: id out of range`);
      assert.ok(!seen.has(gid), `${where}: id twice`);
      seen.add(gid);
      if ((a.excludeSelf ?? true)) assert.ok(gid !== r, `${where}: self returned`);
      assert.ok(Math.abs(gs - ws) <= tol(ws), `${where}: score off`);
      if (gid !== wid) {
        const alt = refScore(r, gid);
        assert.ok(Math.abs(alt - ws) <= tol(ws), `${where}: ids differ without a tie (reference score of ${gid} is ${alt})`);
      }
    }
  }
}
