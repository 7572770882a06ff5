/**
 * The native CSR builders: the addon's csrFromTriplets and transposeCsr (native/core/src/csr_build.cpp,
 * bound in native/addon/csr_args.h), counting sorts split over the core's threads, with the same
 * output bit for bit as the references in ./matrix.ts (./csrBuild.ts calls these when it can; the
 * references are the fallback when the addon is absent or the arrays are not the types it takes).
 *
 * The caller allocates the outputs; the
 * functions return null when the addon cannot run the call, and let its errors (bad index, bad
 * structure) through.
 *
 * Measured on the synthetic 138k × 27k × 20M file: see bench cases `csr:build` and `csr:transpose`.
 */
import { addonLoader, type NativeModule } from './nativeAddon.js';

interface CsrAddon extends NativeModule {
  csrFromTriplets?(o: {
    rows: number; cols: number; row: Int32Array; col: Int32Array; value: Float32Array | Float64Array;
    indptr: Int32Array; indices: Int32Array; data: Float32Array; threads?: number;
  }): number;
  transposeCsr?(o: {
    rows: number; cols: number; indptr: Int32Array; indices: Int32Array; data: Float32Array;
    outIndptr: Int32Array; outIndices: Int32Array; outData: Float32Array; threads?: number;
  }): void;
}

const loadAddon = addonLoader<CsrAddon>('affinity_native.node');

/** Below this many entries a call runs on the calling thread alone (waking the pool costs more than it saves). */
const PARALLEL_MIN = 1 << 16;

function addon(): CsrAddon | null {
  const r = loadAddon();
  return 'error' in r ? null : r.addon;
}

/** Why the native CSR builders cannot be used, or null when they can. */
export function nativeCsrUnavailable(): string | null {
  const r = loadAddon();
  if ('error' in r) return r.error;
  if (typeof r.addon.csrFromTriplets !== 'function' || typeof r.addon.transposeCsr !== 'function') {
    return 'this affinity_native.node has no csrFromTriplets/transposeCsr (rebuild it with `npm run build:native`)';
  }
  return null;
}

/** The outputs of a build: indptr (rows + 1), and indices/data of the triplets' length (the first nnz are filled). */
export interface CsrOut {
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array;
}

/**
 * Fills `out` with the CSR of the triplets (see csrFromTriplets in ./matrix.ts) and returns nnz, or null
 * when the addon is absent or the arrays are of other types (row/col: Int32Array; value:
 * Float32Array or Float64Array). `threads`: how many threads (tests; default: the machine's,
 * one below 65,536 triplets).
 */
export function nativeCsrFromTriplets(
  rows: number, cols: number, r: ArrayLike<number>, c: ArrayLike<number>, v: ArrayLike<number>, out: () => CsrOut, threads?: number,
): { nnz: number; out: CsrOut } | null {
  const a = addon();
  if (!a?.csrFromTriplets) return null;
  if (!(r instanceof Int32Array && c instanceof Int32Array && (v instanceof Float32Array || v instanceof Float64Array))) return null;
  const o = out();
  const nnz = a.csrFromTriplets({ rows, cols, row: r, col: c, value: v, ...o, threads: threads ?? (r.length < PARALLEL_MIN ? 1 : undefined) });
  return { nnz, out: o };
}

/** The outputs of a transpose: outIndptr (cols + 1), outIndices/outData (nnz). */
export interface TransposeOut {
  outIndptr: Int32Array;
  outIndices: Int32Array;
  outData: Float32Array;
}

/**
 * Fills `out()` with the transpose of the CSR given by indptr/indices/data (see
 * transpose in ./matrix.ts) and returns it, or null when the addon is absent or indptr is not an
 * Int32Array.
 */
export function nativeTranspose(
  rows: number, cols: number, indptr: Int32Array | Float64Array, indices: Int32Array, data: Float32Array, out: () => TransposeOut, threads?: number,
): TransposeOut | null {
  const a = addon();
  if (!a?.transposeCsr || !(indptr instanceof Int32Array && indices instanceof Int32Array && data instanceof Float32Array)) return null;
  const o = out();
  a.transposeCsr({ rows, cols, indptr, indices, data, ...o, threads: threads ?? (o.outIndices.length < PARALLEL_MIN ? 1 : undefined) });
  return o;
}
