/**
 * The `native` backend: the C++ addon (build/Release/affinity_native.node, built by
 * `npx affinity build` from native/core + native/addon). SIMD chosen at run time
 * (AVX-512 / AVX2+FMA / portable), its own thread pool, work off the event loop.
 *
 * The addon is loaded lazily, on the first probe or kernel call, so that a missing or broken
 * .node file never breaks importing the package; the probe then says what failed and what to do.
 * A .node built for another version of the package (its `version` export, native/addon/module_info.h)
 * is refused the same way, before any of its kernels is called.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Backend, BackendProbe } from '../types.js';
import { pinnedCalls } from './pinnedCalls.js';
import { getKernel, isKernelName, type KernelArgs, type KernelCallOptions, type KernelImpl, type KernelName, type KernelOutput } from '../../kernels/contract.js';
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import type { Dense, TopK } from '../../data/matrix.js';
import { similarityThresholds, similarityValues, type SparseSimilarityTopKArgs } from '../../kernels/sparseSimilarityTopK.js';
import { withGram, type AlsHalfStepArgs, type AlsHalfStepOutput } from '../../kernels/alsHalfStep.js';
import type { SgdEpochArgs, SgdRates } from '../../kernels/sgdEpoch.js';
import type { BprEpochArgs } from '../../kernels/bprEpoch.js';
import { useNativeIndexRangeCheck } from '../../kernels/indexRange.js';
import { gemmLeadingDims, type GemmArgs, type Transpose } from '../../kernels/gemm.js';
import { addonLoader, packageRoot, unavailableReason, type AddonLoad, type NativeModule, type NativeModuleLimits } from '../../data/nativeAddon.js';
import { withCancelFlag } from './cancelFlag.js';
import { callNnKernel, type NativeNnAddon, type NnKernelName } from './nnCalls.js';

export { withCancelFlag };

// the loader moved to the data layer (the readers' fast path loads the same module); re-exported for the backends and tests
export { addonLoader, addonVersionMismatch, packageRoot, packageVersion, unavailableReason, type AddonLoad, type NativeModule, type NativeModuleLimits } from '../../data/nativeAddon.js';

/** denseScoreTopK's options object (native/addon/dense_args.h). */
export interface NativeDenseScoreTopKCall {
  queries: Float32Array; qRows: number; keys: Float32Array; kRows: number; dim: number; k: number;
  metric: 'dot' | 'cosine';
  /** the exclusion CSR over query rows: both or neither */
  excludeIndptr?: Int32Array | null; excludeIndices?: Int32Array | null;
  excludeSelf?: boolean; rowStart: number; rowEnd: number;
  outIds: Int32Array; outScores: Float32Array;
  threads?: number;
  /** cancellation flag (withCancelFlag) */
  cancel?: Int32Array | null;
}

/** The JS surface of affinity_native.node and affinity_cuda.node (same denseScoreTopK). */
export interface DenseScoreTopKAddon extends NativeModule {
  denseScoreTopK(call: NativeDenseScoreTopKCall): Promise<void>;
}

/** sparseSimilarityTopK's options object (native/addon/sparse_similarity_args.h). */
export interface NativeSparseSimilarityCall {
  rows: number; cols: number; indptr: Int32Array; indices: Int32Array;
  /** X' (similarityValues) */
  values: Float64Array | Float32Array;
  rowNorm?: Float64Array | null;
  metric: string; k: number;
  /** effective values (pearson-baseline defaults already applied) */
  shrinkage: number; minSupport: number; minSimilarity?: number;
  excludeSelf: boolean; rowStart: number; rowEnd: number;
  outIds: Int32Array; outScores: Float32Array;
  threads?: number;
  /** cancellation flag (withCancelFlag) */
  cancel?: Int32Array | null;
  /** 0 automatic, 1 general path only, 2 blocked path for every block (tests) */
  path?: 0 | 1 | 2;
}

/** alsHalfStep's options object (native/addon/als_args.h). */
export interface NativeAlsHalfStepCall {
  mode: 'implicit' | 'explicit'; solver: 'cholesky' | 'cg'; cgSteps?: number;
  rows: number; cols: number; factors: number;
  indptr: Int32Array; indices: Int32Array; data: Float32Array;
  /** cols × factors */
  other: Float32Array;
  /** factors × factors (implicit); null: the addon computes it from other */
  gram?: Float64Array | null;
  regularization: number;
  /** rows × factors, solved in place (CG warm-starts from it) */
  out: Float32Array;
  rowStart: number; rowEnd: number;
  threads?: number;
  /** cancellation flag (withCancelFlag) */
  cancel?: Int32Array | null;
  /** rows: each row's objective terms before the step (the kernel's `loss`) */
  rowLoss?: Float64Array | null;
  /** false: rowLoss only */
  solve?: boolean;
}

/** sgdEpoch's options object (native/addon/epoch_args.h); the parameter arrays are updated in place. */
export interface NativeSgdEpochCall {
  algorithm: 'svd' | 'svdpp' | 'nmf'; factors: number;
  user: Int32Array; item: Int32Array; rating: Float32Array; weight?: Float32Array;
  order: Int32Array; globalMean: number; biased: boolean; lr: SgdRates; reg: SgdRates;
  bu: Float32Array; bi: Float32Array; pu: Float32Array; qi: Float32Array;
  yj?: Float32Array; nIndptr?: Int32Array; nIndices?: Int32Array;
  update: 'all' | 'users'; rowStart: number; rowEnd: number;
  /** [sse, count] are added */
  out: Float64Array;
  /** Hogwild over `threads` ('svd' only) */
  parallel?: boolean; threads?: number;
}

/** bprEpoch's options object (native/addon/epoch_args.h); factors and rng are updated in place. */
export interface NativeBprEpochCall {
  factors: number; users: number; items: number;
  indptr: Int32Array; indices: Int32Array; entryUser: Int32Array;
  seenIndptr?: Int32Array | null; seenIndices?: Int32Array | null;
  popularityItems?: Int32Array | null; negativeCdf?: Float64Array | null;
  userFactors: Float32Array; itemFactors: Float32Array;
  learningRate: number; regularization: number; verifyNegative: boolean;
  update: 'all' | 'users' | 'positive'; rng: Uint32Array; steps: number;
  /** [correct, skipped, lossSum] are added */
  out: Float64Array;
  /** Hogwild over `threads` */
  parallel?: boolean; threads?: number;
}

export interface NativeAddonLimits extends NativeModuleLimits {
  /** largest `threads` the kernels take */
  maxThreads: number;
}

export interface NativeAddon extends DenseScoreTopKAddon, NativeNnAddon {
  limits: NativeAddonLimits;
  probe(): { simd: 'avx512' | 'avx2' | 'scalar'; threads: number };
  /** absent in an addon built before the kernel was bound */
  sparseSimilarityTopK?(call: NativeSparseSimilarityCall): Promise<void>;
  /** absent in an addon built before the kernel was bound */
  alsHalfStep?(call: NativeAlsHalfStepCall): Promise<void>;
  sgdEpoch?(call: NativeSgdEpochCall): Promise<void>;
  bprEpoch?(call: NativeBprEpochCall): Promise<void>;
  gemm?(call: NativeGemmCall): Promise<void>;
  /** whether every value lies in [0, limit), synchronous (native/addon/index_range_args.h); absent in an addon built before it */
  int32InRange?(values: Int32Array, limit: number): boolean;
}

/** The addon's gemm options (native/addon/gemm_args.h): row-major, leading dimensions and batch strides explicit. */
export interface NativeGemmCall {
  transA: Transpose; transB: Transpose;
  m: number; n: number; k: number; batch: number; alpha: number; beta: number;
  a: Float32Array; lda: number; strideA: number;
  b: Float32Array; ldb: number; strideB: number;
  c: Float32Array; ldc: number; strideC: number;
  rowStart: number; rowEnd: number; threads: number; cancel: Int32Array | null; inline?: boolean;
}

/**
 * addonLoader for a module whose kernels the backends call: every kernel call runs on memory the
 * caller cannot take away mid-call (pinnedCalls.ts); the wrapped module is cached with the load.
 */
export function kernelModuleLoader<T extends NativeModule>(name: string): () => AddonLoad<T> {
  const load = addonLoader<T>(name);
  let cached: AddonLoad<T> | undefined;
  return () => {
    if (cached) return cached;
    const r = load();
    cached = 'addon' in r ? { addon: pinnedCalls(r.addon), file: r.file } : r;
    return cached;
  };
}

/** The loaded addon, or the reason it could not be loaded. */
export const loadNativeAddon = kernelModuleLoader<NativeAddon>('affinity_native.node');

const BUILD_HINT = 'run `npx affinity build` (needs CMake ≥ 3.18 and a C++17 compiler)';

/**
 * How to get a missing addon, from what its last build said (build/native-build.json, written by
 * scripts/build-native.mjs at install time, whose output npm 11 hides): the build's own reason
 * when it failed or was skipped, else the generic hint.
 */
export function nativeBuildHint(statusFile = path.join(packageRoot, 'build', 'native-build.json')): string {
  let status: { ok?: unknown; reason?: unknown; date?: unknown };
  try {
    status = JSON.parse(readFileSync(statusFile, 'utf8')) as typeof status;
  } catch (e) {
    // no record at all: the install-time build never ran here (build-native.mjs records every
    // outcome, skips included): npm does not run a dependency's install script under
    // --ignore-scripts, nor where the project's allowScripts does not cover the package
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return `${BUILD_HINT}; no install-time build ran here (npm skips a dependency's install script under --ignore-scripts, or when allowScripts does not allow it: \`npm install-scripts ls\`)`;
    return BUILD_HINT; // unreadable status: nothing more to say
  }
  if (status !== null && typeof status === 'object' && status.ok === false && typeof status.reason === 'string') {
    return `its build${typeof status.date === 'string' ? ` on ${status.date.slice(0, 10)}` : ''} did not make it: ${status.reason}; fix that, then run \`npx affinity build\` (it shows the compiler output)`;
  }
  return BUILD_HINT;
}

/** The caller's thread count (default: this machine's), clamped to [1, the addon's maxThreads]. */
function threadsFor(addon: NativeAddon, opts?: KernelCallOptions): number {
  const n = opts?.threads ?? (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  return Math.max(1, Math.min(addon.limits.maxThreads, Math.floor(n)));
}

/**
 * A CSR's indptr as an Int32Array (the addon's type). A Float64Array indptr (nnz ≥ 2^31) is
 * converted when its values fit the module's indices (limits.maxIndex), else the call is refused.
 */
function int32Indptr(addon: NativeModule, indptr: Int32Array | Float64Array, what: string): Int32Array {
  if (indptr instanceof Int32Array) return indptr;
  const max = addon.limits.maxIndex;
  const out = new Int32Array(indptr.length);
  for (let i = 0; i < indptr.length; i++) {
    const v = indptr[i];
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what}[${i}] = ${v} does not fit the native backend's int32 indices`);
    out[i] = v;
  }
  return out;
}

/**
 * Calls an addon's denseScoreTopK on the kernel contract's arguments (shared with the CUDA
 * backend). The addon validates every buffer; these checks cover what only the JS side knows
 * (the Dense/Csr/TopK shapes).
 */
export async function callDenseScoreTopK(
  addon: DenseScoreTopKAddon, a: DenseScoreTopKArgs, out: TopK, rowStart: number, rowEnd: number, threads: number,
  signal?: AbortSignal,
): Promise<void> {
  const { queries, keys, exclude } = a;
  if (queries.cols !== keys.cols) throw new RangeError(`denseScoreTopK: queries have ${queries.cols} columns, keys ${keys.cols}`);
  const kOut = Math.min(a.k, keys.rows);
  if (out.k !== kOut) throw new RangeError(`denseScoreTopK: out.k is ${out.k}, expected min(k, keys.rows) = ${kOut}`);
  if (exclude && exclude.rows !== queries.rows) throw new RangeError(`denseScoreTopK: exclude has ${exclude.rows} rows, queries ${queries.rows}`);
  const excludeIndptr = exclude ? int32Indptr(addon, exclude.indptr, 'denseScoreTopK: exclude.indptr') : null;
  await withCancelFlag(signal, (cancel) => addon.denseScoreTopK({
    queries: queries.data, qRows: queries.rows, keys: keys.data, kRows: keys.rows, dim: queries.cols, k: a.k, metric: a.metric,
    excludeIndptr, excludeIndices: exclude ? exclude.indices : null, excludeSelf: a.excludeSelf === true,
    rowStart, rowEnd, outIds: out.ids, outScores: out.scores, threads, cancel,
  }));
}

/**
 * Calls the addon's sparseSimilarityTopK on the kernel contract's arguments: X' from similarityValues (the
 * matrix's own data when there is no weighting or centring), the row norms from `prepared` when the caller
 * has it (else the addon computes them, in float64 as the reference does); the addon builds its own transpose,
 * so nothing else is prepared here. The options go in with the reference's defaults applied.
 */
export async function callSparseSimilarityTopK(
  addon: Pick<NativeAddon, 'sparseSimilarityTopK'> & NativeModule, a: SparseSimilarityTopKArgs, out: TopK, rowStart: number, rowEnd: number, threads: number,
  signal?: AbortSignal, path: 0 | 1 | 2 = 0,
): Promise<void> {
  if (!addon.sparseSimilarityTopK) throw new Error('native backend: this affinity_native.node has no sparseSimilarityTopK; rebuild it (`npx affinity build`)');
  const m = a.matrix;
  const kOut = a.k === 'all' ? m.rows : Math.min(a.k, m.rows);
  if (out.k !== kOut) throw new RangeError(`sparseSimilarityTopK: out.k is ${out.k}, expected ${a.k === 'all' ? 'rows' : 'min(k, rows)'} = ${kOut}`);
  await withCancelFlag(signal, (cancel) => addon.sparseSimilarityTopK!({
    rows: m.rows, cols: m.cols, indptr: int32Indptr(addon, m.indptr, 'sparseSimilarityTopK: matrix.indptr'), indices: m.indices,
    values: similarityValues(a), rowNorm: a.metric === 'cosine' ? (a.prepared?.rowNorm ?? null) : null,
    metric: a.metric, k: kOut,
    ...similarityThresholds(a),
    excludeSelf: a.excludeSelf ?? true, rowStart, rowEnd, outIds: out.ids, outScores: out.scores, threads, path, cancel,
  }));
}

/**
 * Calls the addon's alsHalfStep on the kernel contract's arguments (out is the engine's allocation: a copy of
 * `initial` or zeros). A row whose system is not positive definite rejects with the reference's RangeError.
 */
export async function callAlsHalfStep(
  addon: Pick<NativeAddon, 'alsHalfStep'> & NativeModule, a: AlsHalfStepArgs, out: AlsHalfStepOutput, rowStart: number, rowEnd: number, threads: number,
  signal?: AbortSignal, needsGram = false,
): Promise<void> {
  // the native addon computes YᵀY itself when it is not given (threaded); the CUDA module needs it given
  if (needsGram) a = withGram(a);
  if (!addon.alsHalfStep) throw new Error('native backend: this affinity_native.node has no alsHalfStep; rebuild it (`npx affinity build`)');
  const m = a.matrix, y = a.other;
  if (out.rows !== m.rows || out.cols !== y.cols) throw new RangeError(`alsHalfStep: out is ${out.rows}×${out.cols}, expected ${m.rows}×${y.cols}`);
  if (m.cols !== y.rows) throw new RangeError(`alsHalfStep: matrix has ${m.cols} columns, other factors ${y.rows} rows`);
  try {
    await withCancelFlag(signal, (cancel) => addon.alsHalfStep!({
      mode: a.mode, solver: a.solver, cgSteps: a.cgSteps ?? 3,
      rows: m.rows, cols: m.cols, factors: y.cols,
      indptr: int32Indptr(addon, m.indptr, 'alsHalfStep: matrix.indptr'), indices: m.indices, data: m.data,
      other: y.data, gram: a.mode === 'implicit' ? (a.gram ?? null) : null,
      regularization: a.regularization, out: out.data, rowStart, rowEnd, threads, cancel,
      ...(a.loss ? { rowLoss: out.rowLoss ?? null, solve: a.solve !== false } : {}),
    }));
  } catch (e) {
    // the worker rejects with a plain Error; the reference throws a RangeError for this one
    if (e instanceof Error && !(e instanceof RangeError) && /is not positive definite/.test(e.message)) throw new RangeError(e.message, { cause: e });
    throw e;
  }
}

/**
 * Calls the addon's sgdEpoch (bit for bit the reference: same float64 expressions on the float32 parameters).
 * [sse, count] are added to out; returns this call's sse.
 */
export async function callSgdEpoch(addon: NativeAddon, a: SgdEpochArgs, out: Float64Array, rowStart: number, rowEnd: number, signal?: AbortSignal, threads = 1): Promise<number> {
  if (!addon.sgdEpoch) throw new Error('native backend: this affinity_native.node has no sgdEpoch; rebuild it (`npx affinity build`)');
  signal?.throwIfAborted();
  const svdpp = a.algorithm === 'svdpp';
  const n = svdpp ? a.implicitItems : undefined;
  if (svdpp && n && n.rows !== a.bu.length) throw new RangeError(`sgdEpoch: implicitItems has ${n.rows} rows, expected ${a.bu.length}`);
  const res = new Float64Array(2);
  await addon.sgdEpoch({
    algorithm: a.algorithm, factors: a.factors, user: a.user, item: a.item, rating: a.rating,
    ...(a.weight ? { weight: a.weight } : {}),
    order: a.order, globalMean: a.globalMean, biased: a.biased, lr: a.lr, reg: a.reg,
    bu: a.bu, bi: a.bi, pu: a.pu, qi: a.qi,
    ...(svdpp ? { yj: a.yj, nIndptr: n ? int32Indptr(addon, n.indptr, 'sgdEpoch: implicitItems.indptr') : undefined, nIndices: n?.indices } : {}),
    update: a.update ?? 'all', rowStart, rowEnd, out: res,
    ...(a.parallel ? { parallel: true, threads } : {}),
  });
  out[0] += res[0];
  out[1] += res[1];
  return res[0];
}

/**
 * Calls the addon's bprEpoch (the reference's xoshiro128** draws exactly; factors within float32 rounding of the
 * reference's, see native/core/include/affinity/bpr_epoch.h). [correct, skipped, lossSum] are added to out; returns
 * the mean loss over the non-skipped steps of this call.
 */
export async function callBprEpoch(addon: NativeAddon, a: BprEpochArgs, out: Float64Array, rowStart: number, rowEnd: number, signal?: AbortSignal, threads = 1): Promise<number> {
  if (!addon.bprEpoch) throw new Error('native backend: this affinity_native.node has no bprEpoch; rebuild it (`npx affinity build`)');
  signal?.throwIfAborted();
  const m = a.userItems;
  if (!(rowStart >= 0 && rowStart <= rowEnd)) throw new RangeError(`bprEpoch: bad step range [${rowStart}, ${rowEnd})`);
  const seen = a.verifyNegative && a.seen && a.seen !== m ? a.seen : undefined;
  if (seen && (seen.rows !== m.rows || seen.cols !== m.cols)) throw new RangeError('bprEpoch: seen has a different shape from userItems');
  if (a.negatives !== 'table' && a.negatives !== 'popularity') throw new RangeError(`bprEpoch: unknown negatives '${String(a.negatives)}' (popularity|table)`);
  const res = new Float64Array(3);
  const steps = rowEnd - rowStart;
  await addon.bprEpoch({
    factors: a.factors, users: m.rows, items: m.cols,
    indptr: int32Indptr(addon, m.indptr, 'bprEpoch: userItems.indptr'), indices: m.indices, entryUser: a.entryUser,
    seenIndptr: seen ? int32Indptr(addon, seen.indptr, 'bprEpoch: seen.indptr') : null, seenIndices: seen ? seen.indices : null,
    popularityItems: a.negatives === 'table' ? null : (a.popularityItems ?? null),
    negativeCdf: a.negatives === 'table' ? (a.negativeCdf ?? null) : null,
    userFactors: a.userFactors, itemFactors: a.itemFactors,
    learningRate: a.learningRate, regularization: a.regularization, verifyNegative: a.verifyNegative,
    update: a.update ?? 'all', rng: a.rng, steps, out: res,
    ...(a.parallel ? { parallel: true, threads } : {}),
  });
  out[0] += res[0]; out[1] += res[1]; out[2] += res[2];
  const used = steps - res[1];
  return used > 0 ? res[2] / used : 0;
}

function requireAddon(): NativeAddon {
  const r = loadNativeAddon();
  if ('error' in r) throw new Error(`native backend unavailable: ${unavailableReason(r, BUILD_HINT)}`);
  return r.addon;
}

/**
 * The native backend's probe of a loaded (or refused) module: unavailable with the reason when it did not load
 * or was built for another version; else the addon's own probe. Kernels this build lacks are removed from
 * `kernels` (an older .node may lack some); the engine reads `kernels` after the probe and falls back to js.
 */
export function probeNativeAddon(r: AddonLoad<NativeAddon>, kernels: Backend['kernels'], hint = nativeBuildHint()): BackendProbe {
  if ('error' in r) return { available: false, reason: unavailableReason(r, hint), details: { file: r.file } };
  for (const name of Object.keys(kernels).filter(isKernelName)) {
    if (typeof (r.addon as unknown as Record<string, unknown>)[name] !== 'function') delete kernels[name];
  }
  try {
    const p = r.addon.probe();
    return {
      available: true,
      reason: `C++ addon with ${p.simd} SIMD on ${p.threads} hardware threads`,
      details: { simd: p.simd, threads: p.threads, file: r.file, version: r.addon.version, limits: { ...r.addon.limits } },
    };
  } catch (e) {
    return { available: false, reason: `native addon probe failed: ${e instanceof Error ? e.message : String(e)}; ${BUILD_HINT}` };
  }
}

/**
 * The gemm kernel on the addon (native/core gemm.cpp: packed AVX-512/AVX2 micro-kernels, threaded,
 * cancellable between blocks; the CUDA module's is cuBLAS, native/cuda/gemm.cu, same options). The contract's output is its own contiguous buffer (batch·m rows
 * × n) while the addon computes C = α·op(A)·op(B) + β·C in place, so for β ≠ 0 the rows of C0
 * this call covers are copied into the output first; with β = 0 the addon never reads it.
 */
export async function callGemm(
  addon: Pick<NativeAddon, 'gemm'>, g: GemmArgs, out: Dense, rowStart: number, rowEnd: number, threads: number, signal?: AbortSignal,
  inline = false,
): Promise<void> {
  if (!addon.gemm) throw new Error('this affinity module has no gemm; rebuild it (`npx affinity build`)');
  const { m, n, k } = g;
  const batch = g.batch ?? 1, beta = g.beta ?? 0;
  const transA = g.transA ?? 'N', transB = g.transB ?? 'N';
  if (out.rows !== batch * m || out.cols !== n) throw new RangeError(`gemm: out is ${out.rows}×${out.cols}, expected ${batch * m}×${n}`);
  if (beta !== 0) {
    const sc = g.strideC ?? m * n, c = g.c!;
    for (let r = rowStart; r < rowEnd; r++) {
      const bi = Math.floor(r / m), at = bi * sc + (r - bi * m) * n;
      out.data.set(c.subarray(at, at + n), r * n);
    }
  }
  const { lda, ldb } = gemmLeadingDims(g);
  await withCancelFlag(signal, (cancel) => addon.gemm!({
    transA, transB, m, n, k, batch, alpha: g.alpha ?? 1, beta,
    a: g.a, lda, strideA: g.strideA ?? (transA === 'T' ? k : m) * lda,
    b: g.b, ldb, strideB: g.strideB ?? (transB === 'T' ? n : k) * ldb,
    c: out.data, ldc: n, strideC: m * n,
    rowStart, rowEnd, threads, cancel, ...(inline ? { inline } : {}),
  }));
}

/**
 * Calls with less work than this (the kernel's flops over the rows asked for) run on the calling
 * thread (the addon's `inline`): a call queued on a worker costs two thread hand-offs, tens of
 * microseconds, more than such a kernel computes in (a small model's training step is mostly
 * such calls: NeuMF's batches of 1,280 rows × 16–64 columns).
 */
export const NATIVE_INLINE_FLOPS = 1e6;

/** Whether this call of `kernel` is small enough to run on the calling thread (NATIVE_INLINE_FLOPS). */
export function runsInline<K extends KernelName>(kernel: K, args: KernelArgs<K>, rowStart: number, rowEnd: number): boolean {
  const def = getKernel(kernel);
  if (!def.flops) return false;
  const rows = def.rows(args);
  return rows <= 0 || (def.flops(args) * (rowEnd - rowStart)) / rows < NATIVE_INLINE_FLOPS;
}

/** A neural-network kernel (nnCalls.ts, native/addon/nn_args.h) as the backend's implementation. */
function nnKernel<K extends NnKernelName>(kernel: K): KernelImpl<KernelArgs<K>, KernelOutput<K>> {
  // async: a missing addon or a bad argument rejects the promise rather than throwing
  return async (args, out, rowStart, rowEnd, opts) => {
    const addon = requireAddon();
    // a small call runs on this thread alone: waking the addon's thread pool would cost more than it saves
    const inline = runsInline(kernel, args, rowStart, rowEnd);
    return callNnKernel(addon, kernel, args, out, rowStart, rowEnd, inline ? 1 : threadsFor(addon, opts), opts?.signal, inline);
  };
}

export const nativeBackend: Backend = {
  name: 'native',
  priority: 100,
  threading: 'internal',
  probe: (): BackendProbe => {
    const r = loadNativeAddon();
    // the kernels' validation scans large index arrays with the addon from now on (src/kernels/indexRange.ts)
    if ('addon' in r && typeof r.addon.int32InRange === 'function') {
      const addon = r.addon;
      useNativeIndexRangeCheck((v, limit) => addon.int32InRange!(v, limit));
    }
    return probeNativeAddon(r, nativeBackend.kernels);
  },
  kernels: {
    // async: a missing addon or a bad argument rejects the promise rather than throwing
    denseScoreTopK: async (args: DenseScoreTopKArgs, out: TopK, rowStart: number, rowEnd: number, opts?: KernelCallOptions) => {
      const addon = requireAddon();
      return callDenseScoreTopK(addon, args, out, rowStart, rowEnd, threadsFor(addon, opts), opts?.signal);
    },
    sparseSimilarityTopK: async (args: SparseSimilarityTopKArgs, out: TopK, rowStart: number, rowEnd: number, opts?: KernelCallOptions) => {
      const addon = requireAddon();
      return callSparseSimilarityTopK(addon, args, out, rowStart, rowEnd, threadsFor(addon, opts), opts?.signal);
    },
    alsHalfStep: async (args: AlsHalfStepArgs, out: AlsHalfStepOutput, rowStart: number, rowEnd: number, opts?: KernelCallOptions) => {
      const addon = requireAddon();
      return callAlsHalfStep(addon, args, out, rowStart, rowEnd, threadsFor(addon, opts), opts?.signal);
    },
    // sequential kernels (registered splittable: false): one call over the whole range, on one thread,
    // or with `parallel` Hogwild over the engine's threads (native/core hogwild.cpp)
    sgdEpoch: async (args: SgdEpochArgs, out: Float64Array, rowStart: number, rowEnd: number, opts?: KernelCallOptions) => {
      const addon = requireAddon();
      await callSgdEpoch(addon, args, out, rowStart, rowEnd, opts?.signal, threadsFor(addon, opts));
    },
    bprEpoch: async (args: BprEpochArgs, out: Float64Array, rowStart: number, rowEnd: number, opts?: KernelCallOptions) => {
      const addon = requireAddon();
      await callBprEpoch(addon, args, out, rowStart, rowEnd, opts?.signal, threadsFor(addon, opts));
    },
    gemm: async (args: GemmArgs, out: Dense, rowStart: number, rowEnd: number, opts?: KernelCallOptions) => {
      const addon = requireAddon();
      const inline = runsInline('gemm', args, rowStart, rowEnd);
      return callGemm(addon, args, out, rowStart, rowEnd, inline ? 1 : threadsFor(addon, opts), opts?.signal, inline);
    },
    // the neural-network kernels (src/kernels/nn)
    biasActivation: nnKernel('biasActivation'),
    activationBackward: nnKernel('activationBackward'),
    columnSums: nnKernel('columnSums'),
    layerNorm: nnKernel('layerNorm'),
    layerNormBackward: nnKernel('layerNormBackward'),
    layerNormParamGrad: nnKernel('layerNormParamGrad'),
    maskedSoftmax: nnKernel('maskedSoftmax'),
    softmaxBackward: nnKernel('softmaxBackward'),
    softmaxCrossEntropy: nnKernel('softmaxCrossEntropy'),
    sigmoidCrossEntropy: nnKernel('sigmoidCrossEntropy'),
    embeddingGather: nnKernel('embeddingGather'),
    segmentSum: nnKernel('segmentSum'),
    dropout: nnKernel('dropout'),
    adamUpdate: nnKernel('adamUpdate'),
    spdSolve: nnKernel('spdSolve'),
    elementwise: nnKernel('elementwise'),
    // the fused output layer: the native module only (the CUDA backend lacks it; SasrecNet then runs the separate kernels)
    softmaxOutputLayer: nnKernel('softmaxOutputLayer'),
  },
};
