#!/usr/bin/env node
// `npm install` step: build the TypeScript (when the sources are here, i.e. a clone),
// then the WASM module and the native addon. The WASM and native builds never fail the
// install: each prints one warning and the package falls back to the other backends.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (script) => spawnSync(process.execPath, [path.join(root, 'scripts', script)], { cwd: root, stdio: 'inherit' }).status;

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (existsSync(path.join(root, 'tsconfig.json')) && existsSync(tsc)) {
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('affinity: TypeScript build failed (see above)');
    process.exit(1);
  }
}
run('build-wasm.mjs');
run('build-native.mjs');
