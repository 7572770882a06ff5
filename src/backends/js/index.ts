/**
 * The `js` backend: the reference kernels, always available. Runs in Piscina workers
 * (the engine splits rows) or on the main thread for small calls.
 */
import type { Backend } from '../types.js';
import { kernelNames, kernels, type KernelImpls, type KernelName } from '../../kernels/contract.js';

/** Every kernel's reference implementation, by name. */
function referenceKernels(): KernelImpls {
  const impls: KernelImpls = {};
  const put = <K extends KernelName>(name: K): void => { (impls as Record<K, unknown>)[name] = kernels[name].reference; };
  for (const name of kernelNames()) put(name);
  return impls;
}

export const jsBackend: Backend = {
  name: 'js',
  priority: 0,
  threading: 'pool',
  probe: () => ({ available: true, reason: 'reference TypeScript kernels; always available' }),
  kernels: referenceKernels(),
};
