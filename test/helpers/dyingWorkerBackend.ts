/**
 * A plugin backend for the engine tests whose pool worker dies (process.exit in the worker thread)
 * while running a task: the first `crashes[0]` tasks of a call end their thread, the rest compute
 * the reference. `crashes` is a shared counter in the args, so every worker sees one budget.
 */
import type { Backend } from '../../src/backends/types.js';
import { denseScoreTopKReference, type DenseScoreTopKArgs } from '../../src/kernels/denseScoreTopK.js';

/** denseScoreTopK args plus the shared crash budget: [0] tasks left to crash, [1] crashes so far */
export type DyingArgs = DenseScoreTopKArgs & { crashes: Int32Array };

export const backend: Backend = {
  name: 'plugin-dying-worker',
  priority: -10,
  threading: 'pool',
  probe: () => ({ available: true, reason: 'test plugin whose workers die' }),
  kernels: {
    denseScoreTopK(args, out, rowStart, rowEnd) {
      const crashes = (args as DyingArgs).crashes;
      if (Atomics.sub(crashes, 0, 1) > 0) {
        Atomics.add(crashes, 1, 1);
        process.exit(3);
      }
      denseScoreTopKReference(args, out, rowStart, rowEnd);
    },
  },
};
