/**
 * Matrices on typed arrays. Large buffers live on SharedArrayBuffer so pool
 * workers and the native addon read them without copies.
 */

/** Compressed sparse rows: row r owns entries indptr[r] .. indptr[r+1]-1. */
export interface Csr {
  rows: number;
  cols: number;
  /** length rows+1; Float64Array when nnz can exceed 2^31-1 */
  indptr: Int32Array | Float64Array;
  /** column of each stored entry, sorted ascending within a row */
  indices: Int32Array;
  /** value of each stored entry */
  data: Float32Array;
}

/** Row-major dense matrix. */
export interface Dense {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Top-k per row: row r's ids/scores are at [r*k, (r+1)*k); unused slots have id -1 and score -Infinity. */
export interface TopK {
  rows: number;
  k: number;
  ids: Int32Array;
  scores: Float32Array;
}

/** Allocate a typed array on a SharedArrayBuffer (falls back to ArrayBuffer where SAB is unavailable, e.g. browsers without COOP/COEP). */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(sharedBuffer(length * 4));
}
export function sharedInt32(length: number): Int32Array {
  return new Int32Array(sharedBuffer(length * 4));
}
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(sharedBuffer(length * 8));
}
function sharedBuffer(bytes: number): ArrayBufferLike {
  return typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/** Copy a typed array onto shared memory (no-op when it already is). */
export function toShared<T extends Float32Array | Int32Array | Float64Array>(a: T): T {
  if (typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as { new (n: number | ArrayBufferLike): T };
  const out = new Ctor(sharedBuffer(a.byteLength)) as T;
  out.set(a as never);
  return out;
}

export function denseFrom(rows: number, cols: number, data?: ArrayLike<number>): Dense {
  const out = sharedFloat32(rows * cols);
  if (data) {
    if (data.length !== rows * cols) throw new RangeError(`dense data has ${data.length} values, expected ${rows}×${cols}=${rows * cols}`);
    out.set(data);
  }
  return { rows, cols, data: out };
}

export function emptyTopK(rows: number, k: number): TopK {
  const ids = sharedInt32(rows * k).fill(-1);
  const scores = sharedFloat32(rows * k).fill(-Infinity);
  return { rows, k, ids, scores };
}

export function nnz(m: Csr): number {
  return m.indptr[m.rows];
}

/**
 * Build a Csr from (row, col, value) triplets. Entries are sorted by column within each row;
 * duplicate (row, col) pairs are summed (in float32, in input order).
 *
 * O(n + rows + cols): a stable counting sort by column, then a stable one by row (LSD radix),
 * leaves each row's entries in column order with duplicates adjacent and in input order. Each
 * pass scatters the values themselves (row and value by column, then column and value by row),
 * so both read their input in order and only the writes jump: on 20M triplets this is several
 * times faster than sorting positions and gathering through them.
 */
export function csrFromTriplets(rows: number, cols: number, r: ArrayLike<number>, c: ArrayLike<number>, v: ArrayLike<number>): Csr {
  const n = r.length;
  if (c.length !== n || v.length !== n) throw new RangeError('triplet arrays differ in length');
  const rowStart = new Int32Array(rows + 1), colStart = new Int32Array(cols + 1);
  for (let i = 0; i < n; i++) {
    const ri = r[i], ci = c[i];
    if (!(ri >= 0 && ri < rows) || !Number.isInteger(ri)) throw new RangeError(`row index ${ri} out of range [0, ${rows})`);
    if (!(ci >= 0 && ci < cols) || !Number.isInteger(ci)) throw new RangeError(`column index ${ci} out of range [0, ${cols})`);
    rowStart[ri + 1]++;
    colStart[ci + 1]++;
  }
  for (let i = 0; i < rows; i++) rowStart[i + 1] += rowStart[i];
  for (let j = 0; j < cols; j++) colStart[j + 1] += colStart[j];
  // values travel as float32 when they are float32 (every rating array), else as float64, so that
  // duplicates sum exactly as `float32 += value` in input order
  const exact32 = v instanceof Float32Array;
  const values = (len: number): Float32Array | Float64Array => (exact32 ? sharedFloat32(len) : new Float64Array(len));
  // by column: the row and value of each entry, in column order (input order within a column)
  const rowByCol = new Int32Array(n), valByCol = values(n);
  {
    const cursor = colStart.slice(0, cols);
    for (let i = 0; i < n; i++) { const q = cursor[c[i]]++; rowByCol[q] = r[i]; valByCol[q] = v[i]; }
  }
  // by row, reading the column order: each row's entries come out sorted by column
  const colOut = sharedInt32(n), valOut = values(n);
  {
    const cursor = rowStart.slice(0, rows);
    for (let j = 0; j < cols; j++) {
      for (let k = colStart[j], end = colStart[j + 1]; k < end; k++) { const q = cursor[rowByCol[k]]++; colOut[q] = j; valOut[q] = valByCol[k]; }
    }
  }
  // merge duplicates (now adjacent within a row) into float32, compacting in place
  const indptr = sharedInt32(rows + 1);
  const sum = exact32 ? (valOut as Float32Array) : new Float32Array(n);
  let w = 0;
  for (let row = 0; row < rows; row++) {
    const first = w;
    indptr[row] = w;
    for (let p = rowStart[row], end = rowStart[row + 1]; p < end; p++) {
      const col = colOut[p];
      if (w > first && colOut[w - 1] === col) sum[w - 1] += valOut[p];
      else { colOut[w] = col; sum[w] = valOut[p]; w++; }
    }
  }
  indptr[rows] = w;
  if (w === n && exact32) return { rows, cols, indptr, indices: colOut, data: sum };
  const indices = sharedInt32(w); indices.set(colOut.subarray(0, w));
  const data = sharedFloat32(w); data.set(sum.subarray(0, w));
  return { rows, cols, indptr, indices, data };
}

/** Transpose (the CSC view of m, as a Csr of m's columns). Indices stay sorted. The reference of ./csrBuild.ts's transposeCsr. */
export function transpose(m: Csr): Csr {
  const total = nnz(m);
  const indptr = sharedInt32(m.cols + 1);
  for (let p = 0; p < total; p++) indptr[m.indices[p] + 1]++;
  for (let j = 0; j < m.cols; j++) indptr[j + 1] += indptr[j];
  const cursor = indptr.slice(0, m.cols);
  const indices = sharedInt32(total);
  const data = sharedFloat32(total);
  for (let row = 0; row < m.rows; row++) {
    for (let p = m.indptr[row]; p < m.indptr[row + 1]; p++) {
      const q = cursor[m.indices[p]]++;
      indices[q] = row;
      data[q] = m.data[p];
    }
  }
  return { rows: m.cols, cols: m.rows, indptr, indices, data };
}

/** Check a Csr's structure; throws a RangeError naming the first problem. */
export function validateCsr(m: Csr, name = 'matrix'): void {
  if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols) || m.cols < 0) throw new RangeError(`${name}: bad shape ${m.rows}×${m.cols}`);
  if (m.indptr.length !== m.rows + 1) throw new RangeError(`${name}: indptr has length ${m.indptr.length}, expected rows+1 = ${m.rows + 1}`);
  if (m.indptr[0] !== 0) throw new RangeError(`${name}: indptr[0] is ${m.indptr[0]}, expected 0`);
  for (let r = 0; r < m.rows; r++) if (m.indptr[r + 1] < m.indptr[r]) throw new RangeError(`${name}: indptr decreases at row ${r}`);
  const total = m.indptr[m.rows];
  if (m.indices.length < total || m.data.length < total) throw new RangeError(`${name}: indices/data shorter than nnz ${total}`);
  for (let p = 0; p < total; p++) {
    const c = m.indices[p];
    if (c < 0 || c >= m.cols) throw new RangeError(`${name}: column index ${c} at position ${p} out of range [0, ${m.cols})`);
  }
}

/** The dense array of a Csr row, as a Float32Array of length cols (tests and small data only). */
export function csrToDense(m: Csr): Dense {
  const out = denseFrom(m.rows, m.cols);
  for (let r = 0; r < m.rows; r++)
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) out.data[r * m.cols + m.indices[p]] = m.data[p];
  return out;
}
