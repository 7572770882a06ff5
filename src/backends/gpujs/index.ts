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
 * gpu.js is CommonJS and heavy (it pulls in headless-gl when present): it is loaded lazily
 * with createRequire, and a load failure only makes this backend unavailable, with the error.
 */
import { createRequire } from 'node:module';
import type { Backend, BackendProbe, KernelCallOptions } from '../types.js';
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import type { TopK } from '../../data/matrix.js';
import { TopKHeap } from '../../kernels/topk.js';

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
export function gpujsMode(): string {
  return getGpu().mode;
}

/** Modes in which gpu.js actually runs on a GPU. */
const GPU_MODES = new Set(['gpu', 'headlessgl', 'webgl', 'webgl2', 'webgpu']);

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

export async function denseScoreTopKGpujs(a: DenseScoreTopKArgs, out: TopK, rowStart: number, rowEnd: number, opts?: KernelCallOptions): Promise<void> {
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
  },
};
