/**
 * Runs the CLI in this process (argv[2..] are its arguments) with the first write of file data
 * patched to SIGKILL the process: hyparquet-writer's appends (fs.writeFileSync with flag 'a') and
 * the first chunk written to an fs.createWriteStream stream (the Arrow writer's). So `generate`
 * dies with its output file created and not yet filled. The ESM bindings of node:fs are refreshed
 * with syncBuiltinESMExports so the patch reaches `import { createWriteStream } from 'node:fs'`.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const die = (): never => { process.kill(process.pid, 'SIGKILL'); throw new Error('unreachable'); };
const writeFileSync = fs.writeFileSync;
fs.writeFileSync = ((file: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, options?: fs.WriteFileOptions) => {
  if (typeof options === 'object' && options !== null && options.flag === 'a') die();
  writeFileSync(file, data, options);
}) as typeof fs.writeFileSync;
const createWriteStream = fs.createWriteStream;
fs.createWriteStream = ((...args: Parameters<typeof fs.createWriteStream>) => {
  const stream = createWriteStream(...args);
  stream._write = () => die();
  stream._writev = () => die();
  return stream;
}) as typeof fs.createWriteStream;
syncBuiltinESMExports();
process.argv = [process.argv[0], 'affinity', ...process.argv.slice(2)];
await import('../../src/cli/main.js');
