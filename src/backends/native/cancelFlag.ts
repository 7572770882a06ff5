/**
 * The cancellation flag of the native and CUDA addons' calls (native/core/include/affinity/cancel.h),
 * tied to an AbortSignal. Its own module so that the call helpers of every kernel family
 * (index.ts, nnCalls.ts) share it.
 */
/**
 * Runs an addon call with a cancellation flag tied to `signal`: aborting stores 1 into the flag, the kernel
 * stops between its parallel tasks (native/core/include/affinity/cancel.h; CUDA kernels and the sequential
 * sgd/bpr epochs run to their end) and the call rejects with the signal's reason. The output is then
 * partly written, and the engine discards it.
 */
export async function withCancelFlag<T>(signal: AbortSignal | undefined, call: (cancel: Int32Array | null) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  if (!signal) return call(null);
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = () => { Atomics.store(flag, 0, 1); };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await call(flag);
    signal.throwIfAborted();
    return result;
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
