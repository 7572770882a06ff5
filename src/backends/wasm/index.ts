/**
 * The `wasm` backend: AssemblyScript SIMD kernels (assembly/ → build/wasm/affinity.wasm), run by the engine
 * inside Piscina workers ('pool' threading). Each worker thread instantiates the module lazily, once, and
 * keeps the instance (and its grown linear memory) for later tasks.
 *
 * Memory model — COPY-IN/COPY-OUT, not shared memory (measured):
 * the module exports its own non-shared memory; each task copies the keys, its query rows and exclusion rows
 * in, and its output rows out. A shared-memory build (`--sharedMemory --importMemory --enable threads`) was
 * built and timed on the same kernel (20000×64 keys, k=20, one thread, 2-core AMD EPYC, Node 20):
 * 46.2–47.1 GFLOP/s with copy-in vs 45.9–46.5 with shared memory, and 40.0–40.5 vs 40.0–41.7 GFLOP/s on
 * 100-row tasks — the same within noise. Shared memory cannot remove the copies here: the engine's inputs live
 * in their own SharedArrayBuffers, which a wasm32 module cannot address, so they would still be copied into
 * the wasm memory, and sharing one wasm memory between pool workers would need a cross-thread allocator for
 * no gain. The copy + key packing costs ≈ 1.1 ms per task at 20000×64 (the work of ~20 query rows), i.e.
 * under 1% for the engine's usual tasks of hundreds or thousands of rows.
 *
 * The exception: `parallel` calls of bprEpoch and sgdEpoch 'svd' (Hogwild) run as one task per pool worker on one
 * SHARED WebAssembly.Memory with build/wasm/affinity-hogwild.wasm (./hogwild.ts: the engine reaches them through
 * `poolParallel`). There the factors must be shared — the workers update them in place — so the copy cannot be
 * avoided anyway, and it is made once per call, not per task.
 *
 * Node-only loading (fs, the package path) lives here; the browser-usable core is ./core.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Backend, BackendProbe } from '../types.js';
import type { DenseScoreTopKArgs } from '../../kernels/denseScoreTopK.js';
import { prepareSparseSimilarity, type PreparedSimilarity, type SparseSimilarityTopKArgs } from '../../kernels/sparseSimilarityTopK.js';
import { withGram, type AlsHalfStepArgs, type AlsHalfStepOutput } from '../../kernels/alsHalfStep.js';
import type { SgdEpochArgs } from '../../kernels/sgdEpoch.js';
import type { BprEpochArgs } from '../../kernels/bprEpoch.js';
import type { Dense, TopK } from '../../data/matrix.js';
import type { GemmArgs } from '../../kernels/gemm.js';
import type { KernelImpls } from '../../kernels/contract.js';
import { instantiateAffinityWasmSync, wasmSimdSupported, type AffinityWasm } from './core.js';
import { compileHogwild, hogwildKernels, type HogwildModule } from './hogwild.js';

export { instantiateAffinityWasm, instantiateAffinityWasmSync, wasmSimdSupported, type AffinityWasm, type WasmCopyStats } from './core.js';

/**
 * build/wasm/affinity.wasm under the package root. This file compiles to dist/src/backends/wasm/index.js,
 * so the root is four levels up. AFFINITY_WASM overrides the path.
 */
export function wasmPath(): string {
  if (process.env.AFFINITY_WASM) return process.env.AFFINITY_WASM;
  return fileURLToPath(new URL('../../../../build/wasm/affinity.wasm', import.meta.url));
}

/** build/wasm/affinity-hogwild.wasm: beside affinity.wasm (AFFINITY_WASM_HOGWILD overrides the path). */
function hogwildWasmPath(): string {
  if (process.env.AFFINITY_WASM_HOGWILD) return process.env.AFFINITY_WASM_HOGWILD;
  return fileURLToPath(new URL('../../../../build/wasm/affinity-hogwild.wasm', import.meta.url));
}

let hogwild: HogwildModule | Error | null = null;

/** The Hogwild module, compiled on first use on this thread (the calling thread: the workers get it in their tasks). */
export function loadHogwildWasm(): HogwildModule | Error {
  if (hogwild) return hogwild;
  const file = hogwildWasmPath();
  try {
    if (!existsSync(file)) hogwild = new Error(`${file} is missing; build it with \`npm run build:wasm\``);
    else if (!wasmSimdSupported()) hogwild = new Error(`this Node (${process.version}) does not support WebAssembly SIMD`);
    else hogwild = compileHogwild(readFileSync(file));
  } catch (e) {
    hogwild = new Error(`cannot compile ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return hogwild;
}

let cached: AffinityWasm | Error | null = null;

/** This thread's instance (instantiated on first use, then cached), or the Error that prevented it. */
export function loadAffinityWasm(): AffinityWasm | Error {
  if (cached) return cached;
  const file = wasmPath();
  try {
    if (!existsSync(file)) {
      cached = new Error(`${file} is missing; build it with \`npm run build:wasm\` (needs the assemblyscript dev dependency)`);
    } else if (!wasmSimdSupported()) {
      cached = new Error(`this Node (${process.version}) does not support WebAssembly SIMD`);
    } else {
      cached = instantiateAffinityWasmSync(readFileSync(file));
    }
  } catch (e) {
    cached = new Error(`cannot instantiate ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return cached;
}

// Derived data for args objects without `prepared` (as the reference does): consecutive row blocks of one call
// in one thread prepare once. Pool tasks each receive their own copy of the args, so callers splitting a job
// should pass args through withPreparedSimilarity() first (the engine then shares the prepared arrays).
const preparedCache = new WeakMap<SparseSimilarityTopKArgs, PreparedSimilarity>();
function preparedFor(a: SparseSimilarityTopKArgs): PreparedSimilarity {
  if (a.prepared) return a.prepared;
  let p = preparedCache.get(a);
  if (!p) { p = prepareSparseSimilarity(a); preparedCache.set(a, p); }
  return p;
}

function instance(): AffinityWasm {
  const w = loadAffinityWasm();
  if (w instanceof Error) throw w;
  return w;
}

export const wasmBackend: Backend = {
  name: 'wasm',
  priority: 50,
  threading: 'pool',
  probe(): BackendProbe {
    const w = loadAffinityWasm();
    if (w instanceof Error) return { available: false, reason: w.message };
    const h = loadHogwildWasm();
    return {
      available: true,
      reason: `AssemblyScript SIMD kernels (${wasmPath()})`,
      details: {
        simd: 'wasm-simd128', memory: 'copy-in/copy-out',
        hogwild: h instanceof Error ? `sequential (${h.message})` : 'bprEpoch, sgdEpoch svd over the pool workers on a shared memory',
      },
    };
  },
  kernels: {
    denseScoreTopK(args: DenseScoreTopKArgs, out: TopK, rowStart: number, rowEnd: number): void {
      instance().denseScoreTopK(args, out, rowStart, rowEnd);
    },
    sparseSimilarityTopK(args: SparseSimilarityTopKArgs, out: TopK, rowStart: number, rowEnd: number): void {
      const w = instance();
      w.sparseSimilarityTopK({ ...args, prepared: preparedFor(args) }, out, rowStart, rowEnd);
    },
    alsHalfStep(args: AlsHalfStepArgs, out: AlsHalfStepOutput, rowStart: number, rowEnd: number): void {
      // an inline call (no prepare): YᵀY here when the caller left it out
      instance().alsHalfStep(withGram(args), out, rowStart, rowEnd);
    },
    // sgdEpoch and bprEpoch are registered splittable: false, so the engine calls them once, on the calling
    // thread; the module copies the parameters in, runs the pass and copies them back. Their `parallel` calls
    // reach poolParallel below through the engine; called here directly, they run sequentially.
    sgdEpoch(args: SgdEpochArgs, out: Float64Array, rowStart: number, rowEnd: number): void {
      instance().sgdEpoch(args, out, rowStart, rowEnd);
    },
    bprEpoch(args: BprEpochArgs, out: Float64Array, rowStart: number, rowEnd: number): void {
      instance().bprEpoch(args, out, rowStart, rowEnd);
    },
    gemm(args: GemmArgs, out: Dense, rowStart: number, rowEnd: number): void {
      instance().gemm(args, out, rowStart, rowEnd);
    },
    ...nnKernels(),
  },
  poolParallel: hogwildKernels(loadHogwildWasm),
};

/**
 * The neural-network kernels (src/backends/wasm/nn.ts), each on this thread's instance. adamUpdate (splittable:
 * false, mutatesArgs) runs as one call on the calling thread: the module updates copies and writes params, m and
 * v back into the caller's arrays.
 */
function nnKernels(): KernelImpls {
  return {
    biasActivation: (a, o, s, e) => instance().nn.biasActivation(a, o, s, e),
    activationBackward: (a, o, s, e) => instance().nn.activationBackward(a, o, s, e),
    columnSums: (a, o, s, e) => instance().nn.columnSums(a, o, s, e),
    layerNorm: (a, o, s, e) => instance().nn.layerNorm(a, o, s, e),
    layerNormBackward: (a, o, s, e) => instance().nn.layerNormBackward(a, o, s, e),
    layerNormParamGrad: (a, o, s, e) => instance().nn.layerNormParamGrad(a, o, s, e),
    maskedSoftmax: (a, o, s, e) => instance().nn.maskedSoftmax(a, o, s, e),
    softmaxBackward: (a, o, s, e) => instance().nn.softmaxBackward(a, o, s, e),
    softmaxCrossEntropy: (a, o, s, e) => instance().nn.softmaxCrossEntropy(a, o, s, e),
    sigmoidCrossEntropy: (a, o, s, e) => instance().nn.sigmoidCrossEntropy(a, o, s, e),
    embeddingGather: (a, o, s, e) => instance().nn.embeddingGather(a, o, s, e),
    segmentSum: (a, o, s, e) => instance().nn.segmentSum(a, o, s, e),
    dropout: (a, o, s, e) => instance().nn.dropout(a, o, s, e),
    adamUpdate: (a, o, s, e) => instance().nn.adamUpdate(a, o, s, e),
    spdSolve: (a, o, s, e) => instance().nn.spdSolve(a, o, s, e),
    elementwise: (a, o, s, e) => instance().nn.elementwise(a, o, s, e),
  };
}
