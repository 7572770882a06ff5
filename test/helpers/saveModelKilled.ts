/**
 * Child of the model-file test in outputs.test.ts: fits a small ALS model with seed argv[3] and
 * saves it to argv[2] (argv[4] = 'no-kill': plainly) with fs.writeSync and fs.writeFileSync patched to write half of what they
 * are given and then SIGKILL the process, as a machine that dies mid-save would. The ESM bindings
 * of node:fs are refreshed (syncBuiltinESMExports) so the patch reaches named imports.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { fromTriplets } from '../../src/data/interactions.js';
import { ALS } from '../../src/models/factorization/als.js';
import { closeEngine } from '../../src/engine/processEngine.js';

const [file, seed, kill] = [process.argv[2], Number(process.argv[3]), process.argv[4] !== 'no-kill'];
const rows: Array<[string, string, number]> = [];
for (let u = 0; u < 60; u++) for (let i = 0; i < 40; i++) if ((u * 7 + i * 3) % 5 === 0) rows.push([`u${u}`, `i${i}`, 1]);
const model = new ALS({ factors: 8, iterations: 2, seed });
await model.fit(fromTriplets(rows, true));
await closeEngine();

if (kill) patchWrites();
model.save(file);
process.stdout.write(kill ? 'saved without being killed\n' : 'saved\n');

/** Writes of 1 KiB or more (the model's bytes; not the lock file's few) stop halfway and kill the process. */
function patchWrites(): void {
  const big = 1024;
  const originalWriteSync = fs.writeSync as (fd: number, buffer: Uint8Array, offset?: number, length?: number) => number;
  (fs as { writeSync: unknown }).writeSync = (fd: number, buffer: Uint8Array | string, offset?: number, length?: number, ...rest: unknown[]): number => {
    if (typeof buffer === 'string' || buffer.byteLength < big) return (originalWriteSync as (...a: unknown[]) => number)(fd, buffer, offset, length, ...rest);
    const from = offset ?? 0;
    originalWriteSync(fd, buffer, from, (length ?? buffer.byteLength - from) >> 1);
    process.kill(process.pid, 'SIGKILL');
    return 0;
  };
  const originalWriteFileSync = fs.writeFileSync as (f: fs.PathOrFileDescriptor, data: Uint8Array | string, ...rest: unknown[]) => void;
  (fs as { writeFileSync: unknown }).writeFileSync = (f: fs.PathOrFileDescriptor, data: Uint8Array | string, ...rest: unknown[]): void => {
    if (typeof data === 'string' || data.byteLength < big) { originalWriteFileSync(f, data, ...rest); return; }
    originalWriteFileSync(f, data.subarray(0, data.byteLength >> 1));
    process.kill(process.pid, 'SIGKILL');
  };
  syncBuiltinESMExports();
}
