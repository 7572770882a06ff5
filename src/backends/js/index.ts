/**
 * The `js` backend: the reference kernels, always available. Runs in Piscina workers
 * (the engine splits rows) or on the main thread for small calls.
 */
import type { Backend, KernelImpls } from '../types.js';
import { getKernel, kernelNames } from '../../kernels/index.js';

function referenceKernels(): KernelImpls {
  const out: KernelImpls = {};
  for (const name of kernelNames()) out[name] = getKernel(name).reference;
  return out;
}

export const jsBackend: Backend = {
  name: 'js',
  priority: 0,
  threading: 'pool',
  probe: () => ({ available: true, reason: 'reference TypeScript kernels; always available' }),
  get kernels() { return referenceKernels(); },
};
