/**
 * Piscina worker: runs one row-range task of a kernel on a named backend. Inputs and the
 * output arrive as SharedArrayBuffer-backed typed arrays, so the worker writes its rows of
 * the output in place and returns nothing but its timing. A backend registered from code
 * comes with the URL of its module, which the worker imports (once) and registers.
 */
import { loadBackend, registerBackend } from '../backends/registry.js';
import type { Backend } from '../backends/types.js';
import type { KernelImpl, KernelName } from '../kernels/contract.js';
import { releaseReceivedMemory } from './sharedMemory.js';

export interface WorkerTask {
  backend: string;
  /** module URL of a backend registered from code (its export `backend`) */
  backendModule?: string;
  kernel: KernelName;
  args: unknown;
  out: unknown;
  rowStart: number;
  rowEnd: number;
  /** a task of a parallel call (Backend.poolParallel): run by the backend's runTask instead of the kernel; args and out unused */
  part?: unknown;
}

const imported = new Set<string>();

async function importBackend(url: string, name: string): Promise<void> {
  if (imported.has(url)) return;
  const mod = (await import(url)) as { backend?: Backend };
  if (!mod.backend || mod.backend.name !== name) throw new Error(`module ${url} does not export \`backend\` named '${name}'`);
  registerBackend(mod.backend, { module: url });
  imported.add(url);
}

/**
 * Bytes of the distinct buffers under the typed arrays of v (top level and one object level down, as the engine
 * shares them), and under a shared WebAssembly.Memory (a parallel task's, Backend.poolParallel).
 */
function sharedBytes(v: unknown, depth = 2, seen = new Set<ArrayBufferLike>()): number {
  if (ArrayBuffer.isView(v)) {
    if (seen.has(v.buffer)) return 0;
    seen.add(v.buffer);
    return v.buffer.byteLength;
  }
  const memoryBuffer = v && typeof v === 'object' ? (v as { buffer?: unknown }).buffer : undefined;
  if (typeof SharedArrayBuffer === 'function' && memoryBuffer instanceof SharedArrayBuffer) {
    if (seen.has(memoryBuffer)) return 0;
    seen.add(memoryBuffer);
    return memoryBuffer.byteLength;
  }
  if (depth === 0 || !v || typeof v !== 'object' || Array.isArray(v)) return 0;
  let n = 0;
  for (const x of Object.values(v)) n += sharedBytes(x, depth - 1, seen);
  return n;
}

export default async function runTask(task: WorkerTask): Promise<{ seconds: number }> {
  if (task.backendModule) await importBackend(task.backendModule, task.backend);
  const b = await loadBackend(task.backend);
  if (b instanceof Error) throw b;
  const t0 = performance.now();
  if (task.part !== undefined) {
    const parallel = b.poolParallel?.[task.kernel];
    if (!parallel) throw new Error(`backend '${task.backend}' has no parallel form of kernel '${task.kernel}'`);
    try {
      await parallel.runTask(task.part);
    } finally {
      releaseReceivedMemory(sharedBytes(task.part));
    }
    return { seconds: (performance.now() - t0) / 1000 };
  }
  const impl = b.kernels[task.kernel] as KernelImpl<unknown, unknown> | undefined;
  if (!impl) throw new Error(`backend '${task.backend}' has no kernel '${task.kernel}'`);
  try {
    await impl(task.args, task.out, task.rowStart, task.rowEnd);
  } finally {
    // this worker's references to the tasks' shared buffers keep them alive until it collects
    releaseReceivedMemory(sharedBytes(task.args) + sharedBytes(task.out));
  }
  return { seconds: (performance.now() - t0) / 1000 };
}
