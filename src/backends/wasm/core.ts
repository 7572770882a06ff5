/**
 * The browser-usable core of the `wasm` backend: instantiate build/wasm/affinity.wasm from bytes and run its
 * kernels on plain typed arrays. No Node APIs here (the page in test/browser loads this file as a plain ES
 * module); Node-only loading (fs, paths) lives in ./index.ts.
 *
 * Memory: the module exports its own (non-shared) linear memory; every call copies its inputs in (keys, the
 * task's query rows, its exclusion rows) and its output rows out. See ./index.ts for why copy-in/copy-out
 * rather than a shared memory.
 */
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import type { PreparedSimilarity, SparseSimilarityTopKArgs } from '../../kernels/sparseSimilarityTopK.js';
import type { TopK } from '../../data/matrix.js';

/** The few WebAssembly JS API members used here (the project compiles without DOM typings). */
interface WasmMemory { buffer: ArrayBuffer; grow(pages: number): number }
interface WasmExports {
  memory: WasmMemory;
  heapBase(): number;
  packRows(src: number, dst: number, n: number, d: number, width: number, normalize: number): void;
  setup(
    d: number, keys: number, panels: number, q: number, rowBase: number, excludeSelf: number, exPtr: number, exIdx: number,
    kk: number, heapS: number, heapI: number, count: number, thr: number, cursor: number, outI: number, outS: number,
    scratch: number, keyBlock: number,
  ): void;
  scoreRows(r0: number, r1: number): void;
  simStride(metric: number): number;
  simSetMatrix(tIndptr: number, tIndices: number, tValues: number, rowNorm: number, rowCount: number): void;
  simSetTask(
    metric: number, qIndptr: number, qIndices: number, qValues: number, rowBase: number, scratch: number, touched: number,
    kk: number, heapS: number, heapI: number, outI: number, outS: number,
    shrink: number, minSupport: number, minSim: number, excludeSelf: number,
  ): void;
  simRows(r0: number, r1: number): void;
}
interface WasmApi {
  validate(bytes: ArrayBuffer | ArrayBufferView): boolean;
  Module: new (bytes: ArrayBuffer | ArrayBufferView) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  instantiate(bytes: ArrayBuffer | ArrayBufferView, imports: object): Promise<{ instance: { exports: unknown } }>;
}

export type WasmBytes = ArrayBuffer | ArrayBufferView;

function wasmApi(): WasmApi {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) throw new Error('this JavaScript runtime has no WebAssembly');
  return api;
}

/** A minimal module using one v128 instruction: validates only where WebAssembly SIMD is supported. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b, // code: i32.const 0; i8x16.splat; i8x16.popcnt; end
]);

/** Whether this runtime supports WebAssembly SIMD (v128). */
export function wasmSimdSupported(): boolean {
  try {
    return wasmApi().validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Plain typed-array views of the kernel inputs (the Dense/Csr/TopK shapes of src/data/matrix.ts). */
export type DenseScoreTopKInput = Pick<DenseScoreTopKArgs, 'queries' | 'keys' | 'k' | 'metric' | 'exclude' | 'excludeSelf'>;
export type TopKOutput = Pick<TopK, 'k' | 'ids' | 'scores'>;

/**
 * sparseSimilarityTopK's inputs: the options of SparseSimilarityTopKArgs and `prepared` (required here: this core
 * has no value imports, so it cannot run prepareSparseSimilarity itself; ./index.ts fills it in for Node).
 */
export type SparseSimilarityTopKInput = Pick<
  SparseSimilarityTopKArgs, 'matrix' | 'metric' | 'shrinkage' | 'minSupport' | 'minSimilarity' | 'excludeSelf'
> & { prepared: PreparedSimilarity };

/** Counters of the copies into linear memory (for measurements and tests). */
export interface WasmCopyStats {
  /** sparseSimilarityTopK calls that found the matrix side (transpose, norms) already in linear memory */
  simCacheHits: number;
  /** calls that copied it in */
  simCacheMisses: number;
  /** bytes copied into linear memory, all kernels */
  bytesIn: number;
}

export interface AffinityWasm {
  /** Rows [rowStart, rowEnd) of denseScoreTopK into `out` (same contract as denseScoreTopKReference). */
  denseScoreTopK(args: DenseScoreTopKInput, out: TopKOutput, rowStart: number, rowEnd: number): void;
  /**
   * Rows [rowStart, rowEnd) of sparseSimilarityTopK into `out` (same contract as sparseSimilarityTopKReference;
   * the scores are the reference's to the bit). The matrix side (the transpose of X' and the row norms) stays in
   * linear memory after the call and is reused by the next call whose prepared arrays are the same buffers
   * (same ArrayBuffer/SharedArrayBuffer objects, offsets and lengths); their contents must not change in between.
   */
  sparseSimilarityTopK(args: SparseSimilarityTopKInput, out: TopKOutput, rowStart: number, rowEnd: number): void;
  /** Bytes of linear memory the instance currently holds. */
  memoryBytes(): number;
  /** Copy counters since instantiation. */
  stats(): WasmCopyStats;
}

/** Query rows scored per call into the module (also lets V8 tier the kernel up early in a long task). */
const ROW_BLOCK = 128;
/** Target bytes of packed keys per cache block (kept in L1/L2 while a query block runs over them). */
const KEY_BLOCK_BYTES = 32 * 1024;

/** Output bytes per block of rows in sparseSimilarityTopK (bounds linear memory when k is large, e.g. 'all'). */
const SIM_OUT_BLOCK_BYTES = 4 * 1024 * 1024;

/** 16-byte alignment of a byte offset (offsets may exceed 2^31, so no bit operators). */
const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** Metric codes of assembly/similarity.ts. */
const SIM_METRIC: Record<string, number> = {
  dot: 0, cosine: 1, 'cosine-common': 2, 'adjusted-cosine': 3, pearson: 4, 'pearson-baseline': 5, msd: 6, jaccard: 7,
};

type Typed = Int32Array | Float64Array | Float32Array | Uint32Array;

/** Identity of a typed array's memory: its buffer object (held weakly), offset and length. */
interface BufferKey { buf: WeakRef<ArrayBufferLike>; offset: number; length: number }
const bufferKey = (a: Typed): BufferKey => ({ buf: new WeakRef(a.buffer), offset: a.byteOffset, length: a.length });
const sameBuffer = (k: BufferKey, a: Typed): boolean => k.buf.deref() === a.buffer && k.offset === a.byteOffset && k.length === a.length;

/** The matrix side of sparseSimilarityTopK kept in linear memory between calls. */
interface SimCache {
  keys: BufferKey[];
  rows: number;
  cols: number;
  tIndptr: number;
  tIndices: number;
  tValues: number;
  rowNorm: number;
  /** first free byte after the cached data */
  end: number;
}

/** Bump allocator over linear memory from `at` (16-byte aligned blocks). */
class Layout {
  constructor(public at: number) {}
  take(bytes: number): number {
    const p = this.at;
    this.at = align16(this.at + bytes);
    return p;
  }
}

class Instance implements AffinityWasm {
  private readonly ex: WasmExports;
  private readonly base: number;
  private simCache: SimCache | null = null;
  private readonly counters: WasmCopyStats = { simCacheHits: 0, simCacheMisses: 0, bytesIn: 0 };

  constructor(exports: unknown) {
    this.ex = exports as WasmExports;
    for (const name of ['memory', 'heapBase', 'packRows', 'setup', 'scoreRows', 'simStride', 'simSetMatrix', 'simSetTask', 'simRows'] as const) {
      if (!(name in this.ex)) throw new Error(`affinity.wasm lacks the export '${name}' (rebuild it: npm run build:wasm)`);
    }
    this.base = align16(this.ex.heapBase());
  }

  memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  stats(): WasmCopyStats {
    return { ...this.counters };
  }

  private ensure(bytes: number, kernel: string): ArrayBuffer {
    const mem = this.ex.memory;
    const have = mem.buffer.byteLength;
    if (bytes > 4 * 1024 * 1024 * 1024) throw new RangeError(`${kernel} (wasm): needs ${bytes} bytes of linear memory, over the 4 GiB limit of wasm32; use smaller row ranges or another backend`);
    if (bytes > have) mem.grow(Math.ceil((bytes - have) / 65536));
    return mem.buffer;
  }

  /** Copy `src` into linear memory at byte offset `at` as element type `Ctor` (converting if the types differ). */
  private put(buf: ArrayBuffer, at: number, src: ArrayLike<number> & Typed, Ctor: Int32ArrayConstructor | Float64ArrayConstructor | Float32ArrayConstructor | Uint32ArrayConstructor, length = src.length): void {
    const view = new Ctor(buf, at, length);
    view.set(src.length === length ? src : src.subarray(0, length));
    this.counters.bytesIn += length * Ctor.BYTES_PER_ELEMENT;
  }

  denseScoreTopK(args: DenseScoreTopKInput, out: TopKOutput, rowStart: number, rowEnd: number): void {
    const { queries, keys, exclude } = args;
    const d = queries.cols;
    const nKeys = keys.rows;
    const kk = out.k;
    if (keys.cols !== d) throw new RangeError(`denseScoreTopK (wasm): queries have ${d} columns, keys ${keys.cols}`);
    if (!(rowStart >= 0 && rowEnd <= queries.rows && rowStart <= rowEnd)) throw new RangeError(`denseScoreTopK (wasm): row range [${rowStart}, ${rowEnd}) outside [0, ${queries.rows})`);
    if (queries.data.length < queries.rows * d || keys.data.length < nKeys * d) throw new RangeError('denseScoreTopK (wasm): queries/keys data shorter than rows×cols');
    if (out.ids.length < rowEnd * kk || out.scores.length < rowEnd * kk) throw new RangeError('denseScoreTopK (wasm): output shorter than rows×k');
    const n = rowEnd - rowStart;
    if (n === 0 || kk === 0) return;
    this.simCache = null; // the layout below starts at the base

    const nPad = (n + 3) & ~3;
    const panels = (nKeys + 7) >> 3;
    let exTotal = 0, exFirst = 0;
    if (exclude) {
      exFirst = exclude.indptr[rowStart];
      exTotal = exclude.indptr[rowEnd] - exFirst;
    }
    // layout (bytes, 16-aligned)
    let at = this.base;
    const take = (bytes: number) => { const p = at; at = align16(at + bytes); return p; };
    const staging = take(Math.max(nKeys, n) * d * 4);
    const kPanels = take(panels * d * 32);
    const qPanels = take((nPad / 4) * d * 16);
    const exPtr = exclude ? take((nPad + 1) * 4) : 0;
    const exIdx = exclude ? take(exTotal * 4) : 0;
    const heapS = take(nPad * kk * 4), heapI = take(nPad * kk * 4);
    const count = take(nPad * 4), thr = take(nPad * 4), cursor = take(nPad * 4);
    const outI = take(nPad * kk * 4), outS = take(nPad * kk * 4);
    const scratch = take(64);
    const buf = this.ensure(at, 'denseScoreTopK');
    const ex = this.ex;
    const metricNormalize = args.metric === 'cosine' ? 1 : 0;

    // keys → staging → packed panels of 8; then the task's query rows → staging → panels of 4
    new Float32Array(buf, staging, nKeys * d).set(keys.data.subarray(0, nKeys * d));
    this.counters.bytesIn += nKeys * d * 4;
    ex.packRows(staging, kPanels, nKeys, d, 8, metricNormalize);
    this.put(buf, staging, queries.data.subarray(rowStart * d, rowEnd * d), Float32Array);
    ex.packRows(staging, qPanels, n, d, 4, metricNormalize);

    if (exclude) {
      const ptr = new Int32Array(buf, exPtr, nPad + 1);
      for (let i = 0; i <= n; i++) ptr[i] = exclude.indptr[rowStart + i] - exFirst;
      for (let i = n + 1; i <= nPad; i++) ptr[i] = exTotal;
      const idx = new Int32Array(buf, exIdx, exTotal);
      idx.set(exclude.indices.subarray(exFirst, exFirst + exTotal));
      // the kernel walks each row's list with a cursor, so lists must ascend (Csr rows normally do already)
      for (let i = 0; i < n; i++) {
        const a = ptr[i], b = ptr[i + 1];
        for (let p = a + 1; p < b; p++) {
          if (idx[p] < idx[p - 1]) { idx.subarray(a, b).sort(); break; }
        }
      }
    }

    const keyBlock = Math.max(1, Math.floor(KEY_BLOCK_BYTES / Math.max(1, d * 32)));
    ex.setup(d, nKeys, kPanels, qPanels, rowStart, args.excludeSelf ? 1 : 0, exPtr, exIdx, kk, heapS, heapI, count, thr, cursor, outI, outS, scratch, keyBlock);
    for (let r = 0; r < nPad; r += ROW_BLOCK) ex.scoreRows(r, Math.min(nPad, r + ROW_BLOCK));

    out.ids.set(new Int32Array(buf, outI, n * kk), rowStart * kk);
    out.scores.set(new Float32Array(buf, outS, n * kk), rowStart * kk);
  }

  sparseSimilarityTopK(args: SparseSimilarityTopKInput, out: TopKOutput, rowStart: number, rowEnd: number): void {
    const name = 'sparseSimilarityTopK';
    const m = args.matrix, p = args.prepared;
    const rows = m.rows, cols = m.cols;
    const kk = out.k;
    const metric = SIM_METRIC[args.metric];
    if (metric === undefined) throw new RangeError(`${name} (wasm): unknown metric '${String(args.metric)}'`);
    if (!p) throw new TypeError(`${name} (wasm): args.prepared is required (prepareSparseSimilarity)`);
    if (!(rowStart >= 0 && rowEnd <= rows && rowStart <= rowEnd)) throw new RangeError(`${name} (wasm): row range [${rowStart}, ${rowEnd}) outside [0, ${rows})`);
    const total = m.indptr[rows];
    if (p.values.length < total || p.tIndices.length < total || p.tValues.length < total || p.tIndptr.length !== cols + 1 || p.rowNorm.length !== rows)
      throw new RangeError(`${name} (wasm): prepared data does not match the matrix`);
    if (out.ids.length < rowEnd * kk || out.scores.length < rowEnd * kk) throw new RangeError(`${name} (wasm): output shorter than rows×k`);
    const n = rowEnd - rowStart;
    if (n === 0 || kk === 0) return;
    const ex = this.ex;

    // the matrix side: reuse it when the prepared arrays are the same buffers as last call's
    const keyed: Typed[] = [p.tIndptr, p.tIndices, p.tValues, p.rowNorm];
    let c = this.simCache;
    const hit = c !== null && c.rows === rows && c.cols === cols && c.keys.every((k, i) => sameBuffer(k, keyed[i]));
    let lay: Layout;
    if (hit) {
      this.counters.simCacheHits++;
      lay = new Layout(c!.end);
    } else {
      this.simCache = null;
      this.counters.simCacheMisses++;
      lay = new Layout(this.base);
      const tIndptr = lay.take((cols + 1) * 4), tIndices = lay.take(total * 4), tValues = lay.take(total * 8), rowNorm = lay.take(rows * 8);
      const buf = this.ensure(lay.at, name);
      this.put(buf, tIndptr, p.tIndptr, Int32Array);
      this.put(buf, tIndices, p.tIndices, Int32Array, total);
      this.put(buf, tValues, p.tValues, Float64Array, total);
      this.put(buf, rowNorm, p.rowNorm, Float64Array);
      c = { keys: keyed.map(bufferKey), rows, cols, tIndptr, tIndices, tValues, rowNorm, end: lay.at };
      this.simCache = c;
    }

    // the task side: its rows of X', scratch, heap, output blocks
    const q0 = m.indptr[rowStart], q1 = m.indptr[rowEnd], nq = q1 - q0;
    const jaccard = args.metric === 'jaccard';
    const stride = ex.simStride(metric);
    const block = Math.max(1, Math.min(n, Math.floor(SIM_OUT_BLOCK_BYTES / (kk * 8))));
    const qIndptr = lay.take((n + 1) * 4), qIndices = lay.take(nq * 4), qValues = lay.take(nq * 8);
    const rowCount = jaccard ? lay.take(rows * 8) : 0;
    const scratch = lay.take(rows * stride * 8), touched = lay.take(rows * 4);
    const heapS = lay.take(kk * 8), heapI = lay.take(kk * 4);
    const outI = lay.take(block * kk * 4), outS = lay.take(block * kk * 4);
    const buf = this.ensure(lay.at, name);
    const ptr = new Int32Array(buf, qIndptr, n + 1);
    for (let i = 0; i <= n; i++) ptr[i] = m.indptr[rowStart + i] - q0;
    this.put(buf, qIndices, m.indices.subarray(q0, q1), Int32Array);
    this.put(buf, qValues, p.values.subarray(q0, q1), Float64Array);
    this.counters.bytesIn += (n + 1) * 4;
    if (jaccard) {
      const rc = new Float64Array(buf, rowCount, rows);
      for (let r = 0; r < rows; r++) rc[r] = m.indptr[r + 1] - m.indptr[r];
    }
    new Float64Array(buf, scratch, rows * stride).fill(0);

    const pb = args.metric === 'pearson-baseline';
    const shrink = args.shrinkage ?? (pb ? 100 : 0);
    const minSupport = pb ? Math.max(2, args.minSupport ?? 1) : (args.minSupport ?? 1);
    const minSim = args.minSimilarity ?? -Infinity;
    ex.simSetMatrix(c!.tIndptr, c!.tIndices, c!.tValues, c!.rowNorm, rowCount);
    for (let r = 0; r < n; r += block) {
      const e = Math.min(n, r + block);
      // the output block is reused: point the kernel's local row 0 at r
      ex.simSetTask(metric, qIndptr + r * 4, qIndices, qValues, rowStart + r, scratch, touched, kk, heapS, heapI, outI, outS,
        shrink, minSupport, minSim, (args.excludeSelf ?? true) ? 1 : 0);
      ex.simRows(0, e - r);
      out.ids.set(new Int32Array(buf, outI, (e - r) * kk), (rowStart + r) * kk);
      out.scores.set(new Float32Array(buf, outS, (e - r) * kk), (rowStart + r) * kk);
    }
  }
}

function checkSimd(): void {
  if (!wasmSimdSupported()) throw new Error('this JavaScript runtime does not support WebAssembly SIMD (needs Node ≥ 16.4 or a current browser)');
}

/** Instantiate affinity.wasm from its bytes (works in browsers and Node; no imports needed). */
export async function instantiateAffinityWasm(bytes: WasmBytes): Promise<AffinityWasm> {
  checkSimd();
  const { instance } = await wasmApi().instantiate(bytes, {});
  return new Instance(instance.exports);
}

/** Synchronous instantiation (Node, workers; browsers limit synchronous compiles on the main thread to 4 KB). */
export function instantiateAffinityWasmSync(bytes: WasmBytes): AffinityWasm {
  checkSimd();
  const api = wasmApi();
  return new Instance(new api.Instance(new api.Module(bytes), {}).exports);
}
