/**
 * Addon calls on memory the caller cannot take away while a kernel runs. A native kernel runs on
 * a pool thread after the call has returned, reading and writing the caller's typed arrays by
 * address. An array on a SharedArrayBuffer keeps its memory for the call (such a buffer cannot be
 * detached or shrunk); one on an ordinary ArrayBuffer can be transferred (postMessage,
 * structuredClone with transfer, ArrayBuffer.prototype.transfer) or shrunk (a resizable buffer)
 * mid-call, which frees the memory under the kernel: a crash, or another object's memory
 * overwritten. So such arrays go to the addon as copies on shared memory, and those the kernel
 * writes are copied back when it is done; when the caller's array is no longer there (detached,
 * resized) the call rejects naming it instead. Read-only Int32Arrays (the index arrays) are passed
 * as they are: the addon copies them before the call returns (native/addon/kernel_args.h).
 *
 * Cost: nothing for arrays on shared memory (everything the engine and the data layer allocate);
 * one copy in (and out, for written arrays) per call otherwise, e.g. the factor matrices a model's
 * SGD/BPR epoch updates: (users + items) × factors floats each way per epoch.
 */
type Typed = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

/** The arrays each kernel writes (its outputs, or the parameters it updates in place). */
const WRITTEN: Record<string, readonly string[]> = {
  denseScoreTopK: ['outIds', 'outScores'],
  sparseSimilarityTopK: ['outIds', 'outScores'],
  alsHalfStep: ['out'],
  sgdEpoch: ['bu', 'bi', 'pu', 'qi', 'yj', 'out'],
  bprEpoch: ['userFactors', 'itemFactors', 'rng', 'out'],
  gemm: ['c'],
  // the neural-network kernels (nnCalls.ts, native/addon/nn_args.h)
  biasActivation: ['out'],
  activationBackward: ['out'],
  columnSums: ['out'],
  layerNorm: ['y', 'mean', 'rstd'],
  layerNormBackward: ['out'],
  layerNormParamGrad: ['gradGamma', 'gradBeta'],
  maskedSoftmax: ['out'],
  softmaxBackward: ['out'],
  softmaxCrossEntropy: ['loss', 'grad'],
  sigmoidCrossEntropy: ['loss', 'grad'],
  embeddingGather: ['out'],
  segmentSum: ['out'],
  dropout: ['out'],
  adamUpdate: ['params', 'm', 'v'],
  spdSolve: ['out'],
  elementwise: ['out'],
  softmaxOutputLayer: ['loss', 'gradHidden', 'gradTable'],
};

/** The kernels whose calls go through pinnedCalls (a test checks that every native kernel does). */
export const PINNED_KERNELS: readonly string[] = Object.keys(WRITTEN);

function isTyped(v: unknown): v is Typed {
  return v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint32Array || v instanceof Uint8Array;
}

function onSharedMemory<T extends Typed>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const copy = new Ctor(new SharedArrayBuffer(a.byteLength));
  copy.set(a as never);
  return copy;
}

/** Whether a written array shares bytes with another array of the call (separate copies would hide it). */
function overlappingOutput(options: Record<string, unknown>, written: readonly string[]): boolean {
  const arrays = Object.entries(options).filter((e): e is [string, Typed] => isTyped(e[1]));
  for (const [name, a] of arrays) {
    if (!written.includes(name)) continue;
    for (const [other, b] of arrays) {
      if (other !== name && a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength) return true;
    }
  }
  return false;
}

/**
 * The addon with each kernel call made on memory the caller cannot detach or shrink (see the file
 * comment); everything else (version, limits, probe) is the addon's own.
 */
export function pinnedCalls<T extends object>(addon: T): T {
  const guarded = Object.create(addon) as Record<string, unknown>;
  const own = addon as unknown as Record<string, unknown>;
  for (const [kernel, written] of Object.entries(WRITTEN)) {
    const call = own[kernel];
    if (typeof call !== 'function') continue;
    // not async: a bad call still throws synchronously (the addon validates on the JS thread)
    guarded[kernel] = (options: Record<string, unknown>, ...rest: unknown[]): Promise<unknown> => {
      const direct = (): Promise<unknown> => (call as (...a: unknown[]) => Promise<unknown>).call(addon, options, ...rest);
      // not one options object, or an output overlapping another array: the addon's own error;
      // run on this thread (`inline`): the call is over before anything could take the memory away
      if (rest.length > 0 || options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options) ||
        (options as { inline?: unknown }).inline === true || overlappingOutput(options, written)) return direct();
      const args: Record<string, unknown> = { ...options };
      const back: Array<[string, Typed, Typed]> = [];
      for (const [name, v] of Object.entries(options)) {
        if (!isTyped(v) || (typeof SharedArrayBuffer === 'function' && v.buffer instanceof SharedArrayBuffer)) continue;
        const writes = written.includes(name);
        if (v instanceof Int32Array && !writes) continue; // an index array: the addon copies it itself
        const copy = onSharedMemory(v);
        args[name] = copy;
        if (writes) back.push([name, v, copy]);
      }
      const running = (call as (o: unknown) => Promise<unknown>).call(addon, args);
      if (back.length === 0) return running;
      return running.then((result) => {
        for (const [name, original, copy] of back) {
          if (original.length !== copy.length) throw new Error(`${kernel}: ${name} was detached or resized while the call ran; its result is lost`);
          original.set(copy as never);
        }
        return result;
      });
    };
  }
  return guarded as T;
}
