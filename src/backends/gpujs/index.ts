/**
 * The `gpujs` backend: gpu.js kernels. gpu.js picks its own mode at run time: a WebGL context
 * (headless-gl in Node, which needs the optional `gl` addon built and a display), its
 * WebAssembly mode ('webasm'), or plain JavaScript ('cpu'). Whatever the mode, this backend
 * is only ever used where calibration shows it wins; the probe says which mode it runs in.
 *
 * denseScoreTopK: the score block (a chunk of query rows × a block of keys) is computed by a
 * gpu.js kernel in float32 (GL textures are float32; the CPU modes are too), then the top-k
 * of each row is selected here on the CPU with the reference's TopKHeap, so ordering, ties,
 * exclusions, padding and NaN handling are the reference's. Chunks keep the output texture
 * at most CELLS_PER_CALL floats and at most MAX_KEYS_PER_CALL keys wide.
 *
 * alsHalfStep: the dense part of each row's system — Σ_{i∈u} w_ui·y_i y_iᵀ (f×f) and the right-hand side
 * Σ_{i∈u} v_ui·y_i — is built for a chunk of rows at once by one gpu.js kernel (one thread per cell of
 * A and b per row, float32); the f×f solve (float64 Cholesky, or CG on the formed system, warm-started
 * from out's rows as the reference does) runs here on the CPU. gramianGpujs(Y) computes YᵀY on gpu.js.
 *
 * gemm: each chunk of rows of op(A) (packed contiguous on the CPU) times a block of columns of
 * op(B) (packed likewise) is one gpu.js kernel call with one thread per output cell (float32
 * accumulation); α, β·C0 and the batch loop are applied here. Chunks keep every texture index
 * below 2^24 (float32's exact integers) and the output within CELLS_PER_CALL floats.
 *
 * gpu.js is CommonJS and heavy (it pulls in headless-gl when present): it is loaded lazily
 * with createRequire, and a load failure only makes this backend unavailable, with the error.
 */
import { createRequire } from 'node:module';
import type { Backend, BackendProbe } from '../types.js';
import type { KernelCallOptions } from '../../kernels/contract.js';
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import { choleskySolve, conjugateGradientSteps, type AlsHalfStepArgs } from '../../kernels/alsHalfStep.js';
import type { Dense, TopK } from '../../data/matrix.js';
import { TopKHeap } from '../../kernels/topk.js';
import { gemmLeadingDims, type GemmArgs } from '../../kernels/gemm.js';

/** The part of gpu.js this backend uses (its own typings are not relied on). */
interface GpuKernel {
  (...args: unknown[]): unknown;
  setOutput(out: number[]): GpuKernel;
}
interface GpuInstance {
  mode: string;
  createKernel(source: string, settings: Record<string, unknown>): GpuKernel;
  destroy(): void;
}
interface GpuModule {
  GPU: new (settings?: Record<string, unknown>) => GpuInstance;
}

/** Output floats per kernel call (16 MiB of float32). */
let CELLS_PER_CALL = 1 << 22;
/** Keys per call: the output texture's width must stay under WebGL's max texture size. */
let MAX_KEYS_PER_CALL = 8192;

/** Change the chunking (tests use tiny chunks to exercise the stitching); returns the previous values. */
export function setGpujsChunking(c: { cells?: number; keys?: number }): { cells: number; keys: number } {
  const prev = { cells: CELLS_PER_CALL, keys: MAX_KEYS_PER_CALL };
  if (c.cells !== undefined) CELLS_PER_CALL = Math.max(1, Math.floor(c.cells));
  if (c.keys !== undefined) MAX_KEYS_PER_CALL = Math.max(1, Math.floor(c.keys));
  return prev;
}

let moduleOrError: GpuModule | Error | undefined;
let gpu: GpuInstance | null = null;

function loadGpuJs(): GpuModule {
  if (moduleOrError === undefined) {
    try {
      const require = createRequire(import.meta.url);
      moduleOrError = require('gpu.js') as GpuModule;
      if (typeof moduleOrError.GPU !== 'function') moduleOrError = new Error("the 'gpu.js' module has no GPU class");
    } catch (e) {
      moduleOrError = e instanceof Error ? e : new Error(String(e));
    }
  }
  if (moduleOrError instanceof Error) throw moduleOrError;
  return moduleOrError;
}

function getGpu(): GpuInstance {
  if (!gpu) {
    const { GPU } = loadGpuJs();
    gpu = new GPU();
  }
  return gpu;
}

/** The mode gpu.js runs in here ('headlessgl', 'webgl2', 'webasm', 'cpu', …), or throws the load error. */
function gpujsMode(): string {
  return getGpu().mode;
}

/** Modes in which gpu.js actually runs on a GPU. */
const GPU_MODES = new Set(['gpu', 'headlessgl', 'webgl', 'webgl2', 'webgpu']);

/** Whether gpu.js runs on a GPU here (false in its CPU / WebAssembly fallback modes, or when it fails to load). */
export function gpujsOnGpu(): boolean {
  try {
    return GPU_MODES.has(gpujsMode());
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// score kernels, cached per (metric, feature count)

// Sources are strings so the TypeScript compiler never rewrites what gpu.js parses.
// q: the chunk's query rows (flat, d per row); keys: the key block (flat); qn/kn: norms.
const DOT_SOURCE = `function (q, keys) {
  let s = 0;
  const qo = this.thread.y * this.constants.d;
  const ko = this.thread.x * this.constants.d;
  for (let f = 0; f < this.constants.d; f++) {
    s += q[qo + f] * keys[ko + f];
  }
  return s;
}`;

const COSINE_SOURCE = `function (q, keys, qn, kn) {
  let s = 0;
  const qo = this.thread.y * this.constants.d;
  const ko = this.thread.x * this.constants.d;
  for (let f = 0; f < this.constants.d; f++) {
    s += q[qo + f] * keys[ko + f];
  }
  const den = qn[this.thread.y] * kn[this.thread.x];
  let r = 0;
  if (den > 0) {
    r = s / den;
  }
  return r;
}`;

const kernelCache = new Map<string, GpuKernel>();

function scoreKernel(metric: 'dot' | 'cosine', d: number): GpuKernel {
  const key = `${metric}:${d}`;
  let k = kernelCache.get(key);
  if (!k) {
    k = getGpu().createKernel(metric === 'cosine' ? COSINE_SOURCE : DOT_SOURCE, {
      constants: { d },
      output: [1, 1],
      dynamicOutput: true,
      dynamicArguments: true,
      precision: 'single',
      tactic: 'precision',
      loopMaxIterations: Math.max(1, d),
    });
    kernelCache.set(key, k);
  }
  return k;
}

function rowNorms(data: Float32Array, rows: number, d: number, rowOffset = 0): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let f = 0, o = (rowOffset + r) * d; f < d; f++) s += data[o + f] * data[o + f];
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** Copy a gpu.js result (Float32Array rows for 2-D output, or one Float32Array) into block[row*stride + col0 ..]. */
function copyResult(res: unknown, block: Float32Array, rows: number, width: number, stride: number, col0: number): void {
  if (Array.isArray(res)) {
    if (res.length !== rows) throw new Error(`gpu.js returned ${res.length} rows, expected ${rows}`);
    for (let r = 0; r < rows; r++) {
      const row = res[r] as ArrayLike<number>;
      if (row.length < width) throw new Error(`gpu.js returned a row of ${row.length} values, expected ${width}`);
      if (row instanceof Float32Array) block.set(row.length === width ? row : row.subarray(0, width), r * stride + col0);
      else for (let c = 0; c < width; c++) block[r * stride + col0 + c] = row[c];
    }
    return;
  }
  if (res instanceof Float32Array && rows === 1) {
    block.set(res.subarray(0, width), col0);
    return;
  }
  throw new Error('gpu.js returned an unexpected result shape');
}

async function denseScoreTopKGpujs(a: DenseScoreTopKArgs, out: TopK, rowStart: number, rowEnd: number, opts?: KernelCallOptions): Promise<void> {
  const { queries: q, keys, exclude } = a;
  const d = q.cols, nKeys = keys.rows, kk = out.k;
  if (rowEnd <= rowStart) return;
  const heap = new TopKHeap(kk);
  if (nKeys === 0 || kk === 0) {
    for (let r = rowStart; r < rowEnd; r++) heap.drainInto(out.ids, out.scores, r * kk);
    return;
  }
  const cosine = a.metric === 'cosine';
  const kernel = scoreKernel(cosine ? 'cosine' : 'dot', d);
  const keyBlock = Math.min(nKeys, MAX_KEYS_PER_CALL);
  // rows per chunk: the chunk's scores (rows × all keys) stay within CELLS_PER_CALL floats
  const chunkRows = Math.max(1, Math.min(rowEnd - rowStart, Math.floor(CELLS_PER_CALL / nKeys)));
  const keyNorms = cosine ? rowNorms(keys.data, nKeys, d) : null;
  const block = new Float32Array(chunkRows * nKeys);
  const skip = new Uint8Array(nKeys);

  for (let r0 = rowStart; r0 < rowEnd; r0 += chunkRows) {
    opts?.signal?.throwIfAborted();
    const n = Math.min(chunkRows, rowEnd - r0);
    const qChunk = q.data.subarray(r0 * d, (r0 + n) * d);
    const qNorms = cosine ? rowNorms(q.data, n, d, r0) : null;
    for (let c0 = 0; c0 < nKeys; c0 += keyBlock) {
      const w = Math.min(keyBlock, nKeys - c0);
      const kChunk = keys.data.subarray(c0 * d, (c0 + w) * d);
      kernel.setOutput([w, n]);
      const res = cosine ? kernel(qChunk, kChunk, qNorms, keyNorms!.subarray(c0, c0 + w)) : kernel(qChunk, kChunk);
      copyResult(res, block, n, w, nKeys, c0);
    }
    // top-k per row on the CPU, with the reference's heap (same order, ties, NaN rule)
    for (let i = 0; i < n; i++) {
      const r = r0 + i;
      if (exclude) for (let p = exclude.indptr[r]; p < exclude.indptr[r + 1]; p++) skip[exclude.indices[p]] = 1;
      const o = i * nKeys;
      for (let j = 0; j < nKeys; j++) {
        if (skip[j] || (a.excludeSelf && j === r)) continue;
        heap.push(j, block[o + j]);
      }
      heap.drainInto(out.ids, out.scores, r * kk);
      if (exclude) for (let p = exclude.indptr[r]; p < exclude.indptr[r + 1]; p++) skip[exclude.indices[p]] = 0;
    }
    // let the event loop breathe between chunks (abort signals, timers)
    if (r0 + n < rowEnd) await new Promise<void>((res) => setImmediate(res));
  }
}

// ---------------------------------------------------------------------------------------------
// alsHalfStep: per-row systems on gpu.js, solves on the CPU

// One thread per (cell, row): cells [0, f²) are A's entries Σ w_q·y[i]·y[j] over the row's stored entries q,
// cells [f², f² + f) are b's entries Σ v_q·y[i]. indptr is the chunk's (rebased to 0); idx, w, v per entry.
const ALS_SOURCE = `function (indptr, idx, w, v, y) {
  const f = this.constants.f;
  const cell = this.thread.x;
  const start = indptr[this.thread.y];
  const end = indptr[this.thread.y + 1];
  let s = 0;
  if (cell < f * f) {
    const i = Math.floor(cell / f);
    const j = cell - i * f;
    for (let q = start; q < end; q++) {
      const o = idx[q] * f;
      s += w[q] * y[o + i] * y[o + j];
    }
  } else {
    const i = cell - f * f;
    for (let q = start; q < end; q++) {
      s += v[q] * y[idx[q] * f + i];
    }
  }
  return s;
}`;

const GRAM_SOURCE = `function (y) {
  let s = 0;
  for (let r = 0; r < this.constants.m; r++) {
    s += y[r * this.constants.f + this.thread.x] * y[r * this.constants.f + this.thread.y];
  }
  return s;
}`;

/** gpu.js unrolls/limits dynamic loops on GL to loopMaxIterations: kernels are cached per power-of-two bound. */
function alsKernel(f: number, maxRowLength: number): GpuKernel {
  let bound = 1;
  while (bound < maxRowLength) bound *= 2;
  const key = `als:${f}:${bound}`;
  let k = kernelCache.get(key);
  if (!k) {
    k = getGpu().createKernel(ALS_SOURCE, {
      constants: { f }, output: [1, 1], dynamicOutput: true, dynamicArguments: true,
      precision: 'single', tactic: 'precision', loopMaxIterations: bound,
    });
    kernelCache.set(key, k);
  }
  return k;
}

/** YᵀY (f × f, float64 result of float32 sums) of a dense m × f matrix, on gpu.js. */
export function gramianGpujs(y: Dense): Float64Array {
  const f = y.cols, m = y.rows;
  const g = new Float64Array(f * f);
  if (f === 0 || m === 0) return g;
  const key = `gram:${f}:${m}`;
  let k = kernelCache.get(key);
  if (!k) {
    k = getGpu().createKernel(GRAM_SOURCE, {
      constants: { f, m }, output: [f, f], precision: 'single', tactic: 'precision', loopMaxIterations: Math.max(1, m),
    });
    kernelCache.set(key, k);
  }
  const block = new Float32Array(f * f);
  copyResult(k(Float32Array.from(y.data.subarray(0, m * f))), block, f, f, f, 0);
  g.set(block);
  return g;
}

/** Exact-integer limit of float32 indices (GL textures hold floats). */
const F32_EXACT = 1 << 24;

/** Why an alsHalfStep call is beyond a GPU context (factor indices past float32's exact integers), or null. */
function alsBeyondGpuIndexing(a: AlsHalfStepArgs): string | null {
  const { rows, cols } = a.other;
  return rows * cols >= F32_EXACT && GPU_MODES.has(gpujsMode()) ? `${rows}×${cols} factors exceed float32 indexing on the GPU` : null;
}

async function alsHalfStepGpujs(a: AlsHalfStepArgs, out: Dense, rowStart: number, rowEnd: number, opts?: KernelCallOptions): Promise<void> {
  const { matrix: m, other } = a;
  const f = other.cols, X = out.data, lambda = a.regularization;
  const implicit = a.mode === 'implicit';
  if (rowEnd <= rowStart) return;
  if (f === 0) return;
  const gram = a.gram;
  if (implicit && (!gram || gram.length !== f * f)) throw new RangeError(`alsHalfStep (gpujs): mode implicit needs gram of length ${f * f}`);
  const beyond = alsBeyondGpuIndexing(a);
  if (beyond) throw new RangeError(`alsHalfStep (gpujs): ${beyond}`);
  const width = f * f + f;
  const chunkRows = Math.max(1, Math.min(rowEnd - rowStart, Math.floor(CELLS_PER_CALL / width)));
  const Y = Float32Array.from(other.data.subarray(0, other.rows * f)); // a plain (non-shared) copy for gpu.js
  const block = new Float32Array(chunkRows * width);
  const A = new Float64Array(f * f), b = new Float64Array(f);
  const x = new Float64Array(f), r = new Float64Array(f), p = new Float64Array(f), Ap = new Float64Array(f);
  const steps = a.cgSteps ?? 3;
  const { indptr, indices, data } = m;

  for (let r0 = rowStart; r0 < rowEnd; r0 += chunkRows) {
    opts?.signal?.throwIfAborted();
    const n = Math.min(chunkRows, rowEnd - r0);
    const q0 = indptr[r0], q1 = indptr[r0 + n], nq = q1 - q0;
    if (nq > 0) {
      const lp = new Float32Array(n + 1);
      let maxLen = 1;
      for (let i = 0; i < n; i++) { lp[i + 1] = indptr[r0 + i + 1] - q0; maxLen = Math.max(maxLen, lp[i + 1] - lp[i]); }
      const idx = new Float32Array(nq), w = new Float32Array(nq), v = new Float32Array(nq);
      for (let q = 0; q < nq; q++) {
        const c = data[q0 + q];
        idx[q] = indices[q0 + q];
        // the reference's weights: implicit w = |c| − 1 and v = c where c > 0 (else 0); explicit w = 1, v = r
        if (implicit) { w[q] = (c < 0 ? -c : c) - 1; v[q] = c > 0 ? c : 0; } else { w[q] = 1; v[q] = c; }
      }
      const kernel = alsKernel(f, maxLen);
      kernel.setOutput([width, n]);
      copyResult(kernel(lp, idx, w, v, Y), block, n, width, width, 0);
    }
    for (let i = 0; i < n; i++) {
      const u = r0 + i, len = indptr[u + 1] - indptr[u], xo = u * f, bo = i * width;
      if (len === 0) { X.fill(0, xo, xo + f); continue; }
      const ridge = implicit ? lambda : lambda * len;
      for (let c = 0; c < f * f; c++) A[c] = block[bo + c] + (implicit ? gram![c] : 0);
      for (let k = 0; k < f; k++) { A[k * f + k] += ridge; b[k] = block[bo + f * f + k]; }
      if (a.solver === 'cholesky') {
        if (!choleskySolve(A, b, f)) throw new RangeError(`alsHalfStep: the system of row ${u} is not positive definite; increase regularization (now ${lambda})`);
        for (let k = 0; k < f; k++) X[xo + k] = b[k];
        continue;
      }
      // CG on the formed system, warm start from the current row (the reference's iteration)
      const mulA = (vec: Float64Array, o: Float64Array): void => {
        for (let s = 0; s < f; s++) {
          let t = 0;
          for (let k = 0, so = s * f; k < f; k++) t += A[so + k] * vec[k];
          o[s] = t;
        }
      };
      for (let k = 0; k < f; k++) x[k] = X[xo + k];
      mulA(x, r);
      for (let k = 0; k < f; k++) r[k] = b[k] - r[k];
      conjugateGradientSteps(mulA, x, r, p, Ap, f, steps);
      for (let k = 0; k < f; k++) X[xo + k] = x[k];
    }
    if (r0 + n < rowEnd) await new Promise<void>((res) => setImmediate(res));
  }
}

// ---------------------------------------------------------------------------------------------
// gemm: packed chunks of op(A) × blocks of op(B) on gpu.js

const GEMM_SOURCE = `function (a, b) {
  let s = 0;
  const ao = this.thread.y * this.constants.k;
  for (let p = 0; p < this.constants.k; p++) {
    s += a[ao + p] * b[p * this.constants.w + this.thread.x];
  }
  return s;
}`;

function gemmKernelFor(k: number, w: number): GpuKernel {
  const key = `gemm:${k}:${w}`;
  let kern = kernelCache.get(key);
  if (!kern) {
    kern = getGpu().createKernel(GEMM_SOURCE, {
      constants: { k, w }, output: [1, 1], dynamicOutput: true, dynamicArguments: true,
      precision: 'single', tactic: 'precision', loopMaxIterations: Math.max(1, k),
    });
    kernelCache.set(key, kern);
  }
  return kern;
}

async function gemmGpujs(g: GemmArgs, out: Dense, rowStart: number, rowEnd: number, opts?: KernelCallOptions): Promise<void> {
  const { m, n, k } = g;
  if (rowEnd <= rowStart || n === 0) return;
  const alpha = g.alpha ?? 1, beta = g.beta ?? 0;
  const tA = g.transA === 'T', tB = g.transB === 'T';
  const { lda, ldb } = gemmLeadingDims(g);
  const sa = g.strideA ?? (tA ? k : m) * lda, sb = g.strideB ?? (tB ? n : k) * ldb, sc = g.strideC ?? m * n;
  const o = out.data;
  // column blocks of op(B) and row chunks of op(A) whose texture indices stay below 2^24
  const w = Math.max(1, Math.min(n, MAX_KEYS_PER_CALL, Math.floor((F32_EXACT - 1) / Math.max(1, k))));
  const chunk = Math.max(1, Math.min(Math.floor(CELLS_PER_CALL / w), Math.floor((F32_EXACT - 1) / Math.max(1, k))));
  const bBlock = new Float32Array(k * w);
  for (let r0 = rowStart; r0 < rowEnd;) {
    opts?.signal?.throwIfAborted();
    // rows of one batch entry at a time
    const bi = Math.floor(r0 / m), i0 = r0 - bi * m;
    const rows = Math.min(chunk, rowEnd - r0, m - i0);
    const aBase = bi * sa, bBase = bi * sb;
    const aChunk = new Float32Array(rows * k);
    for (let i = 0; i < rows; i++) for (let p = 0; p < k; p++) aChunk[i * k + p] = tA ? g.a[aBase + p * lda + i0 + i] : g.a[aBase + (i0 + i) * lda + p];
    for (let c0 = 0; c0 < n; c0 += w) {
      const width = Math.min(w, n - c0);
      if (k > 0) {
        for (let p = 0; p < k; p++) for (let j = 0; j < width; j++) bBlock[p * w + j] = tB ? g.b[bBase + (c0 + j) * ldb + p] : g.b[bBase + p * ldb + c0 + j];
        const kern = gemmKernelFor(k, w);
        kern.setOutput([width, rows]);
        copyResult(kern(aChunk, bBlock), o, rows, width, n, r0 * n + c0);
      } else {
        for (let i = 0; i < rows; i++) o.fill(0, (r0 + i) * n + c0, (r0 + i) * n + c0 + width);
      }
    }
    for (let i = 0; i < rows; i++) {
      const ro = (r0 + i) * n, co = bi * sc + (i0 + i) * n;
      for (let j = 0; j < n; j++) o[ro + j] = beta !== 0 ? alpha * o[ro + j] + beta * g.c![co + j] : alpha * o[ro + j];
    }
    r0 += rows;
    if (r0 < rowEnd) await new Promise<void>((res) => setImmediate(res));
  }
}

function probeGpujs(): BackendProbe {
  let mode: string;
  try {
    mode = gpujsMode();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { available: false, reason: `gpu.js failed to load or start: ${msg.split('\n')[0]}` };
  }
  // a tiny call proves the kernel compiles and runs in this mode
  try {
    const k = scoreKernel('dot', 2);
    k.setOutput([2, 1]);
    const res = k(new Float32Array([1, 2]), new Float32Array([3, 4, 5, 6]));
    const block = new Float32Array(2);
    copyResult(res, block, 1, 2, 2, 0);
    if (block[0] !== 11 || block[1] !== 17) throw new Error(`self-test returned [${block[0]}, ${block[1]}], expected [11, 17]`);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { available: false, reason: `gpu.js in '${mode}' mode failed its self-test: ${msg.split('\n')[0]}`, details: { mode } };
  }
  const onGpu = GPU_MODES.has(mode);
  const reason = onGpu
    ? `gpu.js in '${mode}' mode (WebGL context, float32 textures) — calibration decides whether it is used`
    : `gpu.js in '${mode}' mode: no WebGL context (headless-gl not built or no display) — calibration decides whether it is ever used`;
  return { available: true, reason, details: { mode, gpu: onGpu } };
}

export const gpujsBackend: Backend = {
  name: 'gpujs',
  // below js: on this kind of machine gpu.js runs on the CPU; calibration promotes it where it measures faster
  priority: -10,
  threading: 'internal',
  probe: probeGpujs,
  kernels: {
    denseScoreTopK: denseScoreTopKGpujs,
    alsHalfStep: alsHalfStepGpujs,
    gemm: gemmGpujs,
  },
  supports: { alsHalfStep: alsBeyondGpuIndexing },
};
