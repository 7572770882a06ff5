/**
 * The version check of the loaded .node files (native/addon/module_info.h exports `version`, the package
 * version the module was built for): a module built for another version of affinity, or one that exports no
 * version, is refused by the loader and the backend's probe reports it unavailable, saying how to rebuild it,
 * without calling any of its functions. Fake modules (CommonJS files in a temporary directory) stand in for
 * stale builds; the real builds in build/Release, where they exist, must pass the check.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  addonLoader, addonVersionMismatch, loadNativeAddon, nativeBackend, nativeBuildHint, packageRoot, packageVersion, probeNativeAddon,
  type NativeAddon,
} from '../src/backends/native/index.js';
import { cudaBackend, loadCudaAddon } from '../src/backends/native/cuda.js';
import { skip } from './helpers/skip.js';

const own = packageVersion();
const rebuild = /rebuild with `npx affinity build`/;

test('packageVersion is package.json\'s', async () => {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  assert.is(own, pkg.version);
  assert.match(own, /^\d+\.\d+\.\d+/);
});

test('addonVersionMismatch: the same version passes; any other, or none, says built-for, this-is and how to rebuild', () => {
  assert.is(addonVersionMismatch('build/Release/x.node', '1.2.3', '1.2.3'), null);
  assert.is(addonVersionMismatch('build/Release/x.node', '1.2.3', '1.2.4'),
    'build/Release/x.node was built for affinity 1.2.3, this is 1.2.4; rebuild with `npx affinity build`');
  // a prerelease or build suffix is a different version too
  assert.match(addonVersionMismatch('x.node', '1.2.3-beta.1', '1.2.3')!, /built for affinity 1\.2\.3-beta\.1, this is 1\.2\.3;/);
  for (const none of [undefined, null, '', 123]) {
    const m = addonVersionMismatch('x.node', none, '1.2.3');
    assert.ok(m !== null && /built for affinity \(unknown: the module exports no version\), this is 1\.2\.3/.test(m) && rebuild.test(m), String(m));
  }
});

// fake modules: CommonJS files that count the calls made into them in globalThis.affinityFakeCalls[name]
const dir = mkdtempSync(path.join(os.tmpdir(), 'affinity-version-'));
const calls: Record<string, number> = {};
(globalThis as unknown as { affinityFakeCalls: Record<string, number> }).affinityFakeCalls = calls;
const fake = (name: string, version: string | undefined) => {
  const v = version === undefined ? '' : `version: ${JSON.stringify(version)},`;
  writeFileSync(path.join(dir, name), `const calls = globalThis.affinityFakeCalls;
calls[${JSON.stringify(name)}] = 0;
const called = () => { calls[${JSON.stringify(name)}]++; };
module.exports = { ${v} limits: { maxIndex: 2147483647, maxThreads: 256 },
  probe() { called(); return { simd: 'scalar', threads: 1 }; },
  denseScoreTopK() { called(); return Promise.resolve(); } };
`);
  return addonLoader<NativeAddon>(name, dir);
};

test('a module built for another version is refused, and the probe says so without calling into it', () => {
  const load = fake('old.cjs', '0.0.1-old');
  const r = load();
  assert.ok('error' in r && r.stale === true, JSON.stringify(r));
  if (!('error' in r)) return;
  assert.match(r.error, new RegExp(`built for affinity 0\\.0\\.1-old, this is ${own.replace(/\./g, '\\.')}; rebuild with \`npx affinity build\`$`));
  assert.is(load(), r, 'the result is cached');
  const kernels = { denseScoreTopK: async () => {} } as unknown as typeof nativeBackend.kernels;
  const p = probeNativeAddon(r, kernels);
  assert.is(p.available, false);
  // the reason is the version message alone (no second build hint appended)
  assert.is(p.reason, r.error);
  assert.type(kernels.denseScoreTopK, 'function', 'a refused module leaves the kernel list alone');
  // the module was loaded (to read its version) but none of its functions ran
  assert.is(calls['old.cjs'], 0);
});

test('a module without a version export is refused', () => {
  const r = fake('unversioned.cjs', undefined)();
  assert.ok('error' in r && r.stale === true);
  if ('error' in r) assert.match(r.error, /unknown: the module exports no version/);
});

test('a module built for this version loads and its probe runs', () => {
  const load = fake('current.cjs', own);
  const r = load();
  assert.ok('addon' in r, JSON.stringify(r));
  if (!('addon' in r)) return;
  assert.is(calls['current.cjs'], 0);
  const kernels = { denseScoreTopK: async () => {}, alsHalfStep: async () => {} } as unknown as typeof nativeBackend.kernels;
  const p = probeNativeAddon(r, kernels);
  assert.is(p.available, true, p.reason);
  assert.is(p.details?.version, own);
  assert.is(calls['current.cjs'], 1);
  // kernels the module does not export are dropped from the backend
  assert.type(kernels.denseScoreTopK, 'function');
  assert.is(kernels.alsHalfStep, undefined);
});

test('a missing module: not found, with the build hint', () => {
  const r = addonLoader<NativeAddon>('absent.node', dir)();
  assert.ok('error' in r && !r.stale);
  const p = probeNativeAddon(r, {} as typeof nativeBackend.kernels, nativeBuildHint(path.join(dir, 'no-status.json')));
  assert.is(p.available, false);
  assert.match(p.reason, /absent\.node not found; run `npx affinity build`/);
  // no status file: the install script never ran, and the reason says what skips it
  assert.match(p.reason, /no install-time build ran here \(npm skips a dependency's install script under --ignore-scripts, or when allowScripts does not allow it: `npm install-scripts ls`\)$/);
});

test('a missing module after a failed install-time build: the build\'s own reason and the command to retry', () => {
  const status = path.join(dir, 'native-build.json');
  writeFileSync(status, JSON.stringify({ ok: false, reason: 'cmake not found; install CMake ≥ 3.18', date: '2026-01-02T03:04:05.000Z' }));
  const r = addonLoader<NativeAddon>('absent.node', dir)();
  const p = probeNativeAddon(r, {} as typeof nativeBackend.kernels, nativeBuildHint(status));
  assert.is(p.available, false);
  assert.ok(p.reason.endsWith('absent.node not found; its build on 2026-01-02 did not make it: cmake not found; install CMake ≥ 3.18; fix that, then run `npx affinity build` (it shows the compiler output)'), p.reason);
  // a successful build leaves the generic hint (the module was removed since)
  writeFileSync(status, JSON.stringify({ ok: true, reason: 'built', date: '2026-01-02T03:04:05.000Z' }));
  assert.match(nativeBuildHint(status), /^run `npx affinity build`/);
});

const nativeFile = path.join(packageRoot, 'build', 'Release', 'affinity_native.node');
if (existsSync(nativeFile)) {
  test('the real native build passes the check', async () => {
    const p = await nativeBackend.probe();
    assert.is(p.available, true, p.reason);
    assert.is(p.details?.version, own);
    const r = loadNativeAddon();
    assert.ok('addon' in r && r.addon.version === own);
  });
} else {
  skip(test, 'native version', 'build/Release/affinity_native.node not built');
  test('no native build: the probe says not found', async () => {
    const p = await nativeBackend.probe();
    assert.is(p.available, false);
    assert.match(p.reason, /not found/);
  });
}

const cudaFile = path.join(packageRoot, 'build', 'Release', 'affinity_cuda.node');
if (existsSync(cudaFile)) {
  test('the real CUDA build passes the check (the probe may still lack a device, never for its version)', async () => {
    const c = await cudaBackend.probe();
    const r = loadCudaAddon();
    assert.ok('addon' in r, 'error' in r ? r.error : '');
    if ('addon' in r) assert.is(r.addon.version, own);
    assert.not.match(c.reason, /built for affinity/);
    assert.is(c.details?.version, own);
  });
} else {
  skip(test, 'cuda version', 'build/Release/affinity_cuda.node not built');
  test('no CUDA build: the probe says unavailable', async () => {
    assert.is((await cudaBackend.probe()).available, false);
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
