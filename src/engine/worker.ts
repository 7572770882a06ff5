/**
 * Piscina worker: runs one row-range task of a kernel on a named backend. Inputs and the
 * output arrive as SharedArrayBuffer-backed typed arrays, so the worker writes its rows of
 * the output in place and returns nothing but its timing.
 */
import '../kernels/index.js';
import { loadBackend } from '../backends/registry.js';

export interface WorkerTask {
  backend: string;
  kernel: string;
  args: unknown;
  out: unknown;
  rowStart: number;
  rowEnd: number;
}

export default async function runTask(task: WorkerTask): Promise<{ seconds: number }> {
  const b = await loadBackend(task.backend);
  if (b instanceof Error) throw b;
  const impl = b.kernels[task.kernel];
  if (!impl) throw new Error(`backend '${task.backend}' has no kernel '${task.kernel}'`);
  const t0 = performance.now();
  await impl(task.args, task.out, task.rowStart, task.rowEnd);
  return { seconds: (performance.now() - t0) / 1000 };
}
