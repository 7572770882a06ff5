/**
 * A plugin backend for the engine tests, loaded by pool workers from this module's URL: its
 * denseScoreTopK is the reference, but it refuses to run on the main thread, so a call that
 * succeeds through the pool proves the workers imported and ran it.
 */
import { isMainThread } from 'node:worker_threads';
import type { Backend } from '../../src/backends/types.js';
import { denseScoreTopKReference } from '../../src/kernels/denseScoreTopK.js';

export const backend: Backend = {
  name: 'plugin-worker-only',
  priority: -10,
  threading: 'pool',
  probe: () => ({ available: true, reason: 'test plugin (pool workers only)' }),
  kernels: {
    denseScoreTopK(args, out, rowStart, rowEnd) {
      if (isMainThread) throw new Error('plugin-worker-only ran on the main thread');
      denseScoreTopKReference(args, out, rowStart, rowEnd);
    },
  },
};
