// Entry of build/wasm/affinity-hogwild.wasm: the step loops of bprEpoch and sgdEpoch 'svd' (./bpr.ts, ./sgd.ts,
// the same code as in affinity.wasm) compiled for Hogwild over threads (src/backends/wasm/hogwild.ts):
// `--importMemory --sharedMemory --enable threads`, so one instance per pool worker runs on one shared
// WebAssembly.Memory that holds the factors and the read-only inputs, and the workers update the factors
// without locks (Recht et al. 2011).
//
// Why a module of its own: a shared memory needs WebAssembly threads (and, in browsers, cross-origin
// isolation), which affinity.wasm must not require. Why it is safe to instantiate once per worker on one
// memory: the module has no data segments (no static data, runtime stub: instantiation writes nothing into the
// memory), and its state — the pointers of the current call, the xoshiro128** state — lives in wasm globals,
// which are per instance. Each worker's results go to its own slot of the memory (bprSteps: rng state and
// counters; sgdSvd returns Σ e²).
export { bprSetup, bprSteps } from './bpr';
export { sgdSetup, sgdSvd } from './sgd';

/** First byte above the module's own data (none: the JS side lays out the memory from here). */
export function heapBase(): usize {
  return __heap_base;
}
