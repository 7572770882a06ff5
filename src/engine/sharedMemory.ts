/**
 * Freeing shared memory. Kernel outputs and pooled inputs live on SharedArrayBuffers, and V8 frees
 * a SharedArrayBuffer's memory only when a full garbage collection of every isolate that holds it
 * (the main thread and each pool worker that received it in a task) finds it unreachable. Shared
 * buffers do not count as memory pressure, and the JS heaps of a training loop and of a worker are
 * small, so those collections almost never come: a neural fit's batches (attention scores, logits:
 * gigabytes per epoch) piled up until the process ran out of memory (an ML-100k SASRec fit reached
 * 15 GB and was killed). `releaseSharedMemory` runs a full collection in the calling isolate once
 * its array buffers have grown by `threshold` bytes since the last one; the training loop calls it
 * after every batch, and each pool worker after every task. Where no collection can be requested,
 * it does nothing.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | null | undefined;
let baseline = 0;

function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (collect = exposed);
  try {
    // the flag exposes gc() to contexts created after it is set
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc') as unknown;
    collect = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/**
 * On the thread that allocates the buffers (the main thread): a full collection when its array
 * buffers grew by more than `threshold` bytes since the last one.
 */
export function releaseSharedMemory(threshold = 512 * 2 ** 20): void {
  const now = process.memoryUsage().arrayBuffers;
  // growth is measured from the lowest level since the last collection: buffers freed some other
  // way (a worker's collection, a minor GC) lower it, and a stale higher baseline would hide growth
  baseline = Math.min(baseline, now);
  if (now - baseline < threshold) return;
  const gc = collector();
  if (!gc) return;
  gc();
  baseline = process.memoryUsage().arrayBuffers;
}

let received = 0;

/**
 * On a thread that receives shared buffers (a pool worker; a received buffer does not show in its
 * memory figures): after using buffers of `bytes` bytes, a full collection once `threshold` bytes
 * were received since the last one.
 */
export function releaseReceivedMemory(bytes: number, threshold = 512 * 2 ** 20): void {
  received += bytes;
  if (received < threshold) return;
  received = 0;
  collector()?.();
}
