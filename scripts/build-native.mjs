#!/usr/bin/env node
// `npm run build:native`: builds the native addon (build/Release/affinity_native.node) and,
// where nvcc is found, the CUDA module (build/Release/affinity_cuda.node) with cmake-js.
// Never fails the install: any problem prints ONE warning line and exits 0, and the package
// keeps working on the WASM/JS backends. Safe to run again (incremental builds).
//
// The outcome is also written to build/native-build.json ({ ok, reason, date }): npm 11 hides
// install-script output, so `affinity info` reads it to say why the native backend is missing
// and `npx affinity build` (this script with the compiler output shown) is the command to retry.
// Build tools (cmake-js, node-addon-api) are resolved the way Node resolves the package's own
// imports, so they are found where npm put them: this package's node_modules in a clone, the
// consumer's node_modules when installed as a dependency.
//
//   AFFINITY_SKIP_NATIVE=1      do nothing
//   AFFINITY_NATIVE_VERBOSE=1   stream the compiler output (else it goes to build/native-build.log)
//   AFFINITY_CUDA=0             do not build the CUDA module even where nvcc exists
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, appendFileSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.join(root, 'build');
const logFile = path.join(buildDir, 'native-build.log');
const statusFile = path.join(buildDir, 'native-build.json');
const verbose = process.env.AFFINITY_NATIVE_VERBOSE === '1';
const fallback = 'the package still works on the WASM/JS backends';
const retry = 'fix that, then run `npx affinity build` to build it with the compiler output shown';

/** Records the outcome for `affinity info` (best effort: an unwritable build/ is itself the reason given). */
function record(ok, reason) {
  try {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(statusFile, JSON.stringify({ ok, reason, date: new Date().toISOString(), node: process.version, log: path.relative(root, logFile) }, null, 2) + '\n');
  } catch { /* nothing more to say than the warning */ }
}

function warn(reason) {
  record(false, reason);
  console.warn(`affinity: native addon build failed (${reason}); ${fallback}; ${retry}`);
  process.exit(0);
}

if (process.env.AFFINITY_SKIP_NATIVE === '1') {
  record(false, 'skipped: AFFINITY_SKIP_NATIVE=1 was set when it was built');
  console.log('affinity: native addon build skipped (AFFINITY_SKIP_NATIVE=1)');
  process.exit(0);
}

try {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(logFile, `affinity native build ${new Date().toISOString()}\n`);
} catch (e) {
  warn(`cannot write ${buildDir}: ${e.message}`);
}

/** Runs a command, output to the log (or the terminal when verbose); returns true on success. */
let runStart = 0; // log offset where the latest command's output begins
function run(cmd, args, env = process.env) {
  try { runStart = readFileSync(logFile).length; } catch { runStart = 0; }
  appendFileSync(logFile, `\n$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: verbose ? 'inherit' : 'pipe', encoding: 'utf8', maxBuffer: 64 << 20 });
  if (!verbose) appendFileSync(logFile, (r.stdout ?? '') + (r.stderr ?? ''));
  if (r.error) appendFileSync(logFile, `spawn error: ${r.error.message}\n`);
  return r.status === 0 && !r.error;
}

/** First compiler/cmake error line of the latest command, for the one-line warning. */
function firstError() {
  try {
    const lines = readFileSync(logFile).subarray(runStart).toString('utf8').split('\n');
    const hit = lines.find((l) => /\berror\b|CMake Error|fatal/i.test(l) && !/^\$ /.test(l));
    return hit ? hit.trim().slice(0, 200) : '';
  } catch {
    return '';
  }
}

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

// 1. tools: cmake on PATH; cmake-js and node-addon-api resolved from this package (dependencies
// of it, so wherever npm installed them: ./node_modules in a clone, a parent's when a dependency)
if (!has('cmake')) warn('cmake not found; install CMake ≥ 3.18');
const requireHere = createRequire(path.join(root, 'package.json'));
/** The folder of an installed package, resolved from this package, or null. */
function packageDir(name) {
  try {
    return path.dirname(requireHere.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}
const cmakeJsDir = packageDir('cmake-js');
if (!cmakeJsDir) warn(`cmake-js cannot be resolved from ${root}; reinstall the package`);
const cmakeJsBin = JSON.parse(readFileSync(path.join(cmakeJsDir, 'package.json'), 'utf8')).bin;
const cmakeJs = path.join(cmakeJsDir, typeof cmakeJsBin === 'string' ? cmakeJsBin : cmakeJsBin?.['cmake-js'] ?? 'bin/cmake-js');
if (!existsSync(cmakeJs)) warn(`${cmakeJs} not found; reinstall the package`);
const addonApi = packageDir('node-addon-api');
if (!addonApi || !existsSync(path.join(addonApi, 'napi.h'))) warn(`node-addon-api cannot be resolved from ${root}; reinstall the package`);

// 2. Node headers: cmake-js reads npm_config_nodedir (set under `npm run`); when run directly,
// use the headers installed with this node (prefix/include/node) so nothing is downloaded.
const env = { ...process.env };
if (!env.npm_config_nodedir) {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
}

// 3. CUDA: only where nvcc is found (PATH, CUDACXX, or the default toolkit location)
let nvcc = null;
if (process.env.AFFINITY_CUDA !== '0') {
  for (const c of [env.CUDACXX, 'nvcc', '/usr/local/cuda/bin/nvcc']) {
    if (c && has(c)) { nvcc = c; break; }
  }
}

// the version the addons export (native/addon/module_info.h), checked by the TS loader against package.json's
let version;
try {
  version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
} catch (e) {
  warn(`cannot read the version from package.json: ${e.message}`);
}
if (typeof version !== 'string' || !/^[0-9A-Za-z.+-]+$/.test(version)) warn(`unexpected version in package.json: ${String(version)}`);

const jobs = String(Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
const common = ['--directory', root, '--out', buildDir, '--config', 'Release', '--parallel', jobs,
  `--CDNODE_ADDON_API_DIR=${addonApi}`, `--CDAFFINITY_VERSION=${version}`, '--CDAFFINITY_BUILD_ADDON=ON', '--CDAFFINITY_BUILD_TESTS=OFF', '--CDAFFINITY_SANITIZE=OFF'];
if (!verbose) common.push('--log-level', 'warn');
const cmakeJsRun = (args) => run(process.execPath, [cmakeJs, ...args, ...common], env);

// 4. configure (with CUDA where nvcc is; if that configure fails, again without). The nvcc path
// goes in through CUDACXX (read only on a first configure), never as -DCMAKE_CUDA_COMPILER:
// changing that cached variable makes CMake wipe its cache.
if (nvcc && nvcc.includes('/')) env.CUDACXX = nvcc;
let cuda = nvcc !== null;
const cudaArgs = (on) => [`--CDAFFINITY_CUDA=${on ? 'ON' : 'OFF'}`];
function configure() {
  if (cmakeJsRun(['configure', ...cudaArgs(cuda)])) return true;
  if (cuda && cmakeJsRun(['configure', ...cudaArgs(false)])) {
    console.warn('affinity: CUDA configure failed; building the CPU addon only (see build/native-build.log)');
    cuda = false;
    return true;
  }
  return false;
}
/** Forgets the CMake cache of build/ (not the other build outputs there). */
function forgetCache() {
  rmSync(path.join(buildDir, 'CMakeCache.txt'), { force: true });
  rmSync(path.join(buildDir, 'CMakeFiles'), { recursive: true, force: true });
}
if (!configure()) {
  // a stale cache (moved checkout, other compiler) is the usual cause: once more from scratch
  forgetCache();
  if (!configure()) warn(`cmake configure failed: ${firstError() || 'see build/native-build.log'}`);
}

// 5. the CPU addon, then the CUDA module as a separate target (its failure leaves the CPU addon intact)
if (!cmakeJsRun(['build', '--target', 'affinity_native'])) {
  const first = firstError();
  forgetCache();
  if (!configure() || !cmakeJsRun(['build', '--target', 'affinity_native'])) warn(`compile failed: ${firstError() || first || 'see build/native-build.log'}`);
}
const addon = path.join(buildDir, 'Release', 'affinity_native.node');
if (!existsSync(addon)) warn(`${addon} was not produced`);
record(true, `built ${path.relative(root, addon)}`);
console.log(`affinity: native addon built (${path.relative(root, addon)})`);

if (cuda) {
  const cudaModule = path.join(buildDir, 'Release', 'affinity_cuda.node');
  if (cmakeJsRun(['build', '--target', 'affinity_cuda']) && existsSync(cudaModule)) {
    console.log(`affinity: CUDA module built (${path.relative(root, cudaModule)})`);
  } else {
    console.warn(`affinity: CUDA module build failed (${firstError() || 'see build/native-build.log'}); the native CPU backend still works`);
  }
} else if (nvcc === null && process.env.AFFINITY_CUDA !== '0') {
  console.log('affinity: nvcc not found; the CUDA module is not built');
}
process.exit(0);
