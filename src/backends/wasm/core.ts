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

export interface AffinityWasm {
  /** Rows [rowStart, rowEnd) of denseScoreTopK into `out` (same contract as denseScoreTopKReference). */
  denseScoreTopK(args: DenseScoreTopKInput, out: TopKOutput, rowStart: number, rowEnd: number): void;
  /** Bytes of linear memory the instance currently holds. */
  memoryBytes(): number;
}

/** Query rows scored per call into the module (also lets V8 tier the kernel up early in a long task). */
const ROW_BLOCK = 128;
/** Target bytes of packed keys per cache block (kept in L1/L2 while a query block runs over them). */
const KEY_BLOCK_BYTES = 32 * 1024;

const align16 = (n: number) => (n + 15) & ~15;

class Instance implements AffinityWasm {
  private readonly ex: WasmExports;
  private readonly base: number;

  constructor(exports: unknown) {
    this.ex = exports as WasmExports;
    for (const name of ['memory', 'heapBase', 'packRows', 'setup', 'scoreRows'] as const) {
      if (!(name in this.ex)) throw new Error(`affinity.wasm lacks the export '${name}' (rebuild it: npm run build:wasm)`);
    }
    this.base = align16(this.ex.heapBase());
  }

  memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  private ensure(bytes: number): ArrayBuffer {
    const mem = this.ex.memory;
    const have = mem.buffer.byteLength;
    if (bytes > 4 * 1024 * 1024 * 1024) throw new RangeError(`denseScoreTopK (wasm): needs ${bytes} bytes of linear memory, over the 4 GiB limit of wasm32; use smaller row ranges or another backend`);
    if (bytes > have) mem.grow(Math.ceil((bytes - have) / 65536));
    return mem.buffer;
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
    const buf = this.ensure(at);
    const ex = this.ex;
    const metricNormalize = args.metric === 'cosine' ? 1 : 0;

    // keys → staging → packed panels of 8; then the task's query rows → staging → panels of 4
    new Float32Array(buf, staging, nKeys * d).set(keys.data.subarray(0, nKeys * d));
    ex.packRows(staging, kPanels, nKeys, d, 8, metricNormalize);
    new Float32Array(buf, staging, n * d).set(queries.data.subarray(rowStart * d, rowEnd * d));
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
