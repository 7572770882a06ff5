#!/usr/bin/env node
// Compiles assembly/index.ts (AssemblyScript, SIMD, -O3, runtime stub) to build/wasm/affinity.wasm, and
// assembly/hogwild.ts to build/wasm/affinity-hogwild.wasm: the same options plus an imported shared memory and
// the threads feature (the Hogwild epochs over the pool's workers, src/backends/wasm/hogwild.ts).
// Options live in assembly/asconfig.json (target "release").
// On any failure it prints one warning and exits 0: the package still works on its JS backend.
// Installed as a dependency there is no compiler (assemblyscript is a devDependency), and the
// packed build/wasm/affinity.wasm is used as it is.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outFile = path.join(root, 'build', 'wasm', 'affinity.wasm');
const hogwildFile = path.join(root, 'build', 'wasm', 'affinity-hogwild.wasm');
// the shared memory's largest size the module accepts: wasm32's 4 GiB (the JS side creates it at the size a call needs)
const HOGWILD_OPTIONS = ['--importMemory', '--sharedMemory', '--maximumMemory', '65536', '--enable', 'simd,threads'];

function warn(msg) {
  console.warn(`affinity: WebAssembly backend not built (${msg}); the other backends still work`);
  process.exit(0);
}

try {
  let asc;
  try {
    asc = (await import('assemblyscript/asc')).default;
  } catch (e) {
    if (existsSync(outFile)) {
      console.log(`affinity: using the packed ${path.relative(root, outFile)} (no AssemblyScript compiler here to rebuild it)`);
      process.exit(0);
    }
    warn(`cannot load the AssemblyScript compiler: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
  }
  mkdirSync(path.dirname(outFile), { recursive: true });
  for (const [entry, file, extra] of [['assembly/index.ts', outFile, []], ['assembly/hogwild.ts', hogwildFile, HOGWILD_OPTIONS]]) {
    const t0 = performance.now();
    let errText = '';
    const { error } = await asc.main(
      [entry, '--config', 'assembly/asconfig.json', '--target', 'release', '--outFile', path.relative(root, file), ...extra],
      { stdout: process.stdout, stderr: { write: (s) => { errText += s; return true; } }, baseDir: root },
    );
    if (error) warn(`asc ${entry}: ${(errText.trim().split('\n').find((l) => /ERROR|error/.test(l)) ?? error.message).trim()}`);
    if (errText.trim()) process.stderr.write(errText);
    console.log(`affinity: built ${path.relative(root, file)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
} catch (e) {
  warn(e instanceof Error ? e.message.split('\n')[0] : String(e));
}
