/**
 * Building and transposing CSR matrices, in the native addon where it is built (./nativeCsr.ts →
 * native/core/src/csr_build.cpp: cache-sized row blocks sorted over threads) and with the
 * TypeScript references of ./matrix.ts (csrFromTriplets, transpose) otherwise: the same output bit
 * for bit (order, duplicates merged in input order in float32, array lengths) and the same
 * RangeError for an index out of range.
 *
 * Node-side: ./matrix.ts stays free of Node imports because the browser loads it with the kernels;
 * this module (through ./nativeAddon.ts) is not.
 */
import { csrFromTriplets, transpose, sharedFloat32, sharedInt32, nnz, type Csr } from './matrix.js';
import { nativeCsrFromTriplets, nativeTranspose } from './nativeCsr.js';

/**
 * csrFromTriplets (entries sorted by column within each row; duplicate pairs summed in float32 in
 * input order), natively when the addon is built and the arrays are Int32Array rows and columns
 * with Float32Array or Float64Array values.
 */
export function buildCsr(rows: number, cols: number, r: ArrayLike<number>, c: ArrayLike<number>, v: ArrayLike<number>): Csr {
  const n = r.length;
  if (c.length !== n || v.length !== n) throw new RangeError('triplet arrays differ in length');
  const built = nativeCsrFromTriplets(rows, cols, r, c, v, () => ({ indptr: sharedInt32(rows + 1), indices: sharedInt32(n), data: sharedFloat32(n) }));
  if (!built) return csrFromTriplets(rows, cols, r, c, v);
  const { nnz: w, out } = built;
  // the reference's shapes: its scatter arrays when nothing was merged from float32 input, else copies of nnz entries
  if (w === n && v instanceof Float32Array) return { rows, cols, ...out };
  const indices = sharedInt32(w); indices.set(out.indices.subarray(0, w));
  const data = sharedFloat32(w); data.set(out.data.subarray(0, w));
  return { rows, cols, indptr: out.indptr, indices, data };
}

/**
 * transpose (the CSC view of m as a Csr of its columns, indices sorted), natively when the addon is
 * built and m.indptr is an Int32Array (a malformed m is then a RangeError naming the problem).
 */
export function transposeCsr(m: Csr): Csr {
  const total = nnz(m);
  const out = nativeTranspose(m.rows, m.cols, m.indptr, m.indices, m.data, () => ({ outIndptr: sharedInt32(m.cols + 1), outIndices: sharedInt32(total), outData: sharedFloat32(total) }));
  return out ? { rows: m.cols, cols: m.rows, indptr: out.outIndptr, indices: out.outIndices, data: out.outData } : transpose(m);
}
