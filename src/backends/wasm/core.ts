/**
 * The browser-usable core of the `wasm` backend: instantiate build/wasm/affinity.wasm from bytes and run its
 * kernels on plain typed arrays. No Node APIs here, and no value imports outside this folder (the page in
 * test/browser loads this file and its siblings ./linearMemory.js, ./gemm.js, ./nn.js as plain ES modules);
 * Node-only loading (fs, paths) lives in ./index.ts.
 *
 * Memory: the module exports its own (non-shared) linear memory; every call copies its inputs in (keys, the
 * task's query rows, its exclusion rows) and its output rows out. See ./index.ts for why copy-in/copy-out
 * rather than a shared memory.
 */
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import type { PreparedSimilarity, SparseSimilarityTopKArgs } from '../../kernels/sparseSimilarityTopK.js';
import type { AlsHalfStepArgs } from '../../kernels/alsHalfStep.js';
import type { SgdEpochArgs } from '../../kernels/sgdEpoch.js';
import type { BprEpochArgs } from '../../kernels/bprEpoch.js';
import type { Dense, TopK } from '../../data/matrix.js';
import { align16, layBprEpoch, Layout, type EpochExports, type LinearMemory } from './linearMemory.js';
import { GEMM_EXPORTS, gemmWasm, type GemmExports, type GemmInput, type GemmOutput } from './gemm.js';
import { NN_EXPORTS, NnWasm, type NnExports, type WasmNnKernels } from './nn.js';

/** The few WebAssembly JS API members used here (the project compiles without DOM typings). */
interface WasmMemory { buffer: ArrayBuffer; grow(pages: number): number }
interface WasmExports extends GemmExports, NnExports, EpochExports {
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
  simSetMatrix(tIndptr: number, tIndices: number, tValues: number, rowNorm: number, rowCount: number, colFlag: number, colConst: number): void;
  simSetTask(
    metric: number, qIndptr: number, qIndices: number, qValues: number, rowBase: number, scratch: number, touched: number,
    kk: number, heapS: number, heapI: number, outI: number, outS: number,
    shrink: number, minSupport: number, minSim: number, excludeSelf: number,
  ): void;
  simRows(r0: number, r1: number): void;
  alsChunk(): number;
  alsSetup(
    f: number, fp: number, y: number, gram: number, implicit: number, lambda: number, indptr: number, indices: number, data: number,
    x: number, a: number, b: number, u: number, v: number, xv: number, r: number, p: number, ap: number, steps: number,
  ): void;
  alsRowsCholesky(r0: number, r1: number): number;
  alsRowsCg(r0: number, r1: number): void;
  alsRowsLoss(r0: number, r1: number, out: number): void;
  sgdSvdpp(t0: number, t1: number, globalMean: number,
    lrBu: number, lrBi: number, lrPu: number, lrQi: number, lrYj: number, regBu: number, regBi: number, regPu: number, regQi: number, regYj: number): number;
  sgdNmf(t0: number, t1: number, nu: number, ni: number, biased: number, globalMean: number,
    lrBu: number, lrBi: number, regBu: number, regBi: number, regPu: number, regQi: number): number;
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
  SparseSimilarityTopKArgs, 'matrix' | 'metric' | 'excludeSelf'
> & { prepared: PreparedSimilarity };

export type AlsHalfStepInput = Pick<AlsHalfStepArgs, 'mode' | 'solver' | 'cgSteps' | 'matrix' | 'other' | 'gram' | 'regularization' | 'loss' | 'solve'>;
export type DenseOutput = Pick<Dense, 'rows' | 'cols' | 'data'> & { rowLoss?: Float64Array };

/** Counters of the copies into linear memory (for measurements and tests). */
export interface WasmCopyStats {
  /** sparseSimilarityTopK calls that found the matrix side (transpose, norms) already in linear memory */
  simCacheHits: number;
  /** calls that copied it in */
  simCacheMisses: number;
  /** bytes copied into linear memory, all kernels */
  bytesIn: number;
  /**
   * Milliseconds of denseScoreTopK / sparseSimilarityTopK / alsHalfStep calls spent staging inputs (JS copies into
   * linear memory, plus denseScoreTopK's packing of keys and queries into SIMD panels), in the kernel proper, and
   * copying the output rows out. What a shared-memory scheme could at best save is copyInMs + copyOutMs.
   */
  copyInMs: number;
  kernelMs: number;
  copyOutMs: number;
}

/** A millisecond clock in browsers and Node. */
const now = (): number => (globalThis as { performance?: { now(): number } }).performance?.now() ?? Date.now();

export interface AffinityWasm {
  /**
   * Rows [rowStart, rowEnd) of gemm into out.data (same contract as gemmReference, within its fp32 bound):
   * packed SIMD micro-kernel, f32 accumulation. β = 0 never reads c.
   */
  gemm(args: GemmInput, out: GemmOutput, rowStart: number, rowEnd: number): void;
  /** The neural-network kernels of src/kernels/nn, each with its reference's contract and row unit. */
  readonly nn: WasmNnKernels;
  /** Rows [rowStart, rowEnd) of denseScoreTopK into `out` (same contract as denseScoreTopKReference). */
  denseScoreTopK(args: DenseScoreTopKInput, out: TopKOutput, rowStart: number, rowEnd: number): void;
  /**
   * Rows [rowStart, rowEnd) of sparseSimilarityTopK into `out` (same contract as sparseSimilarityTopKReference;
   * the scores are the reference's to the bit). The matrix side (the transpose of X' and the row norms) stays in
   * linear memory after the call and is reused by the next call whose prepared arrays are the same buffers
   * (same ArrayBuffer/SharedArrayBuffer objects, offsets and lengths); their contents must not change in between.
   */
  sparseSimilarityTopK(args: SparseSimilarityTopKInput, out: TopKOutput, rowStart: number, rowEnd: number): void;
  /**
   * Rows [rowStart, rowEnd) of alsHalfStep into `out` (same contract as alsHalfStepReference: CG warm-starts from
   * out's rows; Cholesky throws the reference's RangeError on a system that is not positive definite).
   */
  alsHalfStep(args: AlsHalfStepInput, out: DenseOutput, rowStart: number, rowEnd: number): void;
  /**
   * Examples order[rowStart..rowEnd) of sgdEpoch (same contract as sgdEpochReference, bit for bit): the parameters
   * in `args` are copied in, updated and copied back; [sse, count] is added to out. Returns the pass's sse.
   */
  sgdEpoch(args: SgdEpochArgs, out: Float64Array, rowStart: number, rowEnd: number): number;
  /**
   * rowEnd − rowStart steps of bprEpoch (same contract as bprEpochReference, bit for bit, same xoshiro128** stream):
   * the factors and args.rng are updated in place; [correct, skipped, loss] is added to out. Returns the mean loss.
   */
  bprEpoch(args: BprEpochArgs, out: Float64Array, rowStart: number, rowEnd: number): number;
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
  /** 0 when every transposed row is constant (then the values are not copied) */
  tValues: number;
  rowNorm: number;
  colFlag: number;
  colConst: number;
  /** first free byte after the cached data */
  end: number;
}

class Instance implements AffinityWasm {
  private readonly ex: WasmExports;
  private readonly base: number;
  private simCache: SimCache | null = null;
  private readonly counters: WasmCopyStats = { simCacheHits: 0, simCacheMisses: 0, bytesIn: 0, copyInMs: 0, kernelMs: 0, copyOutMs: 0 };

  constructor(exports: unknown) {
    this.ex = exports as WasmExports;
    for (const name of ['memory', 'heapBase', 'packRows', 'setup', 'scoreRows', 'simStride', 'simSetMatrix', 'simSetTask', 'simRows',
      'alsChunk', 'alsSetup', 'alsRowsCholesky', 'alsRowsCg', 'alsRowsLoss', 'sgdSetup', 'sgdSvd', 'sgdSvdpp', 'sgdNmf', 'bprSetup', 'bprSteps',
      ...GEMM_EXPORTS, ...NN_EXPORTS] as const) {
      if (!(name in this.ex)) throw new Error(`affinity.wasm lacks the export '${name}' (rebuild it: npm run build:wasm)`);
    }
    this.base = align16(this.ex.heapBase());
    // the gemm and nn kernels lay out their blocks from base too, over whatever sparseSimilarityTopK cached there
    this.heap = {
      base: this.base,
      ensure: (bytes, kernel) => { this.simCache = null; return this.ensure(bytes, kernel); },
      countIn: (bytes) => { this.counters.bytesIn += bytes; },
    };
    this.nn = new NnWasm(this.ex, this.heap);
  }

  private readonly heap: LinearMemory;
  readonly nn: WasmNnKernels;

  gemm(args: GemmInput, out: GemmOutput, rowStart: number, rowEnd: number): void {
    gemmWasm(this.ex, this.heap, args, out, rowStart, rowEnd);
  }

  memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  stats(): WasmCopyStats {
    return { ...this.counters };
  }

  /** Add one call's phases (staging from tIn, kernel from tKernel, copy-out from tOut to now) to the counters. */
  private timed(tIn: number, tKernel: number, tOut: number): void {
    const c = this.counters;
    c.copyInMs += tKernel - tIn;
    c.kernelMs += tOut - tKernel;
    c.copyOutMs += now() - tOut;
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
    const tIn = now();

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
    const tKernel = now();
    for (let r = 0; r < nPad; r += ROW_BLOCK) ex.scoreRows(r, Math.min(nPad, r + ROW_BLOCK));
    const tOut = now();

    out.ids.set(new Int32Array(buf, outI, n * kk), rowStart * kk);
    out.scores.set(new Float32Array(buf, outS, n * kk), rowStart * kk);
    this.timed(tIn, tKernel, tOut);
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
    const tIn = now();
    let kernelMs = 0, outMs = 0;

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
      // transposed rows whose values are all the same (binary data, tfidf on binary data) are flagged: the
      // kernel then reads only their indices, and when every row is constant the values are not copied at all
      const flags = new Uint8Array(cols), consts = new Float64Array(cols);
      let allConst = true;
      const tv = p.tValues, tpp = p.tIndptr;
      for (let j = 0; j < cols; j++) {
        const t0 = tpp[j], t1 = tpp[j + 1];
        const v0 = t0 < t1 ? tv[t0] : 0;
        let same = true;
        for (let t = t0 + 1; t < t1; t++) {
          const v = tv[t];
          if (v === v0 ? v === 0 && 1 / v !== 1 / v0 : v === v || v0 === v0) { same = false; break; }
        }
        flags[j] = same ? 1 : 0;
        consts[j] = v0;
        allConst &&= same;
      }
      const tIndptr = lay.take((cols + 1) * 4), tIndices = lay.take(total * 4), tValues = allConst ? 0 : lay.take(total * 8);
      const rowNorm = lay.take(rows * 8), colFlag = lay.take(cols), colConst = lay.take(cols * 8);
      const buf = this.ensure(lay.at, name);
      this.put(buf, tIndptr, p.tIndptr, Int32Array);
      this.put(buf, tIndices, p.tIndices, Int32Array, total);
      if (!allConst) this.put(buf, tValues, p.tValues, Float64Array, total);
      this.put(buf, rowNorm, p.rowNorm, Float64Array);
      new Uint8Array(buf, colFlag, cols).set(flags);
      this.put(buf, colConst, consts, Float64Array);
      c = { keys: keyed.map(bufferKey), rows, cols, tIndptr, tIndices, tValues, rowNorm, colFlag, colConst, end: lay.at };
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

    const { shrinkage: shrink, minSupport, minSimilarity: minSim } = p.thresholds;
    ex.simSetMatrix(c!.tIndptr, c!.tIndices, c!.tValues, c!.rowNorm, rowCount, c!.colFlag, c!.colConst);
    for (let r = 0; r < n; r += block) {
      const e = Math.min(n, r + block);
      // the output block is reused: point the kernel's local row 0 at r
      ex.simSetTask(metric, qIndptr + r * 4, qIndices, qValues, rowStart + r, scratch, touched, kk, heapS, heapI, outI, outS,
        shrink, minSupport, minSim, (args.excludeSelf ?? true) ? 1 : 0);
      const tK = now();
      ex.simRows(0, e - r);
      const tO = now();
      out.ids.set(new Int32Array(buf, outI, (e - r) * kk), (rowStart + r) * kk);
      out.scores.set(new Float32Array(buf, outS, (e - r) * kk), (rowStart + r) * kk);
      kernelMs += tO - tK; outMs += now() - tO;
    }
    const spent = now() - tIn;
    this.counters.kernelMs += kernelMs;
    this.counters.copyOutMs += outMs;
    this.counters.copyInMs += spent - kernelMs - outMs;
  }

  alsHalfStep(args: AlsHalfStepInput, out: DenseOutput, rowStart: number, rowEnd: number): void {
    const name = 'alsHalfStep';
    const { matrix: m, other: y } = args;
    const f = y.cols, fp = Math.ceil(f / 4) * 4, my = y.rows;
    const implicit = args.mode === 'implicit';
    if (args.mode !== 'implicit' && args.mode !== 'explicit') throw new RangeError(`${name} (wasm): unknown mode '${String(args.mode)}'`);
    if (args.solver !== 'cholesky' && args.solver !== 'cg') throw new RangeError(`${name} (wasm): unknown solver '${String(args.solver)}'`);
    if (!(rowStart >= 0 && rowEnd <= m.rows && rowStart <= rowEnd)) throw new RangeError(`${name} (wasm): row range [${rowStart}, ${rowEnd}) outside [0, ${m.rows})`);
    if (m.cols !== my || y.data.length < my * f) throw new RangeError(`${name} (wasm): matrix has ${m.cols} columns, other factors ${my}×${f} (${y.data.length} values)`);
    if (out.cols !== f || out.data.length < rowEnd * f) throw new RangeError(`${name} (wasm): output is ${out.rows}×${out.cols}, expected ${m.rows}×${f}`);
    if (implicit && (!args.gram || args.gram.length !== f * f)) throw new RangeError(`${name} (wasm): mode implicit needs gram of length ${f * f}`);
    const n = rowEnd - rowStart;
    if (n === 0 || f === 0) return;
    this.simCache = null;
    const ex = this.ex;
    const tIn = now();
    const q0 = m.indptr[rowStart], q1 = m.indptr[rowEnd], nq = q1 - q0;
    const chunk = ex.alsChunk();
    const lay = new Layout(this.base);
    const yAt = lay.take(my * fp * 4), gram = implicit ? lay.take(fp * fp * 8) : 0;
    const indptr = lay.take((n + 1) * 4), indices = lay.take(nq * 4), data = lay.take(nq * 4);
    const x = lay.take(n * fp * 4), A = lay.take(fp * fp * 8), b = lay.take(fp * 8);
    const U = lay.take(chunk * fp * 8), V = lay.take(chunk * fp * 8);
    const xv = lay.take(fp * 8), r = lay.take(fp * 8), p = lay.take(fp * 8), ap = lay.take(fp * 8);
    const loss = args.loss ? lay.take(n * 8) : 0;
    if (args.loss && !out.rowLoss) throw new RangeError(`${name} (wasm): loss: true needs out.rowLoss`);
    const buf = this.ensure(lay.at, name);
    // padded copies: rows of f values at a stride of fp (zeros in between)
    const putRows = (at: number, src: Float32Array, rows: number): void => {
      if (fp === f) { this.put(buf, at, src, Float32Array, rows * f); return; }
      const dst = new Float32Array(buf, at, rows * fp);
      dst.fill(0);
      for (let i = 0; i < rows; i++) dst.set(src.subarray(i * f, i * f + f), i * fp);
      this.counters.bytesIn += rows * f * 4;
    };
    putRows(yAt, y.data, my);
    if (implicit) {
      const g = new Float64Array(buf, gram, fp * fp);
      g.fill(0);
      for (let i = 0; i < f; i++) g.set(args.gram!.subarray(i * f, i * f + f), i * fp);
      this.counters.bytesIn += f * f * 8;
    }
    const ptr = new Int32Array(buf, indptr, n + 1);
    for (let i = 0; i <= n; i++) ptr[i] = m.indptr[rowStart + i] - q0;
    this.put(buf, indices, m.indices.subarray(q0, q1), Int32Array);
    this.put(buf, data, m.data.subarray(q0, q1), Float32Array);
    const cg = args.solver === 'cg';
    // the start values: CG warm-starts from them, and the loss is evaluated at them
    if (cg || args.loss) putRows(x, out.data.subarray(rowStart * f, rowEnd * f), n);
    ex.alsSetup(f, fp, yAt, gram, implicit ? 1 : 0, args.regularization, indptr, indices, data, x, A, b, U, V, xv, r, p, ap, args.cgSteps ?? 3);
    let failed = -1;
    const tKernel = now();
    if (args.loss) ex.alsRowsLoss(0, n, loss);
    const solve = args.solve !== false;
    if (!solve) { /* loss only */ } else if (cg) ex.alsRowsCg(0, n);
    else failed = ex.alsRowsCholesky(0, n);
    const tOut = now();
    if (args.loss) out.rowLoss!.set(new Float64Array(buf, loss, n), rowStart);
    if (!solve) { this.timed(tIn, tKernel, tOut); return; }
    const done = failed < 0 ? n : failed;
    const xs = new Float32Array(buf, x, n * fp);
    if (fp === f) out.data.set(xs.subarray(0, done * f), rowStart * f);
    else for (let i = 0; i < done; i++) out.data.set(xs.subarray(i * fp, i * fp + f), (rowStart + i) * f);
    this.timed(tIn, tKernel, tOut);
    if (failed >= 0) {
      throw new RangeError(`alsHalfStep: the system of row ${rowStart + failed} is not positive definite; increase regularization (now ${args.regularization})`);
    }
  }

  sgdEpoch(a: SgdEpochArgs, out: Float64Array, rowStart: number, rowEnd: number): number {
    const name = 'sgdEpoch';
    const F = a.factors, nu = a.bu.length, ni = a.bi.length, n = a.user.length;
    if (a.algorithm !== 'svd' && a.algorithm !== 'svdpp' && a.algorithm !== 'nmf') throw new RangeError(`${name} (wasm): unknown algorithm '${String(a.algorithm)}'`);
    if (!(rowStart >= 0 && rowEnd <= a.order.length && rowStart <= rowEnd)) throw new RangeError(`${name} (wasm): range [${rowStart}, ${rowEnd}) outside [0, ${a.order.length})`);
    if (a.pu.length !== nu * F || a.qi.length !== ni * F || a.item.length !== n || a.rating.length !== n || (a.weight && a.weight.length !== n))
      throw new RangeError(`${name} (wasm): parameter or example arrays of the wrong length`);
    const svdpp = a.algorithm === 'svdpp';
    if (svdpp && (!a.yj || a.yj.length !== ni * F || !a.implicitItems)) throw new RangeError(`${name} (wasm): svdpp needs yj (${ni}×${F}) and implicitItems`);
    // the examples the range visits are checked here: the module trusts its indices
    for (let t = rowStart; t < rowEnd; t++) {
      const p = a.order[t];
      if (!(p >= 0 && p < n) || !(a.user[p] >= 0 && a.user[p] < nu) || !(a.item[p] >= 0 && a.item[p] < ni)) throw new RangeError(`${name} (wasm): example ${p} (order[${t}]) out of range`);
    }
    this.simCache = null;
    const ex = this.ex;
    const nmf = a.algorithm === 'nmf';
    const nm = a.implicitItems;
    const nnzN = svdpp ? nm!.indptr[nm!.rows] : 0;
    const len = rowEnd - rowStart;
    const lay = new Layout(this.base);
    const user = lay.take(n * 4), item = lay.take(n * 4), rating = lay.take(n * 4), weight = a.weight ? lay.take(n * 4) : 0;
    const order = lay.take(len * 4);
    const bu = lay.take(nu * 4), bi = lay.take(ni * 4), pu = lay.take(nu * F * 4), qi = lay.take(ni * F * 4);
    const yj = svdpp ? lay.take(ni * F * 4) : 0;
    const nIndptr = svdpp ? lay.take((nu + 1) * 4) : 0, nIndices = svdpp ? lay.take(nnzN * 4) : 0;
    const scratchBytes = nmf ? (2 * nu * F + nu + 2 * ni * F + ni) * 8 : 2 * F * 8;
    const scratch = lay.take(scratchBytes);
    const buf = this.ensure(lay.at, name);
    this.put(buf, user, a.user, Int32Array);
    this.put(buf, item, a.item, Int32Array);
    this.put(buf, rating, a.rating, Float32Array);
    if (a.weight) this.put(buf, weight, a.weight, Float32Array);
    this.put(buf, order, a.order.subarray(rowStart, rowEnd), Int32Array);
    this.put(buf, bu, a.bu, Float32Array);
    this.put(buf, bi, a.bi, Float32Array);
    this.put(buf, pu, a.pu, Float32Array);
    this.put(buf, qi, a.qi, Float32Array);
    if (svdpp) {
      this.put(buf, yj, a.yj!, Float32Array);
      this.put(buf, nIndptr, nm!.indptr, Int32Array, nu + 1);
      this.put(buf, nIndices, nm!.indices, Int32Array, nnzN);
    }
    new Uint8Array(buf, scratch, scratchBytes).fill(0);
    const items = a.update !== 'users';
    ex.sgdSetup(F, user, item, rating, weight, order, bu, bi, pu, qi, yj, nIndptr, nIndices, scratch, items ? 1 : 0);
    const { lr, reg } = a;
    let sse: number;
    if (a.algorithm === 'svd') sse = ex.sgdSvd(0, len, a.biased ? 1 : 0, a.globalMean, lr.bu, lr.bi, lr.pu, lr.qi, reg.bu, reg.bi, reg.pu, reg.qi);
    else if (svdpp) sse = ex.sgdSvdpp(0, len, a.globalMean, lr.bu, lr.bi, lr.pu, lr.qi, lr.yj, reg.bu, reg.bi, reg.pu, reg.qi, reg.yj);
    else sse = ex.sgdNmf(0, len, nu, ni, a.biased ? 1 : 0, a.globalMean, lr.bu, lr.bi, reg.bu, reg.bi, reg.pu, reg.qi);
    // copy back what the pass may have changed
    a.bu.set(new Float32Array(buf, bu, nu));
    a.pu.set(new Float32Array(buf, pu, nu * F));
    if (items) {
      a.bi.set(new Float32Array(buf, bi, ni));
      a.qi.set(new Float32Array(buf, qi, ni * F));
      if (svdpp) a.yj!.set(new Float32Array(buf, yj, ni * F));
    }
    out[0] += sse;
    out[1] += len;
    return sse;
  }

  bprEpoch(a: BprEpochArgs, out: Float64Array, rowStart: number, rowEnd: number): number {
    const name = 'bprEpoch';
    const m = a.userItems, F = a.factors, D = F + 1;
    const nz = m.indptr[m.rows];
    if (!(rowStart >= 0 && rowStart <= rowEnd)) throw new RangeError(`${name} (wasm): bad step range [${rowStart}, ${rowEnd})`);
    if (a.userFactors.length !== m.rows * D || a.itemFactors.length !== m.cols * D) throw new RangeError(`${name} (wasm): factor arrays of the wrong length`);
    if (a.entryUser.length !== nz || nz === 0) throw new RangeError(`${name} (wasm): entryUser must have nnz = ${nz} > 0 entries`);
    if (!(a.rng instanceof Uint32Array) || a.rng.length !== 4) throw new RangeError(`${name} (wasm): rng must be a Uint32Array(4)`);
    const table = a.negatives === 'table';
    if (table && (!a.negativeCdf || a.negativeCdf.length !== m.cols)) throw new RangeError(`${name} (wasm): negatives 'table' needs negativeCdf of length ${m.cols}`);
    const mode = a.update ?? 'all';
    const modeCode = mode === 'all' ? 0 : mode === 'users' ? 1 : mode === 'positive' ? 2 : -1;
    if (modeCode < 0) throw new RangeError(`${name} (wasm): unknown update '${String(mode)}'`);
    const steps = rowEnd - rowStart;
    if (steps === 0) { return 0; }
    this.simCache = null;
    const ex = this.ex;
    const seen = a.seen ?? m;
    const sNz = seen.indptr[seen.rows];
    const pop = a.popularityItems;
    const npop = pop ? pop.length : nz;
    const lay = new Layout(this.base);
    const { indptr, indices, entryUser, ownSeen, sIndptr, sIndices, popAt, cdf, x, y } = layBprEpoch(lay, a, pop);
    const state = lay.take(16 + 24);
    const buf = this.ensure(lay.at, name);
    this.put(buf, indptr, m.indptr, Int32Array, m.rows + 1);
    this.put(buf, indices, m.indices, Int32Array, nz);
    this.put(buf, entryUser, a.entryUser, Int32Array, nz);
    if (ownSeen) {
      this.put(buf, sIndptr, seen.indptr, Int32Array, seen.rows + 1);
      this.put(buf, sIndices, seen.indices, Int32Array, sNz);
    }
    if (pop) this.put(buf, popAt, pop, Int32Array);
    if (table) this.put(buf, cdf, a.negativeCdf!, Float64Array);
    this.put(buf, x, a.userFactors, Float32Array);
    this.put(buf, y, a.itemFactors, Float32Array);
    this.put(buf, state, a.rng, Uint32Array);
    ex.bprSetup(indptr, indices, entryUser, sIndptr, sIndices, popAt, npop, cdf, x, y, F, m.cols, nz, state);
    ex.bprSteps(0, steps, a.learningRate, a.regularization, a.verifyNegative ? 1 : 0, modeCode);
    a.rng.set(new Uint32Array(buf, state, 4));
    if (modeCode !== 2) a.userFactors.set(new Float32Array(buf, x, m.rows * D));
    if (modeCode !== 1) a.itemFactors.set(new Float32Array(buf, y, m.cols * D));
    const res = new Float64Array(buf, state + 16, 3);
    const [correct, skipped, lossSum] = [res[0], res[1], res[2]];
    out[0] += correct; out[1] += skipped; out[2] += lossSum;
    const used = steps - skipped;
    return used > 0 ? lossSum / used : 0;
  }
}

/** What the module imports: the JavaScript engine's own exp/log1p (bprEpoch then matches the reference to the bit). */
const IMPORTS = { env: { exp: Math.exp, log1p: Math.log1p } };

function checkSimd(): void {
  if (!wasmSimdSupported()) throw new Error('this JavaScript runtime does not support WebAssembly SIMD (needs Node ≥ 16.4 or a current browser)');
}

/** Instantiate affinity.wasm from its bytes (works in browsers and Node; no imports needed). */
export async function instantiateAffinityWasm(bytes: WasmBytes): Promise<AffinityWasm> {
  checkSimd();
  const { instance } = await wasmApi().instantiate(bytes, IMPORTS);
  return new Instance(instance.exports);
}

/** Synchronous instantiation (Node, workers; browsers limit synchronous compiles on the main thread to 4 KB). */
export function instantiateAffinityWasmSync(bytes: WasmBytes): AffinityWasm {
  checkSimd();
  const api = wasmApi();
  return new Instance(new api.Instance(new api.Module(bytes), IMPORTS).exports);
}
