/**
 * Hogwild bprEpoch and sgdEpoch 'svd' on the `wasm` backend (Recht, Ré, Wright & Niu 2011; the parallel form of
 * src/kernels/bprEpoch.ts and sgdEpoch.ts, `parallel: true`), over the engine's Piscina workers.
 *
 * Memory model — one SHARED memory per call, unlike the copy-in/copy-out kernels of ./core.ts:
 *   1. on the calling thread, `plan` validates the call (nothing is touched on bad input), lays out the read-only
 *      inputs, the factors and one 64-byte result slot per worker in a `WebAssembly.Memory({shared: true})`, and
 *      copies them in (the caller's arrays are on the JS heap or their own SharedArrayBuffers, which a wasm32
 *      module cannot address);
 *   2. each worker gets the memory and the compiled affinity-hogwild.wasm (assembly/hogwild.ts: the step loops of
 *      affinity.wasm, built with an imported shared memory) in its task, instantiates the module on that memory
 *      and runs its share of the steps; all update the factors in place, without locks;
 *   3. `finish` copies the factors back into the caller's arrays and sums the workers' counters into `out`.
 * The memory is kept (idle) for the next call of the same or a smaller size — the epochs of one fit — and
 * dropped IDLE_MS (10 s) after the last call.
 *
 * What each worker computes (the native core's rules, native/core/src/hogwild.cpp):
 *   bprEpoch  steps split as evenly as possible (the first steps % n workers take one more), worker k drawing
 *             from its own xoshiro128** stream seeded from the call's `rng` by the native core's rule
 *             (hogwildStreams, src/data/xoshiro128.ts); `rng` is then advanced by four draws;
 *   sgdEpoch  'svd' only: order[rowStart, rowEnd) cut into one contiguous part per worker (len·k/n boundaries).
 * The arithmetic of a step is the sequential kernel's (f64 expressions on the f32 factors), so with one worker
 * the result is the reference run from worker 0's stream (bprEpoch) or the sequential pass itself (sgdEpoch),
 * bit for bit; with more it depends on how the workers' steps interleave.
 *
 * Runs where WebAssembly threads and SharedArrayBuffer exist: Node ≥ 16.4 (workers: the Piscina pool); in
 * browsers only on cross-origin-isolated pages, and this file is not part of the browser core (./core.ts), which
 * runs `parallel` calls sequentially like every kernel without a plan.
 */
import { validateBprEpoch, type BprEpochArgs } from '../../kernels/bprEpoch.js';
import { validateSgdEpoch, type SgdEpochArgs } from '../../kernels/sgdEpoch.js';
import { hogwildStreams } from '../../data/xoshiro128.js';
import type { PoolParallelKernel, PoolParallelPlan } from '../types.js';
import { Layout, layBprEpoch, type EpochExports } from './linearMemory.js';

/** The few WebAssembly JS API members used here (the project compiles without DOM typings). */
interface SharedWasmMemory { readonly buffer: SharedArrayBuffer }
interface WasmModule { readonly __wasmModule?: never }
interface ThreadsApi {
  Memory: new (d: { initial: number; maximum: number; shared: true }) => SharedWasmMemory;
  Module: new (bytes: ArrayBuffer | ArrayBufferView) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
  validate(bytes: ArrayBuffer | ArrayBufferView): boolean;
}
interface HogwildExports extends EpochExports {
  heapBase(): number;
}

const PAGE = 65536;
/** wasm32's address space, in pages (the module's declared maximum) */
const MAX_PAGES = 65536;
/** one worker's result slot: a cache line of its own (no false sharing between the workers' counters) */
const SLOT = 64;
/** an idle memory is dropped this long after the last call (the epochs of one fit follow each other within it, even on a loaded machine) */
const IDLE_MS = 10_000;

/** A BPR share: worker k's rng state (4 × u32) at `slot`, its [correct, skipped, lossSum] (f64) written at slot + 16. */
interface BprTask {
  kind: 'bpr';
  memory: SharedWasmMemory; module: WasmModule;
  indptr: number; indices: number; entryUser: number; sIndptr: number; sIndices: number; pop: number; npop: number; cdf: number;
  x: number; y: number; factors: number; items: number; nz: number; slot: number;
  steps: number; lr: number; reg: number; verify: number; mode: number;
}

/** An SVD share: order[t0, t1) of the copied order; Σ e² (f64) written at `slot`. */
interface SvdTask {
  kind: 'svd';
  memory: SharedWasmMemory; module: WasmModule;
  factors: number; user: number; item: number; rating: number; weight: number; order: number; bu: number; bi: number; pu: number; qi: number;
  items: number; t0: number; t1: number; slot: number;
  biased: number; globalMean: number; lr: [number, number, number, number]; reg: [number, number, number, number];
}

type HogwildTask = BprTask | SvdTask;

function threadsApi(): ThreadsApi | null {
  const api = (globalThis as { WebAssembly?: ThreadsApi }).WebAssembly;
  return api && typeof SharedArrayBuffer === 'function' ? api : null;
}

/** The compiled module and its heap base (where the layout of a call starts). */
export interface HogwildModule {
  module: WasmModule;
  base: number;
}

/**
 * Compile affinity-hogwild.wasm (once per process; the workers receive the compiled module in their tasks). An
 * Error says why it cannot run here (no WebAssembly threads or SharedArrayBuffer; bytes that do not compile).
 */
export function compileHogwild(bytes: ArrayBuffer | ArrayBufferView): HogwildModule | Error {
  const api = threadsApi();
  if (!api) return new Error('this JavaScript runtime has no SharedArrayBuffer (browsers: the page must be cross-origin isolated)');
  try {
    const module = new api.Module(bytes);
    // a throwaway instance on a one-page memory tells where the module's own data ends
    const memory = new api.Memory({ initial: 1, maximum: 1, shared: true });
    const ex = new api.Instance(module, imports(memory)).exports as HogwildExports;
    return { module, base: ex.heapBase() };
  } catch (e) {
    return new Error(`affinity-hogwild.wasm does not instantiate on a shared memory here: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function imports(memory: SharedWasmMemory): object {
  // exp and log1p: the JavaScript engine's, as affinity.wasm imports them (bprSteps then matches the reference to the bit)
  return { env: { memory, exp: Math.exp, log1p: Math.log1p } };
}

// ---- the calling thread's shared memory: one idle memory kept between calls ----

let idle: { memory: SharedWasmMemory; pages: number } | null = null;
let idleTimer: ReturnType<typeof setTimeout> | null = null;

/** A shared memory of at least `bytes` bytes for one call (the idle one when it is large enough). */
function acquireMemory(bytes: number, kernel: string): { memory: SharedWasmMemory; pages: number } {
  const pages = Math.ceil(bytes / PAGE);
  if (pages > MAX_PAGES) throw new RangeError(`${kernel} (wasm, parallel): the call needs ${(bytes / 2 ** 30).toFixed(2)} GiB of WebAssembly memory, beyond wasm32's 4 GiB; run it on the native backend or sequentially`);
  if (idle && idle.pages >= pages) {
    const m = idle;
    idle = null;
    return m;
  }
  idle = null;
  // exactly the size needed (initial = maximum): a shared memory never moves, so its maximum is reserved up front
  const memory = new (threadsApi()!.Memory)({ initial: pages, maximum: pages, shared: true });
  return { memory, pages };
}

function releaseMemory(m: { memory: SharedWasmMemory; pages: number }): void {
  if (!idle || idle.pages < m.pages) idle = m;
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => { idle = null; idleTimer = null; }, IDLE_MS);
  (idleTimer as { unref?: () => void }).unref?.();
}

type Typed = Int32Array | Float32Array | Float64Array | Uint32Array;

function put(buf: SharedArrayBuffer, at: number, src: Typed, length = src.length): void {
  const Ctor = src.constructor as new (b: SharedArrayBuffer, o: number, n: number) => Typed;
  new Ctor(buf, at, length).set(length === src.length ? src : src.subarray(0, length));
}

/** An Int32Array copy of a CSR's indptr (a Float64Array indptr, nnz ≥ 2^31, is beyond wasm32 anyway). */
function indptrValues(indptr: Int32Array | Float64Array): Int32Array {
  return indptr instanceof Int32Array ? indptr : Int32Array.from(indptr);
}

// ---- bprEpoch ----

function planBpr(hw: HogwildModule, a: BprEpochArgs, out: Float64Array, rowStart: number, rowEnd: number, workers: number): PoolParallelPlan | null {
  if (!a.parallel) return null;
  const name = 'bprEpoch';
  validateBprEpoch(a);
  if (!(Number.isInteger(rowStart) && Number.isInteger(rowEnd) && rowStart >= 0 && rowStart <= rowEnd)) throw new RangeError(`${name} (wasm): bad step range [${rowStart}, ${rowEnd})`);
  const mode = a.update ?? 'all';
  const modeCode = mode === 'all' ? 0 : mode === 'users' ? 1 : mode === 'positive' ? 2 : -1;
  if (modeCode < 0) throw new RangeError(`${name} (wasm): unknown update '${String(mode)}'`);
  const steps = rowEnd - rowStart;
  if (steps === 0) return { tasks: [], finish: () => {}, release: () => {} };
  const m = a.userItems, F = a.factors, D = F + 1;
  const nz = m.indptr[m.rows];
  const seen = a.seen ?? m;
  const sNz = seen.indptr[seen.rows];
  const table = a.negatives === 'table';
  const pop = table ? undefined : a.popularityItems;
  const npop = pop ? pop.length : nz;
  // what validateBprEpoch leaves to the kernels: the module trusts every index it reads
  for (let p = 0; p < nz; p++) if (!(a.entryUser[p] >= 0 && a.entryUser[p] < m.rows)) throw new RangeError(`${name}: entryUser[${p}] = ${a.entryUser[p]} out of range [0, ${m.rows})`);
  if (a.verifyNegative && seen !== m) {
    for (let p = 0; p < sNz; p++) if (!(seen.indices[p] >= 0 && seen.indices[p] < m.cols)) throw new RangeError(`${name}: seen item index ${seen.indices[p]} out of range [0, ${m.cols})`);
  }
  const n = Math.max(1, Math.min(Math.floor(workers), steps));

  const lay = new Layout(hw.base);
  const { indptr, indices, entryUser, ownSeen, sIndptr, sIndices, popAt, cdf, x, y } = layBprEpoch(lay, a, pop);
  const slots = lay.take(n * SLOT);
  const mem = acquireMemory(lay.at, name);
  try {
    const buf = mem.memory.buffer;
    put(buf, indptr, indptrValues(m.indptr), m.rows + 1);
    put(buf, indices, m.indices, nz);
    put(buf, entryUser, a.entryUser, nz);
    if (ownSeen) {
      put(buf, sIndptr, indptrValues(seen.indptr), seen.rows + 1);
      put(buf, sIndices, seen.indices, sNz);
    }
    if (pop) put(buf, popAt, pop);
    if (table) put(buf, cdf, a.negativeCdf!);
    put(buf, x, a.userFactors);
    put(buf, y, a.itemFactors);
    // the workers' streams (this advances a.rng by four draws: the caller's state moves on as the native core's does)
    const streams = hogwildStreams(a.rng, n);
    const tasks = streams.map((s, k) => {
      const slot = slots + k * SLOT;
      put(buf, slot, s);
      new Float64Array(buf, slot + 16, 3).fill(0);
      const share = Math.floor(steps / n) + (k < steps % n ? 1 : 0);
      const first = rowStart + k * Math.floor(steps / n) + Math.min(k, steps % n);
      const task: BprTask = {
        kind: 'bpr', memory: mem.memory, module: hw.module,
        indptr, indices, entryUser, sIndptr, sIndices, pop: popAt, npop, cdf, x, y, factors: F, items: m.cols, nz, slot,
        steps: share, lr: a.learningRate, reg: a.regularization, verify: a.verifyNegative ? 1 : 0, mode: modeCode,
      };
      return { task, rowStart: first, rowEnd: first + share };
    });
    let released = false;
    return {
      tasks,
      finish() {
        if (modeCode !== 2) a.userFactors.set(new Float32Array(buf, x, m.rows * D));
        if (modeCode !== 1) a.itemFactors.set(new Float32Array(buf, y, m.cols * D));
        for (let k = 0; k < n; k++) {
          const r = new Float64Array(buf, slots + k * SLOT + 16, 3);
          out[0] += r[0]; out[1] += r[1]; out[2] += r[2];
        }
      },
      release() { if (!released) { released = true; releaseMemory(mem); } },
    };
  } catch (e) {
    releaseMemory(mem);
    throw e;
  }
}

function runBpr(t: BprTask): void {
  const ex = instantiate(t);
  ex.bprSetup(t.indptr, t.indices, t.entryUser, t.sIndptr, t.sIndices, t.pop, t.npop, t.cdf, t.x, t.y, t.factors, t.items, t.nz, t.slot);
  ex.bprSteps(0, t.steps, t.lr, t.reg, t.verify, t.mode);
}

// ---- sgdEpoch 'svd' ----

function planSvd(hw: HogwildModule, a: SgdEpochArgs, out: Float64Array, rowStart: number, rowEnd: number, workers: number): PoolParallelPlan | null {
  if (!a.parallel) return null;
  const name = 'sgdEpoch';
  // every example of the order is checked here (validateSgdEpoch): the module trusts its indices
  validateSgdEpoch(a);
  if (a.algorithm !== 'svd') throw new RangeError(`${name}: parallel (Hogwild) is implemented for algorithm 'svd' only, got '${a.algorithm}'`);
  if (!(Number.isInteger(rowStart) && Number.isInteger(rowEnd) && rowStart >= 0 && rowEnd <= a.order.length && rowStart <= rowEnd)) {
    throw new RangeError(`${name} (wasm): range [${rowStart}, ${rowEnd}) outside [0, ${a.order.length})`);
  }
  const len = rowEnd - rowStart;
  if (len === 0) return { tasks: [], finish: () => {}, release: () => {} };
  const F = a.factors, nu = a.bu.length, ni = a.bi.length, nEx = a.user.length;
  const n = Math.max(1, Math.min(Math.floor(workers), len));
  const lay = new Layout(hw.base);
  const user = lay.take(nEx * 4), item = lay.take(nEx * 4), rating = lay.take(nEx * 4), weight = a.weight ? lay.take(nEx * 4) : 0;
  const order = lay.take(len * 4);
  const bu = lay.take(nu * 4), bi = lay.take(ni * 4), pu = lay.take(nu * F * 4), qi = lay.take(ni * F * 4);
  const slots = lay.take(n * SLOT);
  const mem = acquireMemory(lay.at, name);
  try {
    const buf = mem.memory.buffer;
    put(buf, user, a.user);
    put(buf, item, a.item);
    put(buf, rating, a.rating);
    if (a.weight) put(buf, weight, a.weight);
    put(buf, order, a.order.subarray(rowStart, rowEnd));
    put(buf, bu, a.bu);
    put(buf, bi, a.bi);
    put(buf, pu, a.pu);
    put(buf, qi, a.qi);
    new Float64Array(buf, slots, (n * SLOT) / 8).fill(0);
    const items = a.update !== 'users';
    const { lr, reg } = a;
    const tasks = [];
    for (let k = 0; k < n; k++) {
      const t0 = Math.floor((len * k) / n), t1 = Math.floor((len * (k + 1)) / n);
      const task: SvdTask = {
        kind: 'svd', memory: mem.memory, module: hw.module,
        factors: F, user, item, rating, weight, order, bu, bi, pu, qi, items: items ? 1 : 0, t0, t1, slot: slots + k * SLOT,
        biased: a.biased ? 1 : 0, globalMean: a.globalMean, lr: [lr.bu, lr.bi, lr.pu, lr.qi], reg: [reg.bu, reg.bi, reg.pu, reg.qi],
      };
      tasks.push({ task, rowStart: rowStart + t0, rowEnd: rowStart + t1 });
    }
    let released = false;
    return {
      tasks,
      finish() {
        a.bu.set(new Float32Array(buf, bu, nu));
        a.pu.set(new Float32Array(buf, pu, nu * F));
        if (items) {
          a.bi.set(new Float32Array(buf, bi, ni));
          a.qi.set(new Float32Array(buf, qi, ni * F));
        }
        for (let k = 0; k < n; k++) out[0] += new Float64Array(buf, slots + k * SLOT, 1)[0];
        out[1] += len;
      },
      release() { if (!released) { released = true; releaseMemory(mem); } },
    };
  } catch (e) {
    releaseMemory(mem);
    throw e;
  }
}

function runSvd(t: SvdTask): void {
  const ex = instantiate(t);
  ex.sgdSetup(t.factors, t.user, t.item, t.rating, t.weight, t.order, t.bu, t.bi, t.pu, t.qi, 0, 0, 0, 0, t.items);
  const [lrBu, lrBi, lrPu, lrQi] = t.lr, [regBu, regBi, regPu, regQi] = t.reg;
  const sse = ex.sgdSvd(t.t0, t.t1, t.biased, t.globalMean, lrBu, lrBi, lrPu, lrQi, regBu, regBi, regPu, regQi);
  new Float64Array(t.memory.buffer, t.slot, 1)[0] = sse;
}

/** This task's instance of the module on the call's memory (a few microseconds: no data segments, no start function). */
function instantiate(t: HogwildTask): HogwildExports {
  const api = threadsApi();
  if (!api) throw new Error('this JavaScript runtime has no SharedArrayBuffer');
  return new api.Instance(t.module, imports(t.memory)).exports as HogwildExports;
}

let tasksHere = 0;

/** Hogwild tasks run on this thread so far (tests check that a pooled call ran in the workers). */
export function hogwildTasksRunHere(): number {
  return tasksHere;
}

/** Runs one worker's share (in a pool worker, or on the calling thread). */
function runHogwildTask(task: unknown): void {
  const t = task as HogwildTask;
  tasksHere++;
  if (t.kind === 'bpr') runBpr(t);
  else if (t.kind === 'svd') runSvd(t);
  else throw new TypeError(`wasm Hogwild: unknown task kind '${String((t as { kind?: unknown }).kind)}'`);
}

/**
 * The backend's poolParallel entries over the compiled module `hw()` (null or an Error: a parallel call then runs
 * sequentially, as the ordinary kernel — one valid Hogwild schedule — and `why` is said in `affinity info`).
 */
export function hogwildKernels(hw: () => HogwildModule | Error): {
  bprEpoch: PoolParallelKernel<BprEpochArgs, Float64Array>;
  sgdEpoch: PoolParallelKernel<SgdEpochArgs, Float64Array>;
} {
  const module = (): HogwildModule | null => { const h = hw(); return h instanceof Error ? null : h; };
  return {
    bprEpoch: {
      plan: (a, out, r0, r1, workers) => { const h = a.parallel ? module() : null; return h ? planBpr(h, a, out, r0, r1, workers) : null; },
      runTask: runHogwildTask,
    },
    sgdEpoch: {
      plan: (a, out, r0, r1, workers) => { const h = a.parallel ? module() : null; return h ? planSvd(h, a, out, r0, r1, workers) : null; },
      runTask: runHogwildTask,
    },
  };
}
