/**
 * gemm on the wasm module (assembly/gemm.ts): the JS half. For output rows [rowStart, rowEnd) (row r is row
 * r mod m of batch entry ⌊r/m⌋) it walks the batch entries the range touches; per entry it copies B_b in and
 * packs it (once per task when strideB = 0: a broadcast B), then, per chunk of rows, copies the stored A rows
 * (or, for transA, the chunk's columns of every stored row) and, when β ≠ 0, C0's rows in, runs the packed
 * micro-kernel and copies the chunk's rows of C out. β = 0 never reads c. Browser-usable (no Node APIs).
 */
import type { GemmArgs } from '../../kernels/gemm.js';
import type { Dense } from '../../data/matrix.js';
import { Layout, type LinearMemory } from './linearMemory.js';

export interface GemmExports {
  gemmKc(): number;
  gemmMc(): number;
  gemmMr(): number;
  gemmNr(): number;
  gemmPackB(src: number, ldb: number, transB: number, k: number, n: number, kc: number, dst: number): void;
  gemmBlock(
    a: number, lda: number, transA: number, rows: number, n: number, k: number, kc: number, mc: number,
    packedB: number, packedA: number, c: number, ldc: number, alpha: number, beta: number, scratch: number,
  ): void;
}

export const GEMM_EXPORTS = ['gemmKc', 'gemmMc', 'gemmMr', 'gemmNr', 'gemmPackB', 'gemmBlock'] as const;

export type GemmInput = GemmArgs;
export type GemmOutput = Pick<Dense, 'data'>;

/**
 * Bytes of A and C staged per chunk of rows. Each chunk streams all of packed B through the micro-kernel, and
 * its staged A and C pass through the cache twice (copied in, then packed/computed; computed, then copied out).
 * While packed B fits in L2 with room to spare (≤ B_IN_L2), re-reading it per chunk is cheap and small chunks
 * keep the staged A and C in L2; a larger B is read fewer times with large chunks. Measured (GFLOP/s per busy
 * core, one thread, 2-core Xeon under load, 8 MiB → 512 KiB chunks): 25600×64·64×64 23.0 → 27.1,
 * 4096×256·256×256 34.8 → 37.5, 4096×3706·3706×64 28.5 → 31.6, 8192×64·64×3400 28.0 → 28.8; but
 * 256×4096ᵀ·4096×256 (packed B 4 MiB) 31.0 → 24.9, so it keeps 8 MiB chunks. transA keeps 8 MiB chunks too:
 * its staging copies one piece per row of k per chunk ((4096×3706)ᵀ·4096×64 in 64-row chunks: 21.7 → 9.2).
 */
const SMALL_CHUNK_BYTES = 512 * 1024;
const LARGE_CHUNK_BYTES = 8 * 1024 * 1024;
const B_IN_L2 = 1024 * 1024;
const MIN_CHUNK_ROWS = 64;

/** Rows [rowStart, rowEnd) of gemm into out.data (the same contract as gemmReference, within the fp32 bound). */
export function gemmWasm(ex: GemmExports, mem: LinearMemory, g: GemmInput, out: GemmOutput, rowStart: number, rowEnd: number): void {
  const name = 'gemm';
  const { m, n, k, a, b } = g;
  const batch = g.batch ?? 1, alpha = g.alpha ?? 1, beta = g.beta ?? 0;
  const tA = g.transA === 'T', tB = g.transB === 'T';
  const aRows = tA ? k : m, aCols = tA ? m : k, bRows = tB ? n : k, bCols = tB ? k : n;
  const lda = g.lda ?? aCols, ldb = g.ldb ?? bCols;
  const sa = g.strideA ?? aRows * lda, sb = g.strideB ?? bRows * ldb, sc = g.strideC ?? m * n;
  if (!(Number.isInteger(rowStart) && Number.isInteger(rowEnd) && rowStart >= 0 && rowStart <= rowEnd && rowEnd <= batch * m)) {
    throw new RangeError(`${name} (wasm): row range [${rowStart}, ${rowEnd}) outside [0, ${batch * m})`);
  }
  if (out.data.length < rowEnd * n) throw new RangeError(`${name} (wasm): output has ${out.data.length} values, needs ${rowEnd * n}`);
  if (rowStart === rowEnd || n === 0) return;
  // the module trusts its offsets: every stored matrix the range reads must lie inside its array
  const need = (field: string, arr: Float32Array | undefined, stride: number, rows: number, ld: number, cols: number): void => {
    const len = batch === 0 || rows === 0 || cols === 0 ? 0 : (batch - 1) * stride + (rows - 1) * ld + cols;
    if (!(arr instanceof Float32Array)) throw new TypeError(`${name} (wasm): ${field} must be a Float32Array`);
    if (arr.length < len) throw new RangeError(`${name} (wasm): ${field} has length ${arr.length}, needs ${len}`);
  };
  if (!(lda >= aCols && ldb >= bCols)) throw new RangeError(`${name} (wasm): lda = ${lda}, ldb = ${ldb} below the stored row lengths ${aCols}, ${bCols}`);
  need('a', a, sa, aRows, lda, aCols);
  need('b', b, sb, bRows, ldb, bCols);
  if (beta !== 0) need('c', g.c, sc, m, n, n);
  const c0 = g.c;

  if (k === 0) {
    // no products: C = β·C0 (0 when β = 0)
    for (let r = rowStart; r < rowEnd; r++) {
      const bi = Math.floor(r / m), i = r - bi * m, o = r * n, co = bi * sc + i * n;
      for (let j = 0; j < n; j++) out.data[o + j] = beta !== 0 ? beta * c0![co + j] : 0;
    }
    return;
  }

  const kc = ex.gemmKc(), mc = ex.gemmMc(), mr = ex.gemmMr(), nr = ex.gemmNr();
  const nPad = Math.ceil(n / nr) * nr;
  // rows per chunk: A (rows × k) and C (rows × n) staged within the chunk bytes, a multiple of MR, and at least
  // MIN_CHUNK_ROWS (each chunk streams all of packed B once: with few rows, a wide B would come from memory)
  const chunkBytes = !tA && k * nPad * 4 <= B_IN_L2 ? SMALL_CHUNK_BYTES : LARGE_CHUNK_BYTES;
  const fit = Math.max(MIN_CHUNK_ROWS, Math.floor(chunkBytes / ((k + n) * 4) / mr) * mr);
  // chunks of about equal size (no small last chunk running over all of B)
  const span = Math.min(rowEnd - rowStart, m);
  const most = Math.min(span, Math.ceil(span / Math.ceil(span / fit) / mr) * mr);
  const lay = new Layout(mem.base);
  const scratch = lay.take(mr * nr * 4);
  const packedA = lay.take(mc * Math.min(kc, k) * 4);
  const bStage = lay.take(bRows * bCols * 4);
  const packedB = lay.take(k * nPad * 4);
  const aStage = lay.take(most * k * 4);
  const cAt = lay.take(most * n * 4);
  const buf = mem.ensure(lay.at, name);
  const heap = new Float32Array(buf);

  let packedBase = -1; // b offset of the B packed now
  for (let r = rowStart; r < rowEnd;) {
    const bi = Math.floor(r / m), i0 = r - bi * m;
    const iEnd = Math.min(m, i0 + (rowEnd - r));
    const bBase = bi * sb;
    if (bBase !== packedBase) {
      // stored B (bRows × bCols, leading dimension ldb) → dense stage → packed panels
      if (ldb === bCols) heap.set(b.subarray(bBase, bBase + bRows * bCols), bStage / 4);
      else for (let p = 0; p < bRows; p++) heap.set(b.subarray(bBase + p * ldb, bBase + p * ldb + bCols), bStage / 4 + p * bCols);
      mem.countIn(bRows * bCols * 4);
      ex.gemmPackB(bStage, bCols, tB ? 1 : 0, k, n, kc, packedB);
      packedBase = bBase;
    }
    const aBase = bi * sa;
    for (let i = i0; i < iEnd; i += most) {
      const rows = Math.min(most, iEnd - i);
      // the chunk's op(A) rows, dense: N → rows × k (ld k); T → k × rows (ld rows)
      if (!tA) {
        if (lda === k) heap.set(a.subarray(aBase + i * lda, aBase + (i + rows) * lda), aStage / 4);
        else for (let t = 0; t < rows; t++) heap.set(a.subarray(aBase + (i + t) * lda, aBase + (i + t) * lda + k), aStage / 4 + t * k);
      } else if (rows === lda) {
        // the chunk is every stored column (i = 0, m = lda): the k stored rows are one contiguous block
        heap.set(a.subarray(aBase, aBase + k * lda), aStage / 4);
      } else {
        for (let p = 0; p < k; p++) heap.set(a.subarray(aBase + p * lda + i, aBase + p * lda + i + rows), aStage / 4 + p * rows);
      }
      mem.countIn(rows * k * 4);
      if (beta !== 0) {
        const co = bi * sc + i * n;
        heap.set(c0!.subarray(co, co + rows * n), cAt / 4);
        mem.countIn(rows * n * 4);
      }
      ex.gemmBlock(aStage, tA ? rows : k, tA ? 1 : 0, rows, n, k, kc, mc, packedB, packedA, cAt, n, alpha, beta, scratch);
      out.data.set(heap.subarray(cAt / 4, cAt / 4 + rows * n), (bi * m + i) * n);
    }
    r += iEnd - i0;
  }
}
