/**
 * Runs the CLI in this process (argv[2..] are its arguments) with fs.renameSync patched to
 * SIGKILL the process at its second call: precompute with --similar-items renames OUT.partial,
 * then the similar items' partial file, so the run dies between the two final renames.
 * The ESM bindings of node:fs are refreshed with syncBuiltinESMExports so the patch reaches
 * `import { renameSync } from 'node:fs'`.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const original = fs.renameSync;
let calls = 0;
fs.renameSync = (from: fs.PathLike, to: fs.PathLike): void => {
  // the checkpoint's own renames (OUT.checkpoint.tmp → OUT.checkpoint) do not count
  if (String(from).endsWith('.partial') && ++calls === 2) process.kill(process.pid, 'SIGKILL');
  original(from, to);
};
syncBuiltinESMExports();
process.argv = [process.argv[0], 'affinity', ...process.argv.slice(2)];
await import('../../src/cli/main.js');
